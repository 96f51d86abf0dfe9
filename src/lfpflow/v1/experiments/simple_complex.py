"""Experiment 1, from simple to complex cells with the XOR term (Figs 2, 3, S4).

:func:`run` writes ``simple_complex.h5``: responses over (lambda,
phase, orientation), the alpha sweep, the modulation map over (lambda, alpha),
the controls (non-oriented ``w1``, sigmoid dendrite) and the hierarchical
(pre-filtered) input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.v1 import analysis, model, stimuli
from lfpflow.v1.experiments.common import (
    GRID_DIMS,
    RATIO_FULL,
    RATIO_GRID,
    GaborGrid,
    Setup,
    angle_coordinate,
    dataset,
    feedforward,
    pixel_coordinates,
)


def _phase_modulation(surface: NDArray, preferred: int) -> NDArray:
    """Modulation depth over phase at the preferred orientation of ``(..., phase, orientation)``.

    ``(max - min) / max`` of the rectified response
    (:func:`~lfpflow.v1.analysis.modulation_depth`).
    """
    return analysis.modulation_depth(surface[..., preferred], axis=-1)


def _full_cycle_modulation(
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
        As for :func:`feedforward`, broadcast against the pair axes ``(1, phase)``.
    **kwargs
        Passed to :func:`feedforward` (``pa2m``, ``nonlinearity``).

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
    result = feedforward(setup, w0, w1, images, lam=lam, alpha=alpha, **kwargs)
    responses = result.v[..., 0, :]
    return responses, analysis.modulation_depth(responses, axis=-1)


def _lambda_panel(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, sc: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 2a-b: responses over (lambda, phase, orientation) at one alpha."""
    lambdas = np.asarray(sc["lambdas"], dtype=float)
    main = feedforward(setup, w0, w1, grid.images, lam=lambdas[:, None, None], alpha=sc["alpha"])
    responses = grid.surface(main.v)
    full, full_ratio = _full_cycle_modulation(
        setup, w0, w1, grid.full_cycle_images, lam=lambdas[:, None, None], alpha=sc["alpha"]
    )
    return {
        "responses": dataset(responses, "a.u.", ("lambda", *GRID_DIMS), alpha=sc["alpha"]),
        "iterations": dataset(
            main.iterations.reshape(responses.shape), "1", ("lambda", *GRID_DIMS)
        ),
        "linear_drive": dataset(main.linear[0].reshape(grid.shape), "a.u.", GRID_DIMS),
        "modulation_ratio": dataset(
            _phase_modulation(responses, grid.preferred), "1", ("lambda",), description=RATIO_GRID
        ),
        "responses_full_cycle": dataset(
            full, "a.u.", ("lambda", "phase_full_cycle"), alpha=sc["alpha"]
        ),
        "modulation_ratio_full_cycle": dataset(
            full_ratio, "1", ("lambda",), description=RATIO_FULL
        ),
        "lambda": dataset(lambdas, "1"),
        **grid.coordinates("stimulus orientation (preferred: 0)", full_cycle=True),
    }


