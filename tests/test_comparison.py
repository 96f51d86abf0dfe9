"""lfpflow.signals.comparison: fit scores, low-pass filter and quantiles on known signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lfpflow.signals import comparison

REPO = Path(__file__).resolve().parents[1]

TARGETS = {
    "median_r2_LFP": 0.8,
    "median_r2_CDM_z": 0.9,
    "std_ratio_min": 0.8,
    "std_ratio_max": 1.25,
}


def _zero_mean(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random walks with each channel's time average removed exactly."""
    x = rng.normal(size=shape).cumsum(axis=-1)
    return x - x.mean(axis=-1, keepdims=True)


def test_signal_against_itself_scores_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4000)).cumsum(axis=1)
    for score in (
        comparison.coefficient_of_determination,
        comparison.correlation,
        comparison.squared_correlation,
        comparison.std_ratio,
    ):
        assert np.allclose(score(x, x), 1.0, rtol=0, atol=1e-12), score.__name__


def test_scale_and_offset_change_the_coefficient_of_determination_not_the_correlation() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4000)).cumsum(axis=1)
    y = 3.0 * x + 7.0
    assert np.allclose(comparison.correlation(x, y), 1.0, atol=1e-12)
    assert np.allclose(comparison.squared_correlation(x, y), 1.0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, y), 3.0, atol=1e-12)
    # the prediction is scored as it is: the residual includes scale and offset
    assert (comparison.coefficient_of_determination(x, y) < -3.0).all()
    # compare_channels removes each signal's mean (the offset), not the scale:
    # y = 3 x (zero mean) gives 1 - (1 - 3)^2 = -3
    result = comparison.compare_channels(x, y)
    assert np.allclose(result["r2"], -3.0, atol=1e-9)
    assert np.allclose(comparison.compare_channels(x, x + 7.0)["r2"], 1.0, atol=1e-12)


def test_sign_flipped_prediction_is_caught_by_r2_and_correlation() -> None:
    rng = np.random.default_rng(3)
    x = _zero_mean(rng, (4, 50_000))
    # SS_res = sum((x - (-x))^2) = 4 SS_tot, so 1 - 4 = -3
    assert np.allclose(comparison.coefficient_of_determination(x, -x), -3.0, rtol=0, atol=1e-12)
    assert np.allclose(comparison.correlation(x, -x), -1.0, rtol=0, atol=1e-12)
    # the sign-blind scores: the squared correlation and the std ratio
    assert np.allclose(comparison.squared_correlation(x, -x), 1.0, rtol=0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, -x), 1.0, rtol=0, atol=1e-12)
    result = comparison.compare_channels(x, -x)
    assert result["median_r2"] == pytest.approx(-3.0)
    assert result["median_correlation"] == pytest.approx(-1.0)
    assert result["median_squared_correlation"] == pytest.approx(1.0)
    independent = rng.normal(size=x.shape)
    assert np.all(np.abs(comparison.correlation(x, independent)) < 0.05)


@pytest.mark.parametrize("a", [-1.0, -0.5, 0.0, 0.5, 0.9, 1.0, 1.2, 2.0])
def test_scaled_prediction_has_r2_one_minus_one_minus_a_squared(a: float) -> None:
    rng = np.random.default_rng(4)
    x = _zero_mean(rng, (3, 10_000))
    # SS_res = (1 - a)^2 SS_tot for zero-mean signals
    expected = 1.0 - (1.0 - a) ** 2
    assert np.allclose(comparison.coefficient_of_determination(x, a * x), expected, atol=1e-12)
    assert np.allclose(comparison.compare_channels(x, a * x)["r2"], expected, atol=1e-12)
    if a != 0.0:
        assert np.allclose(comparison.correlation(x, a * x), np.sign(a), atol=1e-12)


def test_r2_is_two_r_s_minus_s_squared() -> None:
    # with the means removed: r2 = 2 r s - s^2 = r^2 - (r - s)^2 (r correlation,
    # s std ratio), so r2 <= r^2 and r2 >= t > 0 implies r >= sqrt(t)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(30, 2000)).cumsum(axis=1)
    y = rng.uniform(-2, 2, size=(30, 1)) * x + rng.normal(scale=5.0, size=x.shape) + 3.0
    result = comparison.compare_channels(x, y)
    r, s = np.asarray(result["correlation"]), np.asarray(result["std_ratio"])
    r2 = np.asarray(result["r2"])
    assert np.allclose(r2, 2 * r * s - s**2, atol=1e-9)
    assert np.all(r2 <= r**2 + 1e-12)
    assert (r2 >= 0.5).any() and (r2 < 0).any()
    assert np.all(r[r2 >= 0.5] >= np.sqrt(0.5) - 1e-12)
    assert np.allclose(result["squared_correlation"], r**2)


