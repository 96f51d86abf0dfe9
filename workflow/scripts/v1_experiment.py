"""Rules v1_<experiment>: run one V1 experiment, write its HDF5 file and figures."""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.v1.experiments import run_experiment

log = log_to(snakemake.log[0], f"v1_{snakemake.params.experiment}")
run_experiment(
    snakemake.params.experiment,
    snakemake.params.config,
    snakemake.output.h5,
    {Path(path).stem: path for path in snakemake.output.figures},
)
log.info("wrote %s", snakemake.output.h5)
