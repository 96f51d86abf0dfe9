"""The ``inference`` section: simulated configuration, prior, seeds, checks.

Numpy only (no torch), so that the configuration checks and the batch jobs do
not import the estimator's libraries.

The prior is uniform or log-uniform per parameter. The estimator works in the
*prior space* ``z``: ``z = value`` for a uniform prior and ``z = ln(value)``
for a log-uniform one, where the prior is a box; recovery (R^2) is measured
there too, so that a log-uniform parameter counts its orders of magnitude
evenly.
"""

from __future__ import annotations

import contextvars
import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lfpflow.config.scopes import RUN_SECTIONS

#: Draw streams, one per use, so that a change of one budget leaves the others' draws.
SPLITS = {"train": 0, "test": 1, "ppc": 2, "observation": 3}

#: Sections whose numbers may be inferred.
INFERABLE_SECTIONS = ("network", "populations")

# set while the simulated configuration is resolved, whose own inference
# section would otherwise be checked again, without end
_RESOLVING = contextvars.ContextVar("lfpflow_inference_resolving", default=False)


@dataclass(frozen=True)
class Prior:
    """Independent uniform / log-uniform priors of the inferred parameters.

    Attributes
    ----------
    names : tuple of str
        Dotted configuration keys.
    kinds : tuple of str
        ``"uniform"`` or ``"log_uniform"`` per parameter.
    low, high : numpy.ndarray
        Bounds (units of each key).
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_config(cls, inference: Mapping[str, Any]) -> Prior:
        """The prior of ``config["inference"]["parameters"]`` (in the given order)."""
        parameters = inference["parameters"]
        names = tuple(parameters)
        return cls(
            names=names,
            kinds=tuple(parameters[n].get("prior", "uniform") for n in names),
            low=np.array([float(parameters[n]["low"]) for n in names]),
            high=np.array([float(parameters[n]["high"]) for n in names]),
        )

    @property
    def is_log(self) -> np.ndarray:
        return np.array([kind == "log_uniform" for kind in self.kinds])

    def to_z(self, values: Any) -> np.ndarray:
        """Parameter values (n x p) -> prior space (ln for log-uniform ones)."""
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        return np.where(self.is_log, np.log(np.abs(values)), values)

    def from_z(self, z: Any) -> np.ndarray:
        """Prior space (n x p) -> parameter values."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float64))
        return np.where(self.is_log, np.exp(z), z)

    @property
    def z_low(self) -> np.ndarray:
        return self.to_z(self.low)[0]

    @property
    def z_high(self) -> np.ndarray:
        return self.to_z(self.high)[0]

    def sample(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """``n`` x p draws (parameter values) from the prior."""
        z = rng.uniform(self.z_low, self.z_high, size=(n, len(self.names)))
        return self.from_z(z)


def draw_seeds(seed: int, split: str, index: int) -> tuple[int, int]:
    """Seeds of draw ``index`` of ``split``: (parameter draw, network master seed).

    Both derive from ``SeedSequence([seed, split, index])`` only, so a draw is
    the same whatever batch, job or number of cores it runs in.
    """
    state = np.random.SeedSequence([int(seed), SPLITS[split], int(index)]).generate_state(2)
    return int(state[0]), int(state[1])


def draw_parameters(prior: Prior, seed: int, split: str, indices: Sequence[int]) -> np.ndarray:
    """Parameter values (len(indices) x p) of the draws ``indices`` of ``split``."""
    rows = [prior.sample(np.random.default_rng(draw_seeds(seed, split, i)[0]))[0] for i in indices]
    return np.array(rows).reshape(len(rows), len(prior.names))


def batch_indices(n_draws: int, batch_size: int) -> list[range]:
    """Draw indices of each batch: [0, b), [b, 2b), ..., the last one shorter."""
    return [
        range(start, min(start + batch_size, n_draws)) for start in range(0, n_draws, batch_size)
    ]


def simulated_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's configuration with ``inference.network_overlay`` merged over it.

    The result is resolved (validated and checked) like any configuration, its
    ``sweep`` removed: it is the network every draw simulates.

    Raises
    ------
    lfpflow.config.ConfigError
        If the merged configuration is invalid.
    """
    from lfpflow.config import overlay_of, resolve_config
    from lfpflow.config.schema import merge_overlay

    base = copy.deepcopy(dict(config))
    base["sweep"] = {}
    overlay = base["inference"]["network_overlay"]
    token = _RESOLVING.set(True)
    try:
        # overlay_of: the keys of the defaults that the run removed stay removed
        return resolve_config(merge_overlay(overlay_of(base), overlay))
    finally:
        _RESOLVING.reset(token)


def with_parameters(
    config: Mapping[str, Any], names: Sequence[str], values: Sequence[float], *, seed: int
) -> dict[str, Any]:
    """A copy of ``config`` with the parameters set and the master ``seed``."""
    from lfpflow.sweep import set_value

    result = copy.deepcopy(dict(config))
    for name, value in zip(names, values, strict=True):
        set_value(result, name, float(value))
    result["seed"] = int(seed)
    return result


def true_values(config: Mapping[str, Any], simulated: Mapping[str, Any]) -> np.ndarray:
    """Each parameter's ``true_value``, or its value in the simulated configuration."""
    from lfpflow.sweep import _lookup

    parameters = config["inference"]["parameters"]
    return np.array(
        [float(p.get("true_value", _lookup(simulated, name))) for name, p in parameters.items()]
    )


def _parameter_problems(
    name: str, spec: Mapping[str, Any], simulated: Mapping[str, Any], base_hash: str
) -> list[str]:
    """Problems of one inferred parameter (``inference.parameters.<name>``)."""
    from lfpflow.config import ConfigError
    from lfpflow.sweep import _lookup, kernel_hash

    key = f"config key 'inference.parameters.{name}'"
    try:
        current = _lookup(simulated, name)
    except ConfigError as error:
        return [f"{key}: {error}".replace("sweep.", "")]
    if isinstance(current, bool) or not isinstance(current, int | float):
        return [f"{key}: {current!r} is not a number"]
    low, high = float(spec["low"]), float(spec["high"])
    problems: list[str] = []
    for bound in (low, high):
        # kernels are computed once for all draws: a parameter they read would
        # make every draw but one use the wrong kernels
        changed = with_parameters(simulated, [name], [bound], seed=int(simulated["seed"]))
        if kernel_hash(changed) != base_hash:
            problems.append(
                f"{key}: changes the kernels (the kernel hash), which inference keeps fixed; "
                "infer parameters the kernel stage does not read (not sizes, drive.n_ext, "
                "kernels.*)"
            )
            break
    return problems


def _feature_problems(inference: Mapping[str, Any], simulated: Mapping[str, Any]) -> list[str]:
    features = inference["features"]
    rate = float(features["sampling_rate_Hz"])
    problems = []
    missing = [s for s in inference["estimator"]["feature_sets"] if s not in features["sets"]]
    if missing:
        problems.append(
            f"config key 'inference.estimator.feature_sets': {missing} are not computed; "
            f"allowed values (inference.features.sets): {', '.join(features['sets'])}"
        )
    if not features["fmin_Hz"] < features["fmax_Hz"] <= rate / 2:
        problems.append(
            f"config key 'inference.features.fmax_Hz': need fmin_Hz ({features['fmin_Hz']}) < "
            f"fmax_Hz ({features['fmax_Hz']}) <= sampling_rate_Hz / 2 ({rate / 2})"
        )
    sim = simulated["simulation"]
    dt_ms = float(sim["dt_ms"])
    if abs(1e3 / dt_ms / rate - round(1e3 / dt_ms / rate)) > 1e-9 or 1e3 / dt_ms < rate:
        problems.append(
            f"config key 'inference.features.sampling_rate_Hz': {rate} must divide the "
            f"simulation's rate 1000 / dt_ms = {1e3 / dt_ms} Hz"
        )
    window_ms = float(sim["tstop_ms"]) - float(sim["transient_ms"])
    if features["nperseg"] > window_ms * rate / 1e3:
        problems.append(
            f"config key 'inference.features.nperseg': {features['nperseg']} samples are longer "
            f"than the simulated window ({window_ms} ms at {rate} Hz)"
        )
    return problems


def _bound_problems(inference: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, spec in inference["parameters"].items():
        key = f"config key 'inference.parameters.{name}"
        section = name.split(".")[0]
        if section not in INFERABLE_SECTIONS:
            problems.append(
                f"{key}': section '{section}' cannot be inferred; allowed: "
                f"{', '.join(INFERABLE_SECTIONS)}"
            )
        low, high = float(spec["low"]), float(spec["high"])
        if not low < high:
            problems.append(f"{key}.low': {low} must be below high ({high})")
        if spec.get("prior", "uniform") == "log_uniform" and low <= 0:
            problems.append(f"{key}.low': a log_uniform prior needs 0 < low, got {low}")
        if "true_value" in spec and not low <= spec["true_value"] <= high:
            problems.append(f"{key}.true_value': {spec['true_value']} is outside [{low}, {high}]")
    return problems


@functools.cache
def _default_inference() -> dict[str, Any]:
    """The default ``inference`` section (cached: every resolution compares with it)."""
    from lfpflow.config import default_config

    return default_config()["inference"]


def inference_problems(config: Mapping[str, Any], *, deep: bool | None = None) -> list[str]:
    """Cross-field problems of ``config["inference"]`` (empty if none).

    Always: bounds ordered, sections inferable. ``deep``: also that the
    simulated configuration resolves, that every parameter is a number there
    and does not change the kernel hash, and that the features fit the
    simulated signal. By default deep only when the section differs from the
    defaults in more than ``network_overlay``: the default inference (written
    for the default populations) must not stop a run of another circuit that
    does not infer anything; the ``infer`` target makes the deep check itself
    (:func:`checked_simulated_config`).
    """
    from lfpflow.config import ConfigError
    from lfpflow.sweep import kernel_hash

    if _RESOLVING.get():
        return []
    inference = config["inference"]
    problems = _bound_problems(inference)
    if deep is None:
        # not network_overlay: removing a default population (E: null) also
        # removes the overlay's entries naming it, and such a run infers nothing
        default = _default_inference()
        deep = any(
            inference.get(key) != default.get(key) for key in inference if key != "network_overlay"
        )
    if problems or not deep:
        return problems
    try:
        simulated = simulated_config(config)
    except ConfigError as error:
        return [
            f"config key 'inference.network_overlay': the simulated network is invalid: {error}"
        ]
    base_hash = kernel_hash(simulated)
    for name, spec in inference["parameters"].items():
        problems.extend(_parameter_problems(name, spec, simulated, base_hash))
    return problems + _feature_problems(inference, simulated)


def checked_simulated_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`simulated_config` after the deep :func:`inference_problems` check.

    Raises
    ------
    lfpflow.config.ConfigError
        Naming every problem.
    """
    from lfpflow.config import ConfigError

    problems = inference_problems(config, deep=True)
    if problems:
        raise ConfigError("invalid inference configuration:\n  " + "\n  ".join(problems))
    return simulated_config(config)


#: Parts of the ``inference`` section each inference rule depends on (besides
#: the simulated network), so that a change elsewhere does not rerun it.
INFERENCE_SCOPES: dict[str, tuple[str, ...]] = {
    "simulate": ("seed", "parameters", "signal", "channels", "features"),
    "observation": ("seed", "parameters", "signal", "channels", "features", "observation"),
    "train": ("seed", "parameters", "signal", "channels", "features", "simulations", "estimator"),
}
INFERENCE_SCOPES["posterior"] = (*INFERENCE_SCOPES["train"], "observation", "posterior")
INFERENCE_SCOPES["validation"] = (*INFERENCE_SCOPES["train"], "posterior", "targets")

#: Top-level sections of the simulated configuration that the inference rules read.
SIMULATED_SECTIONS = RUN_SECTIONS


def inference_stage(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The simulated configuration with only what ``stage`` reads of ``inference``.

    ``simulate`` and ``train`` keep only the parameters' priors (the simulated
    observation reads ``true_value``, the validation ``recoverable``).
    """
    # the sections a draw reads (the network stage view needs kernels and
    # populations; forward maps to EEG; analysis holds the bands): v1, neurons,
    # groundtruth, export, ... changes must not rerun the batches
    result = {key: copy.deepcopy(config[key]) for key in SIMULATED_SECTIONS}
    inference = config["inference"]
    result["inference"] = {key: copy.deepcopy(inference[key]) for key in INFERENCE_SCOPES[stage]}
    if stage == "train":
        # the held-out budget does not change the training set
        result["inference"]["simulations"] = {
            k: v for k, v in inference["simulations"].items() if k != "n_test"
        }
    if stage in ("simulate", "train"):
        result["inference"]["parameters"] = {
            name: {k: v for k, v in spec.items() if k in ("prior", "low", "high")}
            for name, spec in inference["parameters"].items()
        }
    return result
