"""Morphology files: formats, where they are, and a light reader for validation.

The multicompartment cells (kernels and ground truth) are loaded by LFPy,
which reads ``.hoc`` files with NEURON's interpreter and ``.swc`` and ``.asc``
(Neurolucida) files with NEURON's Import3d. Before anything runs, the
configuration check (:mod:`lfpflow.multicompartment.checks`) reads every morphology
with the light parsers here, without NEURON: the file must exist, be in a
known format, describe a soma, and have the sections the synapse positions
name. Section names are those NEURON gives after import:

* ``.swc``: type 1 ``soma``, 2 ``axon``, 3 ``dend`` (basal), 4 ``apic``;
* ``.asc``: ``(CellBody)`` ``soma``, ``(Axon)`` ``axon``, ``(Dendrite)``
  ``dend``, ``(Apical)`` ``apic``;
* ``.hoc``: the names of the ``create`` statements (``create soma[1], dend[3]``).

Two ``.hoc`` styles load: files written for a cell template, appending each
section to the template's ``all`` list (our ``BallAndSticks_*.hoc``), and
plain files that only create, shape and connect sections (as for
``LFPy.Cell``); :mod:`lfpflow.multicompartment.cells` collects the sections
of the latter. NeuroML is not offered: LFPy 2.3 reads ``.xml`` only through
NEURON's MorphML (NeuroML 1) importer, which we have not tested.

Coordinates are um; z is depth, positive towards the pial surface.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

#: File extension -> format name, of the morphology formats the cells load.
MORPHOLOGY_FORMATS: dict[str, str] = {".hoc": "hoc", ".swc": "swc", ".asc": "asc"}

#: Section names a morphology can have after import (NEURON's Import3d names).
SECTION_NAMES = ("soma", "dend", "apic", "axon")

#: SWC structure type -> section name (types 1-4 of the SWC standard).
SWC_TYPES = {1: "soma", 2: "axon", 3: "dend", 4: "apic"}

#: Neurolucida block marker -> section name.
ASC_MARKERS = {"CellBody": "soma", "Axon": "axon", "Dendrite": "dend", "Apical": "apic"}

#: Environment variable that overrides the morphology folder.
MORPHOLOGY_DIR_ENV = "LFPFLOW_MORPHOLOGY_DIR"


class MorphologyError(ValueError):
    """A morphology file that cannot be used (missing, unknown format, unreadable)."""


@dataclass(frozen=True)
class Morphology:
    """What the light reader found in a morphology file.

    Attributes
    ----------
    path : Path
        The file.
    format : str
        ``hoc``, ``swc`` or ``asc``.
    sections : tuple of str
        Section names present (sorted), from :data:`SECTION_NAMES`.
    z_range_um : dict
        Section name -> (lowest, highest) z of its points (um, file
        coordinates); only the sections whose points the reader found.
    soma_z_um : float or None
        Middle of the soma's z extent (um, file coordinates), if found.
    """

    path: Path
    format: str
    sections: tuple[str, ...]
    z_range_um: dict[str, tuple[float, float]]
    soma_z_um: float | None

    def depth_range_um(self, name: str, soma_depth_um: float) -> tuple[float, float] | None:
        """Extent (um) of section ``name`` when the soma centre is at ``soma_depth_um``."""
        if name not in self.z_range_um or self.soma_z_um is None:
            return None
        low, high = self.z_range_um[name]
        shift = soma_depth_um - self.soma_z_um
        return low + shift, high + shift


def morphology_dir(folder: str | Path | None = None) -> Path:
    """The folder of the morphology files.

    The one place that decides it: the configuration checks, the kernel
    rule and the ground truth (:mod:`lfpflow.multicompartment.kernels`,
    :mod:`lfpflow.multicompartment.groundtruth`, ``workflow/rules/*.smk``)
    all read the morphologies from here. ``$LFPFLOW_MORPHOLOGY_DIR`` if set,
    else ``morphologies/`` in the working directory (Snakemake runs in the
    project folder), else the project's ``morphologies/`` next to ``src/``
    (editable install).

    Parameters
    ----------
    folder : path-like, optional
        A folder given explicitly (a function's ``morphology_dir`` argument);
        returned as it is. None: the folder described above.

    Returns
    -------
    Path
        The folder (it may not exist; reading a file from it then fails).
    """
    if folder is not None:
        return Path(folder)
    if os.environ.get(MORPHOLOGY_DIR_ENV):
        return Path(os.environ[MORPHOLOGY_DIR_ENV])
    local = Path.cwd() / "morphologies"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[3] / "morphologies"


def workflow_morphology_dir() -> str:
    """:func:`morphology_dir` as the workflow names it in rule inputs and params.

    Relative to the working directory when it lies inside it (Snakemake's
    paths are relative to the project folder), else absolute.
    """
    path, workdir = morphology_dir().absolute(), Path.cwd()
    return str(path.relative_to(workdir)) if path.is_relative_to(workdir) else str(path)


def morphology_format(file_name: str) -> str:
    """Format of a morphology file from its extension (case-insensitive).

    Raises
    ------
    MorphologyError
        If the extension is not one of :data:`MORPHOLOGY_FORMATS`.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix not in MORPHOLOGY_FORMATS:
        raise MorphologyError(
            f"{file_name!r} has an unknown morphology format {suffix or '(no extension)'!r}; "
            f"allowed extensions: {', '.join(MORPHOLOGY_FORMATS)}"
        )
    return MORPHOLOGY_FORMATS[suffix]


def read_morphology(path: str | Path) -> Morphology:
    """Read a morphology file's sections and extents, without NEURON.

    Parameters
    ----------
    path : path-like
        A ``.hoc``, ``.swc`` or ``.asc`` file.

    Returns
    -------
    Morphology

    Raises
    ------
    MorphologyError
        If the format is unknown, the file is missing or unreadable, it does
        not parse, or it has no soma.
    """
    path = Path(path)
    fmt = morphology_format(path.name)
    stat = _stat(path)
    return _read_cached(str(path.resolve()), fmt, stat.st_mtime_ns, stat.st_size)


def _stat(path: Path) -> os.stat_result:
    try:
        if not path.is_file():
            raise MorphologyError(
                f"no file {path} (give a {', '.join(MORPHOLOGY_FORMATS)} file in {path.parent})"
            )
        return path.stat()
    except OSError as error:
        raise MorphologyError(f"cannot read {path}: {error}") from error


@functools.lru_cache(maxsize=128)
def _read_cached(path: str, fmt: str, mtime_ns: int, size: int) -> Morphology:
    """Parse once per file version (the checks read a file for every pathway)."""
    del mtime_ns, size  # part of the cache key only
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as error:
        raise MorphologyError(f"cannot read {path}: {error}") from error
    reader = {"hoc": _parse_hoc, "swc": _parse_swc, "asc": _parse_asc}[fmt]
    points = reader(text, path)
    if "soma" not in points:
        raise MorphologyError(f"{path} has no soma (LFPy places and records a cell by its soma)")
    z_range = {name: (min(z), max(z)) for name, z in points.items() if z}
    soma_z = points["soma"]
    return Morphology(
        path=Path(path),
        format=fmt,
        sections=tuple(sorted(points)),
        z_range_um=z_range,
        soma_z_um=(min(soma_z) + max(soma_z)) / 2 if soma_z else None,
    )


def _parse_swc(text: str, path: str) -> dict[str, list[float]]:
    """Section name -> z of its points, from SWC rows ``id type x y z r parent``."""
    points: dict[str, list[float]] = {}
    ids: set[int] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        row = line.split("#", 1)[0].split()
        if not row:
            continue
        try:
            if len(row) != 7:
                raise ValueError(f"{len(row)} columns, expected 7")
            node, kind, parent = int(row[0]), int(row[1]), int(row[6])
            z = float(row[4])
            [float(value) for value in row[2:6]]
        except ValueError as error:
            raise MorphologyError(f"{path}, line {number}: not an SWC row ({error})") from error
        if kind not in SWC_TYPES:
            raise MorphologyError(
                f"{path}, line {number}: SWC type {kind} is not supported; allowed types: "
                + ", ".join(f"{t} ({n})" for t, n in SWC_TYPES.items())
            )
        if parent != -1 and parent not in ids:
            raise MorphologyError(
                f"{path}, line {number}: parent {parent} is not an earlier sample"
            )
        ids.add(node)
        points.setdefault(SWC_TYPES[kind], []).append(z)
    if not ids:
        raise MorphologyError(f"{path}: no SWC samples")
    return points


_ASC_POINT = re.compile(
    r"\(\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s+([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s+"
    r"([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s+([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*\)"
)


def _asc_blocks(text: str, path: str) -> list[str]:
    """The top-level parenthesised blocks of a Neurolucida file (comments removed)."""
    text = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    text = re.sub(r'"[^"]*"', '""', text)  # names may hold parentheses
    blocks, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = index
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise MorphologyError(f"{path}: unbalanced ')' at character {index}")
            if depth == 0:
                blocks.append(text[start : index + 1])
    if depth != 0:
        raise MorphologyError(f"{path}: {depth} unclosed '(' at the end of the file")
    return blocks


def _parse_asc(text: str, path: str) -> dict[str, list[float]]:
    """Section name -> z of its points, from the typed top-level blocks."""
    points: dict[str, list[float]] = {}
    for block in _asc_blocks(text, path):
        markers = [m for m in ASC_MARKERS if re.search(rf"\(\s*{m}\s*\)", block)]
        if not markers:
            continue  # e.g. (ImageCoords ...), markers, contours we do not use
        z = [float(match.group(3)) for match in _ASC_POINT.finditer(block)]
        if not z:
            raise MorphologyError(f"{path}: a ({markers[0]}) block has no (x y z d) points")
        points.setdefault(ASC_MARKERS[markers[0]], []).extend(z)
    if not points:
        raise MorphologyError(f"{path}: no (CellBody), (Axon), (Dendrite) or (Apical) block found")
    return points


_HOC_CREATE = re.compile(r"^\s*create\s+([^/\n]+)", re.MULTILINE)
_HOC_NAME = re.compile(r"^([A-Za-z_]\w*)\s*(?:\[\s*\d+\s*\])?$")
_HOC_PT3D = re.compile(r"pt3dadd\(\s*([^,]+),\s*([^,]+),\s*([^,]+),")
_HOC_BLOCK = re.compile(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*\{([^{}]*)\}")


def _parse_hoc(text: str, path: str) -> dict[str, list[float]]:
    """Section name -> z of its ``pt3dadd`` points, from ``create`` statements.

    Only literal ``pt3dadd`` coordinates inside ``name { ... }`` blocks are
    read for the extents; the names come from ``create`` statements.
    """
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    text = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    names: list[str] = []
    for statement in _HOC_CREATE.findall(text):
        for item in statement.split(","):
            match = _HOC_NAME.match(item.strip())
            if match is None:
                raise MorphologyError(
                    f"{path}: cannot read the section {item.strip()!r} of 'create {statement}'"
                )
            names.append(match.group(1))
    if not names:
        raise MorphologyError(f"{path}: no 'create' statement (no sections)")
    unknown = sorted(set(names) - set(SECTION_NAMES))
    if unknown:
        raise MorphologyError(
            f"{path}: section names {unknown} are not supported; allowed names: "
            f"{', '.join(SECTION_NAMES)}"
        )
    points: dict[str, list[float]] = {name: [] for name in names}
    for name, body in _HOC_BLOCK.findall(text):
        if name in points:
            for match in _HOC_PT3D.finditer(body):
                try:
                    points[name].append(float(match.group(3)))
                except ValueError:
                    continue  # an expression, not a literal: extent unknown
    return points


# --------------------------------------------------------------------------
# writing simple morphologies (unbranched sticks)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stick:
    """An unbranched section: 3D points with diameters, attached to a parent.

    Attributes
    ----------
    name : str
        ``soma``, ``dend``, ``apic`` or ``axon``.
    points : tuple of (x, y, z, diameter)
        In um, from the attachment point on.
    parent : int or None
        Index of the parent stick in the cell's list (None: the soma).
    parent_end : float
        Where on the parent it attaches: 0 (start) or 1 (end).
    """

    name: str
    points: tuple[tuple[float, float, float, float], ...]
    parent: int | None = None
    parent_end: float = 1.0


def _hoc_names(sticks: list[Stick]) -> list[str]:
    """hoc name of every stick: ``soma`` if alone of its kind, else ``dend[2]``."""
    counts = {name: sum(s.name == name for s in sticks) for name in {s.name for s in sticks}}
    seen: dict[str, int] = {}
    names = []
    for stick in sticks:
        index = seen.get(stick.name, 0)
        seen[stick.name] = index + 1
        names.append(stick.name if counts[stick.name] == 1 else f"{stick.name}[{index}]")
    return names


def hoc_text(sticks: list[Stick], *, template_style: bool = True, header: str = "") -> str:
    """A ``.hoc`` file of the sticks (geometry only).

    ``template_style`` appends every section to the template's ``all`` list
    (as our ``BallAndSticks_*.hoc``); otherwise the file only creates, shapes
    and connects sections (plain style).
    """
    names = _hoc_names(sticks)
    kinds = list(dict.fromkeys(s.name for s in sticks))
    created = [
        kind
        if sum(s.name == kind for s in sticks) == 1
        else f"{kind}[{sum(s.name == kind for s in sticks)}]"
        for kind in kinds
    ]
    lines = [f"/* {line} */" for line in header.splitlines() if line.strip()]
    lines.append(f"create {', '.join(created)}")
    for name, stick in zip(names, sticks, strict=True):
        lines.append(f"{name} {{")
        lines.append("    pt3dclear()")
        lines += [f"    pt3dadd({x:g}, {y:g}, {z:g}, {d:g})" for x, y, z, d in stick.points]
        lines.append("}")
    for name, stick in zip(names, sticks, strict=True):
        if stick.parent is not None:
            lines.append(f"connect {name}(0), {names[stick.parent]}({stick.parent_end:g})")
    if template_style:
        lines += [f"{name} {{ all.append() }}" for name in names]
    return "\n".join(lines) + "\n"


def swc_text(sticks: list[Stick], *, header: str = "") -> str:
    """An ``.swc`` file of the sticks (soma first; types 1 soma, 2 axon, 3 dend, 4 apic)."""
    types = {name: kind for kind, name in SWC_TYPES.items()}
    rows: list[str] = [f"# {line}" for line in header.splitlines() if line.strip()]
    ends: list[tuple[int, int]] = []  # first and last sample id of every stick
    next_id = 1
    for stick in sticks:
        if stick.parent is None:
            parent_id = -1
        else:
            first, last = ends[stick.parent]
            parent_id = last if stick.parent_end > 0.5 else first
        # every point, the first too: Import3d gives a child section the
        # parent's position but its own first diameter only from its own sample
        points = stick.points
        first_id = next_id
        for x, y, z, d in points:
            rows.append(f"{next_id} {types[stick.name]} {x:g} {y:g} {z:g} {d / 2:g} {parent_id}")
            parent_id = next_id
            next_id += 1
        ends.append((first_id, next_id - 1))
    return "\n".join(rows) + "\n"


def asc_text(sticks: list[Stick], *, header: str = "") -> str:
    """A Neurolucida ``.asc`` file: the soma as a closed contour, each other stick a tree.

    The soma stick (the first) becomes the outline of its cylinder in the x-z
    plane, which NEURON's Import3d turns back into a soma section; every other
    stick must hang from the soma.
    """
    markers = {name: marker for marker, name in ASC_MARKERS.items()}
    soma = sticks[0]
    (x0, y0, z0, d0), (_, _, z1, d1) = soma.points[0], soma.points[-1]
    outline = [(x0 - d0 / 2, z0), (x0 + d0 / 2, z0), (x0 + d1 / 2, z1), (x0 - d1 / 2, z1)]
    lines = [f"; {line}" for line in header.splitlines() if line.strip()]
    lines += ['("CellBody"', "  (Closed)", "  (CellBody)"]
    lines += [f"  ({x:g} {y0:g} {z:g} 0)" for x, z in outline + outline[:1]]
    lines.append(")")
    for stick in sticks[1:]:
        if stick.parent != 0:
            raise ValueError("asc_text writes sticks hanging from the soma only")
        lines.append(f"( ({markers[stick.name]})")
        lines += [f"  ({x:g} {y:g} {z:g} {d:g})" for x, y, z, d in stick.points]
        lines += ["  Normal", ")"]
    return "\n".join(lines) + "\n"
