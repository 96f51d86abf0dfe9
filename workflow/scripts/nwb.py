"""Rule nwb_file: spikes.h5 and signals.h5 -> lfpflow.formats.nwb_path(run) (NWB 2, pynwb).

The exporter knows no simulator, and spikes.h5 does not name the NEST model of
its populations: this script looks them up in the point-neuron catalogue and
passes them (catalogue name -> NEST model) for the units table.
"""

from lfpflow.formats.nwb import export_nwb
from lfpflow.logs import log_to
from lfpflow.pointneuron.catalogue import nest_models

log = log_to(snakemake.log[0], "nwb")
config = snakemake.params.config
models = [population["model"] for population in config["network"]["populations"].values()]
written = export_nwb(
    snakemake.output[0],
    spikes_path=snakemake.input.spikes,
    signals_path=snakemake.input.signals,
    config=config,
    run=snakemake.wildcards.run,
    nest_models=nest_models(models),
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
