"""Figures of the ground-truth comparison (matplotlib; every function returns a Figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure


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
    first electrode (uV). R² of each channel (raw) is printed beside it when
    ``comparison`` (comparison.json) is given.

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
    n = min(np.shape(truth["LFP"])[1], np.shape(predicted["LFP"])[1])
    start = max(0, int(round(window_ms[0] / dt_ms)))
    stop = min(n, max(start + 2, int(round(window_ms[1] / dt_ms))))
    t = np.arange(start, stop) * dt_ms
    fig = Figure(figsize=(11, 7), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.3, 1])
    ax = fig.add_subplot(grid[:, 0])
    z = np.asarray(truth["z_um"])
    lfp_t = np.asarray(truth["LFP"])[:, start:stop]
    lfp_p = np.asarray(predicted["LFP"])[:, start:stop]
    lfp_t = lfp_t - lfp_t.mean(axis=1, keepdims=True)
    lfp_p = lfp_p - lfp_p.mean(axis=1, keepdims=True)
    spacing = np.min(np.abs(np.diff(z))) if z.size > 1 else 100.0
    scale = np.abs(lfp_t).max() or 1.0
    for i, depth in enumerate(z):
        ax.plot(
            t,
            depth + lfp_t[i] / scale * spacing * 0.9,
            color="k",
            lw=0.8,
            label="MC ground truth" if i == 0 else None,
        )
        ax.plot(
            t,
            depth + lfp_p[i] / scale * spacing * 0.9,
            color="tab:red",
            lw=0.8,
            label="kernel prediction" if i == 0 else None,
        )
        if comparison is not None:
            ax.text(t[-1], depth, f" R²={comparison['LFP']['r2'][i]:.2f}", fontsize=7, va="center")
    ax.set_xlabel("t (ms)")
    ax.set_ylabel("contact depth (um)")
    ax.set_title(f"LFP (mean removed; scale bar: {scale:.3g} mV = {0.9 * spacing:.0f} um)")
    ax.legend(loc="upper left", fontsize=8)
    for row, (name, data_t, data_p, unit) in enumerate(
        [
            ("CDM z", np.asarray(truth["CDM"])[2], np.asarray(predicted["CDM"])[2], "nA um"),
            (
                "EEG, first electrode",
                np.asarray(truth["EEG"])[0],
                np.asarray(predicted["EEG"])[0],
                "uV",
            ),
        ]
    ):
        axis = fig.add_subplot(grid[row, 1])
        axis.plot(t, data_t[start:stop] - data_t[start:stop].mean(), color="k", lw=0.8)
        axis.plot(t, data_p[start:stop] - data_p[start:stop].mean(), color="tab:red", lw=0.8)
        title = name
        if comparison is not None:
            key = "CDM_z" if row == 0 else "EEG"
            title += f" (R² = {comparison[key]['r2'][0]:.2f})"
        axis.set_title(title)
        axis.set_ylabel(f"{unit} (mean removed)")
        axis.set_xlabel("t (ms)")
    return fig


def r2_depth_figure(comparison: Mapping[str, Any], z_um: Sequence[float]) -> Figure:
    """R² and std ratio of the LFP per contact depth, raw and filtered.

    Parameters
    ----------
    comparison : Mapping
        Contents of groundtruth/comparison.json.
    z_um : sequence of float
        Contact depths (um).
    """
    z = np.asarray(z_um, dtype=float)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax_r2, ax_std = fig.subplots(1, 2, sharey=True)
    lfp = comparison["LFP"]
    for data, style, label in ((lfp, "o-", "raw"), (lfp["filtered"], "s--", "low-pass")):
        ax_r2.plot(data["r2"], z, style, label=label)
        ax_std.plot(data["std_ratio"], z, style, label=label)
    for name, part in comparison.get("populations", {}).items():
        ax_r2.plot(part["LFP"]["r2"], z, ":", label=f"{name} cells (raw)")
    target = comparison.get("targets", {})
    if "median_r2_LFP" in target:
        ax_r2.axvline(target["median_r2_LFP"], color="grey", lw=0.8)
    for key in ("std_ratio_min", "std_ratio_max"):
        if key in target:
            ax_std.axvline(target[key], color="grey", lw=0.8)
    ax_std.axvline(1.0, color="k", lw=0.5)
    ax_r2.set_xlim(0, 1)
    ax_r2.set_xlabel("R² (prediction vs MC)")
    ax_std.set_xlabel("std(prediction) / std(MC)")
    ax_r2.set_ylabel("contact depth (um)")
    cdm = comparison["CDM_z"]
    ax_r2.set_title(
        f"LFP median R² {lfp['median_r2']:.2f} (filtered {lfp['filtered']['median_r2']:.2f}); "
        f"CDM_z {cdm['r2'][0]:.2f}",
        fontsize=9,
    )
    ax_r2.legend(fontsize=7)
    return fig
