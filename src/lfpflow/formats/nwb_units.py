"""The NWB units table of the export: every neuron with its spike train and population.

One row per neuron, ``id`` = position in the network (populations in
configuration order, then the index within the population); ``spike_times``
(s from the start of the simulation), ``obs_intervals`` (the whole simulation
for every neuron: a neuron without spikes was observed and did not fire),
``population``, ``model`` (the catalogue name of ``populations.<X>.model``; the
column's description names the NEST model of each) and
``index_in_population`` (the ``senders`` value of ``spikes.h5``).

The exporter knows no simulator: the NEST model names come from the caller
(:func:`nest_model_names`), never from the point-neuron catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from hdmf.common import VectorData, VectorIndex
from pynwb.misc import Units

from lfpflow.formats.nwb_storage import dataio, text_column
from lfpflow.signals.spikes import NetworkSpikes


def nest_model_names(config: Mapping[str, Any], nest_models: Mapping[str, str]) -> dict[str, str]:
    """The NEST model of each neuron model of the run (for the units table).

    Parameters
    ----------
    config : Mapping
        The ``export`` stage configuration (``network.populations.<X>.model``).
    nest_models : Mapping
        Catalogue model name -> NEST model name, as the caller knows it.

    Returns
    -------
    dict
        Catalogue model name -> NEST model name, for every model the
        populations use.

    Raises
    ------
    ValueError
        If ``nest_models`` lacks a model the populations use.
    """
    populations = config["network"]["populations"]
    missing = sorted({p["model"] for p in populations.values()} - set(nest_models))
    if missing:
        raise ValueError(f"nest_models names no NEST model for {', '.join(missing)}")
    return {p["model"]: str(nest_models[p["model"]]) for p in populations.values()}


def spike_trains(spikes: NetworkSpikes) -> dict[str, np.ndarray]:
    """Spike times grouped by neuron, in the units table's row order.

    Parameters
    ----------
    spikes : NetworkSpikes
        Spikes sorted by time (then neuron) per population.

    Returns
    -------
    dict
        ``times_s``: all spike times (s), neuron after neuron, each neuron's in
        time order; ``ends``: index one past each neuron's last spike (the NWB
        ragged-array index); ``population``: each neuron's population index
        (order of ``population_sizes``); ``index``: index within the population.
    """
    times, counts, population, index = [], [], [], []
    for number, (name, size) in enumerate(spikes.population_sizes.items()):
        senders = np.asarray(spikes.senders[name], dtype=np.int64)
        order = np.argsort(senders, kind="stable")  # keeps each neuron's time order
        times.append(np.asarray(spikes.times_ms[name], dtype=np.float64)[order] / 1000.0)
        counts.append(np.bincount(senders, minlength=size))
        population.append(np.full(size, number))
        index.append(np.arange(size))
    counts_all = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    return {
        "times_s": np.concatenate(times) if times else np.zeros(0),
        "ends": np.cumsum(counts_all).astype(np.uint64),
        "population": np.concatenate(population) if population else np.zeros(0, dtype=int),
        "index": np.concatenate(index) if index else np.zeros(0, dtype=int),
    }


def units_table(
    spikes: NetworkSpikes,
    config: Mapping[str, Any],
    level: int,
    *,
    nest_models: Mapping[str, str],
) -> Units:
    """The NWB units table: every neuron, its spike times (s) and its population.

    Parameters
    ----------
    spikes : NetworkSpikes
        The run's spikes.
    config : Mapping
        The ``export`` stage configuration (``network.populations.<X>.model``).
    level : int
        gzip level of the spike times (0: uncompressed).
    nest_models : Mapping
        Catalogue model name -> NEST model name (:func:`nest_model_names`),
        named in the description of the ``model`` column.
    """
    trains = spike_trains(spikes)
    names = list(spikes.population_sizes)
    models = [config["network"]["populations"][name]["model"] for name in names]
    nest_names = {f"{model}: NEST {nest_models[model]}" for model in models}
    n_units = trains["ends"].size
    columns = [
        *_time_columns(trains, float(spikes.tstop_ms) / 1000.0, level),
        text_column("population", "population of the neuron", names, trains["population"], level),
        text_column(
            "model",
            "point-neuron model, lfpflow catalogue name (" + ", ".join(sorted(nest_names)) + ")",
            models,
            trains["population"],
            level,
        ),
        VectorData(
            name="index_in_population",
            description="index of the neuron within its population ('senders' of spikes.h5)",
            data=dataio(trains["index"].astype(np.int64), level),
        ),
    ]
    return Units(
        name="units",
        id=dataio(np.arange(n_units), level),
        columns=columns,
        description="neurons of the simulated point-neuron network (NEST); id = position "
        "in the network (populations in configuration order)",
        resolution=float(spikes.dt_ms) / 1000.0,
    )


def _time_columns(
    trains: Mapping[str, np.ndarray], tstop_s: float, level: int
) -> list[VectorData | VectorIndex]:
    """``spike_times`` and ``obs_intervals`` (s) with their ragged-array indices."""
    n_units = trains["ends"].size
    spike_times = VectorData(
        name="spike_times",
        description="spike times (s from the start of the simulation), on the NEST time grid",
        data=dataio(trains["times_s"], level),
    )
    observed = VectorData(
        name="obs_intervals",
        description="observation interval (s): the whole simulation",
        data=dataio(np.tile([0.0, tstop_s], (n_units, 1)), level),
    )
    return [
        spike_times,
        VectorIndex(
            name="spike_times_index", data=dataio(trains["ends"], level), target=spike_times
        ),
        observed,
        VectorIndex(
            name="obs_intervals_index",
            data=dataio(np.arange(1, n_units + 1, dtype=np.uint64), level),
            target=observed,
        ),
    ]
