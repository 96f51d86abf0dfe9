"""Single-neuron characterisation of every point-neuron model in the catalogue.

For one catalogue entry (:mod:`lfpflow.pointneuron.catalogue`) this measures, with NEST:

* the **rheobase** (``rheobase_pA``, an amplitude that met the criterion,
  and ``rheobase_lower_pA``, one that did not): the criterion and the search
  are described in :mod:`lfpflow.pointneuron.rheobase`;
* the **F-I curve under DC** (``dc_pA``, ``rate_dc_Hz``): steady-state rate,
  the inverse of the mean inter-spike interval (ISI) of the spikes in the
  analysis window, 0 with fewer than two spikes there (so ``rate_dc_Hz > 0``
  exactly when the rheobase criterion holds); ``rate_dc_count_Hz`` is the
  plain spike count over the window length;
* the **F-I curve and CV of ISI under Gaussian white noise** for several noise
  amplitudes (``gwn_sigma_pA`` x ``gwn_mean_pA``): rate = spike count in the
  window / window length, pooled over ``gwn_trials`` neurons per setting; CV
  of the pooled ISIs (NaN with fewer than ``min_isis_cv`` ISIs);
* an **example step response** (``example_dc_pA`` from ``onset_ms``): spike
  times, membrane potential and, for the Izhikevich models, the recovery
  variable ``u`` (for the v-u phase plane).

NEST kernels, seeding and inputs are those of :mod:`lfpflow.pointneuron.rheobase`
(:class:`~lfpflow.pointneuron.rheobase.ModelKernel`). Every neuron of one
measurement (one per DC amplitude, noise setting and trial, unconnected)
lives in one NEST kernel and is simulated once, so a whole model takes
seconds. One virtual process (``neurons.n_vp``) is the default: with a few
hundred neurons the per-step synchronisation of threads costs more than it
saves (measured here: ``hh`` 3.3 s with 1, 18.5 s with 2 on a busy machine).

Amplitudes not given per model (``neurons.models.<name>``) scale with the
rheobase, because the catalogue's models span two orders of magnitude of
current (``izhikevich2003`` fires from about 4 "pA", ``lif`` from 375 pA).

NEST is imported lazily, inside the functions (as in :mod:`lfpflow.pointneuron.network`).
This module only simulates and writes ``results/neurons/<model>.h5``; the
figure is drawn from that file by :mod:`lfpflow.figures.neurons`.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io
from lfpflow.config.scopes import neuron_model_scope
from lfpflow.pointneuron.catalogue import NeuronModel, get_model
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng
from lfpflow.pointneuron.rheobase import (
    ModelKernel,
    analysis_window,
    connect_dc_steps,
    create_neurons,
    find_rheobase,
    in_window,
    pooled_isi_cv,
    run_length_ms,
    spike_trains,
    steady_rate_Hz,
)

log = logging.getLogger(__name__)

#: NEST recordables holding the Izhikevich recovery variable (``u``).
RECOVERY_RECORDABLES = ("u", "U_m")


def model_scope(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The configuration one model's characterisation depends on.

    Parameters
    ----------
    config : Mapping
        Resolved configuration (:func:`lfpflow.resolve.resolve_config`); only
        its ``neurons`` section is read, as it is.
    model_name : str
        Catalogue name (:data:`lfpflow.pointneuron.catalogue.CATALOGUE`).

    Returns
    -------
    dict
        ``{"neurons": ...}`` with ``models`` reduced to this model's entry, so
        that changing another model's settings does not rerun this one
        (Snakemake ``params``): :func:`lfpflow.config.scopes.neuron_model_scope`.
    """
    get_model(model_name)  # a name the catalogue lacks is refused here
    return neuron_model_scope(config, model_name)


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


def _model_settings(cfg: Mapping[str, Any], model_name: str, rheobase: float) -> dict[str, Any]:
    over = cfg["models"].get(model_name, {})
    dc_max = float(over.get("dc_max_pA", cfg["dc_max_rheobase"] * rheobase))
    sigmas = over.get("gwn_sigma_pA")
    if sigmas is None:
        sigmas = [float(f) * rheobase for f in cfg["gwn_sigma_rheobase"]]
    mean_max = float(over.get("gwn_mean_max_pA", cfg["gwn_mean_max_rheobase"] * rheobase))
    return {
        "dc_pA": np.linspace(0.0, dc_max, int(cfg["n_dc"])),
        "gwn_sigma_pA": np.asarray(sigmas, dtype=np.float64),
        "gwn_mean_pA": np.linspace(0.0, mean_max, int(cfg["n_gwn_mean"])),
        "example_dc_pA": float(over.get("example_dc_pA", cfg["example_dc_rheobase"] * rheobase)),
    }


