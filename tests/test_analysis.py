"""Summary statistics against closed-form values."""

from __future__ import annotations

import numpy as np

from lfpflow.signals.analysis import cv_isi, mean_rate_hz, power_spectrum, spectral_summary


def test_regular_spike_trains_have_zero_cv_and_known_rate():
    # 10 neurons firing every 20 ms (50 Hz) with different phases
    times = np.concatenate([np.arange(n, 1000, 20.0) for n in range(10)])
    senders = np.concatenate([np.full(np.arange(n, 1000, 20.0).size, n) for n in range(10)])
    cv, n = cv_isi(times, senders, t_start_ms=0, t_stop_ms=1000)
    assert n == 10
    assert cv == 0.0 or abs(cv) < 1e-12
    assert mean_rate_hz(times, 20, t_start_ms=0, t_stop_ms=1000) == 25.0  # 10 silent neurons


def test_poisson_spike_trains_have_cv_near_one():
    rng = np.random.default_rng(5)
    times, senders = [], []
    for neuron in range(200):
        train = np.cumsum(rng.exponential(10.0, 400))  # 100 Hz Poisson
        times.append(train)
        senders.append(np.full(train.size, neuron))
    cv, n = cv_isi(np.concatenate(times), np.concatenate(senders), t_start_ms=0, t_stop_ms=3000)
    assert n == 200
    # sd of the CV estimate from ~300 intervals is about 0.04 per neuron, 0.003 over 200
    assert abs(cv - 1.0) < 0.03


def test_spectral_peak_and_power_of_a_sinusoid():
    dt_ms = 0.5
    t_s = np.arange(20000) * dt_ms * 1e-3
    amplitude = 3.0
    values = np.vstack([amplitude * np.sin(2 * np.pi * 40.0 * t_s), np.sin(2 * np.pi * 7.0 * t_s)])
    freqs, psd = power_spectrum(values, dt_ms=dt_ms, nperseg=2000)
    summary = spectral_summary(freqs, psd, fmax_Hz=500.0, channel_names=["a", "b"])
    assert summary["peak_frequency_Hz"] == [40.0, 7.0]
    # power = variance = amplitude^2 / 2
    np.testing.assert_allclose(summary["power"], [amplitude**2 / 2, 0.5], rtol=0.02)
