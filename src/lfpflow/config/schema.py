"""Schema handling: package-data schemas, overlays, validation with defaults.

Generic machinery with no knowledge of any product (so :mod:`lfpflow.v1` can use
it without importing the LFP path). The schemas ship inside the package
(``lfpflow/config/schemas/*.schema.yaml``) and are read with
:mod:`importlib.resources`; every default lives there and nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: Package folder holding the JSON schemas (as package data).
SCHEMA_PACKAGE = "lfpflow.config.schemas"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file into a dict (an empty file gives ``{}``)."""
    with open(path) as handle:
        content = yaml.safe_load(handle)
    return content or {}


def _schema_files() -> dict[str, Any]:
    """The schema files shipped in the package, by file name."""
    folder = resources.files(SCHEMA_PACKAGE)
    return {entry.name: entry for entry in folder.iterdir() if entry.name.endswith(".schema.yaml")}


_SCHEMA_CACHE: dict[str, Any] = {}


def shared_schema() -> Mapping[str, Any]:
    """The full configuration schema, read once per process: do not modify it.

    For validation, which only reads it (defaults are copied into the
    configuration); :func:`load_schema` gives a copy to change.
    """
    if not _SCHEMA_CACHE:
        load_schema()
    return _SCHEMA_CACHE["schema"]


def load_schema() -> dict[str, Any]:
    """The full configuration schema, with section schemas inlined (a new copy).

    ``config.schema.yaml`` describes the LFP pipeline; every other
    ``<section>.schema.yaml`` (``v1``, ``groundtruth``, ...) describes the
    top-level section ``<section>`` and is inlined as its property, with
    ``default: {}`` so that its defaults are filled in when the section is
    absent.
    """
    if not _SCHEMA_CACHE:
        files = _schema_files()
        schema = yaml.safe_load(files["config.schema.yaml"].read_text())
        for name in sorted(files):
            section = name.removesuffix(".schema.yaml")
            if section == "config":
                continue
            section_schema = yaml.safe_load(files[name].read_text())
            section_schema.pop("$schema", None)
            section_schema.setdefault("default", {})
            schema["properties"][section] = section_schema
        _SCHEMA_CACHE["schema"] = schema
    return copy.deepcopy(_SCHEMA_CACHE["schema"])


def _extend_with_defaults(validator_class: type) -> type:
    """A validator class that fills in ``default`` values while validating.

    Defaults are inserted before the sub-schema is validated, so nested
    objects with ``default: {}`` get their own defaults filled in too.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_FillingValidator = _extend_with_defaults(jsonschema.Draft7Validator)


def _key(path: Any) -> str:
    parts = [str(part) if not isinstance(part, int) else f"[{part}]" for part in path]
    return ".".join(parts).replace(".[", "[") or "<root>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed))
        if allowed:
            names = ", ".join(f"'{_key([*error.absolute_path, u])}'" for u in unexpected)
            return f"unknown config key {names}; allowed keys here: {', '.join(allowed)}"
    if error.validator == "enum":
        return (
            f"config key '{key}': {error.instance!r} is not allowed; "
            f"allowed values: {', '.join(map(repr, error.validator_value))}"
        )
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    if error.validator == "pattern" and error.absolute_path:
        return f"config key '{key}': {error.instance!r} does not match {error.validator_value!r}"
    if error.validator == "propertyNames":
        return f"config key '{key}': invalid name {error.instance!r} ({error.message})"
    return f"config key '{key}': {error.message}"


def _schema_at(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` (``#/definitions/...``) followed."""
    while isinstance(schema, Mapping) and "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def coerce_text_values(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """``value`` with text read as YAML wherever the schema wants no text.

    ``snakemake --config 'groundtruth={scale: 0.1}'`` hands nested values over
    as text ('0.1'); read as YAML they are what the user wrote. Text where the
    schema allows text, and text that does not parse, stay as they are (the
    validator then names the key).
    """
    schema = _schema_at(schema, root)
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, str):
        types = schema.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if types and "string" not in types:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                return value
            return value if isinstance(parsed, str) else parsed
        return value
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                value[key] = coerce_text_values(value[key], sub, root)
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [coerce_text_values(item, schema["items"], root) for item in value]
    return value


def validate_schema(config: dict[str, Any], schema: Mapping[str, Any] | None = None) -> None:
    """Validate ``config`` in place against the schema, filling defaults.

    Raises
    ------
    ConfigError
        Listing every violation, each naming its key.
    """
    schema = shared_schema() if schema is None else schema
    validator = _FillingValidator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(map(_describe, errors)))


def merge_overlay(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` merged over ``base``: mappings key by key, everything else replaced.

    Lists are replaced as a whole (as Snakemake merges a ``--configfile``). A key
    whose overlay value is ``None`` (YAML ``null``) is removed, so that an
    overlay can drop, say, a population of the defaults.

    Returns
    -------
    dict
        A new mapping; neither argument is modified.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_overlay(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def drop_nulls(value: Any) -> Any:
    """A copy of nested mappings without the keys whose value is ``None``."""
    if isinstance(value, Mapping):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def normalise_numbers(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with numbers typed as its schema says (a new object).

    ``number`` keys become ``float`` (``10`` -> ``10.0``) and ``integer`` keys
    ``int`` (``100.0`` -> ``100``), so that results (dataset dtypes, the
    configuration hash) do not depend on how a number was written.
    """
    kind = schema.get("type")
    if isinstance(value, bool):
        return value
    if kind == "number" and isinstance(value, int):
        return float(value)
    if kind == "integer" and isinstance(value, float):
        return int(value)
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        return {
            key: normalise_numbers(item, properties[key]) if key in properties else item
            for key, item in value.items()
        }
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [normalise_numbers(item, schema["items"]) for item in value]
    return value


def resolve_section(section: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    """One top-level section validated against its schema, defaults filled in.

    Parameters
    ----------
    section : str
        Name of the top-level section (``"v1"``, ``"groundtruth"``, ...).
    value : Mapping or None
        The (possibly partial) section; not modified.

    Returns
    -------
    dict
        The complete section.

    Raises
    ------
    ConfigError
        Naming every offending key as ``<section>.<key>``.
    """
    schema = load_schema()
    if section not in schema["properties"]:
        raise ConfigError(
            f"unknown config section {section!r}; allowed: {', '.join(schema['properties'])}"
        )
    sub = dict(schema["properties"][section])
    root = {
        "type": "object",
        "properties": {section: sub},
        "definitions": schema.get("definitions", {}),
    }
    instance = {section: drop_nulls(copy.deepcopy(dict(value or {})))}
    instance = coerce_text_values(instance, root, root)
    validate_schema(instance, root)
    return normalise_numbers(instance[section], sub)
