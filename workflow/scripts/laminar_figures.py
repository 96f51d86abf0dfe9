"""Rule laminar_figures: LFP/CSD across depth, population activity, LFP by presynaptic
population and depth, spectra per depth (PNG; lfpflow.figures.laminar)."""

from pathlib import Path

from lfpflow import io
from lfpflow.figures import save_figure
from lfpflow.figures.laminar import laminar_figures
from lfpflow.logs import log_to
from lfpflow.signals.rates import read_rates
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "laminar_figures")
t_ms, counts, _ = read_rates(snakemake.input.rates)
figures = laminar_figures(
    read_spikes(snakemake.input.spikes),
    t_ms,
    counts,
    io.read_h5(snakemake.input.signals),
    snakemake.params.config,
)
for path in snakemake.output:
    save_figure(figures[Path(path).stem](), path)
    log.info("wrote %s", path)
