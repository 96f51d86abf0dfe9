"""Configuration validation: defaults, unknown keys, ranges, consistency."""

from __future__ import annotations

import copy

import pytest

from lfpflow.config import ConfigError, config_scope, kernel_pathways, load_yaml, stage_config
from lfpflow.resolve import resolve_config


def test_default_config_resolves_to_hagen_values(default_config):
    net = default_config["network"]
    assert default_config["populations"]["E"]["size"] == 8192
    assert default_config["populations"]["I"]["params"]["C_m"] == 100.0
    weights = {(c["pre"], c["post"]): c["weight_pA"] for c in net["connections"]}
    assert weights == {("E", "E"): 1.398, ("E", "I"): 1.875, ("I", "E"): -19.13, ("I", "I"): -12.41}
    assert default_config["simulation"]["dt_ms"] == 2**-4
    assert kernel_pathways(default_config) == [("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")]


def test_defaults_are_filled_in(repo):
    raw = load_yaml(repo / "config" / "tiny.yaml")
    resolved = resolve_config(raw)
    assert "forward" not in raw and "n_vp" not in raw["simulation"]
    assert resolved["simulation"]["n_vp"] == 2
    assert resolved["forward"]["head_model"]["radii_um"] == [79000.0, 80000.0, 85000.0, 90000.0]
    assert "forward" not in raw, "the input must not be modified"


def _set(config, dotted, value):
    target = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value


_DELETE = object()

