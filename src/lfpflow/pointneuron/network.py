"""Point-neuron network simulation with NEST (the only module importing NEST).

Builds the E/I network described by ``config["network"]`` of the network stage
view (:func:`simulate_network`; by default the LIF network fitted by Hagen et
al. 2022, PLOS Comput Biol 18:e1010353, to their multicompartment network),
simulates it and returns the spikes.

Reproducibility: NEST's random numbers are seeded from ``config["seed"]`` and
the number of virtual processes is ``config["simulation"]["n_vp"]``, so the
spikes are bit-identical whatever number of cores Snakemake grants (NEST
guarantees identical results for a fixed number of virtual processes). Spikes
are sorted by (time, population index) before they are returned, because the
order in which threads hand events to the recorder is not fixed. Populations
are created in the order of their names, so the key order of a YAML file does
not change the result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.config.scaling import scaled_in_degree, weight_factor
from lfpflow.pointneuron.catalogue import NESTML_MODULE, WEIGHT_KEYS, NeuronModel, get_model
from lfpflow.pointneuron.checks import RULE_PARAMETERS
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng
from lfpflow.pointneuron.scaling import FIXED_TOTAL_NUMBER, ScaledNetwork, scaled_network_totals
from lfpflow.signals.spikes import NetworkSpikes

#: Largest seed NEST accepts for ``rng_seed``.
_NEST_MAX_SEED = 2**31 - 1


def nest_seed(seed: int) -> int:
    """Map the master seed to NEST's ``rng_seed`` range [1, 2^31 - 1].

    A ``numpy.random.SeedSequence`` spreads neighbouring master seeds over the
    range, so seeds 1, 2, 3 of a sweep do not give correlated NEST streams.
    """
    state = np.random.SeedSequence([int(seed), 0x4E455354]).generate_state(1)[0]
    return int(state % (_NEST_MAX_SEED - 1)) + 1


def _import_nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def _reset_kernel(nest: Any, config: Mapping[str, Any]) -> None:
    """Reset NEST and set resolution (``simulation.dt_ms``, ms), threads and seed."""
    sim = config["simulation"]
    dt_ms = float(sim["dt_ms"])
    nest.ResetKernel()
    nest.SetKernelStatus(
        {
            # pip NEST has no MPI: virtual processes are threads of this process
            "total_num_virtual_procs": int(sim["n_vp"]),
            "resolution": dt_ms,
            # NEST 3.10 wants an integer; dt is a power of two (checked in config)
            "tics_per_ms": int(round(1.0 / dt_ms)),
            "rng_seed": nest_seed(config["seed"]),
            "print_time": False,
        }
    )


def _population_models(
    nest: Any, populations: Mapping[str, Any], nestml_module_dir: str | Path | None
) -> dict[str, NeuronModel]:
    """Catalogue model of each population; installs our NESTML module if one needs it.

    Raises
    ------
    ValueError
        If a population uses a NESTML model and ``nestml_module_dir`` is None.
    """
    models = {name: get_model(p["model"]) for name, p in populations.items()}
    if any(model.nestml_model for model in models.values()):
        from lfpflow.pointneuron.nestml_build import NESTML_BUILD_DIR, install_module

        if nestml_module_dir is None:
            raise ValueError(
                "a population uses a NESTML model "
                f"({', '.join(n for n, m in models.items() if m.nestml_model)}): "
                f"pass nestml_module_dir (the workflow's {NESTML_BUILD_DIR})"
            )
        install_module(nest, Path(nestml_module_dir), NESTML_MODULE)
    return models


def _create_populations(
    nest: Any,
    populations: Mapping[str, Any],
    models: Mapping[str, NeuronModel],
    scaled: ScaledNetwork,
    node_order: str = "interleaved",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create each population, followed by its spike recorder.

    Populations are created in name order, whatever order the configuration
    lists them in: node ids, and so NEST's random streams, depend on the order.
    Sizes are the scaled ones; a compensating DC (``scaled.dc_pA``, pA) is
    added to the model's ``I_e``. ``node_order`` ``"interleaved"`` puts each
    recorder right after its population (the layout of the existing runs,
    kept so that their spikes do not change); ``"neurons_first"`` creates
    every neuron before any recorder: NEST finds a neuron from its id fast
    only when the ids of each thread's neurons are evenly spaced, which a
    device (present on every thread) between populations breaks, and large
    networks then connect several times more slowly.

    Returns
    -------
    tuple of dict
        Population name -> neurons (NodeCollection), and -> spike recorder,
        both in name order.
    """
    neurons: dict[str, Any] = {}
    recorders: dict[str, Any] = {}
    for name in sorted(populations):
        population = populations[name]
        model = models[name]
        status = model.nest_status(population["params"])
        if scaled.dc_pA[name] != 0.0:
            status["I_e"] = status.get("I_e", 0.0) + scaled.dc_pA[name]
        neurons[name] = nest.Create(model.nest_model, scaled.sizes[name], params=status)
        if node_order == "interleaved":
            recorders[name] = nest.Create("spike_recorder")
            nest.Connect(neurons[name], recorders[name])
    if node_order == "neurons_first":
        for name in sorted(populations):
            recorders[name] = nest.Create("spike_recorder")
            nest.Connect(neurons[name], recorders[name])
    return neurons, recorders


