"""Experiment 2, robustness to perturbations of the filters (Fig 4).

:func:`run` writes ``perturbations.h5``: the two-term model with
``w0`` and ``w1`` perturbed by uniform noise, per noise level and repetition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.v1 import analysis, model
from lfpflow.v1.experiments.common import (
    GRID_DIMS,
    RATIO_FULL,
    RATIO_GRID,
    GaborGrid,
    Setup,
    dataset,
    feedforward,
    pixel_coordinates,
)

log = logging.getLogger(__name__)


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
    reference = feedforward(setup, w0, w1, grid.images, lam=pc["lambda"], alpha=pc["alpha"])
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


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 2: filters perturbed by uniform noise (Fig 4).

    ``w0 + L u0`` and ``w1 + L u1`` with ``u0, u1`` uniform on
    ``[-max|w0|, max|w0|]`` per pixel, for each noise level ``L`` and
    repetition. With ``shared_draws`` (default) the same ``u0, u1`` of
    repetition ``r`` serve every level (common random numbers: each level
    still sees ``repetitions`` independent draws, and differences between
    levels are not blurred by draw-to-draw variability); otherwise every
    level draws afresh, as the authors' code does.

    Returns the content of ``perturbations.h5``.
    """
    pc = setup.config["perturbations"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    grid = GaborGrid.build(setup, spec)
    responses, full_cycle, examples = _perturbed_responses(setup, grid, w0, w1, pc)
    stats = _perturbation_statistics(setup, grid, w0, w1, pc, responses)
    full_ratio = analysis.modulation_depth(full_cycle, axis=-1)
    rep_dims = ("noise_level", "repetition")
    return {
        "responses": dataset(responses, "a.u.", (*rep_dims, *GRID_DIMS)),
        **_ratio_datasets(stats["ratio"], "", RATIO_GRID),
        "responses_full_cycle": dataset(full_cycle, "a.u.", (*rep_dims, "phase_full_cycle")),
        **_ratio_datasets(full_ratio, "_full_cycle", RATIO_FULL),
        "orientation_tuning": dataset(
            stats["tuning"],
            "1",
            (*rep_dims, "orientation"),
            description="max over phase of the rectified response, normalised to its peak",
        ),
        "tuning_hwhm_deg": dataset(stats["hwhm_deg"], "deg", rep_dims),
        "mse_phase": dataset(stats["mse_phase"], "1", rep_dims),
        "mse_surface": dataset(stats["mse_surface"], "1", rep_dims),
        "example_filters": dataset(
            examples, "1", ("noise_level", "filter", "row", "column"), description="repetition 0"
        ),
        "filter": dataset(np.array([b"w0", b"w1"]), "1"),
        **pixel_coordinates(spec.n_pixels),
        "noise_level": dataset(
            np.asarray(pc["noise_levels"], dtype=float),
            "1",
            description="noise amplitude in units of max|w0|",
        ),
        "figure_levels": dataset(pc["figure_levels"], "1", description="levels drawn"),
        "repetition": dataset(np.arange(pc["repetitions"]), "1"),
        **grid.coordinates(full_cycle=True),
    }


def _ratio_datasets(ratio: NDArray, suffix: str, description: str) -> dict[str, io.Dataset]:
    """Modulation ratios per (level, repetition), their mean and sd over repetitions.

    Named ``modulation_ratio{suffix}``, ``modulation_ratio{suffix}_mean`` and ``..._sd``.
    """
    name = f"modulation_ratio{suffix}"
    return {
        name: dataset(ratio, "1", ("noise_level", "repetition"), description=description),
        f"{name}_mean": dataset(np.nanmean(ratio, axis=1), "1", ("noise_level",)),
        f"{name}_sd": dataset(np.nanstd(ratio, axis=1), "1", ("noise_level",)),
    }
