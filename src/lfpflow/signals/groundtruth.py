"""The simulator-free half of the ground truth: its kernel prediction and comparison.

:mod:`lfpflow.multicompartment.groundtruth` simulates the multicompartment (MC)
network with NEURON; the steps here need only numpy and h5py:
:func:`predict_groundtruth` convolves the MC network's own spikes with its
kernels (``groundtruth/predicted.h5``), and :func:`groundtruth_comparison` /
:func:`write_groundtruth_comparison` score the prediction against the MC
signals with :mod:`lfpflow.signals.comparison` (``groundtruth/comparison.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import h5py
import numpy as np

from lfpflow import io
from lfpflow.config.scopes import pathway_key
from lfpflow.signals.analysis import mean_rates_Hz
from lfpflow.signals.comparison import compare_all, meets_targets
from lfpflow.signals.forward import compute_signals, write_signals
from lfpflow.signals.head_models import SensorMaps, as_sensor_maps
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import population_rates
from lfpflow.signals.spikes import read_spikes

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
    "Per channel after the transient, each signal's mean over that window removed: "
    "r2: coefficient of determination 1 - SS_res/SS_tot of the prediction as it is "
    "(no fitted scale; <= 1, < 0 when worse than zero fluctuation, -3 for a sign-flipped "
    "prediction); correlation: signed Pearson r; squared_correlation: r^2 (sign- and "
    "scale-blind, the R^2 reported before issue 13); std_ratio: std(prediction)/std(ground "
    "truth) (sign-blind). r2 = 2 r s - s^2 with s the std ratio. Targets: median r2 of LFP "
    "and CDM_z, median std ratios. filtered: zero-phase Butterworth low-pass. populations: "
    "ground-truth contribution of each postsynaptic population vs the sum of its predicted "
    "pathway contributions (a per-pathway split of the MC network does not exist: its "
    "currents mix all inputs nonlinearly)."
)


def uses_measured_linearisation(config: Mapping[str, Any]) -> bool:
    """Whether the ground-truth kernels linearise at the MC network's measured potentials.

    ``groundtruth.kernel_vrest: measured`` applies to conductance synapses
    only. A current synapse (``kernels.synapse_type: current``) has no driving
    force to linearise: the MC network gives it the peak current
    ``weights_uS (e_rev - Vrest_mV)`` at the description's ``Vrest_mV``, and
    its kernels must use the same current, whatever the potential.
    """
    return (
        config["groundtruth"]["kernel_vrest"] == "measured"
        and config["kernels"]["synapse_type"] == "conductance"
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
    sensors: SensorMaps | None = None,
) -> dict[str, Any]:
    """Kernel prediction of the MC network's signals from its own spikes; writes predicted.h5.

    Population spike counts per ``simulation.dt_ms`` bin ``[k dt, (k + 1) dt)``
    up to ``groundtruth.tstop_ms`` (:func:`lfpflow.signals.rates.population_rates`)
    are convolved with the ground-truth kernels
    (:func:`lfpflow.signals.forward.compute_signals`); sample k is the signal at
    k dt, like sample k of the MC signals. The file has the layout
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
    sensors : SensorMaps, optional
        The head's EEG (and MEG) maps, built
        (:func:`lfpflow.formats.heads.sensor_maps`, which reads what only MNE
        reads); None: from ``config["forward"]``, for a head that needs no MNE
        file (:func:`lfpflow.signals.head_models.as_sensor_maps`).

    Returns
    -------
    dict
        ``n_pathways``, ``n_bins`` and ``measured_rates_Hz`` (population -> Hz).
    """
    gt = config["groundtruth"]
    spikes = read_spikes(spikes_path)
    with h5py.File(truth_path, "r") as truth:
        truth_attrs = dict(truth.attrs)
    dt_ms = config["simulation"]["dt_ms"]
    t_ms, counts = population_rates(spikes.times_ms, tstop_ms=gt["tstop_ms"], dt_ms=dt_ms)
    kernels = load_kernels(kernel_paths)
    if sensors is None:
        sensors = as_sensor_maps(config["forward"]["head_model"], config["forward"]["meg"])
    signals = compute_signals(t_ms, counts, kernels, sensors, dt_ms=dt_ms)
    first = next(iter(kernels.values()))
    rates = mean_rates_Hz(spikes, t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"])
    if uses_measured_linearisation(config):
        vrest_mV = json.loads(truth_attrs["linearisation_potential_mV"])
    else:
        vrest = config["kernels"]["cell"]["Vrest_mV"]
        vrest_mV = {pathway_key(post, pre): vrest for post, pre in kernels}
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
    # in-degree scaling and the spikes that drove the MC network (absent in
    # files written before groundtruth.k_scale and presynaptic_spikes existed)
    network["k_scale"] = float(truth_attrs.get("k_scale", 1.0))
    network["compensating_current_nA"] = json.loads(
        truth_attrs.get("compensating_current_nA", "{}")
    )
    network["presynaptic_spikes"] = str(truth_attrs.get("presynaptic_spikes", "own"))
    network["replayed_events"] = int(truth_attrs.get("replayed_events", 0))
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
        ``LFP``, ``CDM_z``, ``EEG`` (each
        :func:`lfpflow.signals.comparison.compare_signal`: per channel ``r2``
        (coefficient of determination), ``correlation`` (signed),
        ``squared_correlation``, ``std_ratio``, their ``median_``/``q10_``/``q90_``
        summaries, and the same under ``filtered``),
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
