"""Exports of a run's results to community file formats.

:mod:`lfpflow.formats.nwb` writes a run's spikes and signals as one
Neurodata Without Borders (NWB 2) file; it is the only module that imports
pynwb and hdmf. :func:`nwb_path` (here, so that the Snakefile can name the
files without importing pynwb) gives the file of a run.
"""

from __future__ import annotations


def nwb_path(run: str) -> str:
    """The NWB file of a run: ``results/<run>/<last part of run>.nwb``.

    ``results/default/default.nwb`` for the run ``default``;
    ``results/<name>/<label>-<hash>/<label>-<hash>.nwb`` for a sweep point.
    """
    return f"results/{run}/{run.rsplit('/', 1)[-1]}.nwb"
