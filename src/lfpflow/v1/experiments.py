"""The experiments of Rentzeperis, Prandi & Bertalmío (2025), one function each.

Each experiment function takes the resolved ``v1`` configuration (see
:data:`DEFAULTS` and :func:`resolve_config`) and returns the content of its
HDF5 file (a mapping for :func:`lfpflow.io.write_h5`); :func:`run_experiment`
computes, writes ``results/v1/<experiment>.h5`` and draws the figures from
the written file; :func:`summarise` collects the headline numbers into
``results/v1/summary.json``.

HDF5 layout: every response dataset has an attribute ``dims`` (JSON list)
naming, axis by axis, the coordinate datasets of the same group (angles in
radians). Membrane potentials are in the model's arbitrary units (``"a.u."``);
dimensionless numbers have units ``"1"``. Root attributes: provenance
(``config_sha256`` of the ``v1`` section, ``seed``, versions, time), the
experiment name, the relaxation protocol and the dendritic-sum method (no
timing, so that reruns with ``SOURCE_DATE_EPOCH`` set are byte-identical; the
workflow's summary takes the jobs' times from the Snakemake benchmarks).

Choices that follow the authors' public code (rentzi/nonlinearNeuronModel) and
are configurable are documented in ``src/lfpflow/config/schemas/v1.schema.yaml``.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.v1 import EXPERIMENTS, FIGURES, analysis, model, stimuli

log = logging.getLogger(__name__)

#: Default ``v1`` configuration; ``src/lfpflow/config/schemas/v1.schema.yaml`` carries
#: the same defaults with descriptions (a test checks they agree).
DEFAULTS: dict[str, Any] = {
    "data_dir": "../shared/data",
    "seed": 20250917,
    "relaxation": {
        "protocol": "paper",
        "rate": 0.1,
        "steps": 21,
        "tolerance": 1.0e-12,
        "max_iterations": 20000,
    },
    "numerics": {"dendritic_sum": "binned", "n_bins": 64},
    "model": {"pa2m": 0.5, "xor_peak_base": 0.43, "xor_half_width": 0.2},
    "filters": {
        "n_pixels": 129,
        "cycles_per_image": 4.0,
        "envelope_factor": 1.0,
        "w1_envelope_factor": 3.0,
        "w1_phase_offset_deg": 90.0,
        "aspect_ratio": 0.125,
    },
    "grid_step_deg": 10.0,
    "simple_complex": {
        "lambdas": [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0],
        "alpha": 0.2,
        "alpha_sweep": {"lambda": 10.0, "alphas": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]},
        "modulation_map": {
            "log2_lambda_min": 1.0,
            "log2_lambda_max": 10.0,
            "n_lambda": 37,
            "alpha_min": 0.0,
            "alpha_max": 0.8,
            "n_alpha": 33,
        },
        "controls": {
            "lambda": 10.0,
            "alpha": 0.2,
            "w0_envelope_factor": 0.5,
            "sigmoid_alphas": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
        },
        "hierarchical": {
            "lambda": 10.0,
            "alpha": 0.2,
            "prefilter_frequency_factor": 12.0,
            "prefilter_envelope_factor": 0.5,
        },
    },
    "perturbations": {
        "lambda": 10.0,
        "alpha": 0.2,
        "noise_levels": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        "repetitions": 100,
        "shared_draws": True,
        "figure_levels": [0.0, 1.0, 2.0, 4.0, 8.0],
    },
    "input_statistics": {
        "n_pixels": 33,
        "lambdas": [64.0, 32.0, 16.0, 8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0],
        "alpha": 0.2,
        "n_stimuli": 100,
        "sparse_fraction": 0.01,
        "data_file": "fournier2011_fig3a_simpleness_index.csv",
    },
    "contrast": {
        "alpha": 0.2,
        "contrasts": [1.0, 0.64, 0.32, 0.16, 0.08, 0.04],
        "settings": [
            {"lambda": 8.0, "pa2m": 0.5, "rate_exponent": 1.0},
            {"lambda": 10.0, "pa2m": 0.5, "rate_exponent": 1.0},
            {"lambda": 12.0, "pa2m": 0.5, "rate_exponent": 1.0},
            {"lambda": 8.0, "pa2m": 0.25, "rate_exponent": 1.0},
            {"lambda": 10.0, "pa2m": 0.25, "rate_exponent": 1.0},
            {"lambda": 12.0, "pa2m": 0.25, "rate_exponent": 1.0},
            {"lambda": 8.0, "pa2m": 0.25, "rate_exponent": 0.5},
            {"lambda": 10.0, "pa2m": 0.25, "rate_exponent": 0.5},
            {"lambda": 12.0, "pa2m": 0.25, "rate_exponent": 0.5},
        ],
        "main": {"lambda": 10.0, "pa2m": 0.25, "rate_exponent": 0.5},
        "hierarchical": {
            "enabled": True,
            "lambda": 10.0,
            "pa2m": 0.2,
            "rate_exponent": 1.0,
            "xor_peak_exponent": 0.5,
        },
        "data_file": "meffin_fig3c_modulation_depth_vs_contrast.csv",
    },
    "orientation_sharpening": {
        "n_units": 18,
        "alpha1": 0.2,
        "lambda1_sweep": {"lambda1": [0.0, 1.0, 2.0, 10.0], "lambda2": 1.0, "alpha2": 1.0},
        "lambda2_sweep": {
            "lambda1": 10.0,
            "lambda2": [0.0, 2.0, 4.0, 10.0, 20.0],
            "alpha2": 1.0,
        },
        "alpha2_sweep": {"lambda1": 10.0, "lambda2": 10.0, "alpha2": [0.0, 0.4, 1.0, 2.0]},
        "tuning_step_deg": 1.0,
    },
    "receptive_field": {
        "lambdas": [0.0, 1.0, 10.0],
        "alpha": 0.2,
        "filter_phase_deg": -180.0,
        "slope_floor": 0.01,
        "grating_cycles_per_image": 3.0,
        "amplitude": 0.43,
        "masked": {
            "lambdas": [0.0, 1.0],
            "aspect_ratio": 0.5,
            "mask_threshold": 0.1,
        },
    },
}

# Constraints beyond the type of the default: dotted path ("*" = list item)
# -> (test, description).
_Rule = tuple[Callable[[Any], bool], str]
_CONSTRAINTS: dict[str, _Rule] = {
    "seed": (lambda x: x >= 0, ">= 0"),
    "relaxation.protocol": (lambda x: x in ("paper", "converged"), "'paper' or 'converged'"),
    "relaxation.rate": (lambda x: 0 < x <= 1, "in (0, 1]"),
    "relaxation.steps": (lambda x: x >= 1, ">= 1"),
    "relaxation.tolerance": (lambda x: x > 0, "> 0"),
    "relaxation.max_iterations": (lambda x: x >= 1, ">= 1"),
    "numerics.dendritic_sum": (lambda x: x in ("binned", "exact"), "'binned' or 'exact'"),
    "numerics.n_bins": (lambda x: x >= 1, ">= 1"),
    "model.pa2m": (lambda x: x > 0, "> 0"),
    "model.xor_peak_base": (lambda x: x > 0, "> 0"),
    "model.xor_half_width": (lambda x: x > 0, "> 0"),
    "filters.n_pixels": (lambda x: x >= 3 and x % 2 == 1, "an odd integer >= 3"),
    "filters.cycles_per_image": (lambda x: x > 0, "> 0"),
    "filters.envelope_factor": (lambda x: x > 0, "> 0"),
    "filters.w1_envelope_factor": (lambda x: x > 0, "> 0"),
    "filters.aspect_ratio": (lambda x: x > 0, "> 0"),
    "grid_step_deg": (lambda x: 0 < x <= 90, "in (0, 90]"),
    "simple_complex.lambdas.*": (lambda x: x >= 0, ">= 0"),
    "simple_complex.alpha": (lambda x: x >= 0, ">= 0"),
    "simple_complex.alpha_sweep.lambda": (lambda x: x >= 0, ">= 0"),
    "simple_complex.alpha_sweep.alphas.*": (lambda x: x >= 0, ">= 0"),
    "simple_complex.modulation_map.n_lambda": (lambda x: x >= 2, ">= 2"),
    "simple_complex.modulation_map.n_alpha": (lambda x: x >= 2, ">= 2"),
    "simple_complex.modulation_map.alpha_min": (lambda x: x >= 0, ">= 0"),
    "simple_complex.modulation_map.alpha_max": (lambda x: x >= 0, ">= 0"),
    "simple_complex.controls.lambda": (lambda x: x >= 0, ">= 0"),
    "simple_complex.controls.alpha": (lambda x: x >= 0, ">= 0"),
    "simple_complex.controls.w0_envelope_factor": (lambda x: x > 0, "> 0"),
    "simple_complex.controls.sigmoid_alphas.*": (lambda x: x >= 0, ">= 0"),
    "simple_complex.hierarchical.lambda": (lambda x: x >= 0, ">= 0"),
    "simple_complex.hierarchical.alpha": (lambda x: x >= 0, ">= 0"),
    "simple_complex.hierarchical.prefilter_frequency_factor": (lambda x: x > 0, "> 0"),
    "simple_complex.hierarchical.prefilter_envelope_factor": (lambda x: x > 0, "> 0"),
    "perturbations.lambda": (lambda x: x >= 0, ">= 0"),
    "perturbations.alpha": (lambda x: x >= 0, ">= 0"),
    "perturbations.noise_levels.*": (lambda x: x >= 0, ">= 0"),
    "perturbations.repetitions": (lambda x: x >= 1, ">= 1"),
    "perturbations.figure_levels.*": (lambda x: x >= 0, ">= 0"),
    "input_statistics.n_pixels": (lambda x: x >= 3 and x % 2 == 1, "an odd integer >= 3"),
    "input_statistics.lambdas.*": (lambda x: x >= 0, ">= 0"),
    "input_statistics.alpha": (lambda x: x >= 0, ">= 0"),
    "input_statistics.n_stimuli": (lambda x: x >= 1, ">= 1"),
    "input_statistics.sparse_fraction": (lambda x: 0 < x <= 1, "in (0, 1]"),
    "contrast.alpha": (lambda x: x >= 0, ">= 0"),
    "contrast.contrasts.*": (lambda x: x > 0, "> 0"),
    "contrast.settings.*.lambda": (lambda x: x >= 0, ">= 0"),
    "contrast.settings.*.pa2m": (lambda x: x > 0, "> 0"),
    "contrast.settings.*.rate_exponent": (lambda x: x > 0, "> 0"),
    "contrast.main.lambda": (lambda x: x >= 0, ">= 0"),
    "contrast.main.pa2m": (lambda x: x > 0, "> 0"),
    "contrast.main.rate_exponent": (lambda x: x > 0, "> 0"),
    "contrast.hierarchical.lambda": (lambda x: x >= 0, ">= 0"),
    "contrast.hierarchical.pa2m": (lambda x: x > 0, "> 0"),
    "contrast.hierarchical.rate_exponent": (lambda x: x > 0, "> 0"),
    "contrast.hierarchical.xor_peak_exponent": (lambda x: x > 0, "> 0"),
    "orientation_sharpening.n_units": (lambda x: x >= 2, ">= 2"),
    "orientation_sharpening.alpha1": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.lambda1_sweep.lambda1.*": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.lambda1_sweep.lambda2": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.lambda2_sweep.lambda1": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.lambda2_sweep.lambda2.*": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.alpha2_sweep.lambda1": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.alpha2_sweep.lambda2": (lambda x: x >= 0, ">= 0"),
    "orientation_sharpening.tuning_step_deg": (lambda x: 0 < x <= 90, "in (0, 90]"),
    "receptive_field.lambdas.*": (lambda x: x >= 0, ">= 0"),
    "receptive_field.alpha": (lambda x: x >= 0, ">= 0"),
    "receptive_field.slope_floor": (lambda x: x >= 0, ">= 0"),
    "receptive_field.grating_cycles_per_image": (lambda x: x > 0, "> 0"),
    "receptive_field.masked.lambdas.*": (lambda x: x >= 0, ">= 0"),
    "receptive_field.masked.aspect_ratio": (lambda x: x > 0, "> 0"),
    "receptive_field.masked.mask_threshold": (lambda x: 0 <= x < 1, "in [0, 1)"),
}

#: Lists that must not be empty.
_NON_EMPTY = {
    "simple_complex.lambdas",
    "simple_complex.alpha_sweep.alphas",
    "simple_complex.controls.sigmoid_alphas",
    "perturbations.noise_levels",
    "input_statistics.lambdas",
    "contrast.contrasts",
    "contrast.settings",
    "orientation_sharpening.lambda1_sweep.lambda1",
    "orientation_sharpening.lambda2_sweep.lambda2",
    "orientation_sharpening.alpha2_sweep.alpha2",
    "receptive_field.lambdas",
    "receptive_field.masked.lambdas",
}


def _check_value(path: str, value: Any, default: Any) -> Any:
    """Type-check ``value`` against ``default``; return the normalised value."""
    key = f"v1.{path}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        value = int(value)
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{key} must be finite, got {value!r}")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {value!r}")
    rule = _CONSTRAINTS.get(_pattern(path))
    if rule is not None and not rule[0](value):
        raise ValueError(f"{key} must be {rule[1]}, got {value!r}")
    return value


def _pattern(path: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def _merge(path: str, value: Any, default: Any) -> Any:
    if isinstance(default, dict):
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ValueError(f"v1.{path} must be a mapping, got {value!r}")
        unknown = sorted(set(value) - set(default))
        if unknown:
            where = f"v1.{path}" if path else "v1"
            raise ValueError(f"unknown key(s) in {where}: {', '.join(map(str, unknown))}")
        return {
            name: _merge(f"{path}.{name}" if path else name, value.get(name, sub), sub)
            for name, sub in default.items()
        }
    if isinstance(default, list):
        if not isinstance(value, list | tuple):
            raise ValueError(f"v1.{path} must be a list, got {value!r}")
        if path in _NON_EMPTY and not value:
            raise ValueError(f"v1.{path} must not be empty")
        template = default[0]
        if isinstance(template, dict):
            for i, item in enumerate(value):
                missing = sorted(set(template) - set(item)) if isinstance(item, Mapping) else []
                if missing:
                    raise ValueError(f"v1.{path}.{i} lacks key(s): {', '.join(missing)}")
        return [_merge(f"{path}.{i}", item, template) for i, item in enumerate(value)]
    return _check_value(path, value, default)


def resolve_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into a (possibly partial) ``v1`` section and validate it.

    Parameters
    ----------
    config : Mapping, optional
        The ``v1`` section of the configuration; missing keys take
        :data:`DEFAULTS`. Lists replace the default list as a whole.

    Returns
    -------
    dict
        The complete, validated section (a new object).

    Raises
    ------
    ValueError
        For an unknown key or a bad value, naming the key (``v1.a.b``).
    """
    resolved = _merge("", copy.deepcopy(dict(config or {})), DEFAULTS)
    mm = resolved["simple_complex"]["modulation_map"]
    if mm["log2_lambda_max"] <= mm["log2_lambda_min"]:
        raise ValueError(
            "v1.simple_complex.modulation_map.log2_lambda_max must exceed log2_lambda_min"
        )
    if mm["alpha_max"] <= mm["alpha_min"]:
        raise ValueError("v1.simple_complex.modulation_map.alpha_max must exceed alpha_min")
    return resolved