def _connect_inputs(
    nest: Any,
    config: Mapping[str, Any],
    neurons: Mapping[str, Any],
    models: Mapping[str, NeuronModel],
) -> None:
    """Connect the drive and inputs of :func:`network_inputs`, populations in name order."""
    sim = config["simulation"]
    for name, protocol in sorted(network_inputs(config).items()):
        for index, item in enumerate(protocol):
            connect_protocol(
                nest,
                item,
                neurons[name],
                model=models[name],
                dt_ms=float(sim["dt_ms"]),
                tstop_ms=float(sim["tstop_ms"]),
                rng=protocol_rng(config["seed"], name, index),
            )


def _time_sender_order(
    times_ms: np.ndarray, senders: np.ndarray, size: int, dt_ms: float
) -> np.ndarray:
    """The permutation sorting spikes by (time, sender), as ``np.lexsort`` would.

    Spike times of the grid-based models are whole steps of ``dt_ms`` (ms), so
    one integer key, step x ``size`` + sender (senders in [0, ``size``)),
    orders them: a stable sort on it gives exactly ``np.lexsort((senders,
    times_ms))`` about ten times faster (two-key lexsort of every spike was the
    slowest step after ``nest.Simulate``). Times off the grid fall back to lexsort.
    """
    steps = np.rint(times_ms / dt_ms)
    if steps.size and (np.any(steps * dt_ms != times_ms) or steps.max() * size > 2.0**62):
        return np.lexsort((senders, times_ms))
    return np.argsort(steps.astype(np.int64) * size + senders, kind="stable")


