"""Figures of a run of the LFP pipeline: raster, kernels, LFP, CSD, CDM, EEG, MEG, spectra, sweeps.

The EEG/MEG topographic maps (:func:`topomap_figure`) are drawn by MNE-Python.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure`
writes it atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# save_figure (default dpi 120) lives in lfpflow.figures; re-exported here for the
# workflow scripts that call it as lfpflow.figures.signals.save_figure.
from lfpflow.figures import save_figure as save_figure  # noqa: E402
from lfpflow.signals import analysis  # noqa: E402

POPULATION_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _colour(index: int) -> str:
    return POPULATION_COLOURS[index % len(POPULATION_COLOURS)]


def raster_and_rates(
    spikes: Any, t_ms: np.ndarray, counts: Mapping[str, np.ndarray], *, window_ms: Sequence[float]
) -> Figure:
    """Spike raster and population rates (Hz per neuron) in a time window."""
    start, stop = window_ms
    fig, (ax_raster, ax_rate) = plt.subplots(
        2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    offset = 0
    dt_ms = t_ms[1] - t_ms[0]
    # 1 ms bins for the rate panel: per-dt counts are too noisy to read
    per_bin = max(1, int(round(1.0 / dt_ms)))
    for index, (name, size) in enumerate(spikes.population_sizes.items()):
        times, senders = spikes.times_ms[name], spikes.senders[name]
        shown = (times >= start) & (times < stop)
        ax_raster.plot(
            times[shown], senders[shown] + offset, ".", ms=1, color=_colour(index), label=name
        )
        offset += size
        n_coarse = counts[name].size // per_bin
        coarse = counts[name][: n_coarse * per_bin].reshape(n_coarse, per_bin).sum(axis=1)
        t_coarse = t_ms[: n_coarse * per_bin].reshape(n_coarse, per_bin).mean(axis=1)
        rate_hz = coarse / size / (per_bin * dt_ms * 1e-3)
        keep = (t_coarse >= start) & (t_coarse < stop)
        ax_rate.plot(t_coarse[keep], rate_hz[keep], color=_colour(index), lw=1, label=name)
    ax_raster.set_ylabel("neuron")
    ax_raster.legend(loc="upper right", markerscale=8)
    ax_raster.set_title("Network activity")
    ax_rate.set_xlabel("t (ms)")
    ax_rate.set_ylabel("rate (Hz)")
    fig.tight_layout()
    return fig


def kernels_figure(kernels: Mapping[tuple[str, str], Mapping[str, np.ndarray]]) -> Figure:
    """LFP kernels (traces over depth) and CDM z kernels for every pathway."""
    keys = list(kernels)
    fig, axes = plt.subplots(2, len(keys), figsize=(3.2 * len(keys), 7), squeeze=False)
    for col, key in enumerate(keys):
        kernel = kernels[key]
        lags = kernel["lags_ms"]
        shown = (lags >= -2) & (lags <= 25)
        lfp = kernel["LFP"][:, shown]
        z = kernel["z_um"]
        spacing = np.min(np.abs(np.diff(z))) if z.size > 1 else 1.0
        scale = np.abs(lfp).max() or 1.0
        ax = axes[0, col]
        for channel, depth in enumerate(z):
            ax.plot(lags[shown], depth + 0.8 * spacing * lfp[channel] / scale, "k", lw=1)
        ax.set_title(f"{key[1]}→{key[0]} LFP\nscale bar {scale * 1e3:.3g} µV", fontsize=9)
        ax.set_xlabel("lag (ms)")
        if col == 0:
            ax.set_ylabel("z (µm)")
        ax_cdm = axes[1, col]
        ax_cdm.plot(lags[shown], kernel["CDM"][2, shown], "k", lw=1)
        ax_cdm.set_xlabel("lag (ms)")
        ax_cdm.set_title(f"{key[1]}→{key[0]} CDM z", fontsize=9)
        if col == 0:
            ax_cdm.set_ylabel("nA µm per spike")
    fig.suptitle("Spike-to-signal kernels H_YX (post Y, pre X)")
    fig.tight_layout()
    return fig


def laminar_lfp(
    t_ms: np.ndarray, lfp: np.ndarray, z_um: np.ndarray, *, window_ms: Sequence[float]
) -> Figure:
    """Laminar LFP over a time window: image plus traces."""
    start, stop = window_ms
    shown = (t_ms >= start) & (t_ms < stop)
    data = lfp[:, shown] - lfp[:, shown].mean(axis=1, keepdims=True)
    fig, (ax_img, ax_tr) = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    vmax = np.abs(data).max() * 1e3 or 1.0
    spacing = np.min(np.abs(np.diff(z_um))) if z_um.size > 1 else 1.0
    extent = (start, stop, z_um.min() - spacing / 2, z_um.max() + spacing / 2)
    image = ax_img.imshow(
        data[::-1] * 1e3 if z_um[0] > z_um[-1] else data * 1e3,
        aspect="auto",
        origin="lower",
        extent=extent,
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax_img, label="LFP (µV, mean removed)")
    ax_img.set_xlabel("t (ms)")
    ax_img.set_ylabel("z (µm)")
    for channel, depth in enumerate(z_um):
        ax_tr.plot(t_ms[shown], depth + 0.8 * spacing * data[channel] * 1e3 / vmax, "k", lw=0.7)
    ax_tr.set_xlabel("t (ms)")
    ax_tr.set_title(f"traces, full scale {vmax:.3g} µV")
    fig.suptitle("Laminar LFP")
    fig.tight_layout()
    return fig


def cdm_figure(t_ms: np.ndarray, cdm: np.ndarray, *, window_ms: Sequence[float]) -> Figure:
    """The three components of the current dipole moment."""
    start, stop = window_ms
    shown = (t_ms >= start) & (t_ms < stop)
    fig, axes = plt.subplots(3, 1, figsize=(8, 5), sharex=True)
    for ax, component, name in zip(axes, cdm, "xyz", strict=True):
        ax.plot(t_ms[shown], component[shown], "k", lw=0.8)
        ax.set_ylabel(f"P_{name}\n(nA µm)")
    axes[-1].set_xlabel("t (ms)")
    axes[0].set_title("Current dipole moment")
    fig.tight_layout()
    return fig


def _sensor_traces(
    t_ms: np.ndarray,
    values: np.ndarray,
    names: Sequence[str],
    *,
    window_ms: Sequence[float],
    unit: str,
    title: str,
) -> Figure:
    """One trace per sensor on its own baseline, as an EEG viewer shows them."""
    start, stop = window_ms
    shown = (t_ms >= start) & (t_ms < stop)
    data = values[:, shown] - values[:, shown].mean(axis=1, keepdims=True)
    spacing = float(np.abs(data).max()) or 1.0  # the largest deflection fits its row
    baselines = -spacing * np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.3 * len(names)))
    for trace, baseline in zip(data, baselines, strict=True):
        ax.plot(t_ms[shown], baseline + trace, color="k", lw=0.6)
    ax.set_yticks(baselines, names, fontsize=8)
    ax.set_ylim(baselines[-1] - spacing, spacing)
    ax.set_xlabel("t (ms)")
    ax.set_title(f"{title}\nmean removed; rows {spacing:.3g} {unit} apart", fontsize=10)
    fig.tight_layout()
    return fig


def sensor_names(attrs: Mapping[str, Any], key: str, count: int) -> list[str]:
    """Channel names from a ``signals.h5`` attribute (JSON list); numbers if absent."""
    value = attrs.get(key)
    names = json.loads(value) if isinstance(value, str) else list(value or [])
    return names if len(names) == count else [str(number) for number in range(count)]


def eeg_figure(
    t_ms: np.ndarray,
    eeg: np.ndarray,
    names: Sequence[str],
    *,
    window_ms: Sequence[float],
    head_model: str = "four_sphere",
) -> Figure:
    """EEG at the scalp electrodes, in nV (relative to infinity)."""
    return _sensor_traces(
        t_ms,
        np.asarray(eeg) * 1e3,
        names,
        window_ms=window_ms,
        unit="nV",
        title=f"EEG (relative to infinity), head model {head_model}",
    )


def meg_figure(
    t_ms: np.ndarray,
    meg: np.ndarray,
    names: Sequence[str],
    *,
    window_ms: Sequence[float],
) -> Figure:
    """Radial magnetic field at the MEG sensors, in fT."""
    title = "MEG (radial field), spherically symmetric head"
    if not np.any(meg):
        title += ": zero, the column's dipole is radial"
    return _sensor_traces(t_ms, meg, names, window_ms=window_ms, unit="fT", title=title)


def _projection_sphere(attrs: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Outline of the topomaps: centre (m, MNE head frame) and radius (m).

    ``topomap_sphere_um`` of ``signals.h5`` (the circle through Fpz, T7, Oz,
    T8: :func:`lfpflow.signals.electrodes.horizon_sphere`), else the sphere
    through the electrodes.
    """
    offset = np.asarray(attrs.get("head_offset_um", np.zeros(3)), dtype=np.float64)
    if "topomap_sphere_um" in attrs:
        x, y, z, r = np.asarray(attrs["topomap_sphere_um"], dtype=np.float64)
        centre, radius = np.array([x, y, z]), r
    else:
        centre = np.asarray(attrs.get("head_centre_um", np.zeros(3)), dtype=np.float64)
        electrodes = np.asarray(attrs["eeg_electrodes_um"], dtype=np.float64).reshape(-1, 3)
        radius = float(np.linalg.norm(electrodes - centre, axis=1).mean())
    x, y, z = 1e-6 * (centre + offset)
    return float(x), float(y), float(z), 1e-6 * float(radius)