# ---------------------------------------------------------------------------
# Shared set-up
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Model ingredients shared by the experiments, built from the config."""

    config: dict[str, Any]

    @property
    def relaxation(self) -> model.Relaxation:
        return model.Relaxation(**self.config["relaxation"])

    def filter_spec(self, **overrides: Any) -> model.FilterSpec:
        f = self.config["filters"]
        values = dict(
            n_pixels=f["n_pixels"],
            cycles_per_image=f["cycles_per_image"],
            envelope_factor=f["envelope_factor"],
            w1_envelope_factor=f["w1_envelope_factor"],
            w1_phase_offset=math.radians(f["w1_phase_offset_deg"]),
            aspect_ratio=f["aspect_ratio"],
        )
        values.update(overrides)
        return model.FilterSpec(**values)

    @property
    def pa2m(self) -> float:
        return self.config["model"]["pa2m"]

    def xor(self, pa2m: float | None = None) -> model.XorDendrite:
        """XOR lobe centred at ``xor_peak_base ** pa2m``."""
        m = self.config["model"]
        return model.XorDendrite.for_exponent(
            self.pa2m if pa2m is None else pa2m,
            peak_base=m["xor_peak_base"],
            half_width=m["xor_half_width"],
        )

    def dendritic_sum(
        self, weights: NDArray, potentials: NDArray, nonlinearity: Any
    ) -> model.ExactDendriticSum | model.BinnedDendriticSum:
        numerics = self.config["numerics"]
        return model.dendritic_sum(
            weights,
            potentials,
            nonlinearity,
            method=numerics["dendritic_sum"],
            n_bins=numerics["n_bins"],
        )

    def angles(self, start_deg: float = -90.0, stop_deg: float = 90.0) -> NDArray:
        """Orientation / phase grid in radians (default 10 degree steps over [-90, 90])."""
        step = math.radians(self.config["grid_step_deg"])
        return stimuli.angle_grid(step, math.radians(start_deg), math.radians(stop_deg))

    def rng(self, experiment: str) -> np.random.Generator:
        """A generator seeded by ``v1.seed`` and the experiment's index in EXPERIMENTS."""
        return np.random.default_rng([self.config["seed"], EXPERIMENTS.index(experiment)])


