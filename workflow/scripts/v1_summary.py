"""Rule v1_summary: headline numbers of the V1 experiments -> results/v1/summary.json."""

import json
import logging

from lfpflow.v1 import EXPERIMENTS
from lfpflow.v1.experiments import benchmark_seconds, summarise

logging.basicConfig(
    filename=snakemake.log[0],
    level=logging.INFO,
    format="%(asctime)s %(name)s %(levelname)s: %(message)s",
)
try:
    results = {name: snakemake.input[name] for name in EXPERIMENTS}
    seconds = {
        name: benchmark_seconds(snakemake.input[f"{name}_benchmark"]) for name in EXPERIMENTS
    }
    summary = summarise(results, snakemake.output[0], seconds=seconds)
    logging.info("summary:\n%s", json.dumps(summary, indent=2, sort_keys=True))
except Exception:
    logging.exception("V1 summary failed")
    raise
