"""Rule groundtruth_kernel: kernel of one pathway for the downscaled MC network.

Sizes and connection probabilities are those of the ground-truth network; with
groundtruth.g_eff_rates = measured, g_eff uses the MC network's mean rates; with
groundtruth.kernel_vrest = measured, the synapses are linearised around the MC
network's time-averaged potential where the pathway's synapses are
(root attribute linearisation_potential_mV of groundtruth/signals.h5).
"""

import json
from pathlib import Path

import h5py

from lfpflow.logs import log_to
from lfpflow.multicompartment.groundtruth import groundtruth_kernel_config
from lfpflow.multicompartment.kernels import compute_kernel
from lfpflow.signals.analysis import mean_rate_hz
from lfpflow.signals.kernel_files import write_kernel
from lfpflow.signals.spikes import read_spikes

post, pre = snakemake.wildcards.post, snakemake.wildcards.pre
log = log_to(snakemake.log[0], f"groundtruth_kernel_{post}_{pre}")
config = snakemake.params.config  # validated by lfpflow.config.resolve_config
gt = config["groundtruth"]
rates = None
if gt["g_eff_rates"] == "measured":
    spikes = read_spikes(snakemake.input.spikes)
    rates = {
        name: mean_rate_hz(
            times,
            spikes.population_sizes[name],
            t_start_ms=gt["transient_ms"],
            t_stop_ms=gt["tstop_ms"],
        )
        for name, times in spikes.times_ms.items()
    }
vrest = None
if gt["kernel_vrest"] == "measured":
    with h5py.File(snakemake.input.truth, "r") as truth:
        potentials = json.loads(truth.attrs["linearisation_potential_mV"])
    vrest = potentials[f"{post}:{pre}"]
kernel_config = groundtruth_kernel_config(config["kernels"], gt["scale"], rates, vrest_mV=vrest)
log.info(
    "g_eff rates (Hz): %s; synapses linearised at %.2f mV",
    kernel_config["presynaptic_rates_Hz"],
    kernel_config["cell"]["Vrest_mV"],
)
kernel = compute_kernel(
    kernel_config,
    post=post,
    pre=pre,
    dt_ms=config["simulation"]["dt_ms"],
    mechanisms_dir=Path(snakemake.input.mechanisms),
    morphology_dir=Path(snakemake.input.morphologies[0]).parent,
)
write_kernel(
    snakemake.output[0],
    kernel,
    config=dict(config, kernels=kernel_config),
    post=post,
    pre=pre,
)
