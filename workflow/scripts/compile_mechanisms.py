"""Snakemake script: compile mod/*.mod with nrnivmodl into the output folder.

Expects ``snakemake.input`` to be the ``.mod`` files (or their folder) and
``snakemake.output[0]`` the mechanisms folder (a ``directory()`` output).
"""

import logging
from pathlib import Path

from lfpflow.kernels import compile_mechanisms

logging.basicConfig(
    filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
)
first_input = Path(snakemake.input[0])
mod_dir = first_input if first_input.is_dir() else first_input.parent
try:
    compile_mechanisms(mod_dir, Path(snakemake.output[0]))
except Exception:
    logging.exception("compiling mechanisms failed")
    raise
