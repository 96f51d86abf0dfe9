"""lfpflow.multicompartment.groundtruth: the downscaled MC network (NEURON/LFPy) and its rules.

NEURON runs in a subprocess (this file run as a script, see ``__main__``), so
the pytest process loads no simulator and each worker has a fresh NEURON.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from lfpflow.config import ConfigError, kernel_description, load_yaml, stage_config
from lfpflow.formats.heads import sensor_maps
from lfpflow.multicompartment import cells, groundtruth, kernels
from lfpflow.multicompartment.groundtruth import network as gt_network
from lfpflow.multicompartment.groundtruth import simulation as gt_simulation
from lfpflow.resolve import load_config, resolve_config
from lfpflow.signals.spikes import NetworkSpikes, read_spikes, write_spikes

REPO = Path(__file__).resolve().parents[1]
MOD_DIR = REPO / "mod"
#: A few dozen cells (config/tiny.yaml at scale 0.1: 40 E + 10 I), 100 ms.
TINY_GROUNDTRUTH = {"scale": 0.1, "tstop_ms": 100.0, "transient_ms": 20.0, "n_threads": 2}


def _tiny_config(seed: int = 12345, **groundtruth_overrides) -> dict:
    """What the ground-truth rules get: ``stage_config(..., "groundtruth")`` of tiny.yaml."""
    config = load_yaml(REPO / "config" / "tiny.yaml")
    config["seed"] = seed
    config["groundtruth"] = dict(TINY_GROUNDTRUTH, **groundtruth_overrides)
    return stage_config(resolve_config(config), "groundtruth")


@pytest.fixture(scope="module")
def mechanisms_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cells.compile_mechanisms(MOD_DIR, tmp_path_factory.mktemp("nrn") / "mechanisms")


@pytest.fixture(scope="module")
def three_runs(mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Seed 1, seed 1 again (same process) and seed 2, simulated in one NEURON subprocess."""
    return _in_subprocess("runs", mechanisms_dir, tmp_path_factory)


def _in_subprocess(
    mode: str, mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """Run this file's ``mode`` in a fresh NEURON process; its arrays (one model per process)."""
    out = tmp_path_factory.mktemp("gt") / f"{mode}.npz"
    result = subprocess.run(
        [sys.executable, __file__, mode, str(mechanisms_dir), str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


# ---------------------------------------------------------------- no simulator


def test_scaled_network_keeps_in_degrees(tiny_config: dict) -> None:
    kcfg = kernel_description(tiny_config)
    scaled = groundtruth.scaled_network_probabilities(kcfg, 0.25)
    assert scaled["sizes"] == {"E": 100, "I": 25}
    for key, p in scaled["connection_probability"].items():
        pre = key.split(":")[1]
        full = kcfg["populations"][pre]["size"]
        assert p * scaled["sizes"][pre] == pytest.approx(kcfg["connection_probability"][key] * full)


def test_scaled_network_reports_probabilities_above_one_without_raising(tiny_config: dict) -> None:
    # stage code does not validate: the configuration checks read these numbers
    scaled = groundtruth.scaled_network_probabilities(kernel_description(tiny_config), 0.01)
    assert max(scaled["connection_probability"].values()) > 1


def test_too_small_scale_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"groundtruth\.scale"):
        resolve_config({"groundtruth": {"scale": 0.01}})
    config = load_yaml(REPO / "config" / "tiny.yaml")
    config["groundtruth"] = {"scale": 0.01}
    with pytest.raises(ConfigError, match=r"groundtruth\.scale.*use scale >= 0\.05"):
        resolve_config(config)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"transient_ms": 500.0, "tstop_ms": 100.0}, "groundtruth.transient_ms"),
        ({"tstop_ms": 100.01}, "groundtruth.tstop_ms"),
        ({"filter": {"cutoff_Hz": 9000.0}}, "groundtruth.filter.cutoff_Hz"),
        ({"scale": 0.02}, "groundtruth.scale"),
    ],
)
def test_inconsistent_groundtruth_config_names_the_key(change: dict, key: str) -> None:
    config = load_yaml(REPO / "config" / "tiny.yaml")
    config["groundtruth"] = dict(TINY_GROUNDTRUTH, **copy.deepcopy(change))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_config(config)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"scale": 2.0}, "groundtruth.scale"),
        ({"g_eff_rates": "guess"}, "groundtruth.g_eff_rates"),
        ({"n_threads": 0}, "groundtruth.n_threads"),
        ({"sclae": 0.1}, "groundtruth.sclae"),
    ],
)
def test_schema_rejects_bad_groundtruth_values(change: dict, key: str) -> None:
    config = load_yaml(REPO / "config" / "tiny.yaml")
    config["groundtruth"] = change
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_config(config)


def test_groundtruth_section_gets_defaults(tiny_config: dict) -> None:
    gt = tiny_config["groundtruth"]
    assert gt["g_eff_rates"] == "measured"
    assert gt["kernel_vrest"] == "measured"
    assert gt["soma"]["celsius_degC"] == pytest.approx(6.3)
    assert 0 < gt["scale"] <= 1


def test_groundtruth_kernel_config_scales_sizes_and_sets_rates(tiny_config: dict) -> None:
    kcfg = kernel_description(tiny_config)
    scaled = groundtruth.groundtruth_kernel_config(kcfg, 0.5, {"E": 3.0, "I": 7.0}, g_eff=False)
    assert scaled["populations"]["E"]["size"] == 200
    assert scaled["connection_probability"]["E:E"] == pytest.approx(0.1)
    assert scaled["presynaptic_rates_Hz"] == {"E": 3.0, "I": 7.0}
    assert scaled["g_eff"] is False
    assert kcfg["populations"]["E"]["size"] == 400  # not modified


