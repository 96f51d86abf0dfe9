"""Names of a run's EEG files, in one place, without importing MNE.

``snakemake eeg`` writes, for each run, into ``results/<run>/eeg/``:

- ``<stem>_raw.fif``: the MNE Raw file (EEG in V, MEG in T);
- ``<stem>.edf`` and/or ``<stem>.vhdr`` (+ ``.vmrk``, ``.eeg``), the exports
  of ``forward.eeg_export.formats``;

with ``<stem>`` the last part of the run's folder (:func:`run_stem`: the run
name; ``<label>-<hash>`` for a sweep point). The workflow's rules and
:mod:`lfpflow.formats.mne_eeg` take the names from here.
"""

from __future__ import annotations

#: Suffix of the MNE Raw file after the stem (MNE's convention: names end in ``raw.fif``).
RAW_FIF_SUFFIX = "_raw.fif"
#: ``forward.eeg_export.formats`` -> the suffixes of the files it writes; the first
#: names the file the workflow asks for (the header, for BrainVision).
EXPORT_SUFFIXES = {"edf": (".edf",), "brainvision": (".vhdr", ".vmrk", ".eeg")}
#: ``forward.eeg_export.formats`` -> the package MNE's exporter needs for it.
EXPORT_PACKAGES = {"edf": "edfio", "brainvision": "pybv"}


def run_stem(run: str) -> str:
    """The last part of a run's folder: ``default`` for ``default``, ``<label>-<hash>``
    for the sweep point ``<name>/<label>-<hash>``."""
    return run.rsplit("/", 1)[-1]


def eeg_file_pattern(suffix: str) -> str:
    """The Snakemake pattern ``results/{run}/eeg/{stem}<suffix>`` of an EEG file."""
    return f"results/{{run}}/eeg/{{stem}}{suffix}"


def eeg_paths(run: str, formats: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The Raw ``.fif`` of a run and the file the workflow asks for of each export format.

    Parameters
    ----------
    run : str
        The run's folder under ``results/``.
    formats : sequence of str
        ``forward.eeg_export.formats`` (keys of :data:`EXPORT_SUFFIXES`).
    """
    folder = f"results/{run}/eeg/{run_stem(run)}"
    return [
        f"{folder}{RAW_FIF_SUFFIX}",
        *(f"{folder}{EXPORT_SUFFIXES[fmt][0]}" for fmt in formats),
    ]
