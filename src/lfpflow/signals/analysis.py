"""Summary statistics: firing rates, CV of ISI, power spectra of the signals."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from lfpflow.signals.spikes import NetworkSpikes


def mean_rate_hz(
    spike_times_ms: np.ndarray, population_size: int, *, t_start_ms: float, t_stop_ms: float
) -> float:
    """Mean firing rate per neuron (Hz) in [t_start, t_stop).

    Parameters
    ----------
    spike_times_ms : numpy.ndarray
        Spike times of the whole population (ms).
    population_size : int
        Number of neurons, silent ones included.
    t_start_ms, t_stop_ms : float
        Analysis window (ms).
    """
    if t_stop_ms <= t_start_ms:
        raise ValueError(f"t_stop_ms ({t_stop_ms}) must exceed t_start_ms ({t_start_ms})")
    times = np.asarray(spike_times_ms)
    n_spikes = np.count_nonzero((times >= t_start_ms) & (times < t_stop_ms))
    return float(n_spikes / population_size / ((t_stop_ms - t_start_ms) * 1e-3))


def mean_rates_Hz(
    spikes: NetworkSpikes, *, t_start_ms: float, t_stop_ms: float
) -> dict[str, float]:
    """Mean firing rate per neuron (Hz) of every population in [t_start, t_stop).

    Parameters
    ----------
    spikes : NetworkSpikes
        Spike times (ms) and sizes of the populations.
    t_start_ms, t_stop_ms : float
        Analysis window (ms).

    Returns
    -------
    dict
        Population -> :func:`mean_rate_hz` (Hz), in the order of ``spikes.times_ms``.
    """
    return {
        name: mean_rate_hz(
            times,
            spikes.population_sizes[name],
            t_start_ms=t_start_ms,
            t_stop_ms=t_stop_ms,
        )
        for name, times in spikes.times_ms.items()
    }


def cv_isi(
    spike_times_ms: np.ndarray,
    senders: np.ndarray,
    *,
    t_start_ms: float,
    t_stop_ms: float,
    min_spikes: int = 3,
) -> tuple[float, int]:
    """Mean over neurons of the coefficient of variation of inter-spike intervals.

    Parameters
    ----------
    spike_times_ms, senders : numpy.ndarray
        Spike times (ms) and the neuron that fired each spike.
    t_start_ms, t_stop_ms : float
        Only spikes in [t_start, t_stop) count (ms).
    min_spikes : int
        Neurons with fewer spikes are left out (a CV needs >= 2 intervals).

    Returns
    -------
    cv : float
        Mean CV (std / mean of the ISIs) over included neurons; NaN if none.
    n_neurons : int
        Number of neurons included.
    """
    times = np.asarray(spike_times_ms, dtype=np.float64)
    who = np.asarray(senders)
    keep = (times >= t_start_ms) & (times < t_stop_ms)
    times, who = times[keep], who[keep]
    order = np.lexsort((times, who))
    times, who = times[order], who[order]
    if times.size < 2:
        return float("nan"), 0
    intervals = np.diff(times)
    same_neuron = who[1:] == who[:-1]
    neuron_of_interval = who[1:][same_neuron]
    intervals = intervals[same_neuron]
    neurons, inverse, n_intervals = np.unique(
        neuron_of_interval, return_inverse=True, return_counts=True
    )
    total = np.bincount(inverse, weights=intervals)
    total_sq = np.bincount(inverse, weights=intervals**2)
    mean = total / n_intervals
    variance = np.maximum(total_sq / n_intervals - mean**2, 0.0)
    enough = n_intervals >= (min_spikes - 1)
    if not np.any(enough):
        return float("nan"), 0
    cvs = np.sqrt(variance[enough]) / mean[enough]
    return float(np.mean(cvs)), int(np.count_nonzero(enough))


def power_spectrum(
    values: np.ndarray, *, dt_ms: float, nperseg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density along the last axis.

    Parameters
    ----------
    values : numpy.ndarray
        Channels x time (any units U).
    dt_ms : float
        Sampling interval (ms).
    nperseg : int
        Segment length (samples), capped at the signal length.

    Returns
    -------
    freqs_Hz : numpy.ndarray
    psd : numpy.ndarray
        Channels x frequencies, U^2/Hz.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    fs = 1e3 / dt_ms
    return sps.welch(values, fs=fs, nperseg=min(nperseg, values.shape[-1]), axis=-1)


def spectral_summary(
    freqs_Hz: np.ndarray,
    psd: np.ndarray,
    *,
    fmax_Hz: float,
    channel_names: Sequence[str],
    bands_Hz: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Peak frequency (0 < f <= fmax), total power and band powers per channel.

    Parameters
    ----------
    freqs_Hz : numpy.ndarray
        Frequencies (Hz), evenly spaced from 0.
    psd : numpy.ndarray
        Channels x frequencies power spectral density (U^2/Hz).
    fmax_Hz : float
        Highest frequency (Hz) searched for the peak.
    channel_names : sequence of str
        One name per channel.
    bands_Hz : Mapping, optional
        Band name -> ``[low, high)`` in Hz; the power in each band is the PSD
        integrated over it (U^2).

    Returns
    -------
    dict
        ``peak_frequency_Hz`` and ``power`` (U^2; the PSD integrated over all
        frequencies, i.e. the variance of the mean-removed signal) per channel;
        ``mean_peak_frequency_Hz``, the peak of the channel-averaged PSD; with
        ``bands_Hz``, ``band_power``: band -> power per channel (U^2), bands
        in order of frequency, ``None`` for a band holding no frequency bin.
    """
    df = freqs_Hz[1] - freqs_Hz[0]
    band = (freqs_Hz > 0) & (freqs_Hz <= fmax_Hz)
    peaks = freqs_Hz[band][np.argmax(psd[:, band], axis=1)]
    power = psd.sum(axis=1) * df
    # a channel that is exactly zero (e.g. CDM x, y of a symmetric column) has no peak
    flat = ~np.any(psd[:, band] > 0, axis=1)
    mean_psd = psd[~flat].mean(axis=0) if np.any(~flat) else None
    summary: dict[str, Any] = {
        "channels": list(channel_names),
        "peak_frequency_Hz": [None if f else float(p) for p, f in zip(peaks, flat, strict=True)],
        "power": [float(p) for p in power],
        "mean_peak_frequency_Hz": None
        if mean_psd is None
        else float(freqs_Hz[band][np.argmax(mean_psd[band])]),
    }
    if bands_Hz:
        # bands in order of frequency; a band narrower than the frequency
        # resolution holds no bin and has no power estimate (None, not 0)
        summary["band_power"] = {}
        for name, (low, high) in sorted(bands_Hz.items(), key=lambda item: tuple(item[1])):
            in_band = (freqs_Hz >= low) & (freqs_Hz < high)
            summary["band_power"][name] = (
                [float(value) for value in psd[:, in_band].sum(axis=1) * df]
                if np.any(in_band)
                else [None] * psd.shape[0]
            )
    return summary


