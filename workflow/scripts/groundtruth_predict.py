"""Rule groundtruth_predict: kernel prediction from the MC network's own spikes.

Population spike counts (lfpflow.signals.rates) convolved with the ground-truth kernels
by lfpflow.signals.forward.compute_signals; writes groundtruth/predicted.h5.
"""

import json

from lfpflow.logs import log_to
from lfpflow.multicompartment.groundtruth import (
    check_groundtruth_config,
    mean_rates_Hz,
    read_spikes_file,
    write_signals_file,
)
from lfpflow.multicompartment.kernels import load_kernels
from lfpflow.signals.forward import compute_signals
from lfpflow.signals.rates import population_rates

log = log_to(snakemake.log[0], "groundtruth_predict")
config = snakemake.params.config
check_groundtruth_config(config)
spikes, attrs = read_spikes_file(snakemake.input.spikes)
dt_ms = config["simulation"]["dt_ms"]
t_ms, counts = population_rates(spikes, tstop_ms=config["groundtruth"]["tstop_ms"], dt_ms=dt_ms)
kernels = load_kernels(snakemake.input.kernels)
forward = config["forward"]
signals = compute_signals(t_ms, counts, kernels, forward["head_model"], forward["meg"])
first = next(iter(kernels.values()))
names = {key: f"{key[0]}_{key[1]}" for key in signals["contributions"]}
keep = (
    "scale",
    "population_sizes",
    "connection_probability",
    "in_degree",
    "n_threads",
    "mpi_ranks",
    "tstop_ms",
    "dt_ms",
)
write_signals_file(
    snakemake.output[0],
    signals,
    config=config,
    z_um=first["z_um"],
    attrs={
        **{k: attrs[k] for k in keep if k in attrs},
        "measured_rates_Hz": mean_rates_Hz(
            {name: {"times": times} for name, times in spikes.items()},
            json.loads(attrs["population_sizes"]),
            t_start_ms=config["groundtruth"]["transient_ms"],
            t_stop_ms=config["groundtruth"]["tstop_ms"],
        ),
        "g_eff_rates": config["groundtruth"]["g_eff_rates"],
        "kernel_vrest": config["groundtruth"]["kernel_vrest"],
        "kernel_vrest_mV": (
            json.loads(attrs["linearisation_potential_mV"])
            if config["groundtruth"]["kernel_vrest"] == "measured"
            else {f"{post}:{pre}": config["kernels"]["cell"]["Vrest_mV"] for post, pre in kernels}
        ),
        "kernel_g_eff": bool(first["attrs"]["g_eff"]),
        "pathways": [f"{post}:{pre}" for post, pre in signals["contributions"]],
    },
    contribution_names=names,
)
log.info("prediction of %d pathways over %d bins", len(kernels), t_ms.size)
