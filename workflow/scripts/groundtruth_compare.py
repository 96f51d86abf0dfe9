"""Rule groundtruth_compare: R² and std ratio of prediction vs MC ground truth.

Writes groundtruth/comparison.json (LFP, CDM_z, EEG: per channel and quantiles,
raw and low-pass filtered; per postsynaptic population; targets met or not).
"""

import json

import numpy as np

from lfpflow import io
from lfpflow.logs import log_to
from lfpflow.signals.comparison import compare_all, meets_targets

log = log_to(snakemake.log[0], "groundtruth_compare")
config = snakemake.params.config  # validated by lfpflow.config.resolve_config
gt = config["groundtruth"]
truth = io.read_h5(snakemake.input.truth)
predicted = io.read_h5(snakemake.input.predicted)
n = min(truth["LFP"].shape[1], predicted["LFP"].shape[1])
settings = {
    "dt_ms": config["simulation"]["dt_ms"],
    "transient_ms": gt["transient_ms"],
    "cutoff_Hz": gt["filter"]["cutoff_Hz"],
    "order": gt["filter"]["order"],
}


def cut(signals):
    return {k: np.asarray(signals[k])[..., :n] for k in ("LFP", "CDM", "EEG")}


result = compare_all(cut(truth), cut(predicted), **settings)
populations = {}
for post, part in truth["contributions"].items():
    keys = [k for k in predicted["contributions"] if k.split("_")[0] == post]
    summed = {
        m: sum(np.asarray(predicted["contributions"][k][m]) for k in keys)
        for m in ("LFP", "CDM", "EEG")
    }
    populations[post] = compare_all(cut(part), cut(summed), **settings)
    populations[post]["pathways"] = sorted(keys)
result["populations"] = populations
attrs = truth["attrs"]
result["network"] = {
    key: json.loads(attrs[key]) if isinstance(attrs[key], str) else attrs[key]
    for key in (
        "scale",
        "population_sizes",
        "connection_probability",
        "in_degree",
        "n_connections",
        "n_synapses",
        "n_threads",
        "mpi_ranks",
        "tstop_ms",
    )
}
result["network"]["measured_rates_Hz"] = json.loads(predicted["attrs"]["measured_rates_Hz"])
result["network"]["timings_s"] = {
    k.removeprefix("timing_").removesuffix("_s"): v
    for k, v in attrs.items()
    if k.startswith("timing_")
}
result["network"]["max_relative_current_sum"] = attrs["max_relative_current_sum"]
for key in ("mean_soma_potential_mV", "linearisation_potential_mV"):
    result["network"][key] = json.loads(attrs[key])
result["network"]["kernel_vrest"] = predicted["attrs"]["kernel_vrest"]
result["network"]["kernel_vrest_mV"] = json.loads(predicted["attrs"]["kernel_vrest_mV"])
result["settings"] = settings
result["targets"] = dict(gt["targets"])
result["meets_targets"] = meets_targets(result, gt["targets"])
result["provenance"] = io.provenance(config)
result["notes"] = (
    "r2: squared Pearson correlation per channel after the transient; std_ratio: "
    "std(prediction)/std(ground truth); filtered: zero-phase Butterworth low-pass. "
    "populations: ground-truth contribution of each postsynaptic population vs the sum of "
    "its predicted pathway contributions (a per-pathway split of the MC network does "
    "not exist: its currents mix all inputs nonlinearly)."
)
io.write_json(snakemake.output[0], result)
for name in ("LFP", "CDM_z", "EEG"):
    log.info(
        "%s: median R2 %.3f (filtered %.3f), median std ratio %.3f",
        name,
        result[name]["median_r2"],
        result[name]["filtered"]["median_r2"],
        result[name]["median_std_ratio"],
    )
log.info("targets met: %s", result["meets_targets"])
