"""Ground truth: a downscaled multicompartment (MC) network simulated with NEURON/LFPy.

The kernel route (:mod:`lfpflow.multicompartment.kernels`, :mod:`lfpflow.signals.forward`) approximates
the extracellular signals of a network of multicompartment cells by
convolving population spike counts with linearised, population-averaged
kernels (Hagen et al. 2022, PLOS Comput Biol 18:e1010353). This module
simulates that network itself, from the same ``kernels:`` description, so the
approximation can be checked:

* cells: the ball-and-sticks morphologies of ``kernels.populations`` in an
  ``LFPy.Network`` (``LFPy.NetworkCell``), passive membrane everywhere
  (``kernels.cell``), plus NEURON's built-in Hodgkin-Huxley ``hh`` in the soma
  (``groundtruth.soma``) so that the cells spike; somata uniform on a disc of
  radius ``population_geometry.radius_um``, depths normal
  (``soma_z_mean_um``, ``soma_z_sd_um``);
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

This module and :mod:`lfpflow.multicompartment.kernels` are the only ones importing NEURON and
LFPy, inside functions.
"""

from __future__ import annotations

import copy
import logging
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io
from lfpflow.config import ConfigError

log = logging.getLogger(__name__)

#: Configuration the ground-truth outputs depend on (Snakemake params).
GROUNDTRUTH_SCOPE = ("seed", "simulation.dt_ms", "kernels", "groundtruth", "forward")

#: Units of the signals written by :func:`write_signals_file`.
SIGNAL_UNITS = {"LFP": "mV", "CDM": "nA*um", "EEG": "uV", "MEG": "fT"}

