"""The layout keeps the simulator boundaries docs/architecture.md promises (AST scan)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lfpflow"

#: Third-party module -> the subpackages allowed to import it.
ALLOWED = {
    "nest": {"pointneuron"},
    "pynestml": {"pointneuron"},
    "neuron": {"multicompartment"},
    "LFPy": {"multicompartment"},
    "lfpykit": {"multicompartment", "signals"},  # numpy-only head models
    "lfpykernels": {"multicompartment"},
    "matplotlib": {"figures", "v1"},
    "pynwb": {"formats"},
    "hdmf": {"formats"},
    "torch": {"inference"},
    "sbi": {"inference"},
    "mne": {"formats", "figures"},  # EEG files, montages, forwards; topomaps
}

#: lfpflow subpackage -> the lfpflow modules the V1 model may use.
V1_MAY_IMPORT = (
    "lfpflow.v1",
    "lfpflow.io",
    "lfpflow.logs",
    "lfpflow.config.schema",
    "lfpflow.config.checks",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _subpackage(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else ""


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_simulators_are_imported_only_behind_their_boundary(path):
    imported = {name.split(".")[0] for name in _imports(path)}
    for module, allowed in ALLOWED.items():
        if module in imported:
            assert _subpackage(path) in allowed, f"{path.name} imports {module}"


def test_the_v1_model_imports_nothing_of_the_lfp_path():
    for path in (SRC / "v1").rglob("*.py"):
        ours = {name for name in _imports(path) if name.startswith("lfpflow")}
        foreign = {n for n in ours if not n.startswith(V1_MAY_IMPORT) and n != "lfpflow"}
        assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_no_function_is_longer_than_about_80_lines():
    long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 90:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({length})")
    assert not long, long
