"""Rule groundtruth_simulate: the downscaled MC network (NEURON/LFPy).

Writes groundtruth/spikes.h5 (lfpflow.signals.spikes layout: senders are indices
within the population) and groundtruth/signals.h5 (LFP, CDM, EEG, MEG of the MC
network, per postsynaptic population under contributions/<post>; the network
description, timings and mean potentials as root attributes).
"""

from pathlib import Path

from lfpflow.logs import log_to
from lfpflow.multicompartment.groundtruth import (
    head_signals,
    linearisation_potentials,
    network_attrs,
    network_spikes,
    simulate_groundtruth,
)
from lfpflow.signals.forward import write_signals
from lfpflow.signals.spikes import write_spikes

log = log_to(snakemake.log[0], "groundtruth_simulate")
config = snakemake.params.config  # validated by lfpflow.config.resolve_config
result = simulate_groundtruth(
    config,
    mechanisms_dir=Path(snakemake.input.mechanisms),
    morphology_dir=Path(snakemake.input.morphologies[0]).parent,
    record_mean_v=True,
)
net = result["network"]
attrs = network_attrs(net)
attrs.update(
    {f"timing_{k}_s": v for k, v in result["timings_s"].items()},
    max_relative_current_sum=result["max_relative_current_sum"],
    # time-averaged (after the transient) potentials: soma per population, and
    # per pathway where the kernel puts its synapses (groundtruth.kernel_vrest)
    mean_soma_potential_mV={
        name: float(part["soma_v_mV"].mean()) for name, part in result["mean_v"].items()
    },
    linearisation_potential_mV=linearisation_potentials(config["kernels"], result["mean_v"]),
)
cells = sum(net["sizes"].values())
log.info(
    "MC network %s (%d cells, %d segments), %s threads: %s; relative current sum <= %.2e",
    net["sizes"],
    cells,
    net["n_segments"],
    net["n_threads"],
    {k: round(v, 2) for k, v in result["timings_s"].items()},
    result["max_relative_current_sum"],
)
log.info(
    "cost: %.3f core-s per cell per simulated s (simulate only, %d threads)",
    result["timings_s"]["simulate"] * net["n_threads"] / cells / (net["tstop_ms"] / 1000),
    net["n_threads"],
)
write_spikes(snakemake.output.spikes, network_spikes(result), config=config)
signals = {"t_ms": result["t_ms"], "LFP": result["LFP"], "CDM": result["CDM"]}
signals.update(head_signals(result["CDM"], config["forward"]))
signals["contributions"] = {}
for name, part in result["contributions"].items():
    head = head_signals(part["CDM"], config["forward"])
    signals["contributions"][name] = {
        **part,
        **{k: v for k, v in head.items() if k in ("EEG", "MEG")},
    }
write_signals(snakemake.output.signals, signals, config=config, z_um=result["z_um"], attrs=attrs)
for name, data in result["spikes"].items():
    log.info("population %s: %d spikes", name, data["times"].size)
log.info(
    "mean potentials (mV): soma %s, synapse-weighted per pathway %s",
    attrs["mean_soma_potential_mV"],
    attrs["linearisation_potential_mV"],
)
