"""The Snakemake workflow end to end on config/tiny.yaml (real NEST, NEURON, Snakemake).

Each test works in a copy of the project in a temporary folder, so the
repository's own results/ and .snakemake/ are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from lfpflow import io
from lfpflow.resolve import load_config
from lfpflow.resolve import resolve_config as load_config_from

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PROJECT_ITEMS = ("Snakefile", "workflow", "config", "mod", "morphologies", "profiles", "nestml")
PROJECT_FILES = ("environment.yml",)
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
#: Fixed creation time so that reruns can be compared byte for byte.
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
TINY_OUTPUTS = [
    "network/spikes.h5",
    "network/rates.h5",
    "kernels/E_E.h5",
    "kernels/E_I.h5",
    "kernels/I_E.h5",
    "kernels/I_I.h5",
    "signals.h5",
    "summary.json",
    "config.yaml",
    *[
        f"figures/{name}.png"
        for name in (
            "raster_rates",
            "kernels",
            "laminar_lfp",
            "csd",
            "cdm",
            "eeg",
            "spectra",
        )
    ],
]


def make_project(destination: Path, *, with_build_from: Path | None = None) -> Path:
    """Copy the workflow into ``destination`` (optionally reusing compiled mechanisms)."""
    destination.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        source = REPO / item
        if source.is_dir():
            shutil.copytree(
                source, destination / item, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / item)
    for item in PROJECT_FILES:
        shutil.copy2(REPO / item, destination / item)
    if with_build_from is not None:
        shutil.copytree(with_build_from / "build", destination / "build", symlinks=True)
    return destination


def snakemake(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def scheduled_jobs(dry_run_output: str) -> dict[str, int]:
    """Rule -> count from the 'Job stats' table of a dry run."""
    jobs: dict[str, int] = {}
    lines = dry_run_output.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("job") and "count" in line:
            for row in lines[index + 2 :]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    break
                if parts[0] != "total":
                    jobs[parts[0]] = int(parts[1])
            break
    return jobs


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, float]:
    """One complete run of config/tiny.yaml with --cores 2; its project folder and wall time."""
    project = make_project(tmp_path_factory.mktemp("tiny") / "project")
    started = time.perf_counter()
    result = snakemake(project, "--cores", "2", "--configfile", "config/tiny.yaml", timeout=300)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-5000:]
    return project, elapsed


def test_lint_passes():
    result = subprocess.run(
        [*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "change, key",
    [
        ({"populations": {"E": {"size": -1}}}, "populations.E.size"),
        ({"kernels": {"synapse_type": "voltage"}}, "kernels.synapse_type"),
        ({"simulation": {"tstop_ms": 50.0, "transient_ms": 100.0}}, "simulation.transient_ms"),
    ],
)
def test_bad_config_fails_at_parse_time_and_creates_nothing(tmp_path, change, key):
    project = make_project(tmp_path / "project")
    config = yaml.safe_load((project / "config" / "tiny.yaml").read_text())

    def merge(target, update):
        for name, value in update.items():
            if isinstance(value, dict):
                merge(target.setdefault(name, {}), value)
            else:
                target[name] = value

    merge(config, change)
    (project / "bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(project, "--cores", "1", "--configfile", "bad.yaml", timeout=120)
    assert result.returncode != 0
    assert key in result.stderr + result.stdout
    assert not (project / "results").exists()
    assert not (project / "build").exists()


def test_tiny_config_runs_end_to_end_within_five_minutes(tiny_run):
    project, elapsed = tiny_run
    assert elapsed < 300
    run = project / "results" / "tiny"
    missing = [name for name in TINY_OUTPUTS if not (run / name).is_file()]
    assert not missing
    for benchmark in ("network", "rates", "forward", "summary", "figures"):
        assert (project / "benchmarks" / "tiny" / f"{benchmark}.tsv").is_file()
        assert (project / "logs" / "tiny" / f"{benchmark}.log").is_file()
    # kernels live once per kernel configuration; the run links to them
    (kernels,) = (project / "results" / "kernels").iterdir()
    assert (run / "kernels").resolve() == kernels.resolve()
    assert (project / "benchmarks" / "kernels" / kernels.name / "kernel_E_I.tsv").is_file()
    assert (project / "logs" / "kernels" / kernels.name / "kernel_E_I.log").is_file()
    assert (
        io.read_h5(run / "signals.h5")["attrs"]["kernels_dir"] == f"results/kernels/{kernels.name}"
    )


def test_tiny_outputs_follow_the_contract(tiny_run):
    project, _ = tiny_run
    run = project / "results" / "tiny"
    config = load_config(project / "config" / "tiny.yaml")
    dt = config["simulation"]["dt_ms"]
    n_bins = round(config["simulation"]["tstop_ms"] / dt)

    spikes = io.read_h5(run / "network" / "spikes.h5")
    assert spikes["units"]["E/times"] == "ms"
    assert spikes["attrs"]["n_vp"] == config["simulation"]["n_vp"]
    assert spikes["attrs"]["seed"] == config["seed"]
    rates = io.read_h5(run / "network" / "rates.h5")
    assert rates["t_ms"].size == n_bins
    # spike counts per bin add up to the number of spikes
    for name in ("E", "I"):
        assert rates[name].sum() == spikes[name]["times"].size

    signals = io.read_h5(run / "signals.h5")
    np.testing.assert_array_equal(signals["t_ms"], rates["t_ms"])
    assert signals["LFP"].shape == (13, n_bins)
    assert signals["CDM"].shape == (3, n_bins)
    names = json.loads(signals["attrs"]["eeg_electrode_names"])
    assert names == config["forward"]["head_model"]["electrodes"]  # the 10-20 electrodes
    assert signals["EEG"].shape == (len(names), n_bins)
    assert signals["units"]["LFP"] == "mV" and signals["units"]["EEG"] == "uV"
    # the default column is radial under Cz (MEG-silent), so the MEG is off by default
    assert "MEG" not in signals and not config["forward"]["meg"]["enabled"]
    assert signals["attrs"]["column_electrode"] == "Cz"
    assert np.asarray(signals["attrs"]["eeg_electrodes_um"]).shape == (len(names), 3)
    total = sum(signals["contributions"][p]["LFP"] for p in ("E_E", "E_I", "I_E", "I_I"))
    np.testing.assert_allclose(total, signals["LFP"], rtol=1e-10, atol=1e-15)
    for name in TINY_OUTPUTS:
        if name.endswith(".h5"):
            with h5py.File(run / name) as h5:
                for attr in ("config_sha256", "seed", "created_utc", "version_nest-simulator"):
                    assert attr in h5.attrs, (name, attr)

    summary = json.loads((run / "summary.json").read_text())
    for name in ("E", "I"):
        assert summary["populations"][name]["mean_rate_Hz"] > 0
        assert 0 < summary["populations"][name]["cv_isi"] < 3
    assert set(summary["signals"]) >= {"LFP", "CDM", "EEG"}
    assert summary["stage_timings"]["network"]["s"] > 0


def test_changing_only_the_drive_schedules_no_kernel_job(tiny_run):
    project, _ = tiny_run
    config = yaml.safe_load((project / "config" / "tiny.yaml").read_text())
    config.setdefault("network", {}).setdefault("drive", {})["nu_ext_Hz"] = 35.0
    (project / "drive.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(project, "-n", "--cores", "2", "--configfile", "drive.yaml", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = scheduled_jobs(result.stdout + result.stderr)
    assert jobs.get("network") == 1, jobs
    assert "forward" in jobs
    assert "kernel" not in jobs and "compile_mechanisms" not in jobs, jobs


@pytest.mark.parametrize("source", ["own", "network"])
def test_groundtruth_replaying_the_network_schedules_the_network(
    tmp_path: Path, source: str
) -> None:
    project = make_project(tmp_path / "project")
    config = yaml.safe_load((project / "config" / "tiny.yaml").read_text())
    config["groundtruth"] = {
        "scale": 0.1,
        "tstop_ms": 300.0,
        "transient_ms": 50.0,
        "overlay_window_ms": [50.0, 300.0],
        "presynaptic_spikes": source,
    }
    (project / "gt.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(project, "groundtruth", "-n", "--cores", "2", "--configfile", "gt.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = scheduled_jobs(result.stdout + result.stderr)
    assert jobs.get("groundtruth_simulate") == 1, jobs
    # the hybrid ground truth needs the point-neuron network's spikes; its own does not
    assert jobs.get("network", 0) == (1 if source == "network" else 0), jobs


def _compare_outputs(first: Path, second: Path) -> None:
    for name in TINY_OUTPUTS:
        if name == "summary.json":
            a = json.loads((first / name).read_text())
            b = json.loads((second / name).read_text())
            a.pop("stage_timings"), b.pop("stage_timings")  # wall-clock seconds differ
            assert a == b
        else:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_one_core_gives_bit_identical_outputs(tiny_run, tmp_path):
    reference, _ = tiny_run
    project = make_project(tmp_path / "project", with_build_from=reference)
    result = snakemake(project, "--cores", "1", "--configfile", "config/tiny.yaml", timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    _compare_outputs(reference / "results" / "tiny", project / "results" / "tiny")


@pytest.mark.parametrize("kill_when", ["network.log", "kernel_E_E.log"])
def test_kill_9_then_rerun_incomplete_gives_identical_outputs(tiny_run, tmp_path, kill_when):
    reference, _ = tiny_run
    project = make_project(tmp_path / "project", with_build_from=reference)
    process = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2", "--configfile", "config/tiny.yaml"],
        cwd=project,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    marker = f"logs/**/{kill_when}"
    deadline = time.monotonic() + 120
    while not any(project.glob(marker)) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and every job it started
    process.wait()
    assert not (project / "results" / "tiny" / "summary.json").exists(), "killed too late"
    assert snakemake(project, "--unlock").returncode == 0
    result = snakemake(
        project, "--cores", "2", "--configfile", "config/tiny.yaml", "--rerun-incomplete"
    )
    assert result.returncode == 0, result.stderr[-5000:]
    _compare_outputs(reference / "results" / "tiny", project / "results" / "tiny")
    leftovers = list((project / "results").rglob("*.tmp"))
    assert not leftovers, leftovers


def _renamed(config: dict, names: dict[str, str]) -> dict:
    """config with populations renamed everywhere (keys, pathways, pre/post)."""
    text = yaml.safe_dump(config, sort_keys=False)  # order fixes NEST node ids
    for old, new in names.items():
        text = text.replace(f"{old}:", f"{new}:").replace(f":{old}", f":{new}")
        text = text.replace(f"pre: {old}", f"pre: {new}").replace(f"post: {old}", f"post: {new}")
    return yaml.safe_load(text)


def test_population_names_other_than_e_and_i_work_everywhere(tiny_run, tmp_path):
    reference, _ = tiny_run
    project = make_project(tmp_path / "project", with_build_from=reference)
    # the complete tiny configuration with the populations renamed; E: null and
    # I: null remove the default populations and every default that names them
    config = _renamed(load_config(project / "config" / "tiny.yaml"), {"E": "Pyr", "I": "Stellate"})
    config["run_name"] = "renamed"
    config["populations"].update({"E": None, "I": None})
    assert set(load_config_from(config)["populations"]) == {"Pyr", "Stellate"}
    (project / "renamed.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(project, "--cores", "2", "--configfile", "renamed.yaml", timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    run = project / "results" / "renamed"
    for post in ("Pyr", "Stellate"):
        for pre in ("Pyr", "Stellate"):
            assert (run / "kernels" / f"{post}_{pre}.h5").is_file()
    signals = io.read_h5(run / "signals.h5")
    assert set(signals["contributions"]) == {
        "Pyr_Pyr",
        "Pyr_Stellate",
        "Stellate_Pyr",
        "Stellate_Stellate",
    }
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["populations"]) == {"Pyr", "Stellate"}
    # same network, other names: identical spikes and signals to the E/I run
    original = io.read_h5(reference / "results" / "tiny" / "signals.h5")
    np.testing.assert_array_equal(signals["LFP"], original["LFP"])


def test_izhikevich_ring_example_runs_through_the_whole_pipeline(tiny_run, tmp_path):
    reference, _ = tiny_run
    project = make_project(tmp_path / "project", with_build_from=reference)
    config = yaml.safe_load((project / "config" / "cano_colino_ring.yaml").read_text())
    config["simulation"]["tstop_ms"] = 400.0
    config["analysis"]["psd_nperseg"] = 2048
    config["analysis"]["raster_window_ms"] = [100.0, 400.0]
    (project / "ring.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(project, "--cores", "2", "--configfile", "ring.yaml", timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    run = project / "results" / "cano_colino_ring"
    spikes = io.read_h5(run / "network" / "spikes.h5")
    # the two DC-driven E cells fire, and the ring carries activity to others
    assert {25, 75} <= set(np.unique(spikes["E"]["senders"]).tolist())
    assert spikes["I"]["times"].size > 0
    signals = io.read_h5(run / "signals.h5")
    assert np.all(np.isfinite(signals["LFP"])) and np.abs(signals["LFP"]).max() > 0
    assert (run / "figures" / "laminar_lfp.png").is_file()


def test_v1_target_runs_every_experiment_through_snakemake(tmp_path):
    project = make_project(tmp_path / "project")
    # the experimental CSVs ship with the package: no path to give
    result = snakemake(project, "v1", "--cores", "2", timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    v1 = project / "results" / "v1"
    from lfpflow.v1 import EXPERIMENTS as experiments

    for name in experiments:
        assert (v1 / f"{name}.h5").is_file(), name
        assert (project / "benchmarks" / "v1" / f"{name}.tsv").is_file()
    summary = json.loads((v1 / "summary.json").read_text())
    assert summary["modulation_ratio_by_lambda"]["0"] == pytest.approx(1.0)
    # k fitted to Fournier et al. (2011) from the CSV
    assert summary["k_experiment"] == pytest.approx(3.498, abs=0.01)
    assert set(summary["seconds_by_experiment"]) == set(experiments)
    assert not (project / "results" / "default").exists(), "v1 must not run the LFP pipeline"
