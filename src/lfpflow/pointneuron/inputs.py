"""Input protocols shared by networks and single-neuron experiments.

A protocol is a mapping with a ``type`` and its parameters (validated by the
configuration schema, ``network.inputs``):

``poisson``
    ``n_inputs`` independent Poisson trains of ``rate_Hz`` each, weight in the
    units of the target model (``weight_pA`` / ``weight_nS`` / ``weight_mV``).
``dc``
    Constant current ``amplitude_pA`` from ``start_ms`` to ``stop_ms``.
``white_noise``
    Gaussian white-noise current (NEST ``noise_generator``): a new value of
    mean ``mean_pA`` and standard deviation ``sd_pA`` every ``dt_ms``,
    independent for each neuron. The current is piecewise constant, so its
    effect on the membrane depends on ``dt_ms`` (its spectral density is
    ``sd_pA**2 * dt_ms``): ``dt_ms`` is part of the protocol and is recorded,
    never silently taken from the resolution. Keep ``sd_pA * sqrt(dt_ms)``
    fixed to keep the same effective noise at another ``dt_ms``.
``ou``
    Ornstein-Uhlenbeck current with time constant ``tau_ms``, stationary mean
    ``mean_pA`` and standard deviation ``sd_pA``, generated here with the exact
    discrete update (Gillespie 1996, Phys Rev E 54:2084)
    ``x[n+1] = mu + (x[n] - mu) a + sd sqrt(1 - a^2) xi[n]``, ``a = exp(-dt/tau)``,
    from the configuration's seed, and injected as a step current
    (``step_current_generator``), one process per neuron unless ``shared``.

Every protocol may name ``neurons`` (indices within the population) to
target only those neurons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lfpflow.config.rules import on_grid
from lfpflow.pointneuron.catalogue import NeuronModel

PROTOCOL_TYPES = ("poisson", "dc", "white_noise", "ou")

#: Largest OU sample array (values) built in memory, about 800 MB of float64.
MAX_OU_VALUES = 100_000_000


def protocol_rng(seed: int, population: str, index: int) -> np.random.Generator:
    """Random generator of protocol ``index`` of ``population``, derived from ``seed``.

    Each (population, protocol) pair gets its own stream, so adding a protocol
    to one population does not change the noise another one receives.
    """
    key = [int(seed), index] + [ord(ch) for ch in population]
    return np.random.default_rng(np.random.SeedSequence(key))


def ou_current(
    *,
    n_steps: int,
    dt_ms: float,
    tau_ms: float,
    mean_pA: float,
    sd_pA: float,
    rng: np.random.Generator,
    n_processes: int = 1,
) -> np.ndarray:
    """Ornstein-Uhlenbeck samples by the exact discrete update.

    Parameters
    ----------
    n_steps : int
        Number of samples per process.
    dt_ms : float
        Sampling interval (ms).
    tau_ms : float
        Correlation time (ms).
    mean_pA, sd_pA : float
        Stationary mean and standard deviation (pA).
    rng : numpy.random.Generator
        Source of the Gaussian increments.
    n_processes : int
        Independent processes.

    Returns
    -------
    numpy.ndarray
        ``n_processes x n_steps`` (pA); the first sample is drawn from the
        stationary distribution, so the process is stationary from the start.
    """
    if n_processes * n_steps > MAX_OU_VALUES:
        raise ValueError(
            f"an OU input of {n_processes} processes x {n_steps} steps exceeds "
            f"{MAX_OU_VALUES} values; use shared: true or a coarser dt_ms"
        )
    decay = np.exp(-dt_ms / tau_ms)
    innovation_sd = sd_pA * np.sqrt(1.0 - decay**2)
    values = np.empty((n_processes, n_steps))
    values[:, 0] = rng.normal(0.0, sd_pA, n_processes)
    noise = rng.normal(0.0, innovation_sd, (n_processes, max(n_steps - 1, 0)))
    # x[n+1] - mu = a (x[n] - mu) + noise[n]: a first-order recursion, done
    # with scipy's IIR filter (exact, and ~100x faster than a Python loop).
    from scipy.signal import lfilter

    if n_steps > 1:
        values[:, 1:] = lfilter([1.0], [1.0, -decay], noise, axis=1, zi=decay * values[:, :1])[0]
    return values + mean_pA


def _targets(population: Any, protocol: Mapping[str, Any]) -> Any:
    """The neurons of ``population`` that ``protocol`` names (all when it names none)."""
    indices = protocol.get("neurons")
    if indices is None:
        return population
    return population[sorted(int(i) for i in indices)]


def _window(protocol: Mapping[str, Any], tstop_ms: float) -> dict[str, float]:
    """NEST ``start``/``stop`` (ms) of a device; without ``stop_ms``, past the end of the run."""
    window = {"start": float(protocol.get("start_ms", 0.0))}
    stop = protocol.get("stop_ms")
    window["stop"] = float(stop) if stop is not None else float(tstop_ms) + 1.0
    return window


def connect_protocol(
    nest: Any,
    protocol: Mapping[str, Any],
    population: Any,
    *,
    model: NeuronModel,
    dt_ms: float,
    tstop_ms: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Create the NEST devices of one protocol and connect them to ``population``.

    Parameters
    ----------
    nest : module
        The imported ``nest`` module (passed in so that this module does not
        import NEST).
    protocol : Mapping
        One validated protocol (see the module docstring).
    population : nest.NodeCollection
        The neurons of the population.
    model : NeuronModel
        Catalogue entry of the population (weight units, receptor ports).
    dt_ms, tstop_ms : float
        Resolution and duration of the simulation (ms).
    rng : numpy.random.Generator
        For the OU samples (see :func:`protocol_rng`).

    Returns
    -------
    dict
        What was created (``"devices"``) and, for OU, the injected samples
        (``"ou_pA"``, processes x steps) for the record.
    """
    kind = protocol["type"]
    targets = _targets(population, protocol)
    window = _window(protocol, tstop_ms)
    if kind == "poisson":
        return _connect_poisson(nest, protocol, targets, window, model=model, dt_ms=dt_ms)
    if kind == "dc":
        return _connect_dc(nest, protocol, targets, window, dt_ms=dt_ms)
    if kind == "white_noise":
        return _connect_white_noise(nest, protocol, targets, window, dt_ms=dt_ms)
    if kind == "ou":
        return _connect_ou(nest, protocol, targets, window, dt_ms=dt_ms, tstop_ms=tstop_ms, rng=rng)
    raise ValueError(
        f"unknown input protocol {kind!r}; allowed values: {', '.join(PROTOCOL_TYPES)}"
    )