def read_benchmark(path: str | Path) -> dict[str, float]:
    """Wall seconds and max RSS (MB) from a Snakemake ``benchmark:`` TSV.

    A benchmark repeated with ``repeat(...)`` has one row per repetition: the
    values are their means. A missing or non-numeric column gives NaN.
    """
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: no benchmark rows")

    def mean(key: str) -> float:
        try:
            return float(np.mean([float(row[key]) for row in rows]))
        except (KeyError, ValueError):
            return float("nan")

    return {"s": mean("s"), "max_rss_MB": mean("max_rss")}


def summarise(
    *,
    spikes: Any,
    signals: Mapping[str, Any],
    signal_units: Mapping[str, str],
    config: Mapping[str, Any],
    benchmarks: Mapping[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Everything in ``summary.json``.

    Parameters
    ----------
    spikes : lfpflow.signals.spikes.NetworkSpikes
        The network's spikes.
    signals : Mapping
        ``t_ms`` and channels x time arrays (``LFP``, ``CDM``, ``EEG``, ...).
    signal_units : Mapping
        Units of each signal.
    config : Mapping
        Resolved configuration (``simulation``, ``analysis``).
    benchmarks : Mapping, optional
        Stage name -> Snakemake benchmark TSV.
    """
    sim = config["simulation"]
    settings = config["analysis"]
    t_start, t_stop = float(sim["transient_ms"]), float(sim["tstop_ms"])
    populations = {}
    for name, size in spikes.population_sizes.items():
        cv, n_cv = cv_isi(
            spikes.times_ms[name], spikes.senders[name], t_start_ms=t_start, t_stop_ms=t_stop
        )
        populations[name] = {
            "size": int(size),
            "mean_rate_Hz": mean_rate_hz(
                spikes.times_ms[name], size, t_start_ms=t_start, t_stop_ms=t_stop
            ),
            "cv_isi": cv,
            "cv_isi_neurons": n_cv,
        }
        assumed = config.get("kernels", {}).get("presynaptic_rates_Hz", {}).get(name)
        if assumed is not None:
            # the kernels' g_eff assumed this rate; a large mismatch is worth a look
            populations[name]["kernel_presynaptic_rate_Hz"] = float(assumed)
    t_ms = np.asarray(signals["t_ms"])
    after_transient = t_ms >= t_start
    spectra = {}
    for measure in ("LFP", "CSD", "CDM", "EEG", "MEG"):
        if measure not in signals:
            continue
        values = np.asarray(signals[measure])[:, after_transient]
        freqs, psd = power_spectrum(values, dt_ms=sim["dt_ms"], nperseg=settings["psd_nperseg"])
        names = ["x", "y", "z"] if measure == "CDM" else [str(i) for i in range(values.shape[0])]
        entry = spectral_summary(
            freqs,
            psd,
            fmax_Hz=settings["psd_fmax_Hz"],
            channel_names=names,
            bands_Hz=settings.get("bands_Hz"),
        )
        entry["power_units"] = f"({signal_units[measure]})^2"
        spectra[measure] = entry
    summary: dict[str, Any] = {
        "analysis_window_ms": [t_start, t_stop],
        "populations": populations,
        "signals": spectra,
    }
    if benchmarks:
        summary["stage_timings"] = {
            stage: read_benchmark(path) for stage, path in sorted(benchmarks.items())
        }
    return summary