def _spans_the_scalp(positions_m: np.ndarray) -> bool:
    """Whether electrodes cover an area of the scalp, not a line (e.g. montage polar)."""
    if len(positions_m) < 4:
        return False
    singular = np.linalg.svd(positions_m - positions_m.mean(axis=0), compute_uv=False)
    return bool(singular[-1] > 1e-3 * singular[0])


def _topomap_panel(
    ax: Any, values: np.ndarray, info: Any, sphere: tuple[float, ...], label: str, cmap: str
) -> None:
    """One MNE topomap with its colour bar (a profile over channels if the map is flat)."""
    import mne

    positions = np.array([channel["loc"][:3] for channel in info["chs"]])
    if not _spans_the_scalp(positions):
        ax.plot(values, "o-k", ms=4)
        ax.set_xticks(range(len(values)), info["ch_names"], rotation=90, fontsize=7)
        ax.set_ylabel(label)
        return
    image, _ = mne.viz.plot_topomap(
        values,
        info,
        axes=ax,
        show=False,
        sphere=sphere,
        cmap=cmap,
        contours=6,
        names=info["ch_names"],
        sensors=True,
        extrapolate="head",
    )
    ax.figure.colorbar(image, ax=ax, shrink=0.75, label=label)


def topomap_figure(
    signals: Mapping[str, Any],
    info: Any,
    *,
    dt_ms: float,
    t_start_ms: float,
    nperseg: int,
    fmax_Hz: float,
) -> Figure:
    """Topographic maps (MNE) of the EEG, and of the MEG when on.

    Left: the potential at the time of the largest current dipole moment
    |CDM| after ``t_start_ms``; right: the power spectral density (Welch)
    at the frequency of the peak of the CDM's spectrum (summed over x, y, z)
    in (0, ``fmax_Hz``].

    Parameters
    ----------
    signals : Mapping
        Content of ``signals.h5`` (:func:`lfpflow.io.read_h5`).
    info : mne.Info
        The EEG channels (and MEG ones, with ``MEG`` in ``signals``) with
        their positions, in the order of the rows of ``signals``: the
        ``info`` of :func:`lfpflow.formats.mne_eeg.raw_from_signals`, which
        the rule script builds.
    dt_ms, t_start_ms : float
        Sample interval and start of the analysed window (ms).
    nperseg : int
        Welch segment length (samples).
    fmax_Hz : float
        Highest frequency searched for the peak (Hz).
    """
    import mne

    after = signals["t_ms"] >= t_start_ms
    t_ms = signals["t_ms"][after]
    cdm = signals["CDM"][:, after]
    peak = int(np.argmax(np.linalg.norm(cdm, axis=0)))
    freqs, cdm_psd = analysis.power_spectrum(cdm, dt_ms=dt_ms, nperseg=nperseg)
    band = np.flatnonzero((freqs > 0) & (freqs <= fmax_Hz))
    f_peak = band[np.argmax(cdm_psd.sum(axis=0)[band])]
    sphere = _projection_sphere(signals["attrs"])
    rows = [("EEG", "eeg", "nV", 1e3)] + ([("MEG", "mag", "fT", 1.0)] if "MEG" in signals else [])
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 4.3 * len(rows)), squeeze=False)
    for (measure, kind, unit, scale), (ax_t, ax_f) in zip(rows, axes, strict=True):
        picked = mne.pick_info(info, mne.pick_types(info, meg=kind == "mag", eeg=kind == "eeg"))
        values = scale * signals[measure][:, after]
        _, psd = analysis.power_spectrum(values, dt_ms=dt_ms, nperseg=nperseg)
        _topomap_panel(ax_t, values[:, peak], picked, sphere, f"{measure} ({unit})", "RdBu_r")
        ax_t.set_title(f"{measure} at t = {t_ms[peak]:.2f} ms (largest |CDM|)", fontsize=10)
        _topomap_panel(ax_f, psd[:, f_peak], picked, sphere, f"PSD ({unit}²/Hz)", "Reds")
        ax_f.set_title(f"{measure} PSD at {freqs[f_peak]:.3g} Hz (CDM spectral peak)", fontsize=10)
    head = signals["attrs"].get("head_model", "four_sphere")
    placement = signals["attrs"].get("column_placement", "")
    fig.suptitle(f"Topography, head model {head}; column {placement}", fontsize=10)
    fig.tight_layout()
    return fig


