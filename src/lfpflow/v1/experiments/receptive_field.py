"""Experiment 6, spatial receptive fields ``dv/dx`` at the fixed point (Figs S2, S3).

:func:`run` writes ``receptive_field.h5``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow.v1 import analysis, model, stimuli
from lfpflow.v1.experiments.common import (
    Setup,
    dataset,
    pixel_coordinates,
)


def _field_datasets(
    fields: np.ndarray, fields_capped: np.ndarray, stimulus_dim: str, slope_floor: float
) -> dict[str, Any]:
    """The exact and the slope-capped receptive fields as datasets."""
    dims = (stimulus_dim, "lambda", "row", "column")
    return {
        "receptive_field": dataset(fields, "a.u.", dims, description="exact dv/dx"),
        "receptive_field_capped": dataset(
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
        "responses": dataset(responses, "a.u.", ("grating", "lambda")),
        "stimuli": dataset(gratings, "1", ("grating", "row", "column")),
        "grating": dataset(np.array([b"horizontal", b"vertical"]), "1"),
        "lambda": dataset(lambdas, "1"),
        "slope_floor": dataset(rc["slope_floor"], "1"),
        **pixel_coordinates(n),
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
        "responses": dataset(responses, "a.u.", ("probe", "lambda")),
        "relative_response": dataset(
            relative, "1", ("probe", "lambda"), description="rectified, relative to S1"
        ),
        "stimuli": dataset(probes, "1", ("probe", "row", "column")),
        "mask": dataset(mask, "1", ("row", "column")),
        "probe": dataset(np.array([b"S1 centre", b"S2 surround", b"S1+S2"]), "1"),
        "lambda": dataset(lambdas, "1"),
        **pixel_coordinates(spec.n_pixels),
    }


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 6: spatial receptive field ``dv/dx`` at the fixed point (Figs S2, S3).

    For horizontal and vertical gratings at each lambda, and for the
    masked-Gabor case of the supplement: a unit whose ``w0`` is masked to
    where ``|w0| > mask_threshold max w0``, probed with the centre Gabor
    (S1), the surround only (S2) and both (S1+S2). Always at the converged
    fixed point (the derivative of the published 21-step map is a different
    object), with exact dendritic sums.

    Returns the content of ``receptive_field.h5``.
    """
    rc = setup.config["receptive_field"]
    spec = setup.filter_spec(phase=math.radians(rc["filter_phase_deg"]))
    return {
        **_grating_fields(setup, spec),
        "masked": _masked_fields(setup, spec),
    }