def _collect_spikes(
    recorders: Mapping[str, Any], neurons: Mapping[str, Any], dt_ms: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Spike times (ms) and senders (index within the population) per population.

    Sorted by (time, sender) (:func:`_time_sender_order`): the order in which
    threads hand events to the recorder is not fixed. ``dt_ms`` is the
    resolution (ms).
    """
    times_ms: dict[str, np.ndarray] = {}
    senders: dict[str, np.ndarray] = {}
    for name, recorder in recorders.items():
        events = recorder.get("events")
        first_id = neurons[name][0].global_id
        population_times = np.asarray(events["times"], dtype=np.float64)
        population_senders = np.asarray(events["senders"], dtype=np.int64) - first_id
        order = _time_sender_order(population_times, population_senders, len(neurons[name]), dt_ms)
        times_ms[name] = population_times[order]
        senders[name] = population_senders[order]
    return times_ms, senders


def simulate_network(
    config: Mapping[str, Any], *, nestml_module_dir: str | Path | None = None
) -> NetworkSpikes:
    """Build and simulate the point-neuron network.

    Steps: reset the kernel (:func:`_reset_kernel`), create the populations
    (:func:`_create_populations`), draw initial potentials
    (:func:`_initial_potentials`), connect them (:func:`_connect`,
    :func:`_connect_fixed_total`), connect
    the drive and inputs (:func:`_connect_inputs`), simulate, collect the
    spikes (:func:`_collect_spikes`).

    Parameters
    ----------
    config : Mapping
        ``stage_config(resolved, "network")``
        (:func:`lfpflow.config.stage_config`): ``seed``, ``simulation``
        (``tstop_ms``, ``dt_ms`` in ms, ``n_vp``) and ``network``, whose
        ``populations`` maps each name to ``size`` (full size; ``scale``
        scales it), ``model`` and ``params``.
    nestml_module_dir : path-like, optional
        Folder of our compiled NESTML module (``build/nestml``); needed when a
        population uses a NESTML catalogue model.

    Returns
    -------
    NetworkSpikes
        Spikes of every population and the wall times (s) of the phases.
    """
    nest = _import_nest()
    sim = config["simulation"]
    net = config["network"]
    scaled = scaled_network_totals(net)

    started = time.perf_counter()
    _reset_kernel(nest, config)
    models = _population_models(nest, net["populations"], nestml_module_dir)
    neurons, recorders = _create_populations(
        nest, net["populations"], models, scaled, str(sim["node_order"])
    )
    _initial_potentials(nest, net["v_init"], neurons)
    for index, conn in enumerate(net["connections"]):
        if conn["rule"] == FIXED_TOTAL_NUMBER:
            _connect_fixed_total(nest, conn, neurons, models[conn["post"]], net, scaled, index)
        else:
            _connect(nest, conn, neurons, models[conn["post"]], net)
    _connect_inputs(nest, config, neurons, models)
    built = time.perf_counter()

    nest.Simulate(float(sim["tstop_ms"]))
    simulated = time.perf_counter()

    times_ms, senders = _collect_spikes(recorders, neurons, float(sim["dt_ms"]))
    return NetworkSpikes(
        times_ms=times_ms,
        senders=senders,
        population_sizes=dict(scaled.sizes),
        tstop_ms=float(sim["tstop_ms"]),
        dt_ms=float(sim["dt_ms"]),
        n_vp=int(nest.GetKernelStatus("total_num_virtual_procs")),
        timings_s={"build": built - started, "simulate": simulated - built},
    )


def network_inputs(config: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Input protocols per population: the Poisson ``drive`` plus ``inputs``.

    ``network.drive`` (n_ext inputs of nu_ext_Hz each, as in Hagen et al. 2022)
    is one ``poisson`` protocol per driven population; ``network.inputs`` adds
    any further protocols (:mod:`lfpflow.pointneuron.inputs`). With
    ``network.k_scale`` < 1 the drive has round(n_ext k_scale) inputs of
    weight / sqrt(k_scale) (:func:`lfpflow.config.scaling.weight_factor`,
    :mod:`lfpflow.pointneuron.scaling`).
    """
    net = config["network"]
    drive = net["drive"]
    k_scale = float(net["k_scale"])
    weight_keys = [k for k in WEIGHT_KEYS if k in drive]
    protocols: dict[str, list[dict[str, Any]]] = {name: [] for name in net["populations"]}
    for name, n_ext in drive["n_ext"].items():
        if n_ext == 0 or drive["nu_ext_Hz"] == 0:
            continue
        n_inputs = scaled_in_degree(n_ext, k_scale) if k_scale != 1.0 else n_ext
        protocol = {"type": "poisson", "rate_Hz": drive["nu_ext_Hz"], "n_inputs": n_inputs}
        protocol.update({key: drive[key] for key in weight_keys})
        if k_scale != 1.0:
            factor = weight_factor(k_scale)
            protocol.update({key: drive[key] * factor for key in weight_keys})
        protocols[name].append(protocol)
    for name, items in net["inputs"].items():
        protocols[name].extend(items)
    return protocols


def _weight_and_delay_specs(
    nest: Any, weight: float, delay: float, net: Mapping[str, Any]
) -> tuple[Any, Any]:
    """NEST parameter objects for normally distributed weights and delays.

    Redraw (not clip) out-of-range values, as Hagen et al. (2022) do: weights
    keep the sign of their mean, delays stay >= delay_min_ms.
    """
    weight_sd = abs(weight) * float(net["weight_rel_sd"])
    if weight_sd > 0:
        weight_spec = nest.math.redraw(
            nest.random.normal(mean=weight, std=weight_sd),
            min=0.0 if weight >= 0 else -np.inf,
            max=np.inf if weight >= 0 else 0.0,
        )
    else:
        weight_spec = weight
    delay_sd = delay * float(net["delay_rel_sd"])
    if delay_sd > 0:
        delay_spec = nest.math.redraw(
            nest.random.normal(mean=delay, std=delay_sd),
            min=float(net["delay_min_ms"]),
            max=np.inf,
        )
    else:
        delay_spec = max(delay, float(net["delay_min_ms"]))
    return weight_spec, delay_spec


def ring_weights(n_pre: int, n_post: int, *, w0: float, sigma_deg: float) -> np.ndarray:
    """Ring connectivity w0 exp(-d^2 / sigma^2), d the angular distance (deg).

    Neurons of each population sit at equal spacing around the ring
    (pre i at 360 i / n_pre, post j at 360 j / n_post), as in the ring
    networks of Compte et al. (2000, Cereb Cortex 10:910).

    Returns
    -------
    numpy.ndarray
        n_post x n_pre weights (units of w0).
    """
    pre_angle = 360.0 * np.arange(n_pre) / n_pre
    post_angle = 360.0 * np.arange(n_post) / n_post
    difference = np.abs(post_angle[:, np.newaxis] - pre_angle[np.newaxis, :])
    distance = np.minimum(difference, 360.0 - difference)
    return w0 * np.exp(-(distance**2) / sigma_deg**2)


def _connect(
    nest: Any,
    conn: Mapping[str, Any],
    neurons: Mapping[str, Any],
    post_model: NeuronModel,
    net: Mapping[str, Any],
) -> None:
    weight = float(conn[post_model.weight_key])
    syn_spec: dict[str, Any] = {"synapse_model": "static_synapse"}
    if post_model.receptors:
        syn_spec["receptor_type"] = post_model.receptors[
            "excitatory" if weight >= 0 else "inhibitory"
        ]
    pre, post = neurons[conn["pre"]], neurons[conn["post"]]
    rule = conn["rule"]
    if rule == "pairwise_bernoulli":
        weight_spec, delay_spec = _weight_and_delay_specs(
            nest, weight, float(conn["delay_ms"]), net
        )
        nest.Connect(
            pre,
            post,
            {"rule": "pairwise_bernoulli", "p": float(conn["p"])},
            {**syn_spec, "weight": weight_spec, "delay": delay_spec},
        )
    elif rule == "ring_gaussian":
        if weight == 0:
            return
        weights = ring_weights(len(pre), len(post), w0=weight, sigma_deg=float(conn["sigma_deg"]))
        same_population = conn["pre"] == conn["post"]
        delay = max(float(conn["delay_ms"]), float(net["delay_min_ms"]))
        for index in range(len(pre)):
            targets = np.arange(len(post))
            if same_population:
                targets = targets[targets != index]  # no autapses
            nest.Connect(
                pre[index],
                post[targets.tolist()],
                "all_to_all",
                {**syn_spec, "weight": weights[targets, index][:, np.newaxis], "delay": delay},
            )
    else:  # unreachable after lfpflow.pointneuron.checks
        raise ValueError(
            f"unknown connection rule {rule!r}; allowed values: {', '.join(RULE_PARAMETERS)}"
        )


def _initial_potentials(nest: Any, v_init: Mapping[str, Any], neurons: Mapping[str, Any]) -> None:
    """Draw initial membrane potentials V_m ~ normal(mean_mV, sd_mV) (mV), in name order.

    Populations not named keep their model's initial V_m (E_L for ``lif``).
    Potjans & Diesmann (2014) draw V_m from normal(-58 mV, 10 mV); the
    reference implementation's default is a population-specific normal that
    shortens the initial transient.
    """
    for name in sorted(v_init):
        spec = v_init[name]
        if float(spec["sd_mV"]) > 0:
            value = nest.random.normal(mean=float(spec["mean_mV"]), std=float(spec["sd_mV"]))
        else:
            value = float(spec["mean_mV"])
        neurons[name].set(V_m=value)


def _connect_fixed_total(
    nest: Any,
    conn: Mapping[str, Any],
    neurons: Mapping[str, Any],
    post_model: NeuronModel,
    net: Mapping[str, Any],
    scaled: ScaledNetwork,
    index: int,
) -> None:
    """Potjans & Diesmann (2014)'s rule: a fixed total number of synapses.

    ``scaled.n_synapses[index]`` synapses (:mod:`lfpflow.pointneuron.scaling`),
    each between a presynaptic and a postsynaptic neuron drawn uniformly at
    random, so multapses and autapses occur (NEST ``fixed_total_number`` with
    its defaults ``allow_multapses`` and ``allow_autapses`` true). Weights
    (times ``scaled.weight_factor``, 1 / sqrt(k_scale)) and delays are normal
    as for pairwise_bernoulli (:func:`_weight_and_delay_specs`).
    """
    n_synapses = scaled.n_synapses[index]
    if n_synapses == 0:
        return
    weight = float(conn[post_model.weight_key]) * scaled.weight_factor
    syn_spec: dict[str, Any] = {"synapse_model": "static_synapse"}
    if post_model.receptors:
        syn_spec["receptor_type"] = post_model.receptors[
            "excitatory" if weight >= 0 else "inhibitory"
        ]
    weight_spec, delay_spec = _weight_and_delay_specs(nest, weight, float(conn["delay_ms"]), net)
    nest.Connect(
        neurons[conn["pre"]],
        neurons[conn["post"]],
        {
            "rule": "fixed_total_number",
            "N": n_synapses,
            "allow_autapses": True,
            "allow_multapses": True,
        },
        {**syn_spec, "weight": weight_spec, "delay": delay_spec},
    )
