"""Rule network: simulate the point-neuron network, write spikes.h5."""

from lfpflow.logs import log_to
from lfpflow.pointneuron.network import simulate_network
from lfpflow.signals.spikes import write_spikes

log = log_to(snakemake.log[0], "network")
config = snakemake.params.config
log.info(
    "simulating %s ms with n_vp=%s", config["simulation"]["tstop_ms"], config["simulation"]["n_vp"]
)
nestml = snakemake.input.nestml
spikes = simulate_network(config, nestml_module_dir=nestml[0] if nestml else None)
for name, times in spikes.times_ms.items():
    log.info("population %s: %d spikes", name, times.size)
log.info("build %.1f s, simulate %.1f s", spikes.timings_s["build"], spikes.timings_s["simulate"])
write_spikes(snakemake.output[0], spikes, config=config)
