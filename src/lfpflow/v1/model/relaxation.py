"""Relaxation of the V1 model to its response, batched over stimuli, filters and parameters.

:class:`Relaxation` is the protocol (``paper``: 21 updates; ``converged``: to
the fixed point, see :mod:`lfpflow.v1.model`); :func:`relax_feedforward` the
two-term model, :func:`relax_network` the full model with lateral coupling.
Both build a system in grouped layout (``G`` groups of ``U`` coupled
elements) and hand it to one iteration loop, :func:`_iterate`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lfpflow.v1.model.dendritic_sums import DendriticSum
from lfpflow.v1.model.filters import term_weights
from lfpflow.v1.model.nonlinearities import SigmoidDendrite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Relaxation:
    """How the membrane potential is computed from ``v = 0``.

    Parameters
    ----------
    protocol : {"paper", "converged"}
        ``paper``: exactly ``steps`` updates (the published figures);
        ``converged``: updates until ``max |rhs(v) - v| < tolerance``
        (stalled elements are given up, see the module documentation).
    rate : float
        Relaxation rate ``lr`` of ``v <- v + lr (-v + rhs(v))``, in (0, 1].
    steps : int
        Number of updates of the paper protocol (21).
    tolerance : float
        Absolute tolerance on the residual, converged protocol.
    max_iterations : int
        Cap on the updates of the converged protocol.
    """

    protocol: Literal["paper", "converged"] = "paper"
    rate: float = 0.1
    steps: int = 21
    tolerance: float = 1e-12
    max_iterations: int = 20_000

    def __post_init__(self) -> None:
        if self.protocol not in ("paper", "converged"):
            raise ValueError(
                f"v1.relaxation.protocol must be 'paper' or 'converged', got {self.protocol!r}"
            )
        if not 0 < self.rate <= 1:
            raise ValueError(f"v1.relaxation.rate must be in (0, 1], got {self.rate}")
        if self.steps < 1:
            raise ValueError(f"v1.relaxation.steps must be >= 1, got {self.steps}")
        if not self.tolerance > 0:
            raise ValueError(f"v1.relaxation.tolerance must be > 0, got {self.tolerance}")
        if self.max_iterations < 1:
            raise ValueError(
                f"v1.relaxation.max_iterations must be >= 1, got {self.max_iterations}"
            )


@dataclass
class RelaxationResult:
    """Outcome of a relaxation, arrays of shape ``(*parameter axes, *pair axes)``.

    Attributes
    ----------
    v : ndarray
        Membrane potential.
    linear : ndarray
        Linear drive ``Q`` (broadcast to the shape of ``v``).
    dendritic : ndarray
        ``R`` used in the last update (at the potential before it).
    iterations : ndarray of int
        Updates applied before the residual fell below the tolerance
        (``steps`` everywhere for the paper protocol).
    converged : ndarray of bool
        Residual below tolerance (paper protocol: whether it happens to be).
    residual : ndarray
        ``|rhs(v) - v|`` after the last update, estimated as ``|dv| / rate``.
    """

    v: NDArray
    linear: NDArray
    dendritic: NDArray
    iterations: NDArray
    converged: NDArray
    residual: NDArray


class _System(Protocol):
    """A relaxation problem in grouped layout: ``G`` groups of ``U`` coupled elements."""

    n_groups: int
    group_size: int

    def full(self, v: NDArray, step: int) -> tuple[NDArray, NDArray]:
        """``rhs(v)`` and ``R`` for all groups; ``v`` has shape (G, U)."""
        ...

    def subset(self, v: NDArray, groups: NDArray, step: int) -> tuple[NDArray, NDArray]:
        """The same for the groups ``groups`` only; ``v`` has shape (len(groups), U)."""
        ...


#: The converged protocol gives up on a group whose largest residual has not
#: fallen below _STALL_FACTOR of its value _STALL_WINDOW updates earlier: at
#: that rate it could not reach the tolerance within max_iterations anyway
#: (and the full model's lateral dynamics can oscillate instead of settling).
_STALL_WINDOW = 1000
_STALL_FACTOR = 0.9

#: The converged protocol updates only the unconverged groups once they are
#: fewer than this fraction of all groups (below it, gathering pays off).
_ACTIVE_SET_FRACTION = 0.5


def _iterate(
    system: _System, relaxation: Relaxation, first_check: int = 0
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Relax ``v <- v + rate (rhs(v) - v)`` from 0; returns v, R, iterations, residual (G, U).

    Paper protocol: ``relaxation.steps`` updates of everything. Converged
    protocol: updates until every element of a group has ``|rhs - v| <
    tolerance`` (tested from update ``first_check`` on); converged groups
    are frozen once the unconverged ones are few, which are then updated
    alone. ``iterations`` counts the updates before a group converged
    (``max_iterations`` if it never did).
    """
    shape = (system.n_groups, system.group_size)
    v = np.zeros(shape)
    dendritic = np.zeros(shape)
    residual = np.full(shape, np.inf)
    rate = relaxation.rate
    if relaxation.protocol == "paper":
        for step in range(relaxation.steps):
            rhs, dendritic = system.full(v, step)
            residual = np.abs(rhs - v)
            v += rate * (rhs - v)
        return v, dendritic, np.full(shape, relaxation.steps, dtype=np.int64), residual
    n_max = relaxation.max_iterations
    iterations = np.full(system.n_groups, n_max, dtype=np.int64)
    active = np.arange(system.n_groups)
    # residual of each active group one stall window ago (to detect oscillation)
    earlier = np.full(system.n_groups, np.inf)
    for step in range(n_max):
        if active.size > _ACTIVE_SET_FRACTION * system.n_groups:
            rhs, r = system.full(v, step)
            step_residual = np.abs(rhs - v)
            v += rate * (rhs - v)
            dendritic, residual = r, step_residual
            rhs, r, step_residual = rhs[active], r[active], step_residual[active]
        else:
            current = v[active]
            rhs, r = system.subset(current, active, step)
            step_residual = np.abs(rhs - current)
            v[active] = current + rate * (rhs - current)
            dendritic[active] = r
            residual[active] = step_residual
        if step >= first_check:
            group_residual = step_residual.max(axis=1)
            done = group_residual < relaxation.tolerance
            iterations[active[done]] = step
            if step > first_check and (step - first_check) % _STALL_WINDOW == 0:
                # no 10 % progress in a window: oscillating or stuck, give up on it
                stalled = ~done & (group_residual > _STALL_FACTOR * earlier[active])
                earlier[active] = group_residual
                if stalled.any():
                    log.info(
                        "converged protocol: %d of %d groups stalled at update %d "
                        "(residual up to %.2g); reported unconverged",
                        stalled.sum(),
                        system.n_groups,
                        step,
                        group_residual[stalled].max(),
                    )
                done = done | stalled
            active = active[~done]
            if active.size == 0:
                break
            if step % 5000 == 0 and step:
                log.info("converged protocol: update %d, %d groups active", step, active.size)
    return v, dendritic, np.repeat(iterations[:, None], system.group_size, axis=1), residual


