"""Exports of a run's results to community file formats.

:mod:`lfpflow.formats.nwb` (with its parts ``nwb_*``) writes a run's spikes and
signals as one Neurodata Without Borders (NWB 2) file; they are the only modules
that import pynwb and hdmf. :mod:`lfpflow.formats.mne_eeg` writes MNE Raw files
and reads montages and forward solutions; :mod:`lfpflow.formats.heads` builds the
sensor maps of :mod:`lfpflow.signals.head_models` from those files.
:func:`nwb_path` (here, so that the Snakefile can name the files without
importing pynwb) gives the file of a run.
"""

from __future__ import annotations

from lfpflow.formats.eeg_files import run_stem


def nwb_path(run: str) -> str:
    """The NWB file of a run: ``results/<run>/<last part of run>.nwb``.

    ``results/default/default.nwb`` for the run ``default``;
    ``results/<name>/<label>-<hash>/<label>-<hash>.nwb`` for a sweep point.
    """
    return f"results/{run}/{run_stem(run)}.nwb"
