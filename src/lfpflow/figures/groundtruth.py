"""Figures of the ground-truth comparison (matplotlib; every function returns a Figure).

"R²" in the figures is the coefficient of determination ``1 - SS_res / SS_tot``
of comparison.json's ``r2`` (signal means removed, no fitted scale; negative
when the prediction is worse than none, e.g. of the wrong sign), not the
squared correlation (lfpflow.signals.comparison).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Single-channel panels beside the LFP: title, signal, row of it shown (None:
#: the channel of largest ground-truth variance, for the EEG the electrode
#: nearest the column), unit, key of its scores in comparison.json.
_CHANNEL_PANELS = (
    ("CDM z", "CDM", 2, "nA um", "CDM_z"),
    ("EEG", "EEG", None, "uV", "EEG"),
)

#: Fraction of the contact spacing taken by the largest ground-truth deflection,
#: so neighbouring LFP traces do not overlap.
_TRACE_FILL = 0.9


def overlay_figure(
    truth: Mapping[str, Any],
    predicted: Mapping[str, Any],
    *,
    window_ms: Sequence[float],
    dt_ms: float,
    comparison: Mapping[str, Any] | None = None,
) -> Figure:
    """Ground truth (black) and kernel prediction (red) per channel.

    Left: LFP per contact (mV, each trace offset by its depth, scaled to the
    largest ground-truth deflection); right: CDM z (nA*um) and EEG at the
    electrode of largest ground-truth variance (uV; above a radial column).
    The coefficient of determination R² and the correlation r of each
    channel (raw) are printed beside it when ``comparison`` (comparison.json)
    is given.

    Parameters
    ----------
    truth, predicted : Mapping
        Contents of groundtruth/signals.h5 and groundtruth/predicted.h5
        (``LFP``, ``CDM``, ``EEG``, ``z_um``).
    window_ms : sequence of float
        Start and end (ms) of the part shown.
    dt_ms : float
        Sampling interval (ms).
    """
    # the two LFPs may differ in length by a few samples; show what both have
    n = min(np.shape(truth["LFP"])[1], np.shape(predicted["LFP"])[1])
    start, stop = _sample_range(window_ms, dt_ms, n)
    t = np.arange(start, stop) * dt_ms
    fig = Figure(figsize=(11, 7), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.3, 1])
    _plot_lfp_overlay(
        fig.add_subplot(grid[:, 0]),
        t,
        np.asarray(truth["LFP"])[:, start:stop],
        np.asarray(predicted["LFP"])[:, start:stop],
        np.asarray(truth["z_um"]),
        scores=None if comparison is None else _scores(comparison["LFP"]),
    )
    for row, (name, signal, channel, unit, key) in enumerate(_CHANNEL_PANELS):
        values = np.asarray(truth[signal])
        if channel is None:
            channel = int(np.argmax(values.std(axis=1)))
            name = f"{name}, {_channel_name(truth, signal, channel)}"
        _plot_channel_overlay(
            fig.add_subplot(grid[row, 1]),
            t,
            values[channel][start:stop],
            np.asarray(predicted[signal])[channel][start:stop],
            title=name,
            unit=unit,
            # CDM_z is compared as one channel; the EEG channel by channel
            scores=None
            if comparison is None
            else _scores(comparison[key])[channel if key == "EEG" else 0],
        )
    return fig


def _channel_name(signals: Mapping[str, Any], signal: str, channel: int) -> str:
    """Electrode name of an EEG channel from signals.h5's attributes, else its index."""
    names = signals.get("attrs", {}).get("eeg_electrode_names") if signal == "EEG" else None
    if names is None:
        return f"channel {channel}"
    return str(json.loads(names)[channel])


