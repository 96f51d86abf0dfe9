"""Rule figures: raster, kernels, laminar LFP, CSD, CDM, EEG, MEG and spectra (PNG)."""

from pathlib import Path

from lfpflow import io
from lfpflow.figures import save_figure
from lfpflow.figures.signals import run_figures
from lfpflow.logs import log_to
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import read_rates
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "figures")
t_ms, counts, _ = read_rates(snakemake.input.rates)
figures = run_figures(
    read_spikes(snakemake.input.spikes),
    t_ms,
    counts,
    io.read_h5(snakemake.input.signals),
    load_kernels(snakemake.input.kernels),
    snakemake.params.config,
)
for path in snakemake.output:
    save_figure(figures[Path(path).stem](), path)
    log.info("wrote %s", path)
