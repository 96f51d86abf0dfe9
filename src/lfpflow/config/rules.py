"""Small helpers the cross-field checks of every product share.

Each product owns its checks (``lfpflow.<product>.checks``), next to the code
whose rules they are; :mod:`lfpflow.resolve` lists them. What they have in
common (the message format naming the key, the time-grid tests, the finite
number test) is here, in the configuration layer, which imports no product.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: A check returns its problems, one message per offending key (empty if none).
Problems = list[str]


def require(condition: bool, key: str, message: str, problems: Problems) -> None:
    """Append ``"config key '<key>': <message>"`` to ``problems`` unless ``condition``."""
    if not condition:
        problems.append(f"config key '{key}': {message}")


def is_power_of_two_ms(dt_ms: float) -> bool:
    """Whether ``dt_ms`` (ms) is 2^-n ms, n >= 0 (NEST's integer tics per ms)."""
    exponent = math.log2(dt_ms)
    return exponent == round(exponent) and exponent <= 0


def on_grid(duration_ms: float, step_ms: float) -> bool:
    """Whether ``duration_ms`` (ms) is a whole number (>= 1) of ``step_ms`` (ms)."""
    steps = duration_ms / step_ms
    return steps >= 1 - 1e-9 and abs(steps - round(steps)) <= 1e-9


def names(values: Iterable[Any]) -> str:
    """``values`` as a comma-separated list, for "allowed values: ..." messages."""
    return ", ".join(values)


def unknown_population(key: str, name: str, populations: list[str]) -> str:
    """The message for a population name that is not declared under ``populations``."""
    return f"config key '{key}': {name!r} is not a population; allowed values: {names(populations)}"


def _non_finite(value: Any, key: str) -> Problems:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _non_finite(v, f"{key}.{k}" if key else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{key}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"config key '{key}': {value!r} is not a finite number"]
    return []


def check_finite(config: Mapping[str, Any]) -> Problems:
    """No NaN or infinity anywhere (YAML ``.nan``/``.inf`` pass every range check)."""
    return _non_finite(config, "")