def test_k_scale_lowers_in_degrees_and_raises_weights(tiny_config: dict) -> None:
    kcfg = kernel_description(tiny_config)
    k = 0.25
    scaled = groundtruth.scaled_network_probabilities(kcfg, 0.1, k)
    built = groundtruth.groundtruth_kernel_config(kcfg, 0.1, k_scale=k)
    for key, p in kcfg["connection_probability"].items():
        pre = key.split(":")[1]
        full_in_degree = p * kcfg["populations"][pre]["size"]
        assert scaled["in_degree"][key] == pytest.approx(k * full_in_degree)
        assert built["connection_probability"][key] * scaled["sizes"][pre] == pytest.approx(
            k * full_in_degree
        )
        assert built["weights_uS"][key] == pytest.approx(kcfg["weights_uS"][key] * 2.0)
    external = kcfg["external"]
    assert built["external"]["weight_uS"] == pytest.approx(external["weight_uS"] * 2.0)
    assert built["external"]["n_ext"] == {
        name: round(n * k) for name, n in external["n_ext"].items()
    }
    # k = 1 changes nothing (the default ground truth is built as before)
    unscaled = groundtruth.groundtruth_kernel_config(kcfg, 0.1)
    assert unscaled == groundtruth.groundtruth_kernel_config(kcfg, 0.1, k_scale=1.0)
    assert unscaled["weights_uS"] == kcfg["weights_uS"]
    assert unscaled["external"] == kcfg["external"]


def test_k_scale_makes_a_small_scale_valid_and_the_error_names_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"groundtruth\.k_scale <= 0\.1953"):
        resolve_config({"groundtruth": {"scale": 0.01}})
    resolved = resolve_config({"groundtruth": {"scale": 0.01, "k_scale": 0.19}})
    assert resolved["groundtruth"]["k_scale"] == 0.19
    for bad in (0.0, 1.5):
        with pytest.raises(ConfigError, match=r"groundtruth\.k_scale"):
            resolve_config({"groundtruth": {"k_scale": bad}})


def test_threads_fall_back_to_one_with_one_step_delays() -> None:
    # NEURON refuses threads when a delay is shorter than two time steps
    config = resolve_config({"groundtruth": {"n_threads": 2}})
    dt = config["simulation"]["dt_ms"]
    assert groundtruth.usable_threads(config) == 2
    config["kernels"]["delays"]["E:E"]["min_ms"] = 1.5 * dt
    assert groundtruth.usable_threads(config) == 1
    config["kernels"]["delays"]["E:E"]["min_ms"] = 2 * dt
    assert groundtruth.usable_threads(config) == 2


def test_peak_normalised_charge_is_the_integral_of_the_time_course() -> None:
    from lfpflow.multicompartment.groundtruth.compensation import peak_normalised_charge_ms

    for tau1, tau2 in ((0.05, 0.5), (0.2, 1.8), (0.1, 9.0)):
        t = np.linspace(0.0, 40 * tau2, 400_001)
        shape = np.exp(-t / tau2) - np.exp(-t / tau1)
        expected = np.trapezoid(shape / shape.max(), t)
        assert peak_normalised_charge_ms(tau1, tau2) == pytest.approx(expected, rel=1e-6)


def test_compensating_currents_give_back_the_lost_mean_input(tiny_config: dict) -> None:
    from lfpflow.multicompartment.groundtruth import compensation

    kcfg = kernel_description(tiny_config)
    k = 0.25
    n_seg = 7
    rng = np.random.default_rng(0)
    probabilities = {name: rng.dirichlet(np.ones(n_seg)) for name in ("E", "I", "external")}
    currents = compensation.compensating_currents_nA(kcfg, "E", k, probabilities)
    # by hand: in-degree x peak current x charge per unit peak x rate, per pathway
    expected = np.zeros(n_seg)
    for pre in ("E", "I"):
        synapse = kcfg["synapses"][pre]
        peak_nA = kcfg["weights_uS"][f"E:{pre}"] * (synapse["e_rev_mV"] - -65.0)
        charge = peak_nA * compensation.peak_normalised_charge_ms(
            synapse["tau1_ms"], synapse["tau2_ms"]
        )
        in_degree = kcfg["connection_probability"][f"E:{pre}"] * kcfg["populations"][pre]["size"]
        # synapses per connection: the normal (mean, sd) at 1..99 within [min, max]
        multapse = kcfg["multapses"][f"E:{pre}"]
        counts = np.arange(multapse["min"], multapse["max"] + 1)
        pdf = np.exp(-0.5 * ((counts - multapse["mean"]) / multapse["sd"]) ** 2)
        synapses = in_degree * float(counts @ pdf / pdf.sum())
        mean_nA = synapses * charge * kcfg["presynaptic_rates_Hz"][pre] / 1000.0
        expected += 0.5 * mean_nA * probabilities[pre]
    external = kcfg["external"]
    ext_charge = (external["weight_uS"] * (external["e_rev_mV"] + 65.0)) * (
        compensation.peak_normalised_charge_ms(external["tau1_ms"], external["tau2_ms"])
    )
    expected += (
        0.5
        * external["n_ext"]["E"]
        * external["nu_Hz"]
        / 1000.0
        * ext_charge
        * (probabilities["external"])
    )
    assert kcfg["cell"]["Vrest_mV"] == -65.0
    np.testing.assert_allclose(currents, expected, rtol=1e-12)
    assert not compensation.compensating_currents_nA(kcfg, "E", 1.0, probabilities).any()


