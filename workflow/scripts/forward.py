"""Rule forward: rates convolved with kernels -> LFP, CSD, CDM, EEG (MEG) in signals.h5."""

from lfpflow.formats.heads import sensor_maps
from lfpflow.logs import log_to
from lfpflow.signals.forward import compute_signals, write_signals
from lfpflow.signals.kernel_files import load_kernels
from lfpflow.signals.rates import full_column_counts, read_rates

log = log_to(snakemake.log[0], "forward")
config = snakemake.params.config
t_ms, counts, dt_ms = read_rates(snakemake.input.rates)
# kernels describe the full-size column: a downscaled network's counts are upscaled
scale = float(config["network"].get("scale", 1.0))
counts = full_column_counts(counts, scale) if scale != 1.0 else counts
kernels = load_kernels(snakemake.input.kernels)
forward = config["forward"]
# the head model with what MNE reads (a named montage, a forward solution) read here
maps = sensor_maps(forward["head_model"], forward["meg"])
signals = compute_signals(t_ms, counts, kernels, maps, dt_ms=dt_ms)
first = next(iter(kernels.values()))
csd_units = first.get("units", {}).get("CSD", "nA/um^3")
write_signals(
    snakemake.output[0],
    signals,
    config=config,
    z_um=first["z_um"],
    csd_units=csd_units,
    kernels_dir=snakemake.params.kernels_dir,
    attrs={"rates_upscaled_by": 1.0 / scale},
)
head = signals["head_attrs"]
log.info("signals of %d pathways over %d bins written", len(kernels), t_ms.size)
log.info(
    "head model %s; column %s, axis %s (head frame); %d EEG electrodes, %d MEG sensors",
    head["head_model"],
    head["column_placement"],
    [round(float(v), 3) for v in head["column_axis"]],
    len(signals["electrodes_um"]),
    len(signals.get("meg_sensors_um", [])),
)