def spectra_figure(
    signals: Mapping[str, np.ndarray],
    units: Mapping[str, str],
    *,
    dt_ms: float,
    t_start_ms: float,
    nperseg: int,
    fmax_Hz: float,
) -> Figure:
    """Welch PSDs of LFP (every channel), CDM components and EEG."""
    t_ms = signals["t_ms"]
    after = t_ms >= t_start_ms
    measures = [m for m in ("LFP", "CDM", "EEG", "MEG") if m in signals]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 4), squeeze=False)
    for ax, measure in zip(axes[0], measures, strict=True):
        freqs, psd = analysis.power_spectrum(
            signals[measure][:, after], dt_ms=dt_ms, nperseg=nperseg
        )
        band = (freqs > 0) & (freqs <= fmax_Hz)
        colours = plt.cm.viridis(np.linspace(0, 0.9, psd.shape[0]))
        for channel, colour in enumerate(colours):
            if not np.any(psd[channel, band] > 0):
                continue  # an exactly zero channel has no place on a log axis
            label = "xyz"[channel] if measure == "CDM" else None
            ax.loglog(freqs[band], psd[channel, band], color=colour, lw=0.8, label=label)
        ax.set_xlabel("f (Hz)")
        ax.set_ylabel(f"PSD ({units[measure]}²/Hz)")
        ax.set_title(measure)
        if measure == "CDM":
            ax.legend()
    fig.suptitle("Power spectra after the transient (Welch)")
    fig.tight_layout()
    return fig


