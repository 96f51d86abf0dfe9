"""Recovery and calibration of a posterior on held-out simulations (numpy only).

For held-out draws (z_j, x_j) from the prior and posterior samples given x_j:

- recovery: R^2 between the posterior mean and the truth, per parameter
  (1 - sum (mean - truth)^2 / sum (truth - mean truth)^2, in prior space);
- coverage: the fraction of truths inside the central credible interval of
  level 1 - a (the a/2 and 1 - a/2 quantiles of the marginal samples) for a
  range of levels; a calibrated posterior covers level q with fraction q;
- simulation-based calibration ranks (Talts et al. 2018): the rank of the
  truth among the samples, uniform on 0..n for a calibrated posterior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Credible levels of the coverage curve; 0.5 and 0.9 are the reported ones.
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def r_squared(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column (draws x parameters)."""
    residual = np.sum((estimate - truth) ** 2, axis=0)
    total = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
    return 1.0 - residual / total


def coverage(truth: np.ndarray, samples: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Fraction of truths in the central intervals (levels x parameters).

    Parameters
    ----------
    truth : numpy.ndarray
        Draws x parameters.
    samples : numpy.ndarray
        Draws x samples x parameters.
    levels : sequence of float
        Credible levels in (0, 1).
    """
    result = np.empty((len(levels), truth.shape[1]))
    for k, level in enumerate(levels):
        low = np.quantile(samples, (1 - level) / 2, axis=1)
        high = np.quantile(samples, (1 + level) / 2, axis=1)
        result[k] = np.mean((truth >= low) & (truth <= high), axis=0)
    return result


def sbc_ranks(truth: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Rank of each truth among its samples (draws x parameters, 0..n)."""
    return np.sum(samples < truth[:, np.newaxis, :], axis=1)


def in_hpd_region(log_prob_truth: float, log_prob_samples: np.ndarray, level: float) -> bool:
    """Whether a point lies in the highest-posterior-density region of ``level``.

    The region {z : q(z) >= c} holds mass ``level`` when c is the (1 - level)
    quantile of q over samples of q.
    """
    return bool(log_prob_truth >= np.quantile(log_prob_samples, 1.0 - level))


def validation_summary(
    names: Sequence[str],
    truth: np.ndarray,
    samples: np.ndarray,
    targets: Mapping[str, float],
    recoverable: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Recovery, coverage, ranks and whether the targets are met.

    Parameters
    ----------
    names : sequence of str
        Parameter names.
    truth : numpy.ndarray
        Draws x parameters (prior space).
    samples : numpy.ndarray
        Draws x samples x parameters (prior space).
    targets : Mapping
        ``r2_min`` and ``coverage_tolerance``.
    recoverable : sequence of bool, optional
        Per parameter, whether the R^2 target applies (default: all); the
        coverage target applies to every parameter.

    Returns
    -------
    dict
        ``n_test``, ``n_samples``, ``r2`` and ``coverage_50``, ``coverage_90``
        by parameter, ``coverage_curve`` (levels and fractions),
        ``sbc_rank_uniformity_p`` (chi-square test of the rank histogram, 10
        bins) by parameter, and ``targets_met``.
    """
    from scipy.stats import chisquare

    r2 = r_squared(truth, samples.mean(axis=1))
    curve = coverage(truth, samples, LEVELS)
    ranks = sbc_ranks(truth, samples)
    n_samples = samples.shape[1]
    uniformity = {}
    for p, name in enumerate(names):
        counts = np.histogram(ranks[:, p], bins=10, range=(0, n_samples + 1))[0]
        uniformity[name] = float(chisquare(counts).pvalue)
    cov50 = curve[LEVELS.index(0.5)]
    cov90 = curve[LEVELS.index(0.9)]
    tolerance = float(targets["coverage_tolerance"])
    recoverable = [True] * len(names) if recoverable is None else list(recoverable)
    met_r2 = {
        name: bool(r2[p] >= targets["r2_min"]) for p, name in enumerate(names) if recoverable[p]
    }
    met_cov = {
        name: bool(abs(cov50[p] - 0.5) <= tolerance and abs(cov90[p] - 0.9) <= tolerance)
        for p, name in enumerate(names)
    }
    return {
        "n_test": int(truth.shape[0]),
        "n_samples": int(n_samples),
        "space": "prior space: the value for uniform priors, ln(value) for log-uniform ones",
        "r2": {name: float(r2[p]) for p, name in enumerate(names)},
        "coverage_50": {name: float(cov50[p]) for p, name in enumerate(names)},
        "coverage_90": {name: float(cov90[p]) for p, name in enumerate(names)},
        "coverage_curve": {
            "levels": list(LEVELS),
            "coverage": {name: curve[:, p].tolist() for p, name in enumerate(names)},
        },
        "sbc_rank_uniformity_p": uniformity,
        "targets": dict(targets),
        "recoverable": {name: bool(recoverable[p]) for p, name in enumerate(names)},
        "targets_met": {
            "r2": met_r2,
            "coverage": met_cov,
            "all": bool(all(met_r2.values()) and all(met_cov.values())),
        },
    }