#: Stream tag mixed into the master seed (ground-truth draws differ from NEST's).
_SEED_TAG = 6


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def scaled_network(kernel_config: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """Population sizes and connection probabilities of the downscaled network.

    Sizes are ``max(1, round(N_X * scale))``; each connection probability is
    raised to ``p_YX * N_X / N_X'`` so that the expected number of
    presynaptic partners of a cell (its in-degree ``p_YX N_X``) is that of
    the full network.

    Parameters
    ----------
    kernel_config : Mapping
        Resolved ``kernels:`` section.
    scale : float
        Fraction of the full network (0 < scale <= 1).

    Returns
    -------
    dict
        ``sizes`` (population -> int), ``connection_probability``
        (``"post:pre"`` -> float), ``in_degree`` (``"post:pre"`` -> expected
        number of presynaptic cells, float).

    Raises
    ------
    ConfigError
        If a scaled probability exceeds 1 (message names ``groundtruth.scale``
        and the smallest allowed scale).
    """
    if not 0 < scale <= 1:
        raise ConfigError(f"config key 'groundtruth.scale': {scale} must be in (0, 1]")
    full = {name: int(pop["size"]) for name, pop in kernel_config["populations"].items()}
    sizes = {name: max(1, int(round(n * scale))) for name, n in full.items()}
    probabilities: dict[str, float] = {}
    in_degree: dict[str, float] = {}
    problems = []
    for key, p in kernel_config["connection_probability"].items():
        pre = key.split(":")[1]
        p_scaled = float(p) * full[pre] / sizes[pre]
        in_degree[key] = float(p) * full[pre]
        if p_scaled > 1:
            smallest = math.ceil(float(p) * full[pre]) / full[pre]
            problems.append(
                f"config key 'groundtruth.scale': {scale} makes the connection probability of "
                f"pathway {key} {p_scaled:.3g} > 1 (in-degree {in_degree[key]:.1f} from "
                f"{sizes[pre]} cells); use scale >= {smallest:.4g}"
            )
        probabilities[key] = p_scaled
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return {"sizes": sizes, "connection_probability": probabilities, "in_degree": in_degree}


def check_groundtruth_config(config: Mapping[str, Any]) -> None:
    """Consistency checks of ``groundtruth`` a schema cannot express.

    Called at the start of every ground-truth rule, before any simulator is
    loaded.

    Parameters
    ----------
    config : Mapping
        Resolved configuration (or its ground-truth scope, see
        :data:`GROUNDTRUTH_SCOPE`).

    Raises
    ------
    ConfigError
        Naming every offending key.
    """
    gt = config["groundtruth"]
    dt = float(config["simulation"]["dt_ms"])
    problems = []
    if not gt["transient_ms"] < gt["tstop_ms"]:
        problems.append(
            f"config key 'groundtruth.transient_ms': {gt['transient_ms']} must be smaller than "
            f"groundtruth.tstop_ms ({gt['tstop_ms']})"
        )
    steps = gt["tstop_ms"] / dt
    if abs(steps - round(steps)) > 1e-9:
        problems.append(
            f"config key 'groundtruth.tstop_ms': {gt['tstop_ms']} must be a whole number of "
            f"simulation.dt_ms ({dt})"
        )
    nyquist = 500.0 / dt
    if not gt["filter"]["cutoff_Hz"] < nyquist:
        problems.append(
            f"config key 'groundtruth.filter.cutoff_Hz': {gt['filter']['cutoff_Hz']} must be "
            f"below the Nyquist frequency {nyquist} Hz of simulation.dt_ms"
        )
    min_delay = min(float(d["min_ms"]) for d in config["kernels"]["delays"].values())
    if min_delay < dt:
        problems.append(
            f"config key 'kernels.delays': the ground truth needs every min_ms >= "
            f"simulation.dt_ms ({dt}), got {min_delay}"
        )
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    scaled_network(config["kernels"], float(gt["scale"]))


def groundtruth_kernel_config(
    kernel_config: Mapping[str, Any],
    scale: float,
    rates_Hz: Mapping[str, float] | None = None,
    *,
    g_eff: bool | None = None,
    vrest_mV: float | None = None,
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

    Returns
    -------
    dict
        A copy with scaled ``populations[*].size`` and
        ``connection_probability`` (see :func:`scaled_network`).
    """
    scaled = scaled_network(kernel_config, scale)
    result = copy.deepcopy(dict(kernel_config))
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
    pathway's synapses on its one cell: area times the depth density of
    ``kernels.synapse_positions["post:pre"]`` (relative to the soma) with each
    sd widened by the soma-depth sd, on the allowed sections only. This is the
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
    sd_z = float(kernel_config["population_geometry"]["soma_z_sd_um"])
    widened = dict(position, z_sd_um=[float(np.hypot(s, sd_z)) for s in position["z_sd_um"]])
    part = mean_v[post]
    allowed = np.isin(np.asarray(part["section"]), list(position["sections"]))
    p = segment_probabilities(
        np.asarray(part["area_um2"], float), np.asarray(part["z_rel_um"], float), allowed, widened
    )
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


def _load_neuron(mechanisms_dir: Path) -> Any:
    from lfpflow.multicompartment.cells import define_cell_template, load_mechanisms

    load_mechanisms(Path(mechanisms_dir))
    define_cell_template()
    import neuron

    return neuron


def _cell_arguments(
    kernel_config: Mapping[str, Any],
    name: str,
    morphology_dir: Path,
    dt_ms: float,
    tstop_ms: float,
    celsius: float,
) -> dict[str, Any]:
    from lfpflow.multicompartment.cells import CELL_TEMPLATE_NAME

    cell = kernel_config["cell"]
    return {
        "morphology": str(Path(morphology_dir) / kernel_config["populations"][name]["morphology"]),
        "templatefile": None,
        "templatename": CELL_TEMPLATE_NAME,
        "templateargs": None,
        "v_init": float(cell["Vrest_mV"]),
        "Ra": float(cell["Ra_ohm_cm"]),
        "cm": float(cell["cm_uF_per_cm2"]),
        "passive": True,
        "passive_parameters": {
            "g_pas": float(cell["g_pas_S_per_cm2"]),
            "e_pas": float(cell["Vrest_mV"]),
        },
        "celsius": celsius,
        "nsegs_method": "lambda100",
        "dt": dt_ms,
        "tstart": 0.0,
        "tstop": tstop_ms,
        "delete_sections": False,
    }


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
        Resolved configuration (at least :data:`GROUNDTRUTH_SCOPE`).
    mechanisms_dir : Path
        Compiled NMODL mechanisms (``build/mechanisms``).
    morphology_dir : Path
        Folder with the morphology files of ``kernels.populations``.
    record_imem_cells : int
        Also return the membrane currents (nA, segments x time) of the first
        this many cells (for tests; memory grows with it).
    record_somav_cells : int
        Also return the somatic potential (mV, cells x time) of the first
        this many cells of each population (``somav``).
    record_mean_v : bool
        Also return the membrane potential averaged over time (after
        ``groundtruth.transient_ms``) and over the cells of each population,
        per segment (``mean_v``; diagnostics of the linearisation point).
    active_soma : bool
        Insert ``hh`` in the somata (False: every membrane passive; the cells
        then emit no spikes of their own).
    replay_spikes : Mapping, optional
        Population -> ``times`` (ms), ``senders`` (gid), e.g. the spikes of an
        earlier run of the same configuration and seed (same cells,
        connectivity and delays). The cells' own spikes are then not
        propagated (threshold out of reach); instead every recurrent
        connection delivers the recorded spikes of its presynaptic gid after
        its delay. With ``active_soma=False`` this is a linear-membrane ground
        truth with the spikes of the active network.
    record_synapse_cells : int
        Also return, per pathway, the summed current ``i_nA`` (nA, NEURON's
        sign: outward positive) and conductance ``g_uS`` (uS) over time of
        all recurrent synapse objects on the first this many cells of each
        population (``synapse_currents``; conductance synapses only).

    Returns
    -------
    dict
        ``t_ms`` (NEURON sample times k*dt, ms), ``LFP`` (contacts x time, mV),
        ``CDM`` (3 x time, nA*um), ``contributions`` (population -> ``LFP``,
        ``CDM``), ``spikes`` (population -> ``times`` ms, ``senders`` gid),
        ``z_um``, ``network`` (sizes, probabilities, counts of connections
        and synapses, n_threads, MPI ranks, soma positions, ``active_soma``,
        ``replayed_events``: events delivered from ``replay_spikes``), ``timings_s``
        (build, connect, simulate), ``max_relative_current_sum`` (largest
        |sum of a cell's membrane currents| / sum of their magnitudes over all
        cells and steps) and, if asked, ``imem`` (list of arrays), ``somav``
        and ``mean_v`` (population -> ``v_mV`` (segments, mV), ``v_sd_mV``
        (sd over time of the population-mean potential per segment, mV),
        ``soma_v_mV`` (per cell, mV), ``z_rel_um`` (segment midpoint depth
        relative to the soma, um), ``area_um2``, ``section`` (names)).
    """
    check_groundtruth_config(config)
    gt = config["groundtruth"]
    kcfg = config["kernels"]
    dt = float(config["simulation"]["dt_ms"])
    tstop = float(gt["tstop_ms"])
    n_steps = int(round(tstop / dt))
    seed = int(config["seed"])
    scaled = scaled_network(kcfg, float(gt["scale"]))
    sizes = scaled["sizes"]
    names = sorted(sizes)  # creation order fixed: YAML key order cannot change results
    timings: dict[str, float] = {}

    started = time.perf_counter()
    neuron = _load_neuron(mechanisms_dir)
    import LFPy
    from lfpykit import CurrentDipoleMoment, RecExtElectrode

    h = neuron.h
    soma_cfg = gt["soma"]
    celsius = float(soma_cfg["celsius_degC"])
    pc = h.ParallelContext()
    if int(pc.nhost()) != 1:
        raise RuntimeError("the ground truth runs in one process (NEURON threads), not under MPI")
    pc.nthread(1)
    pc.gid_clear()
    if any(True for _ in h.allsec()):
        # a previous network (or cell) in this process would be simulated too
        log.warning("deleting NEURON sections left in this process")
        h("forall delete_section()")
    # LFPy draws soma positions and rotations from numpy's global generator
    np.random.seed(derived_seed(seed, 0).generate_state(1)[0])  # noqa: NPY002
    rng = np.random.default_rng(derived_seed(seed, 1))

    with tempfile.TemporaryDirectory(prefix="lfpflow_groundtruth_") as scratch:
        network = LFPy.Network(
            dt=dt,
            tstart=0.0,
            tstop=tstop,
            v_init=float(kcfg["cell"]["Vrest_mV"]),
            celsius=celsius,
            OUTPUTPATH=scratch,
        )
        geometry = kcfg["population_geometry"]
        for name in names:
            network.create_population(
                name=name,
                POP_SIZE=sizes[name],
                Cell=LFPy.NetworkCell,
                cell_args=_cell_arguments(kcfg, name, morphology_dir, dt, tstop, celsius),
                pop_args={
                    "radius": float(geometry["radius_um"]),
                    "loc": float(geometry["soma_z_mean_um"]),
                    "scale": float(geometry["soma_z_sd_um"]),
                },
                rotation_args={"x": 0.0, "y": 0.0},
            )
    h.celsius = celsius
    cells = {name: network.populations[name].cells for name in names}
    first_gid = {name: network.populations[name].first_gid for name in names}
    # active soma
    for name in names:
        for cell in cells[name]:
            for sec in cell.somalist if active_soma else ():
                sec.insert("hh")
                sec.gnabar_hh = float(soma_cfg["gnabar_S_per_cm2"])
                sec.gkbar_hh = float(soma_cfg["gkbar_S_per_cm2"])
                sec.gl_hh = float(soma_cfg["gl_S_per_cm2"])
                sec.el_hh = float(soma_cfg["el_mV"])
            for nc in cell._hoc_sd_netconlist:
                # replay: the cells' own spikes must not reach the network
                nc.threshold = 1e9 if replay_spikes else float(soma_cfg["spike_threshold_mV"])
                nc.delay = 1.0  # no target; a 0 delay would break NEURON threads' mindelay
    timings["build"] = time.perf_counter() - started

    # ---- connections -------------------------------------------------
    started = time.perf_counter()
    conductance = kcfg["synapse_type"] == "conductance"
    keep: list[Any] = []  # every hoc object that must outlive this function's loops
    recurrent: list[tuple[Any, int, float]] = []  # (NetCon, source gid, delay ms) for replay
    sampled_synapses: dict[str, list[Any]] = {}  # pathway -> synapse objects (record_synapse_cells)
    counts = {"connections": {}, "synapses": {}, "synapse_objects": {}}
    segment_info = {}
    for name in names:
        cell = cells[name][0]
        names_per_seg = np.array(
            [
                sec.name().split(".")[-1].split("[")[0]
                for sec in cell.allseclist
                for _ in range(sec.nseg)
            ]
        )
        segment_info[name] = names_per_seg
    for post in names:
        for pre in names:
            key = f"{post}:{pre}"
            p = scaled["connection_probability"][key]
            syn_kin = kcfg["synapses"][pre]
            weight_uS = float(kcfg["weights_uS"][key])
            if conductance:
                weight = weight_uS
            else:
                from lfpflow.multicompartment.kernels import current_synapse_weight_nA

                weight = current_synapse_weight_nA(
                    weight_uS, float(kcfg["cell"]["Vrest_mV"]), float(syn_kin["e_rev_mV"])
                )
            values, probs = multapse_probabilities(kcfg["multapses"][key])
            position = kcfg["synapse_positions"][key]
            n_conn = n_syn = n_obj = 0
            for j, cell in enumerate(cells[post]):
                partners = np.flatnonzero(rng.random(sizes[pre]) < p)
                if pre == post:
                    partners = partners[partners != j]
                if partners.size == 0:
                    continue
                n_per = rng.choice(values, size=partners.size, p=probs)
                total = int(n_per.sum())
                allowed = np.isin(segment_info[post], list(position["sections"]))
                seg_p = segment_probabilities(cell.area, cell.z.mean(axis=-1), allowed, position)
                segments = rng.choice(cell.totnsegs, size=total, p=seg_p)
                delays = draw_delays(kcfg["delays"][key], total, rng)
                sources = np.repeat(partners + first_gid[pre], n_per)
                synapses = {}
                for seg_index in np.unique(segments):
                    sec, x = _segment(cell, int(seg_index))
                    if conductance:
                        syn = h.Exp2Syn(sec(x))
                        syn.e = float(syn_kin["e_rev_mV"])
                    else:
                        syn = h.CurrExp2Syn(sec(x))
                    syn.tau1 = float(syn_kin["tau1_ms"])
                    syn.tau2 = float(syn_kin["tau2_ms"])
                    synapses[int(seg_index)] = syn
                    keep.append(syn)
                for source, seg_index, delay in zip(sources, segments, delays, strict=True):
                    nc = pc.gid_connect(int(source), synapses[int(seg_index)])
                    nc.weight[0] = weight
                    nc.delay = float(delay)
                    keep.append(nc)
                    if replay_spikes is not None:
                        recurrent.append((nc, int(source), float(delay)))
                if conductance and j < record_synapse_cells:
                    sampled_synapses.setdefault(key, []).extend(synapses.values())
                n_conn += partners.size
                n_syn += total
                n_obj += len(synapses)
            counts["connections"][key] = n_conn
            counts["synapses"][key] = n_syn
            counts["synapse_objects"][key] = n_obj

    # ---- external Poisson drive ------------------------------------------
    external = kcfg["external"]
    ext_groups = []  # (NetCon, summed rate Hz)
    for name in names:
        n_ext = int(external["n_ext"].get(name, 0))
        if n_ext == 0 or float(external["nu_Hz"]) == 0:
            continue
        for cell in cells[name]:
            seg_p = segment_probabilities(
                cell.area, cell.z.mean(axis=-1), np.ones(cell.totnsegs, bool), None
            )
            segments = rng.choice(cell.totnsegs, size=n_ext, p=seg_p)
            for seg_index, count in zip(*np.unique(segments, return_counts=True), strict=True):
                sec, x = _segment(cell, int(seg_index))
                syn = h.Exp2Syn(sec(x))
                syn.e = float(external["e_rev_mV"])
                syn.tau1 = float(external["tau1_ms"])
                syn.tau2 = float(external["tau2_ms"])
                nc = h.NetCon(None, syn)
                nc.weight[0] = float(external["weight_uS"])
                # NetCon.event(t) delivers at t whatever the delay; a delay of 0
                # would only lower the threads' usable minimum delay
                nc.delay = 1.0
                keep.extend([syn, nc])
                ext_groups.append((nc, float(count) * float(external["nu_Hz"])))
    timings["connect"] = time.perf_counter() - started

    # ---- probes -----------------------------------------------------------
    started = time.perf_counter()
    z_um = np.asarray(kcfg["probes"]["lfp"]["z_um"], dtype=float)
    sigma = float(kcfg["probes"]["lfp"]["sigma_S_per_m"])
    transforms = {}
    pointers = {}
    cell_slices = []
    offset = 0
    for name in names:
        blocks = []
        segs = []
        for cell in cells[name]:
            electrode = RecExtElectrode(
                cell,
                x=np.zeros_like(z_um),
                y=np.zeros_like(z_um),
                z=z_um,
                sigma=sigma,
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
            for sec in cell.allseclist:
                segs.extend(seg for seg in sec)
            cell_slices.append((offset, offset + cell.totnsegs))
            offset += cell.totnsegs
        transforms[name] = np.hstack(blocks)
        pointers[name] = segs
    n_total = offset
    h.CVode().use_fast_imem(1)  # i_membrane_ exists only from here on
    ptr = h.PtrVector(n_total)
    index = 0
    for name in names:
        for seg in pointers[name]:
            ptr.pset(index, seg._ref_i_membrane_)
            index += 1
    pointers.clear()
    buffer = h.Vector(n_total)
    seg_ranges = {}
    start = 0
    for name in names:
        seg_ranges[name] = (start, start + transforms[name].shape[1])
        start += transforms[name].shape[1]
    starts = np.array([a for a, _ in cell_slices])
    n_lfp = z_um.size
    output = {name: np.zeros((n_lfp + 3, n_steps)) for name in names}
    imem_cells = [np.zeros((b - a, n_steps)) for a, b in cell_slices[:record_imem_cells]]
    somav_vectors = {
        name: [
            h.Vector().record(next(iter(cell.somalist))(0.5)._ref_v, dt)
            for cell in cells[name][:record_somav_cells]
        ]
        for name in names
    }
    mean_v_ptr = None
    if record_mean_v:
        mean_v_ptr = h.PtrVector(n_total)
        index = 0
        for name in names:
            for cell in cells[name]:
                for sec in cell.allseclist:
                    for seg in sec:
                        mean_v_ptr.pset(index, seg._ref_v)
                        index += 1
        v_buffer = h.Vector(n_total)
        v_sum = np.zeros(n_total)
        v_pop_sq = {name: np.zeros(transforms[name].shape[1] // sizes[name]) for name in names}
        v_pop_sum = {name: np.zeros_like(v_pop_sq[name]) for name in names}
        first_v_step = int(round(float(gt["transient_ms"]) / dt))
    synapse_ptrs = {}
    for key, objects in sampled_synapses.items():
        pair = (h.PtrVector(len(objects)), h.PtrVector(len(objects)))
        for k, syn in enumerate(objects):
            pair[0].pset(k, syn._ref_i)
            pair[1].pset(k, syn._ref_g)
        synapse_ptrs[key] = (pair, h.Vector(len(objects)), np.zeros((2, n_steps)))
    timings["probes"] = time.perf_counter() - started

    # ---- simulate ----------------------------------------------------------
    started = time.perf_counter()
    n_threads = int(gt["n_threads"])
    pc.nthread(n_threads)
    h.CVode().active(0)
    h.CVode().use_fast_imem(1)
    pc.set_maxstep(10)
    h.dt = dt
    h.finitialize(float(kcfg["cell"]["Vrest_mV"]))
    h.fcurrent()
    n_replayed = 0
    if replay_spikes is not None:
        by_gid: dict[int, np.ndarray] = {}
        for data in replay_spikes.values():
            times_all = np.asarray(data["times"], dtype=float)
            senders_all = np.asarray(data["senders"], dtype=np.int64)
            order = np.argsort(senders_all, kind="stable")
            gids, first = np.unique(senders_all[order], return_index=True)
            for gid, chunk in zip(gids, np.split(times_all[order], first[1:]), strict=True):
                by_gid[int(gid)] = np.sort(chunk)
        for nc, source, delay in recurrent:
            for t_event in by_gid.get(source, np.zeros(0)) + delay:
                if t_event < tstop:
                    nc.event(float(t_event))
                    n_replayed += 1
    chunk_ms = float(gt["input_chunk_ms"])
    ext_rng = np.random.default_rng(derived_seed(seed, 2))
    ext_netcons = [nc for nc, _ in ext_groups]
    ext_rates = np.array([rate for _, rate in ext_groups])
    next_chunk = 0.0
    worst = 0.0
    spent = {"events": 0.0, "advance": 0.0, "probes": 0.0}
    clock = time.perf_counter
    for step in range(n_steps):
        t_now = step * dt
        tick = clock()
        if ext_netcons and t_now >= next_chunk - 1e-9:
            chunk_stop = min(next_chunk + chunk_ms, tstop)
            n_events = ext_rng.poisson(ext_rates * (chunk_stop - next_chunk) / 1000.0)
            event_times = ext_rng.uniform(next_chunk, chunk_stop, size=int(n_events.sum()))
            for nc, times in zip(
                ext_netcons, np.split(event_times, np.cumsum(n_events)[:-1]), strict=True
            ):
                for t_event in np.sort(times).tolist():
                    nc.event(t_event)
            next_chunk = chunk_stop
        tock = clock()
        spent["events"] += tock - tick
        if step > 0:
            h.fadvance()
        tick = clock()
        spent["advance"] += tick - tock
        ptr.gather(buffer)
        imem = buffer.as_numpy()
        for name in names:
            a, b = seg_ranges[name]
            output[name][:, step] = transforms[name] @ imem[a:b]
        # current conservation: per cell |sum of currents| / sum of |currents|
        sums = np.abs(np.add.reduceat(imem, starts))
        magnitudes = np.add.reduceat(np.abs(imem), starts)
        positive = magnitudes > 0
        if step > 0 and positive.any():
            # (at t = 0 NEURON's i_membrane_ holds the ionic currents only)
            worst = max(worst, float((sums[positive] / magnitudes[positive]).max()))
        for k, (a, b) in enumerate(cell_slices[:record_imem_cells]):
            imem_cells[k][:, step] = imem[a:b]
        for (ptr_i, ptr_g), syn_buffer, series in synapse_ptrs.values():
            ptr_i.gather(syn_buffer)
            series[0, step] = syn_buffer.sum()
            ptr_g.gather(syn_buffer)
            series[1, step] = syn_buffer.sum()
        if mean_v_ptr is not None and step >= first_v_step:
            mean_v_ptr.gather(v_buffer)
            v_now = v_buffer.as_numpy()
            v_sum += v_now
            for name in names:
                a, b = seg_ranges[name]
                per_cell = v_now[a:b].reshape(sizes[name], -1).mean(axis=0)
                v_pop_sum[name] += per_cell
                v_pop_sq[name] += per_cell**2
        spent["probes"] += clock() - tick
    timings["simulate"] = time.perf_counter() - started
    timings.update({f"simulate_{key}": value for key, value in spent.items()})
    pc.nthread(1)

    spikes = {}
    for name in names:
        population = network.populations[name]
        times, senders = [], []
        for gid, vec in zip(population.gids, population._hoc_spike_vectors, strict=True):
            values = np.array(vec)
            values = values[values < tstop]
            times.append(values)
            senders.append(np.full(values.size, gid, dtype=np.int64))
        times_all = np.concatenate(times) if times else np.zeros(0)
        senders_all = np.concatenate(senders) if senders else np.zeros(0, np.int64)
        order = np.lexsort((senders_all, times_all))
        spikes[name] = {"times": times_all[order], "senders": senders_all[order]}

    contributions = {
        name: {"LFP": output[name][:n_lfp], "CDM": output[name][n_lfp:]} for name in names
    }
    positions = {
        name: np.array([[c.somapos[0], c.somapos[1], c.somapos[2]] for c in cells[name]])
        for name in names
    }
    result = {
        "t_ms": np.arange(n_steps) * dt,
        "LFP": sum(part["LFP"] for part in contributions.values()),
        "CDM": sum(part["CDM"] for part in contributions.values()),
        "contributions": contributions,
        "spikes": spikes,
        "z_um": z_um,
        "network": {
            "scale": float(gt["scale"]),
            "sizes": sizes,
            "first_gid": first_gid,
            "connection_probability": scaled["connection_probability"],
            "in_degree": scaled["in_degree"],
            "n_connections": counts["connections"],
            "n_synapses": counts["synapses"],
            "n_synapse_objects": counts["synapse_objects"],
            "n_external_trains": len(ext_groups),
            "n_segments": n_total,
            "n_threads": n_threads,
            "mpi_ranks": int(pc.nhost()),
            "soma_positions_um": positions,
            "tstop_ms": tstop,
            "dt_ms": dt,
            "celsius_degC": celsius,
            "active_soma": bool(active_soma),
            "replayed_events": n_replayed,
        },
        "timings_s": timings,
        "max_relative_current_sum": worst,
    }
    if record_imem_cells:
        result["imem"] = imem_cells
    if synapse_ptrs:
        result["synapse_currents"] = {
            key: {"i_nA": series[0], "g_uS": series[1], "n_objects": len(sampled_synapses[key])}
            for key, (_, _, series) in synapse_ptrs.items()
        }
        synapse_ptrs.clear()
        sampled_synapses.clear()
    if mean_v_ptr is not None:
        n_v = n_steps - first_v_step
        result["mean_v"] = {}
        for name in names:
            a, b = seg_ranges[name]
            per_cell = (v_sum[a:b] / n_v).reshape(sizes[name], -1)
            cell = cells[name][0]
            soma_index = int(cell.get_idx("soma")[0])
            mean = v_pop_sum[name] / n_v
            result["mean_v"][name] = {
                "v_mV": per_cell.mean(axis=0),
                "v_sd_mV": np.sqrt(np.maximum(v_pop_sq[name] / n_v - mean**2, 0.0)),
                "soma_v_mV": per_cell[:, soma_index],
                "z_rel_um": cell.z.mean(axis=-1) - cell.somapos[2],
                "area_um2": np.asarray(cell.area, dtype=float),
                "section": segment_info[name],
            }
        del mean_v_ptr
    if record_somav_cells:
        result["somav"] = {
            name: np.array([np.array(v)[:n_steps] for v in vectors])
            for name, vectors in somav_vectors.items()
        }
    somav_vectors.clear()
    # free NEURON objects before returning
    keep.clear()
    ext_groups.clear()
    del ptr, buffer
    pc.gid_clear()
    for name in names:
        for cell in cells[name]:
            cell.strip_hoc_objects()
    cells.clear()
    del network
    h("forall delete_section()")
    return result


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


def mean_rates_Hz(
    spikes: Mapping[str, Mapping[str, np.ndarray]],
    sizes: Mapping[str, int],
    *,
    t_start_ms: float,
    t_stop_ms: float,
) -> dict[str, float]:
    """Mean firing rate (Hz) per population in [t_start, t_stop)."""
    duration_s = (t_stop_ms - t_start_ms) / 1000.0
    rates = {}
    for name, data in spikes.items():
        times = np.asarray(data["times"])
        n = np.count_nonzero((times >= t_start_ms) & (times < t_stop_ms))
        rates[name] = float(n / sizes[name] / duration_s)
    return rates


def head_signals(cdm: np.ndarray, forward_config: Mapping[str, Any]) -> dict[str, Any]:
    """EEG (uV) and, if enabled, MEG (fT) of a column CDM, as lfpflow.signals.forward does."""
    from lfpflow.signals.forward import (
        column_rotation,
        eeg_transformation_matrix,
        meg_transformation_matrix,
    )

    head = forward_config["head_model"]
    rotation = column_rotation(head.get("column_axis", (0.0, 0.0, 1.0)))
    eeg_matrix, electrodes = eeg_transformation_matrix(head)
    out = {"EEG": eeg_matrix @ rotation @ cdm, "electrodes_um": electrodes}
    meg = forward_config.get("meg")
    if meg is not None and meg.get("enabled", True):
        meg_matrix, sensors = meg_transformation_matrix(head, meg)
        out["MEG"] = meg_matrix @ rotation @ cdm
        out["meg_sensors_um"] = sensors
    return out


def network_attrs(network: Mapping[str, Any]) -> dict[str, Any]:
    """Root attributes describing the simulated MC network."""
    return {
        "scale": network["scale"],
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


def write_signals_file(
    path: str | Path,
    signals: Mapping[str, Any],
    *,
    config: Mapping[str, Any],
    z_um: np.ndarray,
    attrs: Mapping[str, Any],
    contribution_names: Mapping[Any, str] | None = None,
) -> None:
    """Write a ``signals.h5``-layout file (``t_ms``, ``LFP``, ``CDM``, ``EEG``, ``MEG``).

    Parameters
    ----------
    path : path-like
        Destination (written atomically).
    signals : Mapping
        ``t_ms``, ``LFP`` (mV), ``CDM`` (nA*um), ``EEG`` (uV), optional
        ``MEG`` (fT), ``CSD``, and ``contributions`` (key -> same measures).
    config : Mapping
        The configuration scope the file depends on (provenance).
    z_um : ndarray
        LFP contact depths (um).
    attrs : Mapping
        Further root attributes.
    contribution_names : Mapping, optional
        Contribution key -> group name (default ``str(key)``).
    """
    units = dict(SIGNAL_UNITS, CSD="nA/um^3")
    measures = [m for m in ("LFP", "CSD", "CDM", "EEG", "MEG") if m in signals]
    content: dict[str, Any] = {"t_ms": io.Dataset(signals["t_ms"], "ms")}
    for measure in measures:
        content[measure] = io.Dataset(signals[measure], units[measure])
    content["z_um"] = io.Dataset(z_um, "um", description="depth of the LFP contacts")
    names = contribution_names or {}
    content["contributions"] = {
        names.get(key, str(key)): {m: io.Dataset(part[m], units[m]) for m in measures if m in part}
        for key, part in signals["contributions"].items()
    }
    io.write_h5(path, content, attrs=io.provenance(config, **attrs))


def write_spikes_file(
    path: str | Path,
    spikes: Mapping[str, Mapping[str, np.ndarray]],
    *,
    config: Mapping[str, Any],
    attrs: Mapping[str, Any],
) -> None:
    """Write ``groundtruth/spikes.h5``: group per population with ``times`` (ms), ``senders``."""
    content = {
        name: {
            "times": io.Dataset(np.asarray(data["times"], dtype=np.float64), "ms"),
            "senders": io.Dataset(
                np.asarray(data["senders"], dtype=np.int64), "1", description="global cell id (gid)"
            ),
        }
        for name, data in spikes.items()
    }
    io.write_h5(path, content, attrs=io.provenance(config, **attrs))


def read_spikes_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Spike times (ms) by population and root attributes of ``groundtruth/spikes.h5``."""
    import json

    data = io.read_h5(path)
    attrs = data["attrs"]
    sizes = json.loads(attrs["population_sizes"])
    return {name: data[name]["times"] for name in sizes}, attrs


def safe_fraction(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0."""
    return float(numerator / denominator) if denominator else math.nan
