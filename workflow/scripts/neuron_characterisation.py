"""Rule neuron_characterisation: F-I curves, CV of ISI, rheobase and an example
step response of one catalogue model; writes results/neurons/<model>.h5, then
draws its figure from that file."""

import time

from lfpflow.figures.neurons import plot_characterisation
from lfpflow.logs import log_to
from lfpflow.pointneuron.single_neuron import characterise_to_files

log = log_to(snakemake.log[0], "neuron_characterisation")
model = snakemake.wildcards.model
module_dir = snakemake.input.get("nestml")
log.info("characterising %s (NESTML module: %s)", model, module_dir or "not needed")
result = characterise_to_files(
    model,
    config=snakemake.params.config,
    h5_path=snakemake.output.h5,
    module_dir=module_dir,
)
started = time.perf_counter()
plot_characterisation(snakemake.output.h5, snakemake.output.figure)
result["timings_s"]["figure"] = time.perf_counter() - started
attrs = result["attrs"]
log.info(
    "%s: rheobase %.4g pA (in (%.4g, %.4g]), example %.4g pA, %d example spikes",
    model,
    attrs["rheobase_pA"],
    attrs["rheobase_lower_pA"],
    attrs["rheobase_pA"],
    attrs["example_dc_pA"],
    result["data"]["example_spike_times_ms"].data.size,
)
log.info("timings (s): %s", ", ".join(f"{k} {v:.2f}" for k, v in result["timings_s"].items()))
