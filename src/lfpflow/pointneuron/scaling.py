"""Network scaling and the fixed-total-number rule (no NEST import).

Potjans & Diesmann (2014, Cereb Cortex 24:785; "PD" below) give each pathway
a connection probability C and realise it as a fixed total number of
synapses between randomly drawn pre- and postsynaptic neurons, multapses and
autapses allowed (their Eq. 1):

    K = ln(1 - C) / ln(1 - 1 / (N_pre N_post))

with the full-size population sizes. The network is scaled as in the model's
reference implementation (the ``microcircuit`` package, PyNEST; facts from its
``network_params.py`` and documentation, our own code):

- ``network.scale`` scales neuron numbers, N -> round(N scale); the total
  number of synapses of a pathway scales with the postsynaptic population,
  K -> round(K scale k_scale), so in-degrees are unchanged by ``scale``;
- ``network.k_scale`` scales in-degrees (recurrent and external,
  ``drive.n_ext`` -> round(n_ext k_scale)) and divides the weights by
  sqrt(k_scale), which keeps the input fluctuations; the mean input lost,
  (1 - sqrt(k_scale)) sum_X w K nu tau_syn, is given back as a DC current
  (``I_e``) from the full-scale in-degrees and the full-scale rates
  ``network.k_scale_rates_Hz``, so that rates are kept (van Albada et al.
  2015, PLOS Comput Biol 11:e1004490).

Everything here is a plain function of the ``network`` section of the network
stage view, so the checks and the tests use the same numbers as the
simulation; the arithmetic of sizes, in-degrees, the weight factor and the
lost mean input is :mod:`lfpflow.config.scaling`. The multicompartment ground
truth's downscaled network differs from this one in that it keeps connection
probabilities (not total synapse counts) and at least one cell per population.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lfpflow.config.scaling import (
    lost_input_fraction,
    scaled_in_degree,
    scaled_size,
    weight_factor,
)

#: Connection rule whose synapse count follows PD's Eq. 1.
FIXED_TOTAL_NUMBER = "fixed_total_number"


def scaled_total(total: float, scale: float, k_scale: float) -> int:
    """A pathway's total number of synapses at ``scale`` and ``k_scale``, rounded once.

    ``round(total * scale * k_scale)``: the total follows the postsynaptic
    population (``scale``) and the in-degree (``k_scale``), as the
    microcircuit's reference implementation scales it.
    """
    return int(round(total * scale * k_scale))


def pd_total_synapses(p: float, n_pre: int, n_post: int) -> float:
    """Total number of synapses of a pathway, PD Eq. 1 (not rounded).

    Parameters
    ----------
    p : float
        Connection probability C (1): the probability that a pre/post pair
        has at least one synapse.
    n_pre, n_post : int
        Full-size population sizes (neurons).

    Returns
    -------
    float
        K = ln(1 - C) / ln(1 - 1 / (n_pre n_post)); computed with log1p,
        because 1 - 1/(n_pre n_post) is within 1e-8 of 1 at full size.
    """
    if p >= 1.0:
        raise ValueError(f"connection probability {p} must be below 1 for this rule")
    return math.log1p(-p) / math.log1p(-1.0 / (float(n_pre) * float(n_post)))


@dataclass(frozen=True)
class ScaledNetwork:
    """What the NEST stage builds after scaling (see the module docstring).

    Attributes
    ----------
    sizes : dict
        Population name -> number of neurons.
    n_synapses : dict
        Connection index -> total synapses (``fixed_total_number`` only).
    weight_factor : float
        Factor on every recurrent and drive weight, 1 / sqrt(k_scale).
    n_ext : dict
        Population name -> external inputs per neuron (``drive.n_ext``).
    dc_pA : dict
        Population name -> compensating DC current (pA), 0 when k_scale = 1.
    """

    sizes: dict[str, int]
    n_synapses: dict[int, int]
    weight_factor: float
    n_ext: dict[str, int]
    dc_pA: dict[str, float]


def full_total_synapses(net: Mapping[str, Any]) -> dict[int, float]:
    """Full-scale K (PD Eq. 1) of each ``fixed_total_number`` connection, by index."""
    sizes = {name: int(p["size"]) for name, p in net["populations"].items()}
    return {
        index: pd_total_synapses(float(c["p"]), sizes[c["pre"]], sizes[c["post"]])
        for index, c in enumerate(net["connections"])
        if c["rule"] == FIXED_TOTAL_NUMBER
    }


def full_in_degrees(net: Mapping[str, Any]) -> dict[int, float]:
    """Full-scale mean in-degree K / N_post of each ``fixed_total_number`` connection."""
    sizes = {name: int(p["size"]) for name, p in net["populations"].items()}
    return {
        index: total / sizes[net["connections"][index]["post"]]
        for index, total in full_total_synapses(net).items()
    }


def compensating_dc(net: Mapping[str, Any]) -> dict[str, float]:
    """DC current (pA) per population that replaces the mean input k_scale removes.

    For postsynaptic population Y, with exponential current synapses of time
    constant tau (ms; tau_syn_ex for positive weights, tau_syn_in for
    negative), weights w (pA) at full scale, full-scale in-degrees K and
    rates nu (Hz), the mean synaptic current is 1e-3 w K nu tau (pA). Scaling
    K by k and w by 1/sqrt(k) scales it by sqrt(k); the difference is

        I_Y = 1e-3 (1 - sqrt(k)) [sum_X w_YX K_YX nu_X tau_YX
                                  + w_ext n_ext,Y nu_ext tau_ex,Y].

    Only ``fixed_total_number`` connections enter (the checks allow k_scale
    < 1 with no other rule); populations' ``params`` must hold or default
    ``tau_syn_ex``/``tau_syn_in`` (the catalogue's ``lif``).
    """
    from lfpflow.pointneuron.catalogue import get_model  # data only

    k_scale = float(net["k_scale"])
    populations = net["populations"]
    dc = dict.fromkeys(populations, 0.0)
    if k_scale == 1.0:
        return dc
    factor = 1e-3 * lost_input_fraction(k_scale)
    tau = {
        name: get_model(p["model"]).resolved_params(p["params"]) for name, p in populations.items()
    }
    rates = net["k_scale_rates_Hz"]
    for index, in_degree in full_in_degrees(net).items():
        conn = net["connections"][index]
        weight = float(conn["weight_pA"])
        tau_syn = tau[conn["post"]]["tau_syn_ex" if weight >= 0 else "tau_syn_in"]
        dc[conn["post"]] += factor * weight * in_degree * float(rates[conn["pre"]]) * tau_syn
    drive = net["drive"]
    for name, n_ext in drive["n_ext"].items():
        mean = float(drive.get("weight_pA", 0.0)) * n_ext * float(drive["nu_ext_Hz"])
        dc[name] += factor * mean * tau[name]["tau_syn_ex"]
    return dc


def scaled_network_totals(net: Mapping[str, Any]) -> ScaledNetwork:
    """Sizes, total synapse counts, weight factor, drive and DC after scaling.

    The NEST network's scaling: sizes ``round(N scale)`` (no minimum: the
    check ``network.scale`` refuses an empty population) and, per
    ``fixed_total_number`` pathway, the total ``round(K scale k_scale)``
    (:func:`scaled_total`). The ground truth's
    :func:`lfpflow.multicompartment.groundtruth.scaled_network_probabilities`
    keeps probabilities instead, with at least one cell per population.

    Parameters
    ----------
    net : Mapping
        The ``network`` section of the network stage view
        (:func:`lfpflow.config.network_description`): ``populations`` (full
        sizes), ``connections``, ``drive``, ``scale``, ``k_scale``,
        ``k_scale_rates_Hz``.

    Returns
    -------
    ScaledNetwork
        With scale = k_scale = 1 the sizes and in-degrees of the
        configuration, weight factor 1 and no DC.
    """
    scale, k_scale = float(net["scale"]), float(net["k_scale"])
    full = {name: int(p["size"]) for name, p in net["populations"].items()}
    # rounded once, after scaling, as the reference implementation does
    n_synapses = {
        index: scaled_total(total, scale, k_scale)
        for index, total in full_total_synapses(net).items()
    }
    return ScaledNetwork(
        sizes={name: scaled_size(size, scale) for name, size in full.items()},
        n_synapses=n_synapses,
        weight_factor=weight_factor(k_scale),
        n_ext={name: scaled_in_degree(n, k_scale) for name, n in net["drive"]["n_ext"].items()},
        dc_pA=compensating_dc(net),
    )
