"""Point-neuron network in NEST: reproducibility and the connectivity it builds."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lfpflow.config import stage_config
from lfpflow.pointneuron.network import _time_sender_order, nest_seed, simulate_network
from lfpflow.signals.spikes import read_spikes, write_spikes

pytestmark = pytest.mark.slow


@pytest.fixture
def small_config(tiny_config):
    """What the network rule receives: ``stage_config(config, "network")`` of a small run."""
    config = copy.deepcopy(tiny_config)
    config["populations"]["E"]["size"] = 200
    config["populations"]["I"]["size"] = 50
    config["simulation"]["tstop_ms"] = 300.0
    return stage_config(config, "network")


def test_the_stage_view_has_the_populations_under_network(small_config):
    populations = small_config["network"]["populations"]
    assert {name: p["size"] for name, p in populations.items()} == {"E": 200, "I": 50}
    assert set(populations["E"]) == {"size", "model", "params"}


def test_same_seed_gives_identical_spikes_other_seed_does_not(small_config):
    first = simulate_network(small_config)
    second = simulate_network(small_config)
    assert sum(t.size for t in first.times_ms.values()) > 100
    for name in first.times_ms:
        np.testing.assert_array_equal(first.times_ms[name], second.times_ms[name])
        np.testing.assert_array_equal(first.senders[name], second.senders[name])
    other = copy.deepcopy(small_config)
    other["seed"] += 1
    third = simulate_network(other)
    assert not np.array_equal(first.times_ms["E"], third.times_ms["E"])


def test_spikes_are_sorted_on_the_grid_and_in_range(small_config):
    spikes = simulate_network(small_config)
    dt = small_config["simulation"]["dt_ms"]
    for name, times in spikes.times_ms.items():
        assert np.all(np.diff(times) >= 0)
        np.testing.assert_allclose(times / dt, np.round(times / dt), atol=1e-9)
        assert spikes.senders[name].min() >= 0
        assert spikes.senders[name].max() < spikes.population_sizes[name]
    assert spikes.n_vp == small_config["simulation"]["n_vp"]


def test_connectivity_follows_the_configuration(small_config):
    import nest

    simulate_network(small_config)
    net = small_config["network"]
    sizes = {name: p["size"] for name, p in net["populations"].items()}
    first_ids = {"E": 1, "I": 1 + sizes["E"] + 1}  # each population is followed by its recorder
    for conn in net["connections"]:
        pre, post = conn["pre"], conn["post"]
        source = nest.NodeCollection(list(range(first_ids[pre], first_ids[pre] + sizes[pre])))
        target = nest.NodeCollection(list(range(first_ids[post], first_ids[post] + sizes[post])))
        synapses = nest.GetConnections(source, target).get(["weight", "delay"])
        n_pairs = sizes[pre] * sizes[post]
        expected = conn["p"] * n_pairs
        # binomial count: 5 standard deviations
        assert abs(len(synapses["weight"]) - expected) < 5 * np.sqrt(expected * (1 - conn["p"]))
        weights = np.asarray(synapses["weight"])
        assert np.all(np.sign(weights) == np.sign(conn["weight_pA"])), "sign must be preserved"
        np.testing.assert_allclose(weights.mean(), conn["weight_pA"], rtol=0.01)
        np.testing.assert_allclose(weights.std(), 0.1 * abs(conn["weight_pA"]), rtol=0.05)
        delays = np.asarray(synapses["delay"])
        # NEST rounds delays to the time grid: the floor is delay_min_ms on the grid
        dt = small_config["simulation"]["dt_ms"]
        assert delays.min() >= np.round(net["delay_min_ms"] / dt) * dt
        np.testing.assert_allclose(delays / dt, np.round(delays / dt), atol=1e-9)
        # redrawn normal(d, d/2) truncated at 0.3 ms: mean slightly above d
        assert conn["delay_ms"] < delays.mean() < 1.1 * conn["delay_ms"]


def test_spikes_file_round_trip(tmp_path, small_config):
    spikes = simulate_network(small_config)
    path = tmp_path / "spikes.h5"
    write_spikes(path, spikes, config=small_config)
    back = read_spikes(path)
    assert back.population_sizes == spikes.population_sizes
    assert back.n_vp == spikes.n_vp and back.dt_ms == spikes.dt_ms
    for name in spikes.times_ms:
        np.testing.assert_array_equal(back.times_ms[name], spikes.times_ms[name])
        np.testing.assert_array_equal(back.senders[name], spikes.senders[name])


@pytest.mark.parametrize("dt_ms", [0.0625, 0.1])
def test_time_sender_order_is_lexsort_s_order(dt_ms):
    """The one-key sort of the spikes equals np.lexsort by (time, sender), on the
    grid (dt a power of two) and off it (the lexsort fallback)."""
    rng = np.random.default_rng(3)
    size = 1000
    times = np.round(rng.uniform(0.0, 500.0, 20_000) / dt_ms) * dt_ms
    times[:50] = times[50:100]  # equal times ...
    senders = rng.integers(0, size, times.size)
    senders[:10] = senders[50:60]  # ... and equal (time, sender) pairs
    order = _time_sender_order(times, senders, size, dt_ms)
    expected = np.lexsort((senders, times))
    np.testing.assert_array_equal(times[order], times[expected])
    np.testing.assert_array_equal(senders[order], senders[expected])
    off_grid = times + 1e-3
    np.testing.assert_array_equal(
        _time_sender_order(off_grid, senders, size, dt_ms), np.lexsort((senders, off_grid))
    )
    assert _time_sender_order(np.empty(0), np.empty(0, dtype=np.int64), size, dt_ms).size == 0


def test_nest_seed_is_in_range_and_spreads_neighbours():
    seeds = [nest_seed(s) for s in range(100)]
    assert all(1 <= s <= 2**31 - 1 for s in seeds)
    assert len(set(seeds)) == 100


def test_ring_weights_follow_the_gaussian_of_angular_distance():
    from lfpflow.pointneuron.network import ring_weights

    weights = ring_weights(100, 20, w0=5.0, sigma_deg=14.4)
    assert weights.shape == (20, 100)
    # post j sits at 18 j degrees, pre i at 3.6 i degrees: post 0 and pre 0 coincide
    assert weights[0, 0] == 5.0
    # pre 4 is 14.4 deg from post 0: w0 / e
    np.testing.assert_allclose(weights[0, 4], 5.0 / np.e, rtol=1e-12)
    # distance wraps around the ring: pre 96 is also 14.4 deg away
    np.testing.assert_allclose(weights[0, 96], weights[0, 4], rtol=1e-12)
    np.testing.assert_allclose(weights[:, 0], ring_weights(100, 20, w0=5.0, sigma_deg=14.4)[:, 0])


def _isolated_config(small_config, model, params=None):
    config = copy.deepcopy(small_config)
    config["network"]["connections"] = [
        {
            "pre": "E",
            "post": "E",
            "rule": "pairwise_bernoulli",
            "p": 0.0,
            "delay_ms": 1.0,
            "weight_pA": 1.0,
        }
    ]
    config["network"]["drive"]["n_ext"] = {}
    for name in ("E", "I"):
        config["network"]["populations"][name] = {
            "size": 10,
            "model": model,
            "params": params or {},
        }
    return config


@pytest.mark.parametrize("model", ["lif", "hh", "glif2", "alif", "iaf_cond_exp", "izhikevich2003"])
def test_dc_input_drives_only_the_targeted_neurons(small_config, model):
    config = _isolated_config(small_config, model)
    config["network"]["inputs"] = {
        "E": [{"type": "dc", "amplitude_pA": 2000.0, "start_ms": 50.0, "neurons": [2, 7]}]
    }
    if model in ("iaf_cond_exp", "izhikevich2003"):
        config["network"]["connections"][0] = {
            "pre": "E",
            "post": "E",
            "rule": "pairwise_bernoulli",
            "p": 0.0,
            "delay_ms": 1.0,
            ("weight_nS" if model == "iaf_cond_exp" else "weight_mV"): 1.0,
        }
    spikes = simulate_network(config)
    assert set(np.unique(spikes.senders["E"])) == {2, 7}
    assert spikes.times_ms["E"].min() >= 50.0
    assert spikes.times_ms["I"].size == 0


def test_glif_receives_recurrent_and_poisson_input_through_its_port(small_config):
    config = copy.deepcopy(small_config)
    for name in ("E", "I"):
        config["network"]["populations"][name]["model"] = "glif2"
        config["network"]["populations"][name]["params"] = {}
    config["network"]["drive"]["weight_pA"] = 60.0
    spikes = simulate_network(config)
    assert spikes.times_ms["E"].size > 0 and spikes.times_ms["I"].size > 0


def test_population_order_in_the_config_does_not_change_spikes(small_config):
    reordered = copy.deepcopy(small_config)
    populations = reordered["network"]["populations"]
    reordered["network"]["populations"] = {name: populations[name] for name in ("I", "E")}
    first, second = simulate_network(small_config), simulate_network(reordered)
    for name in ("E", "I"):
        np.testing.assert_array_equal(first.times_ms[name], second.times_ms[name])
