"""Cross-field checks of the ``inference`` section, and the simulated configuration.

Numpy only (no torch), so that resolving a configuration does not import the
estimator's libraries. The simulated network is the run's configuration with
``inference.network_overlay`` merged over it; it is resolved like any other
configuration by the ``resolve`` callable the caller passes
(:func:`lfpflow.resolve.resolve_simulated`: everything but this check), so
that this package imports nothing above it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from typing import Any

from lfpflow.config import ConfigError, default_config, overlay_of
from lfpflow.config.keys import lookup
from lfpflow.config.schema import merge_overlay
from lfpflow.config.scopes import kernel_hash
from lfpflow.inference.setup import with_parameters

#: Sections whose numbers may be inferred.
INFERABLE_SECTIONS = ("network", "populations")

#: ``resolve(overlay) -> resolved configuration``, raising ConfigError.
Resolve = Callable[[Mapping[str, Any]], dict[str, Any]]


def simulated_config(config: Mapping[str, Any], resolve: Resolve) -> dict[str, Any]:
    """The run's configuration with ``inference.network_overlay`` merged over it.

    Parameters
    ----------
    config : Mapping
        A resolved configuration.
    resolve : callable
        Resolves (merges, validates, checks) the merged overlay; it must not
        check the ``inference`` section again (whose simulated network would
        be simulated again, without end): :func:`lfpflow.resolve.resolve_simulated`.

    Returns
    -------
    dict
        The network every draw simulates, resolved, its ``sweep`` removed.

    Raises
    ------
    lfpflow.config.ConfigError
        If the merged configuration is invalid.
    """
    base = copy.deepcopy(dict(config))
    base["sweep"] = {}
    overlay = base["inference"]["network_overlay"]
    # overlay_of: the keys of the defaults that the run removed stay removed
    return resolve(merge_overlay(overlay_of(base), overlay))


def _parameter_problems(
    name: str, spec: Mapping[str, Any], simulated: Mapping[str, Any], base_hash: str
) -> list[str]:
    """Problems of one inferred parameter (``inference.parameters.<name>``)."""
    key = f"config key 'inference.parameters.{name}'"
    try:
        current = lookup(simulated, name)
    except ConfigError as error:
        return [f"{key}: {error}"]
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
    return default_config()["inference"]


def inference_problems(
    config: Mapping[str, Any], resolve: Resolve, *, deep: bool | None = None
) -> list[str]:
    """Cross-field problems of ``config["inference"]`` (empty if none).

    Always: bounds ordered, sections inferable. ``deep``: also that the
    simulated configuration resolves, that every parameter is a number there
    and does not change the kernel hash, and that the features fit the
    simulated signal. By default deep only when the section differs from the
    defaults in more than ``network_overlay``: the default inference (written
    for the default populations) must not stop a run of another circuit that
    does not infer anything; the ``infer`` target makes the deep check itself
    (:func:`checked_simulated_config`). ``resolve`` resolves the simulated
    configuration (see :func:`simulated_config`).
    """
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
        simulated = simulated_config(config, resolve)
    except ConfigError as error:
        return [
            f"config key 'inference.network_overlay': the simulated network is invalid: {error}"
        ]
    base_hash = kernel_hash(simulated)
    for name, spec in inference["parameters"].items():
        problems.extend(_parameter_problems(name, spec, simulated, base_hash))
    return problems + _feature_problems(inference, simulated)


def checked_simulated_config(config: Mapping[str, Any], resolve: Resolve) -> dict[str, Any]:
    """:func:`simulated_config` after the deep :func:`inference_problems` check.

    Raises
    ------
    lfpflow.config.ConfigError
        Naming every problem.
    """
    problems = inference_problems(config, resolve, deep=True)
    if problems:
        raise ConfigError("invalid inference configuration:\n  " + "\n  ".join(problems))
    return simulated_config(config, resolve)
