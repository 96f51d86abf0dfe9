"""Readouts of the relaxed V1 model: the spatial receptive field at the fixed point."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lfpflow.v1.model.dendritic_sums import ExactDendriticSum
from lfpflow.v1.model.filters import linear_drive, term_weights
from lfpflow.v1.model.nonlinearities import (
    DendriticNonlinearity,
    rate_to_potential,
    rate_to_potential_derivative,
)
from lfpflow.v1.model.relaxation import Relaxation, relax_feedforward


def receptive_field(
    stimulus: ArrayLike,
    w0: ArrayLike,
    w1: ArrayLike,
    *,
    lam: float,
    alpha: float,
    pa2m: float,
    nonlinearity: DendriticNonlinearity,
    relaxation: Relaxation | None = None,
    slope_floor: float = 0.0,
) -> tuple[NDArray, float]:
    """Spatial receptive field ``dv/dx`` of the two-term model at its fixed point.

    Differentiating ``v = c0 w0.x + c1 sum_k w1_k s1(x_hat_k + a v)`` with
    respect to ``x_j``, including the implicit dependence through ``v``::

        dv/dx_j = (c0 w0_j + c1 w1_j s1'(z_j) x_hat'(x_j)) / (1 - a c1 sum_k w1_k s1'(z_k))

    with ``z = x_hat + a v`` at the converged ``v``.

    Parameters
    ----------
    stimulus, w0, w1 : array_like, shape (n, n)
        The stimulus at which the field is taken and the filters.
    lam, alpha, pa2m : float
        Model parameters.
    nonlinearity : DendriticNonlinearity
        ``s1``.
    relaxation : Relaxation, optional
        Must use the converged protocol (the derivative is that of the fixed
        point); default: converged with tolerance 1e-14.
    slope_floor : float
        Passed to :func:`rate_to_potential_derivative`: 0 gives the exact
        derivative, which is unbounded where the stimulus is ~0 (``pa2m < 1``);
        a positive floor caps the slope of ``x_hat`` there.

    Returns
    -------
    field : ndarray, shape (n, n)
        ``dv/dx`` per pixel.
    v : float
        The converged response.
    """
    relaxation = relaxation or Relaxation(protocol="converged", tolerance=1e-14)
    if relaxation.protocol != "converged":
        raise ValueError("the receptive field is defined at the fixed point: use 'converged'")
    stimulus = np.asarray(stimulus, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    w1 = np.asarray(w1, dtype=float)
    potentials = rate_to_potential(stimulus, pa2m)
    dsum = ExactDendriticSum(w1[None], potentials[None], nonlinearity)
    q = linear_drive(w0, stimulus)
    result = relax_feedforward(q, dsum, lam=lam, alpha=alpha, relaxation=relaxation)
    v = float(result.v[0, 0])
    c0, c1, _ = term_weights(lam)
    slope = nonlinearity.derivative(potentials + alpha * v)
    denominator = 1.0 - alpha * c1 * float(np.sum(w1 * slope))
    potential_slope = rate_to_potential_derivative(stimulus, pa2m, slope_floor=slope_floor)
    numerator = c0 * w0 + c1 * w1 * slope * potential_slope
    return numerator / denominator, v
