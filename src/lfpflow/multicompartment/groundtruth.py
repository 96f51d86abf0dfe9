"""Ground truth: a downscaled multicompartment (MC) network simulated with NEURON/LFPy.

The kernel route (:mod:`lfpflow.multicompartment.kernels`,
:mod:`lfpflow.signals.forward`) approximates the extracellular signals of a
network of multicompartment cells by convolving population spike counts with
linearised, population-averaged kernels (Hagen et al. 2022, PLOS Comput Biol
18:e1010353). This module simulates that network itself, from the same
``kernels:`` description, so the approximation can be checked:

* cells: each population's morphology (``populations.<X>.cell``) in an
  ``LFPy.Network`` (``LFPy.NetworkCell``), passive membrane everywhere
  (``kernels.cell`` and the population's overrides), plus NEURON's built-in
  Hodgkin-Huxley ``hh`` in the soma (``groundtruth.soma``) so that the cells
  spike; somata uniform on a disc of the population's ``radius_um``, depths
  normal (its ``soma_z_mean_um``, ``soma_z_sd_um``); NEURON has one
  temperature, ``groundtruth.soma.celsius_degC``;
* recurrent synapses: ``Exp2Syn`` (or our ``CurrExp2Syn`` for
  ``synapse_type: current``) with the configured kinetics and weights;
  connections drawn pairwise with probability ``p_YX / scale`` (the expected
  in-degree of the full network is kept), no autapses; synapses per
  connection from the truncated normal of ``kernels.multapses`` (evaluated at
  1..99 like LFPy and LFPykernels), delays from the truncated normal of
  ``kernels.delays``, positions drawn per synapse with probability
  proportional to segment area times the depth density of
  ``kernels.synapse_positions``;
* external drive: ``kernels.external.n_ext[Y]`` independent Poisson trains of
  ``nu_Hz`` per cell onto ``Exp2Syn`` synapses placed uniformly by membrane
  area (as in the LFPykernels example networks);
* probes: the LFP at the contacts ``kernels.probes.lfp.z_um`` on the column
  axis (LFPy's ``RecExtElectrode``, line sources, ``sigma_S_per_m``), the
  current dipole moment (``CurrentDipoleMoment``), per postsynaptic
  population, every time step.

Implementation notes (measured here, see docs/groundtruth.md): LFPy's
``Network.simulate(probes=...)`` reads every segment's current in a Python
loop each time step, which dominated the cost. This module instead gathers
all ``i_membrane_`` values with one ``PtrVector.gather`` per step and maps
them with one matrix product per population. Synapses of one pathway on the
same segment share one synapse object (each connection keeps its own
``NetCon`` with its own weight and delay; ``Exp2Syn`` is linear in its input
events, so this is exact), and the external Poisson trains of one segment are
merged into one train of the summed rate (the superposition of independent
Poisson processes is Poisson), delivered with ``NetCon.event`` in chunks.
NEURON runs with ``groundtruth.n_threads`` threads (``ParallelContext.nthread``).

Units: time ms, lengths um, conductances uS, currents nA, potentials mV,
LFP mV, CDM nA*um, EEG uV, MEG fT.

This module, :mod:`lfpflow.multicompartment.cells` and
:mod:`lfpflow.multicompartment.kernels` are the only ones importing NEURON and
LFPy, inside functions.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.multicompartment.compensation import (
    compensating_currents_nA,
    k_scaled_kernel_config,
)
from lfpflow.signals.analysis import mean_rates_Hz
from lfpflow.signals.forward import write_signals
from lfpflow.signals.groundtruth import read_linearisation_potentials, uses_measured_linearisation
from lfpflow.signals.spikes import NetworkSpikes, read_spikes, write_spikes

log = logging.getLogger(__name__)

#: Stream tag mixed into the master seed (ground-truth draws differ from NEST's).
_SEED_TAG = 6


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def scaled_network(
    kernel_config: Mapping[str, Any], scale: float, k_scale: float = 1.0
) -> dict[str, Any]:
    """Population sizes and connection probabilities of the downscaled network.

    Sizes are ``max(1, round(N_X * scale))``; each connection probability is
    set to ``p_YX * k * N_X / N_X'`` so that the expected number of
    presynaptic partners of a cell (its in-degree) is ``k`` times that of the
    full network, ``k p_YX N_X`` (``k = groundtruth.k_scale``; 1 keeps the
    in-degrees). Probabilities above 1 are returned as they are:
    :func:`lfpflow.config.checks.check_groundtruth` reports them (with the
    smallest usable scale) when the configuration is resolved.

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
    sizes = {name: max(1, int(round(n * scale))) for name, n in full.items()}
    probabilities: dict[str, float] = {}
    in_degree: dict[str, float] = {}
    for key, p in kernel_config["connection_probability"].items():
        pre = key.split(":")[1]
        probabilities[key] = float(p) * k_scale * full[pre] / sizes[pre]
        in_degree[key] = float(p) * k_scale * full[pre]
    return {
        "sizes": sizes,
        "connection_probability": probabilities,
        "in_degree": in_degree,
        "k_scale": float(k_scale),
    }


def groundtruth_kernel_config(
    kernel_config: Mapping[str, Any],
    scale: float,
    rates_Hz: Mapping[str, float] | None = None,
    *,
    g_eff: bool | None = None,
    vrest_mV: float | None = None,
    k_scale: float = 1.0,
) -> dict[str, Any]:
    """``kernels:`` section describing the downscaled network, for :func:`compute_kernel`.

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
        ``sqrt(k)`` (:func:`lfpflow.multicompartment.compensation.k_scaled_kernel_config`).

    Returns
    -------
    dict
        A copy with scaled ``populations[*].size`` and
        ``connection_probability`` (see :func:`scaled_network`) and, for
        ``k_scale < 1``, scaled weights and external inputs.
    """
    scaled = scaled_network(kernel_config, scale, k_scale)
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
    position = kernel_config["synapse_positions"][f"{post}:{pre}"]
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
        key: synapse_weighted_potential(kernel_config, mean_v, *key.split(":"))
        for key in kernel_config["connection_probability"]
    }


def derived_seed(seed: int, *stream: int) -> np.random.SeedSequence:
    """Seed sequence of one random stream of the ground truth."""
    return np.random.SeedSequence([int(seed), _SEED_TAG, *[int(s) for s in stream]])


# --------------------------------------------------------------------------
# random draws (numpy only)
# --------------------------------------------------------------------------


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


