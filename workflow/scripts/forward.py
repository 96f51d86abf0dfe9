"""Rule forward: rates convolved with kernels -> LFP, CSD, CDM, EEG in signals.h5."""

from lfpflow.logs import log_to
from lfpflow.signals.forward import compute_signals, write_signals
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import read_rates

log = log_to(snakemake.log[0], "forward")
config = snakemake.params.config
t_ms, counts, dt_ms = read_rates(snakemake.input.rates)
kernels = load_kernels(snakemake.input.kernels)
forward = config["forward"]
signals = compute_signals(t_ms, counts, kernels, forward["head_model"], forward["meg"], dt_ms=dt_ms)
first = next(iter(kernels.values()))
csd_units = first.get("units", {}).get("CSD", "nA/um^3")
write_signals(
    snakemake.output[0],
    signals,
    config=config,
    z_um=first["z_um"],
    csd_units=csd_units,
    kernels_dir=snakemake.params.kernels_dir,
)
log.info("signals of %d pathways over %d bins written", len(kernels), t_ms.size)
