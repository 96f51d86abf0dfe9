"""Figures of the inference: posterior pair plot, predictive check, validation.

Every function returns a :class:`matplotlib.figure.Figure`; save it with
:func:`lfpflow.figures.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from lfpflow.figures import save_figure as save_figure

_POSTERIOR = "tab:blue"
_PRIOR = "0.6"
_TRUTH = "tab:red"


def _short(name: str) -> str:
    """The last two parts of a dotted key, three when one is a list index."""
    parts = name.split(".")
    keep = 3 if len(parts) >= 3 and parts[-2].isdigit() else 2
    return ".".join(parts[-keep:])


def _prior_density(kind: str, low: float, high: float, grid: np.ndarray) -> np.ndarray:
    """Prior density (1 / units) on ``grid``: flat, or 1 / (x ln(high/low))."""
    inside = (grid >= low) & (grid <= high)
    if kind == "log_uniform":
        return np.where(inside, 1.0 / (np.abs(grid) * np.log(high / low)), 0.0)
    return np.where(inside, 1.0 / (high - low), 0.0)


def posterior_pairs(posterior: Mapping[str, Any]) -> Figure:
    """Pair plot of the posterior samples over the prior box, the truth if known.

    Diagonal: posterior histogram (density) and prior density; below: 2-D
    histogram of each pair over the whole prior box; above: left empty.
    """
    theta, names = posterior["theta"], posterior["names"]
    low, high, kinds = posterior["low"], posterior["high"], posterior["kinds"]
    truth = posterior.get("truth")
    p = len(names)
    figure, axes = plt.subplots(p, p, figsize=(2.6 * p + 1, 2.6 * p + 0.6), squeeze=False)
    for i in range(p):
        for j in range(p):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(
                    theta[:, i],
                    bins=40,
                    range=(low[i], high[i]),
                    density=True,
                    color=_POSTERIOR,
                    alpha=0.7,
                    label="posterior",
                )
                grid = np.linspace(low[i], high[i], 200)
                ax.plot(
                    grid,
                    _prior_density(kinds[i], low[i], high[i], grid),
                    color=_PRIOR,
                    lw=2,
                    label="prior",
                )
                if truth is not None:
                    ax.axvline(truth[i], color=_TRUTH, lw=1.5, label="truth")
                ax.set_yticks([])
            else:
                ax.hist2d(
                    theta[:, j],
                    theta[:, i],
                    bins=40,
                    range=[[low[j], high[j]], [low[i], high[i]]],
                    cmap="Blues",
                )
                if truth is not None:
                    ax.plot(truth[j], truth[i], "*", color=_TRUTH, ms=12)
                ax.set_ylim(low[i], high[i])
            ax.set_xlim(low[j], high[j])
            if i == p - 1:
                ax.set_xlabel(_short(names[j]))
            if j == 0 and i > 0:
                ax.set_ylabel(_short(names[i]))
    axes[0, 0].legend(fontsize=7, loc="upper right")
    figure.suptitle(f"Posterior ({theta.shape[0]} samples) over the prior box")
    figure.tight_layout()
    return figure


def predictive_spectra(
    freqs_Hz: np.ndarray,
    observed_psd: np.ndarray,
    predicted_psd: np.ndarray,
    *,
    signal: str,
    units: str,
    fmax_Hz: float,
    channels: Sequence[int] | None = None,
) -> Figure:
    """Posterior predictive check: spectra of re-simulations over the observation's.

    Parameters
    ----------
    freqs_Hz : numpy.ndarray
        Frequencies (Hz).
    observed_psd : numpy.ndarray
        Channels x frequencies (units^2/Hz).
    predicted_psd : numpy.ndarray
        Draws x channels x frequencies.
    channels : sequence of int, optional
        Channel index of each row in the signal (``inference.channels``).
    """
    n_channels = observed_psd.shape[0]
    figure, axes = plt.subplots(1, n_channels, figsize=(3.6 * n_channels, 3.4), squeeze=False)
    band = (freqs_Hz > 0) & (freqs_Hz <= fmax_Hz)
    for c, ax in enumerate(axes[0]):
        low, median, high = np.percentile(predicted_psd[:, c, band], [5, 50, 95], axis=0)
        ax.fill_between(
            freqs_Hz[band],
            low,
            high,
            color=_POSTERIOR,
            alpha=0.3,
            label="posterior predictive 5-95 %",
        )
        ax.loglog(freqs_Hz[band], median, color=_POSTERIOR, label="predictive median")
        ax.loglog(freqs_Hz[band], observed_psd[c, band], color="k", lw=1.2, label="observation")
        ax.set_xlabel("frequency (Hz)")
        ax.set_title(f"{signal} channel {channels[c] if channels else c}")
    axes[0, 0].set_ylabel(f"PSD ({units}$^2$/Hz)")
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(f"Posterior predictive check ({predicted_psd.shape[0]} re-simulations)")
    figure.tight_layout()
    return figure


def validation(
    names: Sequence[str], truth: np.ndarray, samples: np.ndarray, summary: Mapping[str, Any]
) -> Figure:
    """Recovery (posterior mean and 90 % interval vs truth), coverage curve, SBC ranks.

    ``truth`` is draws x parameters, ``samples`` draws x samples x parameters,
    both in prior space.
    """
    p = len(names)
    figure, axes = plt.subplots(3, p, figsize=(3.4 * p, 9.6), squeeze=False)
    mean = samples.mean(axis=1)
    low, high = np.quantile(samples, [0.05, 0.95], axis=1)
    levels = np.asarray(summary["coverage_curve"]["levels"])
    n_samples = samples.shape[1]
    for k, name in enumerate(names):
        ax = axes[0, k]
        ax.errorbar(
            truth[:, k],
            mean[:, k],
            yerr=[mean[:, k] - low[:, k], high[:, k] - mean[:, k]],
            fmt="o",
            ms=3,
            color=_POSTERIOR,
            ecolor="0.75",
            elinewidth=0.8,
        )
        span = [truth[:, k].min(), truth[:, k].max()]
        ax.plot(span, span, color=_TRUTH, lw=1)
        ax.set_xlabel(f"true {_short(name)}")
        ax.set_ylabel("posterior mean, 90 % interval")
        expected = summary.get("recoverable", {}).get(name, True)
        ax.set_title(
            f"R$^2$ = {summary['r2'][name]:.3f}" + ("" if expected else " (weakly constrained)")
        )
        ax = axes[1, k]
        ax.plot([0, 1], [0, 1], color=_PRIOR, lw=1)
        ax.plot(levels, summary["coverage_curve"]["coverage"][name], "o-", color=_POSTERIOR)
        ax.set_xlabel("credible level")
        ax.set_ylabel("empirical coverage")
        ax.set_title(
            f"50 %: {summary['coverage_50'][name]:.2f}, 90 %: {summary['coverage_90'][name]:.2f}"
        )
        ax = axes[2, k]
        ranks = np.sum(samples[:, :, k] < truth[:, k][:, np.newaxis], axis=1)
        ax.hist(ranks, bins=10, range=(0, n_samples + 1), color=_POSTERIOR, alpha=0.7)
        ax.axhline(len(ranks) / 10, color=_PRIOR, lw=1.5)
        ax.set_xlabel(f"SBC rank of {_short(name)}")
        ax.set_ylabel("draws")
    figure.suptitle(f"Validation on {truth.shape[0]} held-out simulations from the prior")
    figure.tight_layout()
    return figure