@pytest.mark.parametrize("noise_sd", [0.5, 1.0, 2.0])
def test_signal_plus_independent_noise_has_the_expected_scores(noise_sd: float) -> None:
    rng = np.random.default_rng(7)
    n_channels, n_samples, signal_sd = 20, 200_000, 1.0
    x = rng.normal(scale=signal_sd, size=(n_channels, n_samples))
    y = x + rng.normal(scale=noise_sd, size=x.shape)
    expected_r2 = signal_sd**2 / (signal_sd**2 + noise_sd**2)
    expected_ratio = np.sqrt(signal_sd**2 + noise_sd**2) / signal_sd
    assert np.allclose(comparison.squared_correlation(x, y), expected_r2, atol=0.01)
    assert np.allclose(comparison.std_ratio(x, y), expected_ratio, rtol=0.01)
    # the noise is residual: coefficient of determination 1 - noise_sd^2 / signal_sd^2
    expected_cod = 1.0 - noise_sd**2 / signal_sd**2
    # (sampling error of SS_res / SS_tot: about 0.5 % of noise_sd^2 / signal_sd^2)
    tolerance = 0.02 * noise_sd**2
    cod = comparison.coefficient_of_determination(x, y)
    assert np.allclose(cod, expected_cod, atol=tolerance)
    summary = comparison.compare_channels(x, y)
    assert summary["median_r2"] == pytest.approx(expected_cod, abs=tolerance)
    assert summary["median_squared_correlation"] == pytest.approx(expected_r2, abs=0.01)
    for name in comparison.SCORES:
        assert summary[f"q10_{name}"] <= summary[f"median_{name}"] <= summary[f"q90_{name}"]
        assert len(summary[name]) == n_channels


def test_constant_signal_gives_nan_not_an_error() -> None:
    x = np.ones((2, 100))
    y = np.vstack([np.arange(100.0), np.ones(100)])
    # a constant truth: every score NaN
    assert np.isnan(comparison.coefficient_of_determination(x, y)).all()
    assert np.isnan(comparison.correlation(x, y)).all()
    assert np.isnan(comparison.squared_correlation(x, y)).all()
    assert np.isnan(comparison.std_ratio(x, y)).all()
    # a constant prediction: no correlation, R² 0 (as good as the truth's mean)
    z = np.vstack([np.arange(100.0), -np.arange(100.0)])
    assert np.isnan(comparison.correlation(z, np.ones((2, 100)))).all()
    assert np.allclose(comparison.compare_channels(z, np.ones((2, 100)))["r2"], 0.0)
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
        comparison.coefficient_of_determination(np.zeros((2, 10)), np.zeros((3, 10)))


def test_compare_all_and_targets() -> None:
    rng = np.random.default_rng(5)
    truth = {
        "LFP": rng.normal(size=(4, 4000)),
        "CDM": rng.normal(size=(3, 4000)),
        "EEG": rng.normal(size=(2, 4000)),
    }
    result = comparison.compare_all(truth, truth, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0)
    assert set(result) == {"LFP", "CDM_z", "EEG"}
    for name in comparison.SCORES:
        assert len(result["CDM_z"][name]) == 1
        assert len(result["LFP"]["filtered"][name]) == 4
    assert all(comparison.meets_targets(result, TARGETS).values())
    # half the amplitude: the std ratio fails, and so does R² = 1 - 0.5^2 = 0.75
    half = {k: v * 0.5 for k, v in truth.items()}
    result = comparison.compare_all(truth, half, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0)
    assert result["LFP"]["median_r2"] == pytest.approx(0.75)
    assert result["LFP"]["median_squared_correlation"] == pytest.approx(1.0)
    met = comparison.meets_targets(result, TARGETS)
    assert met == {"median_r2_LFP": False, "median_r2_CDM_z": False, "std_ratio": False}


def test_sign_flipped_prediction_fails_the_targets() -> None:
    # (on main before issue 13 "r2" was the squared correlation and -x met every target)
    rng = np.random.default_rng(6)
    truth = {
        "LFP": rng.normal(size=(4, 4000)).cumsum(axis=1),
        "CDM": rng.normal(size=(3, 4000)).cumsum(axis=1),
        "EEG": rng.normal(size=(2, 4000)).cumsum(axis=1),
    }
    settings = {"dt_ms": 0.125, "transient_ms": 10.0, "cutoff_Hz": 100.0}
    same = comparison.compare_all(truth, truth, **settings)
    assert comparison.meets_targets(same, TARGETS) == {
        "median_r2_LFP": True,
        "median_r2_CDM_z": True,
        "std_ratio": True,
    }
    flipped = comparison.compare_all(truth, {k: -v for k, v in truth.items()}, **settings)
    for signal in ("LFP", "CDM_z", "EEG"):
        for part in (flipped[signal], flipped[signal]["filtered"]):
            assert part["median_r2"] == pytest.approx(-3.0)
            assert part["median_correlation"] == pytest.approx(-1.0)
            assert part["median_squared_correlation"] == pytest.approx(1.0)
            assert part["median_std_ratio"] == pytest.approx(1.0)
    met = comparison.meets_targets(flipped, TARGETS)
    assert met == {"median_r2_LFP": False, "median_r2_CDM_z": False, "std_ratio": True}


# ---------------------------------------------------------------- ground-truth files
