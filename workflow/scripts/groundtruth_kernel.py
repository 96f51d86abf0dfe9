"""Rule groundtruth_kernel: kernel of one pathway for the downscaled MC network.

Writes groundtruth/kernels/<post>_<pre>.h5
(lfpflow.multicompartment.groundtruth.compute_groundtruth_kernel).
"""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.multicompartment.groundtruth import compute_groundtruth_kernel

post, pre = snakemake.wildcards.post, snakemake.wildcards.pre
log = log_to(snakemake.log[0], f"groundtruth_kernel_{post}_{pre}")
kernel_config = compute_groundtruth_kernel(
    snakemake.params.config,  # validated by lfpflow.resolve.resolve_config
    post=post,
    pre=pre,
    spikes_path=snakemake.input.spikes,
    truth_path=snakemake.input.truth,
    mechanisms_dir=Path(snakemake.input.mechanisms),
    morphology_dir=Path(snakemake.params.morphology_dir),  # morphology_dir()
    output_path=snakemake.output[0],
)
log.info("g_eff rates (Hz): %s", kernel_config["presynaptic_rates_Hz"])
log.info("synapses linearised at %.2f mV", kernel_config["cell"]["Vrest_mV"])
