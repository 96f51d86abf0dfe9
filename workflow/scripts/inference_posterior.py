"""Rule inference_posterior: posterior samples for the observation and their pair plot."""

from lfpflow.figures import inference as figures
from lfpflow.inference.workflow import posterior_samples, read_posterior
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "inference_posterior")
result = posterior_samples(
    snakemake.input.estimator,
    snakemake.input.observation,
    snakemake.output.samples,
    snakemake.params.config,
)
means = dict(zip(result["names"], result["theta"].mean(axis=0).round(3).tolist(), strict=True))
log.info("posterior mean %s", means)
if "truth" in result:
    log.info(
        "truth %s: in the 50 %% HPD region %s, 90 %% %s",
        result["truth"].tolist(),
        result["truth_in_hpd_50"],
        result["truth_in_hpd_90"],
    )
figures.save_figure(
    figures.posterior_pairs(read_posterior(snakemake.output.samples)), snakemake.output.figure
)
