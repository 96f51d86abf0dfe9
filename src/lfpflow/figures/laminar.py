"""Laminar figures of a layered circuit: what a user of a cortical column looks at.

* :func:`lfp_csd_figure`: the LFP and the CSD over depth and time (images),
  with each population's mean soma depth marked;
* :func:`population_activity_figure`: spike raster and rate of every population,
  stacked in declaration order (layer by layer for the microcircuit);
* :func:`contribution_figure`: which presynaptic population generates the LFP
  at each depth: the sd over time of the summed contributions of each
  presynaptic population ``X`` (all its pathways ``Y:X``) per contact;
* :func:`spectra_by_depth_figure`: Welch LFP power per contact, as an image
  (depth x frequency) and as curves.

:func:`laminar_figures` builds them from a run's files (rule
``laminar_figures`` of ``workflow/rules/analysis.smk``). Depth is the contact
``z`` (um, positive towards the pial surface; the microcircuit puts the
surface at 0, depths negative). Units: LFP mV, CSD nA/um^3 (shown in
uA/mm^3), rates Hz, PSD mV^2/Hz.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from lfpflow.signals import analysis

#: Names (PNG stems) of the figures :func:`laminar_figures` returns.
LAMINAR_FIGURES = ("lfp_csd", "population_activity", "lfp_contributions", "lfp_spectra")

#: nA/um^3 -> uA/mm^3 (1 nA/um^3 = 1e-3 uA / 1e-9 mm^3)
_CSD_TO_UA_PER_MM3 = 1e6


def _window(t_ms: np.ndarray, window_ms: Sequence[float]) -> np.ndarray:
    start, stop = window_ms
    return (t_ms >= start) & (t_ms < stop)


def _depth_image(
    ax: Any, t_ms: np.ndarray, z_um: np.ndarray, values: np.ndarray, label: str, cmap: str
) -> None:
    """Image of ``values`` (contacts x time) on a symmetric colour scale, contacts at depth."""
    order = np.argsort(z_um)[::-1]  # top contact first
    z_sorted = z_um[order]
    step = abs(z_sorted[0] - z_sorted[-1]) / max(len(z_sorted) - 1, 1) or 1.0
    limit = float(np.abs(values).max()) or 1.0
    image = ax.imshow(
        values[order],
        aspect="auto",
        cmap=cmap,
        vmin=-limit,
        vmax=limit,
        extent=(t_ms[0], t_ms[-1], z_sorted[-1] - step / 2, z_sorted[0] + step / 2),
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_ylabel("z (um)")


def _mark_somata(ax: Any, soma_depths_um: Mapping[str, float]) -> None:
    """Dashed line and label at each population's mean soma depth."""
    for name, depth in soma_depths_um.items():
        ax.axhline(depth, color="k", lw=0.5, ls=":")
        ax.text(1.0, depth, f" {name}", transform=ax.get_yaxis_transform(), fontsize=7,
                va="center")  # fmt: skip


def lfp_csd_figure(
    t_ms: np.ndarray,
    lfp_mV: np.ndarray,
    z_um: np.ndarray,
    *,
    csd: np.ndarray | None,
    window_ms: Sequence[float],
    soma_depths_um: Mapping[str, float],
) -> Figure:
    """LFP (mV) and, if given, CSD (nA/um^3) over depth and time in a window.

    Parameters
    ----------
    t_ms : ndarray
        Sample times (ms).
    lfp_mV, csd : ndarray
        Contacts x samples.
    z_um : ndarray
        Contact depths (um).
    window_ms : (float, float)
        Time window shown (ms).
    soma_depths_um : Mapping
        Population -> mean soma depth (um), marked on both panels.
    """
    shown = _window(t_ms, window_ms)
    panels = [("LFP", lfp_mV, "LFP (mV)", "RdBu_r")]
    if csd is not None:
        panels.append(("CSD", csd * _CSD_TO_UA_PER_MM3, "CSD (uA/mm³)", "PuOr_r"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.6 * len(panels)), squeeze=False)
    for ax, (title, values, label, cmap) in zip(axes[:, 0], panels, strict=True):
        _depth_image(ax, t_ms[shown], z_um, values[:, shown], label, cmap)
        _mark_somata(ax, soma_depths_um)
        ax.set_title(f"{title} across depth")
    axes[-1, 0].set_xlabel("t (ms)")
    fig.tight_layout()
    return fig