def _dataset(
    data: Any, units: str, dims: tuple[str, ...] | None = None, **attrs: Any
) -> io.Dataset:
    if dims is not None:
        attrs["dims"] = list(dims)
    return io.Dataset(np.asarray(data), units, **attrs)


def _pixels(n_pixels: int) -> dict[str, io.Dataset]:
    """Coordinates ``row`` (y, up) and ``column`` (x, right) of image datasets, pixels."""
    x, y = stimuli.pixel_grid(n_pixels)
    return {
        "row": _dataset(y[:, 0], "px", description="y of each row (up is positive)"),
        "column": _dataset(x[0], "px", description="x of each column"),
    }


def _angle(values: NDArray, description: str) -> io.Dataset:
    return _dataset(values, "rad", description=description)


def _gabor_grid(setup: Setup, spec: model.FilterSpec) -> tuple[NDArray, NDArray, NDArray]:
    """Gabor stimuli over (phase, orientation); returns phases, orientations, images (P*O, n, n)."""
    orientations = setup.angles()
    phases = setup.angles()
    images = spec.stimulus_gabor(orientations[None, :], phases[:, None])
    return phases, orientations, images.reshape(-1, spec.n_pixels, spec.n_pixels)


def _feedforward(
    setup: Setup,
    w0: NDArray,
    w1: NDArray,
    images: NDArray,
    *,
    lam: Any,
    alpha: Any,
    pa2m: float | None = None,
    nonlinearity: Any = None,
) -> model.RelaxationResult:
    """Two-term model for one filter pair and a stack of stimuli (pair axes (1, S))."""
    pa2m = setup.pa2m if pa2m is None else pa2m
    nonlinearity = nonlinearity or setup.xor(pa2m)
    potentials = model.rate_to_potential(images, pa2m)
    dsum = setup.dendritic_sum(w1[None], potentials, nonlinearity)
    q = model.linear_drive(w0, images)
    return model.relax_feedforward(q, dsum, lam=lam, alpha=alpha, relaxation=setup.relaxation)


# ---------------------------------------------------------------------------
# 1. From simple to complex cells
# ---------------------------------------------------------------------------