def poisson_times(
    rate_Hz: float, t_start_ms: float, t_stop_ms: float, rng: np.random.Generator
) -> np.ndarray:
    """Sorted event times (ms) of a Poisson process of ``rate_Hz`` in [start, stop)."""
    count = rng.poisson(rate_Hz * (t_stop_ms - t_start_ms) / 1000.0)
    return np.sort(rng.uniform(t_start_ms, t_stop_ms, size=count))


# --------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What :func:`simulate_groundtruth` records besides spikes, LFP and CDM.

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
class _RunSettings:
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
    def from_config(cls, config: Mapping[str, Any]) -> _RunSettings:
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


@contextlib.contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall-clock seconds of the ``with`` block as ``timings[key]``."""
    started = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - started


@dataclass
class _Network:
    """A built MC network and the NEURON objects that must outlive the build steps."""

    h: Any
    pc: Any
    lfpy: Any  # the LFPy.Network
    sizes: dict[str, int]
    cells: dict[str, list[Any]]
    first_gid: dict[str, int]
    #: population -> section name of every segment of its (identical) cells
    section_names: dict[str, np.ndarray]
    keep: list[Any] = field(default_factory=list)  # synapses, NetCons (hoc frees unreferenced)
    #: (NetCon, source gid, delay ms) of every recurrent connection, for replay
    recurrent: list[tuple[Any, int, float]] = field(default_factory=list)
    #: pathway -> recurrent synapse objects on the first cells (Recording.synapse_cells)
    sampled_synapses: dict[str, list[Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"connections": {}, "synapses": {}, "synapse_objects": {}}
    )
    #: (NetCon, summed rate Hz) of every merged external Poisson train
    external: list[tuple[Any, float]] = field(default_factory=list)
    #: population -> compensating current per cell (nA, summed over its segments)
    compensation_nA: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Populations in creation order (sorted: YAML key order cannot change results)."""
        return sorted(self.sizes)


def _prepare_neuron(mechanisms_dir: Path) -> tuple[Any, Any]:
    """NEURON's ``h`` and ``ParallelContext`` with our mechanisms, emptied of earlier models."""
    from lfpflow.multicompartment.cells import define_cell_template, load_mechanisms

    load_mechanisms(Path(mechanisms_dir))
    define_cell_template()
    from neuron import h

    pc = h.ParallelContext()
    if int(pc.nhost()) != 1:
        raise RuntimeError("the ground truth runs in one process (NEURON threads), not under MPI")
    pc.nthread(1)
    pc.gid_clear()
    if any(True for _ in h.allsec()):
        # a previous network (or cell) in this process would be simulated too
        log.warning("deleting NEURON sections left in this process")
        h("forall delete_section()")
    return h, pc


def _build_network(
    kcfg: Mapping[str, Any],
    sizes: Mapping[str, int],
    run: _RunSettings,
    mechanisms_dir: Path,
    morphology_dir: Path,
) -> _Network:
    """Create the populations' cells (``LFPy.NetworkCell``) with placed somata in NEURON."""
    h, pc = _prepare_neuron(mechanisms_dir)
    import LFPy

    from lfpflow.multicompartment.cells import cell_parameters, loadable_cell_parameters

    dt_ms, tstop_ms, celsius_degC = run.dt_ms, run.tstop_ms, run.celsius_degC
    # LFPy draws soma positions and rotations from numpy's global generator
    np.random.seed(derived_seed(run.seed, 0).generate_state(1)[0])  # noqa: NPY002
    with tempfile.TemporaryDirectory(prefix="lfpflow_groundtruth_") as scratch:
        network = LFPy.Network(
            dt=dt_ms,
            tstart=0.0,
            tstop=tstop_ms,
            v_init=float(kcfg["cell"]["Vrest_mV"]),
            celsius=celsius_degC,
            OUTPUTPATH=scratch,
        )
        for name in sorted(sizes):
            cell_args = loadable_cell_parameters(
                cell_parameters(kcfg, name, morphology_dir, celsius_degC=celsius_degC)
            )
            cell_args.update(dt=dt_ms, tstart=0.0, tstop=tstop_ms, delete_sections=False)
            geometry = kcfg["populations"][name]
            network.create_population(
                name=name,
                POP_SIZE=sizes[name],
                Cell=LFPy.NetworkCell,
                cell_args=cell_args,
                pop_args={
                    "radius": float(geometry["radius_um"]),
                    "loc": float(geometry["soma_z_mean_um"]),
                    "scale": float(geometry["soma_z_sd_um"]),
                },
                rotation_args={"x": 0.0, "y": 0.0},
            )
    h.celsius = celsius_degC
    populations = network.populations
    return _Network(
        h=h,
        pc=pc,
        lfpy=network,
        sizes=dict(sizes),
        cells={name: populations[name].cells for name in sorted(sizes)},
        first_gid={name: populations[name].first_gid for name in sorted(sizes)},
        section_names={name: _section_names(populations[name].cells[0]) for name in sorted(sizes)},
    )


def _section_names(cell: Any) -> np.ndarray:
    """Section name (``soma``, ``dend``, ``apic``) of every segment of an LFPy cell."""
    return np.array(
        [
            sec.name().split(".")[-1].split("[")[0]
            for sec in cell.allseclist
            for _ in range(sec.nseg)
        ]
    )


def _set_up_somata(
    net: _Network, soma_cfg: Mapping[str, Any], *, active: bool, silent: bool
) -> None:
    """Insert ``hh`` in the somata (if ``active``) and set the spike detectors.

    ``silent`` (replay) puts the threshold out of reach so that the cells' own
    spikes never reach the network.
    """
    threshold = 1e9 if silent else float(soma_cfg["spike_threshold_mV"])
    for name in net.names:
        for cell in net.cells[name]:
            for sec in cell.somalist if active else ():
                sec.insert("hh")
                sec.gnabar_hh = float(soma_cfg["gnabar_S_per_cm2"])
                sec.gkbar_hh = float(soma_cfg["gkbar_S_per_cm2"])
                sec.gl_hh = float(soma_cfg["gl_S_per_cm2"])
                sec.el_hh = float(soma_cfg["el_mV"])
            for nc in cell._hoc_sd_netconlist:
                nc.threshold = threshold
                nc.delay = 1.0  # no target; a 0 delay would break NEURON threads' mindelay


