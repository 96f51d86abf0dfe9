"""The Potjans & Diesmann (2014) microcircuit: rule, scaling, weights, delays, config.

Numbers checked here against the paper (Cereb Cortex 24:785, Table 5, Eq. 1)
and the reference implementation's documented parameters (PyPI package
``microcircuit`` 1.0); the NEST tests build small scaled versions of
config/microcircuit.yaml (a few seconds each).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from lfpflow.config import ConfigError, default_config, load_yaml, stage_config
from lfpflow.config.schema import merge_overlay
from lfpflow.pointneuron.scaling import (
    compensating_dc,
    full_in_degrees,
    pd_total_synapses,
    scaled_network_totals,
)
from lfpflow.resolve import resolve_config

NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
#: PD Table 5 sizes.
PD_SIZES = dict(zip(NAMES, (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948), strict=True))
#: PD Table 5 external in-degrees.
PD_K_EXT = dict(zip(NAMES, (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100), strict=True))
W_PA = 87.81  # 0.15 mV PSP peak for C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms


@pytest.fixture(scope="module")
def microcircuit_overlay(repo) -> dict:
    return load_yaml(repo / "config" / "microcircuit.yaml")


def resolved(overlay: dict, **sections: dict) -> dict:
    """The overlay resolved, with ``sections`` merged over it."""
    return resolve_config(merge_overlay(copy.deepcopy(overlay), sections))


def small(overlay: dict, scale: float, k_scale: float, tstop_ms: float) -> dict:
    """Network stage view of a small microcircuit run."""
    config = resolved(
        overlay,
        network={"scale": scale, "k_scale": k_scale},
        simulation={"tstop_ms": tstop_ms, "transient_ms": 0.0, "n_vp": 2},
        analysis={"psd_nperseg": 256, "raster_window_ms": [0.0, tstop_ms]},
    )
    return stage_config(config, "network")


# --- configuration -------------------------------------------------------------


def test_the_overlay_resolves_to_the_pd_circuit(microcircuit_overlay):
    config = resolve_config(microcircuit_overlay)
    populations = config["populations"]
    assert {name: p["size"] for name, p in populations.items()} == PD_SIZES
    assert sum(PD_SIZES.values()) == 77169
    params = populations["L5E"]["params"]
    assert params == {
        "C_m": 250.0,
        "tau_m": 10.0,
        "E_L": -65.0,
        "V_th": -50.0,
        "V_reset": -65.0,
        "t_ref": 2.0,
        "tau_syn_ex": 0.5,
        "tau_syn_in": 0.5,
    }
    net = config["network"]
    assert net["drive"]["n_ext"] == PD_K_EXT
    assert net["drive"]["nu_ext_Hz"] == 8.0
    assert all(c["rule"] == "fixed_total_number" for c in net["connections"])
    dt = config["simulation"]["dt_ms"]
    assert math.log2(dt) == round(math.log2(dt))
    assert (config["simulation"]["tstop_ms"], config["simulation"]["transient_ms"]) == (1500, 500)
    # ~0.3 billion synapses (PD: "approximately 0.3 billion")
    view = stage_config(config, "network")["network"]
    assert sum(scaled_network_totals(view).n_synapses.values()) == 298_880_970


def test_node_order_defaults_to_the_existing_layout(microcircuit_overlay):
    assert default_config()["simulation"]["node_order"] == "interleaved"
    assert resolve_config(microcircuit_overlay)["simulation"]["node_order"] == "neurons_first"
    with pytest.raises(ConfigError, match="node_order"):
        resolved(microcircuit_overlay, simulation={"node_order": "random"})


def test_weights_follow_pd_table_5(microcircuit_overlay):
    connections = resolve_config(microcircuit_overlay)["network"]["connections"]
    weights = {(c["pre"], c["post"]): c["weight_pA"] for c in connections}
    for (pre, post), weight in weights.items():
        if (pre, post) == ("L4E", "L23E"):
            assert weight == pytest.approx(2 * W_PA)  # doubled (PD Table 5)
        elif pre.endswith("E"):
            assert weight == pytest.approx(W_PA)
        else:
            assert weight == pytest.approx(-4 * W_PA)  # g = -4
    delays = {c["pre"][-1]: c["delay_ms"] for c in connections}
    assert delays == {"E": 1.5, "I": 0.8}


@pytest.mark.parametrize(
    ("sections", "key", "text"),
    [
        ({"network": {"scale": 0.0}}, "network.scale", ""),
        ({"network": {"scale": 1.5}}, "network.scale", ""),
        ({"network": {"scale": 1e-4}}, "network.scale", "empty"),
        ({"network": {"k_scale_rates_Hz": {"L23E": 1.0, "L7E": 1.0}}}, "L7E", "allowed values"),
        ({"network": {"v_init": {"X": {"mean_mV": -60.0, "sd_mV": 1.0}}}}, "v_init.X", "allowed"),
    ],
)
def test_bad_scaling_settings_are_rejected(microcircuit_overlay, sections, key, text):
    with pytest.raises(ConfigError, match=key) as error:
        resolved(microcircuit_overlay, **sections)
    assert text in str(error.value)


def test_unknown_rule_names_the_allowed_ones(microcircuit_overlay):
    overlay = copy.deepcopy(microcircuit_overlay)
    overlay["network"]["connections"][0]["rule"] = "fixed_indegree"
    with pytest.raises(ConfigError, match="fixed_total_number"):
        resolve_config(overlay)


def test_fixed_total_number_needs_p_below_one(microcircuit_overlay):
    overlay = copy.deepcopy(microcircuit_overlay)
    overlay["network"]["connections"][0]["p"] = 1.0
    with pytest.raises(ConfigError, match=r"connections\[0\]\.p.*below 1"):
        resolve_config(overlay)


def test_k_scale_needs_rates_and_the_fixed_total_number_rule(microcircuit_overlay):
    overlay = copy.deepcopy(microcircuit_overlay)
    overlay["network"]["k_scale"] = 0.5
    del overlay["network"]["k_scale_rates_Hz"]["L5I"]
    overlay["network"]["connections"][0]["rule"] = "pairwise_bernoulli"
    with pytest.raises(ConfigError) as error:
        resolve_config(overlay)
    message = str(error.value)
    assert "network.k_scale_rates_Hz.L5I" in message
    assert "network.connections[0].rule" in message


# --- rule and scaling (no simulator) -------------------------------------------


def test_total_synapses_is_pd_equation_1():
    # PD Eq. 1 for L2/3E -> L2/3E, C = 0.1009
    n = PD_SIZES["L23E"]
    expected = math.log(1 - 0.1009) / math.log(1 - 1 / n**2)
    assert pd_total_synapses(0.1009, n, n) == pytest.approx(expected, rel=1e-6)
    # small populations: the formula is exact in the sense that it inverts
    # C = 1 - (1 - 1/(N_pre N_post))^K
    k = pd_total_synapses(0.3, 7, 11)
    assert 1 - (1 - 1 / 77) ** k == pytest.approx(0.3, rel=1e-12)
    assert pd_total_synapses(0.0, 7, 11) == 0.0


def test_scale_and_k_scale_scale_sizes_counts_and_weights(microcircuit_overlay):
    full = stage_config(resolve_config(microcircuit_overlay), "network")["network"]
    reference = scaled_network_totals(full)
    assert reference.weight_factor == 1.0
    assert set(reference.dc_pA.values()) == {0.0}
    view = small(microcircuit_overlay, 0.1, 0.2, 100.0)["network"]
    scaled = scaled_network_totals(view)
    assert scaled.sizes == {name: round(size * 0.1) for name, size in PD_SIZES.items()}
    for index, total in full_in_degrees(view).items():
        post = view["connections"][index]["post"]
        assert scaled.n_synapses[index] == round(total * PD_SIZES[post] * 0.1 * 0.2)
    assert scaled.n_ext == {name: round(k * 0.2) for name, k in PD_K_EXT.items()}
    assert scaled.weight_factor == pytest.approx(1 / math.sqrt(0.2))
    # scale alone keeps the in-degrees: no DC
    only_n = small(microcircuit_overlay, 0.1, 1.0, 100.0)["network"]
    assert set(compensating_dc(only_n).values()) == {0.0}


def test_k_scale_scales_the_background_in_degree_and_weight(microcircuit_overlay):
    from lfpflow.pointneuron.network import network_inputs

    protocols = network_inputs(small(microcircuit_overlay, 0.1, 0.2, 100.0))
    for name in NAMES:
        (drive,) = protocols[name]
        assert drive["n_inputs"] == round(PD_K_EXT[name] * 0.2)
        assert drive["rate_Hz"] == 8.0
        assert drive["weight_pA"] == pytest.approx(W_PA / math.sqrt(0.2))
    full = network_inputs(stage_config(resolve_config(microcircuit_overlay), "network"))
    assert [p[0]["n_inputs"] for p in full.values()] == [PD_K_EXT[n] for n in full]


def test_dc_compensation_equals_the_analytic_value(microcircuit_overlay):
    view = small(microcircuit_overlay, 0.1, 0.1, 100.0)["network"]
    rates = view["k_scale_rates_Hz"]
    tau_ms, nu_ext = 0.5, 8.0
    mean_input = dict.fromkeys(NAMES, 0.0)  # pA ms / ms: sum w K nu tau, per ms
    for conn in view["connections"]:
        in_degree = pd_total_synapses(conn["p"], PD_SIZES[conn["pre"]], PD_SIZES[conn["post"]])
        in_degree /= PD_SIZES[conn["post"]]
        mean_input[conn["post"]] += conn["weight_pA"] * in_degree * rates[conn["pre"]]
    for name in NAMES:
        mean_input[name] += W_PA * PD_K_EXT[name] * nu_ext
        expected = 1e-3 * tau_ms * (1 - math.sqrt(0.1)) * mean_input[name]
        assert scaled_network_totals(view).dc_pA[name] == pytest.approx(expected, rel=1e-12)
    # the reference implementation's value for L2/3E at N = K = 0.1, Poisson
    # background (its helpers with 87.8085 pA; ours with 87.81 pA): 29.035 pA
    assert scaled_network_totals(view).dc_pA["L23E"] == pytest.approx(29.035, rel=1e-3)


# --- NEST ------------------------------------------------------------------------


def _pathway(nest, config, spikes, pre: str, post: str, fields: tuple[str, ...] = ()) -> Any:
    """The connections ``pre`` -> ``post`` (NEST SynapseCollection), or the
    requested ``fields`` of them as arrays (reading fields is slow in PyNEST,
    ~10 us per connection and field, so tests read few)."""
    interleaved = config["simulation"]["node_order"] == "interleaved"
    first, node = {}, 1
    for name in sorted(spikes.population_sizes):  # recorders interleaved or after all
        first[name] = node
        node += spikes.population_sizes[name] + (1 if interleaved else 0)

    def ids(name: str) -> Any:
        return nest.NodeCollection(
            list(range(first[name], first[name] + spikes.population_sizes[name]))
        )

    found = nest.GetConnections(ids(pre), ids(post))
    if not fields:
        return found
    values = found.get(list(fields))
    offsets = {"source": first[pre], "target": first[post]}
    return {key: np.asarray(values[key]) - offsets.get(key, 0) for key in fields}


@pytest.fixture(scope="module")
def built(microcircuit_overlay):
    """A scale-0.02 microcircuit (k_scale 0.1) simulated for 200 ms, and its view."""
    import nest

    from lfpflow.pointneuron.network import simulate_network

    config = small(microcircuit_overlay, 0.02, 0.1, 200.0)
    spikes = simulate_network(config)
    return nest, config, spikes


@pytest.mark.slow
def test_small_microcircuit_spikes_in_every_population(built):
    _, config, spikes = built
    assert set(spikes.times_ms) == set(NAMES)
    for name in NAMES:
        assert spikes.times_ms[name].size > 0, name
    assert spikes.population_sizes == scaled_network_totals(config["network"]).sizes


@pytest.mark.slow
def test_every_pathway_has_exactly_its_synapse_count_with_multapses_and_autapses(built):
    nest, config, spikes = built
    view = config["network"]
    scaled = scaled_network_totals(view)
    for index, conn in enumerate(view["connections"]):
        found = _pathway(nest, config, spikes, conn["pre"], conn["post"])
        assert len(found) == scaled.n_synapses[index], (conn["pre"], conn["post"])
    # L5I -> L5I: 21 neurons, 861 synapses: pairs repeat and neurons contact themselves
    l5i = _pathway(nest, config, spikes, "L5I", "L5I", ("source", "target"))
    pairs = l5i["source"] * 10_000 + l5i["target"]
    assert np.unique(pairs).size < pairs.size  # multapses
    assert np.any(l5i["source"] == l5i["target"])  # autapses


@pytest.mark.slow
def test_weights_are_scaled_normal_and_keep_their_sign(built):
    nest, config, spikes = built
    factor = 1 / math.sqrt(config["network"]["k_scale"])
    for (pre, post), mean in (
        (("L4E", "L23E"), 2 * W_PA),
        (("L23E", "L23E"), W_PA),
        (("L4I", "L4E"), -4 * W_PA),
    ):
        weights = _pathway(nest, config, spikes, pre, post, ("weight",))["weight"]
        assert np.all(np.sign(weights) == np.sign(mean))
        assert weights.mean() == pytest.approx(mean * factor, rel=0.01)
        assert weights.std() == pytest.approx(0.1 * abs(mean) * factor, rel=0.05)


@pytest.mark.slow
def test_delays_are_normal_redrawn_below_one_step(built):
    nest, config, spikes = built
    dt = config["simulation"]["dt_ms"]
    for pre, post, mean in (("L4E", "L4E", 1.5), ("L4I", "L4E", 0.8)):
        delays = _pathway(nest, config, spikes, pre, post, ("delay",))["delay"]
        assert delays.min() >= dt
        np.testing.assert_allclose(delays / dt, np.round(delays / dt), atol=1e-9)
        # normal(mean, mean / 2) truncated below dt: the mean moves up by
        # sd phi(a) / (1 - Phi(a)), a = (dt - mean) / sd
        sd = 0.5 * mean
        a = (dt - mean) / sd
        phi = math.exp(-(a**2) / 2) / math.sqrt(2 * math.pi)
        truncated_mean = mean + sd * phi / (1 - 0.5 * math.erfc(-a / math.sqrt(2)))
        assert delays.mean() == pytest.approx(truncated_mean, rel=0.03)
        assert delays.std() == pytest.approx(sd, rel=0.15)
