"""Shared fixtures: the repository root and small resolved configurations."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lfpflow.config import load_yaml, resolve_config

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
