"""The simulator of the inference: parameters -> network -> signal -> features.

One draw is: set the parameters in the simulated configuration
(:func:`lfpflow.inference.setup.with_parameters`), simulate the network with
NEST (:func:`lfpflow.pointneuron.batch.simulate_many`, many draws in one
process), bin the spikes into population rates, convolve them with the fixed
kernels (:mod:`lfpflow.signals.forward`) and compute the features of the
chosen signal and channels after the transient
(:func:`lfpflow.inference.features.compute_features`).

A batch of draws is written as one HDF5 table (:func:`write_batch`): the
parameters, the features, the spectra, summary statistics (population rates),
the seeds and the wall time of every draw.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io
from lfpflow.config import stage_config
from lfpflow.formats.heads import sensor_maps
from lfpflow.inference.features import compute_features
from lfpflow.inference.setup import Prior, draw_parameters, draw_seeds, with_parameters
from lfpflow.signals.forward import SIGNAL_UNITS, compute_signals, predict_signal
from lfpflow.signals.rates import population_rates
from lfpflow.signals.spikes import NetworkSpikes

Kernels = Mapping[tuple[str, str], Mapping[str, Any]]


def signal_from_spikes(
    spikes: NetworkSpikes, kernels: Kernels, config: Mapping[str, Any]
) -> tuple[np.ndarray, float]:
    """The inferred signal's channels after the transient, and its rate (Hz).

    Parameters
    ----------
    spikes : NetworkSpikes
        A simulation of ``config``'s network.
    kernels : Mapping
        ``(post, pre)`` -> kernel (:func:`lfpflow.signals.kernel_files.load_kernels`).
    config : Mapping
        The resolved simulated configuration (``inference.signal``,
        ``inference.channels``, ``simulation``, ``forward``).

    Returns
    -------
    values : numpy.ndarray
        Channels x time (LFP mV, CSD, CDM nA um, EEG uV) from
        ``simulation.transient_ms`` on.
    rate_Hz : float
        Sampling rate, 1000 / dt_ms.
    """
    sim, inference = config["simulation"], config["inference"]
    dt_ms = float(sim["dt_ms"])
    t_ms, rates = population_rates(spikes.times_ms, tstop_ms=float(sim["tstop_ms"]), dt_ms=dt_ms)
    measure = inference["signal"]
    first = next(iter(kernels.values()))
    if measure in ("LFP", "CSD", "CDM"):
        # only the measure needed: the full forward model would also map to EEG/MEG
        values = predict_signal(
            rates,
            {key: k[measure] for key, k in kernels.items()},
            dt_ms=dt_ms,
            lags_ms=first["lags_ms"],
        )
    else:
        forward = config["forward"]
        # MNE reads a named montage or a forward file: formats builds the maps
        maps = sensor_maps(forward["head_model"], forward["meg"])
        values = compute_signals(t_ms, rates, kernels, maps, dt_ms=dt_ms)[measure]
    values = select_channels(values, inference["channels"], measure)
    return values[:, t_ms >= float(sim["transient_ms"]) - 1e-9], 1e3 / dt_ms


def select_channels(values: np.ndarray, channels: Sequence[int], measure: str) -> np.ndarray:
    """Rows ``channels`` of ``values`` (all for ``[]``); ValueError naming the key."""
    values = np.atleast_2d(values)
    if not channels:
        return values
    bad = [c for c in channels if c >= values.shape[0]]
    if bad:
        raise ValueError(
            f"config key 'inference.channels': {bad} out of range; {measure} has "
            f"{values.shape[0]} channels (allowed 0..{values.shape[0] - 1})"
        )
    return values[list(channels)]


def features_of(values: np.ndarray, rate_Hz: float, config: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`compute_features` with the settings of a resolved configuration."""
    return compute_features(
        values,
        rate_Hz=rate_Hz,
        settings=config["inference"]["features"],
        bands_Hz=config["analysis"]["bands_Hz"],
        band_min_bins=int(config["analysis"]["band_min_bins"]),
    )


def mean_rates_Hz(spikes: NetworkSpikes, transient_ms: float) -> dict[str, float]:
    """Mean firing rate (Hz) of each population after the transient."""
    window_s = (spikes.tstop_ms - transient_ms) / 1e3
    return {
        name: float(
            np.count_nonzero(times >= transient_ms) / spikes.population_sizes[name] / window_s
        )
        for name, times in spikes.times_ms.items()
    }


