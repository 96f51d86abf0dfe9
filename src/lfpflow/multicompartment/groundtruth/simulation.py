"""Running the ground truth: external drive, replay, NEURON's time loop, the result.

:func:`simulate_groundtruth` builds the network
(:mod:`lfpflow.multicompartment.groundtruth.network`), sets up the probes
(:mod:`lfpflow.multicompartment.groundtruth.probes`) and advances NEURON with
a fixed time step, ``groundtruth.n_threads`` threads
(``ParallelContext.nthread``). The external Poisson trains of one segment are
merged into one train of the summed rate (the superposition of independent
Poisson processes is Poisson), delivered with ``NetCon.event`` in chunks.

Units: time ms, lengths um, currents nA, potentials mV, LFP mV, CDM nA*um.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.multicompartment.groundtruth.description import (
    Recording,
    RunSettings,
    derived_seed,
    groundtruth_kernel_config,
    scaled_network_probabilities,
)
from lfpflow.multicompartment.groundtruth.network import (
    BuiltNetwork,
    build_network,
    compensate,
    connect,
    set_up_somata,
)
from lfpflow.multicompartment.groundtruth.probes import Probes
from lfpflow.signals.spikes import NetworkSpikes


@contextlib.contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall-clock seconds of the ``with`` block as ``timings[key]``."""
    started = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - started


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


def _replay_events(
    net: BuiltNetwork, replay_spikes: Mapping[str, Mapping[str, np.ndarray]], tstop_ms: float
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
    net: BuiltNetwork,
    probes: Probes,
    run: RunSettings,
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


def _collect_spikes(net: BuiltNetwork, tstop_ms: float) -> dict[str, dict[str, np.ndarray]]:
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
    net: BuiltNetwork, scaled: Mapping[str, Any], probes: Probes, run: RunSettings, **more: Any
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
    net: BuiltNetwork, probes: Probes, recording: Recording, n_steps: int
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


def _release(net: BuiltNetwork, probes: Probes) -> None:
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


def _built_network(
    config: Mapping[str, Any],
    run: RunSettings,
    rec: Recording,
    timings: dict[str, float],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path | None,
    active_soma: bool,
    replay_spikes: Mapping[str, Mapping[str, np.ndarray]] | None,
) -> tuple[BuiltNetwork, dict[str, Any]]:
    """Build, connect and compensate the network; time the ``build`` and ``connect`` phases.

    Returns the network and :func:`scaled_network_probabilities` of it.
    """
    kcfg = config["kernels"]
    scaled = scaled_network_probabilities(kcfg, run.scale, run.k_scale)
    built = groundtruth_kernel_config(kcfg, run.scale, k_scale=run.k_scale)  # k-scaled weights
    with _timed(timings, "build"):
        net = build_network(kcfg, scaled["sizes"], run, mechanisms_dir, morphology_dir)
        set_up_somata(
            net, config["groundtruth"]["soma"], active=active_soma, silent=bool(replay_spikes)
        )
    with _timed(timings, "connect"):
        connect(
            net,
            built,
            scaled["connection_probability"],
            np.random.default_rng(derived_seed(run.seed, 1)),
            for_replay=replay_spikes is not None,
            sampled_cells=rec.synapse_cells,
        )
        compensate(net, kcfg, run.k_scale)
    return net, scaled


def simulate_groundtruth(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path | None = None,
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
    mechanisms_dir : Path
        Compiled NMODL mechanisms.
    morphology_dir : Path, optional
        Folder of the ``kernels.populations`` morphologies; None:
        :func:`lfpflow.multicompartment.morphology.morphology_dir`.
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
        (pathway -> ``i_nA``, ``g_uS``), ``mean_v`` (see :class:`Recording`).
    """
    rec = Recording(record_imem_cells, record_somav_cells, record_mean_v, record_synapse_cells)
    run = RunSettings.from_config(config)
    timings: dict[str, float] = {}
    net, scaled = _built_network(
        config,
        run,
        rec,
        timings,
        mechanisms_dir=mechanisms_dir,
        morphology_dir=morphology_dir,
        active_soma=active_soma,
        replay_spikes=replay_spikes,
    )
    with _timed(timings, "probes"):
        probes = Probes(net, config["kernels"]["probes"]["lfp"], rec, run)
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
