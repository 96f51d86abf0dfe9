"""Features of a signal, the same code for simulations and observations.

Per channel, after resampling to ``features.sampling_rate_Hz`` and removing
the mean (numpy, scipy, fooof and pycatch22; no torch):

- ``spectrum``: log10 of the Welch PSD (:func:`lfpflow.signals.analysis.power_spectrum`)
  averaged in ``spectrum_bins`` log-spaced bins between ``fmin_Hz`` and
  ``fmax_Hz``;
- ``aperiodic``: offset and exponent of the aperiodic component of a FOOOF fit
  (Donoghue et al. 2020, Nat Neurosci 23:1655) over the same range;
- ``peaks``: centre frequency (Hz), power above the aperiodic fit (log10) and
  bandwidth (Hz) of the largest FOOOF peak, zeros when there is none;
- ``band_powers``: log10 power of each band of ``analysis.bands_Hz`` that the
  spectrum resolves (:func:`lfpflow.signals.analysis.band_powers`, at least
  ``analysis.band_min_bins`` bins; a band it does not resolve is left out, for
  simulations and observation alike, since the resolution depends only on
  ``nperseg`` and the rate);
- ``catch22``: the 22 catch22 features (Lubba et al. 2019, Data Min Knowl
  Disc 33:1821) of the z-scored signal.

A signal with no variance (a silent network) has no spectrum on a log scale:
its features are NaN and the draw is marked invalid (left out of training).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.signal as sps

from lfpflow.signals.analysis import band_powers, power_spectrum

#: Feature sets in the order they are concatenated.
FEATURE_SETS = ("spectrum", "aperiodic", "peaks", "band_powers", "catch22")


def resample(values: np.ndarray, *, rate_Hz: float, target_Hz: float) -> np.ndarray:
    """Resample channels x time from ``rate_Hz`` to ``target_Hz`` (anti-aliased).

    Polyphase filtering (scipy.signal.resample_poly) with the rational ratio,
    so that simulations (8 kHz at dt = 0.125 ms) and recordings at any rate
    reach the same rate through the same low-pass filter.
    """
    ratio = Fraction(float(target_Hz) / float(rate_Hz)).limit_denominator(10000)
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if ratio == 1:
        return values.copy()
    return sps.resample_poly(values, ratio.numerator, ratio.denominator, axis=-1)


def _log_bins(settings: Mapping[str, Any]) -> np.ndarray:
    return np.geomspace(
        float(settings["fmin_Hz"]), float(settings["fmax_Hz"]), int(settings["spectrum_bins"]) + 1
    )


def spectrum_features(
    freqs_Hz: np.ndarray, psd: np.ndarray, settings: Mapping[str, Any]
) -> np.ndarray:
    """log10 of the PSD averaged in log-spaced bins (channels x bins).

    A bin holding no Welch frequency (low frequencies, short segments) takes
    the PSD interpolated at its centre, so that every bin is defined.
    """
    edges = _log_bins(settings)
    result = np.empty((psd.shape[0], edges.size - 1))
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (freqs_Hz >= low) & (freqs_Hz < high)
        if np.any(inside):
            result[:, k] = psd[:, inside].mean(axis=1)
        else:
            centre = np.sqrt(low * high)
            result[:, k] = [np.interp(centre, freqs_Hz, row) for row in psd]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(result)


def fooof_features(
    freqs_Hz: np.ndarray, psd: np.ndarray, settings: Mapping[str, Any]
) -> np.ndarray:
    """Per channel: aperiodic offset, exponent; largest peak's CF (Hz), PW, BW (Hz).

    NaN where the fit fails (e.g. a flat zero spectrum).
    """
    from fooof import FOOOF

    result = np.full((psd.shape[0], 5), np.nan)
    band = [float(settings["fmin_Hz"]), float(settings["fmax_Hz"])]
    for channel, row in enumerate(psd):
        if not np.all(np.isfinite(row)) or np.any(
            row[(freqs_Hz >= band[0]) & (freqs_Hz <= band[1])] <= 0
        ):
            continue
        model = FOOOF(
            peak_width_limits=list(settings["peak_width_limits_Hz"]),
            max_n_peaks=int(settings["max_n_peaks"]),
            aperiodic_mode="fixed",
            verbose=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(freqs_Hz, row, band)
        if not model.has_model:
            continue
        offset, exponent = model.aperiodic_params_
        peaks = np.atleast_2d(model.peak_params_)
        largest = peaks[np.argmax(peaks[:, 1])] if peaks.size else np.zeros(3)
        result[channel] = [offset, exponent, *largest]
    return result


def band_power_features(
    freqs_Hz: np.ndarray, psd: np.ndarray, bands_Hz: Mapping[str, Sequence[float]], min_bins: int
) -> tuple[np.ndarray, list[str]]:
    """log10 band powers of the resolved bands (channels x bands) and their names."""
    result = band_powers(freqs_Hz, psd, bands_Hz, min_bins=min_bins)
    names = [name for name in result["band_power"] if name not in result["bands_not_resolved"]]
    values = np.array([result["band_power"][name] for name in names], dtype=np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(values.reshape(psd.shape[0], len(names))), names


def catch22_features(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The 22 catch22 features of each z-scored channel, and their names."""
    import pycatch22

    rows, names = [], None
    for row in values:
        sd = row.std()
        if not np.isfinite(sd) or sd == 0:
            rows.append(None)
            continue
        result = pycatch22.catch22_all(((row - row.mean()) / sd).tolist())
        names = result["names"]
        rows.append(result["values"])
    names = names or _catch22_names()
    return np.array([r if r is not None else [np.nan] * 22 for r in rows], dtype=np.float64), names


