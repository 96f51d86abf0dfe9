"""Rule inference_observation: read (or simulate) the observation, write its features."""

from lfpflow.inference.observation import (
    read_observation,
    simulated_observation,
    write_observation,
)
from lfpflow.inference.simulator import features_of
from lfpflow.logs import log_to
from lfpflow.signals.kernel_files import load_kernels

log = log_to(snakemake.log[0], "inference_observation")
config = snakemake.params.config
if "file" in snakemake.input.keys():
    observation = read_observation(snakemake.input.file, config["inference"])
else:
    nestml = snakemake.input.nestml
    observation = simulated_observation(
        config,
        load_kernels(snakemake.input.kernels),
        nestml_module_dir=nestml[0] if nestml else None,
    )
    log.info(
        "simulated at %s",
        dict(zip(config["inference"]["parameters"], observation["truth"], strict=True)),
    )
observation["features"] = features_of(observation["values"], observation["rate_Hz"], config)
log.info(
    "%s: %d channels x %d samples at %g Hz",
    observation["source"],
    *observation["values"].shape,
    observation["rate_Hz"],
)
write_observation(snakemake.output[0], observation, config=config)
