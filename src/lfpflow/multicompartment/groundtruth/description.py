"""The ground truth's numbers without a simulator: scaling, draws, seeds, settings.

Everything :mod:`lfpflow.multicompartment.groundtruth` decides before NEURON
runs, as plain functions of the configuration (numpy and scipy only; no
NEURON or LFPy import, not even inside a function), so that the checks
(:mod:`lfpflow.multicompartment.checks`), the compensating currents
(:mod:`lfpflow.multicompartment.groundtruth.compensation`) and the tests use
the numbers the simulation uses:

* the downscaled description: population sizes and connection probabilities
  (:func:`scaled_network_probabilities`), in-degrees times ``k`` and weights
  over ``sqrt(k)`` (:func:`k_scaled_kernel_config`), the ``kernels:`` section
  of the downscaled network (:func:`groundtruth_kernel_config`);
* the random draws: multapses, delays (ms), synapse segments, and the seed
  of each random stream (:func:`derived_seed`);
* the linearisation state: the potential (mV) where a pathway's kernel puts
  its synapses (:func:`synapse_weighted_potential`);
* the run settings (:class:`RunSettings`, :class:`Recording`) and the
  network spikes a hybrid ground truth replays (:func:`network_replay`).

Units: time ms, lengths um, conductances uS, potentials mV, rates Hz.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lfpflow.config.scaling import scaled_in_degree, scaled_size
from lfpflow.config.scopes import pathway_key, split_pathway_key

if TYPE_CHECKING:
    from lfpflow.signals.spikes import NetworkSpikes

log = logging.getLogger(__name__)

#: Stream tag mixed into the master seed (ground-truth draws differ from NEST's).
_SEED_TAG = 6


# --------------------------------------------------------------------------
# the downscaled description
# --------------------------------------------------------------------------


def expected_in_degree(p: float, k_scale: float, n_pre: int) -> float:
    """Expected number of presynaptic partners ``p k N_pre`` (full-size ``N_pre``)."""
    return p * k_scale * n_pre


def scaled_probability(p: float, k_scale: float, n_pre: int, n_pre_scaled: int) -> float:
    """Connection probability that keeps ``k`` times the full in-degree in a smaller network.

    ``p k N_pre / N_pre'`` with ``N_pre`` the full and ``N_pre'`` the scaled
    presynaptic population; it may exceed 1 (the ground-truth check reports it).
    """
    return p * k_scale * n_pre / n_pre_scaled


def k_scaled_weight(weight: float, k_scale: float) -> float:
    """``weight / sqrt(k)``, the ground truth's weight at in-degree scaling ``k``.

    The NEST network multiplies by ``1 / sqrt(k)``
    (:func:`lfpflow.pointneuron.scaling.weight_factor`) instead; the two can
    differ in the last bit.
    """
    return weight / math.sqrt(k_scale)


def scaled_network_probabilities(
    kernel_config: Mapping[str, Any], scale: float, k_scale: float = 1.0
) -> dict[str, Any]:
    """Population sizes and connection probabilities of the downscaled network.

    Sizes are ``max(1, round(N_X * scale))``; each connection probability is
    set to ``p_YX * k * N_X / N_X'`` so that the expected number of
    presynaptic partners of a cell (its in-degree) is ``k`` times that of the
    full network, ``k p_YX N_X`` (``k = groundtruth.k_scale``; 1 keeps the
    in-degrees). Probabilities above 1 are returned as they are:
    :func:`lfpflow.multicompartment.checks.check_groundtruth` reports them
    (with the smallest usable scale) when the configuration is resolved.

    The sizes are :func:`lfpflow.config.scaling.scaled_size`, shared with the
    NEST network (:func:`lfpflow.pointneuron.scaling.scaled_network_totals`),
    which differs in two ways: it keeps total synapse counts, not
    probabilities, and its sizes have no minimum, while here every population
    keeps at least one cell (the sizes differ where ``N_X * scale <= 0.5``: 0
    there, 1 here).

    Parameters
    ----------
    kernel_config : Mapping
        The kernel description (:func:`lfpflow.config.kernel_description`),
        with ``populations[X].size`` and ``connection_probability``.
    scale : float
        Fraction of the full network (0 < scale <= 1).
    k_scale : float
        Fraction of the full in-degrees (0 < k_scale <= 1).

    Returns
    -------
    dict
        ``sizes`` (population -> int), ``connection_probability``
        (``"post:pre"`` -> float), ``in_degree`` (``"post:pre"`` -> expected
        number of presynaptic cells, float), ``k_scale``.
    """
    full = {name: int(pop["size"]) for name, pop in kernel_config["populations"].items()}
    sizes = {name: scaled_size(n, scale, at_least_one=True) for name, n in full.items()}
    probabilities: dict[str, float] = {}
    in_degree: dict[str, float] = {}
    for key, p in kernel_config["connection_probability"].items():
        pre = split_pathway_key(key)[1]
        probabilities[key] = scaled_probability(float(p), k_scale, full[pre], sizes[pre])
        in_degree[key] = expected_in_degree(float(p), k_scale, full[pre])
    return {
        "sizes": sizes,
        "connection_probability": probabilities,
        "in_degree": in_degree,
        "k_scale": float(k_scale),
    }


def k_scaled_kernel_config(kernel_config: Mapping[str, Any], k_scale: float) -> dict[str, Any]:
    """A copy of a ``kernels:`` section with in-degrees times ``k`` and weights over ``sqrt(k)``.

    Connection probabilities times ``k``; recurrent ``weights_uS`` and the
    external ``weight_uS`` divided by ``sqrt(k)``; external inputs per cell
    ``round(n_ext k)`` (:mod:`lfpflow.config.scaling`). ``k = 1`` returns an
    unchanged copy.

    Parameters
    ----------
    kernel_config : Mapping
        ``kernels:`` section (with ``external.n_ext``).
    k_scale : float
        ``groundtruth.k_scale`` (0 < k <= 1).

    Returns
    -------
    dict
        The scaled copy.
    """
    result = copy.deepcopy(dict(kernel_config))
    k = float(k_scale)
    if k == 1.0:
        return result
    result["connection_probability"] = {
        key: float(p) * k for key, p in kernel_config["connection_probability"].items()
    }
    result["weights_uS"] = {
        key: k_scaled_weight(float(w), k) for key, w in kernel_config["weights_uS"].items()
    }
    external = result["external"]
    external["weight_uS"] = k_scaled_weight(float(external["weight_uS"]), k)
    external["n_ext"] = {name: scaled_in_degree(n, k) for name, n in external["n_ext"].items()}
    return result


def groundtruth_kernel_config(
    kernel_config: Mapping[str, Any],
    scale: float,
    rates_Hz: Mapping[str, float] | None = None,
    *,
    g_eff: bool | None = None,
    vrest_mV: float | None = None,
    k_scale: float = 1.0,
) -> dict[str, Any]:
    """``kernels:`` section describing the downscaled network, for the kernels.

    For :func:`lfpflow.multicompartment.kernels.compute_kernel`.

    Parameters
    ----------
    kernel_config : Mapping
        Resolved ``kernels:`` section of the full network.
    scale : float
        ``groundtruth.scale``.
    rates_Hz : Mapping, optional
        Mean rates (Hz) of the presynaptic populations for ``g_eff``
        (measured in the ground-truth network); None keeps
        ``kernels.presynaptic_rates_Hz``.
    g_eff : bool, optional
        Override ``kernels.g_eff`` (None keeps it).
    vrest_mV : float, optional
        Potential (mV) the synapses are linearised around (``cell.Vrest_mV``,
        e.g. :func:`synapse_weighted_potential` of the MC network); None keeps
        ``kernels.cell.Vrest_mV``. The kernel cell is passive and linear, so
        its resting level (``e_pas``, ``v_init``, set to the same value) does
        not change the kernels; only the synaptic driving forces
        ``e_rev - vrest_mV`` do.
    k_scale : float
        ``groundtruth.k_scale``: in-degrees times ``k``, weights over
        ``sqrt(k)`` (:func:`k_scaled_kernel_config`).

    Returns
    -------
    dict
        A copy with scaled ``populations[*].size`` and
        ``connection_probability`` (see :func:`scaled_network_probabilities`) and, for
        ``k_scale < 1``, scaled weights and external inputs.
    """
    scaled = scaled_network_probabilities(kernel_config, scale, k_scale)
    result = k_scaled_kernel_config(kernel_config, k_scale)
    for name, size in scaled["sizes"].items():
        result["populations"][name]["size"] = size
    result["connection_probability"] = dict(scaled["connection_probability"])
    if rates_Hz is not None:
        result["presynaptic_rates_Hz"] = {k: float(v) for k, v in rates_Hz.items()}
    if g_eff is not None:
        result["g_eff"] = bool(g_eff)
    if vrest_mV is not None:
        result["cell"]["Vrest_mV"] = float(vrest_mV)
    return result


# --------------------------------------------------------------------------
# linearisation state
# --------------------------------------------------------------------------


def synapse_weighted_potential(
    kernel_config: Mapping[str, Any], mean_v: Mapping[str, Mapping[str, Any]], post: str, pre: str
) -> float:
    """Mean potential (mV) of population ``post`` where the kernel puts ``pre``'s synapses.

    The time- and population-averaged potential per segment of the MC
    network (``simulate_groundtruth(record_mean_v=True)["mean_v"]``),
    weighted over the segments like ``KernelApprox`` distributes the
    pathway's synapses on its one cell, placed with its soma at the
    population's mean depth: area times the depth density of
    ``kernels.synapse_positions["post:pre"]`` (absolute depth) with each sd
    widened by the soma-depth sd, on the allowed sections only. This is the
    linearisation point of that pathway's kernel with
    ``groundtruth.kernel_vrest: measured``.

    Parameters
    ----------
    kernel_config : Mapping
        ``kernels:`` section.
    mean_v : Mapping
        Population -> ``v_mV`` (segments, mV), ``z_rel_um`` (segment depth
        relative to the soma, um), ``area_um2``, ``section`` (names).
    post, pre : str
        Pathway.

    Returns
    -------
    float
        Potential (mV).
    """
    position = kernel_config["synapse_positions"][pathway_key(post, pre)]
    geometry = kernel_config["populations"][post]
    sd_z = float(geometry["soma_z_sd_um"])
    widened = dict(position, z_sd_um=[float(np.hypot(s, sd_z)) for s in position["z_sd_um"]])
    part = mean_v[post]
    allowed = np.isin(np.asarray(part["section"]), list(position["sections"]))
    # the kernel's cell has its soma at the mean depth; synapse depths are absolute
    z_um = np.asarray(part["z_rel_um"], float) + float(geometry["soma_z_mean_um"])
    p = segment_probabilities(np.asarray(part["area_um2"], float), z_um, allowed, widened)
    return float(p @ np.asarray(part["v_mV"], float))


def linearisation_potentials(
    kernel_config: Mapping[str, Any], mean_v: Mapping[str, Mapping[str, Any]]
) -> dict[str, float]:
    """``"post:pre"`` -> :func:`synapse_weighted_potential` (mV) for every pathway."""
    return {
        key: synapse_weighted_potential(kernel_config, mean_v, *split_pathway_key(key))
        for key in kernel_config["connection_probability"]
    }


# --------------------------------------------------------------------------
# seeds and random draws
# --------------------------------------------------------------------------


def derived_seed(seed: int, *stream: int) -> np.random.SeedSequence:
    """Seed sequence of one random stream of the ground truth."""
    return np.random.SeedSequence([int(seed), _SEED_TAG, *[int(s) for s in stream]])


def multapse_probabilities(multapse: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Synapses per connection 1..99 and their probabilities (truncated normal pdf).

    As LFPy's ``Network.connect`` and LFPykernels: the truncated normal of
    ``kernels.multapses[...]`` evaluated at 1, 2, ..., 99 and normalised.
    """
    from scipy.stats import truncnorm

    mean, sd = float(multapse["mean"]), float(multapse["sd"])
    a = (float(multapse["min"]) - mean) / sd
    b = (float(multapse["max"]) - mean) / sd
    values = np.arange(1, 100)
    pdf = truncnorm(a=a, b=b, loc=mean, scale=sd).pdf(values)
    return values, pdf / pdf.sum()


