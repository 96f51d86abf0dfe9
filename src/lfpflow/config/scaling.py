"""Network downscaling arithmetic shared by the point-neuron network and the ground truth.

Two products downscale a network described at full size: the NEST network
(``network.scale``, ``network.k_scale``; :mod:`lfpflow.pointneuron.scaling`)
and the multicompartment ground truth (``groundtruth.scale``,
``groundtruth.k_scale``; :mod:`lfpflow.multicompartment.groundtruth`). Both
follow van Albada, Helias & Diesmann (2015, PLOS Comput Biol 11:e1004490):
``scale`` multiplies the neuron numbers, ``k`` the in-degrees (recurrent and
external), every weight is divided by ``sqrt(k)`` and the mean input lost,
``(1 - sqrt(k))`` times the full network's, is given back as a constant
current. What both use is here; what only one uses is in its module.

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


def weight_factor(k_scale: float) -> float:
    """Factor ``1 / sqrt(k)`` on every weight (the NEST network multiplies by it).

    The ground truth divides by ``sqrt(k)`` instead
    (:func:`lfpflow.multicompartment.groundtruth.description.k_scaled_weight`);
    the two can differ in the last bit.
    """
    return 1.0 / math.sqrt(k_scale)


def lost_input_fraction(k_scale: float) -> float:
    """Share ``1 - sqrt(k)`` of the mean input lost with in-degrees k K and weights w/sqrt(k)."""
    return 1.0 - math.sqrt(float(k_scale))
