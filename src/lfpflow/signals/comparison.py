"""Comparing a predicted signal with a ground truth: R², std ratio, filtering, quantiles.

Pure numpy/scipy. Signals are arrays ``channels x time`` (a 1-D array is one
channel). For each channel

* ``r2``: the squared Pearson correlation coefficient between ground truth
  and prediction over time (scale- and offset-free: it measures the shape);
* ``std_ratio``: ``std(prediction) / std(ground truth)`` (the amplitude).

Both are computed on the raw signals and on low-pass filtered ones
(Butterworth, applied forward and backward, so without phase shift), after
the start-up transient; the filter runs over the whole signal before the
transient is cut, so its edge effects fall in the transient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: Quantiles reported over channels.
QUANTILES = (0.1, 0.5, 0.9)


def _as_2d(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[np.newaxis]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (channels x time), got shape {x.shape}")
    return x


def r_squared(truth: Any, prediction: Any) -> np.ndarray:
    """Squared Pearson correlation per channel.

    Parameters
    ----------
    truth, prediction : array_like
        Channels x time (or 1-D), same shape, any units (the same for both).

    Returns
    -------
    ndarray
        One value in [0, 1] per channel; NaN where either signal is constant.
    """
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    if x.shape[1] < 2:
        raise ValueError("need at least two time points")
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    syy = np.einsum("ij,ij->i", yc, yc)
    sxy = np.einsum("ij,ij->i", xc, yc)
    denominator = sxx * syy
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(denominator > 0, sxy**2 / np.where(denominator > 0, denominator, 1), np.nan)
    return np.clip(r2, 0.0, 1.0)


def std_ratio(truth: Any, prediction: Any) -> np.ndarray:
    """``std(prediction) / std(truth)`` per channel (NaN where the truth is constant)."""
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    sx, sy = x.std(axis=1), y.std(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sx > 0, sy / np.where(sx > 0, sx, 1), np.nan)


def lowpass(x: Any, *, cutoff_Hz: float, dt_ms: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass filter along the last axis.

    Parameters
    ----------
    x : array_like
        Signal(s), time along the last axis, sampled every ``dt_ms``.
    cutoff_Hz : float
        Cut-off frequency (Hz), below the Nyquist frequency ``500 / dt_ms``.
    dt_ms : float
        Sampling interval (ms).
    order : int
        Filter order (the response is squared by the forward-backward pass).

    Returns
    -------
    ndarray
        Filtered signal, same shape.
    """
    from scipy.signal import butter, sosfiltfilt

    fs_Hz = 1000.0 / float(dt_ms)
    if not 0 < cutoff_Hz < fs_Hz / 2:
        raise ValueError(f"cutoff_Hz ({cutoff_Hz}) must lie in (0, {fs_Hz / 2}) Hz")
    sos = butter(int(order), float(cutoff_Hz), btype="low", fs=fs_Hz, output="sos")
    return sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=-1)


def summarise(values: Any) -> dict[str, float]:
    """Median and 10 / 90 % quantiles over channels (NaNs ignored)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"median": float("nan"), "q10": float("nan"), "q90": float("nan")}
    q10, median, q90 = np.quantile(finite, QUANTILES)
    return {"median": float(median), "q10": float(q10), "q90": float(q90)}


def compare_channels(truth: Any, prediction: Any) -> dict[str, Any]:
    """R² and std ratio per channel, with their median and 10 / 90 % quantiles.

    Returns
    -------
    dict
        ``r2``, ``std_ratio`` (lists, one value per channel), ``median_r2``,
        ``q10_r2``, ``q90_r2``, ``median_std_ratio``, ``q10_std_ratio``,
        ``q90_std_ratio``.
    """
    r2 = r_squared(truth, prediction)
    ratio = std_ratio(truth, prediction)
    out: dict[str, Any] = {"r2": r2.tolist(), "std_ratio": ratio.tolist()}
    for name, values in (("r2", r2), ("std_ratio", ratio)):
        for stat, value in summarise(values).items():
            out[f"{stat}_{name}"] = value
    return out


def compare_signal(
    truth: Any,
    prediction: Any,
    *,
    dt_ms: float,
    transient_ms: float,
    cutoff_Hz: float,
    order: int = 4,
) -> dict[str, Any]:
    """:func:`compare_channels` on raw and on low-pass filtered signals after the transient.

    Parameters
    ----------
    truth, prediction : array_like
        Channels x time (or 1-D), sampled every ``dt_ms`` from t = 0.
    dt_ms, transient_ms : float
        Sampling interval and the start-up period left out (ms).
    cutoff_Hz, order : float, int
        Low-pass filter of the ``filtered`` comparison.

    Returns
    -------
    dict
        :func:`compare_channels` of the raw signals, plus ``filtered``: the same
        for the filtered ones.
    """
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    first = int(round(transient_ms / dt_ms))
    if first >= x.shape[1] - 1:
        raise ValueError(f"transient_ms ({transient_ms}) leaves fewer than two samples")
    result = compare_channels(x[:, first:], y[:, first:])
    xf = lowpass(x, cutoff_Hz=cutoff_Hz, dt_ms=dt_ms, order=order)[:, first:]
    yf = lowpass(y, cutoff_Hz=cutoff_Hz, dt_ms=dt_ms, order=order)[:, first:]
    result["filtered"] = compare_channels(xf, yf)
    return result


def compare_all(
    truth: Mapping[str, Any],
    prediction: Mapping[str, Any],
    *,
    dt_ms: float,
    transient_ms: float,
    cutoff_Hz: float,
    order: int = 4,
) -> dict[str, Any]:
    """Compare ``LFP``, ``CDM_z`` (row 2 of ``CDM``) and ``EEG`` of two signal sets.

    Parameters
    ----------
    truth, prediction : Mapping
        ``LFP`` (channels x time), ``CDM`` (3 x time), ``EEG`` (electrodes x
        time); the same number of samples in both.

    Returns
    -------
    dict
        ``{"LFP": ..., "CDM_z": ..., "EEG": ...}``, each :func:`compare_signal`.
    """
    pairs = {
        "LFP": (truth["LFP"], prediction["LFP"]),
        "CDM_z": (np.asarray(truth["CDM"])[2], np.asarray(prediction["CDM"])[2]),
        "EEG": (truth["EEG"], prediction["EEG"]),
    }
    return {
        name: compare_signal(
            a, b, dt_ms=dt_ms, transient_ms=transient_ms, cutoff_Hz=cutoff_Hz, order=order
        )
        for name, (a, b) in pairs.items()
    }


def meets_targets(result: Mapping[str, Any], targets: Mapping[str, float]) -> dict[str, bool]:
    """Whether the raw comparison reaches the ``groundtruth.targets``.

    Returns
    -------
    dict
        ``median_r2_LFP``, ``median_r2_CDM_z`` and ``std_ratio`` (median std
        ratios of LFP and CDM_z within ``[std_ratio_min, std_ratio_max]``).
    """
    low, high = targets["std_ratio_min"], targets["std_ratio_max"]
    return {
        "median_r2_LFP": bool(result["LFP"]["median_r2"] >= targets["median_r2_LFP"]),
        "median_r2_CDM_z": bool(result["CDM_z"]["median_r2"] >= targets["median_r2_CDM_z"]),
        "std_ratio": bool(
            all(low <= result[s]["median_std_ratio"] <= high for s in ("LFP", "CDM_z"))
        ),
    }
