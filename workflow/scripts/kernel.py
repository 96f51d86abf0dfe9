"""Rule kernel: the kernel of one pathway, wildcards ``post`` and ``pre``.

Writes ``kernels/<post>_<pre>.h5`` (see lfpflow.signals.kernel_files.write_kernel).
"""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.multicompartment.kernels import compute_kernel
from lfpflow.signals.kernel_files import write_kernel

post, pre = snakemake.wildcards.post, snakemake.wildcards.pre
log = log_to(snakemake.log[0], f"kernel_{post}_{pre}")
kernel = compute_kernel(
    snakemake.params.kernel_config,
    post=post,
    pre=pre,
    dt_ms=snakemake.params.dt_ms,
    mechanisms_dir=Path(snakemake.input.mechanisms),
    morphology_dir=Path(snakemake.params.morphology_dir),  # morphology_dir()
)
write_kernel(snakemake.output[0], kernel, config=snakemake.params.config, post=post, pre=pre)
log.info("kernel %s:%s: %d lags", post, pre, kernel["lags_ms"].size)