def _network_spikes(sizes: dict, tstop_ms: float, seed: int = 0) -> NetworkSpikes:
    """Poisson spikes (20 Hz) of every neuron, on the 0.125 ms grid."""
    rng = np.random.default_rng(seed)
    times, senders = {}, {}
    for name, size in sizes.items():
        count = rng.poisson(20.0 * tstop_ms / 1000.0 * size)
        times[name] = np.round(rng.uniform(0.0, tstop_ms, count) / 0.125) * 0.125
        senders[name] = rng.integers(0, size, count)
    return NetworkSpikes(
        times_ms=times,
        senders=senders,
        population_sizes=dict(sizes),
        tstop_ms=tstop_ms,
        dt_ms=0.125,
        n_vp=1,
    )


def test_network_replay_takes_the_first_neurons_after_the_transient() -> None:
    spikes = _network_spikes({"E": 30, "I": 8}, 500.0)
    replay = groundtruth.network_replay(
        spikes, {"E": 10, "I": 3}, t_start_ms=100.0, duration_ms=300.0
    )
    for name, size in (("E", 10), ("I", 3)):
        times, senders = spikes.times_ms[name], spikes.senders[name]
        chosen = (senders < size) & (times >= 100.0) & (times < 400.0)
        assert replay[name]["times"].size == chosen.sum() > 0
        np.testing.assert_array_equal(np.sort(replay[name]["times"]), np.sort(times[chosen] - 100))
        assert replay[name]["senders"].max() < size
        assert np.all(np.diff(replay[name]["times"]) >= 0)
    with pytest.raises(ValueError, match="population I: the network has 8 neurons"):
        groundtruth.network_replay(spikes, {"E": 10, "I": 9}, t_start_ms=0.0, duration_ms=1.0)


def test_replaying_the_network_needs_enough_neurons_and_time() -> None:
    base = load_yaml(REPO / "config" / "tiny.yaml")
    base["groundtruth"] = {"scale": 0.5, "presynaptic_spikes": "network"}
    base["network"] = {"scale": 0.25}
    with pytest.raises(ConfigError, match=r"groundtruth\.scale.*needs 200 E neurons.*has 100"):
        resolve_config(base)
    base["network"] = {"scale": 1.0}
    base["groundtruth"]["tstop_ms"] = 10_000.0
    with pytest.raises(ConfigError, match=r"groundtruth\.tstop_ms.*simulation\.tstop_ms"):
        resolve_config(base)
    base["groundtruth"].update(tstop_ms=300.0, transient_ms=50.0)
    assert resolve_config(base)["groundtruth"]["presynaptic_spikes"] == "network"


def test_hybrid_overlay_adds_the_network_transient_to_the_groundtruth_scope() -> None:
    own = load_config(REPO / "config" / "microcircuit.yaml")
    hybrid = load_config(
        REPO / "config" / "microcircuit.yaml", REPO / "config" / "groundtruth_hybrid.yaml"
    )
    assert hybrid["groundtruth"]["presynaptic_spikes"] == "network"
    # the replay starts after the network's transient: a change of it must rerun the rules
    assert stage_config(hybrid, "groundtruth")["simulation"]["transient_ms"] == 500.0
    assert "transient_ms" not in stage_config(own, "groundtruth")["simulation"]


def test_segment_probabilities_follow_area_and_depth_density() -> None:
    area = np.array([1.0, 1.0, 2.0, 1.0])
    z = np.array([0.0, 100.0, 100.0, 1000.0])
    allowed = np.array([False, True, True, True])
    p = groundtruth.segment_probabilities(area, z, allowed, None)
    assert p == pytest.approx([0.0, 0.25, 0.5, 0.25])
    position = {"z_mean_um": [100.0], "z_sd_um": [10.0], "weights": [1.0]}
    p = groundtruth.segment_probabilities(area, z, allowed, position)
    assert p[1:3] == pytest.approx([1 / 3, 2 / 3]) and p[3] < 1e-12


def test_synapse_weighted_potential_weights_like_the_kernel(tiny_config: dict) -> None:
    kcfg = kernel_description(tiny_config)
    kcfg["populations"]["E"]["soma_z_sd_um"] = 75.0
    kcfg["synapse_positions"]["E:I"] = {
        "sections": ["apic"],
        "z_mean_um": [500.0],
        "z_sd_um": [100.0],
        "weights": [1.0],
    }
    z = np.array([0.0, 400.0, 500.0, 600.0, -100.0])
    mean_v = {
        "E": {
            "v_mV": np.array([-70.0, -61.0, -60.0, -59.0, -80.0]),
            "z_rel_um": z,
            "area_um2": np.array([100.0, 50.0, 50.0, 50.0, 50.0]),
            "section": np.array(["soma", "apic", "apic", "apic", "dend"]),
        }
    }
    # only apic segments count; symmetric about 500 um with equal areas -> -60 mV
    assert groundtruth.synapse_weighted_potential(kcfg, mean_v, "E", "I") == pytest.approx(-60.0)
    mean_v["E"]["v_mV"] = np.full(5, -63.5)
    potentials = groundtruth.linearisation_potentials(kcfg, mean_v | {"I": mean_v["E"]})
    assert set(potentials) == set(kcfg["connection_probability"])
    assert all(v == pytest.approx(-63.5) for v in potentials.values())


