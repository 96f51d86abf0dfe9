"""Point-neuron network simulation with NEST (the only module importing NEST).

Builds the E/I network described by ``config["network"]`` (by default the LIF
network fitted by Hagen et al. 2022, PLOS Comput Biol 18:e1010353, to their
multicompartment network), simulates it and returns the spikes.

Reproducibility: NEST's random numbers are seeded from ``config["seed"]`` and
the number of virtual processes is ``config["simulation"]["n_vp"]``, so the
spikes are bit-identical whatever number of cores Snakemake grants (NEST
guarantees identical results for a fixed number of virtual processes). Spikes
are sorted by (time, population index) before they are returned, because the
order in which threads hand events to the recorder is not fixed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io

#: Largest seed NEST accepts for ``rng_seed``.
_NEST_MAX_SEED = 2**31 - 1


@dataclass
class NetworkSpikes:
    """Spikes of a simulated network.

    Attributes
    ----------
    times_ms : dict
        Population -> spike times (ms), sorted by time then neuron.
    senders : dict
        Population -> index of the spiking neuron within its population (0-based).
    population_sizes : dict
        Population -> number of neurons.
    tstop_ms, dt_ms : float
        Simulated time and resolution (ms).
    n_vp : int
        NEST total number of virtual processes used.
    timings_s : dict
        Wall-clock seconds of the ``build`` and ``simulate`` phases.
    """

    times_ms: dict[str, np.ndarray]
    senders: dict[str, np.ndarray]
    population_sizes: dict[str, int]
    tstop_ms: float
    dt_ms: float
    n_vp: int
    timings_s: dict[str, float] = field(default_factory=dict)


def nest_seed(seed: int) -> int:
    """Map the master seed to NEST's ``rng_seed`` range [1, 2^31 - 1].

    A ``numpy.random.SeedSequence`` spreads neighbouring master seeds over the
    range, so seeds 1, 2, 3 of a sweep do not give correlated NEST streams.
    """
    state = np.random.SeedSequence([int(seed), 0x4E455354]).generate_state(1)[0]
    return int(state % (_NEST_MAX_SEED - 1)) + 1


def _import_nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def simulate_network(config: Mapping[str, Any]) -> NetworkSpikes:
    """Build and simulate the point-neuron network.

    Parameters
    ----------
    config : Mapping
        Resolved configuration (:func:`lfpflow.config.resolve_config`); uses
        ``seed``, ``simulation`` (``tstop_ms``, ``dt_ms`` in ms, ``n_vp``) and
        ``network``.

    Returns
    -------
    NetworkSpikes
        Spikes of every population and the timings of the phases.
    """
    nest = _import_nest()
    sim = config["simulation"]
    net = config["network"]
    dt_ms = float(sim["dt_ms"])
    n_vp = int(sim["n_vp"])

    started = time.perf_counter()
    nest.ResetKernel()
    nest.SetKernelStatus(
        {
            # pip NEST has no MPI: virtual processes are threads of this process
            "total_num_virtual_procs": n_vp,
            "resolution": dt_ms,
            # NEST 3.10 wants an integer; dt is a power of two (checked in config)
            "tics_per_ms": int(round(1.0 / dt_ms)),
            "rng_seed": nest_seed(config["seed"]),
            "print_time": False,
        }
    )

    neurons = {}
    recorders = {}
    for name, population in net["populations"].items():
        neurons[name] = nest.Create(
            population.get("model", "iaf_psc_exp"), population["size"], params=population["params"]
        )
        recorders[name] = nest.Create("spike_recorder")
        nest.Connect(neurons[name], recorders[name])

    for conn in net["connections"]:
        weight = float(conn["weight_pA"])
        weight_sd = abs(weight) * float(net["weight_rel_sd"])
        delay = float(conn["delay_ms"])
        # Redraw (not clip) out-of-range values, as Hagen et al. (2022) do:
        # weights keep the sign of their mean, delays stay >= delay_min_ms.
        if weight_sd > 0:
            weight_spec = nest.math.redraw(
                nest.random.normal(mean=weight, std=weight_sd),
                min=0.0 if weight >= 0 else -np.inf,
                max=np.inf if weight >= 0 else 0.0,
            )
        else:
            weight_spec = weight
        delay_sd = delay * float(net["delay_rel_sd"])
        if delay_sd > 0:
            delay_spec = nest.math.redraw(
                nest.random.normal(mean=delay, std=delay_sd),
                min=float(net["delay_min_ms"]),
                max=np.inf,
            )
        else:
            delay_spec = max(delay, float(net["delay_min_ms"]))
        nest.Connect(
            neurons[conn["pre"]],
            neurons[conn["post"]],
            {"rule": "pairwise_bernoulli", "p": float(conn["p"])},
            {"synapse_model": "static_synapse", "weight": weight_spec, "delay": delay_spec},
        )

    drive = net["drive"]
    for name, n_ext in drive["n_ext"].items():
        if n_ext == 0 or drive["nu_ext_Hz"] == 0:
            continue
        # One generator per population: NEST's poisson_generator sends an
        # independent train to each target, so n_ext inputs of nu_ext each are
        # one Poisson process of rate n_ext * nu_ext per neuron.
        generator = nest.Create("poisson_generator", params={"rate": n_ext * drive["nu_ext_Hz"]})
        nest.Connect(
            generator,
            neurons[name],
            "all_to_all",
            {"weight": float(drive["weight_pA"]), "delay": dt_ms},
        )
    built = time.perf_counter()

    nest.Simulate(float(sim["tstop_ms"]))
    simulated = time.perf_counter()

    times_ms: dict[str, np.ndarray] = {}
    senders: dict[str, np.ndarray] = {}
    for name, recorder in recorders.items():
        events = recorder.get("events")
        first_id = neurons[name][0].global_id
        population_times = np.asarray(events["times"], dtype=np.float64)
        population_senders = np.asarray(events["senders"], dtype=np.int64) - first_id
        order = np.lexsort((population_senders, population_times))
        times_ms[name] = population_times[order]
        senders[name] = population_senders[order]

    return NetworkSpikes(
        times_ms=times_ms,
        senders=senders,
        population_sizes={name: int(p["size"]) for name, p in net["populations"].items()},
        tstop_ms=float(sim["tstop_ms"]),
        dt_ms=dt_ms,
        n_vp=int(nest.GetKernelStatus("total_num_virtual_procs")),
        timings_s={"build": built - started, "simulate": simulated - built},
    )


def write_spikes(path: str | Path, spikes: NetworkSpikes, *, config: Mapping[str, Any]) -> None:
    """Write ``network/spikes.h5`` (output contract in the README).

    One group per population with ``times`` (ms) and ``senders`` (index within
    the population); root attributes ``population_sizes``, ``tstop_ms``,
    ``dt_ms``, ``n_vp`` and provenance. Timings are left to the rule's log and
    benchmark file so that the same configuration gives a byte-identical file.
    """
    content = {
        name: {
            "times": io.Dataset(spikes.times_ms[name], "ms"),
            "senders": io.Dataset(
                spikes.senders[name], "1", description="neuron index within the population"
            ),
        }
        for name in spikes.times_ms
    }
    attrs = io.provenance(
        config,
        population_sizes=spikes.population_sizes,
        population_names=list(spikes.population_sizes),
        tstop_ms=spikes.tstop_ms,
        dt_ms=spikes.dt_ms,
        n_vp=spikes.n_vp,
    )
    group_attrs = {name: {"size": spikes.population_sizes[name]} for name in spikes.times_ms}
    io.write_h5(path, content, attrs=attrs, group_attrs=group_attrs)


def read_spikes(path: str | Path) -> NetworkSpikes:
    """Read ``network/spikes.h5`` back into :class:`NetworkSpikes`."""
    data = io.read_h5(path)
    attrs = data["attrs"]
    sizes = attrs["population_sizes"]
    sizes = json.loads(sizes) if isinstance(sizes, str) else sizes
    names = json.loads(attrs["population_names"])
    return NetworkSpikes(
        times_ms={name: data[name]["times"] for name in names},
        senders={name: data[name]["senders"] for name in names},
        population_sizes={name: int(sizes[name]) for name in names},
        tstop_ms=float(attrs["tstop_ms"]),
        dt_ms=float(attrs["dt_ms"]),
        n_vp=int(attrs["n_vp"]),
    )
