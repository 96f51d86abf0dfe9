"""Rule inference_ppc: re-simulate at posterior draws, spectra over the observation's."""

import numpy as np

from lfpflow.figures import inference as figures
from lfpflow.inference.observation import SIGNAL_UNITS, load_observation
from lfpflow.inference.workflow import predictive_check
from lfpflow.logs import log_to
from lfpflow.signals.kernel_files import load_kernels

log = log_to(snakemake.log[0], "inference_ppc")
config = snakemake.params.config
nestml = snakemake.input.nestml
table = predictive_check(
    snakemake.input.posterior,
    load_kernels(snakemake.input.kernels),
    snakemake.output.table,
    config,
    nestml_module_dir=nestml[0] if nestml else None,
)
observation = load_observation(snakemake.input.observation)
low, high = np.percentile(table["psd"], [5, 95], axis=0)
inside = (observation["psd"] >= low) & (observation["psd"] <= high)
log.info(
    "%d re-simulations; observed PSD inside the 5-95 %% band at %.0f %% of bins",
    len(table["wall_s"]),
    100 * inside.mean(),
)
signal = config["inference"]["signal"]
figures.save_figure(
    figures.predictive_spectra(
        table["freqs_Hz"],
        observation["psd"],
        table["psd"],
        signal=signal,
        units=SIGNAL_UNITS[signal],
        fmax_Hz=float(config["inference"]["features"]["fmax_Hz"]),
        channels=config["inference"]["channels"],
    ),
    snakemake.output.figure,
)
