"""Figures of a single-neuron characterisation (``results/neurons/<model>.h5``).

One figure per model, six panels:

* F-I curves: steady-state rate under DC and spike rate under white noise of
  each sd versus the mean current, with the rheobase marked;
* CV of ISI versus rate under white noise, one curve per noise sd;
* the rheobase search: spikes in the analysis window of every DC amplitude
  tried, with the criterion;
* the example step response: membrane potential and spike times;
* for the Izhikevich models, the v-u phase plane of the example with the
  nullclines at the example current; otherwise the model's parameters.

Figures are written with :func:`lfpflow.figures.save_figure` (atomically, at
:data:`FIGURE_DPI`); the package sets matplotlib's Agg backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# lfpflow.figures (imported first, as this module's package) has chosen the Agg backend.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lfpflow import io
from lfpflow.figures import save_figure

#: Time shown in the example trace after the DC onset (ms).
EXAMPLE_SPAN_MS = 1000.0

#: Time shown in the example trace before the DC onset (ms): the resting state.
PRE_ONSET_MS = 50.0

#: Resolution of the single-neuron PNGs (dots per inch).
FIGURE_DPI = 110


def _attr(attrs: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Attribute ``name``; lists and mappings are stored as JSON text in HDF5 attributes."""
    value = attrs.get(name, default)
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _nullclines(attrs: Mapping[str, Any], v: np.ndarray, current: float) -> tuple | None:
    """Nullclines of the Izhikevich models in the v-u plane.

    Parameters
    ----------
    attrs : Mapping
        Attributes of the characterisation: the model's parameters.
    v : numpy.ndarray
        Membrane potentials (mV) at which to evaluate them.
    current : float
        Injected DC (pA; for the 2003 model, in its dimensionless units).

    Returns
    -------
    tuple of numpy.ndarray or None
        (u on the v-nullcline, u on the u-nullcline), in the units of ``u``;
        None for a model that is neither Izhikevich (2003) nor (2007).
    """
    if all(name in attrs for name in ("k", "v_r", "v_t", "b")):  # Izhikevich (2007)
        k, v_r, v_t, b = (float(attrs[n]) for n in ("k", "v_r", "v_t", "b"))
        return k * (v - v_r) * (v - v_t) + current, b * (v - v_r)
    if attrs.get("nest_model") == "izhikevich" and "b" in attrs:  # Izhikevich (2003)
        b = float(attrs["b"])
        return 0.04 * v**2 + 5.0 * v + 140.0 + current, b * v
    return None


def characterisation_figure(data: Mapping[str, Any]) -> Figure:
    """The figure of one characterisation.

    Parameters
    ----------
    data : Mapping
        :func:`lfpflow.io.read_h5` of a characterisation file.

    Returns
    -------
    matplotlib.figure.Figure
    """
    attrs = data["attrs"]
    rheobase = float(attrs["rheobase_pA"])
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), layout="constrained")
    fig.suptitle(
        f"{attrs['model']} ({attrs['nest_model']}): {attrs.get('model_description', '')}; "
        f"rheobase {rheobase:.4g} pA"
    )
    # One colour per noise sd, shared by the F-I and the CV panels.
    n_sigmas = np.asarray(data["gwn_sigma_pA"]).size
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, max(n_sigmas, 1)))
    _plot_fi_curves(axes[0, 0], data, colours)
    _plot_irregularity(axes[0, 1], data, colours)
    _plot_rheobase_search(axes[0, 2], data)
    # The step response is long: it gets the first two panels of the bottom row.
    step_axes = fig.add_subplot(2, 3, (4, 5))
    axes[1, 0].remove()
    axes[1, 1].remove()
    _plot_step_response(step_axes, data)
    if "example_u" in data:  # two-variable (Izhikevich) models
        _plot_phase_plane(axes[1, 2], data)
    else:
        _list_parameters(axes[1, 2], attrs)
    return fig


