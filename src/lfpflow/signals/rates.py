"""Spikes -> population spike counts per time bin (the nu_X of LFPykernels).

Rates here are *counts of spikes of the whole population per bin* of width
``dt_ms``, not Hz: convolving them with kernels H_YX (signal per spike) gives
the signal directly (Hagen et al. 2022, Eq. for phi = sum_X sum_Y nu_X * H_YX).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io


def bin_edges(tstop_ms: float, dt_ms: float) -> np.ndarray:
    """Bin edges 0, dt, 2 dt, ..., n dt with n = round(tstop / dt) (ms)."""
    n_bins = int(round(tstop_ms / dt_ms))
    return np.arange(n_bins + 1) * dt_ms


def bin_starts(tstop_ms: float, dt_ms: float) -> np.ndarray:
    """Starts k dt (ms) of the bins [k dt, (k + 1) dt) of :func:`bin_edges`.

    Sample k of a signal predicted from these rates is the signal at k dt:
    a spike stamped k dt by NEST falls in bin k, and lag 0 of a kernel is
    the spike time.
    """
    return bin_edges(tstop_ms, dt_ms)[:-1]


def spike_counts(spike_times_ms: np.ndarray, tstop_ms: float, dt_ms: float) -> np.ndarray:
    """Number of spikes in each bin [k dt, (k + 1) dt).

    Parameters
    ----------
    spike_times_ms : array_like
        Spike times (ms) of any number of neurons.
    tstop_ms, dt_ms : float
        End of the recording and bin width (ms).

    Returns
    -------
    numpy.ndarray
        Counts (float64, so they feed FFT convolutions directly), length
        ``round(tstop_ms / dt_ms)``. Spikes at or after ``tstop_ms`` are dropped.

    Notes
    -----
    The bin index is ``floor(t / dt)`` after rounding ``t / dt`` to 1e-9, so a
    spike on a grid point k dt (NEST's times are) goes to bin k even when
    ``t / dt`` is k - 1e-12 in floating point.
    """
    times = np.asarray(spike_times_ms, dtype=np.float64)
    n_bins = int(round(tstop_ms / dt_ms))
    index = np.floor(np.round(times / dt_ms, 9)).astype(np.int64)
    index = index[(index >= 0) & (index < n_bins)]
    return np.bincount(index, minlength=n_bins).astype(np.float64)


def population_rates(
    spike_times_ms: Mapping[str, np.ndarray], *, tstop_ms: float, dt_ms: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Population spike counts per bin for every population.

    Returns
    -------
    t_ms : numpy.ndarray
        Bin starts k dt (ms), :func:`bin_starts`.
    counts : dict
        Population -> spikes per bin of the whole population.
    """
    counts = {name: spike_counts(times, tstop_ms, dt_ms) for name, times in spike_times_ms.items()}
    return bin_starts(tstop_ms, dt_ms), counts


def full_column_counts(counts: Mapping[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
    """Spike counts of a network downscaled by ``scale``, divided by ``scale``.

    The kernels describe the column at its full size (``populations.<X>.size``:
    out-degrees, cell numbers), so that one kernel set serves every
    ``network.scale``. A downscaled network (``round(size * scale)`` neurons
    with the rates kept by the compensating DC) has ``scale`` times the full
    column's spikes; dividing its counts by ``scale`` makes the forward model
    predict the signal of the full column firing like the simulated part.

    Parameters
    ----------
    counts : Mapping
        Population -> spikes per bin of the simulated network.
    scale : float
        ``network.scale`` (neuron numbers), in (0, 1].

    Returns
    -------
    dict
        Population -> counts / scale (the same arrays' values when scale is 1).
    """
    if not 0 < scale <= 1:
        raise ValueError(f"network.scale must lie in (0, 1], got {scale}")
    return {name: np.asarray(values) / scale for name, values in counts.items()}


def write_rates(
    path: str | Path,
    t_ms: np.ndarray,
    counts: Mapping[str, np.ndarray],
    *,
    dt_ms: float,
    population_sizes: Mapping[str, int],
    config: Mapping[str, Any],
) -> None:
    """Write ``network/rates.h5``: ``t_ms`` and one dataset per population."""
    content: dict[str, Any] = {
        "t_ms": io.Dataset(t_ms, "ms", description="bin starts k*dt_ms of bins [k dt, (k+1) dt)")
    }
    for name, values in counts.items():
        content[name] = io.Dataset(
            values,
            "spikes/bin",
            description="spike count of the whole population per bin of width dt_ms",
            dt_ms=dt_ms,
            population_size=int(population_sizes[name]),
        )
    io.write_h5(
        path,
        content,
        attrs=io.provenance(
            config, dt_ms=dt_ms, population_names=list(counts), n_vp=config["simulation"]["n_vp"]
        ),
    )


def read_rates(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Read ``rates.h5``: bin starts (ms), counts by population, bin width (ms)."""
    data = io.read_h5(path)
    names = json.loads(data["attrs"]["population_names"])
    return data["t_ms"], {name: data[name] for name in names}, float(data["attrs"]["dt_ms"])
