"""Rule eeg_fif: signals.h5 -> results/<run>/eeg/<stem>_raw.fif (MNE Raw, EEG in V, MEG in T)."""

from lfpflow.formats.mne_eeg import write_raw_fif
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "eeg_fif")
written = write_raw_fif(
    snakemake.output[0],
    snakemake.input.signals,
    transient_ms=snakemake.params.transient_ms,
    run=snakemake.wildcards.run,
)
log.info(
    "%s: %d EEG and %d MEG channels, %d samples at %g Hz, %.1f MB",
    snakemake.output[0],
    written["n_eeg"],
    written["n_meg"],
    written["n_samples"],
    written["sfreq_Hz"],
    written["bytes"] / 1e6,
)