@dataclass
class _Measurement:
    """The NEST kernel of one characterisation, after it was built.

    Neurons are laid out as ``n_dc`` DC neurons, then ``gwn_trials`` neurons
    per white-noise setting (sd-major, then mean), then the example neuron.
    """

    #: every neuron of the kernel (NodeCollection)
    neurons: Any
    #: spike_recorder of every neuron
    recorder: Any
    #: multimeter of the example neuron: ``V_m`` (mV) and ``recovery``
    multimeter: Any
    #: NEST recordable of the Izhikevich recovery variable, or None
    recovery: str | None
    #: delay (ms) with which the example's current reaches the neuron
    current_delay_ms: float


def _connect_white_noise(
    kernel: ModelKernel,
    neurons: Any,
    first: int,
    settings: Mapping[str, Any],
    cfg: Mapping[str, Any],
) -> None:
    """Connect ``gwn_trials`` neurons per white-noise setting, from neuron ``first`` on.

    Parameters
    ----------
    kernel : ModelKernel
        The kernel the neurons live in.
    neurons : nest.NodeCollection
        Every neuron of the kernel.
    first : int
        Index of the first noise neuron in ``neurons``.
    settings : Mapping
        :func:`_model_settings`: ``gwn_sigma_pA`` (sd, pA) and ``gwn_mean_pA``
        (mean, pA); setting ``s`` is sd ``s // n_mean``, mean ``s % n_mean``.
    cfg : Mapping
        The ``neurons`` section (``gwn_trials``, ``gwn_dt_ms`` and ``onset_ms`` in ms).
    """
    trials = int(cfg["gwn_trials"])
    pairs = itertools.product(settings["gwn_sigma_pA"], settings["gwn_mean_pA"])
    for setting, (sigma, mean) in enumerate(pairs):
        start = first + setting * trials
        connect_protocol(
            kernel.nest,
            {
                "type": "white_noise",
                "mean_pA": float(mean),
                "sd_pA": float(sigma),
                "dt_ms": float(cfg["gwn_dt_ms"]),
                "start_ms": float(cfg["onset_ms"]),
            },
            neurons[start : start + trials],
            model=kernel.model,
            dt_ms=kernel.dt_ms,
            tstop_ms=run_length_ms(cfg),
            rng=protocol_rng(kernel.seed, "white_noise", setting),
        )


def _connect_example(
    kernel: ModelKernel, example: Any, amplitude_pA: float, cfg: Mapping[str, Any]
) -> tuple[Any, str | None, float]:
    """Give the example neuron its DC step and a multimeter.

    Parameters
    ----------
    kernel : ModelKernel
        The kernel the neuron lives in.
    example : nest.NodeCollection
        The one example neuron.
    amplitude_pA : float
        Step amplitude (pA), on from ``onset_ms`` (ms).
    cfg : Mapping
        The ``neurons`` section.

    Returns
    -------
    tuple
        The multimeter (``V_m`` in mV, and the recovery variable if the model
        has one, every ``dt_ms``), the recovery variable's NEST name or None,
        and the delay (ms) of the current's connection.
    """
    nest = kernel.nest
    created = connect_protocol(
        nest,
        {"type": "dc", "amplitude_pA": amplitude_pA, "start_ms": float(cfg["onset_ms"])},
        example,
        model=kernel.model,
        dt_ms=kernel.dt_ms,
        tstop_ms=run_length_ms(cfg),
        rng=protocol_rng(kernel.seed, "example", 0),
    )
    delay_ms = float(nest.GetConnections(created["devices"]).get("delay"))
    recordables = list(example.get("recordables"))
    recovery = next((name for name in RECOVERY_RECORDABLES if name in recordables), None)
    multimeter = nest.Create(
        "multimeter",
        params={
            "interval": kernel.dt_ms,
            "record_from": ["V_m"] + ([recovery] if recovery else []),
        },
    )
    nest.Connect(multimeter, example)
    return multimeter, recovery, delay_ms


