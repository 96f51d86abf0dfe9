"""lfpflow.signals.comparison: R², std ratio, low-pass filter and quantiles on known signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lfpflow.signals import comparison

REPO = Path(__file__).resolve().parents[1]


def test_signal_against_itself_has_r2_one_and_std_ratio_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4000)).cumsum(axis=1)
    assert np.allclose(comparison.r_squared(x, x), 1.0, rtol=0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, x), 1.0, rtol=0, atol=1e-12)
    # offset and scale do not change R² (shape only) but do change the std ratio
    assert np.allclose(comparison.r_squared(x, 3.0 * x + 7.0), 1.0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, 3.0 * x + 7.0), 3.0, atol=1e-12)


@pytest.mark.parametrize("noise_sd", [0.5, 1.0, 2.0])
def test_signal_plus_independent_noise_has_the_expected_r2(noise_sd: float) -> None:
    rng = np.random.default_rng(7)
    n_channels, n_samples, signal_sd = 20, 200_000, 1.0
    x = rng.normal(scale=signal_sd, size=(n_channels, n_samples))
    y = x + rng.normal(scale=noise_sd, size=x.shape)
    expected_r2 = signal_sd**2 / (signal_sd**2 + noise_sd**2)
    expected_ratio = np.sqrt(signal_sd**2 + noise_sd**2) / signal_sd
    r2 = comparison.r_squared(x, y)
    assert np.allclose(r2, expected_r2, atol=0.01)
    assert np.allclose(comparison.std_ratio(x, y), expected_ratio, rtol=0.01)
    summary = comparison.compare_channels(x, y)
    assert summary["median_r2"] == pytest.approx(expected_r2, abs=0.01)
    assert summary["q10_r2"] <= summary["median_r2"] <= summary["q90_r2"]
    assert len(summary["r2"]) == n_channels


def test_anticorrelated_and_independent_signals() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=50_000)
    assert comparison.r_squared(x, -x)[0] == pytest.approx(1.0)
    assert comparison.r_squared(x, rng.normal(size=x.size))[0] < 1e-3


def test_constant_signal_gives_nan_not_an_error() -> None:
    x = np.ones((2, 100))
    y = np.vstack([np.arange(100.0), np.ones(100)])
    assert np.isnan(comparison.r_squared(x, y)).all()
    assert np.isnan(comparison.std_ratio(x, y)).all()
    assert np.isnan(comparison.summarise([np.nan, np.nan])["median"])


def test_lowpass_keeps_slow_and_removes_fast_sinusoids() -> None:
    dt_ms = 0.125
    t_s = np.arange(80_000) * dt_ms / 1000
    slow, fast = np.sin(2 * np.pi * 10 * t_s), np.sin(2 * np.pi * 1000 * t_s)
    filtered = comparison.lowpass(slow + fast, cutoff_Hz=100.0, dt_ms=dt_ms, order=4)
    inner = slice(4000, -4000)
    assert np.max(np.abs(filtered[inner] - slow[inner])) < 1e-3
    with pytest.raises(ValueError, match="cutoff_Hz"):
        comparison.lowpass(slow, cutoff_Hz=5000.0, dt_ms=dt_ms)


def test_compare_signal_drops_the_transient_and_filters() -> None:
    rng = np.random.default_rng(11)
    dt_ms, n = 0.125, 40_000
    x = comparison.lowpass(rng.normal(size=(3, n)), cutoff_Hz=50.0, dt_ms=dt_ms)
    y = x + 0.2 * rng.normal(size=x.shape)  # white noise: mostly above 100 Hz
    y[:, :800] += 100.0  # a wild transient, excluded
    result = comparison.compare_signal(
        x, y, dt_ms=dt_ms, transient_ms=200.0, cutoff_Hz=100.0, order=4
    )
    assert result["filtered"]["median_r2"] > result["median_r2"]
    assert result["filtered"]["median_r2"] > 0.9
    with pytest.raises(ValueError, match="transient"):
        comparison.compare_signal(x, y, dt_ms=dt_ms, transient_ms=1e6, cutoff_Hz=100.0)


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        comparison.r_squared(np.zeros((2, 10)), np.zeros((3, 10)))


def test_compare_all_and_targets() -> None:
    rng = np.random.default_rng(5)
    truth = {
        "LFP": rng.normal(size=(4, 4000)),
        "CDM": rng.normal(size=(3, 4000)),
        "EEG": rng.normal(size=(2, 4000)),
    }
    result = comparison.compare_all(truth, truth, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0)
    assert set(result) == {"LFP", "CDM_z", "EEG"}
    assert len(result["CDM_z"]["r2"]) == 1
    targets = {
        "median_r2_LFP": 0.8,
        "median_r2_CDM_z": 0.9,
        "std_ratio_min": 0.8,
        "std_ratio_max": 1.25,
    }
    assert all(comparison.meets_targets(result, targets).values())
    half = {k: v * 0.5 for k, v in truth.items()}
    met = comparison.meets_targets(
        comparison.compare_all(truth, half, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0),
        targets,
    )
    assert met == {"median_r2_LFP": True, "median_r2_CDM_z": True, "std_ratio": False}


# ---------------------------------------------------------------- ground-truth files
