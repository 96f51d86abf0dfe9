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

Matplotlib runs with the Agg backend; figures are written atomically (a
temporary file in the destination folder, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lfpflow import io  # noqa: E402

#: Time shown in the example trace after the DC onset (ms).
EXAMPLE_SPAN_MS = 1000.0


def _attr(attrs: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = attrs.get(name, default)
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _nullclines(attrs: Mapping[str, Any], v: np.ndarray, current: float) -> tuple | None:
    """(v-nullcline u, u-nullcline u) of the Izhikevich models at ``current``."""
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
    units = data.get("units", {})
    rheobase = float(attrs["rheobase_pA"])
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), layout="constrained")
    fig.suptitle(
        f"{attrs['model']} ({attrs['nest_model']}): {attrs.get('model_description', '')}; "
        f"rheobase {rheobase:.4g} pA"
    )
    sigmas = np.asarray(data["gwn_sigma_pA"])
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, max(sigmas.size, 1)))

    ax = axes[0, 0]
    ax.plot(data["dc_pA"], data["rate_dc_Hz"], "k.-", label="DC (1 / mean ISI)")
    for sigma, rate, colour in zip(sigmas, data["rate_gwn_Hz"], colours, strict=True):
        ax.plot(data["gwn_mean_pA"], rate, ".-", color=colour, label=f"noise sd {sigma:.3g} pA")
    ax.axvline(rheobase, color="0.6", ls="--", lw=1, label="rheobase")
    ax.set(xlabel="DC / noise mean (pA)", ylabel="rate (Hz)", title="F-I curves")
    ax.legend(fontsize="small")

    ax = axes[0, 1]
    for sigma, rate, cv, colour in zip(
        sigmas, data["rate_gwn_Hz"], data["cv_isi_gwn"], colours, strict=True
    ):
        ax.plot(rate, cv, "o-", ms=3, color=colour, label=f"sd {sigma:.3g} pA")
    ax.axhline(1.0, color="0.6", ls=":", lw=1)
    ax.set(xlabel="rate (Hz)", ylabel="CV of ISI", title="white noise: irregularity")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")

    ax = axes[0, 2]
    tested = np.asarray(data["rheobase_tested_pA"])
    spikes = np.asarray(data["rheobase_tested_spikes"])
    positive = tested > 0
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

    ax = fig.add_subplot(2, 3, (4, 5))
    axes[1, 0].remove()
    axes[1, 1].remove()
    onset = float(attrs["example_onset_ms"])
    t = np.asarray(data["example_t_ms"])
    v = np.asarray(data["example_v_mV"])
    shown = (t >= onset - 50.0) & (t <= onset + EXAMPLE_SPAN_MS)
    ax.plot(t[shown], v[shown], "k", lw=0.8)
    spike_times = np.asarray(data["example_spike_times_ms"])
    spike_times = spike_times[
        (spike_times >= onset - 50.0) & (spike_times <= onset + EXAMPLE_SPAN_MS)
    ]
    top = np.nanmax(v[shown]) if shown.any() else 0.0
    ax.plot(
        spike_times, np.full(spike_times.size, top + 5.0), "|", color="C3", ms=10, label="spikes"
    )
    ax.axvline(
        onset, color="0.6", ls="--", lw=1, label=f"DC {float(attrs['example_dc_pA']):.4g} pA on"
    )
    ax.set(
        xlabel="time (ms)",
        ylabel=f"V_m ({units.get('example_v_mV', 'mV')})",
        title=f"step response ({spike_times.size} spikes shown)",
    )
    ax.legend(fontsize="small", loc="lower right")

    ax = axes[1, 2]
    if "example_u" in data:
        u = np.asarray(data["example_u"])
        u_units = units.get("example_u", "")
        after = t >= onset
        ax.plot(v[after], u[after], color="C0", lw=0.8, label="trajectory")
        ax.plot(v[~after][-1:], u[~after][-1:], "ko", ms=4, label="rest")
        grid = np.linspace(min(v.min(), -90.0), max(v.max(), 0.0), 400)
        lines = _nullclines(attrs, grid, float(attrs["example_dc_pA"]))
        if lines is not None:
            ax.plot(grid, lines[0], "C3--", lw=1, label="v-nullcline")
            ax.plot(grid, lines[1], "C2--", lw=1, label="u-nullcline")
            ax.set_ylim(u.min() - 0.1 * np.ptp(u) - 1e-9, u.max() + 0.1 * np.ptp(u) + 1e-9)
        ax.set(xlabel="v (mV)", ylabel=f"u ({u_units})", title="v-u phase plane")
        ax.legend(fontsize="small")
    else:
        ax.axis("off")
        units_map = _attr(attrs, "param_units", {}) or {}
        lines = [f"{name} = {float(attrs[name]):.6g} {unit}" for name, unit in units_map.items()]
        ax.text(0, 1, "parameters\n" + "\n".join(lines), va="top", family="monospace", fontsize=9)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 110) -> None:
    """Save ``fig`` as PNG atomically and close it."""
    try:
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    finally:
        plt.close(fig)


def plot_characterisation(h5_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    """Read ``h5_path`` and write its figure to ``png_path``."""
    save_figure(characterisation_figure(io.read_h5(h5_path)), png_path)
    return Path(png_path)
