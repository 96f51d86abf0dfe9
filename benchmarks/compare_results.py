"""Compare two result trees dataset by dataset: the check that a refactor changed no science.

Usage::

    python benchmarks/compare_results.py OLD_RESULTS NEW_RESULTS [RUN ...]

For each run folder (default: ``default tiny v1``) every HDF5 file below
``OLD_RESULTS/<run>`` (kernels through the run's ``kernels`` link) is matched by
its path relative to the run folder with the file in ``NEW_RESULTS/<run>``; every
dataset must be present in both, with the same shape, dtype and values (NaN equal
to NaN) and the same ``units`` attribute. Provenance attributes (hashes, versions,
creation time) are not compared. Exit status 0 when everything is identical.

Datasets renamed on purpose are listed in :data:`RENAMED` (old name -> new name):
a dataset of the old file under its old name is compared with the new file's
dataset under the new name (same checks), and each such match is printed
(``renamed: ...``), so a rename shows in the report instead of passing silently.
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np

#: Datasets renamed on purpose, old name -> new name (paths inside the file):
#: the kernel files' lag vector (ms), stored as ``tau_ms`` until it was renamed
#: ``lags_ms`` (``kernels.tau_ms`` in the configuration is the half-width).
#: Mirrors lfpflow.signals.kernel_files.RENAMED_DATASETS, copied rather than
#: imported: this script compares trees of different lfpflow versions.
RENAMED = {"tau_ms": "lags_ms"}


def datasets(path: Path) -> dict[str, h5py.Dataset]:
    """Every dataset of an open file, by its path inside the file."""
    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = (obj[()], obj.attrs.get("units"))

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return found


def compare_file(old: Path, new: Path) -> tuple[list[str], list[str]]:
    """Differences between two HDF5 files and the renamed datasets matched.

    Returns
    -------
    tuple of list of str
        The differences (empty when the datasets are identical) and one line per
        dataset of :data:`RENAMED` found under its old name in ``old`` and its
        new name in ``new``, compared under the new name.
    """
    if not new.exists():
        return [f"{new}: missing"], []
    a, b = datasets(old), datasets(new)
    renamed = []
    for old_name, new_name in RENAMED.items():
        if old_name in a and old_name not in b and new_name in b and new_name not in a:
            a[new_name] = a.pop(old_name)
            renamed.append(f"{new}: dataset {old_name} (old) compared with {new_name} (new)")
    problems = [f"{new}: dataset {name} missing" for name in sorted(set(a) - set(b))]
    problems += [f"{new}: extra dataset {name}" for name in sorted(set(b) - set(a))]
    for name in sorted(set(a) & set(b)):
        (x, ux), (y, uy) = a[name], b[name]
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype != y.dtype:
            problems.append(f"{new}:{name}: {x.shape} {x.dtype} -> {y.shape} {y.dtype}")
        elif not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            diff = (
                np.max(np.abs(x.astype(float) - y.astype(float))) if x.dtype.kind in "iufc" else "?"
            )
            problems.append(f"{new}:{name}: values differ (max |diff| {diff})")
        elif ux != uy:
            problems.append(f"{new}:{name}: units {ux!r} -> {uy!r}")
    return problems, renamed


def compare_run(old_root: Path, new_root: Path, run: str) -> tuple[int, list[str], list[str]]:
    """Number of files compared, the differences and the renamed datasets, for one run folder."""
    old_run = old_root / run
    files = sorted(p for p in old_run.rglob("*.h5"))
    if (old_run / "kernels").is_symlink():
        files += sorted((old_run / "kernels").resolve().glob("*.h5"))
    problems: list[str] = []
    renamed: list[str] = []
    for old in files:
        relative = (
            old.relative_to(old_run)
            if old.is_relative_to(old_run)
            else (Path("kernels") / old.name)
        )
        file_problems, file_renamed = compare_file(old, new_root / run / relative)
        problems += file_problems
        renamed += file_renamed
    return len(files), problems, renamed


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    old_root, new_root = Path(argv[0]), Path(argv[1])
    runs = argv[2:] or ["default", "tiny", "v1"]
    status = 0
    for run in runs:
        count, problems, renamed = compare_run(old_root, new_root, run)
        print(f"{run}: {count} HDF5 files compared, {len(problems)} differences")
        for line in renamed:
            print("  renamed: " + line)
        for problem in problems:
            print("  " + problem)
        status |= bool(problems) or count == 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
