"""Rule v1_summary: headline numbers of the V1 experiments -> results/v1/summary.json."""

import json

from lfpflow.logs import log_to
from lfpflow.signals.analysis import read_benchmark
from lfpflow.v1 import EXPERIMENTS
from lfpflow.v1.experiments import summarise

log = log_to(snakemake.log[0], "v1_summary")
results = {name: snakemake.input[name] for name in EXPERIMENTS}
seconds = {name: read_benchmark(snakemake.input[f"{name}_benchmark"])["s"] for name in EXPERIMENTS}
summary = summarise(results, snakemake.output[0], seconds=seconds)
log.info("summary:\n%s", json.dumps(summary, indent=2, sort_keys=True))
