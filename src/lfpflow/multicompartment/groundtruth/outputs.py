"""The ground truth's files: ``spikes.h5``, ``signals.h5`` and its kernels.

:func:`simulate_groundtruth_to_files` runs the MC network as
``groundtruth.presynaptic_spikes`` says (its own spikes, or the point-neuron
network's replayed) and writes its spikes and signals (LFP mV, CDM nA*um, EEG
uV, MEG fT) with the network's description as root attributes;
:func:`compute_groundtruth_kernel` computes the kernel of one pathway of the
downscaled network, linearised as ``groundtruth.kernel_vrest`` and
``groundtruth.g_eff_rates`` say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfpflow.config.scopes import pathway_key
from lfpflow.multicompartment.groundtruth.description import (
    groundtruth_kernel_config,
    linearisation_potentials,
    network_replay,
    scaled_network_probabilities,
)
from lfpflow.multicompartment.groundtruth.simulation import network_spikes, simulate_groundtruth
from lfpflow.multicompartment.kernels import compute_kernel
from lfpflow.signals.analysis import mean_rates_Hz
from lfpflow.signals.forward import write_signals
from lfpflow.signals.groundtruth import read_linearisation_potentials, uses_measured_linearisation
from lfpflow.signals.head_models import SensorMaps, as_sensor_maps, sensor_signals
from lfpflow.signals.kernel_files import write_kernel
from lfpflow.signals.spikes import read_spikes, write_spikes


def network_attrs(network: Mapping[str, Any]) -> dict[str, Any]:
    """Root attributes describing the simulated MC network."""
    return {
        "scale": network["scale"],
        "k_scale": network["k_scale"],
        "compensating_current_nA": dict(network["compensating_current_nA"]),
        "population_sizes": dict(network["sizes"]),
        "connection_probability": dict(network["connection_probability"]),
        "in_degree": dict(network["in_degree"]),
        "n_connections": dict(network["n_connections"]),
        "n_synapses": dict(network["n_synapses"]),
        "n_threads": int(network["n_threads"]),
        "mpi_ranks": int(network["mpi_ranks"]),
        "tstop_ms": float(network["tstop_ms"]),
        "dt_ms": float(network["dt_ms"]),
        "soma_hh_celsius_degC": float(network["celsius_degC"]),
    }


def groundtruth_signals(
    result: Mapping[str, Any],
    forward_config: Mapping[str, Any],
    sensors: SensorMaps | None = None,
) -> dict[str, Any]:
    """The signals of a :func:`simulate_groundtruth` result for :func:`write_signals`.

    Parameters
    ----------
    result : Mapping
        ``t_ms`` (ms), ``LFP`` (mV), ``CDM`` (nA*um) and ``contributions``
        (population -> ``LFP``, ``CDM``).
    forward_config : Mapping
        ``forward:`` section (head model, MEG).
    sensors : SensorMaps, optional
        The maps of that head, built (:func:`lfpflow.formats.heads.sensor_maps`,
        which reads what only MNE reads: a named montage, a forward solution);
        None builds them from ``forward_config``, for a head that needs no MNE
        file (:func:`lfpflow.signals.head_models.as_sensor_maps`).

    Returns
    -------
    dict
        ``t_ms``, ``LFP``, ``CDM``, ``EEG`` (uV), ``MEG`` (fT, if enabled),
        ``electrodes_um``, ``meg_sensors_um`` and ``contributions`` (population
        -> ``LFP``, ``CDM``, ``EEG``, ``MEG``), see
        :func:`lfpflow.signals.head_models.sensor_signals`.
    """
    if sensors is None:  # built once for the whole signal and every contribution
        sensors = as_sensor_maps(forward_config["head_model"], forward_config.get("meg"))
    signals = {"t_ms": result["t_ms"], "LFP": result["LFP"], "CDM": result["CDM"]}
    signals.update(sensor_signals(result["CDM"], sensors))
    signals["contributions"] = {}
    for name, part in result["contributions"].items():
        head = sensor_signals(part["CDM"], sensors)
        signals["contributions"][name] = {
            **part,
            **{k: v for k, v in head.items() if k in ("EEG", "MEG")},
        }
    return signals


def groundtruth_attrs(
    result: Mapping[str, Any], kernel_config: Mapping[str, Any]
) -> dict[str, Any]:
    """Root attributes of ``groundtruth/signals.h5`` for a :func:`simulate_groundtruth` result.

    Parameters
    ----------
    result : Mapping
        A result recorded with ``record_mean_v=True``.
    kernel_config : Mapping
        ``kernels:`` section (synapse positions, for :func:`linearisation_potentials`).

    Returns
    -------
    dict
        :func:`network_attrs`, ``timing_<phase>_s`` (s), ``max_relative_current_sum``,
        the time-averaged (after the transient) potentials (mV): ``mean_soma_potential_mV``
        per population and ``linearisation_potential_mV`` per pathway, where the
        kernel puts its synapses (``groundtruth.kernel_vrest``).
    """
    attrs = network_attrs(result["network"])
    attrs.update(
        {f"timing_{k}_s": v for k, v in result["timings_s"].items()},
        max_relative_current_sum=result["max_relative_current_sum"],
        mean_soma_potential_mV={
            name: float(part["soma_v_mV"].mean()) for name, part in result["mean_v"].items()
        },
        linearisation_potential_mV=linearisation_potentials(kernel_config, result["mean_v"]),
    )
    return attrs


def _simulate_driven(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path | None,
    network_spikes_path: str | Path | None,
) -> dict[str, Any]:
    """:func:`simulate_groundtruth` driven as ``groundtruth.presynaptic_spikes`` says.

    ``own``: the active network (hh somata). ``network``: passive cells
    replaying :func:`network_replay` of the network's spikes, which become the
    result's ``spikes`` (the spikes that drove the synapses; the cells' own
    are none).
    """
    common = {"mechanisms_dir": mechanisms_dir, "morphology_dir": morphology_dir}
    gt = config["groundtruth"]
    if gt["presynaptic_spikes"] == "own":
        return simulate_groundtruth(config, record_mean_v=True, **common)
    if network_spikes_path is None:
        raise ValueError("groundtruth.presynaptic_spikes: network needs the network's spikes")
    replay = network_replay(
        read_spikes(network_spikes_path),
        scaled_network_probabilities(config["kernels"], gt["scale"])["sizes"],
        t_start_ms=float(config["simulation"]["transient_ms"]),
        duration_ms=float(gt["tstop_ms"]),
    )
    result = simulate_groundtruth(
        config, record_mean_v=True, active_soma=False, replay_spikes=replay, **common
    )
    result["spikes"] = replay
    return result


def simulate_groundtruth_to_files(
    config: Mapping[str, Any],
    *,
    mechanisms_dir: Path,
    morphology_dir: Path | None = None,
    spikes_path: str | Path,
    signals_path: str | Path,
    network_spikes_path: str | Path | None = None,
    sensors: SensorMaps | None = None,
) -> dict[str, Any]:
    """Simulate the MC network; write ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5``.

    ``spikes.h5`` has the :func:`lfpflow.signals.spikes.write_spikes` layout
    (senders are indices within the population); ``signals.h5`` the
    :func:`lfpflow.signals.forward.write_signals` layout (LFP mV, CDM nA*um,
    EEG uV, MEG fT; ``contributions/<post>`` per postsynaptic population) with
    :func:`groundtruth_attrs` as root attributes.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")``.
    mechanisms_dir : Path
        Compiled NMODL mechanisms.
    morphology_dir : Path, optional
        Folder of the morphologies; None:
        :func:`lfpflow.multicompartment.morphology.morphology_dir`.
    spikes_path, signals_path : path-like
        Output files.
    network_spikes_path : path-like, optional
        The network stage's ``spikes.h5``, replayed with
        ``groundtruth.presynaptic_spikes: network`` (:func:`network_replay`);
        ``spikes.h5`` then holds the replayed spikes, the ones the kernels
        predict from.
    sensors : SensorMaps, optional
        The head's EEG (and MEG) maps, built before the simulation
        (:func:`lfpflow.formats.heads.sensor_maps`); None: from
        ``config["forward"]``, for a head that needs no MNE file (see
        :func:`groundtruth_signals`).

    Returns
    -------
    dict
        ``network`` (the result's description), ``timings_s`` (s),
        ``max_relative_current_sum``, ``n_spikes`` (population -> count),
        ``cost_core_s`` (simulate phase: core-seconds per cell per simulated
        second) and ``attrs`` (the root attributes of ``signals.h5``).
    """
    result = _simulate_driven(
        config,
        mechanisms_dir=mechanisms_dir,
        morphology_dir=morphology_dir,
        network_spikes_path=network_spikes_path,
    )
    attrs = groundtruth_attrs(result, config["kernels"])
    attrs.update(
        presynaptic_spikes=config["groundtruth"]["presynaptic_spikes"],
        replayed_events=int(result["network"]["replayed_events"]),
    )
    write_spikes(spikes_path, network_spikes(result), config=config)
    write_signals(
        signals_path,
        groundtruth_signals(result, config["forward"], sensors),
        config=config,
        z_um=result["z_um"],
        attrs=attrs,
    )
    net = result["network"]
    cells = sum(net["sizes"].values())
    return {
        "network": net,
        "timings_s": result["timings_s"],
        "cost_core_s": result["timings_s"]["simulate"]
        * net["n_threads"]
        / cells
        / (net["tstop_ms"] / 1000.0),
        "max_relative_current_sum": result["max_relative_current_sum"],
        "n_spikes": {name: int(data["times"].size) for name, data in result["spikes"].items()},
        "attrs": attrs,
    }


def pathway_kernel_config(
    config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    spikes_path: str | Path,
    truth_path: str | Path,
) -> dict[str, Any]:
    """``kernels:`` section of pathway ``post:pre`` of the downscaled MC network.

    :func:`groundtruth_kernel_config` with, for ``groundtruth.g_eff_rates:
    measured``, the MC network's mean rates (Hz, between
    ``groundtruth.transient_ms`` and ``tstop_ms``) for ``g_eff``, and for
    ``groundtruth.kernel_vrest: measured``, the MC network's time-averaged
    potential (mV) where the pathway's synapses are as linearisation point.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")``.
    post, pre : str
        Pathway.
    spikes_path, truth_path : path-like
        ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5`` (root attribute
        ``linearisation_potential_mV``); read only when needed.

    Returns
    -------
    dict
        The ``kernels:`` section for :func:`lfpflow.multicompartment.kernels.compute_kernel`.
    """
    gt = config["groundtruth"]
    rates = None
    if gt["g_eff_rates"] == "measured":
        rates = mean_rates_Hz(
            read_spikes(spikes_path), t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"]
        )
    vrest = None
    if uses_measured_linearisation(config):
        vrest = read_linearisation_potentials(truth_path)[pathway_key(post, pre)]
    return groundtruth_kernel_config(
        config["kernels"], gt["scale"], rates, vrest_mV=vrest, k_scale=gt["k_scale"]
    )


def compute_groundtruth_kernel(
    config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    spikes_path: str | Path,
    truth_path: str | Path,
    mechanisms_dir: Path,
    morphology_dir: Path | None = None,
    output_path: str | Path,
) -> dict[str, Any]:
    """Kernel of pathway ``post:pre`` of the downscaled MC network; writes its kernel file.

    The kernel (:func:`lfpflow.multicompartment.kernels.compute_kernel`, LFP mV,
    CDM nA*um per spike, lags ms) of :func:`pathway_kernel_config`, written by
    :func:`lfpflow.signals.kernel_files.write_kernel` with that ``kernels:``
    section in its configuration.

    Parameters
    ----------
    config : Mapping
        The validated ``stage_config(config, "groundtruth")`` (``simulation.dt_ms``).
    post, pre : str
        Pathway.
    spikes_path, truth_path : path-like
        ``groundtruth/spikes.h5`` and ``groundtruth/signals.h5``.
    mechanisms_dir : Path
        Compiled NMODL mechanisms.
    morphology_dir : Path, optional
        Folder of the morphologies; None:
        :func:`lfpflow.multicompartment.morphology.morphology_dir`.
    output_path : path-like
        ``groundtruth/kernels/<post>_<pre>.h5``.

    Returns
    -------
    dict
        The ``kernels:`` section used (``presynaptic_rates_Hz`` in Hz,
        ``cell.Vrest_mV`` in mV).
    """
    kernel_config = pathway_kernel_config(
        config, post=post, pre=pre, spikes_path=spikes_path, truth_path=truth_path
    )
    kernel = compute_kernel(
        kernel_config,
        post=post,
        pre=pre,
        dt_ms=config["simulation"]["dt_ms"],
        mechanisms_dir=mechanisms_dir,
        morphology_dir=morphology_dir,
    )
    write_kernel(
        output_path, kernel, config=dict(config, kernels=kernel_config), post=post, pre=pre
    )
    return kernel_config
