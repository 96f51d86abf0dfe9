"""Cross-field checks of the multicompartment product: cells, kernels, ground truth.

The rules of the ``populations.<X>.cell``, ``kernels`` and ``groundtruth``
sections that the schema cannot express, next to the code whose rules they
are (:mod:`lfpflow.resolve` runs them). Each returns its problems, one message
per offending key (:mod:`lfpflow.config.rules`); empty if none. A rule the
code itself applies again (the kernel's lag grid, :func:`kernel_lags_on_grid`)
is written once, here.

Order: :func:`check_kernels` skips populations whose cell
:func:`check_cells` could not read; :func:`check_groundtruth` needs complete
kernel pathways (it runs only when every earlier check found nothing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lfpflow.config.rules import Problems, names, on_grid, require, unknown_population
from lfpflow.config.scaling import scaled_size
from lfpflow.config.scopes import kernel_description, pathway_key, split_pathway_key
from lfpflow.multicompartment.groundtruth.description import scaled_network_probabilities
from lfpflow.multicompartment.morphology import (
    Morphology,
    MorphologyError,
    morphology_dir,
    read_morphology,
)

# --------------------------------------------------------------------------
# cells
# --------------------------------------------------------------------------


def _read_cell(file_name: str) -> Morphology:
    """The morphology of a ``populations.<X>.cell.morphology`` entry (light reader)."""
    return read_morphology(morphology_dir() / file_name)


def check_cells(config: Mapping[str, Any]) -> Problems:
    """Each population's morphology is a readable file in a format the cells load.

    Read from :func:`lfpflow.multicompartment.morphology.morphology_dir`, the
    folder the kernels and the ground truth read.
    """
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


def _section_depth_problems(
    key: str, position: Mapping[str, Any], morphology: Morphology, cell: Mapping[str, Any]
) -> Problems:
    """Enough of pathway ``key``'s synapse density lies at the depths of its sections."""
    post = key.split(":")[0]
    extents = [
        morphology.depth_range_um(s, float(cell["soma_z_mean_um"])) for s in position["sections"]
    ]
    if any(extent is None for extent in extents):
        return []  # a hoc file with computed coordinates: extents unknown
    low = min(extent[0] for extent in extents)
    high = max(extent[1] for extent in extents)
    mass = _normal_mass(position, low, high, float(cell["soma_z_sd_um"]))
    problems: Problems = []
    require(
        mass >= 1e-3,
        f"kernels.synapse_positions.{key}.z_mean_um",
        f"only {mass:.2g} of the synapse density lies at the depths of the sections "
        f"{names(position['sections'])} of {post}'s cell ({low:.0f} to {high:.0f} um, "
        "soma at populations."
        f"{post}.cell.soma_z_mean_um); synapse depths are absolute, not relative to the soma",
        problems,
    )
    return problems


def _synapse_section_problems(config: Mapping[str, Any]) -> Problems:
    """Synapses go on sections the postsynaptic cell has, at depths it reaches.

    Populations whose morphology cannot be read are skipped (reported by
    :func:`check_cells`).
    """
    problems: Problems = []
    populations = config["populations"]
    for key, position in config["kernels"]["synapse_positions"].items():
        # not split_pathway_key: a malformed key names no population and is skipped
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
                f"allowed values: {names(morphology.sections)}"
            )
        if not missing:
            problems += _section_depth_problems(key, position, morphology, cell)
    return problems


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------


def kernel_lags_on_grid(tau_ms: float, dt_ms: float) -> bool:
    """Whether the kernel half-width ``tau_ms`` (ms) is a whole number (>= 1) of ``dt_ms`` (ms).

    The kernels' lags run from ``-tau_ms`` to ``tau_ms`` in steps of
    ``dt_ms`` (:func:`lfpflow.multicompartment.kernels.lag_times_ms`);
    :func:`check_kernels` and :func:`lfpflow.multicompartment.kernels.compute_kernel`
    both apply this rule.
    """
    return on_grid(tau_ms, dt_ms)


