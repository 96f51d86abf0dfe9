"""Overlays: the complete configuration is an overlay merged over the schema's defaults.

A configuration is an *overlay*: a YAML mapping merged over the defaults that
the schema (``lfpflow/config/schemas/*.schema.yaml``, package data) holds,
mappings key by key and lists replaced, as Snakemake merges a
``--configfile``; ``null`` removes a key of the defaults. Populations are the
exception (:func:`_defaults_under`): one removed with ``null`` leaves every
default that names it, and one given another ``model`` than the default's does
not inherit the default's ``params`` (they are the other model's).
:func:`validated_config` merges and validates against the schema (types,
ranges, unknown keys); :func:`lfpflow.resolve.resolve_config` adds the
products' cross-field checks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lfpflow.config.schema import (
    coerce_text_values,
    merge_overlay,
    shared_schema,
    validate_schema,
)


def default_config() -> dict[str, Any]:
    """The complete default configuration: every default of the schema filled in."""
    defaults: dict[str, Any] = {}
    validate_schema(defaults, shared_schema())
    return defaults


#: Mappings of the defaults keyed by population name, and those keyed by
#: pathway ``"<post>:<pre>"``: a population an overlay removes leaves them too.
_BY_POPULATION = (
    ("network", "drive", "n_ext"),
    ("kernels", "synapses"),
    ("kernels", "presynaptic_rates_Hz"),
)
_BY_PATHWAY = tuple(
    ("kernels", key)
    for key in ("connection_probability", "weights_uS", "multapses", "delays", "synapse_positions")
)


def _drop_population(defaults: dict[str, Any], name: str) -> None:
    """Remove population ``name`` from the defaults, wherever it is named."""
    defaults["populations"].pop(name, None)
    for path in _BY_POPULATION + _BY_PATHWAY:
        mapping = defaults
        for key in path:
            mapping = mapping[key]
        for key in [k for k in mapping if name in (k, *k.split(":"))]:
            del mapping[key]
    network = defaults["network"]
    network["connections"] = [
        c for c in network["connections"] if name not in (c["pre"], c["post"])
    ]


def _defaults_under(overlay: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults an overlay is merged over.

    A population the overlay removes (``<name>: null``) leaves the defaults
    everywhere it is named (drive, synapses, rates, pathways, connections), so
    that a new circuit only removes the default populations. A population's
    ``params`` belong to its model: where the overlay gives a population
    another model than the default's, the default's parameters (of the other
    model) are left out, so the overlay's ``params`` are the population's
    whole set (unset ones take the catalogue's defaults).
    """
    defaults = default_config()
    for name, population in (overlay.get("populations") or {}).items():
        default = defaults["populations"].get(name)
        if population is None:
            _drop_population(defaults, name)
        elif isinstance(population, Mapping) and default and "model" in population:
            if population["model"] != default["model"]:
                default["params"] = {}
    return defaults


def validated_config(overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge an overlay over the defaults and validate it against the schema.

    Types, ranges, required and unknown keys; the rules that span fields are
    the products' (:func:`lfpflow.resolve.resolve_config` applies both).

    Parameters
    ----------
    overlay : Mapping
        Any part of a configuration; what it leaves out takes the schema's
        defaults. Not modified.

    Returns
    -------
    dict
        A new, complete configuration.

    Raises
    ------
    ConfigError
        Naming every offending key and, where there is a closed set, the
        allowed values.
    """
    schema = shared_schema()
    overlay = coerce_text_values(copy.deepcopy(dict(overlay)), schema, schema)
    resolved = merge_overlay(_defaults_under(overlay), overlay)
    validate_schema(resolved, schema)
    return resolved


def overlay_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``null`` for each key of the defaults it lacks.

    Written as a run's ``config.yaml``, this reproduces the run exactly when
    merged over the defaults again, also when the run dropped a default
    population.
    """

    def mark(value: Any, defaults: Any) -> Any:
        if not (isinstance(value, Mapping) and isinstance(defaults, Mapping)):
            return copy.deepcopy(value)
        marked = {key: mark(item, defaults.get(key)) for key, item in value.items()}
        marked.update({key: None for key in defaults if key not in value})
        return marked

    return mark(config, default_config())
