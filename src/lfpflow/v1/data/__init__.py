"""Experimental data the V1 model is compared with, shipped as package data.

The CSV files of this folder (provenance in its ``README.md``) are read with
:mod:`importlib.resources`, so they are found wherever ``lfpflow`` is
installed. A ``data_file`` key of the ``v1`` configuration names either one of
these files (a bare file name, the default) or a CSV of the user's (a path
containing ``/``, absolute or relative to the working directory).

This module imports nothing heavy: the workflow calls :func:`locate` while
parsing the rules.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["locate", "packaged_files"]


def packaged_files() -> list[str]:
    """Names of the CSV files shipped in :mod:`lfpflow.v1.data`, sorted."""
    folder = resources.files(__name__)
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".csv"))


def locate(data_file: str) -> Traversable | Path:
    """Where the data named by a ``data_file`` configuration value are.

    Parameters
    ----------
    data_file : str
        A bare file name: one of :func:`packaged_files`. A value containing
        ``/``: a user's file, absolute or relative to the working directory.

    Returns
    -------
    importlib.resources.abc.Traversable or pathlib.Path
        The packaged resource (a :class:`~pathlib.Path` for an ordinary
        installation; use :func:`importlib.resources.as_file` for a real file
        in any case), or the user's path.

    Raises
    ------
    FileNotFoundError
        If a bare name is not one of the packaged files.
    """
    if "/" in data_file:
        return Path(data_file)
    shipped = packaged_files()
    if data_file not in shipped:
        raise FileNotFoundError(
            f"no data file {data_file!r} in lfpflow.v1.data (shipped: {', '.join(shipped)}); "
            "give your own file as a path containing '/'"
        )
    return resources.files(__name__).joinpath(data_file)
