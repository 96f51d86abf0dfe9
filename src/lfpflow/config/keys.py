"""Dotted configuration keys: ``"network.drive.nu_ext_Hz"``, ``"network.connections.0.p"``.

Sweeps (``sweep:``) and the simulation-based inference (``inference.parameters``)
name the values they vary by such keys; both read and set them here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lfpflow.config.schema import ConfigError


def split_key(key: str) -> list[str | int]:
    """The parts of a dotted key, list indices as ``int``."""
    return [int(part) if part.isdigit() else part for part in key.split(".")]


def lookup(config: Any, key: str) -> Any:
    """The value at dotted ``key``.

    Raises
    ------
    ConfigError
        ``"<key>: '<the part walked>' is not in the configuration; allowed
        there: ..."`` if any part does not exist (callers prefix their section).
    """
    node = config
    walked: list[str] = []
    for part in split_key(key):
        walked.append(str(part))
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            if isinstance(node, Mapping):
                allowed = ", ".join(str(name) for name in node)
            elif isinstance(node, list):
                allowed = f"an index 0..{len(node) - 1}"
            else:
                allowed = "nothing (it is a value, not a section)"
            raise ConfigError(
                f"{key}: '{'.'.join(walked)}' is not in the configuration; allowed there: {allowed}"
            )
    return node


def set_value(config: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted ``key`` of ``config`` in place to a copy of ``value`` (the key must exist)."""
    lookup(config, key)
    *parents, last = split_key(key)
    node: Any = config
    for part in parents:
        node = node[part]
    node[last] = copy.deepcopy(value)
