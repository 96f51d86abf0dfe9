"""Rule groundtruth_compare: fit scores of prediction vs MC ground truth.

R² (coefficient of determination), signed correlation, squared correlation
and std ratio per channel (lfpflow.signals.comparison).

Writes groundtruth/comparison.json (lfpflow.signals.groundtruth.write_groundtruth_comparison).
"""

from lfpflow.logs import log_to
from lfpflow.signals.groundtruth import write_groundtruth_comparison

log = log_to(snakemake.log[0], "groundtruth_compare")
result = write_groundtruth_comparison(
    snakemake.output[0],
    truth_path=snakemake.input.truth,
    predicted_path=snakemake.input.predicted,
    config=snakemake.params.config,  # validated by lfpflow.resolve.resolve_config
)
for name in ("LFP", "CDM_z", "EEG"):
    log.info(
        "%s: median R2 (coefficient of determination) %.3f (filtered %.3f), median "
        "correlation %.3f, median squared correlation %.3f, median std ratio %.3f",
        name,
        result[name]["median_r2"],
        result[name]["filtered"]["median_r2"],
        result[name]["median_correlation"],
        result[name]["median_squared_correlation"],
        result[name]["median_std_ratio"],
    )
log.info("targets met: %s", result["meets_targets"])
