"""Sweeps through Snakemake on config/tiny.yaml (real NEST, NEURON, Snakemake).

Each test works in its own copy of the project (see test_workflow.make_project).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time

import numpy as np
import pytest
import yaml
from test_workflow import ENV, SNAKEMAKE, make_project, scheduled_jobs, snakemake

from lfpflow import io

pytestmark = pytest.mark.slow

TINY = ("--configfile", "config/tiny.yaml")


def sweep_option(sweep: str) -> tuple[str, str]:
    """``--config sweep=...`` as a user types it (YAML flow mapping)."""
    return ("--config", f"sweep={sweep}")


def test_dry_run_of_a_3x3_sweep_schedules_four_kernel_jobs(tmp_path):
    project = make_project(tmp_path / "project")
    result = snakemake(
        project,
        "-n",
        "--cores",
        "2",
        *TINY,
        *sweep_option("{network.drive.nu_ext_Hz: [30, 40, 50], seed: [1, 2, 3]}"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = scheduled_jobs(result.stdout + result.stderr)
    # drive and seed do not enter the kernels: 4 pathways, computed once
    assert jobs["kernel"] == 4, jobs
    assert jobs["network"] == 9 and jobs["forward"] == 9 and jobs["summary"] == 9, jobs
    assert jobs["sweep_summary"] == 1, jobs


def test_a_bad_sweep_key_stops_before_anything_runs(tmp_path):
    project = make_project(tmp_path / "project")
    result = snakemake(project, "--cores", "2", *TINY, *sweep_option("{network.drive.nu: [1]}"))
    assert result.returncode != 0
    assert "sweep.network.drive.nu" in result.stderr and "nu_ext_Hz" in result.stderr
    assert not (project / "results").exists()


def _point_folders(project, run_name="tiny"):
    return sorted(path for path in (project / "results" / run_name).iterdir() if path.is_dir())


def test_points_differing_only_in_seed_share_kernels_and_differ_in_spikes(tmp_path):
    project = make_project(tmp_path / "project")
    result = snakemake(project, "--cores", "2", *TINY, *sweep_option("{seed: [1, 2]}"), timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    first, second = _point_folders(project)
    assert first.name.startswith("seed-1-") and second.name.startswith("seed-2-")
    # one kernel folder, four kernels computed once, linked from both points
    (kernels,) = (project / "results" / "kernels").iterdir()
    assert sorted(path.name for path in kernels.iterdir()) == [
        "E_E.h5",
        "E_I.h5",
        "I_E.h5",
        "I_I.h5",
    ]
    assert len(list((project / "logs" / "kernels").rglob("kernel_*.log"))) == 4
    for point in (first, second):
        assert (point / "kernels").resolve() == kernels.resolve()
        attrs = io.read_h5(point / "signals.h5")["attrs"]
        assert attrs["kernels_dir"] == f"results/kernels/{kernels.name}"
    spikes = [io.read_h5(point / "network" / "spikes.h5") for point in (first, second)]
    assert [s["attrs"]["seed"] for s in spikes] == [1, 2]
    assert spikes[0]["E"]["times"].size > 0 and spikes[1]["E"]["times"].size > 0
    assert not np.array_equal(spikes[0]["E"]["times"][:100], spikes[1]["E"]["times"][:100])
    # each point's config.yaml is a complete configuration of that point
    config = yaml.safe_load((first / "config.yaml").read_text())
    assert config["seed"] == 1 and config["sweep"] == {}
    # the sweep table: one row per point
    with open(project / "results" / "sweeps" / "tiny" / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["seed"] for row in rows] == ["1", "2"]
    assert [row["run"] for row in rows] == [f"tiny/{first.name}", f"tiny/{second.name}"]
    assert all(float(row["rate_E_Hz"]) > 0 for row in rows)
    assert rows[0]["rate_E_Hz"] != rows[1]["rate_E_Hz"]
    assert (project / "results" / "sweeps" / "tiny" / "summary.png").stat().st_size > 0


def test_resuming_a_killed_sweep_recomputes_only_unfinished_points(tmp_path):
    project = make_project(tmp_path / "project")
    sweep = sweep_option("{network.drive.nu_ext_Hz: [38, 40, 42]}")
    log = tmp_path / "snakemake.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [*SNAKEMAKE, "--cores", "1", *TINY, *sweep],
            cwd=project,
            env=ENV,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # kill once Snakemake has recorded one point's summary as finished (a file
    # renamed into place but not yet recorded is rightly redone on resume)
    deadline = time.monotonic() + 240
    while (
        "(Rule: summary)" not in log.read_text()
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and every job it started
    process.wait()
    finished = list((project / "results" / "tiny").glob("*/summary.json"))
    assert len(finished) == 1, "not exactly one point finished before the kill"
    done_point = finished[0].parent
    done_files = {path: path.stat().st_mtime_ns for path in done_point.rglob("*") if path.is_file()}
    kernel_files = {
        path: path.stat().st_mtime_ns for path in (project / "results" / "kernels").rglob("*.h5")
    }
    assert len(kernel_files) == 4
    assert not (project / "results" / "sweeps" / "tiny" / "summary.csv").exists()

    assert snakemake(project, "--unlock").returncode == 0
    dry = snakemake(project, "-n", "--cores", "2", *TINY, *sweep, "--rerun-incomplete")
    jobs = scheduled_jobs(dry.stdout + dry.stderr)
    assert "kernel" not in jobs, jobs
    assert jobs["summary"] == 2 and jobs.get("network", 0) <= 2, (
        jobs
    )  # the finished point is not redone
    result = snakemake(project, "--cores", "2", *TINY, *sweep, "--rerun-incomplete")
    assert result.returncode == 0, result.stderr[-5000:]
    assert len(_point_folders(project)) == 3
    for path, mtime in {**done_files, **kernel_files}.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    with open(project / "results" / "sweeps" / "tiny" / "summary.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 3
