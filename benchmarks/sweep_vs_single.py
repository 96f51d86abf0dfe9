"""Wall time of a 3-point sweep of config/tiny.yaml vs three single runs.

Usage::

    python benchmarks/sweep_vs_single.py [--cores 2] [--values 38,40,42]

Each variant runs in a fresh copy of the project (compiled mechanisms copied
in from a first build, so that compiling NMODL is not counted):

* ``single``: three separate projects, one run each with
  ``network.drive.nu_ext_Hz`` set to one of the values (what a user without
  sweeps does: every run computes its own kernels);
* ``sweep``: one project, one ``snakemake`` call with
  ``sweep={network.drive.nu_ext_Hz: [...]}`` (the four kernels are computed
  once and shared).

Prints the wall times and writes them to ``benchmarks/sweep_vs_single.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ITEMS = ("Snakefile", "workflow", "config", "mod", "morphologies", "profiles", "nestml", "src")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def make_project(destination: Path, build: Path | None) -> Path:
    destination.mkdir(parents=True)
    for item in (*ITEMS, "environment.yml"):
        source = REPO / item
        if source.is_dir():
            shutil.copytree(
                source, destination / item, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / item)
    if build is not None:
        shutil.copytree(build, destination / "build", symlinks=True)
    return destination


def run(project: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=project,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cores", default="2")
    parser.add_argument("--values", default="38,40,42")
    options = parser.parse_args()
    values = [float(value) for value in options.values.split(",")]
    tiny = ("--configfile", "config/tiny.yaml")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first = make_project(root / "build_once", None)
        run(first, "--cores", options.cores, "build/mechanisms")
        build = first / "build"
        single = []
        for index, value in enumerate(values):
            project = make_project(root / f"single_{index}", build)
            config = yaml.safe_load((project / "config" / "tiny.yaml").read_text())
            config.setdefault("network", {}).setdefault("drive", {})["nu_ext_Hz"] = value
            (project / "single.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
            single.append(run(project, "--cores", options.cores, "--configfile", "single.yaml"))
        project = make_project(root / "sweep", build)
        sweep = run(
            project,
            "--cores",
            options.cores,
            *tiny,
            "--config",
            f"sweep={{network.drive.nu_ext_Hz: [{', '.join(map(str, values))}]}}",
        )
    result = {
        "values_nu_ext_Hz": values,
        "cores": int(options.cores),
        "single_runs_s": single,
        "single_runs_total_s": sum(single),
        "sweep_s": sweep,
        "ratio_sweep_to_singles": sweep / sum(single),
    }
    print(json.dumps(result, indent=2))
    (REPO / "benchmarks" / "sweep_vs_single.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