def test_groundtruth_kernel_config_sets_the_linearisation_potential(tiny_config: dict) -> None:
    kcfg = kernel_description(tiny_config)
    scaled = groundtruth.groundtruth_kernel_config(kcfg, 0.5, vrest_mV=-68.25)
    assert scaled["cell"]["Vrest_mV"] == -68.25
    assert kcfg["cell"]["Vrest_mV"] == -65.0


def test_pathway_kernel_config_reads_measured_rates_and_potential(tmp_path: Path) -> None:
    config = _tiny_config(g_eff_rates="measured", kernel_vrest="measured", scale=0.5)
    spikes = NetworkSpikes(
        # window [20, 100) ms: E 2 spikes on 4 cells, I 3 spikes on 2 cells (over 0.08 s)
        times_ms={"E": np.array([10.0, 20.0, 99.0, 100.0]), "I": np.array([30.0, 40.0, 50.0])},
        senders={"E": np.array([0, 1, 2, 3]), "I": np.array([0, 1, 0])},
        population_sizes={"E": 4, "I": 2},
        tstop_ms=100.0,
        dt_ms=config["simulation"]["dt_ms"],
        n_vp=1,
    )
    write_spikes(tmp_path / "spikes.h5", spikes, config=config)
    potentials = {"E:E": -57.5, "E:I": -61.25, "I:E": -59.0, "I:I": -60.0}
    with h5py.File(tmp_path / "truth.h5", "w") as h5:
        h5.attrs["linearisation_potential_mV"] = json.dumps(potentials)
    paths = {"spikes_path": tmp_path / "spikes.h5", "truth_path": tmp_path / "truth.h5"}
    kcfg = groundtruth.pathway_kernel_config(config, post="E", pre="I", **paths)
    assert kcfg["presynaptic_rates_Hz"] == pytest.approx({"E": 2 / 4 / 0.08, "I": 3 / 2 / 0.08})
    assert kcfg["cell"]["Vrest_mV"] == -61.25
    assert kcfg["populations"]["E"]["size"] == round(
        config["kernels"]["populations"]["E"]["size"] / 2
    )
    # configured values: neither file is read
    config = _tiny_config(g_eff_rates="config", kernel_vrest="config", scale=0.5)
    missing = {"spikes_path": tmp_path / "none.h5", "truth_path": tmp_path / "none.h5"}
    kcfg = groundtruth.pathway_kernel_config(config, post="E", pre="I", **missing)
    assert kcfg["presynaptic_rates_Hz"] == config["kernels"]["presynaptic_rates_Hz"]
    assert kcfg["cell"]["Vrest_mV"] == config["kernels"]["cell"]["Vrest_mV"]
    # current synapses: the kernels keep the MC network's currents, set at
    # Vrest_mV; a measured potential would rescale them by (e_rev - V) / (e_rev - Vrest)
    config = _tiny_config(g_eff_rates="config", kernel_vrest="measured", scale=0.5)
    config["kernels"]["synapse_type"] = "current"
    kcfg = groundtruth.pathway_kernel_config(config, post="E", pre="I", **missing)
    assert kcfg["cell"]["Vrest_mV"] == config["kernels"]["cell"]["Vrest_mV"]
    assert kernels._synapse_parameters(kcfg, "E", "I")["weight"] == pytest.approx(
        gt_network.synapse_weight(config["kernels"], "E:I", "I")
    )


def test_groundtruth_signals_and_attrs_of_a_result() -> None:
    config = _tiny_config()
    rng = np.random.default_rng(1)
    n = 50
    parts = {
        name: {"LFP": rng.normal(size=(13, n)), "CDM": rng.normal(size=(3, n))}
        for name in ("E", "I")
    }
    section = np.array(["soma", "apic", "dend"])
    mean_v = {
        name: {
            "v_mV": np.array([-70.0, -60.0, -65.0]),
            "soma_v_mV": np.array([-70.0, -66.0]),
            "z_rel_um": np.array([0.0, 300.0, -100.0]),
            "area_um2": np.ones(3),
            "section": section,
        }
        for name in ("E", "I")
    }
    result = {
        "t_ms": np.arange(n) * 0.1,
        "LFP": parts["E"]["LFP"] + parts["I"]["LFP"],
        "CDM": parts["E"]["CDM"] + parts["I"]["CDM"],
        "contributions": parts,
        "network": {
            "scale": 0.1,
            "k_scale": 1.0,
            "compensating_current_nA": {"E": 0.0, "I": 0.0},
            "sizes": {"E": 40, "I": 10},
            "connection_probability": {"E:E": 0.5},
            "in_degree": {"E:E": 20.0},
            "n_connections": {"E:E": 800},
            "n_synapses": {"E:E": 2400},
            "n_threads": 2,
            "mpi_ranks": 1,
            "tstop_ms": 5.0,
            "dt_ms": 0.1,
            "celsius_degC": 6.3,
        },
        "timings_s": {"build": 1.0, "simulate": 2.0},
        "max_relative_current_sum": 1e-13,
        "mean_v": mean_v,
    }
    forward = config["forward"]
    sensors = sensor_maps(forward["head_model"], forward["meg"])  # the montage is MNE's
    signals = groundtruth.groundtruth_signals(result, forward, sensors)
    contributions = signals["contributions"]
    assert set(contributions) == {"E", "I"}
    # the head model is linear: the EEG of the whole network is the sum of its parts
    np.testing.assert_allclose(
        contributions["E"]["EEG"] + contributions["I"]["EEG"], signals["EEG"], atol=1e-9
    )
    assert signals["EEG"].shape == (len(signals["electrodes_um"]), n)
    attrs = groundtruth.groundtruth_attrs(result, config["kernels"])
    assert attrs["timing_simulate_s"] == 2.0 and attrs["population_sizes"] == {"E": 40, "I": 10}
    assert attrs["mean_soma_potential_mV"] == {"E": -68.0, "I": -68.0}
    assert set(attrs["linearisation_potential_mV"]) == set(
        config["kernels"]["connection_probability"]
    )


