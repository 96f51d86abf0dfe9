"""Rule groundtruth_compare: R² and std ratio of prediction vs MC ground truth.

Writes groundtruth/comparison.json (lfpflow.signals.groundtruth.write_groundtruth_comparison).
"""

from lfpflow.logs import log_to
from lfpflow.signals.groundtruth import write_groundtruth_comparison

log = log_to(snakemake.log[0], "groundtruth_compare")
result = write_groundtruth_comparison(
    snakemake.output[0],
    truth_path=snakemake.input.truth,
    predicted_path=snakemake.input.predicted,
    config=snakemake.params.config,  # validated by lfpflow.config.resolve_config
)
for name in ("LFP", "CDM_z", "EEG"):
    log.info(
        "%s: median R2 %.3f (filtered %.3f), median std ratio %.3f",
        name,
        result[name]["median_r2"],
        result[name]["filtered"]["median_r2"],
        result[name]["median_std_ratio"],
    )
log.info("targets met: %s", result["meets_targets"])
