"""Head models built from files: what MNE reads, handed to :mod:`lfpflow.signals.head_models`.

:mod:`lfpflow.signals` imports no file-format library: a named MNE montage
(``forward.head_model.montage``: ``standard_1020``, ...) and an MNE forward
solution (``forward.head_model.lead_field_file``: ``-fwd.fif``) are read here,
by MNE (:mod:`lfpflow.formats.mne_eeg`, imported only when needed), and given
to the signals' head-model functions as a
:class:`~lfpflow.signals.electrodes.Montage` or a
:class:`~lfpflow.signals.lead_fields.LeadField`. :func:`sensor_maps` is the
one call a caller above :mod:`lfpflow.signals` needs: the maps from a
configuration, whatever its head model; pass them to
:func:`lfpflow.signals.forward.compute_signals`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfpflow.signals import head_models, lead_fields
from lfpflow.signals.electrodes import Montage
from lfpflow.signals.head_models import OWN_MONTAGES, SensorMaps
from lfpflow.signals.lead_fields import LeadField


def read_montage(name: str) -> Montage:
    """The electrodes and fiducials of a built-in MNE montage (m, MNE's head frame)."""
    from lfpflow.formats.mne_eeg import montage_positions

    names, positions_m, fiducials_m = montage_positions(name)
    return Montage(name, names, positions_m, fiducials_m)


def read_lead_field(path: str | Path) -> LeadField:
    """Read a lead field: an MNE forward solution (``-fwd.fif``) or an NPZ/HDF5 file.

    An MNE forward solution (free source orientation; its EEG channels) is
    read by :func:`lfpflow.formats.mne_eeg.read_forward_lead_field`, the others
    by :func:`lfpflow.signals.lead_fields.read_lead_field` (which documents
    their layout).

    Returns
    -------
    LeadField
        Positions in um, gain in uV per nA um; the file's head frame is the
        head-model frame.
    """
    path = lead_fields.checked_lead_field_path(path)
    if path.suffix != ".fif":
        return lead_fields.read_lead_field(path)
    from lfpflow.formats.mne_eeg import read_forward_lead_field  # MNE reads its own files

    arrays = read_forward_lead_field(path)
    return lead_fields.lead_field_from_arrays(arrays, f"lead-field file {path}")


def lead_field_electrode_names(path: str | Path) -> tuple[str, ...]:
    """Electrode names of a lead-field file (for checking a configuration)."""
    path = Path(path)
    if path.suffix == ".fif":
        from lfpflow.formats.mne_eeg import read_forward_lead_field

        return tuple(read_forward_lead_field(path)["electrode_names"])
    return lead_fields.lead_field_electrode_names(path)


def head_inputs(head: Mapping[str, Any]) -> dict[str, Any]:
    """What the head model ``head`` needs read from files, as keyword arguments.

    ``montage`` for a four-sphere head with a named MNE montage,
    ``lead_field`` for type ``lead_field``; nothing otherwise (the New York
    Head is read by LFPykit).
    """
    if head["type"] == "four_sphere" and head["montage"] not in OWN_MONTAGES:
        return {"montage": read_montage(head["montage"])}
    if head["type"] == "lead_field":
        return {"lead_field": read_lead_field(head["lead_field_file"])}
    return {}


def sensor_maps(head: Mapping[str, Any], meg: Mapping[str, Any] | None = None) -> SensorMaps:
    """The EEG (and MEG) maps of the configured head, files read.

    Parameters
    ----------
    head : Mapping
        ``config["forward"]["head_model"]`` (resolved).
    meg : Mapping, optional
        ``config["forward"]["meg"]``; no MEG when None or not ``enabled``.
    """
    return head_models.sensor_maps(head, meg, **head_inputs(head))