class _FeedforwardSystem:
    """``rhs = c0 Q + c1 R(alpha v)`` for independent elements (groups of one)."""

    def __init__(self, linear, dendritic_sum, c0, c1, alpha, shape) -> None:
        self.shape = shape
        self.dendritic_sum = dendritic_sum
        self.n_groups, self.group_size = math.prod(shape), 1
        self.linear_term = c0 * linear
        self.c1 = c1
        self.alpha = alpha
        n_pairs = math.prod(dendritic_sum.pair_shape)
        self._flat: dict[str, NDArray] | None = None
        self._n_pairs = n_pairs

    def _flat_arrays(self) -> dict[str, NDArray]:
        if self._flat is None:
            self._flat = {
                name: np.broadcast_to(value, self.shape).ravel()
                for name, value in (
                    ("linear_term", self.linear_term),
                    ("c1", self.c1),
                    ("alpha", self.alpha),
                )
            }
            self._flat["pair"] = np.arange(self.n_groups) % self._n_pairs
        return self._flat

    def full(self, v: NDArray, step: int) -> tuple[NDArray, NDArray]:
        v = v.reshape(self.shape)
        r = self.dendritic_sum(self.alpha * v)
        rhs = self.linear_term + self.c1 * r
        return rhs.reshape(-1, 1), r.reshape(-1, 1)

    def subset(self, v: NDArray, groups: NDArray, step: int) -> tuple[NDArray, NDArray]:
        flat = self._flat_arrays()
        r = self.dendritic_sum.at(flat["alpha"][groups] * v[:, 0], flat["pair"][groups])
        rhs = flat["linear_term"][groups] + flat["c1"][groups] * r
        return rhs[:, None], r[:, None]


