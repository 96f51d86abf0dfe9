"""HDF5/JSON writing: round trip with units and provenance, atomicity."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from lfpflow import io


def test_h5_round_trip_with_units_and_provenance(tmp_path, tiny_config):
    path = tmp_path / "out.h5"
    lfp = np.arange(12.0).reshape(3, 4)
    content = {
        "t_ms": io.Dataset(np.arange(4) * 0.5, "ms"),
        "LFP": io.Dataset(lfp, "mV"),
        "contributions": {"E_I": {"LFP": io.Dataset(-lfp, "mV")}},
    }
    attrs = io.provenance(tiny_config, n_vp=2, radii=np.array([1.0, 2.0]))
    io.write_h5(path, content, attrs=attrs)
    data = io.read_h5(path)
    np.testing.assert_array_equal(data["LFP"], lfp)
    np.testing.assert_array_equal(data["contributions"]["E_I"]["LFP"], -lfp)
    assert data["units"] == {"t_ms": "ms", "LFP": "mV", "contributions/E_I/LFP": "mV"}
    assert data["attrs"]["config_sha256"] == io.config_sha256(tiny_config)
    assert data["attrs"]["seed"] == tiny_config["seed"]
    assert data["attrs"]["n_vp"] == 2
    assert data["attrs"]["radii"] == [1.0, 2.0]
    assert data["attrs"]["version_numpy"] == np.__version__
    assert data["attrs"]["version_h5py"] == h5py.__version__
    assert list(tmp_path.iterdir()) == [path], "no temporary file may be left behind"


def test_config_hash_ignores_key_order_but_not_values():
    a = {"x": 1, "y": {"b": 2.0, "a": [1, 2]}}
    b = {"y": {"a": [1, 2], "b": 2.0}, "x": 1}
    assert io.config_sha256(a) == io.config_sha256(b)
    b["y"]["b"] = 2.5
    assert io.config_sha256(a) != io.config_sha256(b)


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "broken.h5"
    with pytest.raises(TypeError):
        io.write_h5(path, {"bad": np.ones(3)}, attrs={})
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_rewrite(tmp_path):
    path = tmp_path / "keep.json"
    io.write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        io.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert list(tmp_path.iterdir()) == [path]


def test_source_date_epoch_makes_files_byte_identical(tmp_path, monkeypatch, tiny_config):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path in paths:
        io.write_h5(
            path,
            {"x": io.Dataset(np.linspace(0, 1, 50), "ms"), "g": {"y": io.Dataset([1, 2], "1")}},
            attrs=io.provenance(tiny_config),
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert io.read_h5(paths[0])["attrs"]["created_utc"] == "2023-11-14T22:13:20+00:00"


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    path = tmp_path / "x.json"
    io.write_json(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
