"""Rule eeg_topomap: MNE topomaps of the EEG (and MEG) at the largest CDM and its spectral peak."""

from lfpflow import io
from lfpflow.figures import save_figure
from lfpflow.figures.signals import topomap_figure
from lfpflow.formats.mne_eeg import raw_from_signals
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "eeg_topomap")
config = snakemake.params.config
signals = io.read_h5(snakemake.input.signals)
figure = topomap_figure(
    signals,
    raw_from_signals(signals).info,  # MNE's sensor layout of the EEG (and MEG)
    dt_ms=config["simulation"]["dt_ms"],
    t_start_ms=config["simulation"]["transient_ms"],
    nperseg=config["analysis"]["psd_nperseg"],
    fmax_Hz=config["analysis"]["psd_fmax_Hz"],
)
save_figure(figure, snakemake.output[0])
log.info("wrote %s", snakemake.output[0])
