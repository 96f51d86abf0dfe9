"""Sweep points, labels, kernel sharing and the sweep table (no simulator)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from lfpflow.config import ConfigError, stage_config
from lfpflow.config.scopes import kernel_hash
from lfpflow.figures.signals import sweep_figure
from lfpflow.resolve import resolve_config
from lfpflow.signals.analysis import power_spectrum, spectral_summary
from lfpflow.sweep import (
    format_value,
    parameter_names,
    point_label,
    summary_row,
    sweep_points,
    write_run_config,
    write_summary_csv,
)


def _with_sweep(config: dict, sweep: dict) -> dict:
    config = {key: value for key, value in config.items() if key != "sweep"}
    config["sweep"] = sweep
    return resolve_config(config)


def test_a_3x3_sweep_has_nine_points_with_one_kernel_configuration(tiny_config):
    config = _with_sweep(tiny_config, {"network.drive.nu_ext_Hz": [30, 40, 50], "seed": [1, 2, 3]})
    points = sweep_points(config, resolve_config)
    assert len(points) == 9
    assert len({point.run_id for point in points}) == 9
    assert {kernel_hash(point.config) for point in points} == {kernel_hash(config)}
    # every point is the base configuration with its values set
    first = points[0]
    assert first.parameters == {"network.drive.nu_ext_Hz": 30, "seed": 1}
    assert first.config["network"]["drive"]["nu_ext_Hz"] == 30
    assert first.config["seed"] == 1
    assert first.config["sweep"] == {}  # a point is a single run
    assert first.run_id.startswith("tiny/nu_ext_Hz-30_seed-1-")
    assert len(first.run_id.rsplit("-", 1)[1]) == 8


def test_resolve_runs_resolves_each_point_once_and_returns_the_points(tiny_config, monkeypatch):
    """The workflow's parse step gets the points with the configuration (not a second pass)."""
    import lfpflow.resolve as resolve

    overlay = {key: value for key, value in tiny_config.items() if key != "sweep"}
    overlay["sweep"] = {"seed": [1, 2, 3]}
    calls = []
    original = resolve.resolve_config
    monkeypatch.setattr(resolve, "resolve_config", lambda c: calls.append(1) or original(c))
    config, points = resolve.resolve_runs(overlay)
    assert len(calls) == 3  # one per point, none for the base
    assert [point.parameters["seed"] for point in points] == [1, 2, 3]
    assert points == sweep_points(config, original)
    common = (Path(__file__).parents[1] / "workflow" / "rules" / "common.smk").read_text()
    assert "resolve_runs(config)" in common and "sweep_points(" not in common


def test_sweeping_a_kernel_parameter_gives_one_kernel_configuration_per_value(tiny_config):
    config = _with_sweep(tiny_config, {"kernels.g_eff": [True, False], "seed": [1, 2]})
    points = sweep_points(config, resolve_config)
    assert len({kernel_hash(point.config) for point in points}) == 2
    by_g_eff = {}
    for point in points:
        by_g_eff.setdefault(point.parameters["kernels.g_eff"], set()).add(kernel_hash(point.config))
    assert all(len(hashes) == 1 for hashes in by_g_eff.values())


def test_sweeping_a_population_size_changes_the_kernels_and_their_out_degree(tiny_config):
    config = _with_sweep(tiny_config, {"populations.E.size": [300, 400, 500]})
    points = sweep_points(config, resolve_config)
    assert len({kernel_hash(point.config) for point in points}) == 3
    sizes = [
        stage_config(point.config, "kernels")["kernels"]["populations"]["E"]["size"]
        for point in points
    ]
    assert sizes == [300, 400, 500]
    assert kernel_hash(points[1].config) == kernel_hash(tiny_config)  # 400 is tiny's size


def test_text_values_from_the_command_line_are_read_as_yaml(tiny_config):
    # snakemake --config 'sweep={seed: [1, 2]}' hands the values over as text
    config = _with_sweep(tiny_config, {"seed": ["1", "2"], "network.drive.nu_ext_Hz": ["35.5"]})
    points = sweep_points(config, resolve_config)
    assert [point.config["seed"] for point in points] == [1, 2]
    assert points[0].config["network"]["drive"]["nu_ext_Hz"] == 35.5


def test_list_items_are_addressed_by_index(tiny_config):
    config = _with_sweep(
        tiny_config,
        {"network.connections.0.weight_pA": [1.0, 2.0], "network.connections.1.weight_pA": [3.0]},
    )
    points = sweep_points(config, resolve_config)
    assert [p.config["network"]["connections"][0]["weight_pA"] for p in points] == [1.0, 2.0]
    assert points[0].config["network"]["connections"][1]["weight_pA"] == 3.0
    # the same leaf name twice: the labels keep the index to tell them apart
    assert points[0].label == "0.weight_pA-1_1.weight_pA-3"