BAD_CONFIGS = [
    # (dotted key, bad value, words the message must contain)
    ("populations.E.sise", 100, ["populations.E.sise", "allowed keys"]),
    ("populations.E.size", -5, ["populations.E.size", "minimum"]),
    ("populations.E.model", "iaf_psc_delta", ["populations.E.model", "'lif'"]),
    ("populations.E.cell.morphology", "E.swc", ["populations.E.cell.morphology", "hoc"]),
    ("kernels.synapse_type", "voltage", ["kernels.synapse_type", "'conductance'", "'current'"]),
    ("simulation.dt_ms", 0.1, ["simulation.dt_ms", "power of two"]),
    ("simulation.transient_ms", 5000.0, ["simulation.transient_ms", "smaller"]),
    ("simulation.n_vp", 0, ["simulation.n_vp", "minimum"]),
    ("seed", "abc", ["seed", "integer"]),
    ("network.connections.0.p", 1.5, ["network.connections[0].p", "maximum"]),
    ("network.connections.0.pre", "X", ["network.connections[0].pre", "allowed values: E, I"]),
    ("populations.E.params.V_th", -80.0, ["populations.E.params.V_th", "V_reset"]),
    ("populations.E.params.tau_n", 3.0, ["populations.E.params.tau_n", "C_m"]),
    ("network.connections.0.weight_nS", 1.0, ["network.connections[0].weight_nS", "weight_pA"]),
    ("network.connections.1.weight_pA", _DELETE, ["network.connections[1].weight_pA", "missing"]),
    ("network.connections.0.rule", "ring_gaussian", ["network.connections[0].sigma_deg"]),
    (
        "network.inputs",
        {"E": [{"type": "dc", "amplitude_pA": 5.0, "neurons": [999]}]},
        ["network.inputs.E[0].neurons", "population size"],
    ),
    (
        "network.inputs",
        {"E": [{"type": "white_noise", "sd_pA": 5.0, "dt_ms": 0.2}]},
        ["network.inputs.E[0].dt_ms", "multiple"],
    ),
    ("network.inputs", {"E": [{"type": "ou", "sd_pA": 5.0}]}, ["network.inputs.E[0]", "tau_ms"]),
    (
        "network.inputs",
        {"E": [{"type": "burst", "rate_Hz": 5.0}]},
        ["network.inputs.E[0].type", "'poisson'", "'ou'"],
    ),
    (
        "network.inputs",
        {"E": [{"type": "dc", "amplitude_pA": 5.0, "sd_pA": 1.0}]},
        ["network.inputs.E[0].sd_pA"],
    ),
    # null removes a key of the defaults: here a pathway's weight
    ("kernels.weights_uS.E:E", None, ["kernels.weights_uS.E:E", "missing"]),
    ("kernels.presynaptic_rates_Hz.X", 3.0, ["kernels.presynaptic_rates_Hz.X", "allowed values"]),
    ("groundtruth.scale", 0.01, ["groundtruth.scale", "use scale >="]),
    ("groundtruth.filter.cutoff_Hz", 5000.0, ["groundtruth.filter.cutoff_Hz", "Nyquist"]),
    ("kernels.tau_ms", 10.03, ["kernels.tau_ms", "whole number"]),
    ("kernels.probes.lfp.z_um", [0.0, 0.0, 100.0], ["kernels.probes.lfp.z_um", "repeat"]),
    ("kernels.probes.lfp.z_um", [0.0], ["kernels.probes.lfp.z_um", "two contacts"]),
    ("kernels.multapses.E:E.max", 120, ["kernels.multapses.E:E.max", "maximum"]),
    ("kernels.cell.Vrest_mV", float("nan"), ["kernels.cell.Vrest_mV", "finite"]),
    ("network.connections.0.weight_pA", float("inf"), ["connections[0].weight_pA", "finite"]),
    (
        "v1.simple_complex.modulation_map.alpha_max",
        0.0,
        ["v1.simple_complex.modulation_map.alpha_max", "alpha_min"],
    ),
    ("neurons.models.lif2", {}, ["neurons.models.lif2", "allowed values"]),
    ("neurons.gwn_dt_ms", 0.3, ["neurons.gwn_dt_ms", "multiple"]),
    ("neurons.models.lif", {"params": {"g_Na": 1.0}}, ["neurons.models.lif.params.g_Na"]),
    ("kernels.synapses.I.tau2_ms", 0.05, ["kernels.synapses.I.tau2_ms", "tau1_ms"]),
    ("forward.head_model.radii_um", [90000.0, 85000.0, 80000.0, 79000.0], ["radii_um", "increase"]),
    (
        "forward.head_model.column_position",
        [0.0, 0.0, 95000.0],
        ["column_position", "outside"],
    ),
    ("analysis.raster_window_ms", [400.0, 300.0], ["analysis.raster_window_ms"]),
    ("network.drive.n_ext.X", 10, ["network.drive.n_ext.X", "allowed values"]),
    ("network.delay_min_ms", 0.01, ["network.delay_min_ms", "dt_ms"]),
    ("kernels.multapses.E:E.min", 3, ["kernels.multapses.E:E", "min <= mean"]),
    ("simulatoin", {}, ["simulatoin", "allowed keys"]),
    ("run_name", "my run/1", ["run_name"]),
]


