"""The ``inference`` section: prior, seeds, batches, parameters set into a configuration.

Numpy only (no torch), so that the configuration checks and the batch jobs do
not import the estimator's libraries. The simulated configuration and the
section's checks are in :mod:`lfpflow.inference.checks`.

The prior is uniform or log-uniform per parameter. The estimator works in the
*prior space* ``z``: ``z = value`` for a uniform prior and ``z = ln(value)``
for a log-uniform one, where the prior is a box; recovery (R^2) is measured
there too, so that a log-uniform parameter counts its orders of magnitude
evenly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lfpflow.config.keys import lookup, set_value

#: Draw streams, one per use, so that a change of one budget leaves the others' draws.
SPLITS = {"train": 0, "test": 1, "ppc": 2, "observation": 3}


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


def with_parameters(
    config: Mapping[str, Any], names: Sequence[str], values: Sequence[float], *, seed: int
) -> dict[str, Any]:
    """A copy of ``config`` with the parameters set and the master ``seed``."""
    result = copy.deepcopy(dict(config))
    for name, value in zip(names, values, strict=True):
        set_value(result, name, float(value))
    result["seed"] = int(seed)
    return result


def true_values(config: Mapping[str, Any], simulated: Mapping[str, Any]) -> np.ndarray:
    """Each parameter's ``true_value``, or its value in the simulated configuration."""
    parameters = config["inference"]["parameters"]
    return np.array(
        [float(p.get("true_value", lookup(simulated, name))) for name, p in parameters.items()]
    )
