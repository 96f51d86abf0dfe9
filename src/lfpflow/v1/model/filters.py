"""Filters and couplings of the V1 model: ``w0``, ``w1``, ``w2`` and the term weights.

Sizes are in pixels, frequencies in cycles per pixel (or per image), angles
in radians; the filters are L1-normalised and dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lfpflow.v1.stimuli import check_n_pixels, gabor


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