class _NetworkSystem:
    """The three-term model; a group is one stimulus (and parameter set), its units coupled."""

    def __init__(
        self, linear, dendritic_sum, lateral, lambda1, lambda2, alpha1, alpha2, shape, onset
    ) -> None:
        self.shape = shape  # (*lead, U, S)
        self.lead = shape[:-2]
        self.n_units, self.n_stimuli = shape[-2:]
        self.n_groups = math.prod(self.lead) * self.n_stimuli
        self.group_size = self.n_units
        self.dendritic_sum = dendritic_sum
        self.lateral = lateral
        self.onset = onset
        self.linear = np.broadcast_to(linear, shape)
        c0, c1, c2 = term_weights(lambda1, lambda2)
        f0, f1, _ = term_weights(lambda1)
        self.parameters = {
            "c0": c0,
            "c1": c1,
            "c2": c2,
            "f0": f0,
            "f1": f1,
            "alpha1": alpha1,
            "alpha2": alpha2,
        }
        self._per_group: dict[str, NDArray] | None = None
        self.sigmoid = SigmoidDendrite()

    def _to_full(self, x: NDArray) -> NDArray:
        return np.moveaxis(x.reshape(*self.lead, self.n_stimuli, self.n_units), -1, -2)

    def _to_groups(self, x: NDArray) -> NDArray:
        return np.moveaxis(x, -2, -1).reshape(-1, self.n_units)

    def _groups(self) -> dict[str, NDArray]:
        if self._per_group is None:
            groups = {}
            for name, value in self.parameters.items():
                value = np.broadcast_to(np.asarray(value, dtype=float), self.shape)
                # parameters vary over the lead axes only: take unit 0
                groups[name] = self._to_groups(value)[:, :1]
            groups["linear"] = self._to_groups(self.linear)
            stimulus = np.arange(self.n_groups) % self.n_stimuli
            groups["pair"] = np.arange(self.n_units)[None, :] * self.n_stimuli + stimulus[:, None]
            self._per_group = groups
        return self._per_group

    def _rhs(self, v, r, linear, p, step, unit_axis):
        if step < self.onset:
            return p["f0"] * linear + p["f1"] * r
        if unit_axis == -2:  # full layout (..., U, S): difference[..., i, k, s]
            difference = v[..., None, :, :] - p["alpha2"][..., None] * v[..., :, None, :]
            pooled = np.einsum("ik,...iks->...is", self.lateral, self.sigmoid(difference))
        else:  # grouped layout (n, U): difference[n, i, k]
            difference = v[:, None, :] - p["alpha2"][:, :, None] * v[:, :, None]
            pooled = np.einsum("ik,nik->ni", self.lateral, self.sigmoid(difference))
        return p["c0"] * linear + p["c1"] * r - p["c2"] * pooled

    def full(self, v: NDArray, step: int) -> tuple[NDArray, NDArray]:
        v = self._to_full(v)
        p = self.parameters
        r = self.dendritic_sum(np.asarray(p["alpha1"]) * v)
        rhs = self._rhs(v, r, self.linear, {k: np.asarray(x) for k, x in p.items()}, step, -2)
        return self._to_groups(rhs), self._to_groups(r)

    def subset(self, v: NDArray, groups: NDArray, step: int) -> tuple[NDArray, NDArray]:
        g = self._groups()
        p = {name: g[name][groups] for name in self.parameters}
        r = self.dendritic_sum.at((p["alpha1"] * v).ravel(), g["pair"][groups].ravel())
        r = r.reshape(v.shape)
        return self._rhs(v, r, g["linear"][groups], p, step, -1), r


