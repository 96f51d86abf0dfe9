"""Figures of the V1 experiments (the only matplotlib user for V1).

Every ``draw_*`` function takes the content of an experiment's HDF5 file as
returned by :func:`lfpflow.io.read_h5` and returns a
:class:`matplotlib.figure.Figure`; :func:`save` writes it atomically.
:data:`DRAW` maps the names of :data:`lfpflow.v1.FIGURES` to the functions.
The panels follow the paper's figures (Rentzeperis et al. 2025): response
surfaces over orientation x phase, phase-tuning curves, the modulation-depth
map, SI fits with the experimental points, modulation depth vs contrast,
tuning curves and receptive-field maps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lfpflow import io  # noqa: E402
from lfpflow.v1 import analysis  # noqa: E402

_TICKS = np.array([-np.pi / 2, -np.pi / 4, 0.0, np.pi / 4, np.pi / 2])
_TICK_LABELS = ["-π/2", "-π/4", "0", "π/4", "π/2"]
_LAMBDA = "λ"
_ALPHA = "α"


def save(figure: Figure, path: str | os.PathLike, *, dpi: int = 120) -> None:
    """Write ``figure`` as PNG atomically and close it."""
    with io.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _angle_axis(axis: Any, which: str = "x") -> None:
    getattr(axis, f"set_{which}ticks")(_TICKS)
    getattr(axis, f"set_{which}ticklabels")(_TICK_LABELS)


def _phase_axis(axis: Any, phases: np.ndarray, which: str = "x") -> None:
    """Ticks of a phase axis (radians): those of :func:`_angle_axis` for phases within
    [-pi/2, pi/2] (the published grid), else every pi/2 over the range."""
    if phases.min() >= -np.pi / 2 - 1e-9 and phases.max() <= np.pi / 2 + 1e-9:
        _angle_axis(axis, which)
        return
    quarters = np.arange(np.ceil(phases.min() / (np.pi / 2) - 1e-9), phases.max() / (np.pi / 2))
    getattr(axis, f"set_{which}ticks")(quarters * np.pi / 2)
    getattr(axis, f"set_{which}ticklabels")([f"{90 * q:g}°" for q in quarters])


def _grid_phases_label(phases: np.ndarray) -> str:
    """``[low°, high°]`` of a phase grid in radians."""
    return f"[{np.degrees(phases[0]):.0f}°, {np.degrees(phases[-1]):.0f}°]"


def _surface(
    axis: Any,
    orientations: np.ndarray,
    phases: np.ndarray,
    responses: np.ndarray,
    *,
    title: str,
    colour: str = "tab:red",
) -> None:
    """Rectified, peak-normalised response over (phase, orientation), one line per phase.

    The green line is the response at orientation 0 (the preferred one) across
    phases: flat for a complex cell, a half-cycle bump for a simple cell (over
    the published half cycle of phase, [-pi/2, pi/2]).
    """
    rectified = analysis.rectify(responses)
    peak = rectified.max()
    z = rectified / peak if peak > 0 else rectified
    for i, phase in enumerate(phases):
        axis.plot(orientations, np.full_like(orientations, phase), z[i], color=colour, lw=0.8)
    zero = int(np.argmin(np.abs(orientations)))
    axis.plot(np.zeros_like(phases), phases, z[:, zero], color="tab:green", lw=2.0)
    axis.set_xlim(-1.6, 1.6)
    # the phase range is configurable (v1.grid_phase_range_deg; published: +-pi/2)
    axis.set_ylim(min(-1.6, phases.min() - 0.03), max(1.6, phases.max() + 0.03))
    axis.set_zlim(0, 1)
    _angle_axis(axis, "x")
    _phase_axis(axis, phases, "y")
    axis.set_xlabel("orientation")
    axis.set_ylabel("phase")
    axis.set_zlabel("response")
    axis.view_init(elev=20.0, azim=-50.0)
    axis.set_title(title)


def _phase_tuning(surface: np.ndarray) -> np.ndarray:
    """Max over orientation of the rectified response, per phase, normalised (Fig 2b)."""
    tuning = analysis.rectify(surface).max(axis=-1)
    peak = tuning.max(axis=-1, keepdims=True)
    return np.divide(tuning, peak, out=np.zeros_like(tuning), where=peak > 0)


# ---------------------------------------------------------------------------
# Experiment 1
# ---------------------------------------------------------------------------


def _modulation_text(data: dict[str, Any], index: Any = ()) -> str:
    """``modulation_ratio[index]`` over the grid's phases and, if stored, over a full cycle."""
    text = f"{float(data['modulation_ratio'][index]):.2f}"
    if "modulation_ratio_full_cycle" in data:
        text += f" (full cycle {float(data['modulation_ratio_full_cycle'][index]):.2f})"
    return text