def test_importing_groundtruth_loads_no_simulator() -> None:
    code = (
        "import sys, lfpflow.multicompartment.groundtruth, lfpflow.signals.comparison, "
        "lfpflow.figures.groundtruth; "
        "print(any(m in sys.modules for m in ('neuron', 'LFPy', 'nest')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# ---------------------------------------------------------------- NEURON


@pytest.mark.slow
def test_same_seed_gives_identical_outputs_and_another_seed_differs(three_runs: dict) -> None:
    a, b, c = ({k[2:]: v for k, v in three_runs.items() if k.startswith(p)} for p in "abc")
    assert a["E_times"].size > 0 and a["I_times"].size > 0, "the tiny network must spike"
    for key in b:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["LFP"], c["LFP"])
    assert not np.array_equal(a["E_times"], c["E_times"])


@pytest.mark.slow
def test_transmembrane_currents_sum_to_zero_every_step(three_runs: dict) -> None:
    # recorded membrane currents of a few cells, all segments, every step after t = 0
    for key in (k for k in three_runs if k.startswith("imem")):
        imem = three_runs[key][:, 1:]
        relative = np.abs(imem.sum(axis=0)) / np.abs(imem).sum(axis=0)
        assert relative.max() < 1e-9, key
        assert np.abs(imem).sum(axis=0).min() > 0
    # and the on-line check over every cell of the network
    assert three_runs["a_max_relative_current_sum"] < 1e-9


@pytest.mark.slow
def test_network_description_is_the_configured_one(three_runs: dict) -> None:
    sizes = json.loads(str(three_runs["a_network"]))
    assert sizes["sizes"] == {"E": 40, "I": 10}
    assert sizes["connection_probability"]["E:E"] == pytest.approx(0.5)
    assert sizes["n_threads"] == 2 and sizes["mpi_ranks"] == 1
    # in-degree from E onto E: 0.05 x 400 = 20 presynaptic cells on average
    assert sizes["n_connections"]["E:E"] / 40 == pytest.approx(20.0 * 39 / 40, rel=0.15)
    n_steps = round(TINY_GROUNDTRUTH["tstop_ms"] / 0.125)
    assert three_runs["a_LFP"].shape == (13, n_steps)
    assert three_runs["a_CDM"].shape == (3, n_steps)


