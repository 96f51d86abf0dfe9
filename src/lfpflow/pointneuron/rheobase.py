"""NEST kernels of a single-neuron characterisation, spike-train statistics, rheobase.

The **rheobase** is the smallest DC step (from rest, starting at
``onset_ms``) after which the neuron fires *sustainedly*, i.e. at least
``rheobase_min_spikes`` spikes (default 2) in the analysis window
``[onset_ms + transient_ms, onset_ms + duration_ms)`` (default 1 s long).
:func:`find_rheobase` finds it by a parallel bisection (multisection): a
doubling search brackets it, then each round simulates
``rheobase_candidates`` amplitudes spread over the bracket in one NEST kernel,
until the bracket is narrower than ``min(rheobase_tol_pA, rheobase_rel_tol *
rheobase)``.

Every kernel comes from :class:`ModelKernel`: NEST is seeded from
``neurons.seed`` with a fixed ``total_num_virtual_procs`` (``neurons.n_vp``),
so the results do not depend on the number of cores. Inputs go through
:func:`lfpflow.pointneuron.inputs.connect_protocol`, the code the networks
use. The rest of the characterisation is :mod:`lfpflow.pointneuron.single_neuron`.

NEST is imported lazily, inside :class:`ModelKernel` (as in
:mod:`lfpflow.pointneuron.network`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.pointneuron.catalogue import NESTML_MODULE, NeuronModel
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng
from lfpflow.pointneuron.nestml_build import NESTML_BUILD_DIR

#: Amplitudes per kernel in the doubling stage of the rheobase search.
_DOUBLING_GROUP = 4

#: Most bisection rounds of the rheobase search (a floating-point safety net).
_MAX_ROUNDS = 60


class ModelKernel:
    """Fresh NEST kernels for one model (resolution, seed, NESTML module).

    Parameters
    ----------
    model : NeuronModel
        The catalogue entry characterised.
    cfg : Mapping
        The resolved ``neurons`` section (``dt_ms`` in ms, ``n_vp``, ``seed``).
    module_dir : path-like or None
        Folder of our NESTML module (default
        :data:`lfpflow.pointneuron.nestml_build.NESTML_BUILD_DIR`).

    Raises
    ------
    FileNotFoundError
        If the model is a NESTML model and the module library is missing.
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
        self.module_dir = Path(module_dir) if module_dir is not None else Path(NESTML_BUILD_DIR)
        if model.nestml_model is not None:
            library = self.module_dir / f"{NESTML_MODULE}.so"
            if not library.is_file():
                raise FileNotFoundError(
                    f"model {model.name!r} is the NESTML model {model.nestml_model!r}, but "
                    f"{library} does not exist; build it first (snakemake {NESTML_BUILD_DIR})"
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


def create_neurons(nest: Any, model: NeuronModel, params: Mapping[str, float], n: int) -> Any:
    """``n`` unconnected neurons of ``model`` with ``params`` (config names and units)."""
    return nest.Create(model.nest_model, n, params=model.nest_status(params))


# ---------------------------------------------------------------------------
# Spike trains
# ---------------------------------------------------------------------------


def spike_trains(recorder: Any, neurons: Any) -> list[np.ndarray]:
    """Sorted spike times (ms) of each neuron of ``neurons``."""
    events = recorder.get("events")
    times = np.asarray(events["times"], dtype=np.float64)
    senders = np.asarray(events["senders"], dtype=np.int64) - neurons[0].global_id
    order = np.lexsort((times, senders))
    times, senders = times[order], senders[order]
    bounds = np.searchsorted(senders, np.arange(len(neurons) + 1))
    return [times[bounds[i] : bounds[i + 1]] for i in range(len(neurons))]


def in_window(train: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """The spikes of ``train`` (ms) in ``[window[0], window[1])`` (ms)."""
    return train[(train >= window[0]) & (train < window[1])]


def analysis_window(cfg: Mapping[str, Any]) -> tuple[float, float]:
    """The analysis window (ms): ``[onset_ms + transient_ms, onset_ms + duration_ms)``."""
    onset = float(cfg["onset_ms"])
    return onset + float(cfg["transient_ms"]), onset + float(cfg["duration_ms"])


def run_length_ms(cfg: Mapping[str, Any]) -> float:
    """Simulated time (ms) of every kernel: ``onset_ms + duration_ms``."""
    return float(cfg["onset_ms"]) + float(cfg["duration_ms"])


def steady_rate_Hz(train: np.ndarray, window: tuple[float, float]) -> float:
    """Inverse mean ISI (Hz) of the spikes in ``window``; 0 with fewer than two."""
    spikes = in_window(train, window)
    if spikes.size < 2:
        return 0.0
    return 1000.0 * (spikes.size - 1) / (spikes[-1] - spikes[0])


def pooled_isi_cv(
    trains: Sequence[np.ndarray], window: tuple[float, float], min_isis: int
) -> float:
    """CV of the ISIs of all ``trains`` in ``window`` pooled into one sample.

    The ISIs of every train (ms, within ``window``) are put together and their
    standard deviation is divided by their mean: one CV for the trials of one
    setting, not a mean of per-neuron CVs (that is
    :func:`lfpflow.signals.analysis.mean_cv_isi`). NaN below ``min_isis`` ISIs
    (and always below two).
    """
    isis = np.concatenate([np.diff(in_window(t, window)) for t in trains] or [np.empty(0)])
    if isis.size < max(int(min_isis), 2):
        return float("nan")
    return float(np.std(isis) / np.mean(isis))


# ---------------------------------------------------------------------------
# DC steps and the rheobase
# ---------------------------------------------------------------------------


def connect_dc_steps(
    kernel: ModelKernel, neurons: Any, amplitudes_pA: Sequence[float], cfg: Mapping[str, Any]
) -> None:
    """Connect one DC step per amplitude to the neuron of the same index.

    Parameters
    ----------
    kernel : ModelKernel
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
            tstop_ms=run_length_ms(cfg),
            rng=protocol_rng(kernel.seed, "dc", index),
        )


def dc_spike_trains(
    kernel: ModelKernel,
    params: Mapping[str, float],
    amplitudes_pA: Sequence[float],
    cfg: Mapping[str, Any],
) -> list[np.ndarray]:
    """Spike trains (ms) of one neuron per DC step amplitude (pA), from ``onset_ms``."""
    nest = kernel.reset()
    amplitudes = [float(a) for a in amplitudes_pA]
    neurons = create_neurons(nest, kernel.model, params, len(amplitudes))
    connect_dc_steps(kernel, neurons, amplitudes, cfg)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(run_length_ms(cfg))
    return spike_trains(recorder, neurons)


def _doubling_groups(search_max_pA: float) -> list[np.ndarray]:
    """The doubling ladder 0, 0.25, 0.5, ... pA up to ``search_max_pA``, in groups.

    Groups of :data:`_DOUBLING_GROUP` amplitudes, smallest first: large
    currents are the expensive ones (high rates, small adaptive steps), so the
    search stops at the first group that fires and simulates them only if needed.
    """
    doubling = 0.25 * 2.0 ** np.arange(0, 64)
    ladder = np.concatenate([[0.0], doubling[doubling < search_max_pA], [search_max_pA]])
    return np.array_split(ladder, int(np.ceil(ladder.size / _DOUBLING_GROUP)))


def find_rheobase(
    kernel: ModelKernel, params: Mapping[str, float], cfg: Mapping[str, Any]
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
    window = analysis_window(cfg)
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
            tested[float(amplitude)] = int(in_window(train, window).size)

    def bracket() -> tuple[float, float | None]:
        amps = np.array(sorted(tested))
        fires = np.array([tested[a] >= min_spikes for a in amps])
        if not fires.any():
            return float(amps.max()), None
        hi = float(amps[np.argmax(fires)])
        below = amps[amps < hi]
        return (float(below.max()) if below.size else hi), hi

    for group in _doubling_groups(search_max):
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
        if rounds > _MAX_ROUNDS:  # pragma: no cover - floating-point safety net
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
