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

import copy
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow import io
from lfpflow.config import sorted_keys
from lfpflow.pointneuron.catalogue import NESTML_MODULE, NeuronModel, get_model
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng

log = logging.getLogger(__name__)

#: Defaults of the ``neurons`` configuration section (the schema repeats them).
DEFAULTS: dict[str, Any] = {
    "seed": 12345,
    "dt_ms": 0.0625,
    "n_vp": 1,
    "onset_ms": 100.0,
    "duration_ms": 1200.0,
    "transient_ms": 200.0,
    "n_dc": 41,
    "dc_max_rheobase": 3.0,
    "rheobase_min_spikes": 2,
    "rheobase_tol_pA": 1.0,
    "rheobase_rel_tol": 0.01,
    "rheobase_search_max_pA": 10000.0,
    "rheobase_candidates": 32,
    "gwn_dt_ms": 0.5,
    "gwn_sigma_rheobase": [0.5, 1.0, 2.0],
    "gwn_mean_max_rheobase": 2.0,
    "n_gwn_mean": 17,
    "gwn_trials": 4,
    "min_isis_cv": 10,
    "example_dc_rheobase": 1.5,
    "models": {"izhikevich_rs": {"example_dc_pA": 125.0}},
}

#: Keys allowed in ``neurons.models.<name>``.
MODEL_KEYS = ("params", "dc_max_pA", "gwn_sigma_pA", "gwn_mean_max_pA", "example_dc_pA")

#: NEST recordables holding the Izhikevich recovery variable (``u``).
RECOVERY_RECORDABLES = ("u", "U_m")

#: Amplitudes per kernel in the doubling stage of the rheobase search.
_DOUBLING_GROUP = 4

#: Default folder of the NESTML module (rule ``build_nestml``).
NESTML_DIR = Path("build/nestml")


def neuron_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``neurons`` section of ``config`` with defaults filled in.

    Works on an unvalidated configuration (every key read with a default).

    Raises
    ------
    ValueError
        For unknown keys, unknown model names in ``models`` or values out of
        range.
    """
    section = dict(config.get("neurons") or {})
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown config key(s) {', '.join(f'neurons.{k}' for k in unknown)}; "
            f"allowed keys: {', '.join(DEFAULTS)}"
        )
    cfg = copy.deepcopy(DEFAULTS)
    cfg.update(copy.deepcopy(section))
    for name, overrides in cfg["models"].items():
        get_model(name)
        bad = sorted(set(overrides) - set(MODEL_KEYS))
        if bad:
            raise ValueError(
                f"unknown config key(s) {', '.join(f'neurons.models.{name}.{k}' for k in bad)}; "
                f"allowed keys: {', '.join(MODEL_KEYS)}"
            )
    dt = float(cfg["dt_ms"])
    exponent = math.log2(dt) if dt > 0 else 0.5
    if exponent != round(exponent) or exponent > 0:
        raise ValueError(
            f"config key 'neurons.dt_ms': {dt} must be a power of two not above 1 "
            "(NEST's integer tics_per_ms = 1/dt_ms)"
        )
    ratio = float(cfg["gwn_dt_ms"]) / dt
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise ValueError(
            f"config key 'neurons.gwn_dt_ms': {cfg['gwn_dt_ms']} must be a multiple of "
            f"neurons.dt_ms ({dt})"
        )
    if not 0 <= float(cfg["transient_ms"]) < float(cfg["duration_ms"]):
        raise ValueError(
            f"config key 'neurons.transient_ms': {cfg['transient_ms']} must lie in "
            f"[0, neurons.duration_ms = {cfg['duration_ms']})"
        )
    if int(cfg["rheobase_min_spikes"]) < 1:
        raise ValueError("config key 'neurons.rheobase_min_spikes': must be >= 1")
    if int(cfg["rheobase_candidates"]) < 1 or int(cfg["n_dc"]) < 2 or int(cfg["gwn_trials"]) < 1:
        raise ValueError(
            "config keys 'neurons.rheobase_candidates', 'neurons.gwn_trials' must be >= 1 "
            "and 'neurons.n_dc' >= 2"
        )
    return cfg


def model_scope(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The configuration one model's characterisation depends on.

    ``{"neurons": ...}``, resolved (:func:`neuron_config`, so the same whether
    or not the schema has filled the defaults), with ``models`` reduced to this
    model's entry, so that changing another model's settings does not rerun
    this one (Snakemake ``params``). Keys are sorted (see
    :func:`lfpflow.config.config_scope`).
    """
    get_model(model_name)
    section = neuron_config(config)
    models = section["models"]
    section["models"] = {model_name: models[model_name]} if model_name in models else {}
    return sorted_keys({"neurons": section})