def _connect(
    net: _Network,
    kcfg: Mapping[str, Any],
    probabilities: Mapping[str, float],
    rng: np.random.Generator,
    *,
    for_replay: bool,
    sampled_cells: int,
) -> None:
    """Recurrent connections of every pathway, then the external drive, from one ``rng``.

    The order of the draws (pathways post-major in sorted order, then the
    external synapses) fixes the network of a seed.
    """
    for post in net.names:
        for pre in net.names:
            _connect_pathway(
                net,
                kcfg,
                post,
                pre,
                probabilities[f"{post}:{pre}"],
                rng,
                for_replay=for_replay,
                sampled_cells=sampled_cells,
            )
    _connect_external(net, kcfg["external"], rng)


def _synapse_weight(kcfg: Mapping[str, Any], key: str, pre: str) -> float:
    """NetCon weight of pathway ``key``: uS (conductance) or nA (current synapses)."""
    weight_uS = float(kcfg["weights_uS"][key])
    if kcfg["synapse_type"] == "conductance":
        return weight_uS
    from lfpflow.multicompartment.kernels import current_synapse_weight_nA

    return current_synapse_weight_nA(
        weight_uS, float(kcfg["cell"]["Vrest_mV"]), float(kcfg["synapses"][pre]["e_rev_mV"])
    )


def _synapse_objects(
    h: Any, cell: Any, segments: np.ndarray, kinetics: Mapping[str, Any], conductance: bool
) -> dict[int, Any]:
    """One synapse object per segment index: the pathway's synapses on a segment share it.

    Exact: ``Exp2Syn``/``CurrExp2Syn`` are linear in their input events, and
    every connection keeps its own ``NetCon`` with its own weight and delay.
    """
    synapses = {}
    for seg_index in segments:
        sec, x = _segment(cell, int(seg_index))
        if conductance:
            syn = h.Exp2Syn(sec(x))
            syn.e = float(kinetics["e_rev_mV"])
        else:
            syn = h.CurrExp2Syn(sec(x))
        syn.tau1 = float(kinetics["tau1_ms"])
        syn.tau2 = float(kinetics["tau2_ms"])
        synapses[int(seg_index)] = syn
    return synapses


def _connect_pathway(
    net: _Network,
    kcfg: Mapping[str, Any],
    post: str,
    pre: str,
    probability: float,
    rng: np.random.Generator,
    *,
    for_replay: bool,
    sampled_cells: int,
) -> None:
    """Draw and create the connections ``pre`` -> ``post`` (no autapses).

    Per postsynaptic cell, in this order from ``rng``: partners (pairwise with
    ``probability``), synapses per connection (multapse distribution),
    segments (area times depth density) and delays (ms).
    """
    key = f"{post}:{pre}"
    conductance = kcfg["synapse_type"] == "conductance"
    weight = _synapse_weight(kcfg, key, pre)
    values, probs = multapse_probabilities(kcfg["multapses"][key])
    position = kcfg["synapse_positions"][key]
    allowed = np.isin(net.section_names[post], list(position["sections"]))
    n_conn = n_syn = n_obj = 0
    for j, cell in enumerate(net.cells[post]):
        partners = np.flatnonzero(rng.random(net.sizes[pre]) < probability)
        if pre == post:
            partners = partners[partners != j]
        if partners.size == 0:
            continue
        n_per = rng.choice(values, size=partners.size, p=probs)
        total = int(n_per.sum())
        seg_p = segment_probabilities(cell.area, cell.z.mean(axis=-1), allowed, position)
        segments = rng.choice(cell.totnsegs, size=total, p=seg_p)
        delays = draw_delays(kcfg["delays"][key], total, rng)
        sources = np.repeat(partners + net.first_gid[pre], n_per)
        synapses = _synapse_objects(
            net.h, cell, np.unique(segments), kcfg["synapses"][pre], conductance
        )
        net.keep.extend(synapses.values())
        for source, seg_index, delay in zip(sources, segments, delays, strict=True):
            nc = net.pc.gid_connect(int(source), synapses[int(seg_index)])
            nc.weight[0] = weight
            nc.delay = float(delay)
            net.keep.append(nc)
            if for_replay:
                net.recurrent.append((nc, int(source), float(delay)))
        if conductance and j < sampled_cells:
            net.sampled_synapses.setdefault(key, []).extend(synapses.values())
        n_conn += partners.size
        n_syn += total
        n_obj += len(synapses)
    net.counts["connections"][key] = n_conn
    net.counts["synapses"][key] = n_syn
    net.counts["synapse_objects"][key] = n_obj


def _connect_external(net: _Network, external: Mapping[str, Any], rng: np.random.Generator) -> None:
    """Place ``n_ext`` external synapses per cell uniformly by membrane area.

    The trains of one segment are merged into one ``Exp2Syn`` driven by one
    ``NetCon`` at the summed rate (the superposition of independent Poisson
    processes is Poisson); :class:`_PoissonDrive` delivers the events.
    """
    for name in net.names:
        n_ext = int(external["n_ext"].get(name, 0))
        if n_ext == 0 or float(external["nu_Hz"]) == 0:
            continue
        for cell in net.cells[name]:
            seg_p = segment_probabilities(
                cell.area, cell.z.mean(axis=-1), np.ones(cell.totnsegs, bool), None
            )
            segments = rng.choice(cell.totnsegs, size=n_ext, p=seg_p)
            for seg_index, count in zip(*np.unique(segments, return_counts=True), strict=True):
                sec, x = _segment(cell, int(seg_index))
                syn = net.h.Exp2Syn(sec(x))
                syn.e = float(external["e_rev_mV"])
                syn.tau1 = float(external["tau1_ms"])
                syn.tau2 = float(external["tau2_ms"])
                nc = net.h.NetCon(None, syn)
                nc.weight[0] = float(external["weight_uS"])
                # NetCon.event(t) delivers at t whatever the delay; a delay of 0
                # would only lower the threads' usable minimum delay
                nc.delay = 1.0
                net.keep.extend([syn, nc])
                net.external.append((nc, float(count) * float(external["nu_Hz"])))


