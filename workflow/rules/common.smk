# Configuration: config/config.yaml, any --configfile merged over it (Snakemake
# merges mappings key by key and replaces lists), --config KEY=VALUE on top; the
# result is an overlay over the schema's defaults (src/lfpflow/config/schemas/),
# resolved and checked by lfpflow.config.resolve_config before any rule runs.
#
# Runs: without a `sweep`, one run in results/<run_name>/; with one, a run per
# point in results/<run_name>/<label>-<hash>/ (lfpflow.sweep). Run-level rules
# have the wildcard {run} (the folder below results/) and look their
# configuration up in RUNS. Kernels are stored once per kernel configuration in
# results/kernels/<kernel hash>/ (wildcard {khash}) and shared by every run
# with that hash.

import re
import sys

from lfpflow.config import ConfigError, kernel_pathways, resolve_config, stage_config
from lfpflow.pointneuron.catalogue import uses_nestml
from lfpflow.sweep import kernel_hash, sweep_points



configfile: "config/config.yaml"


try:
    _resolved = resolve_config(config)
    SWEEP_POINTS = (
        sweep_points(_resolved, resolve_config)
        if _resolved["sweep"]
        else []
    )
except ConfigError as error:
    sys.exit(f"lfpflow: {error}")
config.clear()
config.update(_resolved)

# the base run's folders (for a sweep: the parent of the points' folders)
RUN = f"results/{config['run_name']}"
LOGS = f"logs/{config['run_name']}"
BENCHMARKS = f"benchmarks/{config['run_name']}"
POPULATIONS = list(config["populations"])

# run folder below results/ -> its resolved configuration
if SWEEP_POINTS:
    RUNS = {point.run_id: point.config for point in SWEEP_POINTS}
else:
    RUNS = {config["run_name"]: dict(config)}
# kernel hash of each run, and a configuration for each kernel hash
RUN_KERNELS = {run: kernel_hash(run_config) for run, run_config in RUNS.items()}
KERNEL_CONFIGS = {RUN_KERNELS[run]: run_config for run, run_config in RUNS.items()}
SWEEP_TABLE = f"results/sweeps/{config['run_name']}/summary.csv"
SWEEP_FIGURE = f"results/sweeps/{config['run_name']}/summary.png"


wildcard_constraints:
    run="|".join(re.escape(run) for run in RUNS),
    khash="[0-9a-f]{12}",
    post="[A-Za-z][A-Za-z0-9]*",
    pre="[A-Za-z][A-Za-z0-9]*",


def kernels_dir(run):
    """Folder of the kernels a run uses (results/kernels/<kernel hash>)."""
    return f"results/kernels/{RUN_KERNELS[run]}"


def kernel_files(run):
    return [
        f"{kernels_dir(run)}/{post}_{pre}.h5" for post, pre in kernel_pathways(RUNS[run])
    ]


def kernel_benchmarks(run):
    return [
        f"benchmarks/kernels/{RUN_KERNELS[run]}/kernel_{post}_{pre}.tsv"
        for post, pre in kernel_pathways(RUNS[run])
    ]


def run_stage_config(stage):
    """Snakemake params function: the run's configuration for `stage`."""
    return lambda wildcards: stage_config(RUNS[wildcards.run], stage)


def kernel_stage_config(wildcards):
    return stage_config(KERNEL_CONFIGS[wildcards.khash], "kernels")


def run_needs_nestml(wildcards):
    # our NESTML models (Izhikevich 2007) are compiled into build/nestml first
    populations = RUNS[wildcards.run]["populations"].values()
    return ["build/nestml"] if uses_nestml([p["model"] for p in populations]) else []


def head_model_files(wildcards):
    """The lead-field or New York Head file of a run's head model (none for four_sphere)."""
    head = RUNS[wildcards.run]["forward"]["head_model"]
    files = {"lead_field": head["lead_field_file"], "nyhead": head["nyhead_file"]}
    return [files[head["type"]]] if head["type"] in files else []


# EEG file names (workflow/rules/eeg.smk)
#: forward.eeg_export.formats -> the files each format writes (first: the rule's target).
EEG_EXPORT_SUFFIXES = {"edf": [".edf"], "brainvision": [".vhdr", ".vmrk", ".eeg"]}


def eeg_stem(run):
    return run.rsplit("/", 1)[-1]


def eeg_targets(run):
    """The EEG files and the topomap figure of a run."""
    folder = f"results/{run}/eeg/{eeg_stem(run)}"
    return [
        f"{folder}_raw.fif",
        f"results/{run}/figures/eeg_topomap.png",
        *(
            f"{folder}{EEG_EXPORT_SUFFIXES[fmt][0]}"
            for fmt in RUNS[run]["forward"]["eeg_export"]["formats"]
        ),
    ]


def eeg_signals(wildcards):
    # {stem} must be the last part of {run}: no second name for the same file
    if wildcards.stem != eeg_stem(wildcards.run):
        raise ValueError(
            f"the EEG files of run {wildcards.run} are named {eeg_stem(wildcards.run)}*"
        )
    return {"signals": f"results/{wildcards.run}/signals.h5"}