def draw_simple_complex_surfaces(data: dict[str, Any]) -> Figure:
    """Fig 2a: response surfaces for each lambda."""
    lambdas = data["lambda"]
    n = lambdas.size
    columns = min(4, n)
    rows = int(np.ceil(n / columns))
    figure = plt.figure(figsize=(4.2 * columns, 3.8 * rows))
    for i, lam in enumerate(lambdas):
        axis = figure.add_subplot(rows, columns, i + 1, projection="3d")
        _surface(
            axis,
            data["orientation"],
            data["phase"],
            data["responses"][i],
            title=f"{_LAMBDA} = {lam:g}\nmodulation {_modulation_text(data, i)}",
        )
    # above the two-line panel titles
    figure.suptitle(
        "Responses to Gabor patches over orientation and phase (rectified, normalised)",
        y=1.0 + 0.06 / rows,
    )
    return figure


def draw_simple_complex_phase_tuning(data: dict[str, Any]) -> Figure:
    """Figs 2b, 2c: phase tuning for each lambda and, at one lambda, each alpha."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    phases = data["phase"]
    for lam, curve in zip(data["lambda"], _phase_tuning(data["responses"]), strict=True):
        left.plot(phases, curve, marker="o", ms=3, label=f"{_LAMBDA} = {lam:g}")
    left.set_title("phase tuning vs λ (max over orientation)")
    sweep = data["alpha_sweep"]
    for alpha, curve in zip(sweep["alpha"], _phase_tuning(sweep["responses"]), strict=True):
        right.plot(phases, curve, marker="s", ms=3, label=f"{_ALPHA} = {alpha:g}")
    right.set_title(f"phase tuning vs α at λ = {float(sweep['lambda']):g}")
    for axis in (left, right):
        _phase_axis(axis, phases)
        axis.set_xlabel("stimulus phase")
        axis.set_ylabel("normalised response")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    left.set_ylim(0, 1.05)
    return figure


def draw_simple_complex_modulation_map(data: dict[str, Any]) -> Figure:
    """Fig 2d: modulation depth over (alpha, log2 lambda), minimum marked."""
    mm = data["modulation_map"]
    figure, axis = plt.subplots(figsize=(7, 5))
    log_lambda = np.log2(mm["lambda"])
    image = axis.contourf(mm["alpha"], log_lambda, mm["modulation_depth"], levels=15, cmap="YlOrRd")
    figure.colorbar(image, ax=axis, label="modulation depth (max-min)/max")
    depth, lam, alpha = mm["minimum"]
    axis.plot(alpha, np.log2(lam), "o", color="green", ms=7)
    axis.annotate(
        f"min {depth:.3f}\n{_LAMBDA} = {lam:.2f}, {_ALPHA} = {alpha:.2f}",
        (alpha, np.log2(lam)),
        xytext=(10, 10),
        textcoords="offset points",
        color="green",
    )
    ticks = np.arange(np.ceil(log_lambda[0]), np.floor(log_lambda[-1]) + 1)
    axis.set_yticks(ticks)
    axis.set_yticklabels([f"{2**t:g}" for t in ticks])
    axis.set_xlabel(f"{_ALPHA} (back-propagation attenuation)")
    axis.set_ylabel(f"{_LAMBDA} (XOR weight)")
    axis.set_title(
        f"Phase modulation at the preferred orientation, phases {_grid_phases_label(mm['phase'])}"
    )
    return figure


def draw_simple_complex_controls(data: dict[str, Any]) -> Figure:
    """Fig 3: non-oriented w1, sigmoid instead of XOR, sigmoid over alpha."""
    figure = plt.figure(figsize=(18, 4.8))
    figure.subplots_adjust(wspace=0.35)
    nonoriented = data["nonoriented_w1"]
    _surface(
        figure.add_subplot(1, 3, 1, projection="3d"),
        data["orientation"],
        data["phase"],
        nonoriented["responses"],
        title=f"non-oriented w1 (λ = {float(nonoriented['lambda']):g}, "
        f"α = {float(nonoriented['alpha']):g})",
    )
    sig = data["sigmoid_dendrite"]
    index = int(np.argmin(np.abs(sig["alpha"] - float(sig["alpha_shown"]))))
    _surface(
        figure.add_subplot(1, 3, 2, projection="3d"),
        data["orientation"],
        data["phase"],
        sig["responses"][index],
        title=f"sigmoid dendrite (λ = {float(sig['lambda']):g}, α = {sig['alpha'][index]:g})",
    )
    axis = figure.add_subplot(1, 3, 3)
    for alpha, curve in zip(sig["alpha"], _phase_tuning(sig["responses"]), strict=True):
        axis.plot(data["phase"], curve, lw=1, label=f"{alpha:g}")
    _phase_axis(axis, data["phase"])
    axis.set_xlabel("stimulus phase")
    axis.set_ylabel("normalised response")
    axis.set_title("sigmoid dendrite: phase tuning for each α")
    axis.legend(title=_ALPHA, fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    return figure


def draw_simple_complex_hierarchical(data: dict[str, Any]) -> Figure:
    """Supplementary Fig 4: input pre-filtered by a cortical Gabor."""
    hier = data["hierarchical"]
    figure = plt.figure(figsize=(11, 4.8))
    axis = figure.add_subplot(1, 2, 1)
    axis.imshow(hier["prefilter"], cmap="gray")
    axis.set_title("cortical pre-filter")
    axis.axis("off")
    _surface(
        figure.add_subplot(1, 2, 2, projection="3d"),
        data["orientation"],
        data["phase"],
        hier["responses"],
        title=f"hierarchical input, λ = {float(hier['lambda']):g}, α = {float(hier['alpha']):g}\n"
        f"modulation {_modulation_text(hier)}",
    )
    return figure


# ---------------------------------------------------------------------------
# Experiment 2
# ---------------------------------------------------------------------------


def _figure_levels(data: dict[str, Any]) -> list[int]:
    levels = data["noise_level"]
    wanted = data.get("figure_levels", levels[:5])
    chosen = sorted({int(np.argmin(np.abs(levels - w))) for w in wanted})
    return chosen


def draw_perturbations_filters(data: dict[str, Any]) -> Figure:
    """Fig 4a: perturbed filters and the response surfaces they produce (repetition 0)."""
    chosen = _figure_levels(data)
    columns = len(chosen)
    figure = plt.figure(figsize=(3.6 * columns, 7.5))
    for c, index in enumerate(chosen):
        axis = figure.add_subplot(2, columns, c + 1)
        axis.imshow(data["example_filters"][index, 0], cmap="gray")
        axis.set_title(f"w0, noise {data['noise_level'][index]:g} × max|w0|")
        axis.axis("off")
        _surface(
            figure.add_subplot(2, columns, columns + c + 1, projection="3d"),
            data["orientation"],
            data["phase"],
            data["responses"][index, 0],
            title=f"noise level {data['noise_level'][index]:g}",
        )
    return figure


def draw_perturbations_summary(data: dict[str, Any]) -> Figure:
    """Fig 4b and tuning: modulation ratio, phase MSE, tuning width over noise level."""
    levels = data["noise_level"]
    figure, axes = plt.subplots(1, 4, figsize=(19, 4.3))
    ratios = [("modulation_ratio", _grid_phases_label(data["phase"]))]
    if "modulation_ratio_full_cycle" in data:
        ratios.append(("modulation_ratio_full_cycle", "full cycle"))
    for (name, label), marker in zip(ratios, "ox", strict=False):
        ratio = data[name]
        axes[0].errorbar(
            levels, np.nanmean(ratio, 1), np.nanstd(ratio, 1), marker=marker, capsize=3, label=label
        )
    axes[0].legend(title="phases", fontsize=8)
    axes[0].set_ylabel("modulation ratio (max-min)/max")
    axes[0].set_title("phase modulation at the preferred orientation")
    mse = data["mse_phase"]
    axes[1].errorbar(levels, mse.mean(1), mse.std(1), marker="s", color="tab:red", capsize=3)
    axes[1].set_ylabel("mean squared error")
    axes[1].set_title("phase response vs unperturbed (Fig 4b)")
    hwhm = data["tuning_hwhm_deg"]
    axes[2].errorbar(
        levels, np.nanmean(hwhm, 1), np.nanstd(hwhm, 1), marker="D", color="tab:purple", capsize=3
    )
    axes[2].set_ylabel("orientation tuning HWHM (deg)")
    axes[2].set_title("orientation tuning width")
    for axis in axes[:3]:
        axis.set_xlabel("noise level (× max|w0|)")
        axis.grid(alpha=0.3)
    colours = plt.cm.viridis(np.linspace(0, 1, levels.size))
    for level, curves, colour in zip(levels, data["orientation_tuning"], colours, strict=True):
        axes[3].plot(data["orientation"], np.nanmean(curves, 0), color=colour, label=f"{level:g}")
    _angle_axis(axes[3])
    axes[3].set_xlabel("stimulus orientation")
    axes[3].set_ylabel("normalised response (mean over repetitions)")
    axes[3].set_title("orientation tuning (max over phase)")
    axes[3].legend(title="noise", fontsize=7, ncol=2)
    return figure


# ---------------------------------------------------------------------------
# Experiment 3
# ---------------------------------------------------------------------------


def draw_input_statistics_fit(data: dict[str, Any]) -> Figure:
    """Fig 5: SI under dense vs sparse noise, model and Fournier et al. (2011), with fits."""
    figure = plt.figure(figsize=(13, 5.2))
    grid = figure.add_gridspec(2, 3, width_ratios=[1, 1, 2.6])
    names = [_text(n) for n in data["noise"]]
    for i, name in enumerate(names):
        axis = figure.add_subplot(grid[i, 0])
        axis.imshow(data["example_stimuli"][i], cmap="gray", vmin=0, vmax=2)
        axis.set_title(f"{name} noise")
        axis.axis("off")
    axis = figure.add_subplot(grid[:, 1:])
    x = np.linspace(0, 1, 201)
    mean = data["simpleness_index_mean"]
    k_model = float(data["k_model"])
    k_exp = float(data["k_experiment"])
    axis.scatter(mean[0], mean[1], marker="^", s=70, facecolors="none", color="m", label="model")
    for lam, xs, ys in zip(data["lambda"], mean[0], mean[1], strict=True):
        axis.annotate(f"{lam:g}", (xs, ys), xytext=(4, -10), textcoords="offset points", fontsize=7)
    axis.plot(
        x, analysis.fournier_curve(x, k_model), "--", color="m", label=f"fit, k = {k_model:.2f}"
    )
    exp = data["experiment"]
    axis.scatter(
        exp["si_sparse_noise"],
        exp["si_dense_noise"],
        s=40,
        facecolors="none",
        color="tab:orange",
        label="Fournier et al. 2011",
    )
    axis.plot(
        x,
        analysis.fournier_curve(x, k_exp),
        "--",
        color="tab:orange",
        label=f"fit, k = {k_exp:.2f}",
    )
    axis.plot(x, x, color="gray", lw=0.8)
    axis.set_xlim(-0.03, 1.03)
    axis.set_ylim(-0.03, 1.03)
    axis.set_aspect("equal")
    axis.set_xlabel("simpleness index, sparse noise")
    axis.set_ylabel("simpleness index, dense noise")
    axis.set_title("SI_dense = x / (x + (1/k)² (1 - x)); model points labelled by λ")
    axis.legend(loc="lower right", fontsize=8)
    return figure


# ---------------------------------------------------------------------------
# Experiment 4
# ---------------------------------------------------------------------------


def draw_contrast_modulation_depth(data: dict[str, Any]) -> Figure:
    """Fig 6: modulation depth vs contrast, model settings and Meffin et al."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    percent = 100 * data["contrast"]
    main = int(data["main_setting"])
    exp = data["experiment"]
    for axis in (left, right):
        axis.plot(
            100 * exp["contrast"],
            exp["modulation_depth"],
            "o-",
            color="tab:red",
            lw=2,
            label="Meffin et al. (experiment)",
        )
    for i, depth in enumerate(data["modulation_depth"]):
        label = (
            f"{_LAMBDA}={data['setting_lambda'][i]:g}, pa2m={data['setting_pa2m'][i]:g}, "
            f"exp={data['setting_rate_exponent'][i]:g}"
        )
        left.plot(percent, depth, marker=".", lw=1, label=label)
    right.plot(
        percent, data["modulation_depth"][main], "v-", color="m", label="thalamic input (main)"
    )
    if "hierarchical" in data:
        right.plot(
            percent,
            data["hierarchical"]["modulation_depth"],
            "o-",
            color="tab:orange",
            label="cortical input (hierarchical)",
        )
    left.set_title("all (λ, pa2m, rate exponent) settings")
    right.set_title(
        f"main setting λ={data['setting_lambda'][main]:g}, pa2m={data['setting_pa2m'][main]:g}, "
        f"exp={data['setting_rate_exponent'][main]:g}"
    )
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks([4, 8, 16, 32, 64, 100])
        axis.set_xticklabels(["4", "8", "16", "32", "64", "100"])
        axis.set_ylim(0, 1.05)
        axis.set_xlabel("contrast (%)")
        axis.set_ylabel("modulation depth (max-min)/max")
        axis.grid(alpha=0.3)
    left.legend(fontsize=6.5)
    right.legend(fontsize=8)
    return figure


