"""Cross-field checks of the point-neuron sections: populations' models, network, neurons.

The schema checks types, ranges and defaults; these functions check what it
cannot express, on the resolved configuration, and return one message per
offending key (:mod:`lfpflow.config.rules`). :mod:`lfpflow.resolve` runs them;
the simulation code receives a configuration that passed them. Where the
simulation code needs the same rule (the weight keys, the connection rules,
the scaled population sizes, the noise time grid) it uses the definitions
these checks use.

Data only: the catalogue and the scaling arithmetic, no simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lfpflow.config.rules import (
    Problems,
    is_power_of_two_ms,
    names,
    on_grid,
    require,
    unknown_population,
)
from lfpflow.config.scaling import scaled_size
from lfpflow.pointneuron.catalogue import CATALOGUE, WEIGHT_KEYS, NeuronModel, get_model
from lfpflow.pointneuron.scaling import FIXED_TOTAL_NUMBER

#: Connection rules of ``network.connections`` and the key each one needs
#: (:func:`lfpflow.pointneuron.network.simulate_network` builds them).
RULE_PARAMETERS = {
    "pairwise_bernoulli": "p",
    "ring_gaussian": "sigma_deg",
    FIXED_TOTAL_NUMBER: "p",
}


def _weight_problems(item: Mapping[str, Any], model: NeuronModel, key: str) -> Problems:
    """The weight of a connection or input must use the units of the target model.

    Parameters
    ----------
    item : Mapping
        A connection, the drive or a Poisson protocol (its weight keys).
    model : NeuronModel
        The target population's catalogue model.
    key : str
        Dotted config key of ``item``, for the messages.
    """
    given = [k for k in WEIGHT_KEYS if k in item]
    if given == [model.weight_key]:
        return []
    if not given:
        return [
            f"config key '{key}.{model.weight_key}': missing (model '{model.name}' has "
            f"{model.synapse}-based synapses)"
        ]
    return [
        f"config key '{key}.{k}': model '{model.name}' has {model.synapse}-based synapses; "
        f"use {model.weight_key} instead"
        for k in given
        if k != model.weight_key
    ] or [f"config key '{key}': give only one of {', '.join(given)}"]


def check_models(config: Mapping[str, Any]) -> Problems:
    """Each population's model is in the catalogue and its parameters belong to it.

    The point-neuron half of the population check; the cell (morphology) half
    is :mod:`lfpflow.multicompartment`'s.
    """
    problems: Problems = []
    for name, population in config["populations"].items():
        if population["model"] not in CATALOGUE:
            problems.append(
                f"config key 'populations.{name}.model': {population['model']!r} is not in "
                f"the catalogue; allowed values: {names(map(repr, CATALOGUE))}"
            )
            continue
        model = get_model(population["model"])
        params = population["params"]
        unknown = sorted(set(params) - set(model.parameters))
        for key in unknown:
            problems.append(
                f"config key 'populations.{name}.params.{key}': not a parameter of "
                f"model '{model.name}'; allowed: {names(model.parameters)}"
            )
        if unknown:
            continue
        values = model.resolved_params(params)
        if "V_th" in values and "V_reset" in values:
            require(
                values["V_th"] > values["V_reset"],
                f"populations.{name}.params.V_th",
                f"{values['V_th']} mV must exceed V_reset ({values['V_reset']} mV)",
                problems,
            )
    return problems


def _connection_problems(config: Mapping[str, Any], models: Mapping[str, NeuronModel]) -> Problems:
    """Connections join declared populations once each, in the target's weight units."""
    problems: Problems = []
    populations = list(config["populations"])
    seen: set[tuple[str, str]] = set()
    for index, conn in enumerate(config["network"]["connections"]):
        key = f"network.connections[{index}]"
        unknown = [role for role in ("pre", "post") if conn[role] not in populations]
        for role in unknown:
            problems.append(unknown_population(f"{key}.{role}", conn[role], populations))
        pair = (conn["pre"], conn["post"])
        require(pair not in seen, key, f"pathway {pair[0]}->{pair[1]} is listed twice", problems)
        seen.add(pair)
        if not unknown:
            problems.extend(_weight_problems(conn, models[conn["post"]], key))
        needed = RULE_PARAMETERS[conn["rule"]]
        require(needed in conn, f"{key}.{needed}", f"required by rule '{conn['rule']}'", problems)
        if conn["rule"] == FIXED_TOTAL_NUMBER and "p" in conn:
            require(
                conn["p"] < 1,
                f"{key}.p",
                f"{conn['p']} must be below 1 with rule 'fixed_total_number' "
                "(K = ln(1 - p) / ln(1 - 1 / (N_pre N_post)))",
                problems,
            )
    return problems


def _k_scale_problems(net: Mapping[str, Any], models: Mapping[str, NeuronModel]) -> Problems:
    """``network.k_scale`` < 1 needs fixed-total connections, full-scale rates and
    current-based exponential synapses (its DC compensation)."""
    problems: Problems = []
    for index, conn in enumerate(net["connections"]):
        require(
            conn["rule"] == FIXED_TOTAL_NUMBER,
            f"network.connections[{index}].rule",
            f"'{conn['rule']}' cannot be used with network.k_scale < 1; allowed values: "
            "fixed_total_number",
            problems,
        )
        require(
            conn["pre"] in net["k_scale_rates_Hz"] or conn["pre"] not in models,
            f"network.k_scale_rates_Hz.{conn['pre']}",
            "missing (full-scale rate in Hz, needed for the DC compensation of k_scale < 1)",
            problems,
        )
    for name, model in models.items():
        require(
            model.synapse == "current" and "tau_syn_ex" in model.parameters,
            f"populations.{name}.model",
            f"'{model.name}' cannot be used with network.k_scale < 1 (the DC compensation "
            "needs current-based exponential synapses); allowed values: lif",
            problems,
        )
    return problems


