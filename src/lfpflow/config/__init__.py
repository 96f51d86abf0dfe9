"""Configuration: validation against the JSON schema, defaults, consistency checks.

The schema (``src/lfpflow/config/schemas/config.schema.yaml``, and ``<section>.schema.yaml``
for the sections ``v1``, ...) describes every key with its units. :func:`resolve_config`
validates a configuration, fills in defaults and checks the relations a schema
cannot express (transient shorter than the run, every kernel pathway
described, ...). Every problem is reported as a :class:`ConfigError` naming the
key, before any simulation starts.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

from lfpflow.config.schema import (
    ConfigError,
    coerce_text_values,
    load_schema,
    load_yaml,  # noqa: F401  (re-exported)
    validate_schema,
)
from lfpflow.pointneuron.catalogue import get_model

#: Weight keys, one per kind of synapse (see lfpflow.pointneuron.catalogue).
WEIGHT_KEYS = ("weight_pA", "weight_nS", "weight_mV")

#: Folders under results/ that are not runs (shared kernels, sweep tables, the
#: V1 and single-neuron targets), so no run may take their name.
RESERVED_RUN_NAMES = ("kernels", "sweeps", "v1", "neurons")

def pathway_key(post: str, pre: str) -> str:
    """The pathway key ``"<post>:<pre>"`` (LFPykernels' ``'Y:X'``)."""
    return f"{post}:{pre}"


def kernel_pathways(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """All ``(post, pre)`` pairs of the kernel populations, in config order."""
    names = list(config["kernels"]["populations"])
    return [(post, pre) for post in names for pre in names]


def _check(condition: bool, key: str, message: str, problems: list[str]) -> None:
    if not condition:
        problems.append(f"config key '{key}': {message}")


def _weight_problems(item: Mapping[str, Any], model: Any, key: str) -> list[str]:
    """The weight of a connection or input must use the units of the target model."""
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


def _consistency_problems(config: Mapping[str, Any]) -> Iterator[str]:
    problems: list[str] = []
    sim = config["simulation"]
    _check(
        sim["transient_ms"] < sim["tstop_ms"],
        "simulation.transient_ms",
        f"{sim['transient_ms']} must be smaller than simulation.tstop_ms ({sim['tstop_ms']})",
        problems,
    )
    exponent = math.log2(sim["dt_ms"])
    _check(
        exponent == round(exponent) and exponent <= 0,
        "simulation.dt_ms",
        f"{sim['dt_ms']} must be a power of two not above 1 (e.g. 0.125, 0.0625) "
        "so that NEST's integer tics_per_ms = 1/dt_ms is exact",
        problems,
    )

    net = config["network"]
    populations = list(net["populations"])
    models = {}
    for name, pop in net["populations"].items():
        model = get_model(pop["model"])  # the schema's enum already checked the name
        models[name] = model
        params = pop.get("params", {})
        unknown = sorted(set(params) - set(model.parameters))
        for key in unknown:
            problems.append(
                f"config key 'network.populations.{name}.params.{key}': not a parameter of "
                f"model '{model.name}'; allowed: {', '.join(model.parameters)}"
            )
        if unknown:
            continue
        values = model.resolved_params(params)
        if "V_th" in values and "V_reset" in values:
            _check(
                values["V_th"] > values["V_reset"],
                f"network.populations.{name}.params.V_th",
                f"{values['V_th']} mV must exceed V_reset ({values['V_reset']} mV)",
                problems,
            )
    seen: set[tuple[str, str]] = set()
    for index, conn in enumerate(net["connections"]):
        key = f"network.connections[{index}]"
        known = True
        for role in ("pre", "post"):
            if conn[role] not in populations:
                known = False
                problems.append(
                    f"config key '{key}.{role}': {conn[role]!r} is not a population; "
                    f"allowed values: {', '.join(populations)}"
                )
        pair = (conn["pre"], conn["post"])
        _check(pair not in seen, key, f"pathway {pair[0]}->{pair[1]} is listed twice", problems)
        seen.add(pair)
        if known:
            problems.extend(_weight_problems(conn, models[conn["post"]], key))
        rule = conn.get("rule", "pairwise_bernoulli")
        needed = {"pairwise_bernoulli": "p", "ring_gaussian": "sigma_deg"}[rule]
        _check(needed in conn, f"{key}.{needed}", f"required by rule '{rule}'", problems)
    _check(
        net["delay_min_ms"] >= sim["dt_ms"],
        "network.delay_min_ms",
        f"{net['delay_min_ms']} ms must be >= simulation.dt_ms ({sim['dt_ms']} ms)",
        problems,
    )
    drive = net["drive"]
    for name, n_ext in drive["n_ext"].items():
        if name not in populations:
            problems.append(
                f"config key 'network.drive.n_ext.{name}': {name!r} is not a population; "
                f"allowed values: {', '.join(populations)}"
            )
        elif n_ext > 0 and drive["nu_ext_Hz"] > 0:
            problems.extend(_weight_problems(drive, models[name], "network.drive"))
    for name, protocols in net.get("inputs", {}).items():
        if name not in populations:
            problems.append(
                f"config key 'network.inputs.{name}': {name!r} is not a population; "
                f"allowed values: {', '.join(populations)}"
            )
            continue
        size = net["populations"][name]["size"]
        for index, protocol in enumerate(protocols):
            key = f"network.inputs.{name}[{index}]"
            if protocol["type"] == "poisson":
                problems.extend(_weight_problems(protocol, models[name], key))
            bad = [i for i in protocol.get("neurons", []) if i >= size]
            _check(not bad, f"{key}.neurons", f"{bad} exceed the population size {size}", problems)
            stop = protocol.get("stop_ms", sim["tstop_ms"])
            _check(
                protocol.get("start_ms", 0.0) < stop,
                f"{key}.start_ms",
                f"{protocol.get('start_ms', 0.0)} must be before stop_ms ({stop})",
                problems,
            )
            if protocol["type"] == "white_noise" and "dt_ms" in protocol:
                ratio = protocol["dt_ms"] / sim["dt_ms"]
                _check(
                    abs(ratio - round(ratio)) < 1e-9,
                    f"{key}.dt_ms",
                    f"{protocol['dt_ms']} must be a multiple of simulation.dt_ms ({sim['dt_ms']})",
                    problems,
                )

    kernels = config["kernels"]
    kernel_populations = list(kernels["populations"])
    _check(
        sorted(kernel_populations) == sorted(populations),
        "kernels.populations",
        f"must name the same populations as network.populations "
        f"({', '.join(populations)}), got {', '.join(kernel_populations)}",
        problems,
    )
    expected = {pathway_key(post, pre) for post, pre in kernel_pathways(config)}
    for section in ("connection_probability", "weights_uS", "multapses", "delays"):
        present = set(kernels[section])
        for missing in sorted(expected - present):
            problems.append(f"config key 'kernels.{section}.{missing}': missing (pathway post:pre)")
        for extra in sorted(present - expected):
            problems.append(
                f"config key 'kernels.{section}.{extra}': not a pathway of kernels.populations; "
                f"allowed keys: {', '.join(sorted(expected))}"
            )
    for missing in sorted(expected - set(kernels["synapse_positions"])):
        problems.append(f"config key 'kernels.synapse_positions.{missing}': missing")
    for pre in kernel_populations:
        _check(
            pre in kernels["synapses"],
            f"kernels.synapses.{pre}",
            "missing (Exp2Syn kinetics of presynaptic population)",
            problems,
        )
    for pre, syn in kernels["synapses"].items():
        _check(
            syn["tau2_ms"] > syn["tau1_ms"],
            f"kernels.synapses.{pre}.tau2_ms",
            f"{syn['tau2_ms']} must exceed tau1_ms ({syn['tau1_ms']})",
            problems,
        )
    for key, mult in kernels["multapses"].items():
        _check(
            mult["min"] <= mult["mean"] <= mult["max"],
            f"kernels.multapses.{key}",
            f"need min <= mean <= max, got {mult['min']}, {mult['mean']}, {mult['max']}",
            problems,
        )
    for key, pos in kernels["synapse_positions"].items():
        lengths = {len(pos[f]) for f in ("z_mean_um", "z_sd_um", "weights")}
        _check(
            len(lengths) == 1,
            f"kernels.synapse_positions.{key}",
            "z_mean_um, z_sd_um and weights must have the same length",
            problems,
        )
    for pre in kernel_populations:
        _check(
            pre in kernels["presynaptic_rates_Hz"],
            f"kernels.presynaptic_rates_Hz.{pre}",
            "missing (mean rate in Hz of this presynaptic population, for g_eff)",
            problems,
        )
    for name in kernels["presynaptic_rates_Hz"]:
        _check(
            name in kernel_populations,
            f"kernels.presynaptic_rates_Hz.{name}",
            f"{name!r} is not a population; allowed values: {', '.join(kernel_populations)}",
            problems,
        )
    _check(
        not (kernels["synapse_type"] == "current" and kernels["g_eff"]),
        "kernels.g_eff",
        "must be false with kernels.synapse_type 'current' (g_eff is a conductance effect)",
        problems,
    )
    external = kernels["external"]
    _check(
        external["tau2_ms"] > external["tau1_ms"],
        "kernels.external.tau2_ms",
        f"{external['tau2_ms']} must exceed tau1_ms ({external['tau1_ms']})",
        problems,
    )
    for name in external["n_ext"]:
        _check(
            name in kernel_populations,
            f"kernels.external.n_ext.{name}",
            f"{name!r} is not a population; allowed values: {', '.join(kernel_populations)}",
            problems,
        )
    _check(
        kernels["tau_ms"] >= 10 * sim["dt_ms"],
        "kernels.tau_ms",
        f"{kernels['tau_ms']} ms is shorter than 10 time steps",
        problems,
    )

    head = config["forward"]["head_model"]
    radii = head["radii_um"]
    _check(
        all(a < b for a, b in zip(radii, radii[1:], strict=False)),
        "forward.head_model.radii_um",
        f"{radii} must increase (brain, CSF, skull, scalp)",
        problems,
    )
    dipole_radius = math.dist(head["dipole_location_um"], (0.0, 0.0, 0.0))
    _check(
        dipole_radius < radii[0],
        "forward.head_model.dipole_location_um",
        f"lies {dipole_radius:.0f} um from the centre, outside the brain sphere ({radii[0]} um)",
        problems,
    )

    _check(
        any(component != 0 for component in head["column_axis"]),
        "forward.head_model.column_axis",
        "must not be the zero vector",
        problems,
    )
    meg = config["forward"]["meg"]
    _check(
        not meg["enabled"] or meg["sensor_radius_um"] > radii[-1],
        "forward.meg.sensor_radius_um",
        f"{meg['sensor_radius_um']} um must exceed the scalp radius ({radii[-1]} um)",
        problems,
    )

    _check(
        config["run_name"] not in RESERVED_RUN_NAMES,
        "run_name",
        f"'{config['run_name']}' is a folder lfpflow uses itself; not allowed: "
        + ", ".join(RESERVED_RUN_NAMES),
        problems,
    )

    analysis = config["analysis"]
    start, stop = analysis["raster_window_ms"]
    _check(
        0 <= start < stop <= sim["tstop_ms"],
        "analysis.raster_window_ms",
        f"[{start}, {stop}] must be an increasing window inside [0, {sim['tstop_ms']}] ms",
        problems,
    )
    for band, (low, high) in analysis["bands_Hz"].items():
        _check(
            low < high,
            f"analysis.bands_Hz.{band}",
            f"[{low}, {high}] Hz must be an increasing pair [low, high)",
            problems,
        )
    n_analysed = int(round((sim["tstop_ms"] - sim["transient_ms"]) / sim["dt_ms"]))
    _check(
        analysis["psd_nperseg"] <= n_analysed,
        "analysis.psd_nperseg",
        f"{analysis['psd_nperseg']} exceeds the {n_analysed} samples after the transient",
        problems,
    )
    yield from problems


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a configuration, fill defaults and check consistency.

    Parameters
    ----------
    config : Mapping
        Raw configuration (e.g. from YAML); not modified.

    Returns
    -------
    dict
        A new, fully resolved configuration.

    Raises
    ------
    ConfigError
        Naming every offending key and, where there is a closed set, the
        allowed values.
    """
    resolved = copy.deepcopy(dict(config))
    schema = load_schema()
    resolved = coerce_text_values(resolved, schema, schema)
    validate_schema(resolved, schema)
    problems = list(_consistency_problems(resolved))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    if resolved.get("sweep"):
        # every point is validated now, so that a bad value at one point stops
        # the workflow before anything runs (lazy import: sweep imports config)
        from lfpflow.sweep import sweep_points

        sweep_points(resolved, resolve_config)
    return resolved


def config_scope(config: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The part of a configuration named by dotted ``keys``.

    Each rule receives only the part of the configuration its output depends
    on (as Snakemake ``params``), so a change elsewhere does not rerun it: the
    kernels, for instance, see neither the drive nor the seed nor the duration.

    Parameters
    ----------
    config : Mapping
        Resolved configuration.
    *keys : str
        Top-level keys (``"network"``) or dotted paths (``"simulation.dt_ms"``).

    Returns
    -------
    dict
        A deep copy holding only those keys, nested as in ``config``, with
        every mapping's keys sorted: Snakemake compares ``params`` by their
        text, so the order in which a YAML file lists keys must not count as
        a change.
    """
    scope: dict[str, Any] = {}
    for key in keys:
        parts = key.split(".")
        source: Any = config
        for part in parts:
            source = source[part]
        target = scope
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = copy.deepcopy(source)
    return sorted_keys(scope)


def sorted_keys(value: Any) -> Any:
    """A copy of nested mappings/lists with every mapping's keys sorted."""
    if isinstance(value, Mapping):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


#: Configuration each stage depends on (see :func:`config_scope`).
STAGE_SCOPES: dict[str, tuple[str, ...]] = {
    "network": ("seed", "simulation", "network"),
    "kernels": ("kernels", "simulation.dt_ms"),
    "forward": ("seed", "simulation", "network", "kernels", "forward"),
    "analysis": ("seed", "simulation", "network", "kernels", "forward", "analysis"),
}


def stage_config(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """:func:`config_scope` of one of the stages in :data:`STAGE_SCOPES`."""
    if stage not in STAGE_SCOPES:
        raise ValueError(f"unknown stage {stage!r}; allowed values: {', '.join(STAGE_SCOPES)}")
    return config_scope(config, *STAGE_SCOPES[stage])
