"""The lfpflow command line."""

from __future__ import annotations

import numpy as np
import yaml

from lfpflow import io
from lfpflow.cli import main


def test_inspect_lists_datasets_units_and_provenance(tmp_path, capsys, tiny_config):
    path = tmp_path / "x.h5"
    io.write_h5(
        path,
        {"LFP": io.Dataset(np.zeros((13, 5)), "mV"), "g": {"t_ms": io.Dataset([1.0], "ms")}},
        attrs=io.provenance(tiny_config),
    )
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "LFP" in out and "(13, 5)" in out and "[mV]" in out
    assert "g/t_ms" in out and "[ms]" in out
    assert f"config_sha256 = {io.config_sha256(tiny_config)}" in out


def test_validate_reports_bad_key(tmp_path, capsys, repo):
    config = yaml.safe_load((repo / "config" / "tiny.yaml").read_text())
    config["simulation"]["n_vp"] = -2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["validate", str(path)]) == 1
    assert "simulation.n_vp" in capsys.readouterr().err
    assert main(["validate", str(repo / "config" / "tiny.yaml")]) == 0
    assert "run_name: tiny" in capsys.readouterr().out


def test_readme_lists_the_current_catalogue(repo):
    from lfpflow.pointneuron.catalogue import catalogue_table

    assert catalogue_table() in (repo / "README.md").read_text()
