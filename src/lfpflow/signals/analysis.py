"""Summary statistics: firing rates, CV of ISI, power spectra of the signals."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from lfpflow.signals.spikes import NetworkSpikes

log = logging.getLogger(__name__)

#: Relative difference between a population's measured rate and the rate the
#: kernels' g_eff assumed (``kernels.presynaptic_rates_Hz``) above which the
#: summary warns. g_eff's mean synaptic conductance is proportional to the
#: rates; benchmarks/kernel_rate_sensitivity.py (results in the JSON next to
#: it) recomputed the default kernels with every rate off by a factor: off by
#: 10 % the inhibitory kernels (E:I, I:I) change by 6-8 % (relative L2), off by
#: 20 % by 12-17 %, the excitatory ones by a third of that. Beyond 10 % the
#: kernel error alone would exceed the few-percent amplitude accuracy the
#: ground truth checks the kernel route to (docs/groundtruth.md).
RATE_MISMATCH_WARN = 0.1


def kernel_rate_check(
    measured_Hz: Mapping[str, float], assumed_Hz: Mapping[str, float]
) -> tuple[dict[str, float | None], list[str]]:
    """Relative differences between measured and assumed presynaptic rates, and warnings.

    Parameters
    ----------
    measured_Hz : Mapping
        Population -> mean rate of the network (Hz).
    assumed_Hz : Mapping
        Population -> ``kernels.presynaptic_rates_Hz`` (Hz); populations
        without an assumed rate are left out.

    Returns
    -------
    differences : dict
        Population -> (measured - assumed) / assumed; None where the assumed
        rate is 0.
    warnings : list of str
        One message per population off by more than :data:`RATE_MISMATCH_WARN`
        (or firing where 0 Hz was assumed).
    """
    differences: dict[str, float | None] = {}
    warnings: list[str] = []
    for name, measured in measured_Hz.items():
        if name not in assumed_Hz:
            continue
        assumed = float(assumed_Hz[name])
        difference = (measured - assumed) / assumed if assumed > 0 else None
        differences[name] = difference
        if (difference is None and measured > 0) or (
            difference is not None and abs(difference) > RATE_MISMATCH_WARN
        ):
            warnings.append(
                f"population {name} fires at {measured:.3g} Hz but the kernels' g_eff assumed "
                f"kernels.presynaptic_rates_Hz.{name} = {assumed:g} Hz (more than "
                f"{100 * RATE_MISMATCH_WARN:g} % apart): the kernels' membrane conductance "
                f"does not match this network state"
            )
    return differences, warnings


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


def mean_cv_isi(
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


def band_powers(
    freqs_Hz: np.ndarray,
    psd: np.ndarray,
    bands_Hz: Mapping[str, Sequence[float]],
    *,
    min_bins: int,
) -> dict[str, Any]:
    """Power in each band, or None with the reason where the spectrum cannot resolve it.

    Parameters
    ----------
    freqs_Hz : numpy.ndarray
        Frequencies (Hz), evenly spaced from 0 (Welch bins).
    psd : numpy.ndarray
        Channels x frequencies power spectral density (U^2/Hz).
    bands_Hz : Mapping
        Band name -> ``[low, high)`` (Hz).
    min_bins : int
        Fewest frequency bins a band must hold to be reported: with fewer,
        its "power" would be that of one or two bins whose (Hann-window)
        bandwidth reaches far outside the band.

    Returns
    -------
    dict
        ``band_power``: band -> power per channel (U^2, the PSD integrated
        over the band) or a list of None; ``band_bins``: band -> number of
        bins in the band; ``bands_not_resolved``: band -> reason. Bands in
        order of frequency.
    """
    df = float(freqs_Hz[1] - freqs_Hz[0])
    result: dict[str, Any] = {"band_power": {}, "band_bins": {}, "bands_not_resolved": {}}
    for name, (low, high) in sorted(bands_Hz.items(), key=lambda item: tuple(item[1])):
        in_band = (freqs_Hz >= low) & (freqs_Hz < high)
        n_bins = int(np.count_nonzero(in_band))
        result["band_bins"][name] = n_bins
        if n_bins >= min_bins:
            result["band_power"][name] = [float(v) for v in psd[:, in_band].sum(axis=1) * df]
            continue
        result["band_power"][name] = [None] * psd.shape[0]
        result["bands_not_resolved"][name] = (
            f"{n_bins} frequency bin(s) of {df:.3g} Hz in [{low:g}, {high:g}) Hz, fewer than "
            f"analysis.band_min_bins = {min_bins}: lengthen analysis.psd_nperseg (and the "
            f"analysis window) for a finer resolution"
        )
    return result


def spectral_summary(
    freqs_Hz: np.ndarray,
    psd: np.ndarray,
    *,
    fmax_Hz: float,
    channel_names: Sequence[str],
    bands_Hz: Mapping[str, Sequence[float]] | None = None,
    band_min_bins: int | None = None,
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
        Band name -> ``[low, high)`` in Hz (:func:`band_powers`).
    band_min_bins : int, optional
        Fewest frequency bins a reported band must hold (:func:`band_powers`);
        required with ``bands_Hz``.

    Returns
    -------
    dict
        ``frequency_resolution_Hz`` (the bin spacing); ``peak_frequency_Hz``
        and ``power`` (U^2; the PSD integrated over all frequencies, i.e. the
        variance of the mean-removed signal) per channel;
        ``mean_peak_frequency_Hz``, the peak of the channel-averaged PSD; with
        ``bands_Hz``, the entries of :func:`band_powers`.
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
        "frequency_resolution_Hz": float(df),
        "peak_frequency_Hz": [None if f else float(p) for p, f in zip(peaks, flat, strict=True)],
        "power": [float(p) for p in power],
        "mean_peak_frequency_Hz": None
        if mean_psd is None
        else float(freqs_Hz[band][np.argmax(mean_psd[band])]),
    }
    if bands_Hz:
        if band_min_bins is None:
            raise ValueError("band_min_bins is required with bands_Hz")
        summary.update(band_powers(freqs_Hz, psd, bands_Hz, min_bins=band_min_bins))
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


def _kernel_rate_warnings(
    populations: dict[str, dict[str, Any]], config: Mapping[str, Any]
) -> list[str]:
    """Add the kernels' assumed rates to ``populations``; log and return the warnings."""
    kernels = config.get("kernels", {})
    if not kernels.get("g_eff", False):
        return []  # without g_eff the kernels do not depend on the rates
    assumed = kernels.get("presynaptic_rates_Hz", {})
    measured = {name: entry["mean_rate_Hz"] for name, entry in populations.items()}
    differences, warnings = kernel_rate_check(measured, assumed)
    for name, difference in differences.items():
        populations[name]["kernel_presynaptic_rate_Hz"] = float(assumed[name])
        populations[name]["kernel_rate_relative_difference"] = difference
    for message in warnings:
        log.warning(message)
    return warnings


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
        cv, n_cv = mean_cv_isi(
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
    warnings = _kernel_rate_warnings(populations, config)
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
            band_min_bins=settings["band_min_bins"],
        )
        entry["power_units"] = f"({signal_units[measure]})^2"
        spectra[measure] = entry
    summary: dict[str, Any] = {
        "analysis_window_ms": [t_start, t_stop],
        "populations": populations,
        "signals": spectra,
        "warnings": warnings,
    }
    if benchmarks:
        summary["stage_timings"] = {
            stage: read_benchmark(path) for stage, path in sorted(benchmarks.items())
        }
    return summary
