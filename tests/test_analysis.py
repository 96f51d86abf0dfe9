"""Summary statistics against closed-form values."""

from __future__ import annotations

import numpy as np
import pytest

from lfpflow.signals.analysis import (
    mean_cv_isi,
    mean_rate_hz,
    mean_rates_Hz,
    power_spectrum,
    spectral_summary,
)
from lfpflow.signals.spikes import NetworkSpikes


def test_regular_spike_trains_have_zero_cv_and_known_rate():
    # 10 neurons firing every 20 ms (50 Hz) with different phases
    times = np.concatenate([np.arange(n, 1000, 20.0) for n in range(10)])
    senders = np.concatenate([np.full(np.arange(n, 1000, 20.0).size, n) for n in range(10)])
    cv, n = mean_cv_isi(times, senders, t_start_ms=0, t_stop_ms=1000)
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
    cv, n = mean_cv_isi(
        np.concatenate(times), np.concatenate(senders), t_start_ms=0, t_stop_ms=3000
    )
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


def test_mean_rates_of_every_population_count_spikes_in_the_half_open_window():
    spikes = NetworkSpikes(
        # E: 3 spikes in [100, 300) (the one at 300 ms and those before 100 ms do not count)
        # I: 1 spike; X: silent
        times_ms={
            "E": np.array([50.0, 99.9, 100.0, 150.0, 299.9, 300.0]),
            "I": np.array([10.0, 200.0]),
            "X": np.array([]),
        },
        senders={"E": np.array([0, 1, 2, 3, 0, 1]), "I": np.array([0, 1]), "X": np.array([])},
        population_sizes={"E": 6, "I": 2, "X": 3},
        tstop_ms=400.0,
        dt_ms=0.1,
        n_vp=1,
    )
    rates = mean_rates_Hz(spikes, t_start_ms=100.0, t_stop_ms=300.0)
    assert list(rates) == ["E", "I", "X"]
    # spikes / neurons / 0.2 s
    assert rates == pytest.approx({"E": 3 / 6 / 0.2, "I": 1 / 2 / 0.2, "X": 0.0}, rel=1e-12)


def _regular_spikes(rates_Hz: dict[str, float], tstop_ms: float, size: int = 10) -> NetworkSpikes:
    """Each neuron of each population firing regularly at its rate over [0, tstop)."""
    times, senders = {}, {}
    for name, rate in rates_Hz.items():
        train = np.arange(0.0, tstop_ms, 1000.0 / rate)
        times[name] = np.tile(train, size)
        senders[name] = np.repeat(np.arange(size), train.size)
    return NetworkSpikes(times, senders, dict.fromkeys(rates_Hz, size), tstop_ms, 0.0625, 1)


def test_summary_warns_when_the_network_rates_leave_the_kernels_assumptions(caplog):
    from lfpflow.config import stage_config
    from lfpflow.resolve import resolve_config
    from lfpflow.signals.analysis import RATE_MISMATCH_WARN, summarise

    config = stage_config(resolve_config({}), "analysis")
    tstop = config["simulation"]["tstop_ms"]
    assumed = config["kernels"]["presynaptic_rates_Hz"]  # E 2.3 Hz, I 4.9 Hz by default
    signals = {"t_ms": np.arange(round(tstop / 0.0625)) * 0.0625}
    # E 25 % above its assumed rate, I within the threshold: one warning, about E
    rates = {"E": 1.25 * assumed["E"], "I": (1 + RATE_MISMATCH_WARN / 2) * assumed["I"]}
    with caplog.at_level("WARNING"):
        summary = summarise(
            spikes=_regular_spikes(rates, tstop), signals=signals, signal_units={}, config=config
        )
    measured = {name: entry["mean_rate_Hz"] for name, entry in summary["populations"].items()}
    assert measured == pytest.approx(rates, rel=0.05)  # whole spikes in the 1.8 s window
    difference = summary["populations"]["E"]["kernel_rate_relative_difference"]
    assert difference == pytest.approx(measured["E"] / assumed["E"] - 1, rel=1e-12)
    assert len(summary["warnings"]) == 1
    assert "kernels.presynaptic_rates_Hz.E = 2.3 Hz" in summary["warnings"][0]
    assert summary["warnings"][0] in caplog.text
    matching = summarise(
        spikes=_regular_spikes(dict(assumed), tstop),
        signals=signals,
        signal_units={},
        config=config,
    )
    assert matching["warnings"] == []


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"raster_window_ms": [400.0, 300.0]}, "analysis.raster_window_ms"),
        ({"bands_Hz": {"alpha": [12.0, 8.0]}}, "analysis.bands_Hz.alpha"),
        ({"psd_nperseg": 10**9}, "analysis.psd_nperseg"),
    ],
)
def test_check_analysis_names_the_key(tiny_config, changes, key):
    from lfpflow.signals.checks import check_analysis

    assert check_analysis(tiny_config) == []
    tiny_config["analysis"].update(changes)
    problems = check_analysis(tiny_config)
    assert len(problems) == 1 and problems[0].startswith(f"config key '{key}': ")