def csd_figure(
    t_ms: np.ndarray, csd: np.ndarray, z_um: np.ndarray, units: str, *, window_ms: Sequence[float]
) -> Figure:
    """Laminar current source density over a time window."""
    start, stop = window_ms
    shown = (t_ms >= start) & (t_ms < stop)
    data = csd[:, shown] - csd[:, shown].mean(axis=1, keepdims=True)
    vmax = np.abs(data).max() or 1.0
    spacing = np.min(np.abs(np.diff(z_um))) if z_um.size > 1 else 1.0
    fig, ax = plt.subplots(figsize=(7, 5))
    image = ax.imshow(
        data[::-1] if z_um[0] > z_um[-1] else data,
        aspect="auto",
        origin="lower",
        extent=(start, stop, z_um.min() - spacing / 2, z_um.max() + spacing / 2),
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label=f"CSD ({units}, mean removed)")
    ax.set_xlabel("t (ms)")
    ax.set_ylabel("z (µm)")
    ax.set_title("Laminar CSD (sinks negative)")
    fig.tight_layout()
    return fig


def sweep_figure(rows: Sequence[Mapping[str, Any]], parameters: Sequence[str]) -> Figure:
    """Each measure of a sweep table against the first swept parameter.

    Parameters
    ----------
    rows : sequence of Mapping
        Rows of the sweep table (:func:`lfpflow.sweep.summary_row`).
    parameters : sequence of str
        The swept keys, in sweep order. The first is the x axis; every
        combination of the others is one line (a single line without them).
    """
    x_key, others = parameters[0], list(parameters[1:])
    skip = {"run", *parameters}
    measures = [
        column
        for column in rows[0]
        if column not in skip
        and any(
            isinstance(row.get(column), int | float)
            and not isinstance(row.get(column), bool)
            and np.isfinite(row[column])
            for row in rows
        )
    ]
    n_columns = 3
    n_rows = max(1, -(-len(measures) // n_columns))
    figure, axes = plt.subplots(
        n_rows, n_columns, figsize=(4.2 * n_columns, 2.8 * n_rows), squeeze=False
    )
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in others), []).append(row)
    numeric_x = all(isinstance(row[x_key], int | float) for row in rows)
    for axis, measure in zip(axes.flat, measures, strict=False):
        for index, (group, members) in enumerate(groups.items()):
            members = sorted(members, key=lambda row: row[x_key]) if numeric_x else members
            xs = [row[x_key] if numeric_x else str(row[x_key]) for row in members]
            ys = np.array(
                [np.nan if row.get(measure) is None else row[measure] for row in members],
                dtype=np.float64,
            )
            if "power" in measure:
                ys[ys <= 0] = np.nan  # log axis: a silent point has no power to show
            label = ", ".join(
                f"{key.split('.')[-1]}={value}" for key, value in zip(others, group, strict=True)
            )
            axis.plot(xs, ys, "o-", color=_colour(index), label=label or None, lw=1.2, ms=4)
        axis.set_title(measure, fontsize=9)
        axis.set_xlabel(x_key.split(".")[-1], fontsize=8)
        axis.tick_params(labelsize=7)
        if "power" in measure:
            axis.set_yscale("log")
    for axis in list(axes.flat)[len(measures) :]:
        axis.set_visible(False)
    if others and len(groups) <= 12:
        axes.flat[0].legend(fontsize=7, frameon=False)
    figure.tight_layout()
    return figure