def _alpha_sweep(
    setup: Setup, grid: GaborGrid, w0: NDArray, w1: NDArray, sweep: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig 2c: responses over (alpha, phase, orientation) at one lambda."""
    alphas = np.asarray(sweep["alphas"], dtype=float)
    swept = feedforward(
        setup, w0, w1, grid.images, lam=sweep["lambda"], alpha=alphas[:, None, None]
    )
    surface = grid.surface(swept.v)
    _, full_ratio = _full_cycle_modulation(
        setup, w0, w1, grid.full_cycle_images, lam=sweep["lambda"], alpha=alphas[:, None, None]
    )
    return {
        "responses": dataset(surface, "a.u.", ("alpha", *GRID_DIMS), **{"lambda": sweep["lambda"]}),
        "modulation_ratio": dataset(
            _phase_modulation(surface, grid.preferred), "1", ("alpha",), description=RATIO_GRID
        ),
        "modulation_ratio_full_cycle": dataset(full_ratio, "1", ("alpha",), description=RATIO_FULL),
        "alpha": dataset(alphas, "1"),
        "lambda": dataset(sweep["lambda"], "1"),
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
    mapped = feedforward(setup, w0, w1, images, **parameters)
    responses = mapped.v[:, :, 0, :]
    depth = analysis.modulation_depth(responses, axis=-1)
    full, full_depth = _full_cycle_modulation(setup, w0, w1, grid.full_cycle_images, **parameters)
    return {
        "modulation_depth": dataset(depth, "1", ("lambda", "alpha"), description=RATIO_GRID),
        "responses": dataset(responses, "a.u.", ("lambda", "alpha", "phase")),
        "modulation_depth_full_cycle": dataset(
            full_depth, "1", ("lambda", "alpha"), description=RATIO_FULL
        ),
        "responses_full_cycle": dataset(full, "a.u.", ("lambda", "alpha", "phase_full_cycle")),
        "lambda": dataset(lambdas, "1"),
        "alpha": dataset(alphas, "1"),
        "phase": angle_coordinate(grid.phases, "stimulus phase (orientation 0)"),
        "phase_full_cycle": angle_coordinate(
            grid.full_cycle_phases, "stimulus phase (orientation 0)"
        ),
        "minimum": _map_minimum(depth, lambdas, alphas, "v1.grid_phase_range_deg"),
        "minimum_full_cycle": _map_minimum(full_depth, lambdas, alphas, "a full cycle"),
    }


def _map_minimum(depth: NDArray, lambdas: NDArray, alphas: NDArray, phases: str) -> io.Dataset:
    """The minimum of a ``(lambda, alpha)`` map of modulation depth, with its lambda and alpha.

    ``phases`` names the phases the depth was measured over (in the description).
    """
    best = np.unravel_index(np.nanargmin(depth), depth.shape)
    return dataset(
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
    nonoriented = feedforward(
        setup, narrow_w0, uniform_w1, grid.images, lam=controls["lambda"], alpha=controls["alpha"]
    )
    alphas = np.asarray(controls["sigmoid_alphas"], dtype=float)
    sigmoid = feedforward(
        setup,
        narrow_w0,
        w1,
        grid.images,
        lam=controls["lambda"],
        alpha=alphas[:, None, None],
        nonlinearity=model.SigmoidDendrite(),
    )
    sigmoid_surface = grid.surface(sigmoid.v)
    _, sigmoid_full_ratio = _full_cycle_modulation(
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
            "responses": dataset(grid.surface(nonoriented.v), "a.u.", GRID_DIMS),
            "lambda": dataset(controls["lambda"], "1"),
            "alpha": dataset(controls["alpha"], "1"),
            **grid.coordinates(),
        },
        "sigmoid_dendrite": {
            "responses": dataset(sigmoid_surface, "a.u.", ("alpha", *GRID_DIMS)),
            "modulation_ratio": dataset(
                _phase_modulation(sigmoid_surface, grid.preferred),
                "1",
                ("alpha",),
                description=RATIO_GRID,
            ),
            "modulation_ratio_full_cycle": dataset(
                sigmoid_full_ratio, "1", ("alpha",), description=RATIO_FULL
            ),
            "alpha": dataset(alphas, "1"),
            "lambda": dataset(controls["lambda"], "1"),
            "alpha_shown": dataset(controls["alpha"], "1"),
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
    result = feedforward(setup, prefilter, w1, cortical, lam=hier["lambda"], alpha=hier["alpha"])
    surface = grid.surface(result.v)
    _, full_ratio = _full_cycle_modulation(
        setup,
        prefilter,
        w1,
        stimuli.prefilter(grid.full_cycle_images, prefilter),
        lam=hier["lambda"],
        alpha=hier["alpha"],
    )
    return {
        "responses": dataset(surface, "a.u.", GRID_DIMS),
        "modulation_ratio": dataset(
            _phase_modulation(surface, grid.preferred), "1", description=RATIO_GRID
        ),
        "modulation_ratio_full_cycle": dataset(full_ratio, "1", description=RATIO_FULL),
        "prefilter": dataset(prefilter, "1", ("row", "column")),
        **pixel_coordinates(spec.n_pixels),
        "lambda": dataset(hier["lambda"], "1"),
        "alpha": dataset(hier["alpha"], "1"),
        **grid.coordinates(),
    }


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 1: simple-to-complex transition with the XOR term (Figs 2, 3, S4).

    Responses to Gabor patches over phase and orientation for each lambda
    (``responses``); the alpha sweep at one lambda; the map of modulation
    depth over (lambda, alpha) at the preferred orientation; the controls
    with a non-oriented ``w1`` and with a sigmoid instead of the XOR
    dendrite; the hierarchical variant whose input is pre-filtered by a
    cortical Gabor.

    Returns the content of ``simple_complex.h5``.
    """
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
            "w0": dataset(w0, "1", ("row", "column")),
            "w1": dataset(w1, "1", ("row", "column")),
            **pixel_coordinates(spec.n_pixels),
        },
    }