def draw_delays(delay: Mapping[str, float], size: int, rng: np.random.Generator) -> np.ndarray:
    """Delays (ms) from the normal of ``kernels.delays[...]`` truncated below at ``min_ms``."""
    from scipy.stats import truncnorm

    mean, sd, low = float(delay["mean_ms"]), float(delay["sd_ms"]), float(delay["min_ms"])
    return truncnorm(a=(low - mean) / sd, b=np.inf, loc=mean, scale=sd).rvs(
        size=size, random_state=rng
    )


def segment_probabilities(
    area_um2: np.ndarray,
    z_mid_um: np.ndarray,
    allowed: np.ndarray,
    position: Mapping[str, Any] | None,
) -> np.ndarray:
    """Probability that a synapse lands on each segment.

    Proportional to segment area, times ``sum_k w_k N(z; mu_k, sd_k)`` when
    ``position`` (a ``kernels.synapse_positions`` entry) is given, zero on
    segments not ``allowed`` (LFPy's
    ``get_rand_idx_area_and_distribution_norm``).
    """
    weight = np.where(allowed, np.asarray(area_um2, dtype=float), 0.0)
    if position is not None:
        from scipy.stats import norm

        density = np.zeros_like(weight)
        for mu, sd, w in zip(
            position["z_mean_um"], position["z_sd_um"], position["weights"], strict=True
        ):
            density += float(w) * norm(loc=float(mu), scale=float(sd)).pdf(z_mid_um)
        weight = weight * density
    total = weight.sum()
    if not total > 0:
        raise ValueError("no segment can receive these synapses (check synapse_positions)")
    return weight / total


