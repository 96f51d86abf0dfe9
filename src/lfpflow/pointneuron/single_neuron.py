"""Single-neuron characterisation of every point-neuron model in the catalogue.

For one catalogue entry (:mod:`lfpflow.pointneuron.catalogue`) this measures, with NEST:

* the **rheobase**: the smallest DC step (from rest, starting at ``onset_ms``)
  after which the neuron fires *sustainedly*, i.e. at least
  ``rheobase_min_spikes`` spikes (default 2) in the analysis window
  ``[onset_ms + transient_ms, onset_ms + duration_ms)`` (default 1 s long).
  Found by a parallel bisection (multisection): a doubling search brackets it,
  then each round simulates ``rheobase_candidates`` amplitudes spread over the
  bracket in one NEST kernel, until the bracket is narrower than
  ``min(rheobase_tol_pA, rheobase_rel_tol * rheobase)``. ``rheobase_pA`` is
  the upper end (an amplitude that met the criterion), ``rheobase_lower_pA``
  the lower end (one that did not);
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

All inputs go through :func:`lfpflow.pointneuron.inputs.connect_protocol`, the code the
networks use. Every neuron of one measurement (one per DC amplitude, noise
setting and trial, unconnected) lives in one NEST kernel and is simulated
once, so a whole model takes seconds. NEST is seeded from ``neurons.seed``
with a fixed ``total_num_virtual_procs`` (``neurons.n_vp``), so the results do
not depend on the number of cores. One virtual process is the default: with a
few hundred neurons the per-step synchronisation of threads costs more than it
saves (measured here: ``hh`` 3.3 s with 1, 18.5 s with 2 on a busy machine).

Amplitudes not given per model (``neurons.models.<name>``) scale with the
rheobase, because the catalogue's models span two orders of magnitude of
current (``izhikevich2003`` fires from about 4 "pA", ``lif`` from 375 pA).

NEST is imported lazily, inside the functions (as in :mod:`lfpflow.pointneuron.network`).
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
from lfpflow.config import sorted_keys
from lfpflow.pointneuron.catalogue import NESTML_MODULE, NeuronModel, get_model
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng

log = logging.getLogger(__name__)

#: NEST recordables holding the Izhikevich recovery variable (``u``).
RECOVERY_RECORDABLES = ("u", "U_m")

#: Amplitudes per kernel in the doubling stage of the rheobase search.
_DOUBLING_GROUP = 4

#: Default folder of the NESTML module (rule ``build_nestml``).
NESTML_DIR = Path("build/nestml")


def model_scope(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The configuration one model's characterisation depends on.

    Parameters
    ----------
    config : Mapping
        Resolved configuration (:func:`lfpflow.config.resolve_config`); only
        its ``neurons`` section is read, as it is.
    model_name : str
        Catalogue name (:data:`lfpflow.pointneuron.catalogue.CATALOGUE`).

    Returns
    -------
    dict
        ``{"neurons": ...}`` with ``models`` reduced to this model's entry, so
        that changing another model's settings does not rerun this one
        (Snakemake ``params``). Keys are sorted (:func:`lfpflow.config.sorted_keys`).
    """
    get_model(model_name)
    section = dict(config["neurons"])
    models = section["models"]
    section["models"] = {model_name: models[model_name]} if model_name in models else {}
    return sorted_keys({"neurons": section})


# ---------------------------------------------------------------------------
# NEST set-up
# ---------------------------------------------------------------------------


