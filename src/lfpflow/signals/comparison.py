"""Comparing a predicted signal with a ground truth: R², std ratio, filtering, quantiles.

Pure numpy/scipy. Signals are arrays ``channels x time`` (a 1-D array is one
channel). For each channel

* ``r2``: the squared Pearson correlation coefficient between ground truth
  and prediction over time (scale- and offset-free: it measures the shape);
* ``std_ratio``: ``std(prediction) / std(ground truth)`` (the amplitude).

Both are computed on the raw signals and on low-pass filtered ones
(Butterworth, applied forward and backward, so without phase shift), after
the start-up transient; the filter runs over the whole signal before the
transient is cut, so its edge effects fall in the transient.

The ground-truth steps that need no simulator are here too (numpy and h5py
only): :func:`predict_groundtruth` (the kernel prediction from the MC
network's spikes, ``groundtruth/predicted.h5``) and
:func:`groundtruth_comparison` / :func:`write_groundtruth_comparison`
(``groundtruth/comparison.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import h5py
import numpy as np

from lfpflow import io
from lfpflow.signals.analysis import mean_rates_Hz
from lfpflow.signals.forward import compute_signals, write_signals
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import population_rates
from lfpflow.signals.spikes import read_spikes

#: Quantiles reported over channels.
QUANTILES = (0.1, 0.5, 0.9)


def _as_2d(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[np.newaxis]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (channels x time), got shape {x.shape}")
    return x


def r_squared(truth: Any, prediction: Any) -> np.ndarray:
    """Squared Pearson correlation per channel.

    Parameters
    ----------
    truth, prediction : array_like
        Channels x time (or 1-D), same shape, any units (the same for both).

    Returns
    -------
    ndarray
        One value in [0, 1] per channel; NaN where either signal is constant.
    """
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    if x.shape[1] < 2:
        raise ValueError("need at least two time points")
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    syy = np.einsum("ij,ij->i", yc, yc)
    sxy = np.einsum("ij,ij->i", xc, yc)
    denominator = sxx * syy
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(denominator > 0, sxy**2 / np.where(denominator > 0, denominator, 1), np.nan)
    return np.clip(r2, 0.0, 1.0)


def std_ratio(truth: Any, prediction: Any) -> np.ndarray:
    """``std(prediction) / std(truth)`` per channel (NaN where the truth is constant)."""
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    sx, sy = x.std(axis=1), y.std(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sx > 0, sy / np.where(sx > 0, sx, 1), np.nan)


def lowpass(x: Any, *, cutoff_Hz: float, dt_ms: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass filter along the last axis.

    Parameters
    ----------
    x : array_like
        Signal(s), time along the last axis, sampled every ``dt_ms``.
    cutoff_Hz : float
        Cut-off frequency (Hz), below the Nyquist frequency ``500 / dt_ms``.
    dt_ms : float
        Sampling interval (ms).
    order : int
        Filter order (the response is squared by the forward-backward pass).

    Returns
    -------
    ndarray
        Filtered signal, same shape.
    """
    from scipy.signal import butter, sosfiltfilt

    fs_Hz = 1000.0 / float(dt_ms)
    if not 0 < cutoff_Hz < fs_Hz / 2:
        raise ValueError(f"cutoff_Hz ({cutoff_Hz}) must lie in (0, {fs_Hz / 2}) Hz")
    sos = butter(int(order), float(cutoff_Hz), btype="low", fs=fs_Hz, output="sos")
    return sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=-1)