def _build_measurement(
    kernel: ModelKernel,
    params: Mapping[str, float],
    settings: Mapping[str, Any],
    cfg: Mapping[str, Any],
) -> _Measurement:
    """One fresh kernel with the DC, white-noise and example neurons, unconnected.

    Parameters
    ----------
    kernel : ModelKernel
        Kernel factory of the model (reset here).
    params : Mapping
        Model parameters under their catalogue names (catalogue units).
    settings : Mapping
        Amplitudes (pA) from :func:`_model_settings`.
    cfg : Mapping
        The ``neurons`` section.

    Returns
    -------
    _Measurement
        The kernel's neurons and recorders, ready for ``nest.Simulate``.
    """
    nest = kernel.reset()
    n_dc = settings["dc_pA"].size
    n_settings = settings["gwn_sigma_pA"].size * settings["gwn_mean_pA"].size
    neurons = create_neurons(
        nest, kernel.model, params, n_dc + n_settings * int(cfg["gwn_trials"]) + 1
    )
    connect_dc_steps(kernel, neurons, settings["dc_pA"], cfg)
    _connect_white_noise(kernel, neurons, n_dc, settings, cfg)
    example = neurons[len(neurons) - 1 : len(neurons)]
    multimeter, recovery, delay_ms = _connect_example(
        kernel, example, settings["example_dc_pA"], cfg
    )
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return _Measurement(neurons, recorder, multimeter, recovery, delay_ms)


