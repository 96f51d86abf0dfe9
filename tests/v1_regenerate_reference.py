"""Regenerate ``tests/data/v1_regression.h5``, the V1 model's regression reference.

Usage (from the project root)::

    python tests/v1_regenerate_reference.py

The file holds the responses of the V1 model on a small grid (33 x 33 pixel
filters, Gabor stimuli every 30 degrees of orientation and phase, lambda in
{0, 1, 10}, alpha 0.2), computed with exact dendritic sums under both
relaxation protocols, with the binned sums (paper protocol), and for the full
model with lateral interactions (6 units). ``tests/test_v1_regression.py``
recomputes the same grid with :func:`compute_reference` and compares.

When regenerating is legitimate
-------------------------------
Only when the model's *definition* changes on purpose: a corrected equation, a
changed default that the reference is meant to follow (filter geometry, XOR
peak, relaxation rate or step count), or a deliberate change of the binned
approximation. Say so in the commit message, and check first that the
analytical tests (``tests/test_v1_model.py``) still pass. Never regenerate to
make a failing regression test pass after a refactoring or a performance
change: such changes must reproduce the stored numbers (to the test's
tolerance, 1e-9 relative), and a difference is a bug to find.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io
from lfpflow.v1 import model, stimuli

REFERENCE = Path(__file__).parent / "data" / "v1_regression.h5"

#: Grid of the reference (kept small: the file is a few tens of kB).
N_PIXELS = 33
STEP = math.radians(30.0)
LAMBDAS = (0.0, 1.0, 10.0)
ALPHA = 0.2
PA2M = 0.5
N_UNITS = 6
NETWORK = {"lambda1": 10.0, "lambda2": 4.0, "alpha1": 0.2, "alpha2": 1.0}


def compute_reference() -> dict[str, np.ndarray]:
    """Responses on the reference grid.

    Returns
    -------
    dict
        ``phase``, ``orientation``, ``lambda`` (coordinates);
        ``paper_exact``, ``paper_binned``, ``converged_exact``
        (lambda x phase x orientation); ``converged_iterations`` (same shape);
        ``network_paper`` (unit x phase x orientation).
    """
    spec = model.FilterSpec(n_pixels=N_PIXELS)
    w0, w1 = model.model_filters(spec)
    angles = stimuli.angle_grid(STEP)
    images = spec.stimulus_gabor(angles[None, :], angles[:, None]).reshape(-1, N_PIXELS, N_PIXELS)
    shape = (len(LAMBDAS), angles.size, angles.size)
    potentials = model.rate_to_potential(images, PA2M)
    xor = model.XorDendrite.for_exponent(PA2M)
    q = model.linear_drive(w0, images)
    lam = np.asarray(LAMBDAS)[:, None, None]
    out: dict[str, np.ndarray] = {
        "lambda": np.asarray(LAMBDAS),
        "phase": angles,
        "orientation": angles,
    }
    exact = model.ExactDendriticSum(w1[None], potentials, xor)
    binned = model.BinnedDendriticSum.from_weights(w1[None], potentials, xor, n_bins=64)
    paper = model.Relaxation()
    converged = model.Relaxation(protocol="converged", tolerance=1e-13)
    out["paper_exact"] = model.relax_feedforward(
        q, exact, lam=lam, alpha=ALPHA, relaxation=paper
    ).v.reshape(shape)
    out["paper_binned"] = model.relax_feedforward(
        q, binned, lam=lam, alpha=ALPHA, relaxation=paper
    ).v.reshape(shape)
    result = model.relax_feedforward(q, exact, lam=lam, alpha=ALPHA, relaxation=converged)
    out["converged_exact"] = result.v.reshape(shape)
    out["converged_iterations"] = result.iterations.reshape(shape)

    preferred = np.pi * np.arange(N_UNITS) / N_UNITS
    uw0, uw1 = model.model_filters(spec, preferred)
    network = model.relax_network(
        model.linear_drive(uw0, images),
        model.ExactDendriticSum(uw1, potentials, xor),
        model.lateral_weights(uw0),
        relaxation=paper,
        **NETWORK,
    )
    out["network_paper"] = network.v.reshape(N_UNITS, angles.size, angles.size)
    out["preferred_orientation"] = preferred
    return out


def write_reference(path: Path = REFERENCE) -> None:
    """Compute the reference and write it (HDF5 with units and dims)."""
    ref = compute_reference()
    grid = ["lambda", "phase", "orientation"]
    content: dict[str, Any] = {
        name: io.Dataset(ref[name], "a.u.", dims=grid)
        for name in ("paper_exact", "paper_binned", "converged_exact")
    }
    content["converged_iterations"] = io.Dataset(ref["converged_iterations"], "1", dims=grid)
    content["network_paper"] = io.Dataset(
        ref["network_paper"], "a.u.", dims=["preferred_orientation", "phase", "orientation"]
    )
    content["lambda"] = io.Dataset(ref["lambda"], "1")
    content["phase"] = io.Dataset(ref["phase"], "rad")
    content["orientation"] = io.Dataset(ref["orientation"], "rad")
    content["preferred_orientation"] = io.Dataset(ref["preferred_orientation"], "rad")
    settings = {
        "n_pixels": N_PIXELS,
        "step_deg": 30.0,
        "alpha": ALPHA,
        "pa2m": PA2M,
        "network": NETWORK,
    }
    io.write_h5(path, content, attrs=io.provenance(settings, generator=Path(__file__).name))


if __name__ == "__main__":
    write_reference()
    print(f"wrote {REFERENCE}")