# ---------------------------------------------------------------------------
# Experiment 5
# ---------------------------------------------------------------------------


def _sweep(data: dict[str, Any], name: str) -> np.ndarray:
    return np.flatnonzero(np.array([_text(s) for s in data["sweep"]]) == name)


def draw_orientation_sharpening_surfaces(data: dict[str, Any]) -> Figure:
    """Fig 7a: surfaces of the unit preferring 0 over the lambda1 sweep."""
    settings = _sweep(data, "lambda1")
    figure = plt.figure(figsize=(4.2 * len(settings), 4.2))
    for c, s in enumerate(settings):
        _surface(
            figure.add_subplot(1, len(settings), c + 1, projection="3d"),
            data["orientation"],
            data["phase"],
            data["responses"][s, 0],
            title=f"λ1 = {data['lambda1'][s]:g}, λ2 = {data['lambda2'][s]:g}",
            colour="tab:blue",
        )
    return figure


def draw_orientation_sharpening_tuning(data: dict[str, Any]) -> Figure:
    """Figs 7b, 7c: tuning at phase 0 over the lambda2 and alpha2 sweeps."""
    figure, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    fine = data["fine_orientation"]
    for axis, name, key in ((axes[0], "lambda2", "λ2"), (axes[1], "alpha2", "α2")):
        for s in _sweep(data, name):
            curve = analysis.rectify(data["fine_tuning"][s])
            value = data[name][s]
            hwhm = data["tuning_hwhm_deg"][s]
            axis.plot(fine, curve / curve.max(), label=f"{key} = {value:g} (HWHM {hwhm:.1f}°)")
        _angle_axis(axis)
        axis.set_xlabel("stimulus orientation")
        axis.set_ylabel("normalised response (phase 0)")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    first = _sweep(data, "lambda2")[:1]
    if first.size:
        s = first[0]
        axes[0].set_title(f"λ1 = {data['lambda1'][s]:g}, α2 = {data['alpha2'][s]:g}: sweep of λ2")
    first = _sweep(data, "alpha2")[:1]
    if first.size:
        s = first[0]
        axes[1].set_title(f"λ1 = {data['lambda1'][s]:g}, λ2 = {data['lambda2'][s]:g}: sweep of α2")
    labels = [f"{_text(s)}={data[_text(s)][i]:g}" for i, s in enumerate(data["sweep"])]
    axes[2].bar(np.arange(len(labels)), data["tuning_hwhm_deg"], color="tab:blue")
    axes[2].set_xticks(np.arange(len(labels)))
    axes[2].set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    axes[2].set_ylabel("HWHM (deg)")
    axes[2].set_title("orientation tuning half-width at half maximum")
    return figure


