"""Rules v1_<experiment>: run one V1 experiment, write its HDF5 file and figures."""

import logging
from pathlib import Path

from lfpflow.v1.experiments import run_experiment

logging.basicConfig(
    filename=snakemake.log[0],
    level=logging.INFO,
    format="%(asctime)s %(name)s %(levelname)s: %(message)s",
)
try:
    run_experiment(
        snakemake.params.experiment,
        snakemake.params.config,
        snakemake.output.h5,
        {Path(path).stem: path for path in snakemake.output.figures},
    )
except Exception:
    logging.exception("V1 experiment %s failed", snakemake.params.experiment)
    raise