# ---------------------------------------------------------------------------
# NEST set-up
# ---------------------------------------------------------------------------


class _Kernel:
    """Fresh NEST kernels for one model (resolution, seed, NESTML module)."""

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


def dc_spike_trains(
    kernel: _Kernel, params: Mapping[str, float], amplitudes_pA: Sequence[float], cfg: Mapping
) -> list[np.ndarray]:
    """Spike trains of one neuron per DC step amplitude (pA), from ``onset_ms``."""
    nest = kernel.reset()
    model = kernel.model
    amplitudes = [float(a) for a in amplitudes_pA]
    neurons = _create(nest, model, params, len(amplitudes))
    tstop = _tstop(cfg)
    for index, amplitude in enumerate(amplitudes):
        connect_protocol(
            nest,
            {"type": "dc", "amplitude_pA": amplitude, "start_ms": float(cfg["onset_ms"])},
            neurons[index : index + 1],
            model=model,
            dt_ms=kernel.dt_ms,
            tstop_ms=tstop,
            rng=protocol_rng(kernel.seed, "dc", index),
        )
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(tstop)
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


def characterise(
    model_name: str, *, config: Mapping[str, Any], module_dir: str | Path | None = None
) -> dict[str, Any]:
    """Characterise one catalogue model (see the module docstring).

    Parameters
    ----------
    model_name : str
        Catalogue name (:data:`lfpflow.pointneuron.catalogue.CATALOGUE`).
    config : Mapping
        Configuration holding a ``neurons`` section (defaults filled in where
        missing, see :data:`DEFAULTS`); the whole configuration or
        :func:`model_scope`.
    module_dir : path-like, optional
        Folder of our NESTML module (default ``build/nestml``), needed for
        models with ``nestml_model``.

    Returns
    -------
    dict
        ``model``, ``params`` (config names -> values), ``param_units``,
        ``data`` (name -> :class:`lfpflow.io.Dataset`), ``attrs`` (scalars and
        strings for the file's root) and ``timings_s``; write it with
        :func:`write_characterisation`.
    """
    model = get_model(model_name)
    cfg = neuron_config(config)
    overrides = cfg["models"].get(model_name, {})
    params = model.resolved_params(overrides.get("params", {}))
    kernel = _Kernel(model, cfg, module_dir)
    window = _window(cfg)
    tstop = _tstop(cfg)
    onset = float(cfg["onset_ms"])
    timings: dict[str, float] = {}

    started = time.perf_counter()
    rheo = find_rheobase(kernel, params, cfg)
    timings["rheobase"] = time.perf_counter() - started
    rheobase = rheo["rheobase_pA"]
    settings = _model_settings(cfg, model_name, rheobase)
    log.info(
        "%s: rheobase %.4g pA (bracket %.4g pA, %d kernels)",
        model_name,
        rheobase,
        rheobase - rheo["rheobase_lower_pA"],
        rheo["kernels"],
    )

    # One kernel: DC neurons, noise neurons (trials per setting), example neuron.
    started = time.perf_counter()
    nest = kernel.reset()
    dc = settings["dc_pA"]
    sigmas, means = settings["gwn_sigma_pA"], settings["gwn_mean_pA"]
    trials = int(cfg["gwn_trials"])
    n_noise = sigmas.size * means.size * trials
    neurons = _create(nest, model, params, dc.size + n_noise + 1)
    common = {"model": model, "dt_ms": kernel.dt_ms, "tstop_ms": tstop}
    for index, amplitude in enumerate(dc):
        connect_protocol(
            nest,
            {"type": "dc", "amplitude_pA": float(amplitude), "start_ms": onset},
            neurons[index : index + 1],
            rng=protocol_rng(kernel.seed, "dc", index),
            **common,
        )
    first = dc.size
    setting = 0
    for sigma in sigmas:
        for mean in means:
            start = first + setting * trials
            connect_protocol(
                nest,
                {
                    "type": "white_noise",
                    "mean_pA": float(mean),
                    "sd_pA": float(sigma),
                    "dt_ms": float(cfg["gwn_dt_ms"]),
                    "start_ms": onset,
                },
                neurons[start : start + trials],
                rng=protocol_rng(kernel.seed, "white_noise", setting),
                **common,
            )
            setting += 1
    example = neurons[len(neurons) - 1 : len(neurons)]
    created = connect_protocol(
        nest,
        {"type": "dc", "amplitude_pA": settings["example_dc_pA"], "start_ms": onset},
        example,
        rng=protocol_rng(kernel.seed, "example", 0),
        **common,
    )
    delivery_delay = float(nest.GetConnections(created["devices"]).get("delay"))
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
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    timings["build"] = time.perf_counter() - started
    started = time.perf_counter()
    nest.Simulate(tstop)
    timings["simulate"] = time.perf_counter() - started

    trains = _spike_trains(recorder, neurons)
    rate_dc = np.array([steady_rate_Hz(t, window) for t in trains[: dc.size]])
    window_s = (window[1] - window[0]) / 1000.0
    count_dc = np.array([_in_window(t, window).size / window_s for t in trains[: dc.size]])
    rate_gwn = np.empty((sigmas.size, means.size))
    cv_gwn = np.empty((sigmas.size, means.size))
    setting = 0
    for i in range(sigmas.size):
        for j in range(means.size):
            group = trains[first + setting * trials : first + (setting + 1) * trials]
            n_spikes = sum(_in_window(t, window).size for t in group)
            rate_gwn[i, j] = n_spikes / (trials * window_s)
            cv_gwn[i, j] = cv_isi(group, window, int(cfg["min_isis_cv"]))
            setting += 1
    events = multimeter.get("events")
    order = np.argsort(events["times"], kind="stable")
    example_t = np.asarray(events["times"], dtype=np.float64)[order]
    example_v = np.asarray(events["V_m"], dtype=np.float64)[order]

    param_units = {name: p.units for name, p in model.parameters.items()}
    data: dict[str, io.Dataset] = {
        "dc_pA": io.Dataset(dc, "pA", description="DC step amplitude, one neuron each"),
        "rate_dc_Hz": io.Dataset(
            rate_dc,
            "Hz",
            description="steady-state rate: inverse mean ISI in the analysis window, "
            "0 with fewer than 2 spikes",
        ),
        "rate_dc_count_Hz": io.Dataset(
            count_dc, "Hz", description="spike count in the analysis window / window length"
        ),
        "gwn_sigma_pA": io.Dataset(sigmas, "pA", description="white-noise sd per noise step"),
        "gwn_mean_pA": io.Dataset(means, "pA", description="white-noise mean"),
        "rate_gwn_Hz": io.Dataset(
            rate_gwn,
            "Hz",
            dims="gwn_sigma_pA,gwn_mean_pA",
            description="spike count in the analysis window / (trials x window length)",
        ),
        "cv_isi_gwn": io.Dataset(
            cv_gwn,
            "1",
            dims="gwn_sigma_pA,gwn_mean_pA",
            description="CV of the ISIs of all trials pooled; NaN with too few ISIs",
        ),
        "example_spike_times_ms": io.Dataset(trains[-1], "ms"),
        "example_t_ms": io.Dataset(example_t, "ms"),
        "example_v_mV": io.Dataset(example_v, "mV"),
        "rheobase_tested_pA": io.Dataset(rheo["tested_pA"], "pA"),
        "rheobase_tested_spikes": io.Dataset(
            rheo["tested_spikes"], "1", description="spikes in the analysis window"
        ),
    }
    if recovery is not None:
        u_units = model.parameters["d"].units if "d" in model.parameters else "unknown"
        data["example_u"] = io.Dataset(
            np.asarray(events[recovery], dtype=np.float64)[order],
            u_units,
            nest_recordable=recovery,
            description="recovery variable u",
        )
    attrs: dict[str, Any] = {
        "model": model.name,
        "nest_model": model.nest_model,
        "model_description": model.description,
        "synapse": model.synapse,
        "rheobase_pA": float(rheobase),
        "rheobase_lower_pA": float(rheo["rheobase_lower_pA"]),
        "rheobase_tolerance_pA": float(rheo["tolerance_pA"]),
        "rheobase_min_spikes": int(cfg["rheobase_min_spikes"]),
        "rheobase_criterion": (
            f"smallest DC step from rest (start {onset:g} ms) giving >= "
            f"{int(cfg['rheobase_min_spikes'])} spikes in [{window[0]:g}, {window[1]:g}) ms; "
            "parallel bisection, true rheobase in (rheobase_lower_pA, rheobase_pA]"
        ),
        "example_dc_pA": float(settings["example_dc_pA"]),
        "example_onset_ms": onset,
        "analysis_window_ms": [float(window[0]), float(window[1])],
        "tstop_ms": tstop,
        "dt_ms": kernel.dt_ms,
        "gwn_dt_ms": float(cfg["gwn_dt_ms"]),
        "gwn_trials": trials,
        "current_delay_ms": delivery_delay,
        "n_vp": int(nest.GetKernelStatus("total_num_virtual_procs")),
        "param_units": param_units,
    }
    return {
        "model": model.name,
        "params": params,
        "param_units": param_units,
        "data": data,
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
    cfg = neuron_config(config)
    attrs = io.provenance(config, seed=int(cfg["seed"]))
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
