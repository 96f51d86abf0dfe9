"""The experiments of Rentzeperis, Prandi & Bertalmío (2025), one function each.

Each experiment function takes the ``v1`` configuration (completed by
:func:`resolve_config` from the defaults of
``src/lfpflow/config/schemas/v1.schema.yaml``) and returns the content of its
HDF5 file (a mapping for :func:`lfpflow.io.write_h5`); :func:`run_experiment`
computes, writes ``results/v1/<experiment>.h5`` and draws the figures from
the written file; :func:`summarise` collects the headline numbers into
``results/v1/summary.json``. Experimental data are package data
(:mod:`lfpflow.v1.data`).

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

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.config.checks import check_v1
from lfpflow.config.schema import ConfigError, resolve_section
from lfpflow.v1 import EXPERIMENTS, FIGURES, analysis, model, stimuli
from lfpflow.v1 import data as v1_data

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


def resolve_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into a (possibly partial) ``v1`` section and validate it.

    Parameters
    ----------
    config : Mapping, optional
        The ``v1`` section of the configuration; missing keys take the
        defaults of ``src/lfpflow/config/schemas/v1.schema.yaml`` (the only
        place they are written). Lists replace the default list as a whole.

    Returns
    -------
    dict
        The complete, validated section (a new object).

    Raises
    ------
    lfpflow.config.schema.ConfigError
        A :class:`ValueError`, for an unknown key or a bad value, naming the
        key (``v1.a.b``).
    """
    resolved = resolve_section("v1", config)
    problems = check_v1({"v1": resolved})
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return resolved


def read_data(data_file: str) -> dict[str, NDArray]:
    """The experimental table named by a ``data_file`` key.

    Parameters
    ----------
    data_file : str
        A CSV shipped in :mod:`lfpflow.v1.data` (bare file name) or a user's
        path (containing ``/``); see :func:`lfpflow.v1.data.locate`.

    Returns
    -------
    dict
        Column name -> float array (:func:`lfpflow.v1.analysis.read_table`).
    """
    with resources.as_file(v1_data.locate(data_file)) as path:
        return analysis.read_table(path)


# ---------------------------------------------------------------------------
# Shared set-up
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Model ingredients shared by the experiments, built from the config."""

    config: dict[str, Any]

    @property
    def relaxation(self) -> model.Relaxation:
        """The relaxation protocol of ``v1.relaxation``."""
        return model.Relaxation(**self.config["relaxation"])

    def filter_spec(self, **overrides: Any) -> model.FilterSpec:
        """Filters of ``v1.filters`` (phase offset in radians), with ``overrides``."""
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
        """Rate-to-potential exponent of ``v1.model`` (dimensionless)."""
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
        """Dendritic sum of ``weights`` over ``potentials`` by the method of ``v1.numerics``."""
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

    def phases(self) -> NDArray:
        """Stimulus phases of ``v1.grid_phase_range_deg`` (both ends), radians.

        The default [-90, 90] degrees, half a cycle, is the published protocol.
        """
        low, high = self.config["grid_phase_range_deg"]
        return self.angles(low, high)

    def full_cycle_phases(self) -> NDArray:
        """One full cycle of phase from the low end of the range, ``[low, low + 360]`` degrees.

        Same step as :meth:`phases`, both ends included (the same stimulus),
        radians. Starting at ``low`` makes every phase of :meth:`phases` a
        phase of the full cycle, so a modulation over the full cycle is never
        below the one over the configured range.
        """
        low = self.config["grid_phase_range_deg"][0]
        return self.angles(low, low + 360.0)

    def rng(self, experiment: str) -> np.random.Generator:
        """A generator seeded by ``v1.seed`` and the experiment's index in EXPERIMENTS."""
        return np.random.default_rng([self.config["seed"], EXPERIMENTS.index(experiment)])


def _dataset(
    data: Any, units: str, dims: tuple[str, ...] | None = None, **attrs: Any
) -> io.Dataset:
    """A dataset with units and, if given, the names of its coordinate datasets."""
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
    """An angle coordinate, radians."""
    return _dataset(values, "rad", description=description)


#: Coordinate names of a response surface over the Gabor grid.
_GRID = ("phase", "orientation")


