"""Stimuli for the V1 model: Gabor patches, gratings, sparse and dense noise.

Conventions (shared with the filters of :mod:`lfpflow.v1.model`)
-----------------------------------------------------------------
Images are square, ``n_pixels`` x ``n_pixels`` with an odd ``n_pixels``; pixel
coordinates are centred on the middle pixel with ``x`` increasing to the right
(columns) and ``y`` increasing upwards (rows run from ``+n//2`` at the top to
``-n//2`` at the bottom), as in the authors' code.

*Orientation* is the orientation of the bars, in radians, measured
anticlockwise from the horizontal: at orientation 0 the luminance varies along
``y`` (horizontal stripes). *Phase* (radians) is the phase of the sine carrier
at the centre, ``sin(2 pi f d + phase)`` with ``d`` the signed distance across
the bars, measured along the normal ``(sin(orientation), -cos(orientation))``
(the authors' sign convention, so phases mean the same as in their figures).

Gabor and grating stimuli are signed contrast images (values in
``[-amplitude, amplitude]``), as in the published simulations. Noise stimuli
use the pixel values of the authors' public code: 0 (black), 1 (grey), 2 (white).

Every generator broadcasts over its orientation / phase arguments and returns
arrays of shape ``broadcast(orientation, phase).shape + (n_pixels, n_pixels)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Pixel values of the noise stimuli.
BLACK, GREY, WHITE = 0.0, 1.0, 2.0

#: Probabilities of black, grey and white for a redrawn noise pixel: the
#: authors round ``2 U`` with ``U`` uniform on [0, 1).
NOISE_LEVEL_PROBABILITIES = (0.25, 0.5, 0.25)


def check_n_pixels(n_pixels: int) -> int:
    """Return ``n_pixels`` as int after checking it is odd and >= 3.

    Raises
    ------
    ValueError
        If the size is even or smaller than 3 (the grid needs a centre pixel).
    """
    n = int(n_pixels)
    if n != n_pixels or n < 3 or n % 2 == 0:
        raise ValueError(f"n_pixels must be an odd integer >= 3, got {n_pixels!r}")
    return n


def pixel_grid(n_pixels: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centred pixel coordinates (x right, y up).

    Parameters
    ----------
    n_pixels : int
        Image side, odd.

    Returns
    -------
    x, y : ndarray, shape (n_pixels, n_pixels)
        Column and row coordinates in pixels; ``x[r, c] = c - n//2`` and
        ``y[r, c] = n//2 - r``.
    """
    n = check_n_pixels(n_pixels)
    half = n // 2
    coords = np.arange(-half, half + 1, dtype=float)
    x, y = np.meshgrid(coords, coords[::-1], indexing="xy")
    return x, y


def _rotated(n_pixels: int, orientation: ArrayLike) -> tuple[NDArray, NDArray]:
    """Coordinates across (``d``) and along (``l``) the bars, broadcast over orientation."""
    x, y = pixel_grid(n_pixels)
    theta = np.asarray(orientation, dtype=float)[..., None, None]
    # across the bars: signed distance along the normal (sin, -cos), the sign
    # convention of the authors' code (their x_theta with theta - pi/2)
    across = x * np.sin(theta) - y * np.cos(theta)
    along = x * np.cos(theta) + y * np.sin(theta)
    return across, along


