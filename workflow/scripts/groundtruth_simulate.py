"""Rule groundtruth_simulate: the downscaled MC network (NEURON/LFPy) -> spikes.h5, signals.h5."""

from pathlib import Path

from lfpflow.formats.heads import sensor_maps
from lfpflow.logs import log_to
from lfpflow.multicompartment.groundtruth import simulate_groundtruth_to_files

log = log_to(snakemake.log[0], "groundtruth_simulate")
config = snakemake.params.config  # validated by lfpflow.resolve
# the head model with what MNE reads, read before the simulation
sensors = sensor_maps(config["forward"]["head_model"], config["forward"]["meg"])
# a list: empty, or the network's spikes.h5 (groundtruth.presynaptic_spikes: network)
network_spikes = list(snakemake.input.network_spikes)
run = simulate_groundtruth_to_files(
    config,
    mechanisms_dir=Path(snakemake.input.mechanisms),
    morphology_dir=Path(snakemake.params.morphology_dir),  # morphology_dir()
    spikes_path=snakemake.output.spikes,
    signals_path=snakemake.output.signals,
    network_spikes_path=network_spikes[0] if network_spikes else None,
    sensors=sensors,
)
net, attrs = run["network"], run["attrs"]
log.info(
    "MC network %s: %d segments, %d threads", net["sizes"], net["n_segments"], net["n_threads"]
)
log.info("timings (s): %s", {k: round(v, 2) for k, v in run["timings_s"].items()})
log.info("cost: %.3f core-s per cell per simulated s (simulate only)", run["cost_core_s"])
log.info("relative current sum <= %.2e", run["max_relative_current_sum"])
log.info("presynaptic spikes: %s", run["attrs"]["presynaptic_spikes"])
log.info("spikes per population: %s", run["n_spikes"])
log.info("mean soma potentials (mV): %s", attrs["mean_soma_potential_mV"])
log.info("synapse-weighted potentials (mV): %s", attrs["linearisation_potential_mV"])
