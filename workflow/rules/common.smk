# Configuration: config/config.yaml, any --configfile merged over it (Snakemake
# merges mappings key by key and replaces lists), --config KEY=VALUE on top; the
# result is an overlay over the schema's defaults (src/lfpflow/config/schemas/),
# resolved and checked by lfpflow.resolve.resolve_runs before any rule runs.
#
# Runs: without a `sweep`, one run in results/<run_name>/; with one, a run per
# point in results/<run_name>/<label>-<hash>/ (lfpflow.sweep). Run-level rules
# have the wildcard {run} (the folder below results/) and look their
# configuration up in RUNS. Kernels are stored once per kernel configuration in
# results/kernels/<kernel hash>/ (wildcard {khash}) and shared by every run
# with that hash.

import re
import sys

from lfpflow.config import ConfigError, kernel_pathways, stage_config
from lfpflow.config.scopes import kernel_hash
from lfpflow.formats.eeg_files import eeg_paths, run_stem
from lfpflow.multicompartment.morphology import workflow_morphology_dir
from lfpflow.pointneuron.catalogue import uses_nestml
from lfpflow.pointneuron.nestml_build import NESTML_BUILD_DIR
from lfpflow.resolve import resolve_runs



configfile: "config/config.yaml"


try:
    # the sweep's points are resolved once, with the configuration
    _resolved, SWEEP_POINTS = resolve_runs(config)
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


# The morphology folder of every rule (kernels, ground truth), decided by the
# function the configuration checks use (lfpflow.multicompartment.morphology.
# morphology_dir: $LFPFLOW_MORPHOLOGY_DIR, else morphologies/).
MORPHOLOGY_DIR = workflow_morphology_dir()


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


def nestml_inputs(config):
    """Our compiled NESTML models (Izhikevich 2007), if a population of `config` uses one."""
    models = [p["model"] for p in config["populations"].values()]
    return [NESTML_BUILD_DIR] if uses_nestml(models) else []


def run_needs_nestml(wildcards):
    return nestml_inputs(RUNS[wildcards.run])


def head_model_files(wildcards):
    """The lead-field or New York Head file of a run's head model (none for four_sphere)."""
    head = RUNS[wildcards.run]["forward"]["head_model"]
    files = {"lead_field": head["lead_field_file"], "nyhead": head["nyhead_file"]}
    return [files[head["type"]]] if head["type"] in files else []


# EEG file names (workflow/rules/eeg.smk): lfpflow.formats.eeg_files names them
def eeg_targets(run):
    """The EEG files and the topomap figure of a run."""
    formats = RUNS[run]["forward"]["eeg_export"]["formats"]
    return [*eeg_paths(run, formats), f"results/{run}/figures/eeg_topomap.png"]


def eeg_signals(wildcards):
    # {stem} must be the last part of {run}: no second name for the same file
    if wildcards.stem != run_stem(wildcards.run):
        raise ValueError(
            f"the EEG files of run {wildcards.run} are named {run_stem(wildcards.run)}*"
        )
    return {"signals": f"results/{wildcards.run}/signals.h5"}