def simulate_draws(
    config: Mapping[str, Any],
    kernels: Kernels,
    names: Sequence[str],
    values: np.ndarray,
    seeds: Sequence[int],
    *,
    nestml_module_dir: str | Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Simulate the network at each row of ``values`` with its master seed.

    Yields
    ------
    dict
        Per draw: ``features`` (dict of :func:`compute_features`), ``rates_Hz``
        (population -> Hz), ``wall_s`` (simulation and features, s).
    """
    from lfpflow.pointneuron.batch import simulate_many

    configs = [
        with_parameters(config, names, row, seed=seed)
        for row, seed in zip(values, seeds, strict=True)
    ]
    started = time.perf_counter()
    network_configs = (stage_config(c, "network") for c in configs)
    for draw_config, spikes in zip(
        configs, simulate_many(network_configs, nestml_module_dir=nestml_module_dir), strict=True
    ):
        signal, rate_Hz = signal_from_spikes(spikes, kernels, draw_config)
        result = {
            "features": features_of(signal, rate_Hz, draw_config),
            "rates_Hz": mean_rates_Hz(spikes, float(draw_config["simulation"]["transient_ms"])),
            "wall_s": time.perf_counter() - started,
        }
        started = time.perf_counter()
        yield result


def simulate_batch(
    config: Mapping[str, Any],
    kernels: Kernels,
    split: str,
    indices: Sequence[int],
    *,
    nestml_module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Draw and simulate draws ``indices`` of ``split`` (train, test, ppc).

    Parameters and seeds of draw i come from :func:`lfpflow.inference.setup.draw_seeds`
    only. Returns the batch table (see :func:`write_batch`).
    """
    inference = config["inference"]
    prior = Prior.from_config(inference)
    values = draw_parameters(prior, int(inference["seed"]), split, indices)
    seeds = [draw_seeds(int(inference["seed"]), split, i)[1] for i in indices]
    return run_draws(config, kernels, prior, values, seeds, indices, split, nestml_module_dir)


def run_draws(
    config: Mapping[str, Any],
    kernels: Kernels,
    prior: Prior,
    values: np.ndarray,
    seeds: Sequence[int],
    indices: Sequence[int],
    split: str,
    nestml_module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Simulate given parameter rows (n x p) with given seeds: the batch table."""
    draws = list(
        simulate_draws(
            config, kernels, prior.names, values, seeds, nestml_module_dir=nestml_module_dir
        )
    )
    features = np.array([d["features"]["values"] for d in draws])
    populations = sorted(draws[0]["rates_Hz"]) if draws else []
    return {
        "split": split,
        "parameter_names": list(prior.names),
        "feature_names": draws[0]["features"]["names"] if draws else [],
        "populations": populations,
        "signal": config["inference"]["signal"],
        "theta": np.asarray(values, dtype=np.float64).reshape(len(draws), len(prior.names)),
        "features": features.reshape(len(draws), -1),
        "valid": np.all(np.isfinite(features), axis=1) if draws else np.zeros(0, bool),
        "freqs_Hz": draws[0]["features"]["freqs_Hz"] if draws else np.zeros(0),
        "psd": np.array([d["features"]["psd"] for d in draws]),
        "rates_Hz": np.array([[d["rates_Hz"][p] for p in populations] for d in draws]),
        "seeds": np.asarray(seeds, dtype=np.int64),
        "draw_index": np.asarray(list(indices), dtype=np.int64),
        "wall_s": np.array([d["wall_s"] for d in draws]),
    }


#: Datasets of a batch table, with units (``signal`` filled in for the PSD).
_TABLE_UNITS = {
    "theta": "units of each parameter (parameter_names)",
    "features": "1 (see feature_names)",
    "valid": "1",
    "freqs_Hz": "Hz",
    "psd": "{signal}^2/Hz",
    "rates_Hz": "Hz",
    "seeds": "1",
    "draw_index": "1",
    "wall_s": "s",
}


def write_batch(path: str | Path, table: Mapping[str, Any], *, config: Mapping[str, Any]) -> None:
    """Write a batch table as HDF5 (units on every dataset, provenance on the root).

    ``theta``: parameters (draws x parameters); ``features`` (draws x
    features, NaN where undefined); ``valid`` (all features finite);
    ``psd`` (draws x channels x frequencies, the Welch spectrum at
    ``freqs_Hz``); ``rates_Hz`` (draws x populations, after the transient);
    ``seeds`` (the network's master seed of each draw); ``draw_index``;
    ``wall_s`` (simulation and features of each draw).
    """
    unit = SIGNAL_UNITS.get(table["signal"], "U")
    content = {
        name: io.Dataset(table[name], units.format(signal=unit))
        for name, units in _TABLE_UNITS.items()
    }
    attrs = io.provenance(
        config,
        split=table["split"],
        signal=table["signal"],
        parameter_names=json.dumps(table["parameter_names"]),
        feature_names=json.dumps(table["feature_names"]),
        populations=json.dumps(table["populations"]),
    )
    io.write_h5(path, content, attrs=attrs)


def read_batches(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Read batch tables and concatenate them (in the order of ``paths``)."""
    tables = [io.read_h5(path) for path in paths]
    if not tables:
        raise ValueError("no batch files to read")
    attrs = tables[0]["attrs"]
    result: dict[str, Any] = {
        "parameter_names": json.loads(attrs["parameter_names"]),
        "feature_names": json.loads(attrs["feature_names"]),
        "populations": json.loads(attrs["populations"]),
        "signal": attrs["signal"],
        "freqs_Hz": tables[0]["freqs_Hz"],
    }
    for name in _TABLE_UNITS:
        if name != "freqs_Hz":
            result[name] = np.concatenate(
                [t[name] for t in tables if t[name].size] or [tables[0][name]]
            )
    return result
