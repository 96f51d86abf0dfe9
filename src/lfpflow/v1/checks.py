"""Cross-field checks of the ``v1`` section (what its schema cannot express).

The schema (``src/lfpflow/config/schemas/v1.schema.yaml``) checks types,
ranges and defaults; the relations between two values are checked here, once,
on the resolved configuration, by :func:`check_v1`. :mod:`lfpflow.resolve`
lists it with the checks of the other products, and
:func:`lfpflow.v1.experiments.complete_v1_section` applies it to a ``v1`` section
on its own. Every message names the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lfpflow.config.rules import Problems, require


def check_v1(config: Mapping[str, Any]) -> Problems:
    """V1 model: the modulation map's ranges are increasing; the phase range is
    increasing, spans at least one grid step and at most one cycle (360 degrees).

    Parameters
    ----------
    config : Mapping
        A configuration with a schema-valid ``v1`` section (angles in degrees).

    Returns
    -------
    Problems
        One message per offending key (empty if none).
    """
    v1 = config["v1"]
    low, high = v1["grid_phase_range_deg"]
    problems: Problems = []
    # a range narrower than one step has a single phase: no modulation to measure
    require(
        high - low >= v1["grid_step_deg"],
        "v1.grid_phase_range_deg",
        f"must increase by at least grid_step_deg ({v1['grid_step_deg']!r}), "
        f"got [{low!r}, {high!r}]",
        problems,
    )
    # beyond one cycle the stimuli repeat and the "full cycle" would be a subset
    require(
        high - low <= 360.0,
        "v1.grid_phase_range_deg",
        f"must span at most 360 degrees (one cycle), got [{low!r}, {high!r}]",
        problems,
    )
    key = "v1.simple_complex.modulation_map"
    mm = v1["simple_complex"]["modulation_map"]
    require(
        mm["log2_lambda_max"] > mm["log2_lambda_min"],
        f"{key}.log2_lambda_max",
        f"must exceed log2_lambda_min ({mm['log2_lambda_max']!r} <= {mm['log2_lambda_min']!r})",
        problems,
    )
    require(
        mm["alpha_max"] > mm["alpha_min"],
        f"{key}.alpha_max",
        f"must exceed alpha_min ({mm['alpha_max']!r} <= {mm['alpha_min']!r})",
        problems,
    )
    return problems
