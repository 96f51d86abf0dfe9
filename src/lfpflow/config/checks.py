"""Cross-field rules of the sections every run shares: ``run_name`` and ``simulation``.

The schema (``schemas/*.schema.yaml``) checks types, ranges, required and
unknown keys and holds every default. What it cannot express, a relation
between two values, is checked by the product whose rule it is
(``lfpflow.<product>.checks``); :mod:`lfpflow.resolve` runs them all, once, on
the merged configuration. Here are the rules of the sections that belong to no
single product. Every message names the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lfpflow.config.rules import Problems, is_power_of_two_ms, names, require

#: Folders under results/ that are not runs (shared kernels, sweep tables, the
#: V1 and single-neuron targets), so no run may take their name.
RESERVED_RUN_NAMES = ("kernels", "sweeps", "v1", "neurons")


def check_run(config: Mapping[str, Any]) -> Problems:
    """``run_name`` must not be a folder lfpflow uses itself."""
    problems: Problems = []
    require(
        config["run_name"] not in RESERVED_RUN_NAMES,
        "run_name",
        f"'{config['run_name']}' is a folder lfpflow uses itself; not allowed: "
        + names(RESERVED_RUN_NAMES),
        problems,
    )
    return problems


def check_simulation(config: Mapping[str, Any]) -> Problems:
    """Transient shorter than the run; dt a power of two (NEST's integer tics)."""
    sim = config["simulation"]
    problems: Problems = []
    require(
        sim["transient_ms"] < sim["tstop_ms"],
        "simulation.transient_ms",
        f"{sim['transient_ms']} must be smaller than simulation.tstop_ms ({sim['tstop_ms']})",
        problems,
    )
    require(
        is_power_of_two_ms(sim["dt_ms"]),
        "simulation.dt_ms",
        f"{sim['dt_ms']} must be a power of two not above 1 (e.g. 0.125, 0.0625) "
        "so that NEST's integer tics_per_ms = 1/dt_ms is exact",
        problems,
    )
    return problems