def _catch22_names() -> list[str]:
    import pycatch22

    return pycatch22.catch22_all(np.sin(np.arange(200) / 5.0).tolist())["names"]


def feature_spectrum(
    values: np.ndarray, *, rate_Hz: float, settings: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resampled, mean-removed signal and its Welch spectrum.

    Parameters
    ----------
    values : numpy.ndarray
        Channels x time (any units U), the analysis window only.
    rate_Hz : float
        Sampling rate of ``values`` (Hz).
    settings : Mapping
        ``config["inference"]["features"]``.

    Returns
    -------
    signal : numpy.ndarray
        Channels x time at ``settings["sampling_rate_Hz"]``, mean removed.
    freqs_Hz, psd : numpy.ndarray
        Welch frequencies (Hz) and PSD (channels x frequencies, U^2/Hz).
    """
    target = float(settings["sampling_rate_Hz"])
    signal = resample(values, rate_Hz=rate_Hz, target_Hz=target)
    signal = signal - signal.mean(axis=-1, keepdims=True)
    if signal.shape[-1] < int(settings["nperseg"]):
        raise ValueError(
            f"the signal has {signal.shape[-1]} samples at {target} Hz, fewer than "
            f"inference.features.nperseg = {settings['nperseg']}"
        )
    freqs, psd = power_spectrum(signal, dt_ms=1e3 / target, nperseg=int(settings["nperseg"]))
    return signal, freqs, psd


def compute_features(
    values: np.ndarray,
    *,
    rate_Hz: float,
    settings: Mapping[str, Any],
    bands_Hz: Mapping[str, Sequence[float]],
    band_min_bins: int,
) -> dict[str, Any]:
    """Feature vector of a signal (channels x time) and what it was computed from.

    Parameters
    ----------
    values : numpy.ndarray
        Channels x time (units of the signal), the analysis window only.
    rate_Hz : float
        Sampling rate (Hz).
    settings : Mapping
        ``config["inference"]["features"]``; ``sets`` chooses the features.
    bands_Hz, band_min_bins
        ``config["analysis"]["bands_Hz"]`` and ``["band_min_bins"]``.

    Returns
    -------
    dict
        ``values`` (1-D float array, NaN where undefined), ``names`` (one per
        value, ``<set>:<feature>:ch<k>``), ``freqs_Hz`` and ``psd`` (the
        Welch spectrum, channels x frequencies).
    """
    signal, freqs, psd = feature_spectrum(values, rate_Hz=rate_Hz, settings=settings)
    parts: list[tuple[str, np.ndarray, list[str]]] = []
    sets = [name for name in FEATURE_SETS if name in settings["sets"]]
    if "spectrum" in sets:
        edges = _log_bins(settings)
        names = [f"{lo:.3g}-{hi:.3g}Hz" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        parts.append(("spectrum", spectrum_features(freqs, psd, settings), names))
    if "aperiodic" in sets or "peaks" in sets:
        fitted = fooof_features(freqs, psd, settings)
        if "aperiodic" in sets:
            parts.append(("aperiodic", fitted[:, :2], ["offset", "exponent"]))
        if "peaks" in sets:
            parts.append(("peaks", fitted[:, 2:], ["cf_Hz", "pw", "bw_Hz"]))
    if "band_powers" in sets:
        values_bp, names_bp = band_power_features(freqs, psd, bands_Hz, band_min_bins)
        parts.append(("band_powers", values_bp, names_bp))
    if "catch22" in sets:
        values_c22, names_c22 = catch22_features(signal)
        parts.append(("catch22", values_c22, names_c22))
    vector, names = [], []
    for set_name, table, columns in parts:
        for channel in range(table.shape[0]):
            vector.extend(table[channel])
            names.extend(f"{set_name}:{column}:ch{channel}" for column in columns)
    vector_array = np.asarray(vector, dtype=np.float64)
    vector_array[~np.isfinite(vector_array)] = np.nan
    return {"values": vector_array, "names": names, "freqs_Hz": freqs, "psd": psd}