def relax_feedforward(
    linear: ArrayLike,
    dendritic_sum: DendriticSum,
    *,
    lam: ArrayLike,
    alpha: ArrayLike,
    relaxation: Relaxation,
) -> RelaxationResult:
    """Relax the two-term model ``v = c0 Q + c1 R(alpha v)`` from ``v = 0``.

    Parameters
    ----------
    linear : array_like
        ``Q``, shape ``dendritic_sum.pair_shape`` (or broadcastable).
    dendritic_sum : DendriticSum
        ``R`` for the same pairs.
    lam, alpha : array_like
        ``lambda`` (XOR weight, ``c0 = 1/(1+|lambda|)``, ``c1 = lambda c0``)
        and the back-propagation attenuation; arrays broadcast against the
        pair axes, e.g. shape ``(L, 1, 1)`` for ``L`` values of lambda.
    relaxation : Relaxation
        Protocol.

    Returns
    -------
    RelaxationResult
        Arrays of shape ``broadcast(lam, alpha, pair_shape)``.
    """
    linear = np.asarray(linear, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    c0, c1, _ = term_weights(lam)
    shape = np.broadcast_shapes(linear.shape, c0.shape, alpha.shape, dendritic_sum.pair_shape)
    system = _FeedforwardSystem(linear, dendritic_sum, c0, c1, alpha, shape)
    v, r, iterations, residual = _iterate(system, relaxation)
    return RelaxationResult(
        v=v.reshape(shape),
        linear=np.broadcast_to(linear, shape).copy(),
        dendritic=r.reshape(shape),
        iterations=iterations.reshape(shape),
        converged=(residual < relaxation.tolerance).reshape(shape),
        residual=residual.reshape(shape),
    )


def relax_network(
    linear: ArrayLike,
    dendritic_sum: DendriticSum,
    lateral: ArrayLike,
    *,
    lambda1: ArrayLike,
    lambda2: ArrayLike,
    alpha1: ArrayLike,
    alpha2: ArrayLike,
    relaxation: Relaxation,
    lateral_onset: int = 1,
) -> RelaxationResult:
    """Relax the full three-term model for a population of units.

    ``v_i = c0 Q_i + c1 R_i(a1 v_i) - c2 sum_k w2_ik s2(v_k - a2 v_i)``, with
    the units on the first pair axis (``dendritic_sum.pair_shape = (U, S)``).
    Updates before ``lateral_onset`` use the feed-forward normalisation
    ``c0 = 1/(1+|l1|)`` and no lateral term, as the published code does on
    its first step. With strong lateral coupling the relaxation need not
    reach a fixed point (it can oscillate); the converged protocol then
    stops at ``max_iterations`` and reports those elements as unconverged.

    Parameters
    ----------
    linear : array_like, shape (U, S)
        ``Q`` of each unit for each stimulus.
    dendritic_sum : DendriticSum
        ``R`` for each (unit, stimulus).
    lateral : array_like, shape (U, U)
        ``w2`` (:func:`~lfpflow.v1.model.filters.lateral_weights`).
    lambda1, lambda2, alpha1, alpha2 : array_like
        Parameters, broadcast against ``(U, S)`` (e.g. shape ``(P, 1, 1)``);
        they must not vary over the unit and stimulus axes.
    relaxation : Relaxation
        Protocol.
    lateral_onset : int
        First update that includes the lateral term (1 in the paper).

    Returns
    -------
    RelaxationResult
        Arrays of shape ``(*parameter axes, U, S)``.
    """
    linear = np.asarray(linear, dtype=float)
    lateral = np.asarray(lateral, dtype=float)
    parameters = [np.asarray(x, dtype=float) for x in (lambda1, lambda2, alpha1, alpha2)]
    for value in parameters:
        if value.ndim >= 2 and (value.shape[-1] != 1 or value.shape[-2] != 1):
            raise ValueError("network parameters must not vary over the unit and stimulus axes")
    shape = np.broadcast_shapes(
        linear.shape, *(x.shape for x in parameters), dendritic_sum.pair_shape
    )
    system = _NetworkSystem(linear, dendritic_sum, lateral, *parameters, shape, lateral_onset)
    v, r, iterations, residual = _iterate(system, relaxation, first_check=lateral_onset)
    return RelaxationResult(
        v=system._to_full(v),
        linear=np.broadcast_to(linear, shape).copy(),
        dendritic=system._to_full(r),
        iterations=system._to_full(iterations),
        converged=system._to_full(residual < relaxation.tolerance),
        residual=system._to_full(residual),
    )