@dataclass(frozen=True)
class GaborGrid:
    """Gabor stimuli over (phase, orientation), at the frequency and envelope of the filters.

    Attributes
    ----------
    phases, orientations : ndarray
        The grids of :meth:`Setup.phases` and :meth:`Setup.angles`, radians.
    images : ndarray
        The stimuli, ``(n_phases * n_orientations, n, n)``, phase-major.
    full_cycle_phases : ndarray
        :meth:`Setup.full_cycle_phases`, radians.
    full_cycle_images : ndarray
        The stimuli at the preferred orientation over the full cycle,
        ``(n_full_cycle_phases, n, n)``.
    """

    phases: NDArray
    orientations: NDArray
    images: NDArray
    full_cycle_phases: NDArray
    full_cycle_images: NDArray

    @classmethod
    def build(cls, setup: Setup, spec: model.FilterSpec) -> GaborGrid:
        """Orientations over [-90, 90] and phases over ``v1.grid_phase_range_deg``
        (step ``v1.grid_step_deg``), plus a full cycle at the preferred orientation."""
        orientations = setup.angles()
        phases = setup.phases()
        images = spec.stimulus_gabor(orientations[None, :], phases[:, None])
        full_phases = setup.full_cycle_phases()
        preferred = orientations[np.argmin(np.abs(orientations))]
        return cls(
            phases,
            orientations,
            images.reshape(-1, spec.n_pixels, spec.n_pixels),
            full_phases,
            spec.stimulus_gabor(preferred, full_phases),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_phases, n_orientations)``."""
        return self.phases.size, self.orientations.size

    @property
    def preferred(self) -> int:
        """Index of the orientation closest to 0 (the filters' preferred orientation)."""
        return int(np.argmin(np.abs(self.orientations)))

    def surface(self, values: NDArray) -> NDArray:
        """``values`` with the last two axes (pair, stimulus) as (phase, orientation)."""
        return values.reshape(values.shape[:-2] + self.shape)

    def coordinates(
        self, orientation: str = "stimulus orientation", *, full_cycle: bool = False
    ) -> dict[str, io.Dataset]:
        """The ``phase`` and ``orientation`` datasets, and ``phase_full_cycle`` if asked.

        ``orientation`` describes the orientation coordinate.
        """
        content = {
            "phase": _angle(self.phases, "stimulus phase (v1.grid_phase_range_deg)"),
            "orientation": _angle(self.orientations, orientation),
        }
        if full_cycle:
            content["phase_full_cycle"] = _angle(
                self.full_cycle_phases, "stimulus phase over a full cycle, preferred orientation"
            )
        return content


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


def _phase_modulation(surface: NDArray, preferred: int) -> NDArray:
    """Modulation depth over phase at the preferred orientation of ``(..., phase, orientation)``.

    ``(max - min) / max`` of the rectified response (:func:`analysis.modulation_depth`).
    """
    return analysis.modulation_depth(surface[..., preferred], axis=-1)


#: Description of the modulation ratios over the configured phases (published protocol).
_RATIO_GRID = (
    "(max-min)/max over phase of the rectified response, preferred orientation, "
    "phases of v1.grid_phase_range_deg (published protocol: [-90, 90] degrees, half a cycle)"
)
#: Description of the modulation ratios over a full cycle of phase.
_RATIO_FULL = (
    "(max-min)/max over phase of the rectified response, preferred orientation, "
    "a full cycle of phase (phase_full_cycle)"
)


def _full_cycle(
    setup: Setup,
    w0: NDArray,
    w1: NDArray,
    images: NDArray,
    *,
    lam: Any,
    alpha: Any,
    **kwargs: Any,
) -> tuple[NDArray, NDArray]:
    """Responses to full-cycle stimuli and their modulation depth over phase.

    Parameters
    ----------
    setup : Setup
        Model ingredients.
    w0, w1 : ndarray
        One filter pair, ``(n, n)``.
    images : ndarray
        The full cycle of phase at the preferred orientation, ``(phase, n, n)``
        (:attr:`GaborGrid.full_cycle_images`, possibly pre-filtered).
    lam, alpha : array_like
        As for :func:`_feedforward`, broadcast against the pair axes ``(1, phase)``.
    **kwargs
        Passed to :func:`_feedforward` (``pa2m``, ``nonlinearity``).

    Returns
    -------
    responses : ndarray
        ``(..., phase)``, a.u.: the parameter axes of ``lam`` and ``alpha``
        without the filter axis.
    depth : ndarray
        ``(...)``, dimensionless: ``(max - min) / max`` of the rectified
        responses over phase.
    """
    # computed apart from the grid so that the published numbers stay bit-identical
    # (the binned sums' bins span the potentials of every stimulus in a batch)
    result = _feedforward(setup, w0, w1, images, lam=lam, alpha=alpha, **kwargs)
    responses = result.v[..., 0, :]
    return responses, analysis.modulation_depth(responses, axis=-1)


# ---------------------------------------------------------------------------
# 1. From simple to complex cells
# ---------------------------------------------------------------------------


def _lambda_panel(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, sc: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 2a-b: responses over (lambda, phase, orientation) at one alpha."""
    lambdas = np.asarray(sc["lambdas"], dtype=float)
    main = _feedforward(setup, w0, w1, grid.images, lam=lambdas[:, None, None], alpha=sc["alpha"])
    responses = grid.surface(main.v)
    full, full_ratio = _full_cycle(
        setup, w0, w1, grid.full_cycle_images, lam=lambdas[:, None, None], alpha=sc["alpha"]
    )
    return {
        "responses": _dataset(responses, "a.u.", ("lambda", *_GRID), alpha=sc["alpha"]),
        "iterations": _dataset(main.iterations.reshape(responses.shape), "1", ("lambda", *_GRID)),
        "linear_drive": _dataset(main.linear[0].reshape(grid.shape), "a.u.", _GRID),
        "modulation_ratio": _dataset(
            _phase_modulation(responses, grid.preferred), "1", ("lambda",), description=_RATIO_GRID
        ),
        "responses_full_cycle": _dataset(
            full, "a.u.", ("lambda", "phase_full_cycle"), alpha=sc["alpha"]
        ),
        "modulation_ratio_full_cycle": _dataset(
            full_ratio, "1", ("lambda",), description=_RATIO_FULL
        ),
        "lambda": _dataset(lambdas, "1"),
        **grid.coordinates("stimulus orientation (preferred: 0)", full_cycle=True),
    }


def _alpha_sweep(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, sweep: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 2c: responses over (alpha, phase, orientation) at one lambda."""
    alphas = np.asarray(sweep["alphas"], dtype=float)
    swept = _feedforward(
        setup, w0, w1, grid.images, lam=sweep["lambda"], alpha=alphas[:, None, None]
    )
    surface = grid.surface(swept.v)
    _, full_ratio = _full_cycle(
        setup, w0, w1, grid.full_cycle_images, lam=sweep["lambda"], alpha=alphas[:, None, None]
    )
    return {
        "responses": _dataset(surface, "a.u.", ("alpha", *_GRID), **{"lambda": sweep["lambda"]}),
        "modulation_ratio": _dataset(
            _phase_modulation(surface, grid.preferred), "1", ("alpha",), description=_RATIO_GRID
        ),
        "modulation_ratio_full_cycle": _dataset(
            full_ratio, "1", ("alpha",), description=_RATIO_FULL
        ),
        "alpha": _dataset(alphas, "1"),
        "lambda": _dataset(sweep["lambda"], "1"),
        **grid.coordinates(),
    }


def _modulation_map(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, mm: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 2d: modulation depth at the preferred orientation over (lambda, alpha).

    Lambdas log-spaced from ``2**log2_lambda_min`` to ``2**log2_lambda_max``,
    alphas evenly spaced; the minimum depth with its lambda and alpha; the
    same over the configured phases (published protocol) and over a full cycle.
    """
    lambdas = 2.0 ** np.linspace(mm["log2_lambda_min"], mm["log2_lambda_max"], mm["n_lambda"])
    alphas = np.linspace(mm["alpha_min"], mm["alpha_max"], mm["n_alpha"])
    images = grid.images.reshape(*grid.shape, *grid.images.shape[1:])[:, grid.preferred]
    parameters = dict(lam=lambdas[:, None, None, None], alpha=alphas[None, :, None, None])
    mapped = _feedforward(setup, w0, w1, images, **parameters)
    responses = mapped.v[:, :, 0, :]
    depth = analysis.modulation_depth(responses, axis=-1)
    full, full_depth = _full_cycle(setup, w0, w1, grid.full_cycle_images, **parameters)
    return {
        "modulation_depth": _dataset(depth, "1", ("lambda", "alpha"), description=_RATIO_GRID),
        "responses": _dataset(responses, "a.u.", ("lambda", "alpha", "phase")),
        "modulation_depth_full_cycle": _dataset(
            full_depth, "1", ("lambda", "alpha"), description=_RATIO_FULL
        ),
        "responses_full_cycle": _dataset(full, "a.u.", ("lambda", "alpha", "phase_full_cycle")),
        "lambda": _dataset(lambdas, "1"),
        "alpha": _dataset(alphas, "1"),
        "phase": _angle(grid.phases, "stimulus phase (orientation 0)"),
        "phase_full_cycle": _angle(grid.full_cycle_phases, "stimulus phase (orientation 0)"),
        "minimum": _map_minimum(depth, lambdas, alphas, "v1.grid_phase_range_deg"),
        "minimum_full_cycle": _map_minimum(full_depth, lambdas, alphas, "a full cycle"),
    }


def _map_minimum(depth: NDArray, lambdas: NDArray, alphas: NDArray, phases: str) -> io.Dataset:
    """The minimum of a ``(lambda, alpha)`` map of modulation depth, with its lambda and alpha.

    ``phases`` names the phases the depth was measured over (in the description).
    """
    best = np.unravel_index(np.nanargmin(depth), depth.shape)
    return _dataset(
        [depth[best], lambdas[best[0]], alphas[best[1]]],
        "1",
        description=f"minimum modulation depth over {phases}, its lambda and alpha",
    )


def _controls(
    setup: Setup, grid: GaborGrid, w1: NDArray, controls: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 3: a non-oriented (uniform) ``w1``, and a sigmoid instead of the XOR dendrite.

    Both with ``w0`` narrowed by ``w0_envelope_factor`` (authors' code).
    Returns the groups ``nonoriented_w1`` and ``sigmoid_dendrite``.
    """
    narrow_w0, _ = model.model_filters(
        setup.filter_spec(envelope_factor=controls["w0_envelope_factor"])
    )
    n = grid.images.shape[-1]
    uniform_w1 = np.full((n, n), 1.0 / (n * n))
    nonoriented = _feedforward(
        setup, narrow_w0, uniform_w1, grid.images, lam=controls["lambda"], alpha=controls["alpha"]
    )
    alphas = np.asarray(controls["sigmoid_alphas"], dtype=float)
    sigmoid = _feedforward(
        setup,
        narrow_w0,
        w1,
        grid.images,
        lam=controls["lambda"],
        alpha=alphas[:, None, None],
        nonlinearity=model.SigmoidDendrite(),
    )
    sigmoid_surface = grid.surface(sigmoid.v)
    _, sigmoid_full_ratio = _full_cycle(
        setup,
        narrow_w0,
        w1,
        grid.full_cycle_images,
        lam=controls["lambda"],
        alpha=alphas[:, None, None],
        nonlinearity=model.SigmoidDendrite(),
    )
    return {
        "nonoriented_w1": {
            "responses": _dataset(grid.surface(nonoriented.v), "a.u.", _GRID),
            "lambda": _dataset(controls["lambda"], "1"),
            "alpha": _dataset(controls["alpha"], "1"),
            **grid.coordinates(),
        },
        "sigmoid_dendrite": {
            "responses": _dataset(sigmoid_surface, "a.u.", ("alpha", *_GRID)),
            "modulation_ratio": _dataset(
                _phase_modulation(sigmoid_surface, grid.preferred),
                "1",
                ("alpha",),
                description=_RATIO_GRID,
            ),
            "modulation_ratio_full_cycle": _dataset(
                sigmoid_full_ratio, "1", ("alpha",), description=_RATIO_FULL
            ),
            "alpha": _dataset(alphas, "1"),
            "lambda": _dataset(controls["lambda"], "1"),
            "alpha_shown": _dataset(controls["alpha"], "1"),
            **grid.coordinates(),
        },
    }


def _cortical_prefilter(setup: Setup, spec: model.FilterSpec, hier: Mapping[str, Any]) -> NDArray:
    """The L1-normalised cortical Gabor of Supplementary Fig 4.

    Carrier frequency ``prefilter_frequency_factor`` times that of ``w0``,
    envelope sd ``prefilter_envelope_factor`` times that of ``w0``.
    """
    pre_spec = setup.filter_spec(
        cycles_per_image=spec.cycles_per_image * hier["prefilter_frequency_factor"],
        envelope_factor=spec.envelope_factor
        * hier["prefilter_envelope_factor"]
        * hier["prefilter_frequency_factor"],
    )
    prefilter, _ = model.model_filters(pre_spec)
    return prefilter


def _hierarchical_input(
    setup: Setup,
    spec: model.FilterSpec,
    grid: GaborGrid,
    w1: NDArray,
    hier: Mapping[str, Any],
) -> dict[str, Any]:
    """Supplementary Fig 4: the Gabor grid pre-filtered by a cortical Gabor."""
    prefilter = _cortical_prefilter(setup, spec, hier)
    cortical = stimuli.prefilter(grid.images, prefilter)
    # as in the authors' code, the unit's linear filter is the pre-filter itself
    result = _feedforward(setup, prefilter, w1, cortical, lam=hier["lambda"], alpha=hier["alpha"])
    surface = grid.surface(result.v)
    _, full_ratio = _full_cycle(
        setup,
        prefilter,
        w1,
        stimuli.prefilter(grid.full_cycle_images, prefilter),
        lam=hier["lambda"],
        alpha=hier["alpha"],
    )
    return {
        "responses": _dataset(surface, "a.u.", _GRID),
        "modulation_ratio": _dataset(
            _phase_modulation(surface, grid.preferred), "1", description=_RATIO_GRID
        ),
        "modulation_ratio_full_cycle": _dataset(full_ratio, "1", description=_RATIO_FULL),
        "prefilter": _dataset(prefilter, "1", ("row", "column")),
        **_pixels(spec.n_pixels),
        "lambda": _dataset(hier["lambda"], "1"),
        "alpha": _dataset(hier["alpha"], "1"),
        **grid.coordinates(),
    }


def simple_complex(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 1: simple-to-complex transition with the XOR term (Figs 2, 3, S4).

    Responses to Gabor patches over phase and orientation for each lambda
    (``responses``); the alpha sweep at one lambda; the map of modulation
    depth over (lambda, alpha) at the preferred orientation; the controls
    with a non-oriented ``w1`` and with a sigmoid instead of the XOR
    dendrite; the hierarchical variant whose input is pre-filtered by a
    cortical Gabor.

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``simple_complex.h5``.
    """
    setup = Setup(resolve_config(config))
    sc = setup.config["simple_complex"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    grid = GaborGrid.build(setup, spec)
    return {
        **_lambda_panel(setup, grid, w0, w1, sc),
        "alpha_sweep": _alpha_sweep(setup, grid, w0, w1, sc["alpha_sweep"]),
        "modulation_map": _modulation_map(setup, grid, w0, w1, sc["modulation_map"]),
        **_controls(setup, grid, w1, sc["controls"]),
        "hierarchical": _hierarchical_input(setup, spec, grid, w1, sc["hierarchical"]),
        "filters": {
            "w0": _dataset(w0, "1", ("row", "column")),
            "w1": _dataset(w1, "1", ("row", "column")),
            **_pixels(spec.n_pixels),
        },
    }


# ---------------------------------------------------------------------------
# 2. Robustness to perturbations of the filters
# ---------------------------------------------------------------------------


def _draw_filter_noise(
    rng: np.random.Generator, edge: float, repetitions: int, n_pixels: int
) -> tuple[NDArray, NDArray]:
    """Noise ``u0, u1`` uniform on ``[-edge, edge]``, each ``(repetitions, n, n)``, u0 first."""
    size = (repetitions, n_pixels, n_pixels)
    return rng.uniform(-edge, edge, size=size), rng.uniform(-edge, edge, size=size)


@dataclass
class _PerturbedDendrite:
    """Dendritic sums of ``w1 + level * u1`` for each repetition's noise ``u1``.

    With binned sums, the sums of ``w1`` and of every ``u1`` are binned once
    per draw and combined linearly for each level; with exact sums they are
    recomputed per level.
    """

    setup: Setup
    w1: NDArray
    potentials: NDArray
    nonlinearity: model.XorDendrite
    u1: NDArray | None = None
    base: Any = None

    def use_noise(self, u1: NDArray) -> None:
        """Start a new draw of the noise (forgets the binned sums of the previous one)."""
        self.u1, self.base = u1, None

    def at(self, level: float) -> model.ExactDendriticSum | model.BinnedDendriticSum:
        """The dendritic sums of the perturbed ``w1`` at one noise level."""
        if self.u1 is None:
            raise RuntimeError("no noise drawn yet: call use_noise first")
        if self.setup.config["numerics"]["dendritic_sum"] != "binned":
            return self.setup.dendritic_sum(
                self.w1[None] + level * self.u1, self.potentials, self.nonlinearity
            )
        if self.base is None:
            weights = np.concatenate([self.w1[None], self.u1])
            self.base = self.setup.dendritic_sum(weights, self.potentials, self.nonlinearity)
        reps = self.u1.shape[0]
        coefficients = np.hstack([np.ones((reps, 1)), level * np.eye(reps)])
        return self.base.combine(coefficients)


@dataclass
class _PerturbedModel:
    """The two-term model with filters ``w0 + level u0``, ``w1 + level u1`` on one stack of stimuli.

    One per stack (the grid, the full cycle): each keeps its own dendritic
    sums, so adding the full cycle leaves the grid's responses bit-identical.
    """

    setup: Setup
    images: NDArray
    q0: NDArray
    dendrite: _PerturbedDendrite
    q_noise: NDArray | None = None

    @classmethod
    def build(cls, setup: Setup, w0: NDArray, w1: NDArray, images: NDArray) -> _PerturbedModel:
        """The unperturbed drives of ``w0`` and ``w1`` for ``images`` ``(S, n, n)``."""
        potentials = model.rate_to_potential(images, setup.pa2m)
        dendrite = _PerturbedDendrite(setup, w1, potentials, setup.xor())
        return cls(setup, images, model.linear_drive(w0, images), dendrite)

    def use_noise(self, noise: tuple[NDArray, NDArray]) -> None:
        """Start a new draw ``(u0, u1)``, each ``(repetition, n, n)``."""
        self.dendrite.use_noise(noise[1])
        self.q_noise = model.linear_drive(noise[0], self.images)

    def responses(self, level: float, pc: Mapping[str, Any]) -> NDArray:
        """Potentials ``(repetition, stimulus)``, a.u., at one noise level."""
        if self.q_noise is None:
            raise RuntimeError("no noise drawn yet: call use_noise first")
        result = model.relax_feedforward(
            self.q0 + level * self.q_noise,
            self.dendrite.at(level),
            lam=pc["lambda"],
            alpha=pc["alpha"],
            relaxation=self.setup.relaxation,
        )
        return result.v


def _perturbed_responses(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, pc: Mapping[str, Any]
) -> tuple[NDArray, NDArray, NDArray]:
    """Responses with perturbed filters, and the perturbed filters of repetition 0.

    Returns
    -------
    responses : ndarray
        ``(level, repetition, phase, orientation)``, a.u.
    full_cycle : ndarray
        ``(level, repetition, phase_full_cycle)``, a.u.: the same filters at
        the preferred orientation over a full cycle of phase.
    examples : ndarray
        ``(level, 2, n, n)``: ``w0`` and ``w1`` perturbed by the noise of repetition 0.
    """
    levels = np.asarray(pc["noise_levels"], dtype=float)
    reps, n = pc["repetitions"], w0.shape[-1]
    rng = setup.rng("perturbations")
    edge = float(np.abs(w0).max())
    on_grid = _PerturbedModel.build(setup, w0, w1, grid.images)
    on_cycle = _PerturbedModel.build(setup, w0, w1, grid.full_cycle_images)
    responses = np.empty((levels.size, reps, *grid.shape))
    full_cycle = np.empty((levels.size, reps, grid.full_cycle_phases.size))
    examples = np.empty((levels.size, 2, n, n))
    noise = None
    for i, level in enumerate(levels):
        if noise is None or not pc["shared_draws"]:
            noise = _draw_filter_noise(rng, edge, reps, n)
            on_grid.use_noise(noise)
            on_cycle.use_noise(noise)
        responses[i] = on_grid.responses(level, pc).reshape(reps, *grid.shape)
        full_cycle[i] = on_cycle.responses(level, pc)
        examples[i, 0] = w0 + level * noise[0][0]
        examples[i, 1] = w1 + level * noise[1][0]
        log.info("perturbations: level %g done", level)
    return responses, full_cycle, examples


def _perturbation_statistics(
    setup: Setup,
    grid: GaborGrid,
    w0: NDArray,
    w1: NDArray,
    pc: Mapping[str, Any],
    responses: NDArray,
) -> dict[str, NDArray]:
    """Modulation ratio, orientation tuning and its half-width, and the distances
    of the normalised surfaces to the unperturbed one, per (level, repetition).
    """
    preferred = grid.preferred
    rectified = analysis.rectify(responses)
    tuning = rectified.max(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = tuning / tuning.max(axis=-1, keepdims=True)
    # reference: the unperturbed surface (authors' Fig 4b compares normalised surfaces)
    reference = _feedforward(setup, w0, w1, grid.images, lam=pc["lambda"], alpha=pc["alpha"])
    ref_surface = analysis.rectify(reference.v[0].reshape(grid.shape))
    ref_surface = ref_surface / ref_surface.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = rectified / rectified.max(axis=(2, 3), keepdims=True)
    return {
        "ratio": analysis.modulation_depth(responses[..., preferred], axis=-1),
        "tuning": tuning,
        "hwhm_deg": np.degrees(analysis.half_width_at_half_maximum(grid.orientations, tuning)),
        "mse_phase": analysis.mean_squared_error(
            normalised[..., preferred], ref_surface[:, preferred], axis=-1
        ),
        "mse_surface": analysis.mean_squared_error(normalised, ref_surface, axis=(-2, -1)),
    }


def perturbations(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 2: filters perturbed by uniform noise (Fig 4).

    ``w0 + L u0`` and ``w1 + L u1`` with ``u0, u1`` uniform on
    ``[-max|w0|, max|w0|]`` per pixel, for each noise level ``L`` and
    repetition. With ``shared_draws`` (default) the same ``u0, u1`` of
    repetition ``r`` serve every level (common random numbers: each level
    still sees ``repetitions`` independent draws, and differences between
    levels are not blurred by draw-to-draw variability); otherwise every
    level draws afresh, as the authors' code does.

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``perturbations.h5``.
    """
    setup = Setup(resolve_config(config))
    pc = setup.config["perturbations"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    grid = GaborGrid.build(setup, spec)
    responses, full_cycle, examples = _perturbed_responses(setup, grid, w0, w1, pc)
    stats = _perturbation_statistics(setup, grid, w0, w1, pc, responses)
    full_ratio = analysis.modulation_depth(full_cycle, axis=-1)
    rep_dims = ("noise_level", "repetition")
    return {
        "responses": _dataset(responses, "a.u.", (*rep_dims, *_GRID)),
        **_ratio_datasets(stats["ratio"], "", _RATIO_GRID),
        "responses_full_cycle": _dataset(full_cycle, "a.u.", (*rep_dims, "phase_full_cycle")),
        **_ratio_datasets(full_ratio, "_full_cycle", _RATIO_FULL),
        "orientation_tuning": _dataset(
            stats["tuning"],
            "1",
            (*rep_dims, "orientation"),
            description="max over phase of the rectified response, normalised to its peak",
        ),
        "tuning_hwhm_deg": _dataset(stats["hwhm_deg"], "deg", rep_dims),
        "mse_phase": _dataset(stats["mse_phase"], "1", rep_dims),
        "mse_surface": _dataset(stats["mse_surface"], "1", rep_dims),
        "example_filters": _dataset(
            examples, "1", ("noise_level", "filter", "row", "column"), description="repetition 0"
        ),
        "filter": _dataset(np.array([b"w0", b"w1"]), "1"),
        **_pixels(spec.n_pixels),
        "noise_level": _dataset(
            np.asarray(pc["noise_levels"], dtype=float),
            "1",
            description="noise amplitude in units of max|w0|",
        ),
        "figure_levels": _dataset(pc["figure_levels"], "1", description="levels drawn"),
        "repetition": _dataset(np.arange(pc["repetitions"]), "1"),
        **grid.coordinates(full_cycle=True),
    }


def _ratio_datasets(ratio: NDArray, suffix: str, description: str) -> dict[str, io.Dataset]:
    """Modulation ratios per (level, repetition), their mean and sd over repetitions.

    Named ``modulation_ratio{suffix}``, ``modulation_ratio{suffix}_mean`` and ``..._sd``.
    """
    name = f"modulation_ratio{suffix}"
    return {
        name: _dataset(ratio, "1", ("noise_level", "repetition"), description=description),
        f"{name}_mean": _dataset(np.nanmean(ratio, axis=1), "1", ("noise_level",)),
        f"{name}_sd": _dataset(np.nanstd(ratio, axis=1), "1", ("noise_level",)),
    }


# ---------------------------------------------------------------------------
# 3. Input statistics: sparse vs dense noise
# ---------------------------------------------------------------------------


def input_statistics(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 3: simpleness index under sparse and dense noise (Fig 5).

    ``SI = |c0 Q| / (|c0 Q| + |c1 R|)`` for ``n_stimuli`` sparse- and
    dense-noise images per lambda (the same images for every lambda), and
    the ``k`` of ``SI_dense = x/(x + (1/k)^2 (1-x))`` fitted to the mean SIs
    of the model and to the experimental points of Fournier et al. (2011)
    (``input_statistics.data_file``, see :func:`read_data`).

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``input_statistics.h5``.
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
    table = read_data(ic["data_file"])
    k_exp, k_exp_se = analysis.fit_fournier_k(table["si_sparse_noise"], table["si_dense_noise"])
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
            "si_sparse_noise": _dataset(table["si_sparse_noise"], "1", ("cell",)),
            "si_dense_noise": _dataset(table["si_dense_noise"], "1", ("cell",)),
            "cell": _dataset(np.arange(table["si_sparse_noise"].size), "1"),
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
    """``(lambda, pa2m, rate_exponent)`` of a contrast setting."""
    return (setting["lambda"], setting["pa2m"], setting["rate_exponent"])


def _contrast_settings(cc: Mapping[str, Any]) -> tuple[list[tuple[float, float, float]], int]:
    """The settings of ``v1.contrast`` as keys, the main setting appended if missing.

    Returns
    -------
    settings : list of (lambda, pa2m, rate_exponent)
    main_index : int
        Index of ``v1.contrast.main`` in ``settings``.
    """
    settings = [_setting_key(s) for s in cc["settings"]]
    main_key = _setting_key(cc["main"])
    if main_key not in settings:
        settings.append(main_key)
    return settings, settings.index(main_key)


def _contrast_responses(
    setup: Setup,
    w0: NDArray,
    w1: NDArray,
    images: NDArray,
    settings: list[tuple[float, float, float]],
    alpha: float,
) -> NDArray:
    """Potentials for every setting, ``(setting, contrast, phase)``, a.u.

    ``images`` is ``(contrast, phase, n, n)``; settings sharing a ``pa2m``
    are computed together.
    """
    n_contrasts, n_phases, n = images.shape[:3]
    flat = images.reshape(-1, n, n)
    responses = np.empty((len(settings), n_contrasts, n_phases))
    for pa2m in sorted({s[1] for s in settings}):
        members = [i for i, s in enumerate(settings) if s[1] == pa2m]
        lambdas = np.array([settings[i][0] for i in members])
        result = _feedforward(
            setup, w0, w1, flat, lam=lambdas[:, None, None], alpha=alpha, pa2m=pa2m
        )
        responses[members] = result.v[:, 0].reshape(len(members), n_contrasts, n_phases)
    return responses


def _difference_to_experiment(
    contrasts: NDArray, depth: NDArray, table: Mapping[str, NDArray]
) -> tuple[NDArray, float]:
    """The experiment's contrasts (fractions) and the RMS of model minus experiment.

    The model's modulation depth ``depth`` (one per ``contrasts``) is
    interpolated linearly in log-contrast at the experiment's contrasts
    inside the model's range; points outside are left out.
    """
    exp_contrast = table["contrast_percent"] / 100.0
    model_at_data = np.interp(
        np.log(exp_contrast),
        np.log(contrasts[::-1]),
        depth[::-1],
        left=np.nan,
        right=np.nan,
    )
    inside = np.isfinite(model_at_data)
    rms = float(np.sqrt(np.mean((model_at_data[inside] - table["modulation_depth"][inside]) ** 2)))
    return exp_contrast, rms


def _contrast_hierarchical(
    setup: Setup,
    spec: model.FilterSpec,
    w0: NDArray,
    w1: NDArray,
    phases: NDArray,
    contrasts: NDArray,
) -> dict[str, Any]:
    """Fig 6b, cortical input: the Gabor stimuli pre-filtered by ``w0``, then scaled by contrast.

    The XOR peak is ``xor_peak_base ** xor_peak_exponent`` (authors' code).
    """
    cc = setup.config["contrast"]
    hier = cc["hierarchical"]
    cortical = stimuli.prefilter(spec.stimulus_gabor(0.0, phases), w0)
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
    responses = result.v[0].reshape(contrasts.size, phases.size)
    return {
        "responses": _dataset(responses, "a.u.", ("contrast", "phase")),
        "modulation_depth": _dataset(
            analysis.modulation_depth(responses, exponent=hier["rate_exponent"]),
            "1",
            ("contrast",),
        ),
        "contrast": _dataset(contrasts, "1"),
        "phase": _angle(phases, "stimulus phase"),
    }


def contrast(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 4: modulation depth vs contrast (Fig 6), against Meffin et al.

    Gabor patches at the preferred orientation over a full cycle of phase
    (-180..180 degrees) at each contrast; modulation depth ``(max-min)/max``
    of ``max(v, 0) ** rate_exponent`` over phase, for each (lambda, pa2m,
    rate_exponent) setting; plus the hierarchical (cortical-input) variant.
    The experimental points are those of ``contrast.data_file`` (see
    :func:`read_data`).

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``contrast.h5``.
    """
    setup = Setup(resolve_config(config))
    cc = setup.config["contrast"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    phases = setup.angles(-180.0, 180.0)
    contrasts = np.asarray(cc["contrasts"], dtype=float)
    images = spec.stimulus_gabor(0.0, phases[None, :], contrasts[:, None])
    settings, main_index = _contrast_settings(cc)
    responses = _contrast_responses(setup, w0, w1, images, settings, cc["alpha"])
    exponents = np.array([s[2] for s in settings])
    depth = np.stack(
        [analysis.modulation_depth(responses[i], exponent=e) for i, e in enumerate(exponents)]
    )
    table = read_data(cc["data_file"])
    exp_contrast, rms = _difference_to_experiment(contrasts, depth[main_index], table)
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
            "modulation_depth": _dataset(table["modulation_depth"], "1", ("contrast",)),
        },
    }
    if cc["hierarchical"]["enabled"]:
        content["hierarchical"] = _contrast_hierarchical(setup, spec, w0, w1, phases, contrasts)
    return content


# ---------------------------------------------------------------------------
# 5. Orientation sharpening by the lateral term
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _LateralSettings:
    """The (lambda1, lambda2, alpha2) settings of the three sweeps of Fig 7, in order.

    Attributes
    ----------
    sweep : list of str
        ``"lambda1"``, ``"lambda2"`` or ``"alpha2"``: the sweep of each setting.
    lambda1, lambda2, alpha2 : ndarray
        XOR weight, lateral weight and lateral attenuation of each setting.
    """

    sweep: list[str]
    lambda1: NDArray
    lambda2: NDArray
    alpha2: NDArray

    @classmethod
    def from_config(cls, oc: Mapping[str, Any]) -> _LateralSettings:
        """The settings of ``v1.orientation_sharpening``: lambda1, lambda2, alpha2 sweeps."""
        s1, s2, s3 = oc["lambda1_sweep"], oc["lambda2_sweep"], oc["alpha2_sweep"]
        settings = (
            [("lambda1", value, s1["lambda2"], s1["alpha2"]) for value in s1["lambda1"]]
            + [("lambda2", s2["lambda1"], value, s2["alpha2"]) for value in s2["lambda2"]]
            + [("alpha2", s3["lambda1"], s3["lambda2"], value) for value in s3["alpha2"]]
        )
        lam1, lam2, alp2 = (np.asarray([s[i] for s in settings], dtype=float) for i in (1, 2, 3))
        return cls([s[0] for s in settings], lam1, lam2, alp2)

    def datasets(self) -> dict[str, io.Dataset]:
        """The settings as datasets over ``setting``."""
        return {
            "sweep": _dataset(np.array([s.encode() for s in self.sweep]), "1", ("setting",)),
            "lambda1": _dataset(self.lambda1, "1", ("setting",)),
            "lambda2": _dataset(self.lambda2, "1", ("setting",)),
            "alpha2": _dataset(self.alpha2, "1", ("setting",)),
            "setting": _dataset(np.arange(len(self.sweep)), "1"),
        }


def _network_responses(
    setup: Setup, w0: NDArray, w1: NDArray, images: NDArray, settings: _LateralSettings
) -> tuple[model.RelaxationResult, NDArray]:
    """The full model of ``n_units`` units for every setting and stimulus.

    Returns the relaxation result (axes setting, unit, stimulus) and the
    lateral weights ``w2``.
    """
    oc = setup.config["orientation_sharpening"]
    potentials = model.rate_to_potential(images, setup.pa2m)
    dsum = setup.dendritic_sum(w1, potentials, setup.xor())
    q = model.linear_drive(w0, images)
    w2 = model.lateral_weights(w0)
    column = (slice(None), None, None)
    result = model.relax_network(
        q,
        dsum,
        w2,
        lambda1=settings.lambda1[column],
        lambda2=settings.lambda2[column],
        alpha1=oc["alpha1"],
        alpha2=settings.alpha2[column],
        relaxation=setup.relaxation,
    )
    return result, w2


def orientation_sharpening(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 5: the full model with lateral interactions (Fig 7).

    ``n_units`` units with preferred orientations ``0, pi/n, ..., pi - pi/n``
    interact through the sigmoidal third term; sweeps of lambda1, lambda2
    and alpha2. Tuning of the unit preferring orientation 0 at the optimal
    phase (0), on the paper's grid and on a fine orientation grid for the
    half-width at half maximum.

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``orientation_sharpening.h5``.
    """
    setup = Setup(resolve_config(config))
    oc = setup.config["orientation_sharpening"]
    spec = setup.filter_spec()
    n_units = oc["n_units"]
    preferred = np.pi * np.arange(n_units) / n_units
    w0, w1 = model.model_filters(spec, preferred)
    grid = GaborGrid.build(setup, spec)
    n_grid = grid.images.shape[0]
    fine = stimuli.angle_grid(math.radians(oc["tuning_step_deg"]))
    images = np.concatenate([grid.images, spec.stimulus_gabor(fine, 0.0)])
    settings = _LateralSettings.from_config(oc)
    result, w2 = _network_responses(setup, w0, w1, images, settings)
    surface_dims = ("setting", "preferred_orientation", *_GRID)
    grid_part = result.v[..., :n_grid].reshape(len(settings.sweep), n_units, *grid.shape)
    fine_part = result.v[:, 0, n_grid:]
    zero_phase = int(np.argmin(np.abs(grid.phases)))
    hwhm_fine = np.degrees(analysis.half_width_at_half_maximum(fine, fine_part))
    hwhm_grid = np.degrees(
        analysis.half_width_at_half_maximum(grid.orientations, grid_part[:, 0, zero_phase])
    )
    return {
        "responses": _dataset(grid_part, "a.u.", surface_dims),
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
            result.iterations[..., :n_grid].reshape(grid_part.shape), "1", surface_dims
        ),
        "lateral_weights": _dataset(w2, "1", ("preferred_orientation", "preferred_orientation")),
        **settings.datasets(),
        "preferred_orientation": _angle(preferred, "preferred orientation of each unit"),
        **grid.coordinates(),
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


def _fixed_point_relaxation(setup: Setup) -> model.Relaxation:
    """Relaxation to the converged fixed point, tolerance at most 1e-13 (a.u.)."""
    r = setup.config["relaxation"]
    return model.Relaxation(
        protocol="converged",
        rate=r["rate"],
        tolerance=min(r["tolerance"], 1e-13),
        max_iterations=r["max_iterations"],
    )


def _fields(
    setup: Setup, images: NDArray, lambdas: NDArray, w0: NDArray, w1: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Receptive fields ``dv/dx`` of one unit for each probe image and lambda.

    Returns
    -------
    exact, capped : ndarray
        ``(image, lambda, n, n)``, a.u.: the exact field and the field with
        the slope of ``|x|**pa2m`` capped at ``|x| = slope_floor``.
    values : ndarray
        ``(image, lambda)``: the fixed-point potentials, a.u.
    """
    rc = setup.config["receptive_field"]
    common = dict(
        alpha=rc["alpha"],
        pa2m=setup.pa2m,
        nonlinearity=setup.xor(),
        relaxation=_fixed_point_relaxation(setup),
    )
    n = w0.shape[-1]
    exact = np.empty((len(images), lambdas.size, n, n))
    capped = np.empty_like(exact)
    values = np.empty((len(images), lambdas.size))
    for i, image in enumerate(images):
        for j, lam in enumerate(lambdas):
            exact[i, j], values[i, j] = model.receptive_field(image, w0, w1, lam=lam, **common)
            capped[i, j], _ = model.receptive_field(
                image, w0, w1, lam=lam, slope_floor=rc["slope_floor"], **common
            )
    return exact, capped, values


def _grating_fields(setup: Setup, spec: model.FilterSpec) -> dict[str, Any]:
    """Supplementary Fig 2: fields for horizontal and vertical gratings at each lambda."""
    rc = setup.config["receptive_field"]
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
    fields, fields_capped, responses = _fields(setup, gratings, lambdas, w0, w1)
    return {
        **_field_datasets(fields, fields_capped, "grating", rc["slope_floor"]),
        "responses": _dataset(responses, "a.u.", ("grating", "lambda")),
        "stimuli": _dataset(gratings, "1", ("grating", "row", "column")),
        "grating": _dataset(np.array([b"horizontal", b"vertical"]), "1"),
        "lambda": _dataset(lambdas, "1"),
        "slope_floor": _dataset(rc["slope_floor"], "1"),
        **_pixels(n),
    }


def _masked_probes(
    setup: Setup, spec: model.FilterSpec
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """The masked unit and probes of Supplementary Fig 3.

    Returns
    -------
    w0, w1 : ndarray
        Filters of aspect ratio ``masked.aspect_ratio``, ``w0`` masked to
        where ``|w0| > mask_threshold max w0``.
    mask : ndarray
        1 inside the mask, 0 outside.
    probes : ndarray
        ``(3, n, n)``: the centre Gabor (S1), the surround of the elongated
        Gabor of ``spec`` (S2), and both, peak ``amplitude``.
    """
    rc = setup.config["receptive_field"]
    masked = rc["masked"]
    mspec = setup.filter_spec(
        phase=math.radians(rc["filter_phase_deg"]), aspect_ratio=masked["aspect_ratio"]
    )
    w0, w1 = model.model_filters(mspec)
    mask = (np.abs(w0) > masked["mask_threshold"] * w0.max()).astype(float)
    centre = mspec.stimulus_gabor(0.0, np.pi)
    centre = rc["amplitude"] * mask * centre / centre.max()
    elongated = spec.stimulus_gabor(0.0, np.pi)
    surround = (1.0 - mask) * rc["amplitude"] * elongated / elongated.max()
    return w0 * mask, w1, mask, np.stack([centre, surround, centre + surround])


def _masked_fields(setup: Setup, spec: model.FilterSpec) -> dict[str, Any]:
    """Supplementary Fig 3: fields of the masked unit for its three probes."""
    rc = setup.config["receptive_field"]
    w0, w1, mask, probes = _masked_probes(setup, spec)
    lambdas = np.asarray(rc["masked"]["lambdas"], dtype=float)
    fields, fields_capped, responses = _fields(setup, probes, lambdas, w0, w1)
    rect = analysis.rectify(responses)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = rect / rect[0]
    return {
        **_field_datasets(fields, fields_capped, "probe", rc["slope_floor"]),
        "responses": _dataset(responses, "a.u.", ("probe", "lambda")),
        "relative_response": _dataset(
            relative, "1", ("probe", "lambda"), description="rectified, relative to S1"
        ),
        "stimuli": _dataset(probes, "1", ("probe", "row", "column")),
        "mask": _dataset(mask, "1", ("row", "column")),
        "probe": _dataset(np.array([b"S1 centre", b"S2 surround", b"S1+S2"]), "1"),
        "lambda": _dataset(lambdas, "1"),
        **_pixels(spec.n_pixels),
    }


def receptive_field(config: Mapping[str, Any]) -> dict[str, Any]:
    """Experiment 6: spatial receptive field ``dv/dx`` at the fixed point (Figs S2, S3).

    For horizontal and vertical gratings at each lambda, and for the
    masked-Gabor case of the supplement: a unit whose ``w0`` is masked to
    where ``|w0| > mask_threshold max w0``, probed with the centre Gabor
    (S1), the surround only (S2) and both (S1+S2). Always at the converged
    fixed point (the derivative of the published 21-step map is a different
    object), with exact dendritic sums.

    Parameters
    ----------
    config : Mapping
        The ``v1`` section (completed by :func:`resolve_config`).

    Returns
    -------
    dict
        The content of ``receptive_field.h5``.
    """
    setup = Setup(resolve_config(config))
    rc = setup.config["receptive_field"]
    spec = setup.filter_spec(phase=math.radians(rc["filter_phase_deg"]))
    return {
        **_grating_fields(setup, spec),
        "masked": _masked_fields(setup, spec),
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
