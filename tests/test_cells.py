"""Per-population cells and morphology formats (lfpflow.multicompartment.cells, .morphology).

Configuration-level tests need no simulator. The NEURON tests run in a
subprocess (this file as a script, see ``__main__``) because NEURON loads a
mechanism library once per process: they load one small cell written here in
every format and check that NEURON sees the same sections, and that a kernel
whose postsynaptic cell is an ``.swc`` or ``.asc`` file matches the kernel of
the same geometry in ``.hoc``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lfpflow.config import ConfigError, kernel_description
from lfpflow.config.schema import merge_overlay
from lfpflow.multicompartment import cells, kernels
from lfpflow.multicompartment.morphology import (
    MorphologyError,
    Stick,
    asc_text,
    hoc_text,
    read_morphology,
    swc_text,
)
from lfpflow.resolve import resolve_config

ROOT = Path(__file__).resolve().parents[1]
DT_MS = 2.0**-4

#: The excitatory ball-and-sticks cell (morphologies/BallAndSticks_E.hoc) as sticks.
BALL_AND_STICKS_E = [
    Stick("soma", ((0.0, 0.0, -10.0, 20.0), (0.0, 0.0, 10.0, 20.0))),
    Stick("dend", ((0.0, 0.0, -10.0, 2.0), (0.0, 0.0, -260.0, 2.0)), parent=0, parent_end=0.0),
    Stick("apic", ((0.0, 0.0, 10.0, 3.0), (0.0, 0.0, 1010.0, 1.5)), parent=0, parent_end=1.0),
]

#: File name -> text of the test cell in every format we load.
FORMATS = {
    "cell_template.hoc": hoc_text(BALL_AND_STICKS_E),
    "cell_plain.hoc": hoc_text(BALL_AND_STICKS_E, template_style=False),
    "cell.swc": swc_text(BALL_AND_STICKS_E),
    "cell.asc": asc_text(BALL_AND_STICKS_E),
}

#: Short kernels of the default circuit (as in tests/test_kernels.py).
KERNEL_OVERLAY: dict[str, Any] = {
    "simulation": {"dt_ms": DT_MS},
    "kernels": {"tau_ms": 10.0, "probes": {"lfp": {"z_um": [1000.0, 500.0, 0.0, -200.0]}}},
}


@pytest.fixture
def morphology_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A morphology folder with the test cell in every format and the default cells."""
    for name, text in FORMATS.items():
        (tmp_path / name).write_text(text)
    for name in ("BallAndSticks_E.hoc", "BallAndSticks_I.hoc"):
        (tmp_path / name).write_text((ROOT / "morphologies" / name).read_text())
    monkeypatch.setenv("LFPFLOW_MORPHOLOGY_DIR", str(tmp_path))
    return tmp_path


def _with_cell(morphology: str, **cell: Any) -> dict[str, Any]:
    return merge_overlay(
        KERNEL_OVERLAY, {"populations": {"E": {"cell": {"morphology": morphology, **cell}}}}
    )


