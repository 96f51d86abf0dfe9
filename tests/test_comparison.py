"""lfpflow.signals.comparison: R², std ratio, low-pass filter and quantiles on known signals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lfpflow import io
from lfpflow.config import load_yaml, resolve_config, stage_config
from lfpflow.signals import comparison
from lfpflow.signals.kernel_files import write_kernel
from lfpflow.signals.spikes import NetworkSpikes, write_spikes

REPO = Path(__file__).resolve().parents[1]


def test_signal_against_itself_has_r2_one_and_std_ratio_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4000)).cumsum(axis=1)
    assert np.allclose(comparison.r_squared(x, x), 1.0, rtol=0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, x), 1.0, rtol=0, atol=1e-12)
    # offset and scale do not change R² (shape only) but do change the std ratio
    assert np.allclose(comparison.r_squared(x, 3.0 * x + 7.0), 1.0, atol=1e-12)
    assert np.allclose(comparison.std_ratio(x, 3.0 * x + 7.0), 3.0, atol=1e-12)


@pytest.mark.parametrize("noise_sd", [0.5, 1.0, 2.0])
def test_signal_plus_independent_noise_has_the_expected_r2(noise_sd: float) -> None:
    rng = np.random.default_rng(7)
    n_channels, n_samples, signal_sd = 20, 200_000, 1.0
    x = rng.normal(scale=signal_sd, size=(n_channels, n_samples))
    y = x + rng.normal(scale=noise_sd, size=x.shape)
    expected_r2 = signal_sd**2 / (signal_sd**2 + noise_sd**2)
    expected_ratio = np.sqrt(signal_sd**2 + noise_sd**2) / signal_sd
    r2 = comparison.r_squared(x, y)
    assert np.allclose(r2, expected_r2, atol=0.01)
    assert np.allclose(comparison.std_ratio(x, y), expected_ratio, rtol=0.01)
    summary = comparison.compare_channels(x, y)
    assert summary["median_r2"] == pytest.approx(expected_r2, abs=0.01)
    assert summary["q10_r2"] <= summary["median_r2"] <= summary["q90_r2"]
    assert len(summary["r2"]) == n_channels


def test_anticorrelated_and_independent_signals() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=50_000)
    assert comparison.r_squared(x, -x)[0] == pytest.approx(1.0)
    assert comparison.r_squared(x, rng.normal(size=x.size))[0] < 1e-3


def test_constant_signal_gives_nan_not_an_error() -> None:
    x = np.ones((2, 100))
    y = np.vstack([np.arange(100.0), np.ones(100)])
    assert np.isnan(comparison.r_squared(x, y)).all()
    assert np.isnan(comparison.std_ratio(x, y)).all()
    assert np.isnan(comparison.summarise([np.nan, np.nan])["median"])


def test_lowpass_keeps_slow_and_removes_fast_sinusoids() -> None:
    dt_ms = 0.125
    t_s = np.arange(80_000) * dt_ms / 1000
    slow, fast = np.sin(2 * np.pi * 10 * t_s), np.sin(2 * np.pi * 1000 * t_s)
    filtered = comparison.lowpass(slow + fast, cutoff_Hz=100.0, dt_ms=dt_ms, order=4)
    inner = slice(4000, -4000)
    assert np.max(np.abs(filtered[inner] - slow[inner])) < 1e-3
    with pytest.raises(ValueError, match="cutoff_Hz"):
        comparison.lowpass(slow, cutoff_Hz=5000.0, dt_ms=dt_ms)


def test_compare_signal_drops_the_transient_and_filters() -> None:
    rng = np.random.default_rng(11)
    dt_ms, n = 0.125, 40_000
    x = comparison.lowpass(rng.normal(size=(3, n)), cutoff_Hz=50.0, dt_ms=dt_ms)
    y = x + 0.2 * rng.normal(size=x.shape)  # white noise: mostly above 100 Hz
    y[:, :800] += 100.0  # a wild transient, excluded
    result = comparison.compare_signal(
        x, y, dt_ms=dt_ms, transient_ms=200.0, cutoff_Hz=100.0, order=4
    )
    assert result["filtered"]["median_r2"] > result["median_r2"]
    assert result["filtered"]["median_r2"] > 0.9
    with pytest.raises(ValueError, match="transient"):
        comparison.compare_signal(x, y, dt_ms=dt_ms, transient_ms=1e6, cutoff_Hz=100.0)


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        comparison.r_squared(np.zeros((2, 10)), np.zeros((3, 10)))


def test_compare_all_and_targets() -> None:
    rng = np.random.default_rng(5)
    truth = {
        "LFP": rng.normal(size=(4, 4000)),
        "CDM": rng.normal(size=(3, 4000)),
        "EEG": rng.normal(size=(2, 4000)),
    }
    result = comparison.compare_all(truth, truth, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0)
    assert set(result) == {"LFP", "CDM_z", "EEG"}
    assert len(result["CDM_z"]["r2"]) == 1
    targets = {
        "median_r2_LFP": 0.8,
        "median_r2_CDM_z": 0.9,
        "std_ratio_min": 0.8,
        "std_ratio_max": 1.25,
    }
    assert all(comparison.meets_targets(result, targets).values())
    half = {k: v * 0.5 for k, v in truth.items()}
    met = comparison.meets_targets(
        comparison.compare_all(truth, half, dt_ms=0.125, transient_ms=10.0, cutoff_Hz=100.0),
        targets,
    )
    assert met == {"median_r2_LFP": True, "median_r2_CDM_z": True, "std_ratio": False}


# ---------------------------------------------------------------- ground-truth files


def _groundtruth_config(**groundtruth) -> dict:
    """What the ground-truth rules get: the groundtruth stage view of config/tiny.yaml."""
    config = load_yaml(REPO / "config" / "tiny.yaml")
    config["groundtruth"] = {"scale": 0.5, "tstop_ms": 40.0, "transient_ms": 10.0, **groundtruth}
    return stage_config(resolve_config(config), "groundtruth")


NETWORK_ATTRS = {
    "scale": 0.5,
    "population_sizes": {"E": 4, "I": 2},
    "connection_probability": {"E:E": 0.1},
    "in_degree": {"E:E": 1.0},
    "n_connections": {"E:E": 3},
    "n_synapses": {"E:E": 9},
    "n_threads": 2,
    "mpi_ranks": 1,
    "tstop_ms": 40.0,
    "dt_ms": 0.5,
}


def test_predict_groundtruth_convolves_the_spikes_and_records_the_network(tmp_path) -> None:
    config = _groundtruth_config(kernel_vrest="measured", g_eff_rates="measured")
    dt_ms = config["simulation"]["dt_ms"]
    spikes = NetworkSpikes(
        times_ms={"E": np.array([5.0, 12.0, 20.0, 30.0]), "I": np.array([25.0])},
        senders={"E": np.array([0, 1, 2, 3]), "I": np.array([1])},
        population_sizes={"E": 4, "I": 2},
        tstop_ms=40.0,
        dt_ms=dt_ms,
        n_vp=2,
    )
    write_spikes(tmp_path / "spikes.h5", spikes, config=config)
    potentials = {"E:E": -60.0, "E:I": -61.0, "I:E": -62.0, "I:I": -63.0}
    attrs = dict(NETWORK_ATTRS, dt_ms=dt_ms, linearisation_potential_mV=potentials)
    io.write_h5(tmp_path / "truth.h5", {"t_ms": io.Dataset(np.zeros(1), "ms")}, attrs=attrs)
    assert comparison.read_linearisation_potentials(tmp_path / "truth.h5") == potentials
    # kernels: 1 mV on contact 0 at lag 0 for E -> E, 10 mV for I -> E, nothing else
    n_contacts, lags = 3, np.array([-dt_ms, 0.0, dt_ms])
    paths = []
    for post, pre in (("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")):
        lfp = np.zeros((n_contacts, 3))
        lfp[0, 1] = {("E", "E"): 1.0, ("E", "I"): 10.0}.get((post, pre), 0.0)
        kernel = {"LFP": lfp, "CDM": np.zeros((3, 3)), "tau_ms": lags, "z_um": np.arange(3.0)}
        paths.append(tmp_path / f"{post}_{pre}.h5")
        write_kernel(paths[-1], kernel, config=config, post=post, pre=pre)

    summary = comparison.predict_groundtruth(
        config,
        spikes_path=tmp_path / "spikes.h5",
        truth_path=tmp_path / "truth.h5",
        kernel_paths=paths,
        output_path=tmp_path / "predicted.h5",
    )
    # after the 10 ms transient: 3 E spikes / 4 cells / 0.03 s, 1 I spike / 2 cells / 0.03 s
    assert summary["measured_rates_Hz"] == pytest.approx({"E": 25.0, "I": 50 / 3})
    assert summary["n_pathways"] == 4 and summary["n_bins"] == round(40.0 / dt_ms)
    predicted = io.read_h5(tmp_path / "predicted.h5")
    lfp = predicted["LFP"]
    assert lfp.shape == (n_contacts, round(40.0 / dt_ms))
    assert lfp[0].sum() == pytest.approx(4 * 1.0 + 1 * 10.0)  # every spike once
    assert not lfp[1:].any()
    assert predicted["contributions"]["E_I"]["LFP"][0].max() == pytest.approx(10.0)
    out = predicted["attrs"]
    assert json.loads(out["measured_rates_Hz"]) == pytest.approx(summary["measured_rates_Hz"])
    assert json.loads(out["kernel_vrest_mV"]) == potentials
    assert json.loads(out["population_sizes"]) == {"E": 4, "I": 2}
    assert "n_connections" not in out  # only the description the prediction shares


def _signals(rng: np.random.Generator, n: int) -> dict:
    return {
        "LFP": rng.normal(size=(4, n)),
        "CDM": rng.normal(size=(3, n)),
        "EEG": rng.normal(size=(2, n)),
    }


def test_groundtruth_comparison_per_population_sums_the_pathways() -> None:
    config = _groundtruth_config()
    rng = np.random.default_rng(3)
    n = 4000
    parts = {key: _signals(rng, n + 10) for key in ("E_E", "E_I", "I_E", "I_I")}
    # ground truth of E: the sum of its two predicted pathways, I: twice the sum
    truth_parts = {
        "E": {m: (parts["E_E"][m] + parts["E_I"][m])[:, :n] for m in ("LFP", "CDM", "EEG")},
        "I": {m: 2 * (parts["I_E"][m] + parts["I_I"][m])[:, :n] for m in ("LFP", "CDM", "EEG")},
    }
    total = {m: truth_parts["E"][m] + truth_parts["I"][m] for m in ("LFP", "CDM", "EEG")}
    truth_attrs = {
        **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in NETWORK_ATTRS.items()},
        "timing_build_s": 1.5,
        "max_relative_current_sum": 1e-12,
        "mean_soma_potential_mV": json.dumps({"E": -61.0, "I": -60.0}),
        "linearisation_potential_mV": json.dumps({"E:E": -58.0}),
    }
    truth = {**total, "contributions": truth_parts, "attrs": truth_attrs}
    predicted = {
        **{m: sum(p[m] for p in parts.values()) for m in ("LFP", "CDM", "EEG")},
        "contributions": parts,
        "attrs": {
            "measured_rates_Hz": json.dumps({"E": 5.0}),
            "kernel_vrest": "measured",
            "kernel_vrest_mV": json.dumps({"E:E": -58.0}),
        },
    }
    result = comparison.groundtruth_comparison(truth, predicted, config)
    population_E, population_I = result["populations"]["E"], result["populations"]["I"]
    assert population_E["pathways"] == ["E_E", "E_I"]
    assert population_E["LFP"]["median_r2"] == pytest.approx(1.0)
    assert population_E["CDM_z"]["median_std_ratio"] == pytest.approx(1.0)
    assert population_I["LFP"]["median_r2"] == pytest.approx(1.0)
    assert population_I["EEG"]["median_std_ratio"] == pytest.approx(0.5)
    assert len(result["LFP"]["r2"]) == 4 and result["LFP"]["median_r2"] < 1.0
    network = result["network"]
    assert network["population_sizes"] == {"E": 4, "I": 2}  # JSON decoded
    assert network["timings_s"] == {"build": 1.5}
    assert network["measured_rates_Hz"] == {"E": 5.0}
    assert network["kernel_vrest_mV"] == network["linearisation_potential_mV"]
    assert result["settings"]["transient_ms"] == 10.0
    assert set(result["meets_targets"]) == {"median_r2_LFP", "median_r2_CDM_z", "std_ratio"}
    assert "provenance" in result and "notes" in result
