"""Tests of the V1 configuration (defaults and validation from the schema), the packaged
experimental data, and the independence of lfpflow.v1 from the LFP path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from lfpflow.config.schema import ConfigError
from lfpflow.v1 import data, experiments

SCHEMA_FILE = "v1.schema.yaml"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    text = resources.files("lfpflow.config.schemas").joinpath(SCHEMA_FILE).read_text()
    return yaml.safe_load(text)


def test_schema_is_valid_draft7(schema):
    jsonschema.Draft7Validator.check_schema(schema)


def test_every_schema_key_has_description_default_and_closed_objects(schema):
    def walk(node: dict[str, Any], path: str, in_array_item: bool = False) -> None:
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{path}: additionalProperties"
        for name, sub in node.get("properties", {}).items():
            where = f"{path}.{name}"
            assert "description" in sub, f"{where}: description"
            if not in_array_item:
                assert "default" in sub, f"{where}: default"
            walk(sub, where, in_array_item)
        if "items" in node and node["items"].get("type") == "object":
            walk(node["items"], f"{path}[]", True)

    walk(schema, "v1")


def test_complete_v1_section_fills_partial_sections(schema):
    defaults = experiments.complete_v1_section({})
    resolved = experiments.complete_v1_section({"simple_complex": {"alpha": 0.3}})
    section, default_section = resolved["simple_complex"], defaults["simple_complex"]
    assert section["alpha"] == 0.3
    assert section["lambdas"] == default_section["lambdas"]
    assert section["modulation_map"] == default_section["modulation_map"]
    assert resolved["relaxation"] == defaults["relaxation"]
    assert experiments.complete_v1_section(None) == defaults
    # the defaults are those written in the schema
    relaxation = schema["properties"]["relaxation"]["properties"]
    assert defaults["relaxation"]["rate"] == relaxation["rate"]["default"] == 0.1
    assert defaults["relaxation"]["steps"] == relaxation["steps"]["default"] == 21
    assert set(defaults) == set(schema["properties"])


def test_complete_v1_section_returns_a_new_object():
    config = {"perturbations": {"noise_levels": [0.0, 2.0]}}
    resolved = experiments.complete_v1_section(config)
    resolved["perturbations"]["noise_levels"].append(4.0)
    resolved["relaxation"]["steps"] = 3
    assert config == {"perturbations": {"noise_levels": [0.0, 2.0]}}
    again = experiments.complete_v1_section(config)
    assert again["perturbations"]["noise_levels"] == [0.0, 2.0]
    assert again["relaxation"]["steps"] == 21


def test_numbers_take_the_type_of_the_schema():
    """``10`` where the schema wants a number is 10.0; ``100.0`` for an integer is 100."""
    resolved = experiments.complete_v1_section(
        {
            "simple_complex": {"lambdas": [0, 10], "alpha": 1},
            "perturbations": {"repetitions": 3.0, "shared_draws": False},
            "contrast": {"settings": [{"lambda": 8, "pa2m": 0.5, "rate_exponent": 1}]},
        }
    )
    assert resolved["simple_complex"]["lambdas"] == [0.0, 10.0]
    assert all(type(x) is float for x in resolved["simple_complex"]["lambdas"])
    assert type(resolved["simple_complex"]["alpha"]) is float
    assert type(resolved["perturbations"]["repetitions"]) is int
    assert resolved["perturbations"]["shared_draws"] is False
    setting = resolved["contrast"]["settings"][0]
    assert type(setting["lambda"]) is float and type(setting["rate_exponent"]) is float
    assert experiments.complete_v1_section({"simple_complex": {"lambdas": [0, 10]}}) == (
        experiments.complete_v1_section({"simple_complex": {"lambdas": [0.0, 10.0]}})
    )


@pytest.mark.parametrize(
    "config,key",
    [
        ({"relaxation": {"protocol": "fast"}}, "v1.relaxation.protocol"),
        ({"relaxation": {"rate": 1.5}}, "v1.relaxation.rate"),
        ({"relaxation": {"rate": 0.0}}, "v1.relaxation.rate"),
        ({"filters": {"n_pixels": 64}}, "v1.filters.n_pixels"),
        ({"simple_complex": {"lambdas": [1.0, -2.0]}}, "v1.simple_complex.lambdas[1]"),
        ({"simple_complex": {"lambdas": []}}, "v1.simple_complex.lambdas"),
        ({"perturbations": {"repetitions": 2.5}}, "v1.perturbations.repetitions"),
        ({"perturbations": {"noise_levels": [-1.0]}}, "v1.perturbations.noise_levels[0]"),
        ({"perturbations": {"shared_draws": "sometimes"}}, "v1.perturbations.shared_draws"),
        ({"contrast": {"settings": [{"lambda": 1.0, "pa2m": 0.5}]}}, "v1.contrast.settings[0]"),
        (
            {"contrast": {"settings": [{"lambda": 1.0, "pa2m": 0.0, "rate_exponent": 1}]}},
            "v1.contrast.settings[0].pa2m",
        ),
        ({"numerics": {"dendritic_sum": "fast"}}, "v1.numerics.dendritic_sum"),
        ({"input_statistics": {"sparse_fraction": 0.0}}, "v1.input_statistics.sparse_fraction"),
        ({"input_statistics": {"data_file": ""}}, "v1.input_statistics.data_file"),
        (
            {"receptive_field": {"masked": {"mask_threshold": 1.0}}},
            "v1.receptive_field.masked.mask_threshold",
        ),
        ({"seed": "one"}, "v1.seed"),
        ({"seed": -1}, "v1.seed"),
    ],
)
def test_bad_values_raise_value_error_naming_the_key(config, key):
    with pytest.raises(ValueError, match=re.escape(f"'{key}'")):
        experiments.complete_v1_section(config)


@pytest.mark.parametrize(
    "modulation_map,key",
    [
        ({"alpha_min": 0.9}, "v1.simple_complex.modulation_map.alpha_max"),
        ({"alpha_min": 0.8}, "v1.simple_complex.modulation_map.alpha_max"),
        ({"log2_lambda_min": 10.0}, "v1.simple_complex.modulation_map.log2_lambda_max"),
        ({"log2_lambda_max": 0.5}, "v1.simple_complex.modulation_map.log2_lambda_max"),
    ],
)
def test_cross_field_checks_name_the_key(modulation_map, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        experiments.complete_v1_section({"simple_complex": {"modulation_map": modulation_map}})


def test_check_v1_messages_word_for_word():
    """lfpflow.v1.checks.check_v1 on a resolved section: no problem at the defaults,
    one message per offending key otherwise (the wording is the interface)."""
    from lfpflow.config.schema import resolve_section
    from lfpflow.v1.checks import check_v1

    resolved = resolve_section("v1", {})
    assert check_v1({"v1": resolved}) == []
    resolved["grid_phase_range_deg"] = [0, 5]
    resolved["simple_complex"]["modulation_map"].update(alpha_min=0.1, alpha_max=0.1)
    assert check_v1({"v1": resolved}) == [
        "config key 'v1.grid_phase_range_deg': must increase by at least grid_step_deg "
        "(10.0), got [0, 5]",
        "config key 'v1.simple_complex.modulation_map.alpha_max': must exceed alpha_min "
        "(0.1 <= 0.1)",
    ]


@pytest.mark.parametrize(
    "config,key",
    [
        ({"colour": 1}, "v1.colour"),
        ({"relaxation": {"speed": 2}}, "v1.relaxation.speed"),
        ({"data_dir": "data"}, "v1.data_dir"),  # replaced by data files of lfpflow.v1.data
    ],
)
def test_unknown_keys_are_rejected(config, key):
    with pytest.raises(ConfigError, match=re.escape(f"unknown config key '{key}'")):
        experiments.complete_v1_section(config)


# --- experimental data --------------------------------------------------------------


@pytest.mark.parametrize(
    "section,columns,rows",
    [
        ("input_statistics", ("si_sparse_noise", "si_dense_noise"), 34),
        ("contrast", ("contrast_percent", "modulation_depth"), 10),
    ],
)
def test_default_data_files_are_package_data(section, columns, rows):
    name = experiments.complete_v1_section({})[section]["data_file"]
    assert "/" not in name and name in data.packaged_files()
    table = experiments.read_data(name)
    assert set(table) == set(columns)
    assert all(table[c].shape == (rows,) for c in columns)


def test_data_folder_documents_every_file():
    readme = resources.files("lfpflow.v1.data").joinpath("README.md").read_text()
    for name in data.packaged_files():
        assert name in readme


def test_a_data_file_with_a_slash_is_a_user_path(tmp_path, monkeypatch):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "points.csv").write_text(
        "# my points\ncontrast_percent,modulation_depth\n10,0.5\n100,0.1\n"
    )
    table = experiments.read_data(str(tmp_path / "mine" / "points.csv"))
    assert table["modulation_depth"].tolist() == [0.5, 0.1]
    monkeypatch.chdir(tmp_path)  # relative to the working directory
    assert experiments.read_data("mine/points.csv")["contrast_percent"].tolist() == [10.0, 100.0]
    assert experiments.read_data("./mine/points.csv")["contrast_percent"].size == 2


def test_an_unknown_packaged_data_file_is_reported():
    with pytest.raises(FileNotFoundError, match="give your own file as a path"):
        experiments.read_data("nowhere.csv")


# --- independence of the LFP path ---------------------------------------------------

#: Subpackages and simulators that no module of lfpflow.v1 may import.
FORBIDDEN = (
    "lfpflow.pointneuron",
    "lfpflow.multicompartment",
    "lfpflow.signals",
    "lfpflow.figures",
    "nest",
    "neuron",
    "LFPy",
)

_IMPORT_ALL_OF_V1 = """
import importlib, json, pkgutil, sys
import lfpflow.v1
names = ["lfpflow.v1"] + sorted(
    m.name for m in pkgutil.walk_packages(lfpflow.v1.__path__, "lfpflow.v1.")
)
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def test_v1_imports_nothing_of_the_lfp_path_nor_a_simulator():
    """Every lfpflow.v1 module, imported in a fresh interpreter, leaves the LFP path alone."""
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL_OF_V1], capture_output=True, text=True, check=True
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    expected = {"lfpflow.v1.data", "lfpflow.v1.experiments", "lfpflow.v1.figures"}
    assert expected <= set(report["imported"])
    loaded = [
        m for m in report["modules"] if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert loaded == []