# ---------------------------------------------------------------------------
# Experiment 6
# ---------------------------------------------------------------------------


_RF_NOTE = (
    "receptive field dv/dx at the fixed point; slope of |x|^pa2m capped at |x| = {floor:g} "
    "(the exact slope is unbounded where the stimulus is ~0)"
)


def _field(axis: Any, image: np.ndarray, title: str) -> None:
    limit = np.abs(image).max() or 1.0
    axis.imshow(image, cmap="gray", vmin=-limit, vmax=limit)
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])


def draw_receptive_field_gratings(data: dict[str, Any]) -> Figure:
    """Supplementary Fig 2: receptive fields measured with gratings."""
    lambdas = data["lambda"]
    names = [_text(n) for n in data["grating"]]
    figure, axes = plt.subplots(
        len(names), lambdas.size + 1, figsize=(3.2 * (lambdas.size + 1), 3.3 * len(names))
    )
    for i, name in enumerate(names):
        _field(axes[i, 0], data["stimuli"][i], f"{name} grating")
        for j, lam in enumerate(lambdas):
            _field(axes[i, j + 1], data["receptive_field_capped"][i, j], f"RF, λ = {lam:g}")
    figure.suptitle(_RF_NOTE.format(floor=float(data["slope_floor"])), fontsize=9)
    return figure


