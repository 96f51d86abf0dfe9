"""The ground truth's network in NEURON: cells, somata, connections, drive, compensation.

Builds the downscaled multicompartment network that
:func:`lfpflow.multicompartment.groundtruth.simulate_groundtruth` runs: each
population's cells (``LFPy.NetworkCell``, somata placed by LFPy), ``hh`` in the
somata, the recurrent synapses drawn pairwise, the external Poisson synapses
(merged per segment) and the compensating currents of ``groundtruth.k_scale``.
Every number comes from :mod:`lfpflow.multicompartment.groundtruth.description`;
this module only creates the NEURON objects (NEURON and LFPy are imported
inside functions).

Synapses of one pathway on the same segment share one synapse object (each
connection keeps its own ``NetCon`` with its own weight and delay;
``Exp2Syn`` is linear in its input events, so this is exact).

Units: time ms, lengths um, conductances uS, currents nA, potentials mV.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.config.scopes import pathway_key
from lfpflow.multicompartment.cells import (
    cell_parameters,
    define_cell_template,
    load_mechanisms,
    loadable_cell_parameters,
)
from lfpflow.multicompartment.groundtruth.compensation import compensating_currents_nA
from lfpflow.multicompartment.groundtruth.description import (
    RunSettings,
    derived_seed,
    draw_delays,
    multapse_probabilities,
    segment_probabilities,
)
from lfpflow.multicompartment.kernels import current_synapse_weight_nA
from lfpflow.multicompartment.morphology import morphology_dir as resolve_morphology_dir

log = logging.getLogger(__name__)


@dataclass
class BuiltNetwork:
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


def build_network(
    kcfg: Mapping[str, Any],
    sizes: Mapping[str, int],
    run: RunSettings,
    mechanisms_dir: Path,
    morphology_dir: Path | None = None,
) -> BuiltNetwork:
    """Create the populations' cells (``LFPy.NetworkCell``) with placed somata in NEURON.

    ``morphology_dir`` None: :func:`lfpflow.multicompartment.morphology.morphology_dir`.
    """
    h, pc = _prepare_neuron(mechanisms_dir)
    import LFPy

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
                population_cell_parameters(kcfg, name, run, morphology_dir)
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
    return BuiltNetwork(
        h=h,
        pc=pc,
        lfpy=network,
        sizes=dict(sizes),
        cells={name: populations[name].cells for name in sorted(sizes)},
        first_gid={name: populations[name].first_gid for name in sorted(sizes)},
        section_names={name: _section_names(populations[name].cells[0]) for name in sorted(sizes)},
    )


def population_cell_parameters(
    kcfg: Mapping[str, Any], name: str, run: RunSettings, morphology_dir: Path | None = None
) -> dict[str, Any]:
    """LFPy cell parameters of population ``name``'s cells, before NEURON is involved.

    Parameters
    ----------
    kcfg : Mapping
        ``kernels:`` section.
    name : str
        Population.
    run : RunSettings
        For NEURON's temperature (``groundtruth.soma.celsius_degC``, degC).
    morphology_dir : Path, optional
        Folder of the morphology files; None:
        :func:`lfpflow.multicompartment.morphology.morphology_dir`, the folder
        the configuration checks and the kernels read.

    Returns
    -------
    dict
        :func:`lfpflow.multicompartment.cells.cell_parameters`.
    """
    folder = resolve_morphology_dir(morphology_dir)
    return cell_parameters(kcfg, name, folder, celsius_degC=run.celsius_degC)


def _section_names(cell: Any) -> np.ndarray:
    """Section name (``soma``, ``dend``, ``apic``) of every segment of an LFPy cell."""
    return np.array(
        [
            sec.name().split(".")[-1].split("[")[0]
            for sec in cell.allseclist
            for _ in range(sec.nseg)
        ]
    )


def set_up_somata(
    net: BuiltNetwork, soma_cfg: Mapping[str, Any], *, active: bool, silent: bool
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


def connect(
    net: BuiltNetwork,
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
                probabilities[pathway_key(post, pre)],
                rng,
                for_replay=for_replay,
                sampled_cells=sampled_cells,
            )
    _connect_external(net, kcfg["external"], rng)


def synapse_weight(kcfg: Mapping[str, Any], key: str, pre: str) -> float:
    """NetCon weight of pathway ``key``: uS (conductance) or nA (current synapses)."""
    weight_uS = float(kcfg["weights_uS"][key])
    if kcfg["synapse_type"] == "conductance":
        return weight_uS
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
    net: BuiltNetwork,
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
    key = pathway_key(post, pre)
    conductance = kcfg["synapse_type"] == "conductance"
    weight = synapse_weight(kcfg, key, pre)
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


def _connect_external(
    net: BuiltNetwork, external: Mapping[str, Any], rng: np.random.Generator
) -> None:
    """Place ``n_ext`` external synapses per cell uniformly by membrane area.

    The trains of one segment are merged into one ``Exp2Syn`` driven by one
    ``NetCon`` at the summed rate (the superposition of independent Poisson
    processes is Poisson);
    :class:`lfpflow.multicompartment.groundtruth.simulation._PoissonDrive` delivers
    the events.
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


def compensate(net: BuiltNetwork, kernel_config: Mapping[str, Any], k_scale: float) -> None:
    """Constant currents for the mean input that in-degrees scaled by ``k_scale`` lose.

    One ``ConstantCurrent`` per segment that receives any
    (:func:`lfpflow.multicompartment.groundtruth.compensation.compensating_currents_nA`,
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
                key = pathway_key(post, pre)
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


def _segment(cell: Any, index: int) -> tuple[Any, float]:
    """Section and position ``x`` of segment ``index`` of an LFPy cell."""
    count = 0
    for sec in cell.allseclist:
        if index < count + sec.nseg:
            return sec, (index - count + 0.5) / sec.nseg
        count += sec.nseg
    raise IndexError(f"segment {index} out of range ({count} segments)")
