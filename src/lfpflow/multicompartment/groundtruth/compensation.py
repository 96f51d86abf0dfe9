"""In-degree scaling of the ground-truth network and its compensating currents (numpy only).

A ground truth smaller than the full network keeps every in-degree
(:func:`lfpflow.multicompartment.groundtruth.description.scaled_network_probabilities`)
as long as the scaled connection probabilities stay at most 1. Circuits with dense pathways
(the Potjans & Diesmann microcircuit: L5I -> L5E has 496 partners among 1,065
cells) need a large fraction of the network for that. ``groundtruth.k_scale``
lowers the in-degrees as the point-neuron network's ``network.k_scale`` does
(van Albada, Helias & Diesmann 2015, PLOS Comput Biol 11:e1004490): every
in-degree, recurrent and external, times ``k``, every synaptic weight times
``1/sqrt(k)`` (which keeps the variance of the input), and the mean input lost,
``(1 - sqrt(k))`` times the full network's, given back as a constant current
(the scaled description is
:func:`lfpflow.multicompartment.groundtruth.description.k_scaled_kernel_config`,
the arithmetic :mod:`lfpflow.config.scaling`).

In a multicompartment cell the mean input has a place: the compensating current
goes where the lost synapses would have been, segment by segment, with the
probabilities the synapses are drawn with (area times the pathway's depth
density for recurrent synapses, area for external ones). For a passive cell
with current-based synapses the time-averaged membrane potential is then that
of the full in-degrees everywhere (tests/test_groundtruth.py checks it). Mean
currents are those at the kernels' linearisation potential
``kernels.cell.Vrest_mV`` and presynaptic rates ``kernels.presynaptic_rates_Hz``
(the rates the ground-truth network is meant to fire at; its measured rates are
known only after it has run). For conductance-based synapses the current at
``Vrest_mV`` is an approximation: the driving force varies with the potential.

Units: currents nA, charges nA*ms, rates Hz, conductances uS, potentials mV.

Numpy only; of the ground truth it imports only
:mod:`lfpflow.multicompartment.groundtruth.description`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lfpflow.config.scaling import lost_input_fraction
from lfpflow.config.scopes import pathway_key
from lfpflow.multicompartment.groundtruth.description import multapse_probabilities

#: Largest ratio tau1 / tau2 of a double exponential (as NEURON's Exp2Syn and
#: our CurrExp2Syn: closer time constants use 0.9999 * tau2 as tau1).
_MAX_TAU_RATIO = 0.9999


def peak_normalised_charge_ms(tau1_ms: float, tau2_ms: float) -> float:
    """Integral (ms) of a double exponential whose peak is 1.

    The time course of NEURON's ``Exp2Syn`` and our ``CurrExp2Syn`` per unit
    weight, ``s (exp(-t/tau2) - exp(-t/tau1))`` with ``s`` normalising the
    peak to 1, integrates to ``s (tau2 - tau1)``.

    Parameters
    ----------
    tau1_ms, tau2_ms : float
        Rise and decay time constants (ms), ``tau1 < tau2`` (equal values use
        ``0.9999 tau2`` as tau1, as the mechanisms do).

    Returns
    -------
    float
        Charge per unit peak (ms): nA*ms per nA of peak current.
    """
    tau2 = float(tau2_ms)
    tau1 = min(float(tau1_ms), _MAX_TAU_RATIO * tau2)
    t_peak = tau1 * tau2 / (tau2 - tau1) * math.log(tau2 / tau1)
    norm = 1.0 / (math.exp(-t_peak / tau2) - math.exp(-t_peak / tau1))
    return norm * (tau2 - tau1)


def mean_multapse(multapse: Mapping[str, float]) -> float:
    """Mean number of synapses per connection of a ``kernels.multapses`` entry."""
    values, probabilities = multapse_probabilities(multapse)
    return float(values @ probabilities)


def pathway_mean_current_nA(kernel_config: Mapping[str, Any], post: str, pre: str) -> float:
    """Mean synaptic current (nA, inward positive) a cell of ``post`` receives from ``pre``.

    ``K m w q nu``: the full in-degree ``K = p N_pre`` (connections), the mean
    multapse count ``m``, the peak current ``w = weights_uS (e_rev - Vrest)``
    (nA; the ``CurrExp2Syn`` weight, or the conductance synapse's current at
    ``Vrest_mV``), the charge per unit peak ``q`` (ms) and the rate ``nu`` of
    ``presynaptic_rates_Hz`` (Hz; 1e-3 converts Hz * nA * ms to nA).

    Parameters
    ----------
    kernel_config : Mapping
        The full network's ``kernels:`` section
        (:func:`lfpflow.config.kernel_description`).
    post, pre : str
        Pathway.

    Returns
    -------
    float
        Mean current (nA).
    """
    key = pathway_key(post, pre)
    synapse = kernel_config["synapses"][pre]
    in_degree = float(kernel_config["connection_probability"][key]) * int(
        kernel_config["populations"][pre]["size"]
    )
    peak_nA = float(kernel_config["weights_uS"][key]) * (
        float(synapse["e_rev_mV"]) - float(kernel_config["cell"]["Vrest_mV"])
    )
    charge = peak_nA * peak_normalised_charge_ms(synapse["tau1_ms"], synapse["tau2_ms"])
    rate_Hz = float(kernel_config["presynaptic_rates_Hz"][pre])
    return in_degree * mean_multapse(kernel_config["multapses"][key]) * charge * rate_Hz * 1e-3


def external_mean_current_nA(kernel_config: Mapping[str, Any], post: str) -> float:
    """Mean current (nA, inward positive) of the external drive of a cell of ``post``.

    ``n_ext nu_Hz weight_uS (e_rev - Vrest) q`` of ``kernels.external`` (the
    conductance at ``Vrest_mV``), as :func:`pathway_mean_current_nA`.
    """
    external = kernel_config["external"]
    peak_nA = float(external["weight_uS"]) * (
        float(external["e_rev_mV"]) - float(kernel_config["cell"]["Vrest_mV"])
    )
    charge = peak_nA * peak_normalised_charge_ms(external["tau1_ms"], external["tau2_ms"])
    n_ext = int(external["n_ext"].get(post, 0))
    return n_ext * float(external["nu_Hz"]) * charge * 1e-3


def compensating_currents_nA(
    kernel_config: Mapping[str, Any],
    post: str,
    k_scale: float,
    segment_probabilities: Mapping[str, np.ndarray],
) -> np.ndarray:
    """Constant current (nA, inward positive) per segment of one cell of ``post``.

    ``(1 - sqrt(k))`` times the full network's mean input of every pathway
    onto ``post`` (:func:`pathway_mean_current_nA`) and of the external drive
    (:func:`external_mean_current_nA`), each spread over the segments with the
    probabilities its synapses are drawn with.

    Parameters
    ----------
    kernel_config : Mapping
        The full network's ``kernels:`` section.
    post : str
        Postsynaptic population.
    k_scale : float
        ``groundtruth.k_scale``.
    segment_probabilities : Mapping
        ``pre`` -> probability per segment of a synapse from ``pre`` on this
        cell, and ``"external"`` -> that of an external synapse (each sums to 1).

    Returns
    -------
    numpy.ndarray
        Current per segment (nA); zeros for ``k = 1``.
    """
    lost = lost_input_fraction(k_scale)
    currents = np.zeros_like(np.asarray(segment_probabilities["external"], dtype=float))
    if lost == 0.0:
        return currents
    for pre, probabilities in segment_probabilities.items():
        if pre == "external":
            mean_nA = external_mean_current_nA(kernel_config, post)
        else:
            mean_nA = pathway_mean_current_nA(kernel_config, post, pre)
        currents += lost * mean_nA * np.asarray(probabilities, dtype=float)
    return currents
