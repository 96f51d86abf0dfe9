"""The microcircuit's cells and kernels (config/microcircuit.yaml) and laminar figures.

Checks what the kernels of the layered circuit rest on without running
NEURON: the configuration resolves with all 64 pathways, every cell sits in its
layer of the Hagen et al. (2016) column and fits in it, every pathway's
synapses land on its postsynaptic cell, and the laminar figures draw from a
run's files. One kernel is computed in a subprocess (marked slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lfpflow.config import kernel_description
from lfpflow.multicompartment.morphology import morphology_dir, read_morphology
from lfpflow.resolve import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (ROOT / "config" / "microcircuit.yaml",)
POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]

#: Layer boundaries (um, pial surface at 0) of Hagen et al. (2016).
LAYERS = {"23": (-81.6, -587.1), "4": (-587.1, -922.2), "5": (-922.2, -1170.0),
          "6": (-1170.0, -1491.7)}  # fmt: skip


@pytest.fixture(scope="module")
def microcircuit() -> dict:
    if not all(path.is_file() for path in CONFIGS):
        pytest.skip("config/microcircuit.yaml not there yet")
    return load_config(*CONFIGS)


def test_all_64_pathways_have_kernel_settings(microcircuit: dict) -> None:
    description = kernel_description(microcircuit)
    assert list(description["populations"]) == POPULATIONS
    expected = {f"{post}:{pre}" for post in POPULATIONS for pre in POPULATIONS}
    for section in ("connection_probability", "weights_uS", "multapses", "delays",
                    "synapse_positions"):  # fmt: skip
        assert set(description[section]) == expected, section
    z_um = description["probes"]["lfp"]["z_um"]
    assert z_um == [-100.0 * k for k in range(16)]  # 16 contacts from the surface down


def test_cells_sit_in_their_layer_and_fit_the_column(microcircuit: dict) -> None:
    for name in POPULATIONS:
        cell = microcircuit["populations"][name]["cell"]
        upper, lower = LAYERS[name[1:-1]]
        assert lower < cell["soma_z_mean_um"] < upper, name
        morphology = read_morphology(morphology_dir() / cell["morphology"])
        extents = [
            morphology.depth_range_um(s, cell["soma_z_mean_um"]) for s in morphology.sections
        ]
        low, high = min(e[0] for e in extents), max(e[1] for e in extents)
        assert -1491.7 <= low and high <= 0.0, (name, low, high)
        if name.endswith("E"):
            # pyramidal: apical dendrite through the layers above (L6E into L2/3)
            assert "apic" in morphology.sections and high > -587.1, name
        else:
            # interneurons: compact, inside their layer
            assert "apic" not in morphology.sections and lower - 25 <= low and high <= upper + 25


def test_synapse_densities_weights_are_normalised(microcircuit: dict) -> None:
    for key, position in microcircuit["kernels"]["synapse_positions"].items():
        assert sum(position["weights"]) == pytest.approx(1.0, abs=2e-3), key
        post = key.split(":")[0]
        assert position["sections"] == (["apic", "dend"] if post.endswith("E") else ["dend"])


def _synthetic_run(tmp_path: Path) -> tuple:
    """Spikes, rates and signals of a fake 8-population run (no simulator)."""
    rng = np.random.default_rng(1)
    dt, n = 0.125, 8000
    t_ms = np.arange(n) * dt
    sizes = dict.fromkeys(POPULATIONS, 50)
    times = {p: np.sort(rng.uniform(0, n * dt, 400)) for p in POPULATIONS}
    spikes = SimpleNamespace(
        population_sizes=sizes,
        times_ms=times,
        senders={p: rng.integers(0, 50, 400) for p in POPULATIONS},
    )
    counts = {p: np.histogram(times[p], bins=n, range=(0, n * dt))[0] for p in POPULATIONS}
    z_um = -100.0 * np.arange(16)
    contributions = {
        f"{post}_{pre}": {
            "LFP": rng.normal(size=(16, n)) * 1e-3,
            "CSD": rng.normal(size=(16, n)) * 1e-9,
        }  # fmt: skip
        for post in POPULATIONS[:2]
        for pre in POPULATIONS
    }
    signals = {
        "t_ms": t_ms,
        "z_um": z_um,
        "LFP": sum(c["LFP"] for c in contributions.values()),
        "CSD": sum(c["CSD"] for c in contributions.values()),
        "contributions": contributions,
    }
    return spikes, t_ms, counts, signals


def test_laminar_figures_draw_from_a_run(microcircuit: dict, tmp_path: Path) -> None:
    from lfpflow.config import stage_config
    from lfpflow.figures import save_figure
    from lfpflow.figures.laminar import LAMINAR_FIGURES, laminar_figures

    config = stage_config(microcircuit, "analysis")
    config["simulation"]["transient_ms"] = 100.0
    config["analysis"]["raster_window_ms"] = [200.0, 400.0]
    config["analysis"]["psd_nperseg"] = 1024
    figures = laminar_figures(*_synthetic_run(tmp_path), config)
    assert tuple(figures) == LAMINAR_FIGURES
    for name, draw in figures.items():
        save_figure(draw(), tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name


def test_presynaptic_contributions_sum_over_postsynaptic_populations() -> None:
    from lfpflow.figures.laminar import presynaptic_contributions

    parts = {
        "L23E_L4E": {"LFP": np.ones((2, 3))},
        "L5E_L4E": {"LFP": 2 * np.ones((2, 3))},
        "L23E_L23I": {"LFP": np.zeros((2, 3))},
    }
    summed = presynaptic_contributions(parts)
    assert list(summed) == ["L4E", "L23I"]
    np.testing.assert_array_equal(summed["L4E"], 3 * np.ones((2, 3)))


@pytest.mark.slow
def test_one_layered_kernel_is_causal_and_laminar(microcircuit: dict, tmp_path: Path) -> None:
    from lfpflow.multicompartment import cells

    mechanisms = cells.compile_mechanisms(ROOT / "mod", tmp_path / "mechanisms")
    description = kernel_description(microcircuit)
    job = {"config": description, "post": "L5E", "pre": "L4E"}
    out = tmp_path / "kernel.npz"
    result = subprocess.run(
        [sys.executable, __file__, str(mechanisms), json.dumps(job), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with np.load(out) as kernel:
        lfp, lags = kernel["LFP"], kernel["lags_ms"]
        assert lfp.shape == (16, lags.size) and np.all(np.isfinite(lfp))
        assert np.abs(lfp[:, lags < 0.125]).max() <= 1e-12 * np.abs(lfp).max()
        # the current sources and sinks of one population add up to zero
        assert abs(kernel["CSD"].sum()) <= 1e-6 * np.abs(kernel["CSD"]).sum()


def _worker(mechanisms: str, job_json: str, out: str) -> None:
    from lfpflow.multicompartment.kernels import compute_kernel

    job = json.loads(job_json)
    kernel = compute_kernel(
        job["config"], post=job["post"], pre=job["pre"], dt_ms=0.125,
        mechanisms_dir=Path(mechanisms), morphology_dir=ROOT / "morphologies",
    )  # fmt: skip
    np.savez(out, **kernel)


if __name__ == "__main__":
    _worker(*sys.argv[1:])
