"""Rule groundtruth_figures: overlay of MC ground truth and prediction; scores vs depth.

R² is the coefficient of determination (lfpflow.signals.comparison).
"""

import json
from pathlib import Path

from lfpflow import io
from lfpflow.figures.groundtruth import overlay_figure, r2_depth_figure
from lfpflow.figures.signals import save_figure
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "groundtruth_figures")
config = snakemake.params.config
truth = io.read_h5(snakemake.input.truth)
predicted = io.read_h5(snakemake.input.predicted)
comparison = json.loads(Path(snakemake.input.comparison).read_text())
outputs = {Path(path).stem: path for path in snakemake.output}
save_figure(
    overlay_figure(
        truth,
        predicted,
        window_ms=config["groundtruth"]["overlay_window_ms"],
        dt_ms=config["simulation"]["dt_ms"],
        comparison=comparison,
    ),
    outputs["overlay"],
)
save_figure(r2_depth_figure(comparison, truth["z_um"]), outputs["r2_depth"])
log.info("wrote %s", ", ".join(outputs.values()))
