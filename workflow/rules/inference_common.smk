# Helpers of workflow/rules/inference.smk: the simulated configuration, its kernels,
# the batches (docs/inference.md).

from lfpflow.config import ConfigError as _InferenceConfigError
from lfpflow.config.scopes import inference_stage
from lfpflow.inference.checks import checked_simulated_config
from lfpflow.inference.setup import batch_indices
from lfpflow.resolve import resolve_simulated

INFER = f"{RUN}/inference"
try:
    INFERENCE_CONFIG = checked_simulated_config(config, resolve_simulated)
    INFERENCE_ERROR = None
except _InferenceConfigError as error:
    # only the infer target needs it: another circuit's run must not fail here
    INFERENCE_CONFIG, INFERENCE_ERROR = None, str(error)
if INFERENCE_CONFIG is not None:
    INFERENCE_KHASH = kernel_hash(INFERENCE_CONFIG)
    KERNEL_CONFIGS.setdefault(INFERENCE_KHASH, INFERENCE_CONFIG)
    _SIMULATIONS = config["inference"]["simulations"]
    INFERENCE_BATCHES = {
        split: len(batch_indices(_SIMULATIONS[f"n_{split}"], _SIMULATIONS["batch_size"]))
        for split in ("train", "test")
    }


def _inference_ready(*_):
    if INFERENCE_ERROR is not None:
        sys.exit(f"lfpflow: {INFERENCE_ERROR}")


def inference_kernel_files(wildcards=None):
    _inference_ready()
    return [
        f"results/kernels/{INFERENCE_KHASH}/{post}_{pre}.h5"
        for post, pre in kernel_pathways(INFERENCE_CONFIG)
    ]


def inference_batch_files(split):
    def files(wildcards=None):
        _inference_ready()
        return [f"{INFER}/batches/{split}_{i:04d}.h5" for i in range(INFERENCE_BATCHES[split])]

    return files


def inference_observation_input(wildcards):
    _inference_ready()
    path = config["inference"]["observation"].get("file")
    return {"file": path} if path else {"kernels": inference_kernel_files()}


def inference_nestml(wildcards=None):
    _inference_ready()
    return nestml_inputs(INFERENCE_CONFIG)


def inference_config(stage):
    return lambda wildcards: inference_stage(INFERENCE_CONFIG, stage)


def inference_batch_indices(wildcards):
    sizes = config["inference"]["simulations"]
    return list(
        batch_indices(sizes[f"n_{wildcards.split}"], sizes["batch_size"])[int(wildcards.batch)]
    )


def inference_threads(wildcards=None):
    return INFERENCE_CONFIG["simulation"]["n_vp"] if INFERENCE_CONFIG else 1