def run_figures(
    spikes: Any,
    t_ms: np.ndarray,
    counts: Mapping[str, np.ndarray],
    signals: Mapping[str, Any],
    kernels: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """The figures of one run, by name, as functions that draw them on demand.

    Parameters
    ----------
    spikes : lfpflow.signals.spikes.NetworkSpikes
        The network's spikes.
    t_ms : ndarray
        Times of the rate bins (ms).
    counts : Mapping
        Population -> spike count per bin.
    signals : Mapping
        Content of ``signals.h5`` (:func:`lfpflow.io.read_h5`).
    kernels : Mapping
        ``(post, pre)`` -> kernel (:func:`lfpflow.signals.kernel_files.load_kernels`).
    config : Mapping
        The ``analysis`` stage configuration (``simulation``, ``forward``, ``analysis``).

    Returns
    -------
    dict
        Figure name (the PNG's stem: ``raster_rates``, ``kernels``, ``laminar_lfp``,
        ``csd``, ``cdm``, ``eeg``, ``meg``, ``spectra``) -> callable returning the Figure.
    """
    window = config["analysis"]["raster_window_ms"]
    sim, attrs = config["simulation"], signals["attrs"]
    t, units = signals["t_ms"], signals["units"]
    return {
        "raster_rates": lambda: raster_and_rates(spikes, t_ms, counts, window_ms=window),
        "kernels": lambda: kernels_figure(kernels),
        "laminar_lfp": lambda: laminar_lfp(t, signals["LFP"], signals["z_um"], window_ms=window),
        "csd": lambda: csd_figure(
            t, signals["CSD"], signals["z_um"], units["CSD"], window_ms=window
        ),
        "cdm": lambda: cdm_figure(t, signals["CDM"], window_ms=window),
        "eeg": lambda: eeg_figure(
            t,
            signals["EEG"],
            sensor_names(attrs, "eeg_electrode_names", len(signals["EEG"])),
            window_ms=window,
            head_model=attrs.get("head_model", "four_sphere"),
        ),
        "meg": lambda: meg_figure(
            t,
            signals["MEG"],
            sensor_names(attrs, "meg_sensor_names", len(signals["MEG"])),
            window_ms=window,
        ),
        "spectra": lambda: spectra_figure(
            signals,
            units,
            dt_ms=sim["dt_ms"],
            t_start_ms=sim["transient_ms"],
            nperseg=config["analysis"]["psd_nperseg"],
            fmax_Hz=config["analysis"]["psd_fmax_Hz"],
        ),
    }
