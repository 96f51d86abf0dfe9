"""Rule figures: raster, kernels, laminar LFP, CSD, CDM, EEG and spectra (PNG)."""

from pathlib import Path

from lfpflow import io
from lfpflow.figures import signals as plotting
from lfpflow.logs import log_to
from lfpflow.multicompartment.kernels import load_kernels
from lfpflow.signals.rates import read_rates
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "figures")
config = snakemake.params.config
window = config["analysis"]["raster_window_ms"]
outputs = {Path(path).stem: path for path in snakemake.output}
spikes = read_spikes(snakemake.input.spikes)
t_ms, counts, dt_ms = read_rates(snakemake.input.rates)
signals = io.read_h5(snakemake.input.signals)
figures = {
    "raster_rates": lambda: plotting.raster_and_rates(spikes, t_ms, counts, window_ms=window),
    "kernels": lambda: plotting.kernels_figure(load_kernels(snakemake.input.kernels)),
    "laminar_lfp": lambda: plotting.laminar_lfp(
        signals["t_ms"], signals["LFP"], signals["z_um"], window_ms=window
    ),
    "csd": lambda: plotting.csd_figure(
        signals["t_ms"], signals["CSD"], signals["z_um"], signals["units"]["CSD"], window_ms=window
    ),
    "cdm": lambda: plotting.cdm_figure(signals["t_ms"], signals["CDM"], window_ms=window),
    "eeg": lambda: plotting.eeg_figure(
        signals["t_ms"],
        signals["EEG"],
        config["forward"]["head_model"]["electrode_polar_angles_deg"],
        window_ms=window,
    ),
    "meg": lambda: plotting.meg_figure(
        signals["t_ms"],
        signals["MEG"],
        config["forward"]["meg"]["sensor_polar_angles_deg"],
        window_ms=window,
    ),
    "spectra": lambda: plotting.spectra_figure(
        signals,
        signals["units"],
        dt_ms=config["simulation"]["dt_ms"],
        t_start_ms=config["simulation"]["transient_ms"],
        nperseg=config["analysis"]["psd_nperseg"],
        fmax_Hz=config["analysis"]["psd_fmax_Hz"],
    ),
}
for name, path in outputs.items():
    plotting.save_figure(figures[name](), path)
    log.info("wrote %s", path)
