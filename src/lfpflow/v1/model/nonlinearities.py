"""Dendritic nonlinearities of the V1 model and the rate-to-potential map.

``s1``, the XOR dendrite (:class:`XorDendrite`), and ``s2``, the sigmoidal
dendrite (:class:`SigmoidDendrite`), each with the derivatives the receptive
field and the binned dendritic sums need; ``x_hat = |x| ** pa2m``
(:func:`rate_to_potential`), the membrane potential elicited by a rate ``x``.
Membrane potentials are in the model's arbitrary units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Base of the XOR peak: the lobe is centred at ``XOR_PEAK_BASE ** pa2m``.
XOR_PEAK_BASE = 0.43
#: Half-width ``s`` of the XOR lobe ``exp(-((|u| - m)/s)^2)``.
XOR_HALF_WIDTH = 0.2


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
