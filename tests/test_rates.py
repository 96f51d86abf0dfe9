"""Spikes -> population spike counts per bin."""

from __future__ import annotations

import numpy as np
import pytest

from lfpflow.signals.rates import bin_starts, population_rates, spike_counts


def test_counts_land_in_their_bins_and_are_conserved():
    dt = 0.0625
    times = np.array([0.0, 0.0625, 0.0625, 0.1, 5.0, 9.9375])
    counts = spike_counts(times, 10.0, dt)
    assert counts.size == 160
    assert counts.sum() == times.size
    assert counts[0] == 1 and counts[1] == 3  # 0.0625, 0.0625 and 0.1 share bin 1
    assert counts[80] == 1 and counts[159] == 1


def test_spikes_outside_the_window_are_dropped():
    counts = spike_counts(np.array([-1.0, 10.0, 12.0, 3.0]), 10.0, 0.5)
    assert counts.sum() == 1 and counts[6] == 1


def test_grid_times_with_round_off_go_to_the_right_bin():
    dt = 0.1  # not a power of two: k * 0.1 has round-off
    k = np.arange(1, 100)
    counts = spike_counts(k * dt, 10.0, dt)
    np.testing.assert_array_equal(np.flatnonzero(counts), k)


def test_population_rates_match_a_histogram():
    rng = np.random.default_rng(1)
    spikes = {"E": np.sort(rng.uniform(0, 100, 1000)), "I": np.sort(rng.uniform(0, 100, 300))}
    t_ms, counts = population_rates(spikes, tstop_ms=100.0, dt_ms=0.25)
    np.testing.assert_allclose(t_ms, bin_starts(100.0, 0.25))
    assert t_ms[0] == 0.0 and t_ms[1] == 0.25  # bin k is [k dt, (k + 1) dt), labelled k dt
    for name, times in spikes.items():
        expected, _ = np.histogram(times, bins=np.arange(401) * 0.25)
        np.testing.assert_array_equal(counts[name], expected)


def test_a_downscaled_network_predicts_the_full_column():
    from lfpflow.signals.rates import full_column_counts

    counts = {"L4E": np.array([0.0, 2.0, 5.0])}
    np.testing.assert_array_equal(full_column_counts(counts, 0.1)["L4E"], [0.0, 20.0, 50.0])
    np.testing.assert_array_equal(full_column_counts(counts, 1.0)["L4E"], counts["L4E"])
    with pytest.raises(ValueError, match=r"network.scale must lie in \(0, 1\]"):
        full_column_counts(counts, 0.0)
