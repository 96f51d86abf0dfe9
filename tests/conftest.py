"""Shared fixtures: the repository root and small resolved configurations."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from lfpflow.config import load_yaml
from lfpflow.resolve import resolve_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_config() -> dict:
    return resolve_config(load_yaml(REPO / "config" / "config.yaml"))


@pytest.fixture(scope="session")
def _tiny_config() -> dict:
    return resolve_config(load_yaml(REPO / "config" / "tiny.yaml"))


@pytest.fixture
def tiny_config(_tiny_config) -> dict:
    """A fresh copy of config/tiny.yaml, resolved, that a test may modify."""
    return copy.deepcopy(_tiny_config)


def _is_current_nestml_build(folder: Path, model_file: Path, module: str) -> bool:
    """Whether ``folder`` holds a module built from the current model file."""
    from lfpflow.pointneuron.nestml_build import BUILD_INFO

    try:
        info = json.loads((folder / BUILD_INFO).read_text())
    except (OSError, ValueError):
        return False
    entry = info.get("models", {}).get(model_file.name, {})
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    return (
        info.get("module_name") == module
        and entry.get("sha256") == digest
        and (folder / f"{module}.so").is_file()
    )


@pytest.fixture(scope="session")
def nestml_module_dir(tmp_path_factory) -> Path:
    """Our NESTML module: the workflow's build/nestml if it is current, else built once."""
    pytest.importorskip("pynestml")
    from lfpflow.pointneuron.catalogue import NESTML_MODULE
    from lfpflow.pointneuron.nestml_build import NESTML_BUILD_DIR, build_nest_module

    model_file = REPO / "nestml" / "izhikevich2007_cond.nestml"
    prebuilt = REPO / NESTML_BUILD_DIR
    if _is_current_nestml_build(prebuilt, model_file, NESTML_MODULE):
        return prebuilt
    target = tmp_path_factory.mktemp("nestml") / "nestml"
    return build_nest_module([model_file], target, module_name=NESTML_MODULE).parent
