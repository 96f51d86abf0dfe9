"""Configuration: schemas with every default, overlays, stage views, shared check helpers.

The bottom layer of lfpflow: it imports no product. What it holds:

- :mod:`~lfpflow.config.schema`: read the schemas, merge overlays, validate
  types and ranges (every default is in ``schemas/*.schema.yaml``);
- :mod:`~lfpflow.config.overlays`: the defaults an overlay is merged over,
  :func:`validated_config`, :func:`overlay_of`;
- :mod:`~lfpflow.config.scopes`: what each stage reads (stage views, scopes,
  pathway keys) and the hashes of those views;
- :mod:`~lfpflow.config.keys`: dotted keys (sweeps, inference);
- :mod:`~lfpflow.config.rules`, :mod:`~lfpflow.config.checks`: the helpers every
  product's checks share, and the rules of the run-wide sections;
- :mod:`~lfpflow.config.scaling`: the arithmetic of ``scale``/``k_scale``.

Each product owns its cross-field checks (``lfpflow.<product>.checks``);
:func:`lfpflow.resolve.resolve_config` merges, validates and runs them all.
The names below load their module on first use, so that a rule script that
needs, say, :mod:`~lfpflow.config.scaling` does not pay for the schema
validator.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "ConfigError": "schema",
    "load_yaml": "schema",
    "default_config": "overlays",
    "validated_config": "overlays",
    "overlay_of": "overlays",
    "STAGE_SCOPES": "scopes",
    "config_scope": "scopes",
    "kernel_description": "scopes",
    "kernel_pathways": "scopes",
    "network_description": "scopes",
    "pathway_key": "scopes",
    "split_pathway_key": "scopes",
    "sorted_keys": "scopes",
    "stage_config": "scopes",
    "stage_view": "scopes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lfpflow.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lfpflow.config.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