@pytest.mark.parametrize(
    "sweep, message",
    [
        ({"network.drive.nu_ext": [30]}, "sweep.network.drive.nu_ext"),
        ({"network.drive.nu_ext": [30]}, "nu_ext_Hz"),  # names what is allowed
        ({"v1.seed": [1, 2]}, "allowed sections: seed, simulation"),
        ({"forward.meg.enabled": [True, False]}, "sweep.forward.meg.enabled"),
        ({"kernels.probes.csd": [False]}, "sweep.kernels.probes.csd"),
        ({"seed": [1, 1.0]}, "values repeat"),
        ({"network.connections.9.p": [0.1]}, "an index 0..3"),
    ],
)
def test_a_bad_sweep_is_refused_naming_the_key(tiny_config, sweep, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        _with_sweep(tiny_config, sweep)


def test_a_value_invalid_at_one_point_is_refused_naming_the_point(tiny_config):
    with pytest.raises(
        ConfigError, match=r"(?s)sweep point tstop_ms-50: .*simulation\.transient_ms"
    ):
        _with_sweep(tiny_config, {"simulation.tstop_ms": [500.0, 50.0]})


def test_a_run_name_lfpflow_uses_itself_is_refused(tiny_config):
    tiny_config["run_name"] = "kernels"
    with pytest.raises(ConfigError, match="run_name"):
        resolve_config(tiny_config)


def test_labels_are_short_folder_safe_and_unique():
    assert format_value(30.0) == "30"
    assert format_value(0.125) == "0.125"
    assert format_value(True) == "true"
    assert format_value([1, 2.5]) == "1+2.5"
    assert format_value("a b/c") == "a_b_c"
    assert parameter_names(["network.drive.nu_ext_Hz", "seed"]) == {
        "network.drive.nu_ext_Hz": "nu_ext_Hz",
        "seed": "seed",
    }
    assert point_label({"network.drive.nu_ext_Hz": 40.0, "seed": 3}) == "nu_ext_Hz-40_seed-3"


def test_band_power_integrates_the_spectrum_of_a_sine():
    dt_ms, n = 0.5, 8000
    t_s = np.arange(n) * dt_ms * 1e-3
    amplitude = 3.0
    values = amplitude * np.sin(2 * np.pi * 20.0 * t_s)[None, :]
    freqs, psd = power_spectrum(values, dt_ms=dt_ms, nperseg=2000)
    bands = {"gamma": [30.0, 100.0], "beta": [13.0, 30.0], "narrow": [20.1, 20.2]}
    summary = spectral_summary(
        freqs, psd, fmax_Hz=500.0, channel_names=["a"], bands_Hz=bands, band_min_bins=3
    )
    # ordered by frequency; the 20 Hz sine's power A^2/2 is all in beta
    assert list(summary["band_power"]) == ["beta", "narrow", "gamma"]
    assert summary["band_power"]["beta"][0] == pytest.approx(amplitude**2 / 2, rel=0.02)
    assert summary["band_power"]["gamma"][0] < 1e-3 * amplitude**2
    # narrower than the 1 Hz resolution: no estimate rather than zero
    assert summary["band_power"]["narrow"] == [None]
    assert summary["mean_peak_frequency_Hz"] == pytest.approx(20.0)
    assert summary["frequency_resolution_Hz"] == pytest.approx(1.0)


def test_a_band_of_fewer_bins_than_required_is_null_with_the_reason():
    dt_ms, n = 0.0625, 28800  # the default 1.8 s analysis window
    values = np.random.default_rng(3).normal(size=(2, n))
    freqs, psd = power_spectrum(values, dt_ms=dt_ms, nperseg=4096)  # 3.9 Hz bins
    bands = {"delta": [1.0, 4.0], "theta": [4.0, 8.0], "beta": [13.0, 30.0]}
    summary = spectral_summary(
        freqs, psd, fmax_Hz=500.0, channel_names=["a", "b"], bands_Hz=bands, band_min_bins=3
    )
    assert summary["frequency_resolution_Hz"] == pytest.approx(1000 / (4096 * dt_ms))
    assert summary["band_bins"] == {"delta": 1, "theta": 1, "beta": 4}
    assert summary["band_power"]["delta"] == [None, None]
    assert summary["band_power"]["theta"] == [None, None]
    assert "1 frequency bin(s) of 3.91 Hz in [4, 8) Hz" in summary["bands_not_resolved"]["theta"]
    assert all(value > 0 for value in summary["band_power"]["beta"])
    assert set(summary["bands_not_resolved"]) == {"delta", "theta"}


def test_the_default_spectrum_resolves_every_default_band():
    config = resolve_config({})
    analysis, sim = config["analysis"], config["simulation"]
    n_window = round((sim["tstop_ms"] - sim["transient_ms"]) / sim["dt_ms"])
    freqs, _ = power_spectrum(
        np.zeros((1, n_window)), dt_ms=sim["dt_ms"], nperseg=analysis["psd_nperseg"]
    )
    for name, (low, high) in analysis["bands_Hz"].items():
        n_bins = np.count_nonzero((freqs >= low) & (freqs < high))
        assert n_bins >= analysis["band_min_bins"], (name, n_bins)


def _fake_summary(rate_e: float, lfp_power: float) -> dict:
    return {
        "populations": {
            "E": {"mean_rate_Hz": rate_e, "cv_isi": 0.5, "kernel_rate_relative_difference": 0.1},
            "I": {"mean_rate_Hz": 2 * rate_e, "cv_isi": float("nan")},
        },
        "warnings": ["population E fires at 3 Hz", "other"] if rate_e > 1.5 else [],
        "signals": {
            "LFP": {
                "power_units": "(mV)^2",
                "frequency_resolution_Hz": 0.977,
                "band_power": {"beta": [lfp_power, 3 * lfp_power], "delta": [None, None]},
                "mean_peak_frequency_Hz": 25.0,
            },
            "EEG": {
                "power_units": "(uV)^2",
                "frequency_resolution_Hz": 0.977,
                "band_power": {"beta": [1.0]},
                "mean_peak_frequency_Hz": None,
            },
        },
    }


def test_sweep_table_round_trips_through_csv(tmp_path):
    parameters = [
        {"network.drive.nu_ext_Hz": 30.0, "seed": 1},
        {"network.drive.nu_ext_Hz": 40.0, "seed": 1},
    ]
    rows = [
        summary_row(f"s/p{index}", point, _fake_summary(1.0 + index, 2.0))
        for index, point in enumerate(parameters)
    ]
    # mean over channels; a band without estimate stays empty
    assert rows[0]["LFP_power_beta_mV2"] == pytest.approx(4.0)
    assert rows[0]["LFP_power_delta_mV2"] is None
    assert rows[1]["rate_I_Hz"] == pytest.approx(4.0)
    path = tmp_path / "summary.csv"
    write_summary_csv(path, rows)
    with open(path) as handle:
        read = list(csv.DictReader(handle))
    assert [row["run"] for row in read] == ["s/p0", "s/p1"]
    assert [float(row["network.drive.nu_ext_Hz"]) for row in read] == [30.0, 40.0]
    assert float(read[1]["rate_E_Hz"]) == 2.0
    assert math.isnan(float(read[0]["cv_isi_I"]))
    assert read[0]["LFP_power_delta_mV2"] == "" and read[0]["EEG_peak_Hz"] == ""
    assert float(read[0]["EEG_power_beta_uV2"]) == 1.0
    assert float(read[0]["LFP_frequency_resolution_Hz"]) == 0.977
    assert float(read[0]["kernel_rate_difference_E"]) == 0.1
    assert [row["warnings"] for row in read] == ["", "population E fires at 3 Hz; other"]
    figure = sweep_figure(rows, list(parameters[0]))
    titles = {axis.get_title() for axis in figure.axes if axis.get_visible()}
    assert "rate_E_Hz" in titles and "LFP_power_beta_mV2" in titles
    assert "LFP_power_delta_mV2" not in titles  # nothing to show


def test_run_config_is_a_complete_configuration_and_links_the_kernels(tmp_path, tiny_config):
    kernels = tmp_path / "results" / "kernels" / "0123456789ab"
    kernels.mkdir(parents=True)
    (kernels / "E_E.h5").write_bytes(b"kernel")
    path = tmp_path / "results" / "tiny" / "config.yaml"
    write_run_config(path, tiny_config, kernels_dir=str(kernels))
    assert resolve_config(yaml.safe_load(path.read_text())) == tiny_config
    link = path.parent / "kernels"
    assert link.is_symlink() and not link.readlink().is_absolute()
    assert (link / "E_E.h5").read_bytes() == b"kernel"
    # writing again (e.g. after a kernel change) replaces the link
    other = kernels.parent / "ba9876543210"
    other.mkdir()
    write_run_config(path, tiny_config, kernels_dir=str(other))
    assert link.resolve() == other.resolve()
