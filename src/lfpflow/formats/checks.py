"""Cross-field checks of ``forward`` that need MNE, h5py or the export packages.

:func:`lfpflow.signals.checks.check_forward` checks what needs no file reader
(radii, the head file's existence, the column, the MEG). What is left needs
one: the electrode names and the column's electrode must be offered by the
montage (MNE) or by the lead-field (MNE or h5py) or New York Head (h5py) file,
and each export format of ``forward.eeg_export.formats`` needs its package.
:func:`check_eeg_export` checks both; :mod:`lfpflow.resolve` lists it after
:func:`lfpflow.signals.checks.check_forward`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from lfpflow.config.rules import Problems, names, require
from lfpflow.formats.eeg_files import EXPORT_PACKAGES
from lfpflow.signals.checks import head_file_problems, polar_position_problem


def _offered_electrodes(head: Mapping[str, Any]) -> tuple[str, list[str] | None, Problems]:
    """Where the electrodes come from, their names (None: polar), and problems reading them."""
    from lfpflow.formats import heads  # MNE only for named montages and forward files
    from lfpflow.signals.lead_fields import nyhead_electrode_names

    kind, montage = head["type"], head["montage"]
    try:
        if kind == "lead_field":
            electrodes = heads.lead_field_electrode_names(head["lead_field_file"])
            return f"the lead field {head['lead_field_file']}", list(electrodes), []
        if kind == "nyhead":
            electrodes = nyhead_electrode_names(head["nyhead_file"])
            return "the New York Head", list(electrodes), []
        if montage == "polar":
            return "montage polar", None, []
        if montage == "custom":
            return "electrode_positions_um", list(head["electrode_positions_um"]), []
        return f"montage {montage}", list(heads.read_montage(montage).names), []
    except (OSError, ValueError, KeyError) as error:
        message = str(error)
        if "config key" not in message:
            message = f"config key 'forward.head_model': cannot read the electrodes: {message}"
        return "", None, [message]


def _electrode_problems(head: Mapping[str, Any]) -> Problems:
    """Electrode names and the column's electrode belong to the montage or file."""
    where, offered, problems = _offered_electrodes(head)
    position = head["column_position"]
    if head["type"] == "four_sphere" and head["montage"] == "custom":
        require(
            bool(offered),
            "forward.head_model.electrode_positions_um",
            "montage 'custom' needs at least one electrode name -> [x, y, z] (um)",
            problems,
        )
    if offered is None or problems:
        problem = polar_position_problem(head)
        return problems + ([problem] if problem else [])
    unknown = [name for name in head["electrodes"] if name not in offered]
    require(
        not unknown,
        "forward.head_model.electrodes",
        f"{', '.join(map(repr, unknown))} not in {where}; allowed values: {names(offered)}",
        problems,
    )
    require(
        not isinstance(position, str) or position in offered,
        "forward.head_model.column_position",
        f"{position!r} is not an electrode of {where}; allowed values: {names(offered)} "
        "or [x, y, z] (um)",
        problems,
    )
    return problems


def _export_problems(forward: Mapping[str, Any]) -> Problems:
    """Each export format of ``forward.eeg_export.formats`` has its package installed."""
    problems: Problems = []
    for fmt, package in EXPORT_PACKAGES.items():
        require(
            fmt not in forward["eeg_export"]["formats"] or importlib.util.find_spec(package),
            "forward.eeg_export.formats",
            f"'{fmt}' needs the package {package} (pip install {package})",
            problems,
        )
    return problems


def check_eeg_export(config: Mapping[str, Any]) -> Problems:
    """The EEG's electrodes are offered by the montage or file; its exporters are installed.

    The electrode names (``forward.head_model.electrodes``) and the column's
    electrode (``column_position``) must belong to the montage or file, which
    is read only if it exists (:func:`lfpflow.signals.checks.head_file_problems`
    reports it otherwise); each format of ``forward.eeg_export.formats`` needs
    its package (``edfio``, ``pybv``).

    Parameters
    ----------
    config : Mapping
        A configuration with a schema-valid ``forward`` section.

    Returns
    -------
    Problems
        One message per offending key (empty if none).
    """
    forward = config["forward"]
    head = forward["head_model"]
    problems = [] if head_file_problems(head) else _electrode_problems(head)
    return problems + _export_problems(forward)
