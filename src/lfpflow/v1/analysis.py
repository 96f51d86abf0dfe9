"""Measures on V1 model responses: modulation depth, tuning width, simpleness.

All functions take membrane potentials (or rectified responses) as numpy
arrays and are vectorised over leading axes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def rectify(v: ArrayLike) -> NDArray:
    """Firing-rate proxy ``max(v, 0)`` (the ReLU of the published analyses)."""
    return np.maximum(np.asarray(v, dtype=float), 0.0)


def modulation_depth(v: ArrayLike, *, axis: int = -1, exponent: float = 1.0) -> NDArray:
    """``(max - min) / max`` of the rectified response along ``axis``.

    Parameters
    ----------
    v : array_like
        Membrane potentials, e.g. over stimulus phase.
    axis : int
        Axis along which the response is modulated (phase).
    exponent : float
        The response is ``max(v, 0) ** exponent`` (1 in most of the paper;
        0.5 for the potential-to-rate conversion of the contrast experiment).

    Returns
    -------
    ndarray
        0 for a phase-invariant (complex) response, 1 when the response
        vanishes at some phase (simple); NaN where the maximum is 0.
    """
    response = rectify(v) ** exponent
    peak = response.max(axis=axis)
    trough = response.min(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(peak > 0, (peak - trough) / np.where(peak > 0, peak, 1.0), np.nan)


def half_width_at_half_maximum(angles: ArrayLike, curve: ArrayLike) -> NDArray:
    """Half-width at half maximum of tuning curves, linear interpolation.

    From the peak, the curve is followed to each side until it falls below
    half of the peak (rectified curve, baseline 0); the crossing is
    interpolated linearly and the two half-widths are averaged. A side that
    never falls below half maximum within the sampled range counts as the
    distance to the end of the range (a lower bound).

    Parameters
    ----------
    angles : array_like, shape (n,)
        Increasing stimulus orientations (any angular unit).
    curve : array_like, shape (..., n)
        Responses; rectified before use.

    Returns
    -------
    ndarray, shape (...)
        HWHM in the unit of ``angles``; NaN for an all-zero curve.
    """
    angles = np.asarray(angles, dtype=float)
    curves = rectify(curve)
    flat = curves.reshape(-1, curves.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for row, values in enumerate(flat):
        peak_index = int(np.argmax(values))
        peak = values[peak_index]
        if peak <= 0:
            continue
        half = 0.5 * peak
        widths = []
        for direction in (-1, 1):
            i = peak_index
            width = abs(angles[-1 if direction > 0 else 0] - angles[peak_index])
            while 0 <= i + direction < values.size:
                j = i + direction
                if values[j] < half:
                    fraction = (values[i] - half) / (values[i] - values[j])
                    width = abs(angles[i] + fraction * (angles[j] - angles[i]) - angles[peak_index])
                    break
                i = j
            widths.append(width)
        out[row] = 0.5 * (widths[0] + widths[1])
    return out.reshape(curves.shape[:-1])


def simpleness_index(linear: ArrayLike, dendritic: ArrayLike, lam: ArrayLike) -> NDArray:
    """Simpleness index ``SI = |c0 Q| / (|c0 Q| + |c1 R|)``.

    Parameters
    ----------
    linear, dendritic : array_like
        ``Q`` and ``R`` of the two-term model.
    lam : array_like
        ``lambda`` (``c0 = 1/(1+|lambda|)``, ``c1 = lambda c0``), broadcast.

    Returns
    -------
    ndarray
        1 for a purely linear (simple) response, 0 for a purely XOR
        (complex) one; NaN where both terms vanish.
    """
    lam = np.asarray(lam, dtype=float)
    c0 = 1.0 / (1.0 + np.abs(lam))
    linear_part = np.abs(c0 * np.asarray(linear, dtype=float))
    xor_part = np.abs(lam * c0 * np.asarray(dendritic, dtype=float))
    total = linear_part + xor_part
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, linear_part / np.where(total > 0, total, 1.0), np.nan)


def fournier_curve(x: ArrayLike, k: float) -> NDArray:
    """Fournier et al. (2011) relation ``SI_dense = x / (x + (1/k)^2 (1 - x))``."""
    x = np.asarray(x, dtype=float)
    return x / (x + (1.0 / k) ** 2 * (1.0 - x))


def fit_fournier_k(si_sparse: ArrayLike, si_dense: ArrayLike) -> tuple[float, float]:
    """Least-squares ``k`` of :func:`fournier_curve` through (SI_sparse, SI_dense) points.

    Returns
    -------
    k : float
        Best-fitting ``k`` (positive).
    k_sd : float
        Its standard error from the fit's covariance.
    """
    from scipy.optimize import curve_fit

    x = np.asarray(si_sparse, dtype=float)
    y = np.asarray(si_dense, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        raise ValueError("need at least two finite (SI_sparse, SI_dense) points to fit k")
    popt, pcov = curve_fit(fournier_curve, x[keep], y[keep], p0=[2.0], bounds=(1e-6, np.inf))
    return float(popt[0]), float(np.sqrt(pcov[0, 0]))


def read_table(path: str | os.PathLike) -> dict[str, NDArray]:
    """Read a comma-separated table with ``#`` comment lines and a header row.

    Returns
    -------
    dict
        Column name -> float array.

    Raises
    ------
    ValueError
        If the file has no header, or a row has the wrong number of fields.
    """
    lines = [
        line.strip()
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError(f"{path}: no header row")
    names = [name.strip() for name in lines[0].split(",")]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if len(fields) != len(names):
            raise ValueError(
                f"{path}: data row {number} has {len(fields)} fields, not {len(names)}"
            )
        rows.append([float(field) for field in fields])
    table = np.array(rows, dtype=float).reshape(-1, len(names))
    return {name: table[:, i].copy() for i, name in enumerate(names)}


def mean_squared_error(a: ArrayLike, b: ArrayLike, *, axis: Any = None) -> NDArray:
    """Mean of ``(a - b)^2`` over ``axis``."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return np.mean(diff * diff, axis=axis)
