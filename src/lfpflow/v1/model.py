"""The V1 neuron model of Rentzeperis, Prandi & Bertalmío (2025), batched.

Membrane potential of unit ``i`` (Rentzeperis I, Prandi D, Bertalmío M, 2025,
J Neurosci, "A neural model for V1 that incorporates dendritic nonlinearities
and back-propagating action potentials")::

    v_i = c0 (w0_i . x) + c1 (w1_i . s1(x_hat + a1 v_i)) - c2 sum_k w2_ik s2(v_k - a2 v_i)

with ``x`` the input (firing rates, one value per pixel), ``x_hat = |x|**p``
(rate to membrane potential, ``p`` = ``pa2m``), ``s1`` the XOR dendrite
:class:`XorDendrite`, ``s2`` the sigmoidal dendrite :class:`SigmoidDendrite`,
``c0 = 1/(1 + |l1| + |l2|)``, ``c1 = l1 c0``, ``c2 = l2 c0`` (:func:`term_weights`).

Names used below: the *linear drive* ``Q = w0 . x``; the *dendritic sum*
``R(u) = sum_j w1_j s1(x_hat_j + u)``, a function of the back-propagated
potential ``u = a1 v`` (classes :class:`ExactDendriticSum` and
:class:`BinnedDendriticSum`); a *pair* is one (filter, stimulus) combination,
for which ``Q`` is a number and ``R`` a function of one variable.

Two relaxation protocols (:class:`Relaxation`):

``paper``
    What the published figures did: start at ``v = 0`` and apply
    ``v <- v + rate (-v + rhs(v))`` exactly ``steps`` (21) times with
    ``rate = 0.1``; the full model uses the feed-forward normalisation
    (``c0 = 1/(1+|l1|)``, no lateral term) on the first step.
``converged``
    The same updates repeated until ``|rhs(v) - v| < tolerance`` for every
    element (the fixed point), reporting the iterations each element needed;
    elements that stall (less than 10 % progress in 1000 updates, e.g. the
    oscillations of a strongly coupled full model) or reach ``max_iterations``
    are reported as unconverged.

Everything is vectorised over stimuli, filters and parameters: parameters are
arrays broadcast against the pair axes (see :func:`relax_feedforward`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lfpflow.v1.stimuli import check_n_pixels, gabor

log = logging.getLogger(__name__)

#: Base of the XOR peak: the lobe is centred at ``XOR_PEAK_BASE ** pa2m``.
XOR_PEAK_BASE = 0.43
#: Half-width ``s`` of the XOR lobe ``exp(-((|u| - m)/s)^2)``.
XOR_HALF_WIDTH = 0.2

#: Number of float64 elements in one temporary of the dendritic sums (about
#: 512 kB: blocks that stay in cache are several times faster than big arrays).
_BLOCK_ELEMENTS = 1 << 16


# ---------------------------------------------------------------------------
# Dendritic nonlinearities
# ---------------------------------------------------------------------------


class DendriticNonlinearity(Protocol):
    """A pointwise dendritic nonlinearity with its derivatives."""

    def __call__(self, u: ArrayLike) -> NDArray: ...

    def derivative(self, u: ArrayLike) -> NDArray: ...

    def taylor_sum(self, z: NDArray, coefficients: NDArray) -> NDArray:
        """``sum_b sum_k coefficients[..., b, k] * g^(k)(z[..., b])`` for k < 4."""
        ...


@dataclass(frozen=True)
class XorDendrite:
    """XOR dendrite: a lobe ``exp(-((|u| - peak) / half_width)^2)``.

    The response is high for inputs of intermediate magnitude (one pathway
    active) and low for none or both, the XOR of Gidon et al. (2020).

    Parameters
    ----------
    peak : float
        Centre ``m`` of the lobe, in the units of ``x_hat``.
    half_width : float
        ``s``, the lobe's half-width parameter.
    """

    peak: float
    half_width: float = XOR_HALF_WIDTH

    def __post_init__(self) -> None:
        if not self.half_width > 0:
            raise ValueError(f"XOR half_width must be positive, got {self.half_width}")

    @classmethod
    def for_exponent(
        cls,
        pa2m: float,
        *,
        peak_base: float = XOR_PEAK_BASE,
        half_width: float = XOR_HALF_WIDTH,
    ) -> XorDendrite:
        """The lobe used with rate-to-potential exponent ``pa2m``: peak ``base**pa2m``."""
        return cls(peak=peak_base**pa2m, half_width=half_width)

    def __call__(self, u: ArrayLike) -> NDArray:
        t = (np.abs(u) - self.peak) / self.half_width
        return np.exp(-t * t)

    def derivative(self, u: ArrayLike) -> NDArray:
        """``d/du exp(-((|u|-m)/s)^2) = -2 sign(u) (|u|-m)/s^2 exp(...)``.

        At ``u = 0`` the function has a corner (one-sided slopes of opposite
        sign); the symmetric derivative, 0, is returned there.
        """
        u = np.asarray(u, dtype=float)
        t = (np.abs(u) - self.peak) / self.half_width
        return -2.0 * np.sign(u) * t / self.half_width * np.exp(-t * t)

    def taylor_sum(self, z: NDArray, coefficients: NDArray) -> NDArray:
        s = self.half_width
        t = (np.abs(z) - self.peak) / s
        e = np.exp(-t * t)
        order = coefficients.shape[-1]
        if order == 1:
            return np.einsum("...b,...b->...", e, np.broadcast_to(coefficients[..., 0], z.shape))
        t2 = t * t
        # derivatives of exp(-t^2) in z: odd orders change sign with z
        odd = coefficients[..., 1] * ((-2.0 / s) * t)
        if order > 3:
            odd = odd + coefficients[..., 3] * (t * (12.0 - 8.0 * t2) / s**3)
        poly = coefficients[..., 0] + np.sign(z) * odd
        if order > 2:
            poly = poly + coefficients[..., 2] * ((4.0 * t2 - 2.0) / s**2)
        return np.einsum("...b,...b->...", e, poly)


@dataclass(frozen=True)
class SigmoidDendrite:
    """Sigmoidal dendrite ``2 / (1 + exp(-u)) - 1`` (= ``tanh(u/2)``), range (-1, 1)."""

    def __call__(self, u: ArrayLike) -> NDArray:
        return np.tanh(0.5 * np.asarray(u, dtype=float))

    def derivative(self, u: ArrayLike) -> NDArray:
        y = np.tanh(0.5 * np.asarray(u, dtype=float))
        return 0.5 * (1.0 - y * y)

    def taylor_sum(self, z: NDArray, coefficients: NDArray) -> NDArray:
        y = np.tanh(0.5 * z)
        one_minus = 1.0 - y * y
        order = coefficients.shape[-1]
        total = coefficients[..., 0] * y
        if order > 1:
            total = total + coefficients[..., 1] * (0.5 * one_minus)
        if order > 2:
            total = total + coefficients[..., 2] * (-0.5 * y * one_minus)
        if order > 3:
            total = total + coefficients[..., 3] * (-0.25 * one_minus * (1.0 - 3.0 * y * y))
        return total.sum(axis=-1)


def rate_to_potential(x: ArrayLike, exponent: float) -> NDArray:
    """``x_hat = |x| ** exponent``: the membrane potential elicited by rate ``x``."""
    return np.abs(np.asarray(x, dtype=float)) ** exponent


def rate_to_potential_derivative(
    x: ArrayLike, exponent: float, *, slope_floor: float = 0.0
) -> NDArray:
    """``d x_hat / dx = exponent |x|**(exponent-1) sign(x)``, 0 at ``x = 0``.

    For ``exponent < 1`` the slope is unbounded as ``x -> 0`` and the map has
    a symmetric cusp at 0, where the symmetric derivative, 0, is returned.

    Parameters
    ----------
    x : array_like
        Rates.
    exponent : float
        ``pa2m``.
    slope_floor : float
        If positive, ``|x|`` is replaced by ``max(|x|, slope_floor)`` in the
        slope, which caps it at its value for ``|x| = slope_floor`` (a
        display regularisation akin to the authors' ``eps = 0.01``; 0 = exact).
    """
    x = np.asarray(x, dtype=float)
    magnitude = np.abs(x)
    out = np.zeros_like(x)
    nonzero = magnitude > 0
    base = np.maximum(magnitude[nonzero], slope_floor)
    out[nonzero] = exponent * base ** (exponent - 1.0) * np.sign(x[nonzero])
    return out


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def l1_normalise(filters: ArrayLike) -> NDArray:
    """Divide each image (last two axes) by the sum of its absolute values."""
    filters = np.asarray(filters, dtype=float)
    norm = np.abs(filters).sum(axis=(-2, -1), keepdims=True)
    if np.any(norm == 0):
        raise ValueError("cannot L1-normalise an all-zero filter")
    return filters / norm


@dataclass(frozen=True)
class FilterSpec:
    """Geometry of the model's filters ``w0`` (linear) and ``w1`` (XOR).

    Parameters
    ----------
    n_pixels : int
        Image side (odd); 129 in the paper (33 for the noise experiment).
    cycles_per_image : float
        Carrier frequency in cycles per image; ``f = cycles_per_image / n_pixels``.
    envelope_factor : float
        Envelope sd of ``w0`` in units of ``1/(8 f)`` (1 in the paper).
    w1_envelope_factor : float
        Envelope of ``w1`` relative to that of ``w0`` (3: three times wider).
    w1_phase_offset : float
        Phase of ``w1`` relative to ``w0``, radians (pi/2: quadrature).
    aspect_ratio : float
        Envelope aspect ratio (0.125).
    phase : float
        Phase of ``w0``, radians.
    """

    n_pixels: int = 129
    cycles_per_image: float = 4.0
    envelope_factor: float = 1.0
    w1_envelope_factor: float = 3.0
    w1_phase_offset: float = math.pi / 2
    aspect_ratio: float = 0.125
    phase: float = 0.0

    def __post_init__(self) -> None:
        check_n_pixels(self.n_pixels)
        if self.cycles_per_image <= 0 or self.envelope_factor <= 0:
            raise ValueError("cycles_per_image and envelope_factor must be positive")

    @property
    def frequency(self) -> float:
        """Carrier frequency, cycles per pixel."""
        return self.cycles_per_image / self.n_pixels

    @property
    def envelope_sd(self) -> float:
        """Envelope sd of ``w0`` across the bars, pixels: ``factor / (8 f)``."""
        return self.envelope_factor / (8.0 * self.frequency)

    def stimulus_gabor(
        self, orientation: ArrayLike, phase: ArrayLike, amplitude: ArrayLike = 1.0
    ) -> NDArray:
        """Gabor stimuli with the frequency and (unit-factor) envelope of the paper."""
        return gabor(
            self.n_pixels,
            frequency=self.frequency,
            orientation=orientation,
            phase=phase,
            envelope_sd=1.0 / (8.0 * self.frequency),
            aspect_ratio=self.aspect_ratio,
            amplitude=amplitude,
        )


def model_filters(spec: FilterSpec, orientation: ArrayLike = 0.0) -> tuple[NDArray, NDArray]:
    """Filters ``w0`` and ``w1`` of units with the given preferred orientation(s).

    ``w0`` is a Gabor (``spec``), ``w1`` the same Gabor shifted in phase by
    ``spec.w1_phase_offset`` with a ``spec.w1_envelope_factor`` times wider
    envelope; both L1-normalised.

    Parameters
    ----------
    spec : FilterSpec
        Geometry.
    orientation : array_like
        Preferred orientation(s), radians.

    Returns
    -------
    w0, w1 : ndarray, shape ``orientation.shape + (n, n)``
    """
    common = dict(frequency=spec.frequency, orientation=orientation, aspect_ratio=spec.aspect_ratio)
    w0 = gabor(spec.n_pixels, phase=spec.phase, envelope_sd=spec.envelope_sd, **common)
    w1 = gabor(
        spec.n_pixels,
        phase=spec.phase + spec.w1_phase_offset,
        envelope_sd=spec.w1_envelope_factor * spec.envelope_sd,
        **common,
    )
    return l1_normalise(w0), l1_normalise(w1)


def lateral_weights(w0: ArrayLike) -> NDArray:
    """Lateral weights ``w2_ik = |<w0_i, w0_k>|``, rows rescaled to sum to the unit count.

    Parameters
    ----------
    w0 : array_like, shape (n_units, n, n)
        Linear filters of the units.

    Returns
    -------
    ndarray, shape (n_units, n_units)
    """
    w0 = np.asarray(w0, dtype=float)
    flat = w0.reshape(w0.shape[0], -1)
    overlap = np.abs(flat @ flat.T)
    return w0.shape[0] * overlap / overlap.sum(axis=1, keepdims=True)


def term_weights(lambda1: ArrayLike, lambda2: ArrayLike = 0.0) -> tuple[NDArray, NDArray, NDArray]:
    """``c0 = 1/(1+|l1|+|l2|)``, ``c1 = l1 c0``, ``c2 = l2 c0``."""
    lambda1 = np.asarray(lambda1, dtype=float)
    lambda2 = np.asarray(lambda2, dtype=float)
    c0 = 1.0 / (1.0 + np.abs(lambda1) + np.abs(lambda2))
    return c0, lambda1 * c0, lambda2 * c0


def linear_drive(w0: ArrayLike, stimuli: ArrayLike) -> NDArray:
    """``Q = w0 . x`` for every (filter, stimulus) pair.

    Parameters
    ----------
    w0 : array_like, shape (F, n, n) or (n, n)
    stimuli : array_like, shape (S, n, n) or (n, n)

    Returns
    -------
    ndarray, shape (F, S) (axes of 2-D inputs are kept as length 1)
    """
    w0 = np.asarray(w0, dtype=float)
    stimuli = np.asarray(stimuli, dtype=float)
    w0 = w0.reshape(-1, w0.shape[-2] * w0.shape[-1])
    stimuli = stimuli.reshape(-1, stimuli.shape[-2] * stimuli.shape[-1])
    return w0 @ stimuli.T


# ---------------------------------------------------------------------------
# Dendritic sums R(u) = sum_j w1_j s1(x_hat_j + u)
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Relaxation
# ---------------------------------------------------------------------------


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
        ``w2`` (:func:`lateral_weights`).
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


# ---------------------------------------------------------------------------
# Receptive field
# ---------------------------------------------------------------------------


def receptive_field(
    stimulus: ArrayLike,
    w0: ArrayLike,
    w1: ArrayLike,
    *,
    lam: float,
    alpha: float,
    pa2m: float,
    nonlinearity: DendriticNonlinearity,
    relaxation: Relaxation | None = None,
    slope_floor: float = 0.0,
) -> tuple[NDArray, float]:
    """Spatial receptive field ``dv/dx`` of the two-term model at its fixed point.

    Differentiating ``v = c0 w0.x + c1 sum_k w1_k s1(x_hat_k + a v)`` with
    respect to ``x_j``, including the implicit dependence through ``v``::

        dv/dx_j = (c0 w0_j + c1 w1_j s1'(z_j) x_hat'(x_j)) / (1 - a c1 sum_k w1_k s1'(z_k))

    with ``z = x_hat + a v`` at the converged ``v``.

    Parameters
    ----------
    stimulus, w0, w1 : array_like, shape (n, n)
        The stimulus at which the field is taken and the filters.
    lam, alpha, pa2m : float
        Model parameters.
    nonlinearity : DendriticNonlinearity
        ``s1``.
    relaxation : Relaxation, optional
        Must use the converged protocol (the derivative is that of the fixed
        point); default: converged with tolerance 1e-14.
    slope_floor : float
        Passed to :func:`rate_to_potential_derivative`: 0 gives the exact
        derivative, which is unbounded where the stimulus is ~0 (``pa2m < 1``);
        a positive floor caps the slope of ``x_hat`` there.

    Returns
    -------
    field : ndarray, shape (n, n)
        ``dv/dx`` per pixel.
    v : float
        The converged response.
    """
    relaxation = relaxation or Relaxation(protocol="converged", tolerance=1e-14)
    if relaxation.protocol != "converged":
        raise ValueError("the receptive field is defined at the fixed point: use 'converged'")
    stimulus = np.asarray(stimulus, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    w1 = np.asarray(w1, dtype=float)
    potentials = rate_to_potential(stimulus, pa2m)
    dsum = ExactDendriticSum(w1[None], potentials[None], nonlinearity)
    q = linear_drive(w0, stimulus)
    result = relax_feedforward(q, dsum, lam=lam, alpha=alpha, relaxation=relaxation)
    v = float(result.v[0, 0])
    c0, c1, _ = term_weights(lam)
    slope = nonlinearity.derivative(potentials + alpha * v)
    denominator = 1.0 - alpha * c1 * float(np.sum(w1 * slope))
    potential_slope = rate_to_potential_derivative(stimulus, pa2m, slope_floor=slope_floor)
    numerator = c0 * w0 + c1 * w1 * slope * potential_slope
    return numerator / denominator, v