def _pathway_map_problems(kernels: Mapping[str, Any], expected: set[str]) -> Problems:
    problems: Problems = []
    for section in ("connection_probability", "weights_uS", "multapses", "delays"):
        present = set(kernels[section])
        for missing in sorted(expected - present):
            problems.append(f"config key 'kernels.{section}.{missing}': missing (pathway post:pre)")
        for extra in sorted(present - expected):
            problems.append(
                f"config key 'kernels.{section}.{extra}': not a pathway of the populations; "
                f"allowed keys: {names(sorted(expected))}"
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
            require(
                name in kernels[section], f"kernels.{section}.{name}", f"missing ({what})", problems
            )
        for name in kernels[section]:
            if name not in populations:
                problems.append(unknown_population(f"kernels.{section}.{name}", name, populations))
    return problems


def _kinetics_problems(kernels: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    kinetics = {f"kernels.synapses.{pre}": syn for pre, syn in kernels["synapses"].items()}
    kinetics["kernels.external"] = kernels["external"]
    for key, syn in kinetics.items():
        require(
            syn["tau2_ms"] > syn["tau1_ms"],
            f"{key}.tau2_ms",
            f"{syn['tau2_ms']} must exceed tau1_ms ({syn['tau1_ms']})",
            problems,
        )
    for key, mult in kernels["multapses"].items():
        require(
            mult["min"] <= mult["mean"] <= mult["max"],
            f"kernels.multapses.{key}",
            f"need min <= mean <= max, got {mult['min']}, {mult['mean']}, {mult['max']}",
            problems,
        )
    for key, pos in kernels["synapse_positions"].items():
        require(
            len({len(pos[f]) for f in ("z_mean_um", "z_sd_um", "weights")}) == 1,
            f"kernels.synapse_positions.{key}",
            "z_mean_um, z_sd_um and weights must have the same length",
            problems,
        )
    return problems


def _probe_problems(probes: Mapping[str, Any]) -> Problems:
    """The CSD needs at least two distinct contacts (its slabs lie between them)."""
    z_um = probes["lfp"]["z_um"]
    problems: Problems = []
    if probes["csd"]:
        require(
            len(z_um) >= 2,
            "kernels.probes.lfp.z_um",
            "needs at least two contacts for the CSD (kernels.probes.csd)",
            problems,
        )
    require(
        len(set(z_um)) == len(z_um), "kernels.probes.lfp.z_um", "must not repeat a depth", problems
    )
    return problems


def check_kernels(config: Mapping[str, Any]) -> Problems:
    """Every pathway between the populations is described, consistently."""
    kernels = config["kernels"]
    populations = list(config["populations"])
    expected = {pathway_key(post, pre) for post in populations for pre in populations}
    problems = _pathway_map_problems(kernels, expected)
    problems += _per_population_problems(kernels, populations) + _kinetics_problems(kernels)
    problems += _synapse_section_problems(config)
    require(
        not (kernels["synapse_type"] == "current" and kernels["g_eff"]),
        "kernels.g_eff",
        "must be false with kernels.synapse_type 'current' (g_eff is a conductance effect)",
        problems,
    )
    dt_ms = config["simulation"]["dt_ms"]
    require(
        kernels["tau_ms"] >= 10 * dt_ms,
        "kernels.tau_ms",
        f"{kernels['tau_ms']} ms is shorter than 10 time steps",
        problems,
    )
    require(
        kernel_lags_on_grid(kernels["tau_ms"], dt_ms),
        "kernels.tau_ms",
        f"{kernels['tau_ms']} must be a whole number of simulation.dt_ms ({dt_ms})",
        problems,
    )
    return problems + _probe_problems(kernels["probes"])


# --------------------------------------------------------------------------
# ground truth
# --------------------------------------------------------------------------


def _groundtruth_scale_problems(config: Mapping[str, Any]) -> Problems:
    """Every scaled connection probability is at most 1."""
    scale = float(config["groundtruth"]["scale"])
    k_scale = float(config["groundtruth"]["k_scale"])
    kernels = kernel_description(config)
    scaled = scaled_network_probabilities(kernels, scale, k_scale)  # probabilities checked here
    problems: Problems = []
    for key, p_scaled in scaled["connection_probability"].items():
        if p_scaled > 1:
            pre = split_pathway_key(key)[1]
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
    """Ground truth: run length on the time grid, filter below Nyquist, scaled probabilities.

    Needs complete kernel pathways: run it only when the earlier checks found nothing.
    """
    gt = config["groundtruth"]
    dt = float(config["simulation"]["dt_ms"])
    problems: Problems = []
    require(
        gt["transient_ms"] < gt["tstop_ms"],
        "groundtruth.transient_ms",
        f"{gt['transient_ms']} must be smaller than groundtruth.tstop_ms ({gt['tstop_ms']})",
        problems,
    )
    require(
        on_grid(gt["tstop_ms"], dt),
        "groundtruth.tstop_ms",
        f"{gt['tstop_ms']} must be a whole number of simulation.dt_ms ({dt})",
        problems,
    )
    nyquist = 500.0 / dt
    require(
        gt["filter"]["cutoff_Hz"] < nyquist,
        "groundtruth.filter.cutoff_Hz",
        f"{gt['filter']['cutoff_Hz']} must be below the Nyquist frequency {nyquist} Hz of "
        "simulation.dt_ms",
        problems,
    )
    min_delay = min(float(d["min_ms"]) for d in config["kernels"]["delays"].values())
    require(
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
    problems: Problems = []
    sim = config["simulation"]
    window = float(sim["tstop_ms"]) - float(sim["transient_ms"])
    require(
        window >= float(gt["tstop_ms"]),
        "groundtruth.tstop_ms",
        f"{gt['tstop_ms']} is longer than the network's spikes after its transient "
        f"(simulation.tstop_ms - simulation.transient_ms = {window}) that "
        "groundtruth.presynaptic_spikes: network replays",
        problems,
    )
    sizes = scaled_network_probabilities(kernel_description(config), float(gt["scale"]))["sizes"]
    for name, size in sizes.items():
        # the NEST network's size: no minimum of one (lfpflow.config.scaling)
        simulated = scaled_size(config["populations"][name]["size"], config["network"]["scale"])
        require(
            simulated >= size,
            "groundtruth.scale",
            f"{gt['scale']} needs {size} {name} neurons to replay, the network "
            f"(network.scale {config['network']['scale']}) has {simulated}",
            problems,
        )
    return problems
