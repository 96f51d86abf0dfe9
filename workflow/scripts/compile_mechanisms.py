"""Rule compile_mechanisms: compile mod/*.mod with nrnivmodl into the output folder.

Expects ``snakemake.input`` to be the ``.mod`` files (or their folder) and
``snakemake.output[0]`` the mechanisms folder (a ``directory()`` output).
"""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.multicompartment.cells import compile_mechanisms

log = log_to(snakemake.log[0], "compile_mechanisms")
first_input = Path(snakemake.input[0])
mod_dir = first_input if first_input.is_dir() else first_input.parent
compile_mechanisms(mod_dir, Path(snakemake.output[0]))
log.info("compiled %s into %s", mod_dir, snakemake.output[0])
