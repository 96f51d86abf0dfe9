"""End-to-end tests of the V1 experiments on a reduced configuration, and the regression file."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lfpflow import io
from lfpflow.v1 import EXPERIMENTS, FIGURES, experiments
from lfpflow.v1.experiments import simple_complex

ROOT = Path(__file__).resolve().parents[1]

#: Small but complete: every experiment and panel runs, in seconds.
REDUCED: dict[str, Any] = {
    "filters": {"n_pixels": 33},
    "grid_step_deg": 30.0,
    "simple_complex": {
        "lambdas": [0.0, 1.0, 10.0],
        "alpha_sweep": {"alphas": [0.0, 0.2]},
        "modulation_map": {"n_lambda": 4, "n_alpha": 3},
        "controls": {"sigmoid_alphas": [0.0, 0.2]},
    },
    "perturbations": {"noise_levels": [0.0, 2.0], "repetitions": 3, "figure_levels": [0.0, 2.0]},
    "input_statistics": {"lambdas": [8.0, 1.0, 0.0], "n_stimuli": 8},
    "contrast": {
        "contrasts": [1.0, 0.32, 0.04],
        "settings": [{"lambda": 10.0, "pa2m": 0.5, "rate_exponent": 1.0}],
    },
    "orientation_sharpening": {
        "n_units": 6,
        "lambda1_sweep": {"lambda1": [0.0, 10.0]},
        "lambda2_sweep": {"lambda2": [0.0, 10.0]},
        "alpha2_sweep": {"alpha2": [1.0]},
        "tuning_step_deg": 10.0,
    },
    "receptive_field": {"lambdas": [0.0, 1.0], "masked": {"lambdas": [1.0]}},
}


@pytest.fixture(scope="module")
def reduced_run(tmp_path_factory) -> dict[str, Any]:
    """Run every experiment once on the reduced configuration (figures for one only)."""
    folder = tmp_path_factory.mktemp("v1")
    config = dict(REDUCED)  # experimental data: the defaults, shipped in lfpflow.v1.data
    outputs = {}
    for name in EXPERIMENTS:
        outputs[name] = folder / f"{name}.h5"
        figures = (
            {f: folder / f"{f}.png" for f in FIGURES[name]}
            if name in ("input_statistics", "receptive_field", "contrast")
            else None
        )
        experiments.run_experiment(name, config, outputs[name], figures)
    seconds = {name: 1.0 + i for i, name in enumerate(EXPERIMENTS)}
    summary = experiments.summarise(outputs, folder / "summary.json", seconds=seconds)
    return {"folder": folder, "outputs": outputs, "summary": summary, "config": config}


def _check_dims(group: dict[str, Any], path: str, h5: Path) -> None:
    import h5py

    with h5py.File(h5) as f:
        node = f[path] if path else f
        for name, item in node.items():
            if isinstance(item, h5py.Group):
                continue
            assert "units" in item.attrs, f"{path}/{name} lacks units"
            if "dims" in item.attrs:
                dims = json.loads(item.attrs["dims"])
                assert len(dims) == item.ndim, f"{path}/{name}: dims {dims} vs shape {item.shape}"
                for axis, dim in enumerate(dims):
                    assert dim in node, f"{path}/{name}: coordinate {dim} missing"
                    assert node[dim].shape[0] == item.shape[axis], f"{path}/{name}: {dim} length"


def test_outputs_follow_the_contract(reduced_run):
    for name, path in reduced_run["outputs"].items():
        data = io.read_h5(path)
        attrs = data["attrs"]
        assert attrs["experiment"] == name
        assert attrs["protocol"] == "paper"
        assert "compute_seconds" not in attrs  # timing kept out: reruns are byte-identical
        assert len(attrs["config_sha256"]) == 64
        assert "version_numpy" in attrs
        import h5py

        with h5py.File(path) as f:
            groups = [""] + [k for k, v in f.items() if isinstance(v, h5py.Group)]
        for group in groups:
            _check_dims(data, group, path)


def test_main_results_have_the_documented_shapes(reduced_run):
    sc = io.read_h5(reduced_run["outputs"]["simple_complex"])
    assert sc["responses"].shape == (3, 7, 7)  # lambda x phase x orientation
    assert sc["modulation_ratio"][0] == pytest.approx(1.0)  # lambda = 0: simple
    assert sc["modulation_ratio"][2] < 0.5  # lambda = 10: complex
    pt = io.read_h5(reduced_run["outputs"]["perturbations"])
    assert pt["responses"].shape == (2, 3, 7, 7)
    # level 0: the same unperturbed filters in every repetition
    assert_allclose(pt["responses"][0], pt["responses"][0, :1].repeat(3, 0))
    st = io.read_h5(reduced_run["outputs"]["input_statistics"])
    assert st["simpleness_index"].shape == (2, 3, 8)
    assert_allclose(st["simpleness_index_mean"][:, -1], 1.0)  # lambda = 0
    assert float(st["k_experiment"]) == pytest.approx(3.49817608, rel=1e-5)
    co = io.read_h5(reduced_run["outputs"]["contrast"])
    assert co["modulation_depth"].shape == (2, 3)  # one setting + the main setting
    assert co["hierarchical"]["modulation_depth"].shape == (3,)
    osh = io.read_h5(reduced_run["outputs"]["orientation_sharpening"])
    assert osh["responses"].shape == (5, 6, 7, 7)
    rf = io.read_h5(reduced_run["outputs"]["receptive_field"])
    assert rf["receptive_field"].shape == (2, 2, 33, 33)


def test_summary_has_the_headline_numbers(reduced_run):
    summary = reduced_run["summary"]
    assert set(summary["modulation_ratio_by_lambda"]) == {"0", "1", "10"}
    assert summary["k_experiment"] == pytest.approx(3.49817608, rel=1e-5)
    assert np.isfinite(summary["k_model"])
    assert set(summary["modulation_depth_by_contrast"]) == {"1", "0.32", "0.04"}
    assert set(summary["tuning_hwhm_deg_by_lambda2"]) == {"0", "10"}
    assert set(summary["seconds_by_experiment"]) == set(EXPERIMENTS)
    assert summary["seconds_total"] == pytest.approx(sum(range(1, 7)))
    on_disk = json.loads((reduced_run["folder"] / "summary.json").read_text())
    assert on_disk["k_model"] == summary["k_model"]


def test_summary_reports_phase_modulation_over_grid_and_full_cycle(reduced_run):
    """Keys without ``full_cycle``: the published half cycle; with it: [-90, 270] degrees."""
    summary = reduced_run["summary"]
    assert summary["modulation_phase_range_deg"] == {
        "grid": [-90.0, 90.0],
        "full_cycle": [-90.0, 270.0],
    }
    sc = io.read_h5(reduced_run["outputs"]["simple_complex"])
    assert summary["modulation_ratio_by_lambda"] == {
        f"{lam:g}": float(r) for lam, r in zip(sc["lambda"], sc["modulation_ratio"], strict=True)
    }
    for grid_key, full_key in (
        ("modulation_ratio_by_lambda", "modulation_ratio_full_cycle_by_lambda"),
        (
            "perturbation_modulation_ratio_by_level",
            "perturbation_modulation_ratio_full_cycle_by_level",
        ),
    ):
        grid, full = summary[grid_key], summary[full_key]
        assert set(full) == set(grid), full_key
        # the grid's phases are a subset of the full cycle's (binned sums: ~1e-7)
        assert all(full[k] >= grid[k] - 1e-6 for k in grid), full_key
    # lambda = 10: over the half cycle nearly phase-invariant, not over the full cycle
    ratio, full_ratio = (
        summary[key]["10"]
        for key in ("modulation_ratio_by_lambda", "modulation_ratio_full_cycle_by_lambda")
    )
    assert full_ratio > ratio + 0.1
    # the perturbation experiment's level 0 is the unperturbed lambda = 10 unit
    assert summary["perturbation_modulation_ratio_full_cycle_by_level"]["0"] == pytest.approx(
        full_ratio, abs=1e-6
    )
    minimum, minimum_full = (
        summary[key] for key in ("modulation_map_minimum", "modulation_map_minimum_full_cycle")
    )
    assert set(minimum_full) == set(minimum) == {"modulation_depth", "lambda", "alpha"}
    assert minimum_full["modulation_depth"] >= minimum["modulation_depth"] - 1e-6


def test_figures_are_written(reduced_run):
    folder = reduced_run["folder"]
    for name in ("input_statistics", "receptive_field", "contrast"):
        for figure in FIGURES[name]:
            path = folder / f"{figure}.png"
            assert path.stat().st_size > 10_000
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_all_figures_draw_from_files(reduced_run):
    """Every figure function draws from the reduced files (no PNG written: faster)."""
    import matplotlib.pyplot as plt

    from lfpflow.v1 import figures

    for name, path in reduced_run["outputs"].items():
        data = io.read_h5(path)
        for figure_name in FIGURES[name]:
            figure = figures.DRAW[figure_name](data)
            assert figure.axes
            plt.close(figure)


def test_benchmark_seconds(tmp_path):
    from lfpflow.signals.analysis import read_benchmark

    path = tmp_path / "b.tsv"
    path.write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n")
    assert read_benchmark(path) == {"s": 12.5, "max_rss_MB": 100.0}
    # repeat(...) benchmarks: one row per repetition, the mean is reported
    path.write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n13.5\t0:00:13\t300\n")
    assert read_benchmark(path) == {"s": 13.0, "max_rss_MB": 200.0}


def test_reruns_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    config = dict(REDUCED)
    for name in ("a", "b"):
        experiments.run_experiment("input_statistics", config, tmp_path / f"{name}.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_every_experiment_is_the_run_of_its_module():
    """Rule v1_<name> runs lfpflow.v1.experiments.<name>.run (run_experiment's lookup)."""
    for name in EXPERIMENTS:
        module = importlib.import_module(f"lfpflow.v1.experiments.{name}")
        assert callable(module.run), name


def test_unknown_experiment_and_figure_raise():
    with pytest.raises(ValueError, match="unknown V1 experiment"):
        experiments.run_experiment("nope", {}, "x.h5")
    with pytest.raises(ValueError, match="unknown figure"):
        experiments.run_experiment("contrast", {}, "x.h5", {"nope": "x.png"})


def test_exact_and_binned_numerics_agree(reduced_run, tmp_path):
    config = dict(reduced_run["config"], numerics={"dendritic_sum": "exact"})
    exact = simple_complex.run(experiments.Setup.from_section(config))
    binned = io.read_h5(reduced_run["outputs"]["simple_complex"])
    scale = np.abs(exact["responses"].data).max()
    assert_allclose(binned["responses"], exact["responses"].data, rtol=0, atol=2e-6 * scale)


def test_converged_protocol_reports_iterations(reduced_run):
    config = dict(reduced_run["config"], relaxation={"protocol": "converged"})
    content = simple_complex.run(experiments.Setup.from_section(config))
    iterations = content["iterations"].data
    assert iterations.max() > 21 and iterations.max() < 100_000


# --- regression ---------------------------------------------------------------------


def _regenerate_module():
    path = ROOT / "tests" / "v1_regenerate_reference.py"
    spec = importlib.util.spec_from_file_location("v1_regenerate_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regression_reference():
    """Recompute the small reference grid; see tests/v1_regenerate_reference.py."""
    module = _regenerate_module()
    stored = io.read_h5(module.REFERENCE)
    fresh = module.compute_reference()
    for name in ("paper_exact", "paper_binned", "converged_exact", "network_paper"):
        assert_allclose(fresh[name], stored[name], rtol=1e-9, atol=1e-13, err_msg=name)
    # summation order (BLAS, numpy versions) moves the residual by ~1e-16, which
    # can shift the update at which it crosses the tolerance by one
    difference = np.abs(fresh["converged_iterations"] - stored["converged_iterations"])
    assert difference.max() <= 1