def _connect_poisson(
    nest: Any,
    protocol: Mapping[str, Any],
    targets: Any,
    window: Mapping[str, float],
    *,
    model: NeuronModel,
    dt_ms: float,
) -> dict[str, Any]:
    """One Poisson generator standing for ``n_inputs`` trains, onto every target.

    Parameters
    ----------
    nest : module
        The imported ``nest`` module.
    protocol : Mapping
        A ``poisson`` protocol: ``rate_Hz`` (Hz) per input, ``n_inputs`` and
        the weight in the units of ``model`` (pA, nS or mV).
    targets : nest.NodeCollection
        The neurons that receive it.
    window : Mapping
        ``start`` and ``stop`` of the generator (ms).
    model : NeuronModel
        Catalogue entry of the targets: weight key and receptor ports.
    dt_ms : float
        Resolution (ms), used as the connection delay.

    Returns
    -------
    dict
        ``{"devices": generator}``.

    Raises
    ------
    ValueError
        If the protocol has no weight in the units the model's synapses take.
    """
    weight_key = model.weight_key
    if weight_key not in protocol:
        raise ValueError(
            f"a poisson input onto model {model.name!r} needs {weight_key!r} "
            f"(its synapses are {model.synapse}-based)"
        )
    weight = float(protocol[weight_key])
    # n independent Poisson trains summed are one Poisson train of n times the rate
    rate_Hz = float(protocol["rate_Hz"]) * int(protocol.get("n_inputs", 1))
    generator = nest.Create("poisson_generator", params={"rate": rate_Hz, **window})
    syn_spec: dict[str, Any] = {"weight": weight, "delay": dt_ms}
    if model.receptors:
        # port-based models take inhibition on its own port, chosen by the sign
        syn_spec["receptor_type"] = model.receptors["excitatory" if weight >= 0 else "inhibitory"]
    nest.Connect(generator, targets, "all_to_all", syn_spec)
    return {"devices": generator}