def _compensate(net: _Network, kernel_config: Mapping[str, Any], k_scale: float) -> None:
    """Constant currents for the mean input that in-degrees scaled by ``k_scale`` lose.

    One ``ConstantCurrent`` per segment that receives any
    (:func:`lfpflow.multicompartment.compensation.compensating_currents_nA`,
    from the full network's ``kernel_config``); nothing for ``k_scale = 1``.
    """
    for post in net.names:
        net.compensation_nA[post] = 0.0
        if k_scale == 1.0:
            continue
        for cell in net.cells[post]:
            z_um = cell.z.mean(axis=-1)
            everywhere = np.ones(cell.totnsegs, bool)
            probabilities = {"external": segment_probabilities(cell.area, z_um, everywhere, None)}
            for pre in net.names:
                key = f"{post}:{pre}"
                if float(kernel_config["connection_probability"][key]) > 0:
                    position = kernel_config["synapse_positions"][key]
                    allowed = np.isin(net.section_names[post], list(position["sections"]))
                    probabilities[pre] = segment_probabilities(cell.area, z_um, allowed, position)
            currents = compensating_currents_nA(kernel_config, post, k_scale, probabilities)
            for seg_index in np.flatnonzero(currents):
                sec, x = _segment(cell, int(seg_index))
                source = net.h.ConstantCurrent(sec(x))
                source.amp = float(currents[seg_index])
                net.keep.append(source)
            net.compensation_nA[post] += float(currents.sum()) / net.sizes[post]


class _PoissonDrive:
    """External Poisson events, drawn and queued (``NetCon.event``) chunk by chunk.

    Drawing ``input_chunk_ms`` at a time keeps NEURON's event queue short
    without a Python call per event and time step.
    """

    def __init__(
        self,
        groups: list[tuple[Any, float]],
        rng: np.random.Generator,
        *,
        chunk_ms: float,
        tstop_ms: float,
    ) -> None:
        self.netcons = [nc for nc, _ in groups]
        self.rates_Hz = np.array([rate for _, rate in groups])
        self.rng = rng
        self.chunk_ms = chunk_ms
        self.tstop_ms = tstop_ms
        self.next_chunk_ms = 0.0

    def deliver(self, t_now_ms: float) -> None:
        """Queue the events of the next chunk once the simulation has reached its start."""
        if not self.netcons or t_now_ms < self.next_chunk_ms - 1e-9:
            return
        start = self.next_chunk_ms
        stop = min(start + self.chunk_ms, self.tstop_ms)
        n_events = self.rng.poisson(self.rates_Hz * (stop - start) / 1000.0)
        event_times = self.rng.uniform(start, stop, size=int(n_events.sum()))
        trains = np.split(event_times, np.cumsum(n_events)[:-1])
        for nc, times in zip(self.netcons, trains, strict=True):
            for t_event in np.sort(times).tolist():
                nc.event(t_event)
        self.next_chunk_ms = stop


