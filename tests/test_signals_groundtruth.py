"""lfpflow.signals.groundtruth: the kernel prediction of the MC network and its comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lfpflow import io
from lfpflow.config import load_yaml, stage_config
from lfpflow.formats.heads import sensor_maps
from lfpflow.resolve import resolve_config
from lfpflow.signals import groundtruth
from lfpflow.signals.kernel_files import write_kernel
from lfpflow.signals.spikes import NetworkSpikes, write_spikes

REPO = Path(__file__).resolve().parents[1]


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
    assert groundtruth.read_linearisation_potentials(tmp_path / "truth.h5") == potentials
    # kernels: 1 mV on contact 0 at lag 0 for E -> E, 10 mV for I -> E, nothing else
    # (lags +-10 ms, so that write_kernel's truncation check sees a decayed kernel)
    half = round(10.0 / dt_ms)
    n_contacts, lags = 3, np.arange(-half, half + 1) * dt_ms
    paths = []
    for post, pre in (("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")):
        lfp = np.zeros((n_contacts, lags.size))
        lfp[0, half] = {("E", "E"): 1.0, ("E", "I"): 10.0}.get((post, pre), 0.0)
        kernel = {
            "LFP": lfp,
            "CDM": np.zeros((3, lags.size)),
            "lags_ms": lags,
            "z_um": np.arange(3.0),
        }
        paths.append(tmp_path / f"{post}_{pre}.h5")
        write_kernel(paths[-1], kernel, config=config, post=post, pre=pre)

    summary = groundtruth.predict_groundtruth(
        config,
        spikes_path=tmp_path / "spikes.h5",
        truth_path=tmp_path / "truth.h5",
        kernel_paths=paths,
        output_path=tmp_path / "predicted.h5",
        sensors=sensor_maps(config["forward"]["head_model"], config["forward"]["meg"]),
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
    result = groundtruth.groundtruth_comparison(truth, predicted, config)
    population_E, population_I = result["populations"]["E"], result["populations"]["I"]
    assert population_E["pathways"] == ["E_E", "E_I"]
    assert population_E["LFP"]["median_r2"] == pytest.approx(1.0)
    assert population_E["CDM_z"]["median_std_ratio"] == pytest.approx(1.0)
    # I: the prediction is half the truth. R² (coefficient of determination)
    # 1 - (1 - 0.5)^2 = 0.75; the correlation and its square do not see the scale
    assert population_I["LFP"]["median_r2"] == pytest.approx(0.75)
    assert population_I["LFP"]["median_correlation"] == pytest.approx(1.0)
    assert population_I["LFP"]["median_squared_correlation"] == pytest.approx(1.0)
    assert population_I["EEG"]["median_std_ratio"] == pytest.approx(0.5)
    assert population_I["CDM_z"]["filtered"]["r2"] == pytest.approx([0.75])
    assert len(result["LFP"]["r2"]) == 4 and result["LFP"]["median_r2"] < 1.0
    for name in ("r2", "correlation", "squared_correlation", "std_ratio"):
        for stat in ("", "median_", "q10_", "q90_"):
            assert f"{stat}{name}" in result["CDM_z"]["filtered"], (stat, name)
    network = result["network"]
    assert network["population_sizes"] == {"E": 4, "I": 2}  # JSON decoded
    assert network["timings_s"] == {"build": 1.5}
    assert network["measured_rates_Hz"] == {"E": 5.0}
    assert network["kernel_vrest_mV"] == network["linearisation_potential_mV"]
    assert result["settings"]["transient_ms"] == 10.0
    assert set(result["meets_targets"]) == {"median_r2_LFP", "median_r2_CDM_z", "std_ratio"}
    assert "provenance" in result and "notes" in result
    assert "coefficient of determination" in result["notes"]


def test_sign_flipped_prediction_fails_the_groundtruth_targets() -> None:
    # before issue 13 "r2" was the squared correlation, and -truth met every target
    config = _groundtruth_config()
    rng = np.random.default_rng(4)
    n = 4000
    part = {m: rng.normal(size=(k, n)).cumsum(axis=1) for m, k in (("LFP", 4), ("CDM", 3))}
    part["EEG"] = part["CDM"][:2]
    truth_attrs = {
        **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in NETWORK_ATTRS.items()},
        "max_relative_current_sum": 1e-12,
        "mean_soma_potential_mV": json.dumps({"E": -61.0}),
        "linearisation_potential_mV": json.dumps({"E:E": -58.0}),
    }
    flipped = {m: -v for m, v in part.items()}
    truth = {**part, "contributions": {"E": part}, "attrs": truth_attrs}
    predicted = {
        **flipped,
        "contributions": {"E_E": flipped},
        "attrs": {
            "measured_rates_Hz": json.dumps({"E": 5.0}),
            "kernel_vrest": "measured",
            "kernel_vrest_mV": json.dumps({"E:E": -58.0}),
        },
    }
    result = groundtruth.groundtruth_comparison(truth, predicted, config)
    assert result["meets_targets"] == {
        "median_r2_LFP": False,
        "median_r2_CDM_z": False,
        "std_ratio": True,  # sign-blind
    }
    for signal in ("LFP", "CDM_z", "EEG"):
        assert result[signal]["median_r2"] == pytest.approx(-3.0)
        assert result[signal]["median_correlation"] == pytest.approx(-1.0)
        assert result[signal]["median_squared_correlation"] == pytest.approx(1.0)
    assert result["populations"]["E"]["LFP"]["median_correlation"] == pytest.approx(-1.0)
