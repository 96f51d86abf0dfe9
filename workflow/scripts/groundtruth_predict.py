"""Rule groundtruth_predict: kernel prediction from the MC network's own spikes.

Population spike counts (lfpflow.signals.rates) convolved with the ground-truth kernels
by lfpflow.signals.forward.compute_signals; writes groundtruth/predicted.h5 with
the network description of groundtruth/signals.h5.
"""

import json

import h5py

from lfpflow.logs import log_to
from lfpflow.signals.analysis import mean_rate_hz
from lfpflow.signals.forward import compute_signals, write_signals
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import population_rates
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "groundtruth_predict")
config = snakemake.params.config  # validated by lfpflow.config.resolve_config
gt = config["groundtruth"]
spikes = read_spikes(snakemake.input.spikes)
with h5py.File(snakemake.input.truth, "r") as truth:
    truth_attrs = dict(truth.attrs)
dt_ms = config["simulation"]["dt_ms"]
t_ms, counts = population_rates(spikes.times_ms, tstop_ms=gt["tstop_ms"], dt_ms=dt_ms)
kernels = load_kernels(snakemake.input.kernels)
forward = config["forward"]
signals = compute_signals(t_ms, counts, kernels, forward["head_model"], forward["meg"])
first = next(iter(kernels.values()))
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
measured_rates_Hz = {
    name: mean_rate_hz(
        times,
        spikes.population_sizes[name],
        t_start_ms=gt["transient_ms"],
        t_stop_ms=gt["tstop_ms"],
    )
    for name, times in spikes.times_ms.items()
}
write_signals(
    snakemake.output[0],
    signals,
    config=config,
    z_um=first["z_um"],
    attrs={
        **{k: truth_attrs[k] for k in keep if k in truth_attrs},
        "measured_rates_Hz": measured_rates_Hz,
        "g_eff_rates": gt["g_eff_rates"],
        "kernel_vrest": gt["kernel_vrest"],
        "kernel_vrest_mV": (
            json.loads(truth_attrs["linearisation_potential_mV"])
            if gt["kernel_vrest"] == "measured"
            else {f"{post}:{pre}": config["kernels"]["cell"]["Vrest_mV"] for post, pre in kernels}
        ),
        "kernel_g_eff": bool(first["attrs"]["g_eff"]),
    },
)
log.info("prediction of %d pathways over %d bins", len(kernels), t_ms.size)