def _scores(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(coefficient of determination, signed correlation) per channel of one signal.

    Parameters
    ----------
    result : Mapping
        One signal's entry of comparison.json (``r2``, ``correlation``).
    """
    return list(zip(result["r2"], result["correlation"], strict=True))


def _sample_range(window_ms: Sequence[float], dt_ms: float, n_samples: int) -> tuple[int, int]:
    """Sample indices ``[start, stop)`` of a time window, clipped to the signal.

    Parameters
    ----------
    window_ms : sequence of float
        Start and end of the window (ms).
    dt_ms : float
        Sampling interval (ms).
    n_samples : int
        Length of the signal.

    Returns
    -------
    tuple of int
        ``start >= 0`` and ``stop <= n_samples``; at least two samples when the
        signal has them, so a line can be drawn.
    """
    # a window beyond the end of the signal shows its last samples, not nothing
    start = min(max(0, int(round(window_ms[0] / dt_ms))), max(0, n_samples - 2))
    stop = min(n_samples, max(start + 2, int(round(window_ms[1] / dt_ms))))
    return start, stop


def _plot_lfp_overlay(
    ax: Axes,
    t: np.ndarray,
    lfp_truth: np.ndarray,
    lfp_predicted: np.ndarray,
    z: np.ndarray,
    *,
    scores: Sequence[tuple[float, float]] | None,
) -> None:
    """LFP of every contact, ground truth and prediction, each offset by its depth.

    Both are scaled by the same factor, so that the largest ground-truth
    deflection takes :data:`_TRACE_FILL` of the contact spacing; their
    amplitudes stay comparable.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    t : numpy.ndarray
        Times of the samples (ms).
    lfp_truth, lfp_predicted : numpy.ndarray
        LFP (mV), contacts x samples, over ``t``.
    z : numpy.ndarray
        Contact depths (um).
    scores : sequence of (float, float), optional
        Coefficient of determination R² and correlation r of each contact,
        printed at the end of its traces.
    """
    # the mean is removed: the offsets must not hide the waveforms
    lfp_truth = lfp_truth - lfp_truth.mean(axis=1, keepdims=True)
    lfp_predicted = lfp_predicted - lfp_predicted.mean(axis=1, keepdims=True)
    spacing = np.min(np.abs(np.diff(z))) if z.size > 1 else 100.0
    scale = np.abs(lfp_truth).max() or 1.0  # a flat ground truth is drawn unscaled
    for i, depth in enumerate(z):
        ax.plot(
            t,
            depth + lfp_truth[i] / scale * spacing * _TRACE_FILL,
            color="k",
            lw=0.8,
            label="MC ground truth" if i == 0 else None,
        )
        ax.plot(
            t,
            depth + lfp_predicted[i] / scale * spacing * _TRACE_FILL,
            color="tab:red",
            lw=0.8,
            label="kernel prediction" if i == 0 else None,
        )
        if scores is not None:
            r2, r = scores[i]
            ax.text(t[-1], depth, f" R²={r2:.2f}\n r={r:+.2f}", fontsize=6, va="center")
    ax.set_xlabel("t (ms)")
    ax.set_ylabel("contact depth (um)")
    ax.set_title(f"LFP (mean removed; scale bar: {scale:.3g} mV = {_TRACE_FILL * spacing:.0f} um)")
    ax.legend(loc="upper left", fontsize=8)


def _plot_channel_overlay(
    ax: Axes,
    t: np.ndarray,
    truth: np.ndarray,
    predicted: np.ndarray,
    *,
    title: str,
    unit: str,
    scores: tuple[float, float] | None,
) -> None:
    """One channel, ground truth and prediction, each with its mean removed.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    t : numpy.ndarray
        Times of the samples (ms).
    truth, predicted : numpy.ndarray
        The channel over ``t``, in ``unit``.
    title : str
        Name of the channel.
    unit : str
        Unit of the channel (e.g. ``nA um`` for the CDM, ``uV`` for the EEG).
    scores : (float, float), optional
        Coefficient of determination R² and correlation r of the prediction,
        added to the title.
    """
    ax.plot(t, truth - truth.mean(), color="k", lw=0.8)
    ax.plot(t, predicted - predicted.mean(), color="tab:red", lw=0.8)
    if scores is not None:
        title = f"{title} (R² = {scores[0]:.2f}, r = {scores[1]:+.2f})"
    ax.set_title(title)
    ax.set_ylabel(f"{unit} (mean removed)")
    ax.set_xlabel("t (ms)")


def r2_depth_figure(comparison: Mapping[str, Any], z_um: Sequence[float]) -> Figure:
    """Coefficient of determination, correlation and std ratio of the LFP per contact depth.

    Raw and low-pass filtered, and (raw R²) per postsynaptic population. The
    R² axis is the coefficient of determination, clipped at -1 (values below
    are drawn at the edge); the correlation panel shows the sign, which the
    std ratio does not.

    Parameters
    ----------
    comparison : Mapping
        Contents of groundtruth/comparison.json.
    z_um : sequence of float
        Contact depths (um).
    """
    z = np.asarray(z_um, dtype=float)
    fig = Figure(figsize=(11, 5), layout="constrained")
    ax_r2, ax_r, ax_std = fig.subplots(1, 3, sharey=True)
    lfp = comparison["LFP"]
    for data, style, label in ((lfp, "o-", "raw"), (lfp["filtered"], "s--", "low-pass")):
        ax_r2.plot(np.maximum(data["r2"], -1.0), z, style, label=label)
        ax_r.plot(data["correlation"], z, style, label=label)
        ax_std.plot(data["std_ratio"], z, style, label=label)
    for name, part in comparison.get("populations", {}).items():
        ax_r2.plot(np.maximum(part["LFP"]["r2"], -1.0), z, ":", label=f"{name} cells (raw)")
    target = comparison.get("targets", {})
    if "median_r2_LFP" in target:
        ax_r2.axvline(target["median_r2_LFP"], color="grey", lw=0.8)
    for key in ("std_ratio_min", "std_ratio_max"):
        if key in target:
            ax_std.axvline(target[key], color="grey", lw=0.8)
    for ax in (ax_r2, ax_r):
        ax.axvline(0.0, color="k", lw=0.5)
    ax_std.axvline(1.0, color="k", lw=0.5)
    ax_r2.set_xlim(-1.05, 1)
    ax_r.set_xlim(-1.05, 1.05)
    ax_r2.set_xlabel("R² = 1 - SS_res/SS_tot (coefficient of determination)")
    ax_r.set_xlabel("correlation r (signed)")
    ax_std.set_xlabel("std(prediction) / std(MC) (sign-blind)")
    ax_r2.set_ylabel("contact depth (um)")
    cdm = comparison["CDM_z"]
    fig.suptitle(
        f"LFP median R² {lfp['median_r2']:.2f} (filtered {lfp['filtered']['median_r2']:.2f}), "
        f"median r {lfp['median_correlation']:+.2f}; CDM_z R² {cdm['r2'][0]:.2f}, "
        f"r {cdm['correlation'][0]:+.2f} (R² is the coefficient of determination)",
        fontsize=9,
    )
    ax_r2.legend(fontsize=7)
    return fig