def _connect_dc(
    nest: Any,
    protocol: Mapping[str, Any],
    targets: Any,
    window: Mapping[str, float],
    *,
    dt_ms: float,
) -> dict[str, Any]:
    """One DC generator of ``amplitude_pA`` (pA) onto every target.

    Parameters
    ----------
    nest : module
        The imported ``nest`` module.
    protocol : Mapping
        A ``dc`` protocol.
    targets : nest.NodeCollection
        The neurons that receive it.
    window : Mapping
        ``start`` and ``stop`` of the current (ms).
    dt_ms : float
        Resolution (ms), used as the connection delay.

    Returns
    -------
    dict
        ``{"devices": generator}``.
    """
    generator = nest.Create(
        "dc_generator", params={"amplitude": float(protocol["amplitude_pA"]), **window}
    )
    # delay of one step, not NEST's default 1 ms, so currents start at start_ms
    nest.Connect(generator, targets, syn_spec={"delay": dt_ms})
    return {"devices": generator}


def _connect_white_noise(
    nest: Any,
    protocol: Mapping[str, Any],
    targets: Any,
    window: Mapping[str, float],
    *,
    dt_ms: float,
) -> dict[str, Any]:
    """One noise generator onto every target, an independent current for each.

    Parameters
    ----------
    nest : module
        The imported ``nest`` module.
    protocol : Mapping
        A ``white_noise`` protocol: ``mean_pA`` and ``sd_pA`` (pA), and
        ``dt_ms`` (ms), the interval between new values (default: the
        resolution).
    targets : nest.NodeCollection
        The neurons that receive it.
    window : Mapping
        ``start`` and ``stop`` of the current (ms).
    dt_ms : float
        Resolution (ms), used as the connection delay.

    Returns
    -------
    dict
        ``{"devices": generator}``.

    Raises
    ------
    ValueError
        If the noise interval is not a multiple of the resolution.
    """
    noise_dt = float(protocol.get("dt_ms") or dt_ms)
    # NEST can change the current only at a step boundary (the rule
    # lfpflow.pointneuron.checks enforces on the configuration)
    if not on_grid(noise_dt, dt_ms):
        raise ValueError(
            f"white_noise dt_ms ({noise_dt}) must be a multiple of the resolution ({dt_ms})"
        )
    generator = nest.Create(
        "noise_generator",
        params={
            "mean": float(protocol.get("mean_pA", 0.0)),
            "std": float(protocol["sd_pA"]),
            "dt": noise_dt,
            **window,
        },
    )
    nest.Connect(generator, targets, syn_spec={"delay": dt_ms})
    return {"devices": generator}


def _connect_ou(
    nest: Any,
    protocol: Mapping[str, Any],
    targets: Any,
    window: Mapping[str, float],
    *,
    dt_ms: float,
    tstop_ms: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """OU currents sampled here, injected by step-current generators.

    One process for all targets when the protocol is ``shared``, else one
    per target.

    Parameters
    ----------
    nest : module
        The imported ``nest`` module.
    protocol : Mapping
        An ``ou`` protocol: ``tau_ms`` (ms), ``mean_pA`` and ``sd_pA`` (pA),
        ``shared``.
    targets : nest.NodeCollection
        The neurons that receive it.
    window : Mapping
        ``start`` and ``stop`` of the current (ms).
    dt_ms : float
        Resolution (ms): sampling interval and connection delay.
    tstop_ms : float
        Duration of the simulation (ms); no samples are drawn beyond it.
    rng : numpy.random.Generator
        Source of the samples.

    Returns
    -------
    dict
        ``{"devices": generators, "ou_pA": samples}``, samples in pA,
        processes x steps.
    """
    start = max(window["start"], dt_ms)  # step_current_generator times must be > 0
    stop = min(window["stop"], tstop_ms)
    n_steps = int(round((stop - start) / dt_ms))
    shared = bool(protocol.get("shared", False))
    n_targets = len(targets)
    samples = ou_current(
        n_steps=n_steps,
        dt_ms=dt_ms,
        tau_ms=float(protocol["tau_ms"]),
        mean_pA=float(protocol.get("mean_pA", 0.0)),
        sd_pA=float(protocol["sd_pA"]),
        rng=rng,
        n_processes=1 if shared else n_targets,
    )
    times = start + dt_ms * np.arange(n_steps)
    generators = nest.Create("step_current_generator", samples.shape[0])
    for generator, values in zip(generators, samples, strict=True):
        generator.set(amplitude_times=times.tolist(), amplitude_values=values.tolist())
    rule = "all_to_all" if shared else "one_to_one"
    nest.Connect(generators, targets, rule, {"delay": dt_ms})
    return {"devices": generators, "ou_pA": samples}


def describe(protocols: Sequence[Mapping[str, Any]]) -> str:
    """One line per protocol, for logs."""
    return "; ".join(
        f"{p['type']}(" + ", ".join(f"{k}={v}" for k, v in p.items() if k != "type") + ")"
        for p in protocols
    )
