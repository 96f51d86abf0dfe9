"""Rule sweep_summary: one row per sweep point -> summary.csv and a figure."""

import json

from lfpflow.figures import signals as plotting
from lfpflow.logs import log_to
from lfpflow.sweep import summary_row, write_summary_csv

log = log_to(snakemake.log[0], "sweep_summary")
rows = []
for point, path in zip(snakemake.params.points, snakemake.input.summaries, strict=True):
    with open(path) as handle:
        rows.append(summary_row(point["run"], point["parameters"], json.load(handle)))
write_summary_csv(snakemake.output.table, rows)
parameters = list(snakemake.params.points[0]["parameters"])
plotting.save_figure(plotting.sweep_figure(rows, parameters), snakemake.output.figure)
log.info("%d sweep points tabulated", len(rows))
