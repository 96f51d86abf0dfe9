"""The one resolve step: merge an overlay over the defaults, validate, check every product.

The configuration layer (:mod:`lfpflow.config`) holds the schemas, merges an
overlay over their defaults and validates types and ranges; it knows no
product. Each product owns the rules that span its fields, next to the code
whose rules they are (``lfpflow.<product>.checks``). This module, above them
all, lists those checks in the order they run and is the only place that
merges, validates and checks a configuration. Sweeps and the inference's
simulated network receive the resolving function as a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lfpflow.config import ConfigError, validated_config
from lfpflow.config.checks import check_run, check_simulation
from lfpflow.config.rules import Problems, check_finite
from lfpflow.config.schema import load_yaml, merge_overlay
from lfpflow.formats.checks import check_eeg_export
from lfpflow.inference.checks import inference_problems
from lfpflow.multicompartment.checks import check_cells, check_groundtruth, check_kernels
from lfpflow.pointneuron.checks import check_models, check_network, check_neurons
from lfpflow.signals.checks import check_analysis, check_forward
from lfpflow.sweep import SweepPoint, sweep_points
from lfpflow.v1.checks import check_v1

Check = Callable[[Mapping[str, Any]], Problems]


def check_populations(config: Mapping[str, Any]) -> Problems:
    """Each population's point-neuron model and parameters, then its cell."""
    return check_models(config) + check_cells(config)


def check_inference(config: Mapping[str, Any]) -> Problems:
    """The ``inference`` section, its simulated network resolved by :func:`resolve_simulated`."""
    return inference_problems(config, resolve_simulated)


#: Every product's cross-field checks, in the order they run.
CHECKS: tuple[Check, ...] = (
    check_finite,
    check_run,
    check_simulation,
    check_populations,
    check_network,
    check_kernels,
    check_forward,
    check_eeg_export,
    check_analysis,
    check_neurons,
    check_v1,
    check_groundtruth,
    check_inference,
)

#: A check that needs an earlier one to have found nothing -> that earlier check.
#: (``None``: it needs every earlier check to have found nothing.)
NEEDS: dict[Check, Check | None] = {
    check_network: check_populations,  # it needs known models
    check_groundtruth: None,  # it needs complete kernel pathways
}


def consistency_problems(config: Mapping[str, Any], checks: tuple[Check, ...] = CHECKS) -> Problems:
    """Every cross-field problem of a schema-valid configuration (empty if none)."""
    problems: Problems = []
    found_by: dict[Check, Problems] = {}
    for check in checks:
        if check in NEEDS:
            needed = NEEDS[check]
            blocking = problems if needed is None else found_by.get(needed, [])
            if blocking:
                continue
        found_by[check] = check(config)
        problems.extend(found_by[check])
    return problems


def _checked(overlay: Mapping[str, Any], checks: tuple[Check, ...]) -> dict[str, Any]:
    resolved = validated_config(overlay)
    problems = consistency_problems(resolved, checks)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return resolved


def resolve_simulated(overlay: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`resolve_config` without the ``inference`` check and without sweep points.

    For the inference's simulated network (its own ``inference`` section would
    otherwise be simulated and checked again, without end).
    """
    return _checked(overlay, tuple(c for c in CHECKS if c is not check_inference))


def resolve_runs(overlay: Mapping[str, Any]) -> tuple[dict[str, Any], list[SweepPoint]]:
    """The resolved configuration and its sweep points (empty without a sweep).

    Every point is resolved and checked too, so that a bad value at one point
    stops the workflow before anything runs; the workflow uses these points
    (they are not computed twice).

    Raises
    ------
    ConfigError
        Naming every offending key and, where there is a closed set, the
        allowed values.
    """
    resolved = _checked(overlay, CHECKS)
    points = sweep_points(resolved, resolve_config) if resolved.get("sweep") else []
    return resolved, points


def resolve_config(overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge an overlay over the defaults, validate it and check every product's rules.

    Parameters
    ----------
    overlay : Mapping
        Any part of a configuration (a YAML file, Snakemake's ``config``);
        what it leaves out takes the schema's defaults. Not modified.

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
    return resolve_runs(overlay)[0]


def load_config(*paths: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Resolve YAML overlays merged in order (later files win), then ``overrides``."""
    overlay: dict[str, Any] = {}
    for path in paths:
        overlay = merge_overlay(overlay, load_yaml(path))
    return resolve_config(merge_overlay(overlay, dict(overrides or {})))