def _scaling_problems(config: Mapping[str, Any], models: Mapping[str, NeuronModel]) -> Problems:
    """``network.scale`` leaves every population non-empty; ``k_scale`` < 1 has what
    its DC compensation needs; ``k_scale_rates_Hz`` and ``v_init`` name populations."""
    net, populations = config["network"], list(config["populations"])
    problems: Problems = []
    for name, population in config["populations"].items():
        require(
            scaled_size(population["size"], net["scale"]) >= 1,
            "network.scale",
            f"{net['scale']} leaves population {name!r} (size {population['size']}) empty",
            problems,
        )
    for section in ("k_scale_rates_Hz", "v_init"):
        for name in net[section]:
            if name not in populations:
                problems.append(unknown_population(f"network.{section}.{name}", name, populations))
    if net["k_scale"] == 1:
        return problems
    return problems + _k_scale_problems(net, models)


def _drive_problems(config: Mapping[str, Any], models: Mapping[str, NeuronModel]) -> Problems:
    """The drive names populations; an active drive is in the target's weight units."""
    problems: Problems = []
    populations = list(config["populations"])
    drive = config["network"]["drive"]
    for name, n_ext in drive["n_ext"].items():
        if name not in populations:
            problems.append(unknown_population(f"network.drive.n_ext.{name}", name, populations))
        elif n_ext > 0 and drive["nu_ext_Hz"] > 0:
            problems.extend(_weight_problems(drive, models[name], "network.drive"))
    return problems


def _protocol_problems(
    protocol: Mapping[str, Any], key: str, model: NeuronModel, size: int, sim: Mapping[str, Any]
) -> Problems:
    """One input protocol: weight units, neuron indices, time window, noise grid.

    ``size`` is the scaled population size; ``sim`` the ``simulation`` section
    (``tstop_ms``, ``dt_ms`` in ms).
    """
    problems: Problems = []
    if protocol["type"] == "poisson":
        problems.extend(_weight_problems(protocol, model, key))
    bad = [i for i in protocol.get("neurons", []) if i >= size]
    require(not bad, f"{key}.neurons", f"{bad} exceed the population size {size}", problems)
    stop = protocol.get("stop_ms", sim["tstop_ms"])
    require(
        protocol.get("start_ms", 0.0) < stop,
        f"{key}.start_ms",
        f"{protocol.get('start_ms', 0.0)} must be before stop_ms ({stop})",
        problems,
    )
    if protocol["type"] == "white_noise" and "dt_ms" in protocol:
        require(
            on_grid(protocol["dt_ms"], sim["dt_ms"]),
            f"{key}.dt_ms",
            f"{protocol['dt_ms']} must be a multiple of simulation.dt_ms ({sim['dt_ms']})",
            problems,
        )
    return problems


def check_network(config: Mapping[str, Any]) -> Problems:
    """Connections, drive and input protocols refer to populations, in their units.

    Needs :func:`check_models` to have passed (every model in the catalogue).
    """
    populations = config["populations"]
    models = {name: get_model(pop["model"]) for name, pop in populations.items()}  # checked
    sim, net = config["simulation"], config["network"]
    problems = _connection_problems(config, models) + _drive_problems(config, models)
    problems += _scaling_problems(config, models)
    require(
        net["delay_min_ms"] >= sim["dt_ms"],
        "network.delay_min_ms",
        f"{net['delay_min_ms']} ms must be >= simulation.dt_ms ({sim['dt_ms']} ms)",
        problems,
    )
    for name, protocols in net["inputs"].items():
        if name not in populations:
            problems.append(unknown_population(f"network.inputs.{name}", name, list(populations)))
            continue
        for index, protocol in enumerate(protocols):
            key = f"network.inputs.{name}[{index}]"
            size = scaled_size(populations[name]["size"], net["scale"])
            problems.extend(_protocol_problems(protocol, key, models[name], size, sim))
    return problems


def check_neurons(config: Mapping[str, Any]) -> Problems:
    """Single-neuron characterisation: time grid and per-model parameters."""
    cfg = config["neurons"]
    problems: Problems = []
    dt = float(cfg["dt_ms"])
    require(
        is_power_of_two_ms(dt),
        "neurons.dt_ms",
        f"{dt} must be a power of two not above 1 (NEST's integer tics_per_ms = 1/dt_ms)",
        problems,
    )
    require(
        on_grid(float(cfg["gwn_dt_ms"]), dt),
        "neurons.gwn_dt_ms",
        f"{cfg['gwn_dt_ms']} must be a multiple of neurons.dt_ms ({dt})",
        problems,
    )
    require(
        cfg["transient_ms"] < cfg["duration_ms"],
        "neurons.transient_ms",
        f"{cfg['transient_ms']} must lie in [0, neurons.duration_ms = {cfg['duration_ms']})",
        problems,
    )
    for name, overrides in cfg["models"].items():
        if name not in CATALOGUE:
            problems.append(
                f"config key 'neurons.models.{name}': not a catalogue model; "
                f"allowed values: {names(CATALOGUE)}"
            )
            continue
        allowed = get_model(name).parameters
        for key in sorted(set(overrides.get("params", {})) - set(allowed)):
            problems.append(
                f"config key 'neurons.models.{name}.params.{key}': not a parameter of "
                f"model '{name}'; allowed: {names(allowed)}"
            )
    return problems
