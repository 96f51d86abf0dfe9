"""Dendritic sums ``R(u) = sum_j w1_j s1(x_hat_j + u)`` for every (filter, stimulus) pair.

:class:`ExactDendriticSum` sums over pixels (the reference);
:class:`BinnedDendriticSum` expands the nonlinearity about bin centres (fast,
error bounded in its documentation); :func:`dendritic_sum` builds either.
``u`` is the back-propagated potential ``a1 v`` (a.u.).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lfpflow.v1.model.nonlinearities import DendriticNonlinearity

#: Number of float64 elements in one temporary of the dendritic sums (about
#: 512 kB: blocks that stay in cache are several times faster than big arrays).
_BLOCK_ELEMENTS = 1 << 16


class DendriticSum(Protocol):
    """``R(u)`` for every (filter, stimulus) pair, evaluated in batches."""

    #: ``(n_filters, n_stimuli)``: the trailing axes of every ``u``.
    pair_shape: tuple[int, int]

    def __call__(self, u: NDArray) -> NDArray:
        """``R`` at ``u`` of shape ``(..., n_filters, n_stimuli)``, same shape out."""
        ...

    def at(self, u: NDArray, pairs: NDArray) -> NDArray:
        """``R`` at ``u[e]`` for flat pair indices ``pairs[e]`` (active-set updates)."""
        ...


def _as_images(array: ArrayLike) -> NDArray:
    array = np.asarray(array, dtype=float)
    return array.reshape(-1, array.shape[-2] * array.shape[-1])


@dataclass
class ExactDendriticSum:
    """``R(u)`` by direct summation over pixels (reference implementation).

    Parameters
    ----------
    weights : array_like, shape (F, n, n)
        XOR filters ``w1`` (one per filter).
    potentials : array_like, shape (S, n, n)
        ``x_hat`` of each stimulus.
    nonlinearity : DendriticNonlinearity
        ``s1``.
    """

    weights: ArrayLike
    potentials: ArrayLike
    nonlinearity: DendriticNonlinearity
    pair_shape: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = _as_images(self.weights)
        self.potentials = _as_images(self.potentials)
        if self.weights.shape[1] != self.potentials.shape[1]:
            raise ValueError("filters and stimuli have different sizes")
        self.pair_shape = (self.weights.shape[0], self.potentials.shape[0])

    def _apply(self, u: NDArray, function: Callable[[NDArray], NDArray]) -> NDArray:
        u = np.asarray(u, dtype=float)
        n_filters, n_stimuli = self.pair_shape
        flat = np.broadcast_to(u, u.shape[:-2] + self.pair_shape).reshape(-1, n_filters, n_stimuli)
        out = np.empty(flat.shape)
        n_pixels = self.potentials.shape[1]
        stimulus_block = max(1, min(n_stimuli, _BLOCK_ELEMENTS // n_pixels))
        for f in range(n_filters):
            for k in range(flat.shape[0]):
                for s0 in range(0, n_stimuli, stimulus_block):
                    block = slice(s0, s0 + stimulus_block)
                    z = self.potentials[block] + flat[k, f, block, None]
                    # einsum, not BLAS: threaded BLAS on small products is slower
                    out[k, f, block] = np.einsum("sj,j->s", function(z), self.weights[f])
        return out.reshape(np.broadcast_shapes(u.shape, self.pair_shape))

    def __call__(self, u: NDArray) -> NDArray:
        return self._apply(u, self.nonlinearity)

    def derivative(self, u: NDArray) -> NDArray:
        """``dR/du``."""
        return self._apply(u, self.nonlinearity.derivative)

    def at(self, u: ArrayLike, pairs: ArrayLike) -> NDArray:
        """``R`` at ``u[e]`` for the flat pair index ``pairs[e]`` (``f * S + s``)."""
        u = np.asarray(u, dtype=float)
        pairs = np.asarray(pairs)
        filters, stims = np.divmod(pairs, self.pair_shape[1])
        out = np.empty(u.shape)
        block = max(1, _BLOCK_ELEMENTS // self.potentials.shape[1])
        for e0 in range(0, u.size, block):
            e = slice(e0, e0 + block)
            z = self.potentials[stims[e]] + u[e, None]
            out[e] = np.einsum("ej,ej->e", self.nonlinearity(z), self.weights[filters[e]])
        return out


#: Order of the Taylor expansion inside each bin of :class:`BinnedDendriticSum`.
TAYLOR_TERMS = 4
#: Up to this many filters the moments are weighted histograms; beyond, a
#: sparse product (one pass over the pixels for all filters) is faster.
_BINCOUNT_FILTERS = 4


@dataclass
class BinnedDendriticSum:
    """``R(u)`` from per-bin Taylor moments of the stimulus potentials (fast).

    The potentials ``x_hat_j`` of a stimulus are grouped into ``n_bins`` equal
    bins with centres ``c_b``; inside a bin the nonlinearity is expanded to
    third order about ``c_b + u``::

        R(u) = sum_b sum_{k<4} M_bk g^(k)(c_b + u)
        M_bk = sum_{j in b} w1_j (x_hat_j - c_b)^k / k!

    The moments ``M`` are computed once per (filter, stimulus) pair, after
    which an evaluation costs ``4 n_bins`` instead of ``n_pixels`` terms. The
    error is bounded by ``(h/2)^4 / 24 max|g''''| sum|w1|`` with ``h`` the bin
    width (below 1e-7 for the XOR lobe with 64 bins over [0, 1]); for ``u < 0``
    a bin that straddles the lobe's corner at ``z = 0`` adds at most
    ``|g'(0+)| h/2`` times its weight (a few 1e-7 for pa2m = 0.5); when the
    stimuli take at most ``n_bins`` distinct values (noise stimuli) the
    distinct values are the centres and the sum is exact.

    The moments are linear in ``w1``, so sums for ``w1 + a u1`` can be formed
    from those of ``w1`` and ``u1`` (:meth:`combine`).

    Use :meth:`from_weights` to build one.
    """

    centres: NDArray
    moments: NDArray
    nonlinearity: DendriticNonlinearity
    pair_shape: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.moments.ndim != 4:
            raise ValueError("moments must have shape (F, S, n_bins, terms)")
        self.pair_shape = self.moments.shape[:2]

    @classmethod
    def from_weights(
        cls,
        weights: ArrayLike,
        potentials: ArrayLike,
        nonlinearity: DendriticNonlinearity,
        *,
        n_bins: int = 64,
    ) -> BinnedDendriticSum:
        """Moments for every pair of ``weights`` (F, n, n) and ``potentials`` (S, n, n)."""
        from scipy import sparse

        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        weights = _as_images(weights)
        potentials = _as_images(potentials)
        n_stimuli, n_pixels = potentials.shape
        if weights.shape[1] != n_pixels:
            raise ValueError("filters and stimuli have different sizes")
        # few distinct values (noise stimuli): use them as centres, exact sum;
        # a cheap look at the first values rules this out for smooth stimuli
        head = np.unique(potentials.ravel()[: 4 * n_bins + 4])
        distinct = np.unique(potentials) if head.size <= n_bins else head
        if head.size <= n_bins and distinct.size <= n_bins:
            centres = distinct
            index = np.searchsorted(distinct, potentials)
            offsets = np.zeros_like(potentials)
            terms = 1
        else:
            low, high = float(potentials.min()), float(potentials.max())
            width = (high - low) / n_bins
            index = np.clip(((potentials - low) / width).astype(np.intp), 0, n_bins - 1)
            centres = low + (np.arange(n_bins) + 0.5) * width
            offsets = potentials - centres[index]
            terms = TAYLOR_TERMS
        n_centres = centres.size
        n_columns = n_stimuli * n_centres
        n_filters = weights.shape[0]
        # column (stimulus, bin) of every (stimulus, pixel)
        columns = (np.arange(n_stimuli)[:, None] * n_centres + index).ravel()
        moments = np.empty((n_filters, n_stimuli, n_centres, terms))
        if n_filters <= _BINCOUNT_FILTERS:
            # few filters: weighted histograms, no sorting
            for f in range(n_filters):
                weighted = np.broadcast_to(weights[f], potentials.shape).ravel()
                for k in range(terms):
                    if k:
                        weighted = weighted * offsets.ravel() / k
                    moments[f, ..., k] = np.bincount(
                        columns, weights=weighted, minlength=n_columns
                    ).reshape(n_stimuli, n_centres)
            return cls(centres=centres, moments=moments, nonlinearity=nonlinearity)
        # many filters: one sparse basis per Taylor term (rows pixels, columns
        # (stimulus, bin)), built directly in CSC form, times the dense filters
        order = np.argsort(columns, kind="stable")
        rows = np.tile(np.arange(n_pixels), n_stimuli)[order]
        indptr = np.zeros(n_columns + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=n_columns), out=indptr[1:])
        sorted_offsets = offsets.ravel()[order]
        power = np.ones(potentials.size)
        for k in range(terms):
            if k:
                power = power * sorted_offsets / k
            basis = sparse.csc_array((power, rows, indptr), shape=(n_pixels, n_columns))
            # (basis.T @ weights.T).T: sparse-times-dense, cost nnz * F
            moments[..., k] = (basis.T @ weights.T).T.reshape(n_filters, n_stimuli, n_centres)
        return cls(centres=centres, moments=moments, nonlinearity=nonlinearity)

    def combine(self, coefficients: ArrayLike) -> BinnedDendriticSum:
        """The sum for filters ``sum_f coefficients[g, f] w1_f`` (shape (G, F))."""
        coefficients = np.atleast_2d(np.asarray(coefficients, dtype=float))
        moments = np.tensordot(coefficients, self.moments, axes=(1, 0))
        return BinnedDendriticSum(self.centres, moments, self.nonlinearity)

    def at(self, u: ArrayLike, pairs: ArrayLike) -> NDArray:
        """``R`` at ``u[e]`` for the flat pair index ``pairs[e]`` (``f * S + s``)."""
        u = np.asarray(u, dtype=float)
        pairs = np.asarray(pairs)
        flat_m = self.moments.reshape(-1, *self.moments.shape[2:])
        out = np.empty(u.shape)
        block = max(1, _BLOCK_ELEMENTS // self.centres.size)
        for e0 in range(0, u.size, block):
            e = slice(e0, e0 + block)
            z = self.centres + u[e, None]
            out[e] = self.nonlinearity.taylor_sum(z, flat_m[pairs[e]])
        return out

    def __call__(self, u: NDArray) -> NDArray:
        u = np.asarray(u, dtype=float)
        shape = np.broadcast_shapes(u.shape, self.pair_shape)
        n_pairs = self.pair_shape[0] * self.pair_shape[1]
        flat_u = np.broadcast_to(u, shape).reshape(-1, n_pairs)
        flat_m = self.moments.reshape(n_pairs, *self.moments.shape[2:])
        out = np.empty(flat_u.shape)
        n_centres = self.centres.size
        pair_block = max(1, _BLOCK_ELEMENTS // n_centres)
        row_block = max(1, _BLOCK_ELEMENTS // (n_centres * n_pairs))
        n_rows = flat_u.shape[0]
        for r0 in range(0, n_rows, row_block):
            rows = slice(r0, r0 + row_block)
            for p0 in range(0, n_pairs, pair_block):
                pairs = slice(p0, p0 + pair_block)
                z = self.centres + flat_u[rows, pairs, None]
                out[rows, pairs] = self.nonlinearity.taylor_sum(z, flat_m[pairs])
        return out.reshape(shape)


def dendritic_sum(
    weights: ArrayLike,
    potentials: ArrayLike,
    nonlinearity: DendriticNonlinearity,
    *,
    method: Literal["binned", "exact"] = "binned",
    n_bins: int = 64,
) -> ExactDendriticSum | BinnedDendriticSum:
    """Build a dendritic sum with the chosen evaluation ``method``."""
    if method == "exact":
        return ExactDendriticSum(weights, potentials, nonlinearity)
    if method == "binned":
        return BinnedDendriticSum.from_weights(weights, potentials, nonlinearity, n_bins=n_bins)
    raise ValueError(f"v1.numerics.dendritic_sum must be 'binned' or 'exact', got {method!r}")
