"""Rule inference_batch: simulate one batch of prior draws, write its table."""

import numpy as np

from lfpflow.inference.simulator import simulate_batch, write_batch
from lfpflow.logs import log_to
from lfpflow.signals.kernel_files import load_kernels

log = log_to(snakemake.log[0], "inference_batch")
config = snakemake.params.config
indices = list(snakemake.params.indices)
log.info("%s draws %d..%d", snakemake.wildcards.split, indices[0], indices[-1])
nestml = snakemake.input.nestml
table = simulate_batch(
    config,
    load_kernels(snakemake.input.kernels),
    snakemake.wildcards.split,
    indices,
    nestml_module_dir=nestml[0] if nestml else None,
)
log.info(
    "%d draws, %d valid, %.2f s per draw (simulation and features)",
    len(indices),
    int(np.sum(table["valid"])),
    float(np.mean(table["wall_s"])),
)
write_batch(snakemake.output[0], table, config=config)
