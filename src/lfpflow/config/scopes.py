"""What each stage reads: stage views of the configuration, their scopes and hashes.

A population is declared once, in ``populations``; the stages read it in the
shape they need. :func:`stage_view` assembles those shapes from the resolved
configuration (it declares nothing): ``network.populations`` gets each
population's ``size``, ``model`` and ``params``; ``kernels.populations`` its
``size`` and multicompartment ``cell`` (morphology, soma placement, passive
overrides); ``kernels.external.n_ext`` the number of external inputs per cell
of ``network.drive.n_ext`` (the multicompartment cells receive the drive the
point neurons receive).

Each rule then receives, as Snakemake ``params``, only the part of that view
its output depends on, so a change elsewhere does not rerun it, and the hash of
exactly that part names the cached kernels: whatever the kernels read is in the
kernel hash, and nothing else is. Every scope is declared here, once: the LFP
pipeline's stages (:data:`STAGE_SCOPES`, :func:`stage_config`), the inference
rules (:data:`INFERENCE_SCOPES`, :func:`inference_stage`), the V1 experiments
(:data:`V1_SHARED_KEYS`, :func:`v1_experiment_scope`) and the single-neuron
characterisations (:func:`neuron_model_scope`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lfpflow.io import config_sha256

#: Top-level sections that describe one run of the LFP pipeline (network,
#: kernels, signals, analysis): what a sweep may vary and what the
#: simulation-based inference simulates.
RUN_SECTIONS = ("seed", "simulation", "populations", "network", "kernels", "forward", "analysis")

#: Length of the configuration hash in a sweep point's folder name (hex digits).
POINT_HASH_LENGTH = 8

#: Length of the kernel hash naming ``results/kernels/<hash>/`` (hex digits).
KERNEL_HASH_LENGTH = 12

#: Configuration each stage depends on, as dotted keys of :func:`stage_view`.
STAGE_SCOPES: dict[str, tuple[str, ...]] = {
    "network": ("seed", "simulation", "network"),
    "kernels": ("kernels", "simulation.dt_ms"),
    "forward": ("seed", "simulation", "network", "kernels", "forward"),
    "analysis": ("seed", "simulation", "network", "kernels", "forward", "analysis"),
    "groundtruth": ("seed", "simulation.dt_ms", "kernels", "groundtruth", "forward"),
    # the NWB file holds spikes and signals (what forward reads) and its metadata
    "export": ("seed", "simulation", "network", "kernels", "forward", "export"),
}


#: Parts of the ``inference`` section each inference rule depends on (besides
#: the simulated network), so that a change elsewhere does not rerun it.
INFERENCE_SCOPES: dict[str, tuple[str, ...]] = {
    "simulate": ("seed", "parameters", "signal", "channels", "features"),
    "observation": ("seed", "parameters", "signal", "channels", "features", "observation"),
    "train": ("seed", "parameters", "signal", "channels", "features", "simulations", "estimator"),
}
INFERENCE_SCOPES["posterior"] = (*INFERENCE_SCOPES["train"], "observation", "posterior")
INFERENCE_SCOPES["validation"] = (*INFERENCE_SCOPES["train"], "posterior", "targets")


#: Keys of ``v1`` every V1 experiment depends on (the model and the stimulus grid).
V1_SHARED_KEYS = (
    "seed",
    "relaxation",
    "numerics",
    "model",
    "filters",
    "grid_step_deg",
    "grid_phase_range_deg",
)


def pathway_key(post: str, pre: str) -> str:
    """The pathway key ``"<post>:<pre>"`` (LFPykernels' ``'Y:X'``)."""
    return f"{post}:{pre}"


def split_pathway_key(key: str) -> tuple[str, str]:
    """``(post, pre)`` of a pathway key ``"<post>:<pre>"`` (inverse of :func:`pathway_key`)."""
    post, separator, pre = key.partition(":")
    if not separator or not post or not pre or ":" in pre:
        raise ValueError(f"{key!r} is not a pathway key '<post>:<pre>'")
    return post, pre


def kernel_pathways(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """All ``(post, pre)`` pairs of the populations, in declaration order."""
    names = list(config["populations"])
    return [(post, pre) for post in names for pre in names]


def network_description(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``network`` section as the NEST stage reads it (populations included)."""
    network = copy.deepcopy(dict(config["network"]))
    network["populations"] = {
        name: {key: copy.deepcopy(pop[key]) for key in ("size", "model", "params")}
        for name, pop in config["populations"].items()
    }
    return network


def kernel_description(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``kernels`` section as the kernel stage reads it (populations included).

    Each population brings its size (out-degrees follow the network's sizes)
    and its cell, ``populations.<X>.cell`` flattened: ``morphology``, soma
    placement (``soma_z_mean_um``, ``soma_z_sd_um``, ``radius_um``) and the
    passive overrides it sets (the others are ``kernels.cell``'s). The
    external inputs per cell (for g_eff) are the network's ``drive.n_ext`` (0
    where a population has none).
    """
    kernels = copy.deepcopy(dict(config["kernels"]))
    populations = config["populations"]
    kernels["populations"] = {
        name: {"size": pop["size"], **copy.deepcopy(dict(pop["cell"]))}
        for name, pop in populations.items()
    }
    n_ext = config["network"]["drive"]["n_ext"]
    kernels["external"]["n_ext"] = {name: int(n_ext.get(name, 0)) for name in populations}
    return kernels


def stage_view(config: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved configuration with ``network`` and ``kernels`` as the stages read them."""
    view = {key: value for key, value in config.items() if key != "populations"}
    view["network"] = network_description(config)
    view["kernels"] = kernel_description(config)
    return view


def sorted_keys(value: Any) -> Any:
    """A copy of nested mappings/lists with every mapping's keys sorted."""
    if isinstance(value, Mapping):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def config_scope(config: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The part of a configuration named by dotted ``keys``.

    Parameters
    ----------
    config : Mapping
        Resolved configuration (or a :func:`stage_view` of it).
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


def stage_config(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """What ``stage`` (one of :data:`STAGE_SCOPES`) reads of a resolved configuration."""
    if stage not in STAGE_SCOPES:
        raise ValueError(f"unknown stage {stage!r}; allowed values: {', '.join(STAGE_SCOPES)}")
    keys = STAGE_SCOPES[stage]
    if stage == "groundtruth" and config["groundtruth"]["presynaptic_spikes"] == "network":
        # the replayed network spikes start after the network's transient
        keys = (*keys, "simulation.transient_ms")
    return config_scope(stage_view(config), *keys)


def kernel_hash(config: Mapping[str, Any]) -> str:
    """Short hash of exactly what the kernels depend on (the ``kernels`` stage).

    Two configurations with the same kernel hash share
    ``results/kernels/<hash>/``.
    """
    return config_sha256(stage_config(config, "kernels"))[:KERNEL_HASH_LENGTH]


def point_hash(config: Mapping[str, Any]) -> str:
    """Short hash of a point's scientific configuration (the ``analysis`` stage)."""
    return config_sha256(stage_config(config, "analysis"))[:POINT_HASH_LENGTH]


def inference_stage(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The simulated configuration with only what ``stage`` reads of ``inference``.

    ``simulate`` and ``train`` keep only the parameters' priors (the simulated
    observation reads ``true_value``, the validation ``recoverable``).
    """
    # the sections a draw reads (the network stage view needs kernels and
    # populations; forward maps to EEG; analysis holds the bands): v1, neurons,
    # groundtruth, export, ... changes must not rerun the batches
    result = {key: copy.deepcopy(config[key]) for key in RUN_SECTIONS}
    inference = config["inference"]
    result["inference"] = {key: copy.deepcopy(inference[key]) for key in INFERENCE_SCOPES[stage]}
    if stage == "train":
        # the held-out budget does not change the training set
        result["inference"]["simulations"] = {
            k: v for k, v in inference["simulations"].items() if k != "n_test"
        }
    if stage in ("simulate", "train"):
        result["inference"]["parameters"] = {
            name: {k: v for k, v in spec.items() if k in ("prior", "low", "high")}
            for name, spec in inference["parameters"].items()
        }
    return result


def v1_experiment_scope(v1: Mapping[str, Any], experiment: str) -> dict[str, Any]:
    """The part of the ``v1`` section one V1 experiment depends on (its rule's params)."""
    return {**{key: v1[key] for key in V1_SHARED_KEYS}, experiment: v1[experiment]}


def neuron_model_scope(config: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    """The configuration one catalogue model's characterisation depends on.

    ``{"neurons": ...}`` with ``neurons.models`` reduced to this model's entry,
    so that changing another model's settings does not rerun this one
    (Snakemake ``params``); keys sorted (:func:`sorted_keys`).
    """
    section = dict(config["neurons"])
    models = section["models"]
    section["models"] = {model_name: models[model_name]} if model_name in models else {}
    return sorted_keys({"neurons": section})
