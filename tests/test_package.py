"""Package-level promises: importing lfpflow loads no simulator; a wheel stands alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml


def test_importing_every_module_loads_no_simulator():
    code = """
import importlib, pkgutil, sys
import lfpflow
for module in pkgutil.walk_packages(lfpflow.__path__, "lfpflow."):
    importlib.import_module(module.name)
heavy = sorted(n for n in ("nest", "neuron", "LFPy", "lfpykernels", "pynestml") if n in sys.modules)
print(",".join(heavy))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"imported at import time: {result.stdout.strip()}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "modules",
    [
        "lfpflow.config.scaling, lfpflow.config.rules",  # what products' numpy code uses
        "lfpflow.pointneuron.network, lfpflow.signals.spikes",  # the network rule
        "lfpflow.multicompartment.checks",  # the ground truth's numpy description
    ],
)
def test_light_modules_do_not_load_the_schema_validator_or_the_simulation(modules):
    """A rule script pays only for what it uses: no jsonschema/yaml before NEST starts,
    no scipy and no ground-truth simulation code for the configuration checks."""
    code = f"""
import sys
import {modules}
loaded = ("jsonschema", "yaml", "scipy", "lfpflow.multicompartment.groundtruth.simulation")
print(",".join(sorted(name for name in loaded if name in sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{modules} loaded {result.stdout.strip()}"


def test_a_built_wheel_validates_a_configuration_on_its_own(tmp_path, repo):
    """A non-editable install carries its schemas and data: validate works from anywhere."""
    source = tmp_path / "source"
    # a copy of the tracked files, so the build leaves nothing in the repository
    files = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        if (repo / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, source / name)
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    wheel = next(wheels.glob("lfpflow-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("run_name: elsewhere\npopulations: {E: {size: 77}}\n")
    # the cells are the project's files (morphologies/ beside the overlay), not the
    # package's: validation reads them, so the project folder needs them
    (tmp_path / "morphologies").mkdir()
    for cell in ("BallAndSticks_E.hoc", "BallAndSticks_I.hoc"):
        shutil.copy2(repo / "morphologies" / cell, tmp_path / "morphologies" / cell)
    code = (
        "import sys, lfpflow, lfpflow.cli; "
        "print(lfpflow.__file__); "
        "sys.exit(lfpflow.cli.main(['validate', sys.argv[1]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(overlay)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith(str(target)), f"imported {first}, not the installed wheel"
    resolved = yaml.safe_load("\n".join(rest))
    assert resolved["run_name"] == "elsewhere"
    assert resolved["populations"]["E"]["size"] == 77
    assert resolved["v1"]["seed"] == 20250917
    data = [p.name for p in (target / "lfpflow" / "v1" / "data").glob("*.csv")]
    assert len(data) == 2, data