def draw_receptive_field_masked(data: dict[str, Any]) -> Figure:
    """Supplementary Fig 3: masked Gabor, centre/surround probes, RFs and responses."""
    masked = data["masked"]
    lambdas = masked["lambda"]
    probes = [_text(p) for p in masked["probe"]]
    columns = lambdas.size + 1
    figure = plt.figure(figsize=(3.2 * columns + 5, 3.2 * len(probes)))
    grid = figure.add_gridspec(len(probes), columns + 1, width_ratios=[1] * columns + [1.8])
    for i, name in enumerate(probes):
        _field(figure.add_subplot(grid[i, 0]), masked["stimuli"][i], name)
        for j, lam in enumerate(lambdas):
            _field(
                figure.add_subplot(grid[i, j + 1]),
                masked["receptive_field_capped"][i, j],
                f"RF, λ = {lam:g}",
            )
    figure.suptitle(_RF_NOTE.format(floor=float(data["slope_floor"])), fontsize=9)
    axis = figure.add_subplot(grid[:, -1])
    order = [1, 0, 2]  # surround, centre, both (as in the supplement)
    for j, lam in enumerate(lambdas):
        axis.plot(
            np.arange(3) + 0.1 * (j - 0.5),
            masked["relative_response"][order, j],
            marker="D" if j == 0 else "o",
            ms=9,
            ls="none",
            label=f"λ = {lam:g}",
        )
    axis.set_xticks(np.arange(3))
    axis.set_xticklabels([probes[k].split()[0] for k in order])
    axis.set_ylabel("rectified response / response to S1")
    axis.yaxis.set_label_position("right")
    axis.set_title("responses")
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


#: Figure name (:data:`lfpflow.v1.FIGURES`) -> drawing function.
DRAW: dict[str, Callable[[dict[str, Any]], Figure]] = {
    "simple_complex_surfaces": draw_simple_complex_surfaces,
    "simple_complex_phase_tuning": draw_simple_complex_phase_tuning,
    "simple_complex_modulation_map": draw_simple_complex_modulation_map,
    "simple_complex_controls": draw_simple_complex_controls,
    "simple_complex_hierarchical": draw_simple_complex_hierarchical,
    "perturbations_filters": draw_perturbations_filters,
    "perturbations_summary": draw_perturbations_summary,
    "input_statistics_fit": draw_input_statistics_fit,
    "contrast_modulation_depth": draw_contrast_modulation_depth,
    "orientation_sharpening_surfaces": draw_orientation_sharpening_surfaces,
    "orientation_sharpening_tuning": draw_orientation_sharpening_tuning,
    "receptive_field_gratings": draw_receptive_field_gratings,
    "receptive_field_masked": draw_receptive_field_masked,
}