class _MeanPotential:
    """Running time average of every segment's potential (mV) after the transient."""

    def __init__(self, net: _Network, seg_ranges: Mapping[str, tuple[int, int]], first_step: int):
        h = net.h
        n_total = max(b for _, b in seg_ranges.values())
        self.ptr = h.PtrVector(n_total)
        index = 0
        for name in net.names:
            for cell in net.cells[name]:
                for sec in cell.allseclist:
                    for seg in sec:
                        self.ptr.pset(index, seg._ref_v)
                        index += 1
        self.buffer = h.Vector(n_total)
        self.first_step = first_step
        self.sizes = net.sizes
        self.seg_ranges = seg_ranges
        self.v_sum = np.zeros(n_total)
        per_cell = {name: (b - a) // net.sizes[name] for name, (a, b) in seg_ranges.items()}
        self.pop_sq = {name: np.zeros(n) for name, n in per_cell.items()}
        self.pop_sum = {name: np.zeros(n) for name, n in per_cell.items()}

    def add(self, step: int) -> None:
        """Accumulate the potentials of this step (from ``first_step`` on)."""
        if step < self.first_step:
            return
        self.ptr.gather(self.buffer)
        v_now = self.buffer.as_numpy()
        self.v_sum += v_now
        for name, (a, b) in self.seg_ranges.items():
            per_cell = v_now[a:b].reshape(self.sizes[name], -1).mean(axis=0)
            self.pop_sum[name] += per_cell
            self.pop_sq[name] += per_cell**2

    def result(self, net: _Network, n_steps: int) -> dict[str, dict[str, Any]]:
        """Population -> ``v_mV``, ``v_sd_mV``, ``soma_v_mV`` (mV), ``z_rel_um``, ``area_um2``,
        ``section`` (see :func:`simulate_groundtruth`)."""
        n_v = n_steps - self.first_step
        out = {}
        for name, (a, b) in self.seg_ranges.items():
            per_cell = (self.v_sum[a:b] / n_v).reshape(self.sizes[name], -1)
            cell = net.cells[name][0]
            mean = self.pop_sum[name] / n_v
            out[name] = {
                "v_mV": per_cell.mean(axis=0),
                "v_sd_mV": np.sqrt(np.maximum(self.pop_sq[name] / n_v - mean**2, 0.0)),
                "soma_v_mV": per_cell[:, int(cell.get_idx("soma")[0])],
                "z_rel_um": cell.z.mean(axis=-1) - cell.somapos[2],
                "area_um2": np.asarray(cell.area, dtype=float),
                "section": net.section_names[name],
            }
        return out


class _Probes:
    """LFP and CDM of every population, read once per time step, and optional recordings.

    All ``i_membrane_`` values are gathered with one ``PtrVector.gather`` and
    mapped with one matrix product per population: LFPy's own probes read
    every segment in a Python loop each step, which dominated the cost.
    """

    def __init__(
        self,
        net: _Network,
        lfp: Mapping[str, Any],
        recording: Recording,
        run: _RunSettings,
    ) -> None:
        h, n_steps = net.h, run.n_steps
        self.z_um = np.asarray(lfp["z_um"], dtype=float)
        self.transforms, segments, self.cell_slices = _probe_transforms(
            net, self.z_um, float(lfp["sigma_S_per_m"])
        )
        self.seg_ranges = {}
        offset = 0
        for name in net.names:
            self.seg_ranges[name] = (offset, offset + self.transforms[name].shape[1])
            offset += self.transforms[name].shape[1]
        self.n_total = offset
        h.CVode().use_fast_imem(1)  # i_membrane_ exists only from here on
        self.ptr = h.PtrVector(self.n_total)
        for index, seg in enumerate(segments):
            self.ptr.pset(index, seg._ref_i_membrane_)
        self.buffer = h.Vector(self.n_total)
        self.starts = np.array([a for a, _ in self.cell_slices])
        self.output = {name: np.zeros((self.z_um.size + 3, n_steps)) for name in net.names}
        self.imem = [
            np.zeros((b - a, n_steps)) for a, b in self.cell_slices[: recording.imem_cells]
        ]
        self.somav = {
            name: [
                h.Vector().record(next(iter(cell.somalist))(0.5)._ref_v, run.dt_ms)
                for cell in net.cells[name][: recording.somav_cells]
            ]
            for name in net.names
        }
        self.mean_v = (
            _MeanPotential(net, self.seg_ranges, run.first_average_step)
            if recording.mean_v
            else None
        )
        self.synapses = {}  # pathway -> (PtrVector of i, of g), buffer, (2 x time) sums
        for key, objects in net.sampled_synapses.items():
            pair = (h.PtrVector(len(objects)), h.PtrVector(len(objects)))
            for k, syn in enumerate(objects):
                pair[0].pset(k, syn._ref_i)
                pair[1].pset(k, syn._ref_g)
            self.synapses[key] = (pair, h.Vector(len(objects)), np.zeros((2, n_steps)))
        #: largest |sum of a cell's membrane currents| / sum of their magnitudes so far
        self.worst = 0.0

    def sample(self, step: int) -> None:
        """Read the membrane currents (and the optional recordings) of this step."""
        self.ptr.gather(self.buffer)
        imem = self.buffer.as_numpy()
        for name, (a, b) in self.seg_ranges.items():
            self.output[name][:, step] = self.transforms[name] @ imem[a:b]
        # current conservation: per cell |sum of currents| / sum of |currents|
        sums = np.abs(np.add.reduceat(imem, self.starts))
        magnitudes = np.add.reduceat(np.abs(imem), self.starts)
        positive = magnitudes > 0
        if step > 0 and positive.any():
            # (at t = 0 NEURON's i_membrane_ holds the ionic currents only)
            self.worst = max(self.worst, float((sums[positive] / magnitudes[positive]).max()))
        for k, (a, b) in enumerate(self.cell_slices[: len(self.imem)]):
            self.imem[k][:, step] = imem[a:b]
        for (ptr_i, ptr_g), syn_buffer, series in self.synapses.values():
            ptr_i.gather(syn_buffer)
            series[0, step] = syn_buffer.sum()
            ptr_g.gather(syn_buffer)
            series[1, step] = syn_buffer.sum()
        if self.mean_v is not None:
            self.mean_v.add(step)

    def release(self) -> None:
        """Drop the hoc pointers before the sections they point into are deleted."""
        self.ptr = self.buffer = self.mean_v = None
        self.somav = {}
        self.synapses = {}


def _probe_transforms(
    net: _Network, z_um: np.ndarray, sigma_S_per_m: float
) -> tuple[dict[str, np.ndarray], list[Any], list[tuple[int, int]]]:
    """Per population: the (contacts + 3) x segments map of ``i_membrane_`` to LFP and CDM.

    Returns the maps (LFP in mV, line sources on the column axis, then CDM
    in nA*um, for all cells of the population side by side), every segment in
    the same order and each cell's slice of that order.
    """
    from lfpykit import CurrentDipoleMoment, RecExtElectrode

    transforms, segments, cell_slices = {}, [], []
    for name in net.names:
        blocks = []
        for cell in net.cells[name]:
            electrode = RecExtElectrode(
                cell,
                x=np.zeros_like(z_um),
                y=np.zeros_like(z_um),
                z=z_um,
                sigma=sigma_S_per_m,
                method="linesource",
            )
            blocks.append(
                np.vstack(
                    [
                        electrode.get_transformation_matrix(),
                        CurrentDipoleMoment(cell).get_transformation_matrix(),
                    ]
                )
            )
            cell_slices.append((len(segments), len(segments) + cell.totnsegs))
            segments.extend(seg for sec in cell.allseclist for seg in sec)
        transforms[name] = np.hstack(blocks)
    return transforms, segments, cell_slices


def _replay_events(
    net: _Network, replay_spikes: Mapping[str, Mapping[str, np.ndarray]], tstop_ms: float
) -> int:
    """Queue the recorded spikes on every recurrent connection after its delay.

    ``replay_spikes``: population -> ``times`` (ms), ``senders`` (index within
    the population). Call after ``finitialize``. Returns the number of events.
    """
    by_gid: dict[int, np.ndarray] = {}
    for name, data in replay_spikes.items():
        times_all = np.asarray(data["times"], dtype=float)
        gids_all = np.asarray(data["senders"], dtype=np.int64) + int(net.first_gid[name])
        order = np.argsort(gids_all, kind="stable")
        gids, first = np.unique(gids_all[order], return_index=True)
        for gid, chunk in zip(gids, np.split(times_all[order], first[1:]), strict=True):
            by_gid[int(gid)] = np.sort(chunk)
    n_events = 0
    for nc, source, delay in net.recurrent:
        for t_event in by_gid.get(source, np.zeros(0)) + delay:
            if t_event < tstop_ms:
                nc.event(float(t_event))
                n_events += 1
    return n_events


def _run(
    net: _Network,
    probes: _Probes,
    run: _RunSettings,
    replay_spikes: Mapping[str, Mapping[str, np.ndarray]] | None,
) -> tuple[int, dict[str, float]]:
    """Initialise and advance NEURON step by step (fixed ``dt_ms``), sampling every step.

    Returns the number of replayed events and the seconds spent on
    ``simulate_events`` (external drive), ``simulate_advance`` (NEURON) and
    ``simulate_probes``.
    """
    h, pc = net.h, net.pc
    pc.nthread(run.n_threads)
    h.CVode().active(0)
    h.CVode().use_fast_imem(1)
    pc.set_maxstep(10)
    h.dt = run.dt_ms
    h.finitialize(run.v_init_mV)
    h.fcurrent()
    n_replayed = 0
    if replay_spikes is not None:
        n_replayed = _replay_events(net, replay_spikes, run.tstop_ms)
    drive = _PoissonDrive(
        net.external,
        np.random.default_rng(derived_seed(run.seed, 2)),
        chunk_ms=run.input_chunk_ms,
        tstop_ms=run.tstop_ms,
    )
    spent = {"simulate_events": 0.0, "simulate_advance": 0.0, "simulate_probes": 0.0}
    clock = time.perf_counter
    for step in range(run.n_steps):
        tick = clock()
        drive.deliver(step * run.dt_ms)
        tock = clock()
        spent["simulate_events"] += tock - tick
        if step > 0:
            h.fadvance()
        tick = clock()
        spent["simulate_advance"] += tick - tock
        probes.sample(step)
        spent["simulate_probes"] += clock() - tick
    pc.nthread(1)
    return n_replayed, spent


def _collect_spikes(net: _Network, tstop_ms: float) -> dict[str, dict[str, np.ndarray]]:
    """Population -> ``times`` (ms) and ``senders`` (index within the population).

    Sorted by time, then neuron (the order of :class:`lfpflow.signals.spikes.NetworkSpikes`).
    """
    spikes = {}
    for name in net.names:
        population = net.lfpy.populations[name]
        times, senders = [], []
        for gid, vec in zip(population.gids, population._hoc_spike_vectors, strict=True):
            values = np.array(vec)
            values = values[values < tstop_ms]
            times.append(values)
            senders.append(np.full(values.size, gid - net.first_gid[name], dtype=np.int64))
        times_all = np.concatenate(times) if times else np.zeros(0)
        senders_all = np.concatenate(senders) if senders else np.zeros(0, np.int64)
        order = np.lexsort((senders_all, times_all))
        spikes[name] = {"times": times_all[order], "senders": senders_all[order]}
    return spikes


def _network_summary(
    net: _Network, scaled: Mapping[str, Any], probes: _Probes, run: _RunSettings, **more: Any
) -> dict[str, Any]:
    """The ``network`` entry of :func:`simulate_groundtruth`'s result (``more`` appended)."""
    return {
        "scale": run.scale,
        "k_scale": run.k_scale,
        "compensating_current_nA": net.compensation_nA,
        "sizes": net.sizes,
        "first_gid": net.first_gid,
        "connection_probability": scaled["connection_probability"],
        "in_degree": scaled["in_degree"],
        "n_connections": net.counts["connections"],
        "n_synapses": net.counts["synapses"],
        "n_synapse_objects": net.counts["synapse_objects"],
        "n_external_trains": len(net.external),
        "n_segments": probes.n_total,
        "n_threads": run.n_threads,
        "mpi_ranks": int(net.pc.nhost()),
        "soma_positions_um": {
            name: np.array([[c.somapos[0], c.somapos[1], c.somapos[2]] for c in net.cells[name]])
            for name in net.names
        },
        "tstop_ms": run.tstop_ms,
        "dt_ms": run.dt_ms,
        "celsius_degC": run.celsius_degC,
        **more,
    }


def _signals_and_recordings(
    net: _Network, probes: _Probes, recording: Recording, n_steps: int
) -> dict[str, Any]:
    """LFP, CDM, their per-population contributions and the optional recordings."""
    n_lfp = probes.z_um.size
    contributions = {
        name: {"LFP": out[:n_lfp], "CDM": out[n_lfp:]} for name, out in probes.output.items()
    }
    result = {
        "LFP": sum(part["LFP"] for part in contributions.values()),
        "CDM": sum(part["CDM"] for part in contributions.values()),
        "contributions": contributions,
        "z_um": probes.z_um,
    }
    if recording.imem_cells:
        result["imem"] = probes.imem
    if probes.synapses:
        result["synapse_currents"] = {
            key: {"i_nA": series[0], "g_uS": series[1], "n_objects": len(net.sampled_synapses[key])}
            for key, (_, _, series) in probes.synapses.items()
        }
    if probes.mean_v is not None:
        result["mean_v"] = probes.mean_v.result(net, n_steps)
    if recording.somav_cells:
        result["somav"] = {
            name: np.array([np.array(v)[:n_steps] for v in vectors])
            for name, vectors in probes.somav.items()
        }
    return result


def _release(net: _Network, probes: _Probes) -> None:
    """Free the network's NEURON objects so that a next model in this process starts empty."""
    probes.release()
    net.keep.clear()
    net.external.clear()
    net.recurrent.clear()
    net.sampled_synapses.clear()
    net.pc.gid_clear()
    for cells in net.cells.values():
        for cell in cells:
            cell.strip_hoc_objects()
    net.cells.clear()
    net.lfpy = None
    net.h("forall delete_section()")


def simulate_groundtruth(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path,
    record_imem_cells: int = 0,
    record_somav_cells: int = 0,
    record_mean_v: bool = False,
    active_soma: bool = True,
    replay_spikes: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    record_synapse_cells: int = 0,
) -> dict[str, Any]:
    """Build and simulate the downscaled MC network; record spikes, LFP and CDM.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")``.
    mechanisms_dir, morphology_dir : Path
        Compiled NMODL mechanisms; folder of the ``kernels.populations`` morphologies.
    record_imem_cells, record_somav_cells, record_mean_v, record_synapse_cells
        Optional recordings, see :class:`Recording`.
    active_soma : bool
        Insert ``hh`` in the somata (False: every membrane passive, no own spikes).
    replay_spikes : Mapping, optional
        Population -> ``times`` (ms), ``senders`` (index within the population),
        e.g. the ``spikes`` of an earlier run with the same configuration and
        seed. The cells' own spikes then reach no synapse; every recurrent
        connection delivers the recorded spikes of its presynaptic cell after
        its delay (with ``active_soma=False``: a linear ground truth).

    Returns
    -------
    dict
        ``t_ms`` (k*dt, ms), ``LFP`` (contacts x time, mV), ``CDM`` (3 x time,
        nA*um), ``contributions`` (population -> ``LFP``, ``CDM``), ``z_um``,
        ``spikes`` (population -> ``times`` ms, ``senders`` index within the
        population), ``network`` (sizes, probabilities, counts, threads, soma
        positions, ``replayed_events``, ...), ``timings_s`` (s),
        ``max_relative_current_sum`` (largest |sum of a cell's membrane
        currents| / sum of their magnitudes after t = 0) and the recordings
        asked for: ``imem`` (nA), ``somav`` (mV), ``synapse_currents``
        (pathway -> ``i_nA``, ``g_uS``), ``mean_v`` (:meth:`_MeanPotential.result`).
    """
    rec = Recording(record_imem_cells, record_somav_cells, record_mean_v, record_synapse_cells)
    run = _RunSettings.from_config(config)
    kcfg = config["kernels"]
    scaled = scaled_network(kcfg, run.scale, run.k_scale)
    built = groundtruth_kernel_config(kcfg, run.scale, k_scale=run.k_scale)  # k-scaled weights
    timings: dict[str, float] = {}
    with _timed(timings, "build"):
        net = _build_network(kcfg, scaled["sizes"], run, mechanisms_dir, morphology_dir)
        _set_up_somata(
            net, config["groundtruth"]["soma"], active=active_soma, silent=bool(replay_spikes)
        )
    with _timed(timings, "connect"):
        _connect(
            net,
            built,
            scaled["connection_probability"],
            np.random.default_rng(derived_seed(run.seed, 1)),
            for_replay=replay_spikes is not None,
            sampled_cells=rec.synapse_cells,
        )
        _compensate(net, kcfg, run.k_scale)
    with _timed(timings, "probes"):
        probes = _Probes(net, kcfg["probes"]["lfp"], rec, run)
    with _timed(timings, "simulate"):
        n_replayed, spent = _run(net, probes, run, replay_spikes)
    timings.update(spent)
    result = {
        "t_ms": np.arange(run.n_steps) * run.dt_ms,
        **_signals_and_recordings(net, probes, rec, run.n_steps),
        "spikes": _collect_spikes(net, run.tstop_ms),
        "network": _network_summary(
            net, scaled, probes, run, active_soma=bool(active_soma), replayed_events=n_replayed
        ),
        "timings_s": timings,
        "max_relative_current_sum": probes.worst,
    }
    _release(net, probes)
    return result


def network_spikes(result: Mapping[str, Any]) -> NetworkSpikes:
    """The spikes of a :func:`simulate_groundtruth` result as :class:`NetworkSpikes`.

    ``n_vp`` is the number of NEURON threads times MPI ranks (the analogue of
    NEST's virtual processes).
    """
    network = result["network"]
    return NetworkSpikes(
        times_ms={name: data["times"] for name, data in result["spikes"].items()},
        senders={name: data["senders"] for name, data in result["spikes"].items()},
        population_sizes=dict(network["sizes"]),
        tstop_ms=float(network["tstop_ms"]),
        dt_ms=float(network["dt_ms"]),
        n_vp=int(network["n_threads"]) * int(network["mpi_ranks"]),
        timings_s=dict(result["timings_s"]),
    )


def _segment(cell: Any, index: int) -> tuple[Any, float]:
    """Section and position ``x`` of segment ``index`` of an LFPy cell."""
    count = 0
    for sec in cell.allseclist:
        if index < count + sec.nseg:
            return sec, (index - count + 0.5) / sec.nseg
        count += sec.nseg
    raise IndexError(f"segment {index} out of range ({count} segments)")


# --------------------------------------------------------------------------
# derived quantities and files
# --------------------------------------------------------------------------


def head_signals(cdm: np.ndarray, forward_config: Mapping[str, Any]) -> dict[str, Any]:
    """EEG (uV) and, if enabled, MEG (fT) of a column CDM, as lfpflow.signals.forward does.

    Returns
    -------
    dict
        :func:`lfpflow.signals.head_models.sensor_signals`: ``EEG``,
        ``electrodes_um``, ``head_attrs`` and, with the MEG on, ``MEG`` and
        ``meg_sensors_um``.
    """
    from lfpflow.signals.head_models import sensor_signals

    return sensor_signals(cdm, forward_config["head_model"], forward_config.get("meg"))


def network_attrs(network: Mapping[str, Any]) -> dict[str, Any]:
    """Root attributes describing the simulated MC network."""
    return {
        "scale": network["scale"],
        "k_scale": network["k_scale"],
        "compensating_current_nA": dict(network["compensating_current_nA"]),
        "population_sizes": dict(network["sizes"]),
        "connection_probability": dict(network["connection_probability"]),
        "in_degree": dict(network["in_degree"]),
        "n_connections": dict(network["n_connections"]),
        "n_synapses": dict(network["n_synapses"]),
        "n_threads": int(network["n_threads"]),
        "mpi_ranks": int(network["mpi_ranks"]),
        "tstop_ms": float(network["tstop_ms"]),
        "dt_ms": float(network["dt_ms"]),
        "soma_hh_celsius_degC": float(network["celsius_degC"]),
    }


def groundtruth_signals(
    result: Mapping[str, Any], forward_config: Mapping[str, Any]
) -> dict[str, Any]:
    """The signals of a :func:`simulate_groundtruth` result for :func:`write_signals`.

    Parameters
    ----------
    result : Mapping
        ``t_ms`` (ms), ``LFP`` (mV), ``CDM`` (nA*um) and ``contributions``
        (population -> ``LFP``, ``CDM``).
    forward_config : Mapping
        ``forward:`` section (head model, MEG).

    Returns
    -------
    dict
        ``t_ms``, ``LFP``, ``CDM``, ``EEG`` (uV), ``MEG`` (fT, if enabled),
        ``electrodes_um``, ``meg_sensors_um`` and ``contributions`` (population
        -> ``LFP``, ``CDM``, ``EEG``, ``MEG``), see :func:`head_signals`.
    """
    signals = {"t_ms": result["t_ms"], "LFP": result["LFP"], "CDM": result["CDM"]}
    signals.update(head_signals(result["CDM"], forward_config))
    signals["contributions"] = {}
    for name, part in result["contributions"].items():
        head = head_signals(part["CDM"], forward_config)
        signals["contributions"][name] = {
            **part,
            **{k: v for k, v in head.items() if k in ("EEG", "MEG")},
        }
    return signals


def groundtruth_attrs(
    result: Mapping[str, Any], kernel_config: Mapping[str, Any]
) -> dict[str, Any]:
    """Root attributes of ``groundtruth/signals.h5`` for a :func:`simulate_groundtruth` result.

    Parameters
    ----------
    result : Mapping
        A result recorded with ``record_mean_v=True``.
    kernel_config : Mapping
        ``kernels:`` section (synapse positions, for :func:`linearisation_potentials`).

    Returns
    -------
    dict
        :func:`network_attrs`, ``timing_<phase>_s`` (s), ``max_relative_current_sum``,
        the time-averaged (after the transient) potentials (mV): ``mean_soma_potential_mV``
        per population and ``linearisation_potential_mV`` per pathway, where the
        kernel puts its synapses (``groundtruth.kernel_vrest``).
    """
    attrs = network_attrs(result["network"])
    attrs.update(
        {f"timing_{k}_s": v for k, v in result["timings_s"].items()},
        max_relative_current_sum=result["max_relative_current_sum"],
        mean_soma_potential_mV={
            name: float(part["soma_v_mV"].mean()) for name, part in result["mean_v"].items()
        },
        linearisation_potential_mV=linearisation_potentials(kernel_config, result["mean_v"]),
    )
    return attrs


def _simulate_driven(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path,
    network_spikes_path: str | Path | None,
) -> dict[str, Any]:
    """:func:`simulate_groundtruth` driven as ``groundtruth.presynaptic_spikes`` says.

    ``own``: the active network (hh somata). ``network``: passive cells
    replaying :func:`network_replay` of the network's spikes, which become the
    result's ``spikes`` (the spikes that drove the synapses; the cells' own
    are none).
    """
    common = {"mechanisms_dir": mechanisms_dir, "morphology_dir": morphology_dir}
    gt = config["groundtruth"]
    if gt["presynaptic_spikes"] == "own":
        return simulate_groundtruth(config, record_mean_v=True, **common)
    if network_spikes_path is None:
        raise ValueError("groundtruth.presynaptic_spikes: network needs the network's spikes")
    replay = network_replay(
        read_spikes(network_spikes_path),
        scaled_network(config["kernels"], gt["scale"])["sizes"],
        t_start_ms=float(config["simulation"]["transient_ms"]),
        duration_ms=float(gt["tstop_ms"]),
    )
    result = simulate_groundtruth(
        config, record_mean_v=True, active_soma=False, replay_spikes=replay, **common
    )
    result["spikes"] = replay
    return result


def simulate_groundtruth_to_files(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path,
    spikes_path: str | Path,
    signals_path: str | Path,
    network_spikes_path: str | Path | None = None,
) -> dict[str, Any]:
    """Simulate the MC network; write ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5``.

    ``spikes.h5`` has the :func:`lfpflow.signals.spikes.write_spikes` layout
    (senders are indices within the population); ``signals.h5`` the
    :func:`lfpflow.signals.forward.write_signals` layout (LFP mV, CDM nA*um,
    EEG uV, MEG fT; ``contributions/<post>`` per postsynaptic population) with
    :func:`groundtruth_attrs` as root attributes.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")``.
    mechanisms_dir, morphology_dir : Path
        Compiled NMODL mechanisms; folder of the morphologies.
    spikes_path, signals_path : path-like
        Output files.
    network_spikes_path : path-like, optional
        The network stage's ``spikes.h5``, replayed with
        ``groundtruth.presynaptic_spikes: network`` (:func:`network_replay`);
        ``spikes.h5`` then holds the replayed spikes, the ones the kernels
        predict from.

    Returns
    -------
    dict
        ``network`` (the result's description), ``timings_s`` (s),
        ``max_relative_current_sum``, ``n_spikes`` (population -> count),
        ``cost_core_s`` (simulate phase: core-seconds per cell per simulated
        second) and ``attrs`` (the root attributes of ``signals.h5``).
    """
    result = _simulate_driven(
        config,
        mechanisms_dir=mechanisms_dir,
        morphology_dir=morphology_dir,
        network_spikes_path=network_spikes_path,
    )
    attrs = groundtruth_attrs(result, config["kernels"])
    attrs.update(
        presynaptic_spikes=config["groundtruth"]["presynaptic_spikes"],
        replayed_events=int(result["network"]["replayed_events"]),
    )
    write_spikes(spikes_path, network_spikes(result), config=config)
    write_signals(
        signals_path,
        groundtruth_signals(result, config["forward"]),
        config=config,
        z_um=result["z_um"],
        attrs=attrs,
    )
    net = result["network"]
    cells = sum(net["sizes"].values())
    return {
        "network": net,
        "timings_s": result["timings_s"],
        "cost_core_s": result["timings_s"]["simulate"]
        * net["n_threads"]
        / cells
        / (net["tstop_ms"] / 1000.0),
        "max_relative_current_sum": result["max_relative_current_sum"],
        "n_spikes": {name: int(data["times"].size) for name, data in result["spikes"].items()},
        "attrs": attrs,
    }


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


def pathway_kernel_config(
    config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    spikes_path: str | Path,
    truth_path: str | Path,
) -> dict[str, Any]:
    """``kernels:`` section of pathway ``post:pre`` of the downscaled MC network.

    :func:`groundtruth_kernel_config` with, for ``groundtruth.g_eff_rates:
    measured``, the MC network's mean rates (Hz, between
    ``groundtruth.transient_ms`` and ``tstop_ms``) for ``g_eff``, and for
    ``groundtruth.kernel_vrest: measured``, the MC network's time-averaged
    potential (mV) where the pathway's synapses are as linearisation point.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")``.
    post, pre : str
        Pathway.
    spikes_path, truth_path : path-like
        ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5`` (root attribute
        ``linearisation_potential_mV``); read only when needed.

    Returns
    -------
    dict
        The ``kernels:`` section for :func:`lfpflow.multicompartment.kernels.compute_kernel`.
    """
    gt = config["groundtruth"]
    rates = None
    if gt["g_eff_rates"] == "measured":
        rates = mean_rates_Hz(
            read_spikes(spikes_path), t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"]
        )
    vrest = None
    if uses_measured_linearisation(config):
        vrest = read_linearisation_potentials(truth_path)[f"{post}:{pre}"]
    return groundtruth_kernel_config(
        config["kernels"], gt["scale"], rates, vrest_mV=vrest, k_scale=gt["k_scale"]
    )


def compute_groundtruth_kernel(
    config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    spikes_path: str | Path,
    truth_path: str | Path,
    mechanisms_dir: Path,
    morphology_dir: Path,
    output_path: str | Path,
) -> dict[str, Any]:
    """Kernel of pathway ``post:pre`` of the downscaled MC network; writes its kernel file.

    The kernel (:func:`lfpflow.multicompartment.kernels.compute_kernel`, LFP mV,
    CDM nA*um per spike, lags ms) of :func:`pathway_kernel_config`, written by
    :func:`lfpflow.signals.kernel_files.write_kernel` with that ``kernels:``
    section in its configuration.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")`` (``simulation.dt_ms``).
    post, pre : str
        Pathway.
    spikes_path, truth_path : path-like
        ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5``.
    mechanisms_dir, morphology_dir : Path
        Compiled NMODL mechanisms; folder of the morphologies.
    output_path : path-like
        ``groundtruth/kernels/<post>_<pre>.h5``.

    Returns
    -------
    dict
        The ``kernels:`` section used (``presynaptic_rates_Hz`` in Hz,
        ``cell.Vrest_mV`` in mV).
    """
    from lfpflow.multicompartment.kernels import compute_kernel
    from lfpflow.signals.kernel_files import write_kernel

    kernel_config = pathway_kernel_config(
        config, post=post, pre=pre, spikes_path=spikes_path, truth_path=truth_path
    )
    kernel = compute_kernel(
        kernel_config,
        post=post,
        pre=pre,
        dt_ms=config["simulation"]["dt_ms"],
        mechanisms_dir=mechanisms_dir,
        morphology_dir=morphology_dir,
    )
    write_kernel(
        output_path, kernel, config=dict(config, kernels=kernel_config), post=post, pre=pre
    )
    return kernel_config


def safe_fraction(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0."""
    return float(numerator / denominator) if denominator else math.nan