class _Kernel:
    """Fresh NEST kernels for one model (resolution, seed, NESTML module).

    ``cfg`` is the resolved ``neurons`` section (``dt_ms`` in ms, ``n_vp``, ``seed``).
    """

    def __init__(
        self, model: NeuronModel, cfg: Mapping[str, Any], module_dir: str | Path | None
    ) -> None:
        from lfpflow.pointneuron.network import _import_nest

        self.nest = _import_nest()
        self.model = model
        self.dt_ms = float(cfg["dt_ms"])
        self.n_vp = int(cfg["n_vp"])
        self.seed = int(cfg["seed"])
        self.module_dir = Path(module_dir) if module_dir is not None else NESTML_DIR
        if model.nestml_model is not None:
            library = self.module_dir / f"{NESTML_MODULE}.so"
            if not library.is_file():
                raise FileNotFoundError(
                    f"model {model.name!r} is the NESTML model {model.nestml_model!r}, but "
                    f"{library} does not exist; build it first (snakemake build/nestml)"
                )
        self.resets = 0

    def reset(self) -> Any:
        """Reset NEST, set resolution/seed/threads, load our module if needed."""
        from lfpflow.pointneuron.network import nest_seed

        nest = self.nest
        nest.ResetKernel()
        nest.SetKernelStatus(
            {
                "total_num_virtual_procs": self.n_vp,
                "resolution": self.dt_ms,
                "tics_per_ms": int(round(1.0 / self.dt_ms)),
                # each kernel of a characterisation gets its own stream
                "rng_seed": nest_seed(self.seed * 1000 + self.resets),
                "print_time": False,
            }
        )
        self.resets += 1
        if self.model.nestml_model is not None:
            from lfpflow.pointneuron.nestml_build import install_module

            install_module(nest, self.module_dir, NESTML_MODULE)
        return nest


def _create(nest: Any, model: NeuronModel, params: Mapping[str, float], n: int) -> Any:
    return nest.Create(model.nest_model, n, params=model.nest_status(params))


def _spike_trains(recorder: Any, neurons: Any) -> list[np.ndarray]:
    """Sorted spike times (ms) of each neuron of ``neurons``."""
    events = recorder.get("events")
    times = np.asarray(events["times"], dtype=np.float64)
    senders = np.asarray(events["senders"], dtype=np.int64) - neurons[0].global_id
    order = np.lexsort((times, senders))
    times, senders = times[order], senders[order]
    bounds = np.searchsorted(senders, np.arange(len(neurons) + 1))
    return [times[bounds[i] : bounds[i + 1]] for i in range(len(neurons))]


