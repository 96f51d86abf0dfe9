"""Cross-field checks of ``forward`` and ``analysis`` that need no file reader.

The schema checks types, ranges and defaults; the relations between values
of the head model (radii that increase, a column inside the brain along a
valid axis, an MEG around a spherical head) and of the analysis are checked
here, once, on the resolved configuration: :func:`check_forward` and
:func:`check_analysis`, which :mod:`lfpflow.resolve` lists. What needs MNE or
an export package to check (the electrode names a montage or a forward file
offers, EDF/BrainVision writers) is in :mod:`lfpflow.formats.checks`.

The rules the head-model code applies too (the column inside the brain, the
column axis, the MEG's spherical head, montage ``polar``, the head file) are
functions here that both call, so that each is written once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfpflow.config.rules import Problems, names, require

#: Named column axes (``forward.head_model.column_axis``); or a 3-vector.
AXIS_NAMES = ("radial", "tangential", "normal")
#: File suffixes of a lead field (``forward.head_model.lead_field_file``).
LEAD_FIELD_SUFFIXES = (".fif", ".npz", ".h5", ".hdf5")
#: Where the New York Head can be obtained (by the user, never by lfpflow).
NYHEAD_URL = "https://www.parralab.org/nyhead/sa_nyhead.mat"


def _problem(condition: bool, key: str, message: str) -> str | None:
    """The message of :func:`lfpflow.config.rules.require`, or None if ``condition``."""
    problems: Problems = []
    require(condition, key, message, problems)
    return problems[0] if problems else None


def nyhead_missing(path: str | Path) -> str | None:
    """Why the New York Head file cannot be used (None if it exists)."""
    path = Path(path)
    if path.is_file():
        return None
    return (
        f"config key 'forward.head_model.nyhead_file': the New York Head file is expected at "
        f"{path.resolve()} and does not exist; lfpflow never downloads it at run time: get "
        f"sa_nyhead.mat (about 710 MB) from {NYHEAD_URL} and put it there, or set "
        "forward.head_model.nyhead_file to where it is"
    )


def column_position_problem(position_um: Any, brain_radius_um: float) -> str | None:
    """Why a dipole at ``position_um`` (um, sphere-centred) cannot be: outside or at the centre.

    Parameters
    ----------
    position_um : sequence of float
        Position of the column's dipole in the four-sphere head (um).
    brain_radius_um : float
        Radius of the brain sphere (um).
    """
    distance = math.dist(position_um, (0.0, 0.0, 0.0))
    return _problem(
        0 < distance < brain_radius_um,
        "forward.head_model.column_position",
        f"lies {distance:.0f} um from the centre, outside the brain sphere ({brain_radius_um} um) "
        "or at its centre",
    )


def column_axis_problem(axis: Any) -> str | None:
    """Why ``column_axis`` is not an axis: an unknown name or the zero vector."""
    if isinstance(axis, str):
        return _problem(
            axis in AXIS_NAMES,
            "forward.head_model.column_axis",
            f"{axis!r} is not allowed; allowed values: {names(AXIS_NAMES)} or [e1, e2, e3]",
        )
    return _problem(
        any(component != 0 for component in axis),
        "forward.head_model.column_axis",
        "must not be the zero vector",
    )


def meg_head_problem(head_type: str) -> str | None:
    """Why the MEG cannot be computed in a head of type ``head_type`` (None if it can)."""
    return _problem(
        head_type == "four_sphere",
        "forward.meg.enabled",
        f"the MEG needs a spherically symmetric head (forward.head_model.type "
        f"four_sphere), not {head_type!r}",
    )


def polar_position_problem(head: Mapping[str, Any]) -> str | None:
    """Montage ``polar`` places the electrodes from the dipole: no electrode name as position."""
    position = head["column_position"]
    polar = head["type"] == "four_sphere" and head["montage"] == "polar"
    return _problem(
        not polar or not isinstance(position, str),
        "forward.head_model.column_position",
        f"montage polar places the electrodes relative to the dipole: give [x, y, z] "
        f"(um), not the electrode name {position!r}",
    )


def lead_field_file_problems(lead_field_file: str | Path) -> Problems:
    """Why ``forward.head_model.lead_field_file`` cannot be read: unset, absent, its suffix."""
    problems: Problems = []
    path = Path(lead_field_file)
    if not lead_field_file:
        problems.append(
            "config key 'forward.head_model.lead_field_file': required by type "
            "'lead_field' (an MNE -fwd.fif or an .npz/.h5 lead field)"
        )
    elif not path.is_file():
        problems.append(
            f"config key 'forward.head_model.lead_field_file': {path.resolve()} does not exist"
        )
    require(
        path.suffix in LEAD_FIELD_SUFFIXES or not lead_field_file,
        "forward.head_model.lead_field_file",
        f"suffix {path.suffix!r} not allowed; allowed: {names(LEAD_FIELD_SUFFIXES)}",
        problems,
    )
    return problems


def head_file_problems(head: Mapping[str, Any]) -> Problems:
    """The lead-field or New York Head file the head model needs exists."""
    problems: Problems = []
    if head["type"] == "lead_field":
        problems += lead_field_file_problems(head["lead_field_file"])
    elif head["type"] == "nyhead":
        problem = nyhead_missing(head["nyhead_file"])
        problems.extend([problem] if problem else [])
    return problems


def column_problems(head: Mapping[str, Any]) -> Problems:
    """The column lies in the brain, off its centre, along a valid axis."""
    radii, problems = head["radii_um"], []
    position = head["column_position"]
    if head["type"] == "four_sphere" and not isinstance(position, str):
        problem = column_position_problem(position, radii[0])
        problems.extend([problem] if problem else [])
    require(
        head["type"] != "four_sphere" or head["column_depth_um"] < radii[0],
        "forward.head_model.column_depth_um",
        f"{head['column_depth_um']} um must be less than the brain radius ({radii[0]} um)",
        problems,
    )
    problem = column_axis_problem(head["column_axis"])
    return problems + ([problem] if problem else [])


def meg_problems(forward: Mapping[str, Any]) -> Problems:
    """MEG only around a spherical head, with its sensors outside the scalp."""
    head, meg = forward["head_model"], forward["meg"]
    problems: Problems = []
    if meg["enabled"]:
        problem = meg_head_problem(head["type"])
        problems.extend([problem] if problem else [])
        require(
            meg["sensor_radius_um"] > head["radii_um"][-1],
            "forward.meg.sensor_radius_um",
            f"{meg['sensor_radius_um']} um must exceed the scalp radius "
            f"({head['radii_um'][-1]} um)",
            problems,
        )
    return problems


def check_forward(config: Mapping[str, Any]) -> Problems:
    """Head model, its file, column and MEG are consistent.

    Radii increase; the lead-field or New York Head file exists; the column
    lies in the brain along a valid axis; the MEG has a spherical head and
    sensors outside it. The electrode names (read from the montage or file)
    and the export formats are checked by
    :func:`lfpflow.formats.checks.check_eeg_export`.

    Parameters
    ----------
    config : Mapping
        A configuration with schema-valid ``forward`` section.

    Returns
    -------
    Problems
        One message per offending key (empty if none).
    """
    forward = config["forward"]
    head = forward["head_model"]
    radii = head["radii_um"]
    problems: Problems = []
    require(
        all(a < b for a, b in zip(radii, radii[1:], strict=False)),
        "forward.head_model.radii_um",
        f"{radii} must increase (brain, CSF, skull, scalp)",
        problems,
    )
    problems += head_file_problems(head)
    return problems + column_problems(head) + meg_problems(forward)


def check_analysis(config: Mapping[str, Any]) -> Problems:
    """Raster window inside the run; bands increasing; Welch segment fits the data.

    Parameters
    ----------
    config : Mapping
        A configuration with schema-valid ``simulation`` and ``analysis``
        sections (times in ms, bands in Hz).

    Returns
    -------
    Problems
        One message per offending key (empty if none).
    """
    sim, analysis = config["simulation"], config["analysis"]
    problems: Problems = []
    start, stop = analysis["raster_window_ms"]
    require(
        0 <= start < stop <= sim["tstop_ms"],
        "analysis.raster_window_ms",
        f"[{start}, {stop}] must be an increasing window inside [0, {sim['tstop_ms']}] ms",
        problems,
    )
    for band, (low, high) in analysis["bands_Hz"].items():
        require(
            low < high,
            f"analysis.bands_Hz.{band}",
            f"[{low}, {high}] Hz must be an increasing pair [low, high)",
            problems,
        )
    n_analysed = int(round((sim["tstop_ms"] - sim["transient_ms"]) / sim["dt_ms"]))
    require(
        analysis["psd_nperseg"] <= n_analysed,
        "analysis.psd_nperseg",
        f"{analysis['psd_nperseg']} exceeds the {n_analysed} samples after the transient",
        problems,
    )
    return problems