def _rate_Hz(
    t_ms: np.ndarray, counts: np.ndarray, size: int, bin_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """Population rate (Hz per neuron) in bins of about ``bin_ms``."""
    dt_ms = float(t_ms[1] - t_ms[0])
    per_bin = max(1, int(round(bin_ms / dt_ms)))
    n_bins = counts.size // per_bin
    coarse = counts[: n_bins * per_bin].reshape(n_bins, per_bin).sum(axis=1)
    t_coarse = t_ms[: n_bins * per_bin].reshape(n_bins, per_bin)[:, 0]
    return t_coarse, coarse / size / (per_bin * dt_ms * 1e-3)


def population_activity_figure(
    spikes: Any,
    t_ms: np.ndarray,
    counts: Mapping[str, np.ndarray],
    *,
    window_ms: Sequence[float],
    max_neurons: int = 200,
) -> Figure:
    """Raster (at most ``max_neurons`` per population) and rate of every population.

    Populations are stacked top to bottom in declaration order, each in its
    own band of the raster, with its rate (1 ms bins, Hz per neuron) to the
    right.
    """
    names = list(spikes.population_sizes)
    fig = plt.figure(figsize=(11, 1.0 + 0.9 * len(names)))
    grid = fig.add_gridspec(len(names), 2, width_ratios=[3, 2], hspace=0.1)
    colours = plt.cm.tab10(np.arange(len(names)) % 10)
    for row, name in enumerate(names):
        ax_raster = fig.add_subplot(grid[row, 0])
        ax_rate = fig.add_subplot(grid[row, 1])
        size = int(spikes.population_sizes[name])
        times, senders = spikes.times_ms[name], spikes.senders[name]
        shown = _window(times, window_ms) & (senders < max_neurons)
        ax_raster.plot(times[shown], senders[shown], "|", ms=2, color=colours[row])
        ax_raster.set_xlim(*window_ms)
        ax_raster.set_ylim(-0.5, min(size, max_neurons) - 0.5)
        ax_raster.set_yticks([])
        ax_raster.set_ylabel(name, rotation=0, ha="right", va="center")
        t_rate, rate = _rate_Hz(t_ms, counts[name], size, 1.0)
        keep = _window(t_rate, window_ms)
        ax_rate.plot(t_rate[keep], rate[keep], color=colours[row], lw=0.8)
        ax_rate.set_xlim(*window_ms)
        mean = float(rate[t_rate >= window_ms[0]].mean()) if rate.size else 0.0
        ax_rate.text(0.99, 0.85, f"{mean:.2f} Hz", transform=ax_rate.transAxes, ha="right",
                     fontsize=7)  # fmt: skip
        for ax in (ax_raster, ax_rate):
            if row < len(names) - 1:
                ax.set_xticklabels([])
            else:
                ax.set_xlabel("t (ms)")
    fig.axes[0].set_title(f"spikes (first {max_neurons} neurons)")
    fig.axes[1].set_title("rate (Hz per neuron, 1 ms bins)")
    return fig


def presynaptic_contributions(
    contributions: Mapping[str, Mapping[str, np.ndarray]], measure: str = "LFP"
) -> dict[str, np.ndarray]:
    """Sum of the pathway contributions ``post_pre`` by presynaptic population.

    Parameters
    ----------
    contributions : Mapping
        ``"<post>_<pre>"`` -> {measure: contacts x samples} (``signals.h5``).
    measure : str
        ``LFP`` or ``CSD``.

    Returns
    -------
    dict
        Presynaptic population -> contacts x samples, in first-seen order.
    """
    summed: dict[str, np.ndarray] = {}
    for key, part in contributions.items():
        pre = key.split("_", 1)[1]
        summed[pre] = summed.get(pre, 0) + np.asarray(part[measure], dtype=float)
    return summed


def contribution_figure(
    t_ms: np.ndarray,
    lfp_mV: np.ndarray,
    z_um: np.ndarray,
    contributions: Mapping[str, Mapping[str, np.ndarray]],
    *,
    t_start_ms: float,
    soma_depths_um: Mapping[str, float],
) -> Figure:
    """Sd over time (after ``t_start_ms``) of each presynaptic population's LFP, per depth.

    The left panel draws the sd profile of every presynaptic population and
    of the whole LFP; the right panel the share of each population's variance
    in the sum of their variances, per contact (the populations' parts are
    correlated, so the whole LFP's variance differs from that sum).
    """
    after = t_ms >= t_start_ms
    parts = presynaptic_contributions(contributions)
    sd = {pre: values[:, after].std(axis=1) for pre, values in parts.items()}
    fig, (ax_sd, ax_share) = plt.subplots(1, 2, figsize=(11, 5.5), sharey=True)
    colours = plt.cm.tab10(np.arange(len(sd)) % 10)
    for colour, (pre, profile) in zip(colours, sd.items(), strict=True):
        ax_sd.plot(profile * 1e3, z_um, "o-", ms=3, color=colour, label=pre)
    ax_sd.plot(lfp_mV[:, after].std(axis=1) * 1e3, z_um, "k--", lw=1.5, label="LFP")
    ax_sd.set_xlabel("sd of the LFP (uV)")
    ax_sd.set_ylabel("z (um)")
    ax_sd.legend(fontsize=7, title="presynaptic")
    ax_sd.set_title("LFP by presynaptic population")
    variance = np.array([profile**2 for profile in sd.values()])
    share = variance / np.where(variance.sum(axis=0) > 0, variance.sum(axis=0), 1.0)
    left = np.zeros(z_um.size)
    height = abs(float(np.diff(np.sort(z_um)).min())) * 0.8 if z_um.size > 1 else 50.0
    for colour, (pre, row) in zip(colours, zip(sd, share, strict=True), strict=True):
        ax_share.barh(z_um, row, left=left, height=height, color=colour, label=pre)
        left += row
    ax_share.set_xlim(0, 1)
    ax_share.set_xlabel("share of the summed variance")
    ax_share.set_title("share per depth")
    _mark_somata(ax_share, soma_depths_um)
    fig.tight_layout()
    return fig


def spectra_by_depth_figure(
    t_ms: np.ndarray,
    lfp_mV: np.ndarray,
    z_um: np.ndarray,
    *,
    dt_ms: float,
    t_start_ms: float,
    nperseg: int,
    fmax_Hz: float,
) -> Figure:
    """Welch PSD of the LFP at every contact: an image (log power) and the curves."""
    after = t_ms >= t_start_ms
    freqs, psd = analysis.power_spectrum(lfp_mV[:, after], dt_ms=dt_ms, nperseg=nperseg)
    band = (freqs > 0) & (freqs <= fmax_Hz)
    freqs, psd = freqs[band], psd[:, band]
    fig, (ax_image, ax_curves) = plt.subplots(1, 2, figsize=(12, 5))
    log_power = np.log10(np.where(psd > 0, psd, np.nan))
    order = np.argsort(z_um)[::-1]
    mesh = ax_image.pcolormesh(freqs, np.arange(z_um.size), log_power[order], shading="nearest")
    ax_image.set_xscale("log")
    ax_image.set_yticks(np.arange(z_um.size), [f"{z:g}" for z in z_um[order]], fontsize=7)
    ax_image.invert_yaxis()
    ax_image.set_xlabel("f (Hz)")
    ax_image.set_ylabel("contact z (um)")
    fig.colorbar(mesh, ax=ax_image, label="log10 PSD (mV²/Hz)")
    colours = plt.cm.viridis(np.linspace(0, 0.9, z_um.size))
    for index in order:
        if np.any(psd[index] > 0):
            ax_curves.loglog(
                freqs, psd[index], color=colours[index], lw=0.8, label=f"{z_um[index]:g}"
            )
    ax_curves.set_xlabel("f (Hz)")
    ax_curves.set_ylabel("PSD (mV²/Hz)")
    ax_curves.legend(fontsize=6, ncol=2, title="z (um)")
    fig.suptitle("LFP power spectra per depth after the transient (Welch)")
    fig.tight_layout()
    return fig


def laminar_figures(
    spikes: Any,
    t_ms: np.ndarray,
    counts: Mapping[str, np.ndarray],
    signals: Mapping[str, Any],
    config: Mapping[str, Any],
) -> dict[str, Callable[[], Figure]]:
    """Figure name (:data:`LAMINAR_FIGURES`) -> function drawing it, for one run.

    Parameters
    ----------
    spikes : NetworkSpikes
        :func:`lfpflow.signals.spikes.read_spikes`.
    t_ms, counts : ndarray, Mapping
        :func:`lfpflow.signals.rates.read_rates`.
    signals : Mapping
        ``signals.h5`` as :func:`lfpflow.io.read_h5` returns it.
    config : Mapping
        The analysis stage view (``simulation``, ``kernels``, ``analysis``).
    """
    sim, settings = config["simulation"], config["analysis"]
    z_um = np.asarray(signals["z_um"], dtype=float)
    depths = {
        name: float(pop["soma_z_mean_um"]) for name, pop in config["kernels"]["populations"].items()
    }
    t_sig = np.asarray(signals["t_ms"], dtype=float)
    lfp = np.asarray(signals["LFP"], dtype=float)
    window = settings["raster_window_ms"]
    start = float(sim["transient_ms"])
    return {
        "lfp_csd": lambda: lfp_csd_figure(
            t_sig, lfp, z_um, csd=signals.get("CSD"), window_ms=window, soma_depths_um=depths
        ),
        "population_activity": lambda: population_activity_figure(
            spikes, t_ms, counts, window_ms=window
        ),
        "lfp_contributions": lambda: contribution_figure(
            t_sig, lfp, z_um, signals["contributions"], t_start_ms=start, soma_depths_um=depths
        ),
        "lfp_spectra": lambda: spectra_by_depth_figure(
            t_sig,
            lfp,
            z_um,
            dt_ms=float(sim["dt_ms"]),
            t_start_ms=start,
            nperseg=int(settings["psd_nperseg"]),
            fmax_Hz=float(settings["psd_fmax_Hz"]),
        ),  # fmt: skip
    }