@pytest.mark.slow
def test_linear_replay_is_reproduced_by_the_kernels(
    mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The MC network made exactly linear (passive membranes, current synapses,
    # no external drive) replaying the spikes of the active network: the
    # kernels of the same description must reproduce it. A mismatch between
    # the two routes' descriptions (numbers, weights, positions, delays, time
    # alignment) fails here; the nonlinearity of the real network cannot.
    runs = _in_subprocess("replay", mechanisms_dir, tmp_path_factory)
    assert runs["n_spikes_active"] > 0 and runs["n_spikes_replay"] == 0
    assert runs["replayed_events"] > 0
    for name in ("LFP", "CDM_z"):
        r2, ratio = runs[f"{name}_r2"], runs[f"{name}_std_ratio"]
        r = runs[f"{name}_correlation"]
        # (50 cells: the sampled connections and synapse positions of the MC
        # network leave a few % of finite-size difference to the population kernel;
        # R² is the coefficient of determination, so it also checks sign and amplitude)
        assert np.median(r2) > 0.9, (name, r2, r, ratio)
        assert np.median(r) > 0.965, (name, r2, r, ratio)
        assert 0.9 < np.median(ratio) < 1.1, (name, r2, r, ratio)
    # the active network's time-averaged potentials: between the inhibitory
    # reversal potential (-80 mV) and the spike threshold
    assert -80.0 < runs["v_soma_E"] < -10.0 and -80.0 < runs["v_apic_E"] < -10.0, (
        runs["v_soma_E"],
        runs["v_apic_E"],
    )


@pytest.mark.slow
def test_compensating_currents_keep_the_mean_potential_of_the_full_in_degrees(
    mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A linear MC network (passive, current synapses, no external drive)
    # replaying regular spike trains at kernels.presynaptic_rates_Hz: with a
    # quarter of the in-degrees, doubled weights and the compensating
    # currents, the time-averaged potential of every segment is that of the
    # full in-degrees (up to the sampled connections); without the currents it
    # keeps only sqrt(1/4) of the depolarisation.
    runs = _in_subprocess("compensation", mechanisms_dir, tmp_path_factory)
    for name in ("E", "I"):
        full, scaled, bare = (runs[f"{name}_{kind}"] for kind in ("full", "scaled", "bare"))
        size = np.abs(full).max()
        assert size > 0.5, (name, size)  # mV: the synapses move the potential
        assert np.abs(scaled - full).max() < 0.1 * size, (name, scaled - full)
        assert np.abs(bare - full).max() > 0.3 * size, (name, bare - full)
        np.testing.assert_allclose(bare, 0.5 * full, atol=0.1 * size)
    assert runs["compensation_E"] != 0  # nA per cell, recorded in the network summary


@pytest.mark.slow
def test_microcircuit_groundtruth_runs_small_with_k_scale(
    mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # config/microcircuit.yaml at 0.5 % of the neurons and 1 % of the in-degrees
    # (the smallest L5I, 5 cells, holds L5I -> L5E's 4.96 partners), 100 ms
    runs = _in_subprocess("microcircuit", mechanisms_dir, tmp_path_factory)
    network = json.loads(str(runs["network"]))
    full_kernels = kernel_description(load_config(REPO / "config" / "microcircuit.yaml"))
    sizes = {name: pop["size"] for name, pop in full_kernels["populations"].items()}
    assert network["sizes"] == {name: max(1, round(size * 0.005)) for name, size in sizes.items()}
    assert network["k_scale"] == 0.01
    for key, in_degree in network["in_degree"].items():
        assert network["connection_probability"][key] <= 1.0, key
        pre = key.split(":")[1]
        if in_degree > 0:
            full = full_kernels["connection_probability"][key] * sizes[pre]
            assert in_degree == pytest.approx(0.01 * full), key
    # every population receives excitatory background, so its compensating
    # current is depolarising; current conservation holds with the currents in
    assert all(value > 0 for value in network["compensating_current_nA"].values())
    assert runs["max_relative_current_sum"] < 1e-9
    assert runs["LFP"].shape == (16, 800)
    assert np.isfinite(runs["LFP"]).all() and np.abs(runs["LFP"]).max() > 0


@pytest.mark.slow
def test_hybrid_groundtruth_replays_the_network_spikes_on_passive_cells(
    mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runs = _in_subprocess("hybrid", mechanisms_dir, tmp_path_factory)
    # spikes.h5 of the ground truth holds the replayed spikes, the first
    # neurons of the network after its transient, shifted to start at 0
    for name in ("E", "I"):
        np.testing.assert_array_equal(runs[f"{name}_written"], runs[f"{name}_expected"])
        assert runs[f"{name}_written"].size > 0
    assert runs["replayed_events"] > 0
    assert str(runs["presynaptic_spikes"]) == "network"
    assert runs["lfp_std"] > 0


# ---------------------------------------------------------------- workflow

PROJECT_ITEMS = (
    "Snakefile",
    "workflow",
    "config",
    "mod",
    "morphologies",
    "profiles",
    "nestml",
    "environment.yml",
)


@pytest.mark.slow
def test_snakemake_groundtruth_target_on_tiny_config(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for item in PROJECT_ITEMS:
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, project / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / item)
    config = yaml.safe_load((project / "config" / "tiny.yaml").read_text())
    config["groundtruth"] = {
        "scale": 0.1,
        "tstop_ms": 150.0,
        "transient_ms": 50.0,
        "overlay_window_ms": [50.0, 150.0],
    }
    (project / "gt.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "groundtruth",
            "--cores",
            "2",
            "--configfile",
            "gt.yaml",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"),
    )
    assert result.returncode == 0, result.stderr[-5000:]
    out = project / "results" / "tiny" / "groundtruth"
    for name in (
        "spikes.h5",
        "signals.h5",
        "predicted.h5",
        "comparison.json",
        "figures/overlay.png",
        "figures/r2_depth.png",
        *[f"kernels/{a}_{b}.h5" for a in "EI" for b in "EI"],
    ):
        assert (out / name).is_file(), name
    n_steps = round(150.0 / config["simulation"]["dt_ms"])
    # one EEG row per electrode of the configured montage
    n_electrodes = len(load_config(project / "gt.yaml")["forward"]["head_model"]["electrodes"])
    units = {"t_ms": "ms", "LFP": "mV", "CDM": "nA*um", "EEG": "uV", "z_um": "um"}
    for name in ("signals.h5", "predicted.h5"):
        with h5py.File(out / name) as h5:
            for dataset, unit in units.items():
                assert h5[dataset].attrs["units"] == unit, (name, dataset)
            assert h5["LFP"].shape == (13, n_steps)
            assert h5["CDM"].shape == (3, n_steps)
            # one row per electrode of the configured montage
            assert h5["EEG"].shape[0] == n_electrodes
            for attr in (
                "config_sha256",
                "seed",
                "version_neuron",
                "scale",
                "population_sizes",
                "connection_probability",
                "n_threads",
                "mpi_ranks",
            ):
                assert attr in h5.attrs, (name, attr)
            assert json.loads(h5.attrs["population_sizes"]) == {"E": 40, "I": 10}
    with h5py.File(out / "signals.h5") as h5:
        assert set(h5["contributions"]) == {"E", "I"}
    with h5py.File(out / "predicted.h5") as h5:
        assert set(h5["contributions"]) == {"E_E", "E_I", "I_E", "I_I"}
    with h5py.File(out / "spikes.h5") as h5:
        assert h5["E/times"].attrs["units"] == "ms"
    comparison = json.loads((out / "comparison.json").read_text())
    for signal, channels in (("LFP", 13), ("CDM_z", 1), ("EEG", n_electrodes)):
        for part in (comparison[signal], comparison[signal]["filtered"]):
            for name in ("r2", "correlation", "squared_correlation", "std_ratio"):
                assert len(part[name]) == channels, (signal, name)
                assert part[f"q10_{name}"] <= part[f"median_{name}"] <= part[f"q90_{name}"]
            # R² is the coefficient of determination: <= 1, may be negative
            assert part["median_r2"] <= 1
            assert -1 <= part["median_correlation"] <= 1
            assert 0 <= part["median_squared_correlation"] <= 1
    assert set(comparison["populations"]) == {"E", "I"}
    # kernels linearised at the MC network's measured potentials, one per pathway
    network = comparison["network"]
    assert network["k_scale"] == 1.0 and network["presynaptic_spikes"] == "own"
    assert network["compensating_current_nA"] == {"E": 0.0, "I": 0.0}
    assert network["replayed_events"] == 0
    assert network["kernel_vrest"] == "measured"
    assert network["kernel_vrest_mV"] == network["linearisation_potential_mV"]
    assert set(network["kernel_vrest_mV"]) == {"E:E", "E:I", "I:E", "I:I"}
    assert all(-80.0 < v < -10.0 for v in network["kernel_vrest_mV"].values())
    assert set(network["mean_soma_potential_mV"]) == {"E", "I"}
    assert set(comparison["meets_targets"]) == {"median_r2_LFP", "median_r2_CDM_z", "std_ratio"}
    # the prediction follows the ground truth, if not (at this size) to the targets
    assert comparison["CDM_z"]["filtered"]["median_r2"] > 0.3
    assert comparison["CDM_z"]["filtered"]["median_correlation"] > 0.5
    for rule in (
        "groundtruth_simulate",
        "groundtruth_kernel_E_I",
        "groundtruth_predict",
        "groundtruth_compare",
        "groundtruth_figures",
    ):
        assert (project / "benchmarks" / "tiny" / f"{rule}.tsv").is_file(), rule


# ---------------------------------------------------------------- worker


def _runs_worker(mechanisms_dir: str, out: str) -> None:
    arrays = {}
    for prefix, seed in (("a", 1), ("b", 1), ("c", 2)):
        result = groundtruth.simulate_groundtruth(
            _tiny_config(seed=seed),
            mechanisms_dir=Path(mechanisms_dir),
            morphology_dir=REPO / "morphologies",
            record_imem_cells=3 if prefix == "a" else 0,
        )
        arrays[f"{prefix}_LFP"] = result["LFP"]
        arrays[f"{prefix}_CDM"] = result["CDM"]
        arrays[f"{prefix}_max_relative_current_sum"] = np.array(result["max_relative_current_sum"])
        for name, data in result["spikes"].items():
            arrays[f"{prefix}_{name}_times"] = data["times"]
            arrays[f"{prefix}_{name}_senders"] = data["senders"]
        if prefix == "a":
            for index, imem in enumerate(result["imem"]):
                arrays[f"imem{index}"] = imem
            net = {
                k: result["network"][k]
                for k in (
                    "sizes",
                    "connection_probability",
                    "n_connections",
                    "n_threads",
                    "mpi_ranks",
                )
            }
            arrays["a_network"] = np.array(json.dumps(net))
    np.savez(out, **arrays)


def _replay_worker(mechanisms_dir: str, out: str) -> None:
    from lfpflow.signals.comparison import compare_all
    from lfpflow.signals.forward import compute_signals
    from lfpflow.signals.head_models import sensor_signals
    from lfpflow.signals.rates import population_rates

    config = _tiny_config(seed=3, tstop_ms=200.0, transient_ms=40.0)
    common = {"mechanisms_dir": Path(mechanisms_dir), "morphology_dir": REPO / "morphologies"}
    active = groundtruth.simulate_groundtruth(config, record_mean_v=True, **common)
    linear = copy.deepcopy(config)
    linear["kernels"]["synapse_type"] = "current"
    linear["kernels"]["g_eff"] = False
    linear["kernels"]["external"]["n_ext"] = {"E": 0, "I": 0}
    replay = groundtruth.simulate_groundtruth(
        linear, active_soma=False, replay_spikes=active["spikes"], **common
    )
    kcfg = groundtruth.groundtruth_kernel_config(linear["kernels"], config["groundtruth"]["scale"])
    pathway_kernels = {
        (post, pre): kernels.compute_kernel(
            kcfg, post=post, pre=pre, dt_ms=config["simulation"]["dt_ms"], **common
        )
        for post in "EI"
        for pre in "EI"
    }
    times = {name: data["times"] for name, data in active["spikes"].items()}
    t_ms, counts = population_rates(
        times, tstop_ms=config["groundtruth"]["tstop_ms"], dt_ms=config["simulation"]["dt_ms"]
    )
    forward = config["forward"]
    sensors = sensor_maps(forward["head_model"], forward["meg"])  # the montage is MNE's
    predicted = compute_signals(
        t_ms, counts, pathway_kernels, sensors, dt_ms=config["simulation"]["dt_ms"]
    )
    truth = {"LFP": replay["LFP"], "CDM": replay["CDM"]}
    truth["EEG"] = sensor_signals(replay["CDM"], sensors)["EEG"]
    result = compare_all(
        truth,
        {k: predicted[k][..., : truth["LFP"].shape[1]] for k in ("LFP", "CDM", "EEG")},
        dt_ms=config["simulation"]["dt_ms"],
        transient_ms=config["groundtruth"]["transient_ms"],
        cutoff_Hz=100.0,
    )
    v_e = active["mean_v"]["E"]
    apic = v_e["section"] == "apic"
    np.savez(
        out,
        n_spikes_active=sum(d["times"].size for d in active["spikes"].values()),
        n_spikes_replay=sum(d["times"].size for d in replay["spikes"].values()),
        replayed_events=replay["network"]["replayed_events"],
        v_soma_E=v_e["soma_v_mV"].mean(),
        v_apic_E=float(v_e["area_um2"][apic] @ v_e["v_mV"][apic] / v_e["area_um2"][apic].sum()),
        **{
            f"{name}_{stat}": np.asarray(result[name][stat])
            for name in ("LFP", "CDM_z")
            for stat in ("r2", "correlation", "std_ratio")
        },
    )


def _compensation_worker(mechanisms_dir: str, out: str) -> None:
    config = _tiny_config(seed=5, scale=0.25, tstop_ms=300.0, transient_ms=60.0)
    kcfg = config["kernels"]
    kcfg["synapse_type"] = "current"
    kcfg["g_eff"] = False
    kcfg["external"]["n_ext"] = {"E": 0, "I": 0}
    # in-degrees 80 (E) and 20 (I), so that the sampled connections of the
    # k-scaled network (a quarter of them) average out to a few %
    kcfg["connection_probability"] = dict.fromkeys(kcfg["connection_probability"], 0.2)
    sizes = groundtruth.scaled_network_probabilities(kcfg, config["groundtruth"]["scale"])["sizes"]
    # regular trains at exactly the configured rates, random phase per cell
    rng = np.random.default_rng(11)
    replay = {}
    for name, size in sizes.items():
        period = 1000.0 / kcfg["presynaptic_rates_Hz"][name]
        phases = rng.uniform(0.0, period, size)
        times = (phases[:, None] + period * np.arange(int(300.0 / period) + 1)).ravel()
        senders = np.repeat(np.arange(size), int(300.0 / period) + 1)
        keep = times < 300.0
        replay[name] = {"times": times[keep], "senders": senders[keep]}
    common = {
        "mechanisms_dir": Path(mechanisms_dir),
        "morphology_dir": REPO / "morphologies",
        "record_mean_v": True,
        "active_soma": False,
        "replay_spikes": replay,
    }
    vrest = kcfg["cell"]["Vrest_mV"]
    arrays = {}
    runs = {"full": 1.0, "scaled": 0.25}
    for kind, k in runs.items():
        config["groundtruth"]["k_scale"] = k
        result = groundtruth.simulate_groundtruth(config, **common)
        for name, part in result["mean_v"].items():
            arrays[f"{name}_{kind}"] = part["v_mV"] - vrest
        if kind == "scaled":
            arrays["compensation_E"] = result["network"]["compensating_current_nA"]["E"]
    # the same k-scaled network without its compensating currents
    gt_simulation.compensate = lambda net, kernel_config, k_scale: None
    result = groundtruth.simulate_groundtruth(config, **common)
    for name, part in result["mean_v"].items():
        arrays[f"{name}_bare"] = part["v_mV"] - vrest
    np.savez(out, **arrays)


def _microcircuit_config() -> dict:
    groundtruth_section = {"scale": 0.005, "k_scale": 0.01, "tstop_ms": 100.0, "transient_ms": 20.0}
    config = load_config(
        REPO / "config" / "microcircuit.yaml", overrides={"groundtruth": groundtruth_section}
    )
    return stage_config(config, "groundtruth")


def _microcircuit_worker(mechanisms_dir: str, out: str) -> None:
    result = groundtruth.simulate_groundtruth(
        _microcircuit_config(),
        mechanisms_dir=Path(mechanisms_dir),
        morphology_dir=REPO / "morphologies",
    )
    keys = ("sizes", "k_scale", "in_degree", "connection_probability", "compensating_current_nA")
    network = {key: result["network"][key] for key in keys}
    np.savez(
        out,
        network=np.array(json.dumps(network)),
        LFP=result["LFP"],
        max_relative_current_sum=np.array(result["max_relative_current_sum"]),
    )


def _hybrid_worker(mechanisms_dir: str, out: str) -> None:
    config = _tiny_config(seed=7, tstop_ms=100.0, transient_ms=20.0, presynaptic_spikes="network")
    folder = Path(out).parent
    network = _network_spikes({"E": 400, "I": 100}, 400.0, seed=3)
    write_spikes(folder / "network.h5", network, config=config)
    groundtruth.simulate_groundtruth_to_files(
        config,
        mechanisms_dir=Path(mechanisms_dir),
        morphology_dir=REPO / "morphologies",
        spikes_path=folder / "spikes.h5",
        signals_path=folder / "signals.h5",
        network_spikes_path=folder / "network.h5",
        sensors=sensor_maps(config["forward"]["head_model"], config["forward"]["meg"]),
    )
    written = read_spikes(folder / "spikes.h5")
    start = config["simulation"]["transient_ms"]
    arrays = {}
    for name, size in written.population_sizes.items():
        times, senders = network.times_ms[name] - start, network.senders[name]
        chosen = (senders < size) & (times >= 0) & (times < 100.0)
        arrays[f"{name}_written"] = np.sort(written.times_ms[name])
        arrays[f"{name}_expected"] = np.sort(times[chosen])
    with h5py.File(folder / "signals.h5") as h5:
        arrays["replayed_events"] = np.array(h5.attrs["replayed_events"])
        arrays["presynaptic_spikes"] = np.array(h5.attrs["presynaptic_spikes"])
        arrays["lfp_std"] = np.array(h5["LFP"][:].std())
    np.savez(out, **arrays)


if __name__ == "__main__":
    if sys.argv[1] == "runs":
        _runs_worker(*sys.argv[2:])
    elif sys.argv[1] == "replay":
        _replay_worker(*sys.argv[2:])
    elif sys.argv[1] == "compensation":
        _compensation_worker(*sys.argv[2:])
    elif sys.argv[1] == "microcircuit":
        _microcircuit_worker(*sys.argv[2:])
    elif sys.argv[1] == "hybrid":
        _hybrid_worker(*sys.argv[2:])