def gabor(
    n_pixels: int,
    *,
    frequency: float,
    orientation: ArrayLike = 0.0,
    phase: ArrayLike = 0.0,
    envelope_sd: float,
    aspect_ratio: float = 0.125,
    amplitude: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Gabor patch ``A exp(-d^2/(2 s^2) - l^2/(2 (s/g)^2)) sin(2 pi f d + phase)``.

    Parameters
    ----------
    n_pixels : int
        Image side (odd).
    frequency : float
        Spatial frequency of the carrier, cycles per pixel.
    orientation, phase : array_like
        Bar orientation and carrier phase, radians; broadcast together.
    envelope_sd : float
        Standard deviation of the envelope across the bars, pixels.
    aspect_ratio : float
        ``g``: the envelope along the bars has standard deviation
        ``envelope_sd / aspect_ratio`` (0.125 elongates it eightfold).
    amplitude : array_like
        Peak contrast ``A``; broadcast with orientation and phase.

    Returns
    -------
    ndarray
        Shape ``broadcast(orientation, phase, amplitude).shape + (n, n)``.
    """
    if envelope_sd <= 0 or aspect_ratio <= 0:
        raise ValueError("envelope_sd and aspect_ratio must be positive")
    across, along = _rotated(n_pixels, orientation)
    sd_along = envelope_sd / aspect_ratio
    envelope = np.exp(-0.5 * ((across / envelope_sd) ** 2 + (along / sd_along) ** 2))
    phase = np.asarray(phase, dtype=float)[..., None, None]
    amplitude = np.asarray(amplitude, dtype=float)[..., None, None]
    return amplitude * envelope * np.sin(2.0 * np.pi * frequency * across + phase)


def grating(
    n_pixels: int,
    *,
    frequency: float,
    orientation: ArrayLike = 0.0,
    phase: ArrayLike = 0.0,
    amplitude: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Full-field sinusoidal grating ``A sin(2 pi f d + phase)``.

    Same coordinates and conventions as :func:`gabor`, without the envelope.
    """
    across, _ = _rotated(n_pixels, orientation)
    phase = np.asarray(phase, dtype=float)[..., None, None]
    amplitude = np.asarray(amplitude, dtype=float)[..., None, None]
    return amplitude * np.sin(2.0 * np.pi * frequency * across + phase)


def angle_grid(step: float, start: float = -np.pi / 2, stop: float = np.pi / 2) -> NDArray:
    """Angles from ``start`` to ``stop`` inclusive in steps of ``step`` (radians).

    The number of points is rounded, so ``angle_grid(pi/18)`` has 19 points
    ending exactly at ``pi/2`` (no floating-point overshoot as with arange).
    """
    if step <= 0:
        raise ValueError(f"angular step must be positive, got {step}")
    n = int(round((stop - start) / step))
    return start + step * np.arange(n + 1)


def dense_noise(n_pixels: int, n_stimuli: int, *, rng: np.random.Generator) -> NDArray[np.float64]:
    """Dense noise: every pixel black, grey or white (probabilities 1/4, 1/2, 1/4).

    Parameters
    ----------
    n_pixels : int
        Image side (odd).
    n_stimuli : int
        Number of independent images.
    rng : numpy.random.Generator
        Source of randomness (pass a seeded generator).

    Returns
    -------
    ndarray, shape (n_stimuli, n_pixels, n_pixels)
        Values in {0, 1, 2}.
    """
    n = check_n_pixels(n_pixels)
    levels = np.array([BLACK, GREY, WHITE])
    return rng.choice(levels, size=(n_stimuli, n, n), p=NOISE_LEVEL_PROBABILITIES)


def sparse_noise(
    n_pixels: int,
    n_stimuli: int,
    *,
    fraction: float = 0.01,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Sparse noise: a grey image with a few pixels redrawn as in dense noise.

    ``round(fraction * n_pixels**2)`` distinct pixels (at least one) are
    redrawn per image from {black, grey, white} with probabilities
    (1/4, 1/2, 1/4), so about half of them end up black or white. (The
    authors' code redraws ``round(0.01 N^2) - 1`` positions drawn with
    replacement and never in the first row or column; the statistics are the
    same to within a pixel.)

    Parameters
    ----------
    n_pixels : int
        Image side (odd).
    n_stimuli : int
        Number of independent images.
    fraction : float
        Fraction of pixels redrawn, in (0, 1].
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray, shape (n_stimuli, n_pixels, n_pixels)
    """
    n = check_n_pixels(n_pixels)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"sparse-noise fraction must be in (0, 1], got {fraction}")
    n_redrawn = max(1, int(round(fraction * n * n)))
    images = np.full((n_stimuli, n * n), GREY)
    levels = np.array([BLACK, GREY, WHITE])
    for image in images:
        where = rng.choice(n * n, size=n_redrawn, replace=False)
        image[where] = rng.choice(levels, size=n_redrawn, p=NOISE_LEVEL_PROBABILITIES)
    return images.reshape(n_stimuli, n, n)


def prefilter(stimuli: ArrayLike, kernel: ArrayLike) -> NDArray[np.float64]:
    """Convolve images with a (cortical) filter: the hierarchical model's input.

    Zero-padded 2-D convolution keeping the central part, identical to
    ``scipy.signal.convolve2d(s, kernel, mode="same", boundary="fill")`` up
    to rounding (computed with FFTs).

    Parameters
    ----------
    stimuli : array_like, shape (..., n, n)
        Images.
    kernel : array_like, shape (m, m)
        Filter.

    Returns
    -------
    ndarray, shape (..., n, n)
    """
    from scipy.signal import fftconvolve

    stimuli = np.asarray(stimuli, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kernel = kernel.reshape((1,) * (stimuli.ndim - 2) + kernel.shape)
    return fftconvolve(stimuli, kernel, mode="same", axes=(-2, -1))
