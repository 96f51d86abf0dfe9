"""Consistency rules that span fields, one function per configuration section.

The schema (``schemas/*.schema.yaml``) checks types, ranges, required and
unknown keys and holds every default. What it cannot express, a relation
between two values (a transient shorter than the run, a weight in the units of
the target model, a pathway between declared populations, ...), is checked
here, once, on the resolved configuration. Every message names the key.
Stage code receives a configuration that passed these checks and does not
check it again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Weight keys, one per kind of synapse (see lfpflow.pointneuron.catalogue).
WEIGHT_KEYS = ("weight_pA", "weight_nS", "weight_mV")

#: Folders under results/ that are not runs (shared kernels, sweep tables, the
#: V1 and single-neuron targets), so no run may take their name.
RESERVED_RUN_NAMES = ("kernels", "sweeps", "v1", "neurons")

Problems = list[str]


def _require(condition: bool, key: str, message: str, problems: Problems) -> None:
    if not condition:
        problems.append(f"config key '{key}': {message}")


def _is_power_of_two_ms(dt_ms: float) -> bool:
    exponent = math.log2(dt_ms)
    return exponent == round(exponent) and exponent <= 0


def _on_grid(duration_ms: float, step_ms: float) -> bool:
    """Whether ``duration_ms`` is a whole number (>= 1) of ``step_ms``."""
    steps = duration_ms / step_ms
    return steps >= 1 - 1e-9 and abs(steps - round(steps)) <= 1e-9


def _names(names: Any) -> str:
    return ", ".join(names)


def _unknown_population(key: str, name: str, populations: list[str]) -> str:
    return (
        f"config key '{key}': {name!r} is not a population; allowed values: {_names(populations)}"
    )


def weight_problems(item: Mapping[str, Any], model: Any, key: str) -> Problems:
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


def _non_finite(value: Any, key: str) -> Problems:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _non_finite(v, f"{key}.{k}" if key else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{key}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"config key '{key}': {value!r} is not a finite number"]
    return []


def check_finite(config: Mapping[str, Any]) -> Problems:
    """No NaN or infinity anywhere (YAML ``.nan``/``.inf`` pass every range check)."""
    return _non_finite(config, "")


def check_run(config: Mapping[str, Any]) -> Problems:
    """``run_name`` must not be a folder lfpflow uses itself."""
    problems: Problems = []
    _require(
        config["run_name"] not in RESERVED_RUN_NAMES,
        "run_name",
        f"'{config['run_name']}' is a folder lfpflow uses itself; not allowed: "
        + _names(RESERVED_RUN_NAMES),
        problems,
    )
    return problems


def check_simulation(config: Mapping[str, Any]) -> Problems:
    """Transient shorter than the run; dt a power of two (NEST's integer tics)."""
    sim = config["simulation"]
    problems: Problems = []
    _require(
        sim["transient_ms"] < sim["tstop_ms"],
        "simulation.transient_ms",
        f"{sim['transient_ms']} must be smaller than simulation.tstop_ms ({sim['tstop_ms']})",
        problems,
    )
    _require(
        _is_power_of_two_ms(sim["dt_ms"]),
        "simulation.dt_ms",
        f"{sim['dt_ms']} must be a power of two not above 1 (e.g. 0.125, 0.0625) "
        "so that NEST's integer tics_per_ms = 1/dt_ms is exact",
        problems,
    )
    return problems


def check_populations(config: Mapping[str, Any]) -> Problems:
    """Each population's point-neuron parameters belong to its model; its cell is readable."""
    from lfpflow.pointneuron.catalogue import (
        CATALOGUE,
        get_model,  # data only, no simulator
    )

    problems: Problems = []
    for name, population in config["populations"].items():
        if population["model"] not in CATALOGUE:
            problems.append(
                f"config key 'populations.{name}.model': {population['model']!r} is not in "
                f"the catalogue; allowed values: {_names(map(repr, CATALOGUE))}"
            )
            continue
        model = get_model(population["model"])
        params = population["params"]
        unknown = sorted(set(params) - set(model.parameters))
        for key in unknown:
            problems.append(
                f"config key 'populations.{name}.params.{key}': not a parameter of "
                f"model '{model.name}'; allowed: {_names(model.parameters)}"
            )
        if unknown:
            continue
        values = model.resolved_params(params)
        if "V_th" in values and "V_reset" in values:
            _require(
                values["V_th"] > values["V_reset"],
                f"populations.{name}.params.V_th",
                f"{values['V_th']} mV must exceed V_reset ({values['V_reset']} mV)",
                problems,
            )
    return problems + _cell_problems(config)


def _read_cell(file_name: str) -> Any:
    """The morphology of a ``populations.<X>.cell.morphology`` entry (light reader)."""
    from lfpflow.multicompartment.morphology import morphology_dir, read_morphology

    return read_morphology(morphology_dir() / file_name)


def _cell_problems(config: Mapping[str, Any]) -> Problems:
    """Each population's morphology is a readable file in a format the cells load."""
    from lfpflow.multicompartment.morphology import MorphologyError

    problems: Problems = []
    for name, population in config["populations"].items():
        try:
            _read_cell(population["cell"]["morphology"])
        except MorphologyError as error:
            problems.append(f"config key 'populations.{name}.cell.morphology': {error}")
    return problems


def _normal_mass(position: Mapping[str, Any], low: float, high: float, widen: float) -> float:
    """Share of a synapse depth density (normal mixture, sds widened) in ``[low, high]``."""
    total = sum(position["weights"])
    mass = 0.0
    for mean, sd, weight in zip(
        position["z_mean_um"], position["z_sd_um"], position["weights"], strict=True
    ):
        scale = math.hypot(sd, widen) * math.sqrt(2.0)
        mass += weight * 0.5 * (math.erf((high - mean) / scale) - math.erf((low - mean) / scale))
    return mass / total if total > 0 else 0.0


def _synapse_section_problems(config: Mapping[str, Any]) -> Problems:
    """Synapses go on sections the postsynaptic cell has, at depths it reaches.

    Populations whose morphology cannot be read are skipped (reported by
    :func:`check_populations`).
    """
    from lfpflow.multicompartment.morphology import MorphologyError

    problems: Problems = []
    populations = config["populations"]
    for key, position in config["kernels"]["synapse_positions"].items():
        post = key.split(":")[0]
        if (
            post not in populations
            or len({len(position[f]) for f in ("z_mean_um", "z_sd_um", "weights")}) != 1
        ):
            continue
        cell = populations[post]["cell"]
        try:
            morphology = _read_cell(cell["morphology"])
        except MorphologyError:
            continue
        missing = [s for s in position["sections"] if s not in morphology.sections]
        for section in missing:
            problems.append(
                f"config key 'kernels.synapse_positions.{key}.sections': {section!r} is not a "
                f"section of populations.{post}.cell.morphology ({cell['morphology']}); "
                f"allowed values: {_names(morphology.sections)}"
            )
        extents = [
            morphology.depth_range_um(s, float(cell["soma_z_mean_um"]))
            for s in position["sections"]
        ]
        if missing or any(extent is None for extent in extents):
            continue  # a hoc file with computed coordinates: extents unknown
        low = min(extent[0] for extent in extents)
        high = max(extent[1] for extent in extents)
        mass = _normal_mass(position, low, high, float(cell["soma_z_sd_um"]))
        _require(
            mass >= 1e-3,
            f"kernels.synapse_positions.{key}.z_mean_um",
            f"only {mass:.2g} of the synapse density lies at the depths of the sections "
            f"{_names(position['sections'])} of {post}'s cell ({low:.0f} to {high:.0f} um, "
            "soma at populations."
            f"{post}.cell.soma_z_mean_um); synapse depths are absolute, not relative to the soma",
            problems,
        )
    return problems


def _connection_problems(config: Mapping[str, Any], models: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    populations = list(config["populations"])
    seen: set[tuple[str, str]] = set()
    for index, conn in enumerate(config["network"]["connections"]):
        key = f"network.connections[{index}]"
        unknown = [role for role in ("pre", "post") if conn[role] not in populations]
        for role in unknown:
            problems.append(_unknown_population(f"{key}.{role}", conn[role], populations))
        pair = (conn["pre"], conn["post"])
        _require(pair not in seen, key, f"pathway {pair[0]}->{pair[1]} is listed twice", problems)
        seen.add(pair)
        if not unknown:
            problems.extend(weight_problems(conn, models[conn["post"]], key))
        needed = {
            "pairwise_bernoulli": "p",
            "ring_gaussian": "sigma_deg",
            "fixed_total_number": "p",
        }[conn["rule"]]
        _require(needed in conn, f"{key}.{needed}", f"required by rule '{conn['rule']}'", problems)
        if conn["rule"] == "fixed_total_number" and "p" in conn:
            _require(
                conn["p"] < 1,
                f"{key}.p",
                f"{conn['p']} must be below 1 with rule 'fixed_total_number' "
                "(K = ln(1 - p) / ln(1 - 1 / (N_pre N_post)))",
                problems,
            )
    return problems


def _scaling_problems(config: Mapping[str, Any], models: Mapping[str, Any]) -> Problems:
    """``network.scale`` leaves every population non-empty; ``k_scale`` < 1 has what
    its DC compensation needs; ``k_scale_rates_Hz`` and ``v_init`` name populations."""
    from lfpflow.pointneuron.scaling import scaled_size  # numpy only

    net, populations = config["network"], list(config["populations"])
    problems: Problems = []
    for name, population in config["populations"].items():
        _require(
            scaled_size(population["size"], net["scale"]) >= 1,
            "network.scale",
            f"{net['scale']} leaves population {name!r} (size {population['size']}) empty",
            problems,
        )
    for section in ("k_scale_rates_Hz", "v_init"):
        for name in net[section]:
            if name not in populations:
                problems.append(_unknown_population(f"network.{section}.{name}", name, populations))
    if net["k_scale"] == 1:
        return problems
    for index, conn in enumerate(net["connections"]):
        _require(
            conn["rule"] == "fixed_total_number",
            f"network.connections[{index}].rule",
            f"'{conn['rule']}' cannot be used with network.k_scale < 1; allowed values: "
            "fixed_total_number",
            problems,
        )
        _require(
            conn["pre"] in net["k_scale_rates_Hz"] or conn["pre"] not in populations,
            f"network.k_scale_rates_Hz.{conn['pre']}",
            "missing (full-scale rate in Hz, needed for the DC compensation of k_scale < 1)",
            problems,
        )
    for name, model in models.items():
        _require(
            model.synapse == "current" and "tau_syn_ex" in model.parameters,
            f"populations.{name}.model",
            f"'{model.name}' cannot be used with network.k_scale < 1 (the DC compensation "
            "needs current-based exponential synapses); allowed values: lif",
            problems,
        )
    return problems


def _drive_problems(config: Mapping[str, Any], models: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    populations = list(config["populations"])
    drive = config["network"]["drive"]
    for name, n_ext in drive["n_ext"].items():
        if name not in populations:
            problems.append(_unknown_population(f"network.drive.n_ext.{name}", name, populations))
        elif n_ext > 0 and drive["nu_ext_Hz"] > 0:
            problems.extend(weight_problems(drive, models[name], "network.drive"))
    return problems


def _protocol_problems(
    protocol: Mapping[str, Any], key: str, model: Any, size: int, sim: Mapping[str, Any]
) -> Problems:
    problems: Problems = []
    if protocol["type"] == "poisson":
        problems.extend(weight_problems(protocol, model, key))
    bad = [i for i in protocol.get("neurons", []) if i >= size]
    _require(not bad, f"{key}.neurons", f"{bad} exceed the population size {size}", problems)
    stop = protocol.get("stop_ms", sim["tstop_ms"])
    _require(
        protocol.get("start_ms", 0.0) < stop,
        f"{key}.start_ms",
        f"{protocol.get('start_ms', 0.0)} must be before stop_ms ({stop})",
        problems,
    )
    if protocol["type"] == "white_noise" and "dt_ms" in protocol:
        _require(
            _on_grid(protocol["dt_ms"], sim["dt_ms"]),
            f"{key}.dt_ms",
            f"{protocol['dt_ms']} must be a multiple of simulation.dt_ms ({sim['dt_ms']})",
            problems,
        )
    return problems


def check_network(config: Mapping[str, Any]) -> Problems:
    """Connections, drive and input protocols refer to populations, in their units."""
    from lfpflow.pointneuron.catalogue import get_model  # data only, no simulator
    from lfpflow.pointneuron.scaling import scaled_size  # numpy only

    populations = config["populations"]
    models = {name: get_model(pop["model"]) for name, pop in populations.items()}  # checked
    sim, net = config["simulation"], config["network"]
    problems = _connection_problems(config, models) + _drive_problems(config, models)
    problems += _scaling_problems(config, models)
    _require(
        net["delay_min_ms"] >= sim["dt_ms"],
        "network.delay_min_ms",
        f"{net['delay_min_ms']} ms must be >= simulation.dt_ms ({sim['dt_ms']} ms)",
        problems,
    )
    for name, protocols in net["inputs"].items():
        if name not in populations:
            problems.append(_unknown_population(f"network.inputs.{name}", name, list(populations)))
            continue
        for index, protocol in enumerate(protocols):
            key = f"network.inputs.{name}[{index}]"
            size = scaled_size(populations[name]["size"], net["scale"])
            problems.extend(_protocol_problems(protocol, key, models[name], size, sim))
    return problems


def _pathway_map_problems(kernels: Mapping[str, Any], expected: set[str]) -> Problems:
    problems: Problems = []
    for section in ("connection_probability", "weights_uS", "multapses", "delays"):
        present = set(kernels[section])
        for missing in sorted(expected - present):
            problems.append(f"config key 'kernels.{section}.{missing}': missing (pathway post:pre)")
        for extra in sorted(present - expected):
            problems.append(
                f"config key 'kernels.{section}.{extra}': not a pathway of the populations; "
                f"allowed keys: {_names(sorted(expected))}"
            )
    for missing in sorted(expected - set(kernels["synapse_positions"])):
        problems.append(f"config key 'kernels.synapse_positions.{missing}': missing")
    return problems


def _per_population_problems(kernels: Mapping[str, Any], populations: list[str]) -> Problems:
    problems: Problems = []
    for section, what in (
        ("synapses", "Exp2Syn kinetics of presynaptic population"),
        ("presynaptic_rates_Hz", "mean rate in Hz of this presynaptic population, for g_eff"),
    ):
        for name in populations:
            _require(
                name in kernels[section], f"kernels.{section}.{name}", f"missing ({what})", problems
            )
        for name in kernels[section]:
            if name not in populations:
                problems.append(_unknown_population(f"kernels.{section}.{name}", name, populations))
    return problems


def _kinetics_problems(kernels: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    kinetics = {f"kernels.synapses.{pre}": syn for pre, syn in kernels["synapses"].items()}
    kinetics["kernels.external"] = kernels["external"]
    for key, syn in kinetics.items():
        _require(
            syn["tau2_ms"] > syn["tau1_ms"],
            f"{key}.tau2_ms",
            f"{syn['tau2_ms']} must exceed tau1_ms ({syn['tau1_ms']})",
            problems,
        )
    for key, mult in kernels["multapses"].items():
        _require(
            mult["min"] <= mult["mean"] <= mult["max"],
            f"kernels.multapses.{key}",
            f"need min <= mean <= max, got {mult['min']}, {mult['mean']}, {mult['max']}",
            problems,
        )
    for key, pos in kernels["synapse_positions"].items():
        _require(
            len({len(pos[f]) for f in ("z_mean_um", "z_sd_um", "weights")}) == 1,
            f"kernels.synapse_positions.{key}",
            "z_mean_um, z_sd_um and weights must have the same length",
            problems,
        )
    return problems


def check_kernels(config: Mapping[str, Any]) -> Problems:
    """Every pathway between the populations is described, consistently."""
    kernels = config["kernels"]
    populations = list(config["populations"])
    expected = {f"{post}:{pre}" for post in populations for pre in populations}
    problems = _pathway_map_problems(kernels, expected)
    problems += _per_population_problems(kernels, populations) + _kinetics_problems(kernels)
    problems += _synapse_section_problems(config)
    _require(
        not (kernels["synapse_type"] == "current" and kernels["g_eff"]),
        "kernels.g_eff",
        "must be false with kernels.synapse_type 'current' (g_eff is a conductance effect)",
        problems,
    )
    dt_ms = config["simulation"]["dt_ms"]
    _require(
        kernels["tau_ms"] >= 10 * dt_ms,
        "kernels.tau_ms",
        f"{kernels['tau_ms']} ms is shorter than 10 time steps",
        problems,
    )
    _require(
        _on_grid(kernels["tau_ms"], dt_ms),
        "kernels.tau_ms",
        f"{kernels['tau_ms']} must be a whole number of simulation.dt_ms ({dt_ms})",
        problems,
    )
    return problems + _probe_problems(kernels["probes"])


def _probe_problems(probes: Mapping[str, Any]) -> Problems:
    """The CSD needs at least two distinct contacts (its slabs lie between them)."""
    z_um = probes["lfp"]["z_um"]
    problems: Problems = []
    if probes["csd"]:
        _require(
            len(z_um) >= 2,
            "kernels.probes.lfp.z_um",
            "needs at least two contacts for the CSD (kernels.probes.csd)",
            problems,
        )
    _require(
        len(set(z_um)) == len(z_um), "kernels.probes.lfp.z_um", "must not repeat a depth", problems
    )
    return problems


def _head_file_problems(head: Mapping[str, Any]) -> Problems:
    """The lead-field or New York Head file the head model needs exists."""
    from lfpflow.signals.head_models import LEAD_FIELD_SUFFIXES, nyhead_missing  # numpy only

    problems: Problems = []
    if head["type"] == "lead_field":
        path = Path(head["lead_field_file"])
        if not head["lead_field_file"]:
            problems.append(
                "config key 'forward.head_model.lead_field_file': required by type "
                "'lead_field' (an MNE -fwd.fif or an .npz/.h5 lead field)"
            )
        elif not path.is_file():
            problems.append(
                f"config key 'forward.head_model.lead_field_file': {path.resolve()} does not exist"
            )
        _require(
            path.suffix in LEAD_FIELD_SUFFIXES or not head["lead_field_file"],
            "forward.head_model.lead_field_file",
            f"suffix {path.suffix!r} not allowed; allowed: {_names(LEAD_FIELD_SUFFIXES)}",
            problems,
        )
    elif head["type"] == "nyhead":
        problem = nyhead_missing(head["nyhead_file"])
        problems.extend([problem] if problem else [])
    return problems


def _offered_electrodes(head: Mapping[str, Any]) -> tuple[str, list[str] | None, Problems]:
    """Where the electrodes come from, their names (None: polar), and problems reading them."""
    from lfpflow.signals import head_models  # numpy; MNE or h5py only to read names

    kind, montage = head["type"], head["montage"]
    try:
        if kind == "lead_field":
            names = head_models.lead_field_electrode_names(head["lead_field_file"])
            return f"the lead field {head['lead_field_file']}", list(names), []
        if kind == "nyhead":
            names = head_models.nyhead_electrode_names(head["nyhead_file"])
            return "the New York Head", list(names), []
        if montage == "polar":
            return "montage polar", None, []
        if montage == "custom":
            return "electrode_positions_um", list(head["electrode_positions_um"]), []
        from lfpflow.formats.mne_eeg import montage_positions

        return f"montage {montage}", list(montage_positions(montage)[0]), []
    except (OSError, ValueError, KeyError) as error:
        message = str(error)
        if "config key" not in message:
            message = f"config key 'forward.head_model': cannot read the electrodes: {message}"
        return "", None, [message]


def _electrode_problems(head: Mapping[str, Any]) -> Problems:
    """Electrode names and the column's electrode belong to the montage or file."""
    where, offered, problems = _offered_electrodes(head)
    position = head["column_position"]
    if head["type"] == "four_sphere" and head["montage"] == "custom":
        _require(
            bool(offered),
            "forward.head_model.electrode_positions_um",
            "montage 'custom' needs at least one electrode name -> [x, y, z] (um)",
            problems,
        )
    if offered is None or problems:
        _require(
            where != "montage polar" or not isinstance(position, str),
            "forward.head_model.column_position",
            f"montage polar places the electrodes relative to the dipole: give [x, y, z] "
            f"(um), not the electrode name {position!r}",
            problems,
        )
        return problems
    unknown = [name for name in head["electrodes"] if name not in offered]
    _require(
        not unknown,
        "forward.head_model.electrodes",
        f"{', '.join(map(repr, unknown))} not in {where}; allowed values: {_names(offered)}",
        problems,
    )
    _require(
        not isinstance(position, str) or position in offered,
        "forward.head_model.column_position",
        f"{position!r} is not an electrode of {where}; allowed values: {_names(offered)} "
        "or [x, y, z] (um)",
        problems,
    )
    return problems


def _column_problems(head: Mapping[str, Any]) -> Problems:
    """The column lies in the brain, off its centre, along a valid axis."""
    from lfpflow.signals.head_models import AXIS_NAMES

    radii, problems = head["radii_um"], []
    position, axis = head["column_position"], head["column_axis"]
    if head["type"] == "four_sphere" and not isinstance(position, str):
        distance = math.dist(position, (0.0, 0.0, 0.0))
        _require(
            0 < distance < radii[0],
            "forward.head_model.column_position",
            f"lies {distance:.0f} um from the centre, outside the brain sphere ({radii[0]} um) "
            "or at its centre",
            problems,
        )
    _require(
        head["type"] != "four_sphere" or head["column_depth_um"] < radii[0],
        "forward.head_model.column_depth_um",
        f"{head['column_depth_um']} um must be less than the brain radius ({radii[0]} um)",
        problems,
    )
    if isinstance(axis, str):
        _require(
            axis in AXIS_NAMES,
            "forward.head_model.column_axis",
            f"{axis!r} is not allowed; allowed values: {_names(AXIS_NAMES)} or [e1, e2, e3]",
            problems,
        )
    else:
        _require(
            any(component != 0 for component in axis),
            "forward.head_model.column_axis",
            "must not be the zero vector",
            problems,
        )
    return problems


def _meg_export_problems(forward: Mapping[str, Any]) -> Problems:
    """MEG only around a spherical head, sensors outside it; exporters installed."""
    import importlib.util

    head, meg = forward["head_model"], forward["meg"]
    problems: Problems = []
    if meg["enabled"]:
        _require(
            head["type"] == "four_sphere",
            "forward.meg.enabled",
            f"the MEG needs a spherically symmetric head (forward.head_model.type "
            f"four_sphere), not {head['type']!r}",
            problems,
        )
        _require(
            meg["sensor_radius_um"] > head["radii_um"][-1],
            "forward.meg.sensor_radius_um",
            f"{meg['sensor_radius_um']} um must exceed the scalp radius "
            f"({head['radii_um'][-1]} um)",
            problems,
        )
    for fmt, package in (("edf", "edfio"), ("brainvision", "pybv")):
        _require(
            fmt not in forward["eeg_export"]["formats"] or importlib.util.find_spec(package),
            "forward.eeg_export.formats",
            f"'{fmt}' needs the package {package} (pip install {package})",
            problems,
        )
    return problems


def check_forward(config: Mapping[str, Any]) -> Problems:
    """Head model, its file, electrodes, column and MEG are consistent.

    Radii increase; the lead-field or New York Head file exists; electrode
    names belong to the montage or file; the column lies in the brain along a
    valid axis; the MEG has a spherical head and sensors outside it.
    """
    forward = config["forward"]
    head = forward["head_model"]
    radii = head["radii_um"]
    problems: Problems = []
    _require(
        all(a < b for a, b in zip(radii, radii[1:], strict=False)),
        "forward.head_model.radii_um",
        f"{radii} must increase (brain, CSF, skull, scalp)",
        problems,
    )
    file_problems = _head_file_problems(head)
    problems += file_problems
    if not file_problems:
        problems += _electrode_problems(head)
    return problems + _column_problems(head) + _meg_export_problems(forward)


def check_analysis(config: Mapping[str, Any]) -> Problems:
    """Raster window inside the run; bands increasing; Welch segment fits the data."""
    sim, analysis = config["simulation"], config["analysis"]
    problems: Problems = []
    start, stop = analysis["raster_window_ms"]
    _require(
        0 <= start < stop <= sim["tstop_ms"],
        "analysis.raster_window_ms",
        f"[{start}, {stop}] must be an increasing window inside [0, {sim['tstop_ms']}] ms",
        problems,
    )
    for band, (low, high) in analysis["bands_Hz"].items():
        _require(
            low < high,
            f"analysis.bands_Hz.{band}",
            f"[{low}, {high}] Hz must be an increasing pair [low, high)",
            problems,
        )
    n_analysed = int(round((sim["tstop_ms"] - sim["transient_ms"]) / sim["dt_ms"]))
    _require(
        analysis["psd_nperseg"] <= n_analysed,
        "analysis.psd_nperseg",
        f"{analysis['psd_nperseg']} exceeds the {n_analysed} samples after the transient",
        problems,
    )
    return problems


def check_neurons(config: Mapping[str, Any]) -> Problems:
    """Single-neuron characterisation: time grid and per-model parameters."""
    from lfpflow.pointneuron.catalogue import get_model  # data only, no simulator

    cfg = config["neurons"]
    problems: Problems = []
    dt = float(cfg["dt_ms"])
    _require(
        _is_power_of_two_ms(dt),
        "neurons.dt_ms",
        f"{dt} must be a power of two not above 1 (NEST's integer tics_per_ms = 1/dt_ms)",
        problems,
    )
    _require(
        _on_grid(float(cfg["gwn_dt_ms"]), dt),
        "neurons.gwn_dt_ms",
        f"{cfg['gwn_dt_ms']} must be a multiple of neurons.dt_ms ({dt})",
        problems,
    )
    _require(
        cfg["transient_ms"] < cfg["duration_ms"],
        "neurons.transient_ms",
        f"{cfg['transient_ms']} must lie in [0, neurons.duration_ms = {cfg['duration_ms']})",
        problems,
    )
    from lfpflow.pointneuron.catalogue import CATALOGUE

    for name, overrides in cfg["models"].items():
        if name not in CATALOGUE:
            problems.append(
                f"config key 'neurons.models.{name}': not a catalogue model; "
                f"allowed values: {_names(CATALOGUE)}"
            )
            continue
        allowed = get_model(name).parameters
        for key in sorted(set(overrides.get("params", {})) - set(allowed)):
            problems.append(
                f"config key 'neurons.models.{name}.params.{key}': not a parameter of "
                f"model '{name}'; allowed: {_names(allowed)}"
            )
    return problems


def _groundtruth_scale_problems(config: Mapping[str, Any]) -> Problems:
    from lfpflow.config.scopes import kernel_description
    from lfpflow.multicompartment.groundtruth import scaled_network  # numpy only

    scale = float(config["groundtruth"]["scale"])
    k_scale = float(config["groundtruth"]["k_scale"])
    kernels = kernel_description(config)
    scaled = scaled_network(kernels, scale, k_scale)  # sizes and probabilities; checked here
    problems: Problems = []
    for key, p_scaled in scaled["connection_probability"].items():
        if p_scaled > 1:
            pre = key.split(":")[1]
            full = kernels["populations"][pre]["size"]
            in_degree = scaled["in_degree"][key]
            smallest = math.ceil(in_degree) / full
            largest_k = k_scale * scaled["sizes"][pre] / in_degree
            problems.append(
                f"config key 'groundtruth.scale': {scale} with groundtruth.k_scale {k_scale} "
                f"makes the connection probability of pathway {key} {p_scaled:.3g} > 1 "
                f"(in-degree {in_degree:.1f} from {scaled['sizes'][pre]} cells); use scale >= "
                f"{smallest:.4g} or groundtruth.k_scale <= {math.floor(largest_k * 1e4) / 1e4:.4g}"
            )
    return problems


def check_groundtruth(config: Mapping[str, Any]) -> Problems:
    """Ground truth: run length on the time grid, filter below Nyquist, scaled probabilities."""
    gt = config["groundtruth"]
    dt = float(config["simulation"]["dt_ms"])
    problems: Problems = []
    _require(
        gt["transient_ms"] < gt["tstop_ms"],
        "groundtruth.transient_ms",
        f"{gt['transient_ms']} must be smaller than groundtruth.tstop_ms ({gt['tstop_ms']})",
        problems,
    )
    _require(
        _on_grid(gt["tstop_ms"], dt),
        "groundtruth.tstop_ms",
        f"{gt['tstop_ms']} must be a whole number of simulation.dt_ms ({dt})",
        problems,
    )
    nyquist = 500.0 / dt
    _require(
        gt["filter"]["cutoff_Hz"] < nyquist,
        "groundtruth.filter.cutoff_Hz",
        f"{gt['filter']['cutoff_Hz']} must be below the Nyquist frequency {nyquist} Hz of "
        "simulation.dt_ms",
        problems,
    )
    min_delay = min(float(d["min_ms"]) for d in config["kernels"]["delays"].values())
    _require(
        min_delay >= dt,
        "kernels.delays",
        f"the ground truth needs every min_ms >= simulation.dt_ms ({dt}), got {min_delay}",
        problems,
    )
    return problems + _groundtruth_scale_problems(config) + _replay_problems(config)


def _replay_problems(config: Mapping[str, Any]) -> Problems:
    """``groundtruth.presynaptic_spikes: network``: the network run covers the ground truth."""
    gt = config["groundtruth"]
    if gt["presynaptic_spikes"] != "network":
        return []
    from lfpflow.config.scopes import kernel_description
    from lfpflow.multicompartment.groundtruth import scaled_network  # numpy only
    from lfpflow.pointneuron.scaling import scaled_size  # numpy only

    problems: Problems = []
    sim = config["simulation"]
    window = float(sim["tstop_ms"]) - float(sim["transient_ms"])
    _require(
        window >= float(gt["tstop_ms"]),
        "groundtruth.tstop_ms",
        f"{gt['tstop_ms']} is longer than the network's spikes after its transient "
        f"(simulation.tstop_ms - simulation.transient_ms = {window}) that "
        "groundtruth.presynaptic_spikes: network replays",
        problems,
    )
    sizes = scaled_network(kernel_description(config), float(gt["scale"]))["sizes"]
    for name, size in sizes.items():
        simulated = scaled_size(config["populations"][name]["size"], config["network"]["scale"])
        _require(
            simulated >= size,
            "groundtruth.scale",
            f"{gt['scale']} needs {size} {name} neurons to replay, the network "
            f"(network.scale {config['network']['scale']}) has {simulated}",
            problems,
        )
    return problems


def check_v1(config: Mapping[str, Any]) -> Problems:
    """V1 model: the modulation map's ranges are increasing; the phase range is
    increasing, spans at least one grid step and at most one cycle (360 degrees)."""
    v1 = config["v1"]
    low, high = v1["grid_phase_range_deg"]
    problems: Problems = []
    # a range narrower than one step has a single phase: no modulation to measure
    _require(
        high - low >= v1["grid_step_deg"],
        "v1.grid_phase_range_deg",
        f"must increase by at least grid_step_deg ({v1['grid_step_deg']!r}), "
        f"got [{low!r}, {high!r}]",
        problems,
    )
    # beyond one cycle the stimuli repeat and the "full cycle" would be a subset
    _require(
        high - low <= 360.0,
        "v1.grid_phase_range_deg",
        f"must span at most 360 degrees (one cycle), got [{low!r}, {high!r}]",
        problems,
    )
    key = "v1.simple_complex.modulation_map"
    mm = v1["simple_complex"]["modulation_map"]
    _require(
        mm["log2_lambda_max"] > mm["log2_lambda_min"],
        f"{key}.log2_lambda_max",
        f"must exceed log2_lambda_min ({mm['log2_lambda_max']!r} <= {mm['log2_lambda_min']!r})",
        problems,
    )
    _require(
        mm["alpha_max"] > mm["alpha_min"],
        f"{key}.alpha_max",
        f"must exceed alpha_min ({mm['alpha_max']!r} <= {mm['alpha_min']!r})",
        problems,
    )
    return problems


def check_inference(config: Mapping[str, Any]) -> Problems:
    """Inference: the simulated network resolves; parameters are numbers of the
    network or populations sections with ordered bounds that leave the kernel hash
    unchanged; the features fit the simulated signal (lfpflow.inference.setup)."""
    from lfpflow.inference.setup import inference_problems  # numpy only, no torch

    return inference_problems(config)


#: Checks in the order they run; a later one may assume the earlier passed.
CHECKS: tuple[Callable[[Mapping[str, Any]], Problems], ...] = (
    check_finite,
    check_run,
    check_simulation,
    check_populations,
    check_network,
    check_kernels,
    check_forward,
    check_analysis,
    check_neurons,
    check_v1,
    check_groundtruth,
    check_inference,
)


def consistency_problems(config: Mapping[str, Any]) -> Problems:
    """Every cross-field problem of a schema-valid configuration (empty if none).

    The network check needs known models, so it is skipped when the population
    check found a problem; the ground-truth check needs complete kernel
    pathways, so it runs only when the earlier checks found nothing.
    """
    problems: Problems = []
    population_problems: Problems = []
    for check in CHECKS:
        if (check is check_groundtruth and problems) or (
            check is check_network and population_problems
        ):
            continue
        found = check(config)
        if check is check_populations:
            population_problems = found
        problems.extend(found)
    return problems