def _in_window(train: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    return train[(train >= window[0]) & (train < window[1])]


def _window(cfg: Mapping[str, Any]) -> tuple[float, float]:
    onset = float(cfg["onset_ms"])
    return onset + float(cfg["transient_ms"]), onset + float(cfg["duration_ms"])


def _tstop(cfg: Mapping[str, Any]) -> float:
    return float(cfg["onset_ms"]) + float(cfg["duration_ms"])


def steady_rate_Hz(train: np.ndarray, window: tuple[float, float]) -> float:
    """Inverse mean ISI (Hz) of the spikes in ``window``; 0 with fewer than two."""
    spikes = _in_window(train, window)
    if spikes.size < 2:
        return 0.0
    return 1000.0 * (spikes.size - 1) / (spikes[-1] - spikes[0])


def cv_isi(trains: Sequence[np.ndarray], window: tuple[float, float], min_isis: int) -> float:
    """CV of the ISIs of ``trains`` in ``window`` pooled; NaN below ``min_isis`` ISIs."""
    isis = np.concatenate([np.diff(_in_window(t, window)) for t in trains] or [np.empty(0)])
    if isis.size < max(int(min_isis), 2):
        return float("nan")
    return float(np.std(isis) / np.mean(isis))


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


def _connect_dc_steps(
    kernel: _Kernel, neurons: Any, amplitudes_pA: Sequence[float], cfg: Mapping[str, Any]
) -> None:
    """Connect one DC step per amplitude to the neuron of the same index.

    Parameters
    ----------
    kernel : _Kernel
        The kernel the neurons live in (model, resolution in ms, seed).
    neurons : nest.NodeCollection
        Neuron ``i`` receives ``amplitudes_pA[i]``.
    amplitudes_pA : sequence of float
        Step amplitudes (pA), on from ``onset_ms`` to the end of the run.
    cfg : Mapping
        The ``neurons`` section (``onset_ms``, ``duration_ms`` in ms).
    """
    for index, amplitude in enumerate(amplitudes_pA):
        connect_protocol(
            kernel.nest,
            {"type": "dc", "amplitude_pA": float(amplitude), "start_ms": float(cfg["onset_ms"])},
            neurons[index : index + 1],
            model=kernel.model,
            dt_ms=kernel.dt_ms,
            tstop_ms=_tstop(cfg),
            rng=protocol_rng(kernel.seed, "dc", index),
        )


def dc_spike_trains(
    kernel: _Kernel, params: Mapping[str, float], amplitudes_pA: Sequence[float], cfg: Mapping
) -> list[np.ndarray]:
    """Spike trains (ms) of one neuron per DC step amplitude (pA), from ``onset_ms``."""
    nest = kernel.reset()
    amplitudes = [float(a) for a in amplitudes_pA]
    neurons = _create(nest, kernel.model, params, len(amplitudes))
    _connect_dc_steps(kernel, neurons, amplitudes, cfg)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(_tstop(cfg))
    return _spike_trains(recorder, neurons)


def find_rheobase(
    kernel: _Kernel, params: Mapping[str, float], cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """Rheobase by doubling search and parallel bisection (module docstring).

    Returns
    -------
    dict
        ``rheobase_pA`` (smallest amplitude found meeting the criterion),
        ``rheobase_lower_pA`` (largest found not meeting it, below it),
        ``tested_pA`` and ``tested_spikes`` (every amplitude simulated and its
        spike count in the analysis window), ``tolerance_pA`` and
        ``kernels`` (number of NEST kernels simulated).

    Raises
    ------
    RuntimeError
        If no amplitude up to ``rheobase_search_max_pA`` meets the criterion.
    """
    window = _window(cfg)
    min_spikes = int(cfg["rheobase_min_spikes"])
    search_max = float(cfg["rheobase_search_max_pA"])
    tested: dict[float, int] = {}
    kernels = 0

    def run(amplitudes: np.ndarray) -> None:
        nonlocal kernels
        kernels += 1
        new = [a for a in np.unique(amplitudes) if float(a) not in tested]
        trains = dc_spike_trains(kernel, params, new, cfg)
        for amplitude, train in zip(new, trains, strict=True):
            tested[float(amplitude)] = int(_in_window(train, window).size)

    def bracket() -> tuple[float, float | None]:
        amps = np.array(sorted(tested))
        fires = np.array([tested[a] >= min_spikes for a in amps])
        if not fires.any():
            return float(amps.max()), None
        hi = float(amps[np.argmax(fires)])
        below = amps[amps < hi]
        return (float(below.max()) if below.size else hi), hi

    # Doubling search in groups of a few amplitudes, smallest first, stopping
    # at the first group that fires: large currents are the expensive ones
    # (high rates, small adaptive steps), so they are simulated only if needed.
    doubling = 0.25 * 2.0 ** np.arange(0, 64)
    ladder = np.concatenate([[0.0], doubling[doubling < search_max], [search_max]])
    for group in np.array_split(ladder, int(np.ceil(ladder.size / _DOUBLING_GROUP))):
        run(group)
        lo, hi = bracket()
        if hi is not None:
            break
    if hi is None:
        raise RuntimeError(
            f"model {kernel.model.name!r} does not fire {min_spikes} spikes in "
            f"{window[1] - window[0]:g} ms for any DC up to {search_max:g} pA "
            "(raise neurons.rheobase_search_max_pA)"
        )
    rounds = 0
    n = int(cfg["rheobase_candidates"])
    while True:
        tolerance = min(float(cfg["rheobase_tol_pA"]), float(cfg["rheobase_rel_tol"]) * hi)
        if hi - lo <= tolerance or hi == lo:
            break
        run(np.linspace(lo, hi, n + 2)[1:-1])
        lo, hi = bracket()
        rounds += 1
        if rounds > 60:  # pragma: no cover - floating-point safety net
            break
    amps = np.array(sorted(tested))
    return {
        "rheobase_pA": hi,
        "rheobase_lower_pA": lo,
        "tolerance_pA": tolerance,
        "tested_pA": amps,
        "tested_spikes": np.array([tested[a] for a in amps], dtype=np.int64),
        "kernels": kernels,
    }


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
    kernel: _Kernel, neurons: Any, first: int, settings: Mapping[str, Any], cfg: Mapping[str, Any]
) -> None:
    """Connect ``gwn_trials`` neurons per white-noise setting, from neuron ``first`` on.

    Parameters
    ----------
    kernel : _Kernel
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
            tstop_ms=_tstop(cfg),
            rng=protocol_rng(kernel.seed, "white_noise", setting),
        )


def _connect_example(
    kernel: _Kernel, example: Any, amplitude_pA: float, cfg: Mapping[str, Any]
) -> tuple[Any, str | None, float]:
    """Give the example neuron its DC step and a multimeter.

    Parameters
    ----------
    kernel : _Kernel
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
        tstop_ms=_tstop(cfg),
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
    kernel: _Kernel,
    params: Mapping[str, float],
    settings: Mapping[str, Any],
    cfg: Mapping[str, Any],
) -> _Measurement:
    """One fresh kernel with the DC, white-noise and example neurons, unconnected.

    Parameters
    ----------
    kernel : _Kernel
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
    neurons = _create(nest, kernel.model, params, n_dc + n_settings * int(cfg["gwn_trials"]) + 1)
    _connect_dc_steps(kernel, neurons, settings["dc_pA"], cfg)
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
    count = np.array([_in_window(t, window).size / window_s for t in trains])
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
        n_spikes = sum(_in_window(t, window).size for t in group)
        rate[i, j] = n_spikes / (trials * window_s)
        cv[i, j] = cv_isi(group, window, int(cfg["min_isis_cv"]))
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
    window = _window(cfg)
    trains = _spike_trains(measurement.recorder, measurement.neurons)
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
    kernel: _Kernel,
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
    window = _window(cfg)
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
        "tstop_ms": _tstop(cfg),
        "dt_ms": kernel.dt_ms,
        "gwn_dt_ms": float(cfg["gwn_dt_ms"]),
        "gwn_trials": int(cfg["gwn_trials"]),
        "current_delay_ms": current_delay_ms,
        "n_vp": int(kernel.nest.GetKernelStatus("total_num_virtual_procs")),
        "param_units": {name: p.units for name, p in model.parameters.items()},
    }


def _timed_rheobase(
    kernel: _Kernel, params: Mapping[str, float], cfg: Mapping[str, Any]
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
        Resolved configuration (:func:`lfpflow.config.resolve_config`) or
        :func:`model_scope` of one; only its complete ``neurons`` section is
        read.
    module_dir : path-like, optional
        Folder of our NESTML module (default ``build/nestml``), needed for
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
    kernel = _Kernel(model, cfg, module_dir)
    timings: dict[str, float] = {}
    rheo, timings["rheobase"] = _timed_rheobase(kernel, params, cfg)
    settings = _model_settings(cfg, model_name, rheo["rheobase_pA"])

    started = time.perf_counter()
    measurement = _build_measurement(kernel, params, settings, cfg)
    timings["build"] = time.perf_counter() - started
    started = time.perf_counter()
    kernel.nest.Simulate(_tstop(cfg))
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


def read_characterisation(path: str | Path) -> dict[str, Any]:
    """Read a characterisation file (:func:`lfpflow.io.read_h5`)."""
    return io.read_h5(path)


def characterise_to_files(
    model_name: str,
    *,
    config: Mapping[str, Any],
    h5_path: str | Path,
    figure_path: str | Path | None = None,
    module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Characterise, write the HDF5 file and (optionally) the figure from it.

    The rule ``neuron_characterisation`` calls this; ``config`` is what the
    file records as provenance (the rule passes :func:`model_scope`).

    Returns
    -------
    dict
        The result of :func:`characterise` (``timings_s`` includes ``write``
        and ``figure``).
    """
    result = characterise(model_name, config=config, module_dir=module_dir)
    started = time.perf_counter()
    write_characterisation(h5_path, result, config=config)
    result["timings_s"]["write"] = time.perf_counter() - started
    if figure_path is not None:
        from lfpflow.figures.neurons import plot_characterisation

        started = time.perf_counter()
        plot_characterisation(h5_path, figure_path)
        result["timings_s"]["figure"] = time.perf_counter() - started
    return result
