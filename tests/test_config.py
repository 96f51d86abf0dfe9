"""Configuration validation: defaults, unknown keys, ranges, consistency."""

from __future__ import annotations

import copy

import pytest

from lfpflow.config import (
    ConfigError,
    config_scope,
    kernel_pathways,
    load_yaml,
    resolve_config,
    stage_config,
)


def test_default_config_resolves_to_hagen_values(default_config):
    net = default_config["network"]
    assert net["populations"]["E"]["size"] == 8192
    assert net["populations"]["I"]["params"]["C_m"] == 100.0
    weights = {(c["pre"], c["post"]): c["weight_pA"] for c in net["connections"]}
    assert weights == {("E", "E"): 1.398, ("E", "I"): 1.875, ("I", "E"): -19.13, ("I", "I"): -12.41}
    assert default_config["simulation"]["dt_ms"] == 2**-4
    assert kernel_pathways(default_config) == [("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")]


def test_defaults_are_filled_in(repo):
    raw = load_yaml(repo / "config" / "tiny.yaml")
    del raw["forward"]
    del raw["simulation"]["n_vp"]
    resolved = resolve_config(raw)
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
    ("network.populations.E.sise", 100, ["network.populations.E.sise", "allowed keys"]),
    ("network.populations.E.size", -5, ["network.populations.E.size", "minimum"]),
    (
        "network.populations.E.model",
        "iaf_psc_delta",
        ["network.populations.E.model", "'lif'"],
    ),
    ("kernels.synapse_type", "voltage", ["kernels.synapse_type", "'conductance'", "'current'"]),
    ("simulation.dt_ms", 0.1, ["simulation.dt_ms", "power of two"]),
    ("simulation.transient_ms", 5000.0, ["simulation.transient_ms", "smaller"]),
    ("simulation.n_vp", 0, ["simulation.n_vp", "minimum"]),
    ("seed", "abc", ["seed", "integer"]),
    ("network.connections.0.p", 1.5, ["network.connections[0].p", "maximum"]),
    ("network.connections.0.pre", "X", ["network.connections[0].pre", "allowed values: E, I"]),
    ("network.populations.E.params.V_th", -80.0, ["network.populations.E.params.V_th", "V_reset"]),
    ("network.populations.E.params.tau_n", 3.0, ["network.populations.E.params.tau_n", "C_m"]),
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
    ("kernels.weights_uS.E:E", _DELETE, ["kernels.weights_uS.E:E", "missing"]),
    ("kernels.synapses.I.tau2_ms", 0.05, ["kernels.synapses.I.tau2_ms", "tau1_ms"]),
    ("forward.head_model.radii_um", [90000.0, 85000.0, 80000.0, 79000.0], ["radii_um", "increase"]),
    (
        "forward.head_model.dipole_location_um",
        [0.0, 0.0, 95000.0],
        ["dipole_location_um", "outside"],
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
    tiny_config["network"]["populations"]["E"]["size"] = 0
    tiny_config["analysis"]["psd_nperseg"] = 1
    with pytest.raises(ConfigError) as excinfo:
        resolve_config(tiny_config)
    assert "network.populations.E.size" in str(excinfo.value)
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


def test_schema_lists_exactly_the_catalogue_models():
    from lfpflow.config import load_schema
    from lfpflow.pointneuron.catalogue import CATALOGUE

    schema = load_schema()
    population = schema["properties"]["network"]["properties"]["populations"]
    enum = population["additionalProperties"]["properties"]["model"]["enum"]
    assert enum == list(CATALOGUE)


def test_other_models_and_inputs_resolve(tiny_config):
    tiny_config["network"]["populations"]["I"]["model"] = "hh"
    tiny_config["network"]["populations"]["I"]["params"] = {"C_m": 120.0}
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
    from lfpflow.config import resolve_config

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
