"""The V1 neuron model of Rentzeperis, Prandi & Bertalmío (2025), batched.

Membrane potential of unit ``i`` (Rentzeperis I, Prandi D, Bertalmío M, 2025,
J Neurosci, "A neural model for V1 that incorporates dendritic nonlinearities
and back-propagating action potentials")::

    v_i = c0 (w0_i . x) + c1 (w1_i . s1(x_hat + a1 v_i)) - c2 sum_k w2_ik s2(v_k - a2 v_i)

with ``x`` the input (firing rates, one value per pixel), ``x_hat = |x|**p``
(rate to membrane potential, ``p`` = ``pa2m``), ``s1`` the XOR dendrite
:class:`XorDendrite`, ``s2`` the sigmoidal dendrite :class:`SigmoidDendrite`,
``c0 = 1/(1 + |l1| + |l2|)``, ``c1 = l1 c0``, ``c2 = l2 c0`` (:func:`term_weights`).

Names used below: the *linear drive* ``Q = w0 . x``; the *dendritic sum*
``R(u) = sum_j w1_j s1(x_hat_j + u)``, a function of the back-propagated
potential ``u = a1 v`` (classes :class:`ExactDendriticSum` and
:class:`BinnedDendriticSum`); a *pair* is one (filter, stimulus) combination,
for which ``Q`` is a number and ``R`` a function of one variable.

Two relaxation protocols (:class:`Relaxation`):

``paper``
    What the published figures did: start at ``v = 0`` and apply
    ``v <- v + rate (-v + rhs(v))`` exactly ``steps`` (21) times with
    ``rate = 0.1``; the full model uses the feed-forward normalisation
    (``c0 = 1/(1+|l1|)``, no lateral term) on the first step.
``converged``
    The same updates repeated until ``|rhs(v) - v| < tolerance`` for every
    element (the fixed point), reporting the iterations each element needed;
    elements that stall (less than 10 % progress in 1000 updates, e.g. the
    oscillations of a strongly coupled full model) or reach ``max_iterations``
    are reported as unconverged.

Everything is vectorised over stimuli, filters and parameters: parameters are
arrays broadcast against the pair axes (see :func:`relax_feedforward`).

Submodules
----------
:mod:`~lfpflow.v1.model.nonlinearities`
    ``s1``, ``s2`` and the rate-to-potential map ``x_hat``.
:mod:`~lfpflow.v1.model.filters`
    ``w0``, ``w1`` (:func:`model_filters`), ``w2`` (:func:`lateral_weights`),
    ``c0, c1, c2`` (:func:`term_weights`) and ``Q`` (:func:`linear_drive`).
:mod:`~lfpflow.v1.model.dendritic_sums`
    ``R(u)``, exact or binned.
:mod:`~lfpflow.v1.model.relaxation`
    The protocols and the relaxations of the two-term and full models.
:mod:`~lfpflow.v1.model.readouts`
    The receptive field ``dv/dx`` at the fixed point.

The names the experiments, tests and benchmarks use are importable from here
(``__all__``); the rest stay in their submodule.
"""

from lfpflow.v1.model.dendritic_sums import (
    BinnedDendriticSum,
    ExactDendriticSum,
    dendritic_sum,
)
from lfpflow.v1.model.filters import (
    FilterSpec,
    lateral_weights,
    linear_drive,
    model_filters,
    term_weights,
)
from lfpflow.v1.model.nonlinearities import (
    SigmoidDendrite,
    XorDendrite,
    rate_to_potential,
    rate_to_potential_derivative,
)
from lfpflow.v1.model.readouts import receptive_field
from lfpflow.v1.model.relaxation import (
    Relaxation,
    RelaxationResult,
    relax_feedforward,
    relax_network,
)

__all__ = [
    "BinnedDendriticSum",
    "ExactDendriticSum",
    "FilterSpec",
    "Relaxation",
    "RelaxationResult",
    "SigmoidDendrite",
    "XorDendrite",
    "dendritic_sum",
    "lateral_weights",
    "linear_drive",
    "model_filters",
    "rate_to_potential",
    "rate_to_potential_derivative",
    "receptive_field",
    "relax_feedforward",
    "relax_network",
    "term_weights",
]