def _plot_fi_curves(ax: Axes, data: Mapping[str, Any], colours: np.ndarray) -> None:
    """Rate versus DC amplitude and versus the mean of each white noise, with the rheobase.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    data : Mapping
        The characterisation (``dc_pA``, ``rate_dc_Hz``, ``gwn_mean_pA``,
        ``gwn_sigma_pA``, ``rate_gwn_Hz``; rheobase in pA in the attributes).
    colours : numpy.ndarray
        One RGBA colour per noise sd.
    """
    sigmas = np.asarray(data["gwn_sigma_pA"])
    ax.plot(data["dc_pA"], data["rate_dc_Hz"], "k.-", label="DC (1 / mean ISI)")
    for sigma, rate, colour in zip(sigmas, data["rate_gwn_Hz"], colours, strict=True):
        ax.plot(data["gwn_mean_pA"], rate, ".-", color=colour, label=f"noise sd {sigma:.3g} pA")
    ax.axvline(float(data["attrs"]["rheobase_pA"]), color="0.6", ls="--", lw=1, label="rheobase")
    ax.set(xlabel="DC / noise mean (pA)", ylabel="rate (Hz)", title="F-I curves")
    ax.legend(fontsize="small")


def _plot_irregularity(ax: Axes, data: Mapping[str, Any], colours: np.ndarray) -> None:
    """CV of the ISI versus rate under white noise, one curve per noise sd.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    data : Mapping
        The characterisation (``gwn_sigma_pA``, ``rate_gwn_Hz``, ``cv_isi_gwn``).
    colours : numpy.ndarray
        One RGBA colour per noise sd.
    """
    sigmas = np.asarray(data["gwn_sigma_pA"])
    for sigma, rate, cv, colour in zip(
        sigmas, data["rate_gwn_Hz"], data["cv_isi_gwn"], colours, strict=True
    ):
        ax.plot(rate, cv, "o-", ms=3, color=colour, label=f"sd {sigma:.3g} pA")
    # CV = 1: the irregularity of a Poisson process, for reference
    ax.axhline(1.0, color="0.6", ls=":", lw=1)
    ax.set(xlabel="rate (Hz)", ylabel="CV of ISI", title="white noise: irregularity")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")


def _plot_rheobase_search(ax: Axes, data: Mapping[str, Any]) -> None:
    """Spikes in the analysis window of every DC amplitude tried, with the criterion.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in (logarithmic current axis).
    data : Mapping
        The characterisation (``rheobase_tested_pA``, ``rheobase_tested_spikes``;
        rheobase in pA, analysis window in ms and the spike criterion in the
        attributes).
    """
    attrs = data["attrs"]
    rheobase = float(attrs["rheobase_pA"])
    tested = np.asarray(data["rheobase_tested_pA"])
    spikes = np.asarray(data["rheobase_tested_spikes"])
    positive = tested > 0  # a log axis cannot show 0 pA
    ax.semilogx(tested[positive], spikes[positive], "k.", label="DC steps tried")
    window = _attr(attrs, "analysis_window_ms", [np.nan, np.nan])
    min_spikes = attrs.get("rheobase_min_spikes")
    if min_spikes is not None:
        ax.axhline(
            float(min_spikes), color="0.6", ls=":", lw=1, label=f"criterion: {min_spikes} spikes"
        )
    ax.axvline(rheobase, color="C3", lw=1, label=f"rheobase {rheobase:.4g} pA")
    ax.set(
        xlabel="DC (pA)",
        ylabel=f"spikes in [{window[0]:g}, {window[1]:g}) ms",
        title="rheobase search",
    )
    ax.legend(fontsize="small")