def summarise(values: Any) -> dict[str, float]:
    """Median and 10 / 90 % quantiles over channels (NaNs ignored)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"median": float("nan"), "q10": float("nan"), "q90": float("nan")}
    q10, median, q90 = np.quantile(finite, QUANTILES)
    return {"median": float(median), "q10": float(q10), "q90": float(q90)}


def compare_channels(truth: Any, prediction: Any) -> dict[str, Any]:
    """R² and std ratio per channel, with their median and 10 / 90 % quantiles.

    Returns
    -------
    dict
        ``r2``, ``std_ratio`` (lists, one value per channel), ``median_r2``,
        ``q10_r2``, ``q90_r2``, ``median_std_ratio``, ``q10_std_ratio``,
        ``q90_std_ratio``.
    """
    r2 = r_squared(truth, prediction)
    ratio = std_ratio(truth, prediction)
    out: dict[str, Any] = {"r2": r2.tolist(), "std_ratio": ratio.tolist()}
    for name, values in (("r2", r2), ("std_ratio", ratio)):
        for stat, value in summarise(values).items():
            out[f"{stat}_{name}"] = value
    return out


def compare_signal(
    truth: Any,
    prediction: Any,
    *,
    dt_ms: float,
    transient_ms: float,
    cutoff_Hz: float,
    order: int = 4,
) -> dict[str, Any]:
    """:func:`compare_channels` on raw and on low-pass filtered signals after the transient.

    Parameters
    ----------
    truth, prediction : array_like
        Channels x time (or 1-D), sampled every ``dt_ms`` from t = 0.
    dt_ms, transient_ms : float
        Sampling interval and the start-up period left out (ms).
    cutoff_Hz, order : float, int
        Low-pass filter of the ``filtered`` comparison.

    Returns
    -------
    dict
        :func:`compare_channels` of the raw signals, plus ``filtered``: the same
        for the filtered ones.
    """
    x, y = _as_2d(truth, "truth"), _as_2d(prediction, "prediction")
    if x.shape != y.shape:
        raise ValueError(f"truth {x.shape} and prediction {y.shape} differ in shape")
    first = int(round(transient_ms / dt_ms))
    if first >= x.shape[1] - 1:
        raise ValueError(f"transient_ms ({transient_ms}) leaves fewer than two samples")
    result = compare_channels(x[:, first:], y[:, first:])
    xf = lowpass(x, cutoff_Hz=cutoff_Hz, dt_ms=dt_ms, order=order)[:, first:]
    yf = lowpass(y, cutoff_Hz=cutoff_Hz, dt_ms=dt_ms, order=order)[:, first:]
    result["filtered"] = compare_channels(xf, yf)
    return result


def compare_all(
    truth: Mapping[str, Any],
    prediction: Mapping[str, Any],
    *,
    dt_ms: float,
    transient_ms: float,
    cutoff_Hz: float,
    order: int = 4,
) -> dict[str, Any]:
    """Compare ``LFP``, ``CDM_z`` (row 2 of ``CDM``) and ``EEG`` of two signal sets.

    Parameters
    ----------
    truth, prediction : Mapping
        ``LFP`` (channels x time), ``CDM`` (3 x time), ``EEG`` (electrodes x
        time); the same number of samples in both.

    Returns
    -------
    dict
        ``{"LFP": ..., "CDM_z": ..., "EEG": ...}``, each :func:`compare_signal`.
    """
    pairs = {
        "LFP": (truth["LFP"], prediction["LFP"]),
        "CDM_z": (np.asarray(truth["CDM"])[2], np.asarray(prediction["CDM"])[2]),
        "EEG": (truth["EEG"], prediction["EEG"]),
    }
    return {
        name: compare_signal(
            a, b, dt_ms=dt_ms, transient_ms=transient_ms, cutoff_Hz=cutoff_Hz, order=order
        )
        for name, (a, b) in pairs.items()
    }


def meets_targets(result: Mapping[str, Any], targets: Mapping[str, float]) -> dict[str, bool]:
    """Whether the raw comparison reaches the ``groundtruth.targets``.

    Returns
    -------
    dict
        ``median_r2_LFP``, ``median_r2_CDM_z`` and ``std_ratio`` (median std
        ratios of LFP and CDM_z within ``[std_ratio_min, std_ratio_max]``).
    """
    low, high = targets["std_ratio_min"], targets["std_ratio_max"]
    return {
        "median_r2_LFP": bool(result["LFP"]["median_r2"] >= targets["median_r2_LFP"]),
        "median_r2_CDM_z": bool(result["CDM_z"]["median_r2"] >= targets["median_r2_CDM_z"]),
        "std_ratio": bool(
            all(low <= result[s]["median_std_ratio"] <= high for s in ("LFP", "CDM_z"))
        ),
    }


# --------------------------------------------------------------------------
# ground truth (groundtruth/predicted.h5, groundtruth/comparison.json)
# --------------------------------------------------------------------------

#: Root attributes of groundtruth/signals.h5 (the MC network) copied to predicted.h5.
PREDICTION_NETWORK_ATTRS = (
    "scale",
    "population_sizes",
    "connection_probability",
    "in_degree",
    "n_threads",
    "mpi_ranks",
    "tstop_ms",
    "dt_ms",
)

#: Root attributes of groundtruth/signals.h5 reported under ``network`` in comparison.json.
COMPARISON_NETWORK_ATTRS = (
    "scale",
    "population_sizes",
    "connection_probability",
    "in_degree",
    "n_connections",
    "n_synapses",
    "n_threads",
    "mpi_ranks",
    "tstop_ms",
)

COMPARISON_NOTES = (
    "r2: squared Pearson correlation per channel after the transient; std_ratio: "
    "std(prediction)/std(ground truth); filtered: zero-phase Butterworth low-pass. "
    "populations: ground-truth contribution of each postsynaptic population vs the sum of "
    "its predicted pathway contributions (a per-pathway split of the MC network does "
    "not exist: its currents mix all inputs nonlinearly)."
)


def read_linearisation_potentials(truth_path: str | os.PathLike) -> dict[str, float]:
    """``"post:pre"`` -> potential (mV) at the MC network's synapses of that pathway.

    Parameters
    ----------
    truth_path : path-like
        ``groundtruth/signals.h5`` (root attribute ``linearisation_potential_mV``,
        JSON, written by the ``groundtruth_simulate`` rule).

    Returns
    -------
    dict
        Pathway -> time-averaged, synapse-weighted membrane potential (mV).
    """
    with h5py.File(truth_path, "r") as truth:
        return json.loads(truth.attrs["linearisation_potential_mV"])


def predict_groundtruth(
    config: Mapping[str, Any],
    *,
    spikes_path: str | os.PathLike,
    truth_path: str | os.PathLike,
    kernel_paths: Iterable[str | os.PathLike],
    output_path: str | os.PathLike,
) -> dict[str, Any]:
    """Kernel prediction of the MC network's signals from its own spikes; writes predicted.h5.

    Population spike counts per ``simulation.dt_ms`` bin up to
    ``groundtruth.tstop_ms`` (:func:`lfpflow.signals.rates.population_rates`)
    are convolved with the ground-truth kernels
    (:func:`lfpflow.signals.forward.compute_signals`). The file has the layout
    of ``signals.h5`` (LFP mV, CDM nA*um, EEG uV, MEG fT; contributions per
    pathway) with, as root attributes, the network description of
    ``truth_path``, the measured mean rates (Hz, after
    ``groundtruth.transient_ms``) and the kernels' linearisation potentials (mV).

    Parameters
    ----------
    config : Mapping
        Resolved configuration (``simulation.dt_ms``, ``groundtruth``,
        ``forward``, ``kernels.cell.Vrest_mV``).
    spikes_path, truth_path : path-like
        ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5`` of the MC network.
    kernel_paths : iterable of path-like
        ``groundtruth/kernels/<post>_<pre>.h5``, one per pathway.
    output_path : path-like
        ``groundtruth/predicted.h5``.

    Returns
    -------
    dict
        ``n_pathways``, ``n_bins`` and ``measured_rates_Hz`` (population -> Hz).
    """
    gt = config["groundtruth"]
    spikes = read_spikes(spikes_path)
    with h5py.File(truth_path, "r") as truth:
        truth_attrs = dict(truth.attrs)
    t_ms, counts = population_rates(
        spikes.times_ms, tstop_ms=gt["tstop_ms"], dt_ms=config["simulation"]["dt_ms"]
    )
    kernels = load_kernels(kernel_paths)
    forward = config["forward"]
    signals = compute_signals(t_ms, counts, kernels, forward["head_model"], forward["meg"])
    first = next(iter(kernels.values()))
    rates = mean_rates_Hz(spikes, t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"])
    if gt["kernel_vrest"] == "measured":
        vrest_mV = json.loads(truth_attrs["linearisation_potential_mV"])
    else:
        vrest = config["kernels"]["cell"]["Vrest_mV"]
        vrest_mV = {f"{post}:{pre}": vrest for post, pre in kernels}
    attrs = {k: truth_attrs[k] for k in PREDICTION_NETWORK_ATTRS if k in truth_attrs}
    attrs.update(
        measured_rates_Hz=rates,
        g_eff_rates=gt["g_eff_rates"],
        kernel_vrest=gt["kernel_vrest"],
        kernel_vrest_mV=vrest_mV,
        kernel_g_eff=bool(first["attrs"]["g_eff"]),
    )
    write_signals(output_path, signals, config=config, z_um=first["z_um"], attrs=attrs)
    return {"n_pathways": len(kernels), "n_bins": int(t_ms.size), "measured_rates_Hz": rates}


def _comparison_network(
    truth_attrs: Mapping[str, Any], predicted_attrs: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``network`` entry of comparison.json: description, timings (s), potentials (mV)."""
    network = {
        key: json.loads(truth_attrs[key]) if isinstance(truth_attrs[key], str) else truth_attrs[key]
        for key in COMPARISON_NETWORK_ATTRS
    }
    network["measured_rates_Hz"] = json.loads(predicted_attrs["measured_rates_Hz"])
    network["timings_s"] = {
        k.removeprefix("timing_").removesuffix("_s"): v
        for k, v in truth_attrs.items()
        if k.startswith("timing_")
    }
    network["max_relative_current_sum"] = truth_attrs["max_relative_current_sum"]
    for key in ("mean_soma_potential_mV", "linearisation_potential_mV"):
        network[key] = json.loads(truth_attrs[key])
    network["kernel_vrest"] = predicted_attrs["kernel_vrest"]
    network["kernel_vrest_mV"] = json.loads(predicted_attrs["kernel_vrest_mV"])
    return network


