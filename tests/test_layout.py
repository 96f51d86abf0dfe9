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

#: The layers of lfpflow (docs/architecture.md), lowest first: each package may
#: import itself and the packages listed for it, nothing else of lfpflow.
_BASE = {"io", "logs"}
_CONFIG = _BASE | {"config"}
_PRODUCT = _CONFIG | {"signals"}
MAY_IMPORT: dict[str, set[str]] = {
    "": set(),  # lfpflow/__init__.py
    "io": set(),
    "logs": set(),
    "config": {"io"},
    "signals": _CONFIG,
    "pointneuron": _PRODUCT,
    "multicompartment": _PRODUCT,
    "formats": _PRODUCT,
    "figures": _PRODUCT,
    "sweep": _CONFIG,
    "inference": _PRODUCT | {"pointneuron", "formats"},
    "v1": _CONFIG,
    "resolve": _PRODUCT
    | {"pointneuron", "multicompartment", "formats", "sweep", "inference", "v1"},
    "cli": _CONFIG | {"resolve"},
}


def _package(module: str) -> str:
    """``lfpflow.config.scopes`` -> ``config``; ``lfpflow`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (in functions too), relative
    imports resolved; ``from a import b`` gives ``a.b``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _lfpflow_imports(path: Path) -> set[str]:
    """The lfpflow modules ``path`` imports (a name imported from a module: that module)."""
    names = {name for name in _imported(path) if name.split(".")[0] == "lfpflow"}
    found = {name if name in _MODULES_BY_NAME else name.rsplit(".", 1)[0] for name in names}
    return found - {_module_name(path)}


MODULES = sorted(SRC.rglob("*.py"))
_MODULES_BY_NAME = {_module_name(path): path for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_simulators_are_imported_only_behind_their_boundary(path):
    imported = {name.split(".")[0] for name in _imported(path)}
    own = _package(_module_name(path))
    for module, allowed in ALLOWED.items():
        if module in imported:
            assert own in allowed, f"{path.name} imports {module}"


def test_every_package_is_known_to_the_layer_table():
    packages = {_package(name) for name in _MODULES_BY_NAME}
    assert packages == set(MAY_IMPORT)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_lfpflow_packages_import_only_lower_layers(path):
    own = _package(_module_name(path))
    allowed = MAY_IMPORT[own] | {own}
    upward = sorted(m for m in _lfpflow_imports(path) if _package(m) not in allowed)
    assert not upward, f"{path.relative_to(SRC)} ({own or 'lfpflow'}) imports {upward}"


def test_the_layer_table_is_a_strict_order():
    """A package may not import one that may import it (no circle between packages)."""
    for package, allowed in MAY_IMPORT.items():
        for other in allowed:
            assert package not in MAY_IMPORT[other], f"{package} <-> {other}"


def _import_circles() -> list[list[str]]:
    """Strongly connected sets of more than one module in the import graph (Tarjan)."""
    graph = {
        name: _lfpflow_imports(path) & set(_MODULES_BY_NAME)
        for name, path in _MODULES_BY_NAME.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle_between_modules():
    assert not _import_circles()


def test_no_module_is_longer_than_about_700_lines():
    long = [
        f"{path.relative_to(SRC)} ({n})"
        for path in MODULES
        if (n := len(path.read_text().splitlines())) > 700
    ]
    assert not long, long


def test_no_function_is_longer_than_about_80_lines():
    long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({length})")
    assert not long, long
