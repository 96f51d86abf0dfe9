"""Rule summary: rates, CV of ISI, spectral peaks and stage timings -> summary.json."""

from pathlib import Path

from lfpflow import io
from lfpflow.logs import log_to
from lfpflow.signals.analysis import summarise
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "summary")
config = snakemake.params.config
signals = io.read_h5(snakemake.input.signals)
units = {
    name: signals["units"][name] for name in ("LFP", "CSD", "CDM", "EEG", "MEG") if name in signals
}
benchmarks = {Path(path).stem: path for path in snakemake.input.benchmarks}
summary = summarise(
    spikes=read_spikes(snakemake.input.spikes),
    signals=signals,
    signal_units=units,
    config=config,
    benchmarks=benchmarks,
)
summary["kernels_dir"] = snakemake.params.kernels_dir
summary["provenance"] = io.provenance(config)
io.write_json(snakemake.output[0], summary)
log.info("rates: %s", {k: round(v["mean_rate_Hz"], 3) for k, v in summary["populations"].items()})
