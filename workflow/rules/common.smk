# Configuration: validated against workflow/schemas/*.schema.yaml with defaults
# filled in, before any rule runs. A --configfile replaces config/config.yaml
# (it is a complete description of a run); --config KEY=VALUE overrides keys.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from lfpflow.config import ConfigError, kernel_pathways, resolve_config, stage_config
from lfpflow.neurons import uses_nestml


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


try:
    _resolved = resolve_config(config, schema_dir=Path(workflow.basedir) / "workflow" / "schemas")
except ConfigError as error:
    sys.exit(f"lfpflow: {error}")
config.clear()
config.update(_resolved)

RUN = f"results/{config['run_name']}"
LOGS = f"logs/{config['run_name']}"
BENCHMARKS = f"benchmarks/{config['run_name']}"
PATHWAYS = kernel_pathways(config)
POPULATIONS = list(config["network"]["populations"])
# our NESTML models (Izhikevich 2007) are compiled into build/nestml first
NETWORK_NEEDS_NESTML = uses_nestml(
    [p["model"] for p in config["network"]["populations"].values()]
)


wildcard_constraints:
    post="[A-Za-z][A-Za-z0-9]*",
    pre="[A-Za-z][A-Za-z0-9]*",


def kernel_files(run_dir=RUN):
    return [f"{run_dir}/kernels/{post}_{pre}.h5" for post, pre in PATHWAYS]
