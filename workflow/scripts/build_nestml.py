"""Rule build_nestml: generate and compile nestml/*.nestml into one NEST module.

``snakemake.input``: the ``.nestml`` files; ``snakemake.output[0]``: the module
folder (a ``directory()`` output, e.g. ``build/nestml``); the NESTML/CMake
output stays in ``<output>/build.log``, this log gets a summary.
"""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.pointneuron.nestml_build import build_nest_module

log = log_to(snakemake.log[0], "build_nestml")
model_files = [Path(path) for path in snakemake.input]
log.info("building %s", ", ".join(path.name for path in model_files))
try:
    library = build_nest_module(model_files, Path(snakemake.output[0]))
except Exception:
    log.exception("building the NESTML module failed")
    raise
log.info("module library: %s", library)
