"""Snakemake script: the kernel of one pathway, wildcards ``post`` and ``pre``.

Writes ``kernels/<post>_<pre>.h5`` (see lfpflow.kernels.write_kernel).
"""

import logging
from pathlib import Path

from lfpflow.kernels import compute_kernel, write_kernel

logging.basicConfig(
    filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
)
post, pre = snakemake.wildcards.post, snakemake.wildcards.pre
try:
    kernel = compute_kernel(
        snakemake.params.kernel_config,
        post=post,
        pre=pre,
        dt_ms=snakemake.params.dt_ms,
        mechanisms_dir=Path(snakemake.input.mechanisms),
        morphology_dir=Path(snakemake.params.morphology_dir),
    )
    write_kernel(snakemake.output[0], kernel, config=snakemake.params.config, post=post, pre=pre)
except Exception:
    logging.exception("kernel %s:%s failed", post, pre)
    raise