def _plot_step_response(ax: Axes, data: Mapping[str, Any]) -> None:
    """Membrane potential and spikes of the example, from just before the DC onset.

    Shows :data:`PRE_ONSET_MS` before and :data:`EXAMPLE_SPAN_MS` after the onset.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    data : Mapping
        The characterisation (``example_t_ms``, ``example_v_mV``,
        ``example_spike_times_ms``; DC onset in ms and amplitude in pA in the
        attributes).
    """
    attrs = data["attrs"]
    onset = float(attrs["example_onset_ms"])
    t = np.asarray(data["example_t_ms"])
    v = np.asarray(data["example_v_mV"])
    shown = (t >= onset - PRE_ONSET_MS) & (t <= onset + EXAMPLE_SPAN_MS)
    ax.plot(t[shown], v[shown], "k", lw=0.8)
    spike_times = np.asarray(data["example_spike_times_ms"])
    spike_times = spike_times[
        (spike_times >= onset - PRE_ONSET_MS) & (spike_times <= onset + EXAMPLE_SPAN_MS)
    ]
    # spike ticks just above the highest voltage shown, clear of the trace
    top = np.nanmax(v[shown]) if shown.any() else 0.0
    ax.plot(
        spike_times, np.full(spike_times.size, top + 5.0), "|", color="C3", ms=10, label="spikes"
    )
    ax.axvline(
        onset, color="0.6", ls="--", lw=1, label=f"DC {float(attrs['example_dc_pA']):.4g} pA on"
    )
    ax.set(
        xlabel="time (ms)",
        ylabel=f"V_m ({data.get('units', {}).get('example_v_mV', 'mV')})",
        title=f"step response ({spike_times.size} spikes shown)",
    )
    ax.legend(fontsize="small", loc="lower right")


def _plot_phase_plane(ax: Axes, data: Mapping[str, Any]) -> None:
    """v-u trajectory of the example after the DC onset, with the nullclines.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to draw in.
    data : Mapping
        The characterisation of an Izhikevich model (``example_t_ms``,
        ``example_v_mV``, ``example_u``; DC onset in ms and amplitude in pA
        and the model parameters in the attributes).
    """
    attrs = data["attrs"]
    onset = float(attrs["example_onset_ms"])
    t = np.asarray(data["example_t_ms"])
    v = np.asarray(data["example_v_mV"])
    u = np.asarray(data["example_u"])
    u_units = data.get("units", {}).get("example_u", "")
    after = t >= onset
    ax.plot(v[after], u[after], color="C0", lw=0.8, label="trajectory")
    ax.plot(v[~after][-1:], u[~after][-1:], "ko", ms=4, label="rest")
    # nullclines over the trajectory's range, and at least -90 to 0 mV
    grid = np.linspace(min(v.min(), -90.0), max(v.max(), 0.0), 400)
    lines = _nullclines(attrs, grid, float(attrs["example_dc_pA"]))
    if lines is not None:
        ax.plot(grid, lines[0], "C3--", lw=1, label="v-nullcline")
        ax.plot(grid, lines[1], "C2--", lw=1, label="u-nullcline")
        # the nullclines span far larger u; keep the trajectory filling the panel
        ax.set_ylim(u.min() - 0.1 * np.ptp(u) - 1e-9, u.max() + 0.1 * np.ptp(u) + 1e-9)
    ax.set(xlabel="v (mV)", ylabel=f"u ({u_units})", title="v-u phase plane")
    ax.legend(fontsize="small")


def _list_parameters(ax: Axes, attrs: Mapping[str, Any]) -> None:
    """The model's parameters with their units, as text in place of a plot.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Panel to write in (its axes are hidden).
    attrs : Mapping
        Attributes of the characterisation (``param_units``: name to unit,
        and each parameter's value).
    """
    ax.axis("off")
    units_map = _attr(attrs, "param_units", {}) or {}
    lines = [f"{name} = {float(attrs[name]):.6g} {unit}" for name, unit in units_map.items()]
    ax.text(0, 1, "parameters\n" + "\n".join(lines), va="top", family="monospace", fontsize=9)


def plot_characterisation(h5_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    """Read ``h5_path`` and write its figure to ``png_path`` (110 dpi)."""
    save_figure(characterisation_figure(io.read_h5(h5_path)), png_path, dpi=FIGURE_DPI)
    return Path(png_path)