# --------------------------------------------------------------------------
# light reader
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_reads_the_same_sections_and_extents(morphology_dir: Path, name: str) -> None:
    morphology = read_morphology(morphology_dir / name)
    assert morphology.sections == ("apic", "dend", "soma")
    assert morphology.soma_z_um == pytest.approx(0.0)
    assert morphology.z_range_um["apic"][1] == pytest.approx(1010.0)
    assert morphology.z_range_um["dend"][0] == pytest.approx(-260.0)
    assert morphology.depth_range_um("apic", -500.0)[1] == pytest.approx(510.0)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cell.nml", "<neuroml/>", r"unknown morphology format '\.nml'; allowed extensions"),
        ("cell.swc", "1 1 0 0 0 10\n", r"line 1: not an SWC row"),
        ("cell.swc", "1 1 0 0 0 10 -1\n2 7 0 0 5 1 1\n", r"SWC type 7 is not supported"),
        ("cell.swc", "1 1 0 0 0 10 -1\n2 3 0 0 5 1 9\n", r"parent 9 is not an earlier"),
        ("cell.swc", "1 3 0 0 0 1 -1\n2 3 0 0 5 1 1\n", r"has no soma"),
        ("cell.asc", "((CellBody) (0 0 0 1)", r"unclosed"),
        ("cell.asc", "((Color Red) (0 0 0 1))", r"no \(CellBody\)"),
        ("cell.hoc", "soma { L = 10 }\n", r"no 'create' statement"),
        ("cell.hoc", "create soma, basal\n", r"section names \['basal'\] are not supported"),
        ("cell.hoc", b"\xff\xfe\x00create".decode("latin-1"), r"cannot read"),
    ],
)
def test_bad_morphology_files_are_refused(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(MorphologyError, match=message):
        read_morphology(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MorphologyError, match=r"no file .*cell\.swc \(give a \.hoc, \.swc, \.asc"):
        read_morphology(tmp_path / "cell.swc")


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def test_every_format_passes_validation(morphology_dir: Path) -> None:
    for name in FORMATS:
        config = resolve_config(_with_cell(name))
        assert config["populations"]["E"]["cell"]["morphology"] == name


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        (
            {"populations": {"E": {"cell": {"morphology": "cell.xyz"}}}},
            r"'populations\.E\.cell\.morphology': 'cell\.xyz' has an unknown morphology format "
            r"'\.xyz'; allowed extensions: \.hoc, \.swc, \.asc",
        ),
        (
            {"populations": {"E": {"cell": {"morphology": "nothing.swc"}}}},
            r"'populations\.E\.cell\.morphology': no file",
        ),
        (
            {
                "kernels": {
                    "synapse_positions": {
                        "I:E": {
                            "sections": ["soma", "axon"],
                            "z_mean_um": [0.0],
                            "z_sd_um": [50.0],
                            "weights": [1.0],
                        }
                    }
                }
            },
            r"'kernels\.synapse_positions\.I:E\.sections': 'axon' is not a section of "
            r"populations\.I\.cell\.morphology \(BallAndSticks_I\.hoc\); allowed values: "
            r"apic, dend, soma",
        ),
        (
            # synapse depths are absolute: the soma moved 2 mm down, the density stayed
            {"populations": {"E": {"cell": {"soma_z_mean_um": -2000.0}}}},
            r"'kernels\.synapse_positions\.E:E\.z_mean_um': only .* synapse depths are absolute",
        ),
        ({"populations": {"E": {"cell": {"soma_z_sd_um": 0.0}}}}, r"soma_z_sd_um"),
        ({"populations": {"E": {"cell": {"radius_um": -1.0}}}}, r"radius_um"),
        ({"kernels": {"population_geometry": {"radius_um": 1.0}}}, r"population_geometry"),
    ],
    ids=["format", "missing", "section", "depth", "sd", "radius", "old_key"],
)
def test_bad_cells_are_refused_before_anything_runs(
    morphology_dir: Path, overlay: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config(merge_overlay(KERNEL_OVERLAY, overlay))


def test_default_populations_keep_the_former_common_geometry(default_config: dict) -> None:
    for name in ("E", "I"):
        cell = default_config["populations"][name]["cell"]
        assert (cell["soma_z_mean_um"], cell["soma_z_sd_um"], cell["radius_um"]) == (
            0.0,
            75.0,
            150.0,
        )
    assert "population_geometry" not in default_config["kernels"]


def test_a_kernel_uses_the_postsynaptic_population_s_cell(morphology_dir: Path) -> None:
    overlay = merge_overlay(
        _with_cell(
            "cell.swc",
            soma_z_mean_um=-300.0,
            soma_z_sd_um=40.0,
            radius_um=500.0,
            g_pas_S_per_cm2=1e-4,
            celsius_degC=30.0,
        ),
        {
            "kernels": {
                "synapse_positions": {
                    "E:E": {
                        "sections": ["apic", "dend"],
                        "z_mean_um": [-300.0],
                        "z_sd_um": [100.0],
                        "weights": [1.0],
                    },
                    "E:I": {
                        "sections": ["soma", "dend"],
                        "z_mean_um": [-300.0],
                        "z_sd_um": [100.0],
                        "weights": [1.0],
                    },
                }
            }
        },
    )
    description = kernel_description(resolve_config(overlay))
    assert description["populations"]["E"] == {
        "size": 8192,
        "morphology": "cell.swc",
        "soma_z_mean_um": -300.0,
        "soma_z_sd_um": 40.0,
        "radius_um": 500.0,
        "g_pas_S_per_cm2": 1e-4,
        "celsius_degC": 30.0,
    }
    onto_e = kernels.kernel_approx_arguments(
        description, post="E", pre="I", morphology_dir=morphology_dir
    )
    assert onto_e["approx"]["populationParameters"] == {
        "radius": 500.0,
        "loc": -300.0,
        "scale": 40.0,
    }
    assert (onto_e["probes"]["radius_um"], onto_e["probes"]["soma_z_sd_um"]) == (500.0, 40.0)
    cell = onto_e["approx"]["cellParameters"]
    assert cell["morphology"] == str(morphology_dir / "cell.swc")
    assert cell["passive_parameters"]["g_pas"] == 1e-4 and cell["celsius"] == 30.0
    assert cell["Ra"] == description["cell"]["Ra_ohm_cm"]  # not overridden: kernels.cell's
    onto_i = kernels.kernel_approx_arguments(
        description, post="I", pre="E", morphology_dir=morphology_dir
    )
    assert onto_i["approx"]["populationParameters"] == {"radius": 150.0, "loc": 0.0, "scale": 75.0}
    assert onto_i["approx"]["cellParameters"]["morphology"].endswith("BallAndSticks_I.hoc")


def test_the_kernel_hash_covers_the_cell(default_config: dict) -> None:
    from lfpflow.config.scopes import kernel_hash

    base = kernel_hash(default_config)
    moved = resolve_config({"populations": {"E": {"cell": {"soma_z_sd_um": 70.0}}}})
    passive = resolve_config({"populations": {"I": {"cell": {"Ra_ohm_cm": 150.0}}}})
    assert len({base, kernel_hash(moved), kernel_hash(passive)}) == 3


def test_linearisation_potential_weights_synapses_at_absolute_depth(
    morphology_dir: Path,
) -> None:
    from lfpflow.multicompartment import groundtruth

    overlay = _with_cell("cell.swc", soma_z_mean_um=-500.0, soma_z_sd_um=10.0)
    overlay["kernels"]["synapse_positions"] = {
        "E:E": {"sections": ["apic"], "z_mean_um": [-100.0], "z_sd_um": [20.0], "weights": [1.0]},
        "E:I": {"sections": ["dend"], "z_mean_um": [-600.0], "z_sd_um": [50.0], "weights": [1.0]},
    }
    description = kernel_description(resolve_config(overlay))
    # segments 400 um above, at and 100 um below the soma (depths relative to
    # the soma, as recorded); the kernel's soma is at -500 um
    mean_v = {
        "E": {
            "v_mV": np.array([-60.0, -70.0, -80.0]),
            "z_rel_um": np.array([400.0, 0.0, -100.0]),
            "area_um2": np.ones(3),
            "section": np.array(["apic", "apic", "dend"]),
        }
    }
    # synapses at -100 um: the segment 400 um above the soma, not the one at -100 um relative
    assert groundtruth.synapse_weighted_potential(description, mean_v, "E", "E") == (
        pytest.approx(-60.0)
    )
    assert groundtruth.synapse_weighted_potential(description, mean_v, "E", "I") == (
        pytest.approx(-80.0)
    )


def test_checks_kernels_and_groundtruth_read_one_morphology_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lfpflow.config import stage_config
    from lfpflow.multicompartment.checks import check_cells
    from lfpflow.multicompartment.groundtruth import RunSettings
    from lfpflow.multicompartment.groundtruth import network as gt_network
    from lfpflow.multicompartment.morphology import morphology_dir, workflow_morphology_dir

    # a morphology that exists only in the folder LFPFLOW_MORPHOLOGY_DIR names
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for source, target in (("BallAndSticks_E.hoc", "Moved_E.hoc"), ("BallAndSticks_I.hoc",) * 2):
        (folder / target).write_text((ROOT / "morphologies" / source).read_text())
    assert not (ROOT / "morphologies" / "Moved_E.hoc").exists()
    monkeypatch.setenv("LFPFLOW_MORPHOLOGY_DIR", str(folder))
    assert morphology_dir() == folder
    moved = str(folder / "Moved_E.hoc")
    # the checks read it there
    config = resolve_config(_with_cell("Moved_E.hoc"))
    assert check_cells(config) == []
    # the kernel code (default folder) and the kernel rule's folder
    description = kernel_description(config)
    setup = kernels.kernel_approx_arguments(description, post="E", pre="I")
    assert setup["approx"]["cellParameters"]["morphology"] == moved
    assert workflow_morphology_dir() == str(folder)
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert "MORPHOLOGY_DIR = workflow_morphology_dir()" in common
    # the ground truth (default folder), without NEURON
    stage = stage_config(config, "groundtruth")
    run = RunSettings.from_config(stage)
    assert gt_network.population_cell_parameters(stage["kernels"], "E", run)["morphology"] == moved
    # and no rule or script names another folder
    for rules in ("kernels.smk", "groundtruth.smk"):
        assert '"morphologies/' not in (ROOT / "workflow" / "rules" / rules).read_text()
    for script in ("kernel.py", "groundtruth_simulate.py", "groundtruth_kernel.py"):
        text = (ROOT / "workflow" / "scripts" / script).read_text()
        assert "morphology_dir=Path(snakemake.params.morphology_dir)" in text
    # without the variable the checks no longer find the file
    monkeypatch.delenv("LFPFLOW_MORPHOLOGY_DIR")
    assert check_cells(config) and "Moved_E.hoc" in check_cells(config)[0]


# --------------------------------------------------------------------------
# NEURON (subprocess)
# --------------------------------------------------------------------------


def _run_worker(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"worker failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def mechanisms_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cells.compile_mechanisms(ROOT / "mod", tmp_path_factory.mktemp("nrn") / "mechanisms")


@pytest.mark.slow
def test_neuron_loads_every_format_with_the_same_sections(
    morphology_dir: Path, mechanisms_dir: Path, tmp_path: Path
) -> None:
    jobs = {}
    for name in FORMATS:
        description = kernel_description(resolve_config(_with_cell(name)))
        jobs[name] = {"config": description, "post": "E", "pre": "I"}
    out = tmp_path / "kernels.npz"
    output = _run_worker(str(mechanisms_dir), str(morphology_dir), json.dumps(jobs), str(out))
    summary = json.loads(output.strip().splitlines()[-1])  # NEURON prints notices first
    for name, cell in summary.items():
        assert cell["sections"] == ["apic", "dend", "soma"], name
        assert cell["z_um"] == pytest.approx([-260.0, 1010.0], abs=0.5), name
    hoc = summary["cell_template.hoc"]
    # hoc (both styles) and swc describe the same cylinders; Import3d makes the
    # asc soma from its outline, so the asc cell differs a little there
    for name in ("cell_plain.hoc", "cell.swc"):
        assert summary[name]["area_um2"] == pytest.approx(hoc["area_um2"], rel=1e-9), name
    assert summary["cell.asc"]["area_um2"] == pytest.approx(hoc["area_um2"], rel=0.05)
    with np.load(out) as data:
        reference = data["cell_template.hoc/LFP"]
        scale = np.abs(reference).max()
        np.testing.assert_allclose(data["cell_plain.hoc/LFP"], reference, rtol=0, atol=0)
        np.testing.assert_allclose(data["cell.swc/LFP"], reference, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(data["cell.asc/LFP"], reference, rtol=0, atol=0.05 * scale)


@pytest.mark.slow
def test_groundtruth_places_each_population_as_its_cell_says(
    morphology_dir: Path, mechanisms_dir: Path, tmp_path: Path
) -> None:
    from lfpflow.config import stage_config

    overlay = merge_overlay(
        _with_cell("cell.swc", soma_z_mean_um=-300.0, soma_z_sd_um=20.0, radius_um=80.0),
        {
            "populations": {
                "E": {"size": 400},
                "I": {"size": 100, "cell": {"morphology": "cell.asc", "soma_z_sd_um": 5.0}},
            },
            "kernels": {"synapse_positions": {
                "E:E": {"sections": ["apic", "dend"], "z_mean_um": [-300.0], "z_sd_um": [100.0],
                        "weights": [1.0]},
                "E:I": {"sections": ["soma", "dend"], "z_mean_um": [-300.0], "z_sd_um": [100.0],
                        "weights": [1.0]},
            }},
            "groundtruth": {"scale": 0.125, "tstop_ms": 20.0, "transient_ms": 5.0},
        },
    )  # fmt: skip
    config = stage_config(resolve_config(overlay), "groundtruth")
    out = _run_worker("groundtruth", str(mechanisms_dir), str(morphology_dir), json.dumps(config))
    somata = json.loads(out.strip().splitlines()[-1])
    e_pos, i_pos = np.array(somata["E"]), np.array(somata["I"])
    assert len(e_pos) == 50 and len(i_pos) == 12
    assert abs(e_pos[:, 2].mean() + 300.0) < 3 * 20.0 / np.sqrt(50)
    assert np.hypot(e_pos[:, 0], e_pos[:, 1]).max() <= 80.0
    assert abs(i_pos[:, 2].mean()) < 3 * 5.0 / np.sqrt(12)
    assert np.hypot(i_pos[:, 0], i_pos[:, 1]).max() <= 150.0


def _groundtruth_worker(mechanisms_dir: str, morphology_dir: str, config_json: str) -> None:
    from lfpflow.multicompartment.groundtruth import simulate_groundtruth

    result = simulate_groundtruth(
        json.loads(config_json),
        mechanisms_dir=Path(mechanisms_dir),
        morphology_dir=Path(morphology_dir),
    )
    positions = result["network"]["soma_positions_um"]
    print(json.dumps({name: np.asarray(p).tolist() for name, p in positions.items()}))


def _worker(mechanisms_dir: str, morphology_dir: str, jobs_json: str, out: str) -> None:
    import LFPy

    summary, arrays = {}, {}
    for name, job in json.loads(jobs_json).items():
        parameters = cells.cell_parameters(job["config"], job["post"], morphology_dir)
        cells.load_mechanisms(Path(mechanisms_dir))
        cell = LFPy.TemplateCell(**cells.loadable_cell_parameters(parameters))
        summary[name] = {
            "sections": sorted({n.split(".")[-1].split("[")[0] for n in cell.allsecnames}),
            "area_um2": float(cell.area.sum()),
            "z_um": [float(cell.z.min()), float(cell.z.max())],
        }
        del cell
        kernel = kernels.compute_kernel(
            job["config"],
            post=job["post"],
            pre=job["pre"],
            dt_ms=DT_MS,
            mechanisms_dir=Path(mechanisms_dir),
            morphology_dir=Path(morphology_dir),
        )
        arrays[f"{name}/LFP"] = kernel["LFP"]
    np.savez(out, **arrays)
    print(json.dumps(summary))


if __name__ == "__main__":
    if sys.argv[1] == "groundtruth":
        _groundtruth_worker(*sys.argv[2:])
    else:
        _worker(*sys.argv[1:])
