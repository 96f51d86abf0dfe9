"""Spike files: :class:`NetworkSpikes` and ``network/spikes.h5`` (numpy and h5py only).

The NEST stage (:mod:`lfpflow.pointneuron.network`) produces the spikes; every
later stage reads them from here without importing a simulator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io


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
