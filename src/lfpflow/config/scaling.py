"""Network downscaling arithmetic shared by the point-neuron network and the ground truth.

Two products downscale a network described at full size: the NEST network
(``network.scale``, ``network.k_scale``; :mod:`lfpflow.pointneuron.scaling`)
and the multicompartment ground truth (``groundtruth.scale``,
``groundtruth.k_scale``; :mod:`lfpflow.multicompartment.groundtruth`). Both
follow van Albada, Helias & Diesmann (2015, PLOS Comput Biol 11:e1004490):
``scale`` multiplies the neuron numbers, ``k`` the in-degrees (recurrent and
external), every weight is divided by ``sqrt(k)`` (which keeps the variance of
the input) and the mean input lost, ``(1 - sqrt(k))`` times the full
network's, is given back as a constant current. The arithmetic is here, once,
so that the stages and the configuration checks compute the same numbers.

Where the two products round differently, each keeps its own rule (the
results of each must not change); the functions say which caller uses which:

* sizes: the NEST network uses ``round(N scale)`` (0 for ``N scale <= 0.5``,
  which its check refuses); the ground truth ``max(1, round(N scale))``, so
  that a population never vanishes. The two differ exactly when
  ``round(N scale) == 0``, i.e. ``N scale <= 0.5``;
* weights: the NEST network multiplies by :func:`weight_factor`
  ``1 / sqrt(k)``, the ground truth divides by ``sqrt(k)``
  (:func:`k_scaled_weight`); these can differ in the last bit.

Pure Python (``math``); imports nothing of lfpflow.
"""

from __future__ import annotations

import math


def scaled_size(size: int, scale: float, *, at_least_one: bool = False) -> int:
    """Number of neurons of a population of full size ``size`` at ``scale``.

    ``round(size * scale)``, rounded half to even (Python's and NumPy's
    ``round``, as the microcircuit's reference implementation).

    Parameters
    ----------
    size : int
        Full-size population (neurons).
    scale : float
        ``network.scale`` or ``groundtruth.scale``.
    at_least_one : bool
        Return at least 1 (the ground truth, which keeps every population);
        False (the NEST network, whose check refuses an empty population)
        returns 0 for ``size * scale <= 0.5``.

    Returns
    -------
    int
        Neurons.
    """
    n = int(round(size * scale))
    return max(1, n) if at_least_one else n


def scaled_in_degree(n: int, k_scale: float) -> int:
    """An in-degree counted per neuron (external inputs ``n_ext``) at ``k_scale``, rounded."""
    return int(round(n * k_scale))


def scaled_total(total: float, scale: float, k_scale: float) -> int:
    """A pathway's total number of synapses at ``scale`` and ``k_scale``, rounded once.

    ``round(total * scale * k_scale)``: the total follows the postsynaptic
    population (``scale``) and the in-degree (``k_scale``), as the
    microcircuit's reference implementation scales it.
    """
    return int(round(total * scale * k_scale))


def expected_in_degree(p: float, k_scale: float, n_pre: int) -> float:
    """Expected number of presynaptic partners ``p k N_pre`` (full-size ``N_pre``)."""
    return p * k_scale * n_pre


def scaled_probability(p: float, k_scale: float, n_pre: int, n_pre_scaled: int) -> float:
    """Connection probability that keeps ``k`` times the full in-degree in a smaller network.

    ``p k N_pre / N_pre'`` with ``N_pre`` the full and ``N_pre'`` the scaled
    presynaptic population; it may exceed 1 (the ground-truth check reports it).
    """
    return p * k_scale * n_pre / n_pre_scaled


def weight_factor(k_scale: float) -> float:
    """Factor ``1 / sqrt(k)`` on every weight (the NEST network multiplies by it)."""
    return 1.0 / math.sqrt(k_scale)


def k_scaled_weight(weight: float, k_scale: float) -> float:
    """``weight / sqrt(k)`` (the ground truth divides; see the module docstring)."""
    return weight / math.sqrt(k_scale)


def lost_input_fraction(k_scale: float) -> float:
    """Share ``1 - sqrt(k)`` of the mean input lost with in-degrees k K and weights w/sqrt(k)."""
    return 1.0 - math.sqrt(float(k_scale))
