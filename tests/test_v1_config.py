"""Tests of the V1 configuration: Python defaults, validation, and the JSON schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lfpflow.v1 import experiments

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "lfpflow" / "config" / "schemas" / "v1.schema.yaml"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def _fill_defaults(instance: Any, schema: dict[str, Any]) -> Any:
    """Fill defaults as Snakemake's validate(set_default=True) does, recursively."""
    if schema.get("type") == "object" and isinstance(instance, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in instance and "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            if name in instance:
                _fill_defaults(instance[name], sub)
    return instance


def test_schema_is_valid_draft7(schema):
    jsonschema.Draft7Validator.check_schema(schema)


def test_schema_defaults_equal_python_defaults(schema):
    filled = _fill_defaults({}, schema)
    jsonschema.Draft7Validator(schema).validate(filled)
    assert filled == experiments.DEFAULTS
    assert experiments.resolve_config(filled) == experiments.DEFAULTS


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


def test_snakemake_validate_fills_the_same_defaults():
    snakemake_utils = pytest.importorskip("snakemake.utils")
    config: dict[str, Any] = {"relaxation": {"protocol": "converged"}}
    snakemake_utils.validate(config, str(SCHEMA), set_default=True)
    expected = copy.deepcopy(experiments.DEFAULTS)
    expected["relaxation"]["protocol"] = "converged"
    assert config == expected


def test_resolve_config_fills_partial_sections():
    resolved = experiments.resolve_config({"simple_complex": {"alpha": 0.3}})
    assert resolved["simple_complex"]["alpha"] == 0.3
    assert (
        resolved["simple_complex"]["lambdas"] == experiments.DEFAULTS["simple_complex"]["lambdas"]
    )
    assert resolved["relaxation"] == experiments.DEFAULTS["relaxation"]
    assert experiments.resolve_config(None) == experiments.DEFAULTS


@pytest.mark.parametrize(
    "config,key",
    [
        ({"relaxation": {"protocol": "fast"}}, "v1.relaxation.protocol"),
        ({"relaxation": {"rate": 1.5}}, "v1.relaxation.rate"),
        ({"filters": {"n_pixels": 64}}, "v1.filters.n_pixels"),
        ({"simple_complex": {"lambdas": [1.0, -2.0]}}, "v1.simple_complex.lambdas.1"),
        ({"simple_complex": {"lambdas": []}}, "v1.simple_complex.lambdas"),
        ({"perturbations": {"repetitions": 2.5}}, "v1.perturbations.repetitions"),
        ({"perturbations": {"shared_draws": "yes"}}, "v1.perturbations.shared_draws"),
        ({"contrast": {"settings": [{"lambda": 1.0, "pa2m": 0.5}]}}, "v1.contrast.settings.0"),
        (
            {"contrast": {"settings": [{"lambda": 1.0, "pa2m": 0.0, "rate_exponent": 1}]}},
            "v1.contrast.settings.0.pa2m",
        ),
        ({"numerics": {"dendritic_sum": "fast"}}, "v1.numerics.dendritic_sum"),
        ({"input_statistics": {"sparse_fraction": 0.0}}, "v1.input_statistics.sparse_fraction"),
        (
            {"receptive_field": {"masked": {"mask_threshold": 1.0}}},
            "v1.receptive_field.masked.mask_threshold",
        ),
        (
            {"simple_complex": {"modulation_map": {"alpha_min": 0.9}}},
            "v1.simple_complex.modulation_map.alpha_max",
        ),
        ({"seed": "one"}, "v1.seed"),
    ],
)
def test_bad_values_raise_value_error_naming_the_key(config, key, schema):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        experiments.resolve_config(config)


@pytest.mark.parametrize(
    "config,where",
    [({"colour": 1}, "in v1:"), ({"relaxation": {"speed": 2}}, "v1.relaxation")],
)
def test_unknown_keys_are_rejected(config, where, schema):
    with pytest.raises(ValueError, match="unknown key"):
        experiments.resolve_config(config)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(_fill_defaults(copy.deepcopy(config), schema))


def test_schema_rejects_what_python_rejects(schema):
    validator = jsonschema.Draft7Validator(schema)
    for bad in (
        {"filters": {"n_pixels": 64}},
        {"relaxation": {"rate": 0.0}},
        {"perturbations": {"noise_levels": [-1.0]}},
        {"contrast": {"settings": [{"lambda": 1.0, "pa2m": 0.5}]}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(_fill_defaults(copy.deepcopy(bad), schema))
