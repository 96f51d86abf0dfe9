"""Rule nwb_file: spikes.h5 and signals.h5 -> results/<run>/<run>.nwb (NWB 2, pynwb)."""

from lfpflow.formats.nwb import export_nwb
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "nwb")
written = export_nwb(
    snakemake.output[0],
    spikes_path=snakemake.input.spikes,
    signals_path=snakemake.input.signals,
    config=snakemake.params.config,
    run=snakemake.wildcards.run,
)
log.info(
    "%s: %d units, %d spikes, %d samples, %.1f MB, identifier %s",
    snakemake.output[0],
    written["n_units"],
    written["n_spikes"],
    written["n_samples"],
    written["bytes"] / 1e6,
    written["identifier"],
)
