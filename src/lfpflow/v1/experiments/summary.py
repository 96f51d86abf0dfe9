"""The headline numbers of the V1 experiments, ``results/v1/summary.json``."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.v1 import EXPERIMENTS


def _keyed(keys: Any, values: Any) -> dict[str, float]:
    return {
        f"{float(k):g}": float(v) for k, v in zip(np.ravel(keys), np.ravel(values), strict=True)
    }


def _phase_range_deg(phases: NDArray) -> list[float]:
    """``[first, last]`` of a phase grid in radians, as degrees (rounded to 1e-9 degree)."""
    return [round(math.degrees(float(phases[0])), 9), round(math.degrees(float(phases[-1])), 9)]


def _map_minimum_summary(minimum: NDArray) -> dict[str, float]:
    """The ``(depth, lambda, alpha)`` of a modulation map's minimum, by name."""
    return {
        "modulation_depth": float(minimum[0]),
        "lambda": float(minimum[1]),
        "alpha": float(minimum[2]),
    }


def _modulation_summary(sc: Mapping[str, Any], pt: Mapping[str, Any]) -> dict[str, Any]:
    """The phase-modulation entries of ``summary.json``, from the simple_complex and
    perturbations files.

    Keys without ``full_cycle`` are over the phases of ``v1.grid_phase_range_deg``
    (the published protocol: [-90, 90] degrees, half a cycle), unchanged from
    earlier versions; keys with ``full_cycle`` over ``[low, low + 360]`` degrees at
    the same step. ``modulation_phase_range_deg`` records both ranges.
    """
    mm = sc["modulation_map"]
    return {
        "modulation_phase_range_deg": {
            "grid": _phase_range_deg(sc["phase"]),
            "full_cycle": _phase_range_deg(sc["phase_full_cycle"]),
        },
        "modulation_ratio_by_lambda": _keyed(sc["lambda"], sc["modulation_ratio"]),
        "modulation_ratio_full_cycle_by_lambda": _keyed(
            sc["lambda"], sc["modulation_ratio_full_cycle"]
        ),
        "modulation_map_minimum": _map_minimum_summary(mm["minimum"]),
        "modulation_map_minimum_full_cycle": _map_minimum_summary(mm["minimum_full_cycle"]),
        "perturbation_modulation_ratio_by_level": _keyed(
            pt["noise_level"], pt["modulation_ratio_mean"]
        ),
        "perturbation_modulation_ratio_full_cycle_by_level": _keyed(
            pt["noise_level"], pt["modulation_ratio_full_cycle_mean"]
        ),
    }


def summarise(
    inputs: Mapping[str, str | os.PathLike],
    output: str | os.PathLike,
    *,
    seconds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Collect the headline numbers of the experiments into ``summary.json``.

    Parameters
    ----------
    inputs : Mapping
        Experiment name -> its HDF5 file (all of :data:`lfpflow.v1.EXPERIMENTS`).
    output : path-like
        ``results/v1/summary.json``.
    seconds : Mapping, optional
        Experiment name -> wall-clock seconds of its job (the workflow passes
        the Snakemake benchmarks, see :func:`lfpflow.signals.analysis.read_benchmark`); recorded as
        ``seconds_by_experiment`` and ``seconds_total`` when given.

    Returns
    -------
    dict
        The summary written. Phase modulation is reported over the phases of
        ``v1.grid_phase_range_deg`` (published protocol, keys unchanged) and
        over a full cycle (keys with ``full_cycle``), see :func:`_modulation_summary`;
        ``modulation_depth_by_contrast`` is over a full cycle, as published.
    """
    missing = sorted(set(EXPERIMENTS) - set(inputs))
    if missing:
        raise ValueError(f"summary needs every experiment; missing {', '.join(missing)}")
    data = {name: io.read_h5(path) for name, path in inputs.items()}
    sc, st, co, osh = (
        data["simple_complex"],
        data["input_statistics"],
        data["contrast"],
        data["orientation_sharpening"],
    )
    main = int(co["main_setting"])
    sweep = np.array([s.decode() if isinstance(s, bytes) else s for s in osh["sweep"]])
    in_l2 = sweep == "lambda2"
    pt = data["perturbations"]
    summary: dict[str, Any] = {
        **_modulation_summary(sc, pt),
        "k_model": float(st["k_model"]),
        "k_experiment": float(st["k_experiment"]),
        "modulation_depth_by_contrast": _keyed(co["contrast"], co["modulation_depth"][main]),
        "modulation_depth_main_setting": {
            "lambda": float(co["setting_lambda"][main]),
            "pa2m": float(co["setting_pa2m"][main]),
            "rate_exponent": float(co["setting_rate_exponent"][main]),
            "rms_difference_to_experiment": float(co["rms_difference_main"]),
        },
        "tuning_hwhm_deg_by_lambda2": _keyed(osh["lambda2"][in_l2], osh["tuning_hwhm_deg"][in_l2]),
        "tuning_hwhm_deg_by_lambda1": _keyed(
            osh["lambda1"][sweep == "lambda1"], osh["tuning_hwhm_deg"][sweep == "lambda1"]
        ),
        "tuning_hwhm_deg_by_alpha2": _keyed(
            osh["alpha2"][sweep == "alpha2"], osh["tuning_hwhm_deg"][sweep == "alpha2"]
        ),
        "protocol": data["simple_complex"]["attrs"]["protocol"],
        "dendritic_sum": data["simple_complex"]["attrs"]["dendritic_sum"],
    }
    if seconds is not None:
        summary["seconds_by_experiment"] = {name: float(seconds[name]) for name in EXPERIMENTS}
        summary["seconds_total"] = float(sum(summary["seconds_by_experiment"].values()))
    io.write_json(output, summary)
    return summary
