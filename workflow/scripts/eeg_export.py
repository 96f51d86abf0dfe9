"""Rules eeg_edf and eeg_brainvision: the EEG of <stem>_raw.fif as EDF+ or BrainVision."""

from lfpflow.formats.mne_eeg import export_eeg
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "eeg_export")
for path in export_eeg(snakemake.input[0], snakemake.output[0]):
    log.info("wrote %s", path)