def _dc_rates(
    trains: Sequence[np.ndarray], window: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Rates (Hz) of the DC neurons in the analysis ``window`` (ms).

    Returns
    -------
    tuple of numpy.ndarray
        The steady-state rate (inverse mean ISI, :func:`steady_rate_Hz`) and
        the spike count over the window length, one per train.
    """
    window_s = (window[1] - window[0]) / 1000.0
    rate = np.array([steady_rate_Hz(t, window) for t in trains])
    count = np.array([in_window(t, window).size / window_s for t in trains])
    return rate, count


def _white_noise_statistics(
    trains: Sequence[np.ndarray],
    shape: tuple[int, int],
    window: tuple[float, float],
    cfg: Mapping[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Rate (Hz) and CV of ISI (1) per white-noise setting, trials pooled.

    Parameters
    ----------
    trains : sequence of numpy.ndarray
        Spike times (ms) of the noise neurons, ``gwn_trials`` per setting,
        settings in the order of :func:`_connect_white_noise`.
    shape : tuple of int
        (number of sds, number of means).
    window : tuple of float
        Analysis window (ms).
    cfg : Mapping
        The ``neurons`` section (``gwn_trials``, ``min_isis_cv``).

    Returns
    -------
    tuple of numpy.ndarray
        ``rate_gwn_Hz`` (spike count / (trials x window length)) and
        ``cv_isi_gwn`` (NaN with fewer than ``min_isis_cv`` ISIs), both ``shape``.
    """
    trials = int(cfg["gwn_trials"])
    window_s = (window[1] - window[0]) / 1000.0
    rate = np.empty(shape)
    cv = np.empty(shape)
    for setting, (i, j) in enumerate(np.ndindex(*shape)):
        group = trains[setting * trials : (setting + 1) * trials]
        n_spikes = sum(in_window(t, window).size for t in group)
        rate[i, j] = n_spikes / (trials * window_s)
        cv[i, j] = pooled_isi_cv(group, window, int(cfg["min_isis_cv"]))
    return rate, cv


def _example_trace(measurement: _Measurement) -> dict[str, np.ndarray]:
    """The example neuron's recording, in time order.

    Returns
    -------
    dict
        ``t`` (ms), ``v`` (mV) and, if the model has one, ``u`` (the recovery
        variable, in the units of the model's ``d``).
    """
    events = measurement.multimeter.get("events")
    order = np.argsort(events["times"], kind="stable")
    trace = {
        "t": np.asarray(events["times"], dtype=np.float64)[order],
        "v": np.asarray(events["V_m"], dtype=np.float64)[order],
    }
    if measurement.recovery is not None:
        trace["u"] = np.asarray(events[measurement.recovery], dtype=np.float64)[order]
    return trace


def _analyse(
    measurement: _Measurement, settings: Mapping[str, Any], cfg: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Rates, CVs and the example response of a simulated measurement.

    Returns
    -------
    dict
        ``rate_dc_Hz``, ``rate_dc_count_Hz`` (Hz, per DC amplitude),
        ``rate_gwn_Hz`` (Hz), ``cv_isi_gwn`` (1) (sd x mean),
        ``example_spike_times_ms`` (ms) and the example trace ``t`` (ms),
        ``v`` (mV) and, for the Izhikevich models, ``u``.
    """
    window = analysis_window(cfg)
    trains = spike_trains(measurement.recorder, measurement.neurons)
    n_dc = settings["dc_pA"].size
    shape = (settings["gwn_sigma_pA"].size, settings["gwn_mean_pA"].size)
    rate_dc, count_dc = _dc_rates(trains[:n_dc], window)
    rate_gwn, cv_gwn = _white_noise_statistics(trains[n_dc:-1], shape, window, cfg)
    return {
        "rate_dc_Hz": rate_dc,
        "rate_dc_count_Hz": count_dc,
        "rate_gwn_Hz": rate_gwn,
        "cv_isi_gwn": cv_gwn,
        "example_spike_times_ms": trains[-1],
        **_example_trace(measurement),
    }


def _datasets(
    model: NeuronModel,
    settings: Mapping[str, Any],
    results: Mapping[str, np.ndarray],
    rheo: Mapping[str, Any],
    recovery: str | None,
) -> dict[str, io.Dataset]:
    """The characterisation's datasets, each with its units (see :func:`characterise`)."""
    data: dict[str, io.Dataset] = {
        "dc_pA": io.Dataset(
            settings["dc_pA"], "pA", description="DC step amplitude, one neuron each"
        ),
        "rate_dc_Hz": io.Dataset(
            results["rate_dc_Hz"],
            "Hz",
            description="steady-state rate: inverse mean ISI in the analysis window, "
            "0 with fewer than 2 spikes",
        ),
        "rate_dc_count_Hz": io.Dataset(
            results["rate_dc_count_Hz"],
            "Hz",
            description="spike count in the analysis window / window length",
        ),
        "gwn_sigma_pA": io.Dataset(
            settings["gwn_sigma_pA"], "pA", description="white-noise sd per noise step"
        ),
        "gwn_mean_pA": io.Dataset(settings["gwn_mean_pA"], "pA", description="white-noise mean"),
        "rate_gwn_Hz": io.Dataset(
            results["rate_gwn_Hz"],
            "Hz",
            dims="gwn_sigma_pA,gwn_mean_pA",
            description="spike count in the analysis window / (trials x window length)",
        ),
        "cv_isi_gwn": io.Dataset(
            results["cv_isi_gwn"],
            "1",
            dims="gwn_sigma_pA,gwn_mean_pA",
            description="CV of the ISIs of all trials pooled; NaN with too few ISIs",
        ),
        "example_spike_times_ms": io.Dataset(results["example_spike_times_ms"], "ms"),
        "example_t_ms": io.Dataset(results["t"], "ms"),
        "example_v_mV": io.Dataset(results["v"], "mV"),
        "rheobase_tested_pA": io.Dataset(rheo["tested_pA"], "pA"),
        "rheobase_tested_spikes": io.Dataset(
            rheo["tested_spikes"], "1", description="spikes in the analysis window"
        ),
    }
    if recovery is not None:
        u_units = model.parameters["d"].units if "d" in model.parameters else "unknown"
        data["example_u"] = io.Dataset(
            results["u"], u_units, nest_recordable=recovery, description="recovery variable u"
        )
    return data


def _attributes(
    kernel: ModelKernel,
    cfg: Mapping[str, Any],
    settings: Mapping[str, Any],
    rheo: Mapping[str, Any],
    current_delay_ms: float,
) -> dict[str, Any]:
    """Scalars and strings for the file's root (see :func:`characterise`).

    Amplitudes in pA, times in ms; ``n_vp`` is read from the NEST kernel.
    """
    model = kernel.model
    onset = float(cfg["onset_ms"])
    window = analysis_window(cfg)
    min_spikes = int(cfg["rheobase_min_spikes"])
    return {
        "model": model.name,
        "nest_model": model.nest_model,
        "model_description": model.description,
        "synapse": model.synapse,
        "rheobase_pA": float(rheo["rheobase_pA"]),
        "rheobase_lower_pA": float(rheo["rheobase_lower_pA"]),
        "rheobase_tolerance_pA": float(rheo["tolerance_pA"]),
        "rheobase_min_spikes": min_spikes,
        "rheobase_criterion": (
            f"smallest DC step from rest (start {onset:g} ms) giving >= "
            f"{min_spikes} spikes in [{window[0]:g}, {window[1]:g}) ms; "
            "parallel bisection, true rheobase in (rheobase_lower_pA, rheobase_pA]"
        ),
        "example_dc_pA": float(settings["example_dc_pA"]),
        "example_onset_ms": onset,
        "analysis_window_ms": [float(window[0]), float(window[1])],
        "tstop_ms": run_length_ms(cfg),
        "dt_ms": kernel.dt_ms,
        "gwn_dt_ms": float(cfg["gwn_dt_ms"]),
        "gwn_trials": int(cfg["gwn_trials"]),
        "current_delay_ms": current_delay_ms,
        "n_vp": int(kernel.nest.GetKernelStatus("total_num_virtual_procs")),
        "param_units": {name: p.units for name, p in model.parameters.items()},
    }


def _timed_rheobase(
    kernel: ModelKernel, params: Mapping[str, float], cfg: Mapping[str, Any]
) -> tuple[dict[str, Any], float]:
    """:func:`find_rheobase`, logged, and its wall time (s)."""
    started = time.perf_counter()
    rheo = find_rheobase(kernel, params, cfg)
    elapsed = time.perf_counter() - started
    log.info(
        "%s: rheobase %.4g pA (bracket %.4g pA, %d kernels)",
        kernel.model.name,
        rheo["rheobase_pA"],
        rheo["rheobase_pA"] - rheo["rheobase_lower_pA"],
        rheo["kernels"],
    )
    return rheo, elapsed


def characterise(
    model_name: str, *, config: Mapping[str, Any], module_dir: str | Path | None = None
) -> dict[str, Any]:
    """Characterise one catalogue model (see the module docstring).

    Steps: the rheobase (:func:`find_rheobase`), then one kernel with every
    other measurement (:func:`_build_measurement`), simulated once and
    analysed (:func:`_analyse`).

    Parameters
    ----------
    model_name : str
        Catalogue name (:data:`lfpflow.pointneuron.catalogue.CATALOGUE`).
    config : Mapping
        Resolved configuration (:func:`lfpflow.resolve.resolve_config`) or
        :func:`model_scope` of one; only its complete ``neurons`` section is
        read.
    module_dir : path-like, optional
        Folder of our NESTML module (default
        :data:`lfpflow.pointneuron.nestml_build.NESTML_BUILD_DIR`), needed for
        models with ``nestml_model``.

    Returns
    -------
    dict
        ``model``, ``params`` (config names -> values), ``param_units``,
        ``data`` (name -> :class:`lfpflow.io.Dataset`), ``attrs`` (scalars and
        strings for the file's root) and ``timings_s`` (wall times in s);
        write it with :func:`write_characterisation`.
    """
    model = get_model(model_name)
    cfg = config["neurons"]
    params = model.resolved_params(cfg["models"].get(model_name, {}).get("params", {}))
    kernel = ModelKernel(model, cfg, module_dir)
    timings: dict[str, float] = {}
    rheo, timings["rheobase"] = _timed_rheobase(kernel, params, cfg)
    settings = _model_settings(cfg, model_name, rheo["rheobase_pA"])

    started = time.perf_counter()
    measurement = _build_measurement(kernel, params, settings, cfg)
    timings["build"] = time.perf_counter() - started
    started = time.perf_counter()
    kernel.nest.Simulate(run_length_ms(cfg))
    timings["simulate"] = time.perf_counter() - started

    results = _analyse(measurement, settings, cfg)
    attrs = _attributes(kernel, cfg, settings, rheo, measurement.current_delay_ms)
    return {
        "model": model.name,
        "params": params,
        "param_units": attrs["param_units"],
        "data": _datasets(model, settings, results, rheo, measurement.recovery),
        "attrs": attrs,
        "timings_s": timings,
    }


def write_characterisation(
    path: str | Path, result: Mapping[str, Any], *, config: Mapping[str, Any]
) -> None:
    """Write ``results/neurons/<model>.h5``.

    Datasets (each with ``units``) as returned by :func:`characterise`; root
    attributes: the model's parameters under their config names, the
    measurement attributes (``rheobase_pA``, ``example_dc_pA``, ...) and
    :func:`lfpflow.io.provenance` of ``config`` (with the ``neurons.seed`` as
    ``seed``). Timings are left to the log, so that the same configuration
    gives the same file.
    """
    attrs = io.provenance(config, seed=int(config["neurons"]["seed"]))
    attrs.update(result["attrs"])
    attrs.update({name: float(value) for name, value in result["params"].items()})
    io.write_h5(path, result["data"], attrs=attrs)


def characterise_to_files(
    model_name: str,
    *,
    config: Mapping[str, Any],
    h5_path: str | Path,
    module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Characterise and write the HDF5 file.

    The rule ``neuron_characterisation`` calls this, then draws the figure
    from the file (:func:`lfpflow.figures.neurons.plot_characterisation`);
    ``config`` is what the file records as provenance (the rule passes
    :func:`model_scope`).

    Returns
    -------
    dict
        The result of :func:`characterise` (``timings_s`` includes ``write``).
    """
    result = characterise(model_name, config=config, module_dir=module_dir)
    started = time.perf_counter()
    write_characterisation(h5_path, result, config=config)
    result["timings_s"]["write"] = time.perf_counter() - started
    return result
