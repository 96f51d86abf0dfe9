"""Rule run_config: the run's resolved configuration -> config.yaml, and a
``kernels`` link to the shared kernels folder it uses."""

from lfpflow.logs import log_to
from lfpflow.sweep import write_run_config

log = log_to(snakemake.log[0], "run_config")
write_run_config(
    snakemake.output[0], snakemake.params.config, kernels_dir=snakemake.params.kernels_dir
)
log.info("kernels of this run: %s", snakemake.params.kernels_dir)