def groundtruth_comparison(
    truth: Mapping[str, Any], predicted: Mapping[str, Any], config: Mapping[str, Any]
) -> dict[str, Any]:
    """The content of ``groundtruth/comparison.json``.

    :func:`compare_all` of the whole signals and, per postsynaptic population,
    of its ground-truth contribution against the sum of its predicted pathway
    contributions (both cut to the shorter of the two signals); the MC
    network's description, the settings, the targets and whether they are met
    (:func:`meets_targets`), provenance and notes.

    Parameters
    ----------
    truth, predicted : Mapping
        ``groundtruth/signals.h5`` and ``groundtruth/predicted.h5`` as read by
        :func:`lfpflow.io.read_h5` (LFP mV, CDM nA*um, EEG uV,
        ``contributions``, ``attrs``).
    config : Mapping
        Resolved configuration (``simulation.dt_ms``, ``groundtruth``).

    Returns
    -------
    dict
        ``LFP``, ``CDM_z``, ``EEG`` (each :func:`compare_signal`),
        ``populations``, ``network``, ``settings`` (``dt_ms``, ``transient_ms``,
        ``cutoff_Hz``, ``order``), ``targets``, ``meets_targets``,
        ``provenance``, ``notes``.
    """
    gt = config["groundtruth"]
    n = min(truth["LFP"].shape[1], predicted["LFP"].shape[1])
    settings = {
        "dt_ms": config["simulation"]["dt_ms"],
        "transient_ms": gt["transient_ms"],
        "cutoff_Hz": gt["filter"]["cutoff_Hz"],
        "order": gt["filter"]["order"],
    }

    def cut(signals: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.asarray(signals[k])[..., :n] for k in ("LFP", "CDM", "EEG")}

    result = compare_all(cut(truth), cut(predicted), **settings)
    populations = {}
    for post, part in truth["contributions"].items():
        keys = [k for k in predicted["contributions"] if k.split("_")[0] == post]
        summed = {
            m: sum(np.asarray(predicted["contributions"][k][m]) for k in keys)
            for m in ("LFP", "CDM", "EEG")
        }
        populations[post] = compare_all(cut(part), cut(summed), **settings)
        populations[post]["pathways"] = sorted(keys)
    result["populations"] = populations
    result["network"] = _comparison_network(truth["attrs"], predicted["attrs"])
    result["settings"] = settings
    result["targets"] = dict(gt["targets"])
    result["meets_targets"] = meets_targets(result, gt["targets"])
    result["provenance"] = io.provenance(config)
    result["notes"] = COMPARISON_NOTES
    return result


def write_groundtruth_comparison(
    path: str | os.PathLike,
    *,
    truth_path: str | os.PathLike,
    predicted_path: str | os.PathLike,
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """Read the MC ground truth and the prediction; write :func:`groundtruth_comparison`.

    Parameters
    ----------
    path : path-like
        ``groundtruth/comparison.json`` (written atomically).
    truth_path, predicted_path : path-like
        ``groundtruth/signals.h5`` and ``groundtruth/predicted.h5``.
    config : Mapping
        Resolved configuration.

    Returns
    -------
    dict
        What was written.
    """
    result = groundtruth_comparison(io.read_h5(truth_path), io.read_h5(predicted_path), config)
    io.write_json(path, result)
    return result
