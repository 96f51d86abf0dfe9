"""Rule inference_validation: recovery and calibration on held-out simulations."""

from lfpflow.figures import inference as figures
from lfpflow.inference.workflow import validate
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "inference_validation")
config = snakemake.params.config
result = validate(
    snakemake.input.estimator,
    list(snakemake.input.batches),
    {"summary": snakemake.output.summary, "table": snakemake.output.table},
    config,
    threads=snakemake.threads,
)
summary = result["summary"]
log.info("R2 %s", summary["r2"])
log.info("coverage 50 %% %s, 90 %% %s", summary["coverage_50"], summary["coverage_90"])
log.info("targets met: %s", summary["targets_met"]["all"])
figures.save_figure(
    figures.validation(
        list(config["inference"]["parameters"]), result["truth"], result["samples"], summary
    ),
    snakemake.output.figure,
)