@pytest.mark.parametrize("dotted, value, words", BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_config_names_the_key(tiny_config, dotted, value, words):
    _set(tiny_config, dotted, value)
    with pytest.raises(ConfigError) as excinfo:
        resolve_config(tiny_config)
    message = str(excinfo.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_all_problems_are_reported_at_once(tiny_config):
    tiny_config["populations"]["E"]["size"] = 0
    tiny_config["analysis"]["psd_nperseg"] = 1
    with pytest.raises(ConfigError) as excinfo:
        resolve_config(tiny_config)
    assert "populations.E.size" in str(excinfo.value)
    assert "analysis.psd_nperseg" in str(excinfo.value)


def test_kernel_scope_excludes_drive_seed_and_duration(default_config):
    scope = stage_config(default_config, "kernels")
    assert set(scope) == {"kernels", "simulation"}
    assert scope["simulation"] == {"dt_ms": 0.0625}
    changed = copy.deepcopy(default_config)
    changed["network"]["drive"]["nu_ext_Hz"] = 30.0
    changed["seed"] = 99
    changed["simulation"]["tstop_ms"] = 500.0
    assert stage_config(changed, "kernels") == scope
    assert stage_config(changed, "network") != stage_config(default_config, "network")


def test_config_scope_of_dotted_keys(default_config):
    scope = config_scope(default_config, "seed", "forward.head_model.radii_um")
    assert scope == {
        "seed": 12345,
        "forward": {"head_model": {"radii_um": [79000.0, 80000.0, 85000.0, 90000.0]}},
    }


def test_other_models_and_inputs_resolve(tiny_config):
    tiny_config["populations"]["I"]["model"] = "hh"
    tiny_config["populations"]["I"]["params"] = {"C_m": 120.0}
    tiny_config["network"]["inputs"] = {
        "E": [
            {"type": "dc", "amplitude_pA": 50.0, "start_ms": 10.0, "neurons": [0, 3]},
            {"type": "ou", "tau_ms": 5.0, "mean_pA": 0.0, "sd_pA": 20.0},
        ]
    }
    resolved = resolve_config(tiny_config)
    assert resolved["network"]["inputs"]["E"][1]["shared"] is False


def test_stage_config_does_not_depend_on_key_order(default_config):
    reordered = {key: default_config[key] for key in reversed(list(default_config))}
    reordered["kernels"] = {
        k: reordered["kernels"][k] for k in reversed(list(reordered["kernels"]))
    }
    for stage in ("network", "kernels", "forward", "analysis"):
        assert repr(stage_config(reordered, stage)) == repr(stage_config(default_config, stage))


def test_text_from_the_command_line_is_read_as_the_schema_wants(tiny_config):
    # snakemake --config 'simulation={tstop_ms: 400}' hands nested values over as text
    from lfpflow.resolve import resolve_config

    tiny_config["simulation"]["tstop_ms"] = "400"
    tiny_config["kernels"]["g_eff"] = "false"
    tiny_config["forward"]["head_model"]["electrode_polar_angles_deg"] = ["0", "45.5"]
    resolved = resolve_config(tiny_config)
    assert resolved["simulation"]["tstop_ms"] == 400
    assert resolved["kernels"]["g_eff"] is False
    assert resolved["forward"]["head_model"]["electrode_polar_angles_deg"] == [0, 45.5]
    # text stays text where the schema wants text; text that is not a number is refused
    assert resolved["run_name"] == "tiny"
    tiny_config["simulation"]["tstop_ms"] = "four hundred"
    with pytest.raises(ConfigError, match="simulation.tstop_ms"):
        resolve_config(tiny_config)


def test_overlay_merges_mappings_replaces_lists_and_null_removes():
    from lfpflow.config.schema import merge_overlay

    base = {"a": {"x": 1, "y": [1, 2]}, "b": {"p": 1, "q": 2}, "c": 3}
    merged = merge_overlay(base, {"a": {"y": [3]}, "b": {"q": None}, "d": {"z": 1}})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": {"p": 1}, "c": 3, "d": {"z": 1}}
    assert base["b"] == {"p": 1, "q": 2}, "the base must not be modified"


def test_shipped_overlays_hold_only_what_differs(repo):
    from lfpflow.config import default_config

    defaults = default_config()
    for name in ("config.yaml", "tiny.yaml", "cano_colino_ring.yaml"):
        text = (repo / "config" / name).read_text()
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        assert len(lines) <= 40, f"{name}: {len(lines)} lines; an overlay holds only differences"
    # every value tiny.yaml sets differs from the default it overrides
    tiny = load_yaml(repo / "config" / "tiny.yaml")
    for section, values in tiny.items():
        if isinstance(values, dict):
            for key, value in values.items():
                assert defaults[section][key] != value, f"{section}.{key} repeats the default"


def test_a_new_population_set_replaces_the_defaults():
    pathway = {"P:P": None}
    overlay = {
        # removing E and I removes every default that names them
        "populations": {
            "E": None,
            "I": None,
            "P": {"size": 30, "cell": {"morphology": "BallAndSticks_E.hoc"}},
        },
        "network": {
            "connections": [{"pre": "P", "post": "P", "p": 0.1, "weight_pA": 5.0, "delay_ms": 1.5}],
            "drive": {"n_ext": {"P": 20}},
        },
        "kernels": {
            "connection_probability": {"P:P": 0.1},
            "weights_uS": {"P:P": 0.0001},
            "multapses": {"P:P": {"mean": 2.0, "sd": 0.5, "min": 1, "max": 5}},
            "delays": {"P:P": {"mean_ms": 1.0, "sd_ms": 0.2, "min_ms": 0.5}},
            "synapse_positions": pathway,
            "synapses": {"P": {"tau1_ms": 0.2, "tau2_ms": 2.0, "e_rev_mV": 0.0}},
            "presynaptic_rates_Hz": {"P": 5.0},
        },
    }
    with pytest.raises(ConfigError, match="kernels.synapse_positions.P:P"):
        resolve_config(overlay)
    pathway["P:P"] = {"sections": ["dend"], "z_mean_um": [0.0], "z_sd_um": [50.0], "weights": [1.0]}
    resolved = resolve_config(overlay)
    assert list(resolved["populations"]) == ["P"]
    assert resolved["populations"]["P"]["model"] == "lif"
    assert resolved["kernels"]["weights_uS"] == {"P:P": 0.0001}
    assert kernel_pathways(resolved) == [("P", "P")]


def test_model_change_does_not_inherit_the_default_params():
    resolved = resolve_config({"populations": {"I": {"model": "hh", "params": {"C_m": 120.0}}}})
    assert resolved["populations"]["I"]["params"] == {"C_m": 120.0}
    assert resolved["populations"]["E"]["params"]["C_m"] == 269.0


@pytest.mark.parametrize(
    "overlay",
    [
        {"run_name": "x"},
        {"populations": {"I": None}},
    ],
    ids=["plain", "population-removed"],
)
def test_a_runs_written_config_reproduces_it(overlay, tmp_path):
    import yaml

    from lfpflow.config import overlay_of
    from lfpflow.resolve import load_config

    resolved = resolve_config(overlay)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(overlay_of(resolved), sort_keys=False))
    assert load_config(path) == resolved


def test_kernel_out_degrees_follow_the_population_sizes(tiny_config):
    from lfpflow.config import kernel_description

    tiny_config["populations"]["E"]["size"] = 123
    tiny_config["network"]["drive"]["n_ext"]["I"] = 7
    kernels = kernel_description(resolve_config(tiny_config))
    assert kernels["populations"]["E"] == {
        "size": 123,
        "morphology": "BallAndSticks_E.hoc",
        "soma_z_mean_um": 0.0,
        "soma_z_sd_um": 75.0,
        "radius_um": 150.0,
    }
    assert kernels["external"]["n_ext"] == {"E": 450, "I": 7}


def test_kernel_scope_holds_what_the_kernels_read_and_nothing_else(tiny_config):
    base = stage_config(tiny_config, "kernels")
    for dotted, value, changes in [
        ("populations.E.size", 401, True),
        ("populations.E.cell.morphology", "BallAndSticks_I.hoc", True),
        ("network.drive.n_ext.E", 10, True),
        ("populations.E.params.C_m", 100.0, False),
        ("network.drive.nu_ext_Hz", 30.0, False),
        ("network.connections.0.p", 0.2, False),
    ]:
        changed = copy.deepcopy(tiny_config)
        _set(changed, dotted, value)
        assert (stage_config(resolve_config(changed), "kernels") != base) is changes, dotted


def test_a_pathway_key_splits_back_into_its_populations():
    from lfpflow.config.scopes import pathway_key, split_pathway_key

    for post, pre in kernel_pathways(resolve_config({})):
        assert split_pathway_key(pathway_key(post, pre)) == (post, pre)
    for bad in ("E", "E:", ":I", "E:I:J"):
        with pytest.raises(ValueError, match="is not a pathway key"):
            split_pathway_key(bad)


def test_a_v1_experiment_reads_the_shared_keys_and_only_its_own_section():
    from lfpflow.config.scopes import V1_SHARED_KEYS, v1_experiment_scope

    v1 = resolve_config({})["v1"]
    scope = v1_experiment_scope(v1, "contrast")
    assert set(scope) == {*V1_SHARED_KEYS, "contrast"}
    assert scope["contrast"] == v1["contrast"]
    assert "simple_complex" not in scope