# --------------------------------------------------------------------------
# run settings and replayed spikes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What the ground truth records besides spikes, LFP and CDM.

    The optional recordings of
    :func:`lfpflow.multicompartment.groundtruth.simulate_groundtruth`.

    Attributes
    ----------
    imem_cells : int
        Membrane currents (nA, segments x time) of the first this many cells
        (for tests; memory grows with it).
    somav_cells : int
        Somatic potential (mV, cells x time) of the first this many cells of
        each population.
    mean_v : bool
        Membrane potential (mV) per segment averaged over time after
        ``groundtruth.transient_ms`` and over the cells of each population.
    synapse_cells : int
        Summed current (nA) and conductance (uS) of the recurrent synapse
        objects on the first this many cells of each population, per pathway
        (conductance synapses only).
    """

    imem_cells: int = 0
    somav_cells: int = 0
    mean_v: bool = False
    synapse_cells: int = 0


@dataclass(frozen=True)
class RunSettings:
    """Numbers of one ground-truth run, read once from the configuration."""

    seed: int
    scale: float
    k_scale: float
    dt_ms: float
    tstop_ms: float
    n_steps: int
    #: first step of the time averages (``groundtruth.transient_ms``)
    first_average_step: int
    celsius_degC: float
    v_init_mV: float
    n_threads: int
    input_chunk_ms: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunSettings:
        """Settings of ``stage_config(config, "groundtruth")``."""
        gt = config["groundtruth"]
        dt = float(config["simulation"]["dt_ms"])
        return cls(
            seed=int(config["seed"]),
            scale=float(gt["scale"]),
            k_scale=float(gt["k_scale"]),
            dt_ms=dt,
            tstop_ms=float(gt["tstop_ms"]),
            n_steps=int(round(float(gt["tstop_ms"]) / dt)),
            first_average_step=int(round(float(gt["transient_ms"]) / dt)),
            celsius_degC=float(gt["soma"]["celsius_degC"]),
            v_init_mV=float(config["kernels"]["cell"]["Vrest_mV"]),
            n_threads=usable_threads(config),
            input_chunk_ms=float(gt["input_chunk_ms"]),
        )


def usable_threads(config: Mapping[str, Any]) -> int:
    """``groundtruth.n_threads``, or 1 where a delay is shorter than two time steps.

    NEURON refuses threads ("usable mindelay is 0") when the shortest delay
    is below two steps (measured at dt 0.125 ms: ``min_ms`` 0.2 fails, 0.25
    runs); results do not depend on the thread count, so one thread is used,
    with a warning (the Potjans & Diesmann delays reach one step).
    """
    n_threads = int(config["groundtruth"]["n_threads"])
    dt_ms = float(config["simulation"]["dt_ms"])
    min_delay_ms = min(float(d["min_ms"]) for d in config["kernels"]["delays"].values())
    if n_threads > 1 and min_delay_ms < 2 * dt_ms:
        log.warning(
            "groundtruth.n_threads %d -> 1: NEURON threads need delays >= 2 x dt (%g ms), "
            "the shortest kernels.delays min_ms is %g ms",
            n_threads,
            2 * dt_ms,
            min_delay_ms,
        )
        return 1
    return n_threads


def network_replay(
    spikes: NetworkSpikes, sizes: Mapping[str, int], *, t_start_ms: float, duration_ms: float
) -> dict[str, dict[str, np.ndarray]]:
    """The point-neuron network's spikes that the MC network replays (hybrid scheme).

    Neurons ``0 .. sizes[X] - 1`` of each population X (the network's
    neurons of a population are statistically equivalent), spikes in
    ``[t_start_ms, t_start_ms + duration_ms)``, times shifted by
    ``-t_start_ms`` so that the MC network starts with the network past its
    transient.

    Parameters
    ----------
    spikes : NetworkSpikes
        The network stage's spikes (times ms, senders index within the population).
    sizes : Mapping
        Population -> number of MC cells.
    t_start_ms, duration_ms : float
        First time replayed (ms, the network's transient) and length (ms,
        ``groundtruth.tstop_ms``).

    Returns
    -------
    dict
        Population -> ``times`` (ms, sorted) and ``senders`` (index within the
        population), as :func:`simulate_groundtruth`'s ``replay_spikes``.
    """
    replay = {}
    for name, size in sizes.items():
        available = int(spikes.population_sizes[name])
        if available < size:
            raise ValueError(
                f"population {name}: the network has {available} neurons, the ground truth "
                f"replays {size} (groundtruth.scale vs network.scale)"
            )
        times = np.asarray(spikes.times_ms[name], dtype=float) - float(t_start_ms)
        senders = np.asarray(spikes.senders[name], dtype=np.int64)
        keep = (senders < size) & (times >= 0.0) & (times < float(duration_ms))
        order = np.lexsort((senders[keep], times[keep]))
        replay[name] = {"times": times[keep][order], "senders": senders[keep][order]}
    return replay