def simple_complex(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 1: simple-to-complex transition with the XOR term (Figs 2, 3, S4).

    Responses to Gabor patches over phase and orientation for each lambda
    (``responses``); the alpha sweep at one lambda; the map of modulation
    depth over (lambda, alpha) at the preferred orientation; the controls
    with a non-oriented ``w1`` and with a sigmoid instead of the XOR
    dendrite; the hierarchical variant whose input is pre-filtered by a
    cortical Gabor.
    """
    setup = Setup(resolve_config(config))
    sc = setup.config["simple_complex"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    phases, orientations, images = _gabor_grid(setup, spec)
    n_ph, n_or = phases.size, orientations.size
    preferred = int(np.argmin(np.abs(orientations)))
    grid = ("phase", "orientation")

    def surface(result: model.RelaxationResult) -> NDArray:
        return result.v.reshape(result.v.shape[:-2] + (n_ph, n_or))

    lambdas = np.asarray(sc["lambdas"], dtype=float)
    main = _feedforward(setup, w0, w1, images, lam=lambdas[:, None, None], alpha=sc["alpha"])
    responses = surface(main)
    content: dict[str, Any] = {
        "responses": _dataset(responses, "a.u.", ("lambda", *grid), alpha=sc["alpha"]),
        "iterations": _dataset(main.iterations.reshape(responses.shape), "1", ("lambda", *grid)),
        "linear_drive": _dataset(main.linear[0].reshape(n_ph, n_or), "a.u.", grid),
        "modulation_ratio": _dataset(
            analysis.modulation_depth(responses[:, :, preferred], axis=1),
            "1",
            ("lambda",),
            description="(max-min)/max over phase of the rectified response, preferred orientation",
        ),
        "lambda": _dataset(lambdas, "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation (preferred: 0)"),
    }

    sweep = sc["alpha_sweep"]
    alphas = np.asarray(sweep["alphas"], dtype=float)
    swept = _feedforward(setup, w0, w1, images, lam=sweep["lambda"], alpha=alphas[:, None, None])
    swept_surface = surface(swept)
    content["alpha_sweep"] = {
        "responses": _dataset(
            swept_surface, "a.u.", ("alpha", *grid), **{"lambda": sweep["lambda"]}
        ),
        "modulation_ratio": _dataset(
            analysis.modulation_depth(swept_surface[:, :, preferred], axis=1), "1", ("alpha",)
        ),
        "alpha": _dataset(alphas, "1"),
        "lambda": _dataset(sweep["lambda"], "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
    }

    mm = sc["modulation_map"]
    map_lambdas = 2.0 ** np.linspace(mm["log2_lambda_min"], mm["log2_lambda_max"], mm["n_lambda"])
    map_alphas = np.linspace(mm["alpha_min"], mm["alpha_max"], mm["n_alpha"])
    preferred_images = images.reshape(n_ph, n_or, *images.shape[1:])[:, preferred]
    mapped = _feedforward(
        setup,
        w0,
        w1,
        preferred_images,
        lam=map_lambdas[:, None, None, None],
        alpha=map_alphas[None, :, None, None],
    )
    map_responses = mapped.v[:, :, 0, :]
    depth = analysis.modulation_depth(map_responses, axis=-1)
    best = np.unravel_index(np.nanargmin(depth), depth.shape)
    content["modulation_map"] = {
        "modulation_depth": _dataset(depth, "1", ("lambda", "alpha")),
        "responses": _dataset(map_responses, "a.u.", ("lambda", "alpha", "phase")),
        "lambda": _dataset(map_lambdas, "1"),
        "alpha": _dataset(map_alphas, "1"),
        "phase": _angle(phases, "stimulus phase (orientation 0)"),
        "minimum": _dataset(
            [depth[best], map_lambdas[best[0]], map_alphas[best[1]]],
            "1",
            description="minimum modulation depth, its lambda and alpha",
        ),
    }

    controls = sc["controls"]
    narrow_w0, _ = model.model_filters(
        setup.filter_spec(envelope_factor=controls["w0_envelope_factor"])
    )
    n = spec.n_pixels
    uniform_w1 = np.full((n, n), 1.0 / (n * n))
    nonoriented = _feedforward(
        setup, narrow_w0, uniform_w1, images, lam=controls["lambda"], alpha=controls["alpha"]
    )
    content["nonoriented_w1"] = {
        "responses": _dataset(surface(nonoriented), "a.u.", grid),
        "lambda": _dataset(controls["lambda"], "1"),
        "alpha": _dataset(controls["alpha"], "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
    }
    sig_alphas = np.asarray(controls["sigmoid_alphas"], dtype=float)
    sigmoid = _feedforward(
        setup,
        narrow_w0,
        w1,
        images,
        lam=controls["lambda"],
        alpha=sig_alphas[:, None, None],
        nonlinearity=model.SigmoidDendrite(),
    )
    sig_surface = surface(sigmoid)
    content["sigmoid_dendrite"] = {
        "responses": _dataset(sig_surface, "a.u.", ("alpha", *grid)),
        "modulation_ratio": _dataset(
            analysis.modulation_depth(sig_surface[:, :, preferred], axis=1), "1", ("alpha",)
        ),
        "alpha": _dataset(sig_alphas, "1"),
        "lambda": _dataset(controls["lambda"], "1"),
        "alpha_shown": _dataset(controls["alpha"], "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
    }

    hier = sc["hierarchical"]
    pre_spec = setup.filter_spec(
        cycles_per_image=spec.cycles_per_image * hier["prefilter_frequency_factor"],
        envelope_factor=spec.envelope_factor
        * hier["prefilter_envelope_factor"]
        * hier["prefilter_frequency_factor"],
    )
    prefilter, _ = model.model_filters(pre_spec)
    cortical = stimuli.prefilter(images, prefilter)
    # as in the authors' code, the unit's linear filter is the pre-filter itself
    hierarchical = _feedforward(
        setup, prefilter, w1, cortical, lam=hier["lambda"], alpha=hier["alpha"]
    )
    hier_surface = surface(hierarchical)
    content["hierarchical"] = {
        "responses": _dataset(hier_surface, "a.u.", grid),
        "modulation_ratio": _dataset(
            analysis.modulation_depth(hier_surface[:, preferred], axis=0), "1"
        ),
        "prefilter": _dataset(prefilter, "1", ("row", "column")),
        **_pixels(spec.n_pixels),
        "lambda": _dataset(hier["lambda"], "1"),
        "alpha": _dataset(hier["alpha"], "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
    }
    content["filters"] = {
        "w0": _dataset(w0, "1", ("row", "column")),
        "w1": _dataset(w1, "1", ("row", "column")),
        **_pixels(spec.n_pixels),
    }
    return content


# ---------------------------------------------------------------------------
# 2. Robustness to perturbations of the filters
# ---------------------------------------------------------------------------


def perturbations(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 2: filters perturbed by uniform noise (Fig 4).

    ``w0 + L u0`` and ``w1 + L u1`` with ``u0, u1`` uniform on
    ``[-max|w0|, max|w0|]`` per pixel, for each noise level ``L`` and
    repetition. With ``shared_draws`` (default) the same ``u0, u1`` of
    repetition ``r`` serve every level (common random numbers: each level
    still sees ``repetitions`` independent draws, and differences between
    levels are not blurred by draw-to-draw variability); otherwise every
    level draws afresh, as the authors' code does.
    """
    setup = Setup(resolve_config(config))
    pc = setup.config["perturbations"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    phases, orientations, images = _gabor_grid(setup, spec)
    n_ph, n_or, n = phases.size, orientations.size, spec.n_pixels
    preferred = int(np.argmin(np.abs(orientations)))
    levels = np.asarray(pc["noise_levels"], dtype=float)
    reps = pc["repetitions"]
    rng = setup.rng("perturbations")
    edge = float(np.abs(w0).max())
    potentials = model.rate_to_potential(images, setup.pa2m)
    xor = setup.xor()
    q0 = model.linear_drive(w0, images)
    binned = setup.config["numerics"]["dendritic_sum"] == "binned"

    def draw() -> tuple[NDArray, NDArray]:
        return (
            rng.uniform(-edge, edge, size=(reps, n, n)),
            rng.uniform(-edge, edge, size=(reps, n, n)),
        )

    responses = np.empty((levels.size, reps, n_ph, n_or))
    examples = np.empty((levels.size, 2, n, n))
    noise = base = q_noise = None
    for i, level in enumerate(levels):
        if noise is None or not pc["shared_draws"]:
            noise = draw()
            base = None
            q_noise = model.linear_drive(noise[0], images)
        u0, u1 = noise
        q = q0 + level * q_noise
        if binned:
            if base is None:
                base = setup.dendritic_sum(np.concatenate([w1[None], u1]), potentials, xor)
            coefficients = np.hstack([np.ones((reps, 1)), level * np.eye(reps)])
            dsum = base.combine(coefficients)
        else:
            dsum = setup.dendritic_sum(w1[None] + level * u1, potentials, xor)
        result = model.relax_feedforward(
            q, dsum, lam=pc["lambda"], alpha=pc["alpha"], relaxation=setup.relaxation
        )
        responses[i] = result.v.reshape(reps, n_ph, n_or)
        examples[i, 0] = w0 + level * u0[0]
        examples[i, 1] = w1 + level * u1[0]
        log.info("perturbations: level %g done", level)

    rectified = analysis.rectify(responses)
    ratio = analysis.modulation_depth(responses[..., preferred], axis=-1)
    tuning = rectified.max(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = tuning / tuning.max(axis=-1, keepdims=True)
    hwhm = np.degrees(analysis.half_width_at_half_maximum(orientations, tuning))
    # reference: the unperturbed surface (authors' Fig 4b compares normalised surfaces)
    reference = _feedforward(setup, w0, w1, images, lam=pc["lambda"], alpha=pc["alpha"])
    ref_surface = analysis.rectify(reference.v[0].reshape(n_ph, n_or))
    ref_surface = ref_surface / ref_surface.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = rectified / rectified.max(axis=(2, 3), keepdims=True)
    mse_phase = analysis.mean_squared_error(
        normalised[..., preferred], ref_surface[:, preferred], axis=-1
    )
    mse_surface = analysis.mean_squared_error(normalised, ref_surface, axis=(-2, -1))
    rep_dims = ("noise_level", "repetition")
    return {
        "responses": _dataset(responses, "a.u.", (*rep_dims, "phase", "orientation")),
        "modulation_ratio": _dataset(ratio, "1", rep_dims),
        "modulation_ratio_mean": _dataset(np.nanmean(ratio, axis=1), "1", ("noise_level",)),
        "modulation_ratio_sd": _dataset(np.nanstd(ratio, axis=1), "1", ("noise_level",)),
        "orientation_tuning": _dataset(
            tuning,
            "1",
            (*rep_dims, "orientation"),
            description="max over phase of the rectified response, normalised to its peak",
        ),
        "tuning_hwhm_deg": _dataset(hwhm, "deg", rep_dims),
        "mse_phase": _dataset(mse_phase, "1", rep_dims),
        "mse_surface": _dataset(mse_surface, "1", rep_dims),
        "example_filters": _dataset(
            examples, "1", ("noise_level", "filter", "row", "column"), description="repetition 0"
        ),
        "filter": _dataset(np.array([b"w0", b"w1"]), "1"),
        **_pixels(n),
        "noise_level": _dataset(levels, "1", description="noise amplitude in units of max|w0|"),
        "figure_levels": _dataset(pc["figure_levels"], "1", description="levels drawn"),
        "repetition": _dataset(np.arange(reps), "1"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
    }


# ---------------------------------------------------------------------------
# 3. Input statistics: sparse vs dense noise
# ---------------------------------------------------------------------------


def _data_path(config: Mapping[str, Any], file_name: str) -> Path:
    return Path(config["data_dir"]) / file_name


def input_statistics(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 3: simpleness index under sparse and dense noise (Fig 5).

    ``SI = |c0 Q| / (|c0 Q| + |c1 R|)`` for ``n_stimuli`` sparse- and
    dense-noise images per lambda (the same images for every lambda), and
    the ``k`` of ``SI_dense = x/(x + (1/k)^2 (1-x))`` fitted to the mean SIs
    of the model and to the experimental points of Fournier et al. (2011).
    """
    setup = Setup(resolve_config(config))
    ic = setup.config["input_statistics"]
    spec = setup.filter_spec(n_pixels=ic["n_pixels"])
    w0, w1 = model.model_filters(spec)
    rng = setup.rng("input_statistics")
    n_stim = ic["n_stimuli"]
    sparse = stimuli.sparse_noise(spec.n_pixels, n_stim, fraction=ic["sparse_fraction"], rng=rng)
    dense = stimuli.dense_noise(spec.n_pixels, n_stim, rng=rng)
    images = np.concatenate([sparse, dense])
    lambdas = np.asarray(ic["lambdas"], dtype=float)
    result = _feedforward(setup, w0, w1, images, lam=lambdas[:, None, None], alpha=ic["alpha"])
    si = analysis.simpleness_index(
        result.linear[:, 0], result.dendritic[:, 0], lambdas[:, None]
    ).reshape(lambdas.size, 2, n_stim)
    si = np.moveaxis(si, 1, 0)  # (noise, lambda, stimulus)
    si_mean = np.nanmean(si, axis=-1)
    si_sd = np.nanstd(si, axis=-1)
    k_model, k_model_se = analysis.fit_fournier_k(si_mean[0], si_mean[1])
    data = analysis.read_table(_data_path(setup.config, ic["data_file"]))
    k_exp, k_exp_se = analysis.fit_fournier_k(data["si_sparse_noise"], data["si_dense_noise"])
    dims = ("noise", "lambda", "stimulus")
    return {
        "simpleness_index": _dataset(si, "1", dims),
        "simpleness_index_mean": _dataset(si_mean, "1", dims[:2]),
        "simpleness_index_sd": _dataset(si_sd, "1", dims[:2]),
        "responses": _dataset(
            np.moveaxis(result.v[:, 0].reshape(lambdas.size, 2, n_stim), 1, 0), "a.u.", dims
        ),
        "linear_drive": _dataset(
            result.linear[0, 0].reshape(2, n_stim), "a.u.", ("noise", "stimulus")
        ),
        "dendritic_drive": _dataset(
            np.moveaxis(result.dendritic[:, 0].reshape(lambdas.size, 2, n_stim), 1, 0), "a.u.", dims
        ),
        "k_model": _dataset(k_model, "1", standard_error=k_model_se),
        "k_experiment": _dataset(k_exp, "1", standard_error=k_exp_se, source=ic["data_file"]),
        "experiment": {
            "si_sparse_noise": _dataset(data["si_sparse_noise"], "1", ("cell",)),
            "si_dense_noise": _dataset(data["si_dense_noise"], "1", ("cell",)),
            "cell": _dataset(np.arange(data["si_sparse_noise"].size), "1"),
        },
        "example_stimuli": _dataset(images[[0, n_stim]], "1", ("noise", "row", "column")),
        **_pixels(spec.n_pixels),
        "noise": _dataset(np.array([b"sparse", b"dense"]), "1"),
        "lambda": _dataset(lambdas, "1"),
        "stimulus": _dataset(np.arange(n_stim), "1"),
    }


# ---------------------------------------------------------------------------
# 4. Phase sensitivity and contrast
# ---------------------------------------------------------------------------


def _setting_key(setting: Mapping[str, float]) -> tuple[float, float, float]:
    return (setting["lambda"], setting["pa2m"], setting["rate_exponent"])


def contrast(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 4: modulation depth vs contrast (Fig 6), against Meffin et al.

    Gabor patches at the preferred orientation over a full cycle of phase
    (-180..180 degrees) at each contrast; modulation depth ``(max-min)/max``
    of ``max(v, 0) ** rate_exponent`` over phase, for each (lambda, pa2m,
    rate_exponent) setting; plus the hierarchical (cortical-input) variant.
    """
    setup = Setup(resolve_config(config))
    cc = setup.config["contrast"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    phases = setup.angles(-180.0, 180.0)
    contrasts = np.asarray(cc["contrasts"], dtype=float)
    images = spec.stimulus_gabor(0.0, phases[None, :], contrasts[:, None])
    flat = images.reshape(-1, spec.n_pixels, spec.n_pixels)
    settings = [_setting_key(s) for s in cc["settings"]]
    main_key = _setting_key(cc["main"])
    if main_key not in settings:
        settings.append(main_key)
    main_index = settings.index(main_key)
    responses = np.empty((len(settings), contrasts.size, phases.size))
    for pa2m in sorted({s[1] for s in settings}):
        members = [i for i, s in enumerate(settings) if s[1] == pa2m]
        lambdas = np.array([settings[i][0] for i in members])
        result = _feedforward(
            setup, w0, w1, flat, lam=lambdas[:, None, None], alpha=cc["alpha"], pa2m=pa2m
        )
        responses[members] = result.v[:, 0].reshape(len(members), contrasts.size, phases.size)
    exponents = np.array([s[2] for s in settings])
    depth = np.stack(
        [analysis.modulation_depth(responses[i], exponent=e) for i, e in enumerate(exponents)]
    )
    data = analysis.read_table(_data_path(setup.config, cc["data_file"]))
    exp_contrast = data["contrast_percent"] / 100.0
    model_at_data = np.interp(
        np.log(exp_contrast),
        np.log(contrasts[::-1]),
        depth[main_index][::-1],
        left=np.nan,
        right=np.nan,
    )
    inside = np.isfinite(model_at_data)
    rms = float(np.sqrt(np.mean((model_at_data[inside] - data["modulation_depth"][inside]) ** 2)))
    content: dict[str, Any] = {
        "responses": _dataset(responses, "a.u.", ("setting", "contrast", "phase")),
        "modulation_depth": _dataset(depth, "1", ("setting", "contrast")),
        "setting_lambda": _dataset([s[0] for s in settings], "1", ("setting",)),
        "setting_pa2m": _dataset([s[1] for s in settings], "1", ("setting",)),
        "setting_rate_exponent": _dataset(exponents, "1", ("setting",)),
        "setting": _dataset(np.arange(len(settings)), "1"),
        "main_setting": _dataset(main_index, "1", description="index of the paper's main setting"),
        "rms_difference_main": _dataset(
            rms,
            "1",
            description="RMS of model minus experiment at the experiment's contrasts "
            "inside the model's range (log-contrast interpolation)",
        ),
        "contrast": _dataset(contrasts, "1", description="Michelson contrast (fraction)"),
        "phase": _angle(phases, "stimulus phase"),
        "experiment": {
            "contrast": _dataset(exp_contrast, "1", description="Meffin et al., digitised"),
            "modulation_depth": _dataset(data["modulation_depth"], "1", ("contrast",)),
        },
    }
    hier = cc["hierarchical"]
    if hier["enabled"]:
        unit_images = spec.stimulus_gabor(0.0, phases)
        cortical = stimuli.prefilter(unit_images, w0)
        cortical = contrasts[:, None, None, None] * cortical[None]
        nonlinearity = model.XorDendrite.for_exponent(
            hier["xor_peak_exponent"],
            peak_base=setup.config["model"]["xor_peak_base"],
            half_width=setup.config["model"]["xor_half_width"],
        )
        result = _feedforward(
            setup,
            w0,
            w1,
            cortical.reshape(-1, spec.n_pixels, spec.n_pixels),
            lam=hier["lambda"],
            alpha=cc["alpha"],
            pa2m=hier["pa2m"],
            nonlinearity=nonlinearity,
        )
        hier_resp = result.v[0].reshape(contrasts.size, phases.size)
        content["hierarchical"] = {
            "responses": _dataset(hier_resp, "a.u.", ("contrast", "phase")),
            "modulation_depth": _dataset(
                analysis.modulation_depth(hier_resp, exponent=hier["rate_exponent"]),
                "1",
                ("contrast",),
            ),
            "contrast": _dataset(contrasts, "1"),
            "phase": _angle(phases, "stimulus phase"),
        }
    return content


# ---------------------------------------------------------------------------
# 5. Orientation sharpening by the lateral term
# ---------------------------------------------------------------------------


def orientation_sharpening(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 5: the full model with lateral interactions (Fig 7).

    ``n_units`` units with preferred orientations ``0, pi/n, ..., pi - pi/n``
    interact through the sigmoidal third term; sweeps of lambda1, lambda2
    and alpha2. Tuning of the unit preferring orientation 0 at the optimal
    phase (0), on the paper's grid and on a fine orientation grid for the
    half-width at half maximum.
    """
    setup = Setup(resolve_config(config))
    oc = setup.config["orientation_sharpening"]
    spec = setup.filter_spec()
    n_units = oc["n_units"]
    preferred = np.pi * np.arange(n_units) / n_units
    w0, w1 = model.model_filters(spec, preferred)
    w2 = model.lateral_weights(w0)
    phases, orientations, images = _gabor_grid(setup, spec)
    n_ph, n_or = phases.size, orientations.size
    fine = stimuli.angle_grid(math.radians(oc["tuning_step_deg"]))
    fine_images = spec.stimulus_gabor(fine, 0.0)
    all_images = np.concatenate([images, fine_images])
    potentials = model.rate_to_potential(all_images, setup.pa2m)
    dsum = setup.dendritic_sum(w1, potentials, setup.xor())
    q = model.linear_drive(w0, all_images)

    s1, s2, s3 = oc["lambda1_sweep"], oc["lambda2_sweep"], oc["alpha2_sweep"]
    settings = (
        [("lambda1", value, s1["lambda2"], s1["alpha2"]) for value in s1["lambda1"]]
        + [("lambda2", s2["lambda1"], value, s2["alpha2"]) for value in s2["lambda2"]]
        + [("alpha2", s3["lambda1"], s3["lambda2"], value) for value in s3["alpha2"]]
    )
    labels = [s[0] for s in settings]
    lam1, lam2, alp2 = ([s[i] for s in settings] for i in (1, 2, 3))
    column = (slice(None), None, None)
    lam1_a, lam2_a, alp2_a = (np.asarray(x, dtype=float) for x in (lam1, lam2, alp2))
    result = model.relax_network(
        q,
        dsum,
        w2,
        lambda1=lam1_a[column],
        lambda2=lam2_a[column],
        alpha1=oc["alpha1"],
        alpha2=alp2_a[column],
        relaxation=setup.relaxation,
    )
    grid_part = result.v[..., : n_ph * n_or].reshape(len(labels), n_units, n_ph, n_or)
    fine_part = result.v[:, 0, n_ph * n_or :]
    zero_phase = int(np.argmin(np.abs(phases)))
    hwhm_fine = np.degrees(analysis.half_width_at_half_maximum(fine, fine_part))
    hwhm_grid = np.degrees(
        analysis.half_width_at_half_maximum(orientations, grid_part[:, 0, zero_phase])
    )
    return {
        "responses": _dataset(
            grid_part, "a.u.", ("setting", "preferred_orientation", "phase", "orientation")
        ),
        "fine_tuning": _dataset(
            fine_part,
            "a.u.",
            ("setting", "fine_orientation"),
            description="unit preferring 0, stimulus phase 0",
        ),
        "tuning_hwhm_deg": _dataset(
            hwhm_fine, "deg", ("setting",), description="from fine_tuning (linear interpolation)"
        ),
        "tuning_hwhm_deg_grid": _dataset(
            hwhm_grid, "deg", ("setting",), description="from the paper's orientation grid"
        ),
        "iterations": _dataset(
            result.iterations[..., : n_ph * n_or].reshape(grid_part.shape),
            "1",
            ("setting", "preferred_orientation", "phase", "orientation"),
        ),
        "lateral_weights": _dataset(w2, "1", ("preferred_orientation", "preferred_orientation")),
        "sweep": _dataset(np.array([s.encode() for s in labels]), "1", ("setting",)),
        "lambda1": _dataset(lam1_a, "1", ("setting",)),
        "lambda2": _dataset(lam2_a, "1", ("setting",)),
        "alpha2": _dataset(alp2_a, "1", ("setting",)),
        "setting": _dataset(np.arange(len(labels)), "1"),
        "preferred_orientation": _angle(preferred, "preferred orientation of each unit"),
        "phase": _angle(phases, "stimulus phase"),
        "orientation": _angle(orientations, "stimulus orientation"),
        "fine_orientation": _angle(fine, "stimulus orientation, fine grid"),
    }


# ---------------------------------------------------------------------------
# 6. Receptive fields
# ---------------------------------------------------------------------------


def _field_datasets(
    fields: np.ndarray, fields_capped: np.ndarray, stimulus_dim: str, slope_floor: float
) -> dict[str, Any]:
    """The exact and the slope-capped receptive fields as datasets."""
    dims = (stimulus_dim, "lambda", "row", "column")
    return {
        "receptive_field": _dataset(fields, "a.u.", dims, description="exact dv/dx"),
        "receptive_field_capped": _dataset(
            fields_capped,
            "a.u.",
            dims,
            description="dv/dx with the slope of |x|**pa2m capped at |x| = slope_floor",
            slope_floor=slope_floor,
        ),
    }


def receptive_field(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 6: spatial receptive field ``dv/dx`` at the fixed point (Figs S2, S3).

    For horizontal and vertical gratings at each lambda, and for the
    masked-Gabor case of the supplement: a unit whose ``w0`` is masked to
    where ``|w0| > mask_threshold max w0``, probed with the centre Gabor
    (S1), the surround only (S2) and both (S1+S2). Always at the converged
    fixed point (the derivative of the published 21-step map is a different
    object), with exact dendritic sums.
    """
    setup = Setup(resolve_config(config))
    rc = setup.config["receptive_field"]
    relaxation = model.Relaxation(
        protocol="converged",
        rate=setup.config["relaxation"]["rate"],
        tolerance=min(setup.config["relaxation"]["tolerance"], 1e-13),
        max_iterations=setup.config["relaxation"]["max_iterations"],
    )
    xor = setup.xor()
    spec = setup.filter_spec(phase=math.radians(rc["filter_phase_deg"]))
    w0, w1 = model.model_filters(spec)
    n = spec.n_pixels
    gratings = stimuli.grating(
        n,
        frequency=rc["grating_cycles_per_image"] / n,
        orientation=np.array([0.0, np.pi / 2]),
        phase=np.pi / 2,
        amplitude=rc["amplitude"],
    )
    lambdas = np.asarray(rc["lambdas"], dtype=float)
    floor = rc["slope_floor"]

    def fields_of(images: NDArray, lams: NDArray, w0: NDArray, w1: NDArray) -> tuple:
        exact = np.empty((len(images), lams.size, n, n))
        capped = np.empty_like(exact)
        values = np.empty((len(images), lams.size))
        for i, image in enumerate(images):
            for j, lam in enumerate(lams):
                common = dict(
                    lam=lam,
                    alpha=rc["alpha"],
                    pa2m=setup.pa2m,
                    nonlinearity=xor,
                    relaxation=relaxation,
                )
                exact[i, j], values[i, j] = model.receptive_field(image, w0, w1, **common)
                capped[i, j], _ = model.receptive_field(image, w0, w1, slope_floor=floor, **common)
        return exact, capped, values

    fields, fields_capped, responses = fields_of(gratings, lambdas, w0, w1)

    masked = rc["masked"]
    mspec = setup.filter_spec(
        phase=math.radians(rc["filter_phase_deg"]), aspect_ratio=masked["aspect_ratio"]
    )
    mw0, mw1 = model.model_filters(mspec)
    mask = (np.abs(mw0) > masked["mask_threshold"] * mw0.max()).astype(float)
    mw0 = mw0 * mask
    centre = mspec.stimulus_gabor(0.0, np.pi)
    centre = rc["amplitude"] * mask * centre / centre.max()
    elongated = spec.stimulus_gabor(0.0, np.pi)
    surround = (1.0 - mask) * rc["amplitude"] * elongated / elongated.max()
    probes = np.stack([centre, surround, centre + surround])
    mlambdas = np.asarray(masked["lambdas"], dtype=float)
    mfields, mfields_capped, mresponses = fields_of(probes, mlambdas, mw0, mw1)
    rect = analysis.rectify(mresponses)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = rect / rect[0]
    return {
        **_field_datasets(fields, fields_capped, "grating", floor),
        "responses": _dataset(responses, "a.u.", ("grating", "lambda")),
        "stimuli": _dataset(gratings, "1", ("grating", "row", "column")),
        "grating": _dataset(np.array([b"horizontal", b"vertical"]), "1"),
        "lambda": _dataset(lambdas, "1"),
        "slope_floor": _dataset(floor, "1"),
        **_pixels(n),
        "masked": {
            **_field_datasets(mfields, mfields_capped, "probe", floor),
            "responses": _dataset(mresponses, "a.u.", ("probe", "lambda")),
            "relative_response": _dataset(
                relative, "1", ("probe", "lambda"), description="rectified, relative to S1"
            ),
            "stimuli": _dataset(probes, "1", ("probe", "row", "column")),
            "mask": _dataset(mask, "1", ("row", "column")),
            "probe": _dataset(np.array([b"S1 centre", b"S2 surround", b"S1+S2"]), "1"),
            "lambda": _dataset(mlambdas, "1"),
            **_pixels(n),
        },
    }


# ---------------------------------------------------------------------------
# Running and summarising
# ---------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "simple_complex": simple_complex,
    "perturbations": perturbations,
    "input_statistics": input_statistics,
    "contrast": contrast,
    "orientation_sharpening": orientation_sharpening,
    "receptive_field": receptive_field,
}


def run_experiment(
    name: str,
    config: Mapping[str, Any] | None,
    output: str | os.PathLike,
    figures: Mapping[str, str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """Run one experiment, write its HDF5 file and (optionally) its figures.

    Parameters
    ----------
    name : str
        One of :data:`lfpflow.v1.EXPERIMENTS`.
    config : Mapping or None
        The ``v1`` section (defaults filled in here if missing).
    output : path-like
        ``results/v1/<name>.h5``.
    figures : Mapping, optional
        Figure name (see :data:`lfpflow.v1.FIGURES`) -> PNG path; drawn from
        the written file. Omitted figures are not drawn.

    Returns
    -------
    dict
        The file's content as read back by :func:`lfpflow.io.read_h5`.
    """
    if name not in _FUNCTIONS:
        raise ValueError(f"unknown V1 experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    resolved = resolve_config(config)
    unknown = sorted(set(figures or {}) - set(FIGURES[name]))
    if unknown:
        raise ValueError(f"unknown figure(s) for {name}: {', '.join(unknown)}")
    log.info("V1 experiment %s: start (protocol %s)", name, resolved["relaxation"]["protocol"])
    start = time.perf_counter()
    content = _FUNCTIONS[name](resolved)
    seconds = time.perf_counter() - start
    # no timing in the file: with SOURCE_DATE_EPOCH set, reruns are byte-identical
    attrs = io.provenance(
        resolved,
        experiment=name,
        protocol=resolved["relaxation"]["protocol"],
        dendritic_sum=resolved["numerics"]["dendritic_sum"],
        model="Rentzeperis, Prandi & Bertalmio (2025) J Neurosci",
    )
    io.write_h5(output, content, attrs=attrs)
    log.info("V1 experiment %s: %.1f s, wrote %s", name, seconds, output)
    data = io.read_h5(output)
    if figures:
        from lfpflow.v1 import figures as v1_figures

        for figure_name, path in figures.items():
            v1_figures.save(v1_figures.DRAW[figure_name](data), path)
            log.info("figure %s -> %s", figure_name, path)
    return data


def _keyed(keys: Any, values: Any) -> dict[str, float]:
    return {
        f"{float(k):g}": float(v) for k, v in zip(np.ravel(keys), np.ravel(values), strict=True)
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
        The summary written.
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
    mm = sc["modulation_map"]["minimum"]
    summary: dict[str, Any] = {
        "modulation_ratio_by_lambda": _keyed(sc["lambda"], sc["modulation_ratio"]),
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
        "modulation_map_minimum": {
            "modulation_depth": float(mm[0]),
            "lambda": float(mm[1]),
            "alpha": float(mm[2]),
        },
        "perturbation_modulation_ratio_by_level": _keyed(
            pt["noise_level"], pt["modulation_ratio_mean"]
        ),
        "protocol": data["simple_complex"]["attrs"]["protocol"],
        "dendritic_sum": data["simple_complex"]["attrs"]["dendritic_sum"],
    }
    if seconds is not None:
        summary["seconds_by_experiment"] = {name: float(seconds[name]) for name in EXPERIMENTS}
        summary["seconds_total"] = float(sum(summary["seconds_by_experiment"].values()))
    io.write_json(output, summary)
    return summary
