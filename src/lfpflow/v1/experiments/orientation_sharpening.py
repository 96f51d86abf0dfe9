"""Experiment 5, orientation sharpening by the lateral term (Fig 7).

:func:`run` writes ``orientation_sharpening.h5``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.v1 import analysis, model, stimuli
from lfpflow.v1.experiments.common import (
    GRID_DIMS,
    GaborGrid,
    Setup,
    angle_coordinate,
    dataset,
)


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
            "sweep": dataset(np.array([s.encode() for s in self.sweep]), "1", ("setting",)),
            "lambda1": dataset(self.lambda1, "1", ("setting",)),
            "lambda2": dataset(self.lambda2, "1", ("setting",)),
            "alpha2": dataset(self.alpha2, "1", ("setting",)),
            "setting": dataset(np.arange(len(self.sweep)), "1"),
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


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 5: the full model with lateral interactions (Fig 7).

    ``n_units`` units with preferred orientations ``0, pi/n, ..., pi - pi/n``
    interact through the sigmoidal third term; sweeps of lambda1, lambda2
    and alpha2. Tuning of the unit preferring orientation 0 at the optimal
    phase (0), on the paper's grid and on a fine orientation grid for the
    half-width at half maximum.

    Returns the content of ``orientation_sharpening.h5``.
    """
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
    surface_dims = ("setting", "preferred_orientation", *GRID_DIMS)
    grid_part = result.v[..., :n_grid].reshape(len(settings.sweep), n_units, *grid.shape)
    fine_part = result.v[:, 0, n_grid:]
    zero_phase = int(np.argmin(np.abs(grid.phases)))
    hwhm_fine = np.degrees(analysis.half_width_at_half_maximum(fine, fine_part))
    hwhm_grid = np.degrees(
        analysis.half_width_at_half_maximum(grid.orientations, grid_part[:, 0, zero_phase])
    )
    return {
        "responses": dataset(grid_part, "a.u.", surface_dims),
        "fine_tuning": dataset(
            fine_part,
            "a.u.",
            ("setting", "fine_orientation"),
            description="unit preferring 0, stimulus phase 0",
        ),
        "tuning_hwhm_deg": dataset(
            hwhm_fine, "deg", ("setting",), description="from fine_tuning (linear interpolation)"
        ),
        "tuning_hwhm_deg_grid": dataset(
            hwhm_grid, "deg", ("setting",), description="from the paper's orientation grid"
        ),
        "iterations": dataset(
            result.iterations[..., :n_grid].reshape(grid_part.shape), "1", surface_dims
        ),
        "lateral_weights": dataset(w2, "1", ("preferred_orientation", "preferred_orientation")),
        **settings.datasets(),
        "preferred_orientation": angle_coordinate(preferred, "preferred orientation of each unit"),
        **grid.coordinates(),
        "fine_orientation": angle_coordinate(fine, "stimulus orientation, fine grid"),
    }
