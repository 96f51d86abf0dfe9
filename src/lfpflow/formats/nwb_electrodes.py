"""Electrodes, sensors and head model of the NWB export (positions in um).

Two electrode groups, each with its device: the ``laminar_probe`` (one row
per contact) and the ``EEG`` scalp electrodes. Positions are in ``rel_x``,
``rel_y``, ``rel_z`` (micrometres, the unit the NWB schema prescribes), each
in its group's frame: the column frame for the probe (contacts on the column
axis at depth ``z_um``), the head frame of the four-sphere model for the scalp
(origin at the centre of the spheres). The atlas columns ``x``, ``y``, ``z``
are left out: a simulated column has no place in an atlas. ``MEG_sensors``
(positions, um, head frame) and ``head_model`` (radii and conductivities of
the four spheres) are tables of ``processing/ecephys``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

#: Where the potentials are referred to (LFP and EEG electrodes).
REFERENCE = "zero at infinity (model potential)"


def _add_electrodes(
    nwbfile: NWBFile,
    *,
    device: Mapping[str, str],
    group: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
    region: str,
) -> DynamicTableRegion:
    """A device, its electrode group and one electrode per row; the table region of the rows.

    ``device``: name and description; ``group``: name, description and
    location; each row: ``location``, ``rel_x``, ``rel_y``, ``rel_z`` (um).
    """
    electrode_group = nwbfile.create_electrode_group(
        device=nwbfile.create_device(**device), **group
    )
    first = len(nwbfile.electrodes) if nwbfile.electrodes is not None else 0
    for row in rows:
        nwbfile.add_electrode(group=electrode_group, reference=REFERENCE, **row)
    return nwbfile.create_electrode_table_region(
        region=list(range(first, first + len(rows))), description=region
    )


def add_probe(nwbfile: NWBFile, z_um: np.ndarray) -> DynamicTableRegion:
    """The laminar probe: device, electrode group and one electrode per contact.

    Parameters
    ----------
    nwbfile : NWBFile
        The file being built (its electrodes table is still empty).
    z_um : numpy.ndarray
        Contact depths along the column axis (um), as ``z_um`` of ``signals.h5``.

    Returns
    -------
    DynamicTableRegion
        The probe's rows of the electrodes table, in the order of ``z_um``.
    """
    rows = [
        {"location": "simulated cortical column", "rel_x": 0.0, "rel_y": 0.0, "rel_z": float(z)}
        for z in z_um
    ]
    return _add_electrodes(
        nwbfile,
        device={
            "name": "laminar_probe",
            "description": "laminar probe (simulated): contacts on the axis of the modelled "
            "column; the potential is averaged over a Gaussian cylinder (LFPykernels)",
        },
        group={
            "name": "laminar_probe",
            "description": "contacts of the laminar probe; rel_x, rel_y, rel_z in um in the "
            "column frame (z along the column axis, as z_um of signals.h5)",
            "location": "simulated cortical column (no atlas location)",
        },
        rows=rows,
        region="laminar probe contacts",
    )


def add_scalp_electrodes(
    nwbfile: NWBFile, positions_um: np.ndarray, names: Sequence[str]
) -> DynamicTableRegion:
    """The EEG electrodes: device, electrode group and one electrode per position.

    Parameters
    ----------
    nwbfile : NWBFile
        The file being built.
    positions_um : numpy.ndarray
        n x 3 electrode positions (um, head frame), ``eeg_electrodes_um`` of
        ``signals.h5``.
    names : sequence of str
        Electrode names (``eeg_electrode_names`` of ``signals.h5``), one per row.

    Returns
    -------
    DynamicTableRegion
        The EEG rows of the electrodes table.
    """
    positions = np.asarray(positions_um, dtype=np.float64).reshape(-1, 3)
    if len(names) != len(positions):
        raise ValueError(f"{len(positions)} EEG electrodes in signals.h5, {len(names)} names")
    rows = [
        {
            "location": f"scalp, electrode {name}",
            "rel_x": float(x),
            "rel_y": float(y),
            "rel_z": float(z),
        }
        for name, (x, y, z) in zip(names, positions, strict=True)
    ]
    return _add_electrodes(
        nwbfile,
        device={
            "name": "EEG_electrodes",
            "description": "scalp electrodes (simulated) on the outer sphere of a four-sphere "
            "head model (Naess et al. 2017, LFPykit)",
        },
        group={
            "name": "EEG",
            "description": "EEG electrodes; rel_x, rel_y, rel_z in um in the head frame: origin "
            "at the centre of the spheres, z through the vertex above the dipole",
            "location": "scalp (four-sphere head model)",
        },
        rows=rows,
        region="EEG electrodes",
    )


def meg_sensor_table(positions_um: np.ndarray, names: Sequence[str]) -> DynamicTable:
    """The MEG sensors: names and positions (um, head frame), one row each.

    Parameters
    ----------
    positions_um : numpy.ndarray
        n x 3 sensor positions (um, head frame), ``meg_sensors_um`` of
        ``signals.h5``.
    names : sequence of str
        Sensor names (``meg_sensor_names`` of ``signals.h5``), one per row.
    """
    positions = np.asarray(positions_um, dtype=np.float64).reshape(-1, 3)
    columns = [
        VectorData(
            name=f"{axis}_um",
            description=f"{axis} of the sensor (um, head frame)",
            data=positions[:, number],
        )
        for number, axis in enumerate("xyz")
    ]
    columns.append(VectorData(name="sensor_name", description="sensor name", data=list(names)))
    return DynamicTable(
        name="MEG_sensors",
        description="MEG sensors (simulated, radial magnetometers) in the head frame of the "
        "four-sphere head model; row i is channel i of MEG",
        columns=columns,
    )


def head_model_table(attrs: Mapping[str, Any]) -> DynamicTable:
    """The four spheres of the head model: outer radius (um) and conductivity (S/m).

    Parameters
    ----------
    attrs : Mapping
        Root attributes of ``signals.h5``: ``head_radii_um`` (um),
        ``head_sigmas_S_per_m`` (S/m), ``dipole_location_um`` (um, head frame)
        and ``column_axis`` (unit vector, head frame).
    """
    dipole = ", ".join(f"{v:g}" for v in np.asarray(attrs["dipole_location_um"]))
    axis = ", ".join(f"{v:g}" for v in np.asarray(attrs["column_axis"]))
    columns = [
        VectorData(name="layer", description="tissue", data=["brain", "CSF", "skull", "scalp"]),
        VectorData(
            name="outer_radius_um",
            description="outer radius of the sphere (um)",
            data=np.asarray(attrs["head_radii_um"], dtype=np.float64),
        ),
        VectorData(
            name="conductivity_S_per_m",
            description="conductivity (S/m)",
            data=np.asarray(attrs["head_sigmas_S_per_m"], dtype=np.float64),
        ),
    ]
    return DynamicTable(
        name="head_model",
        description="four-sphere head model of the EEG and MEG (Naess et al. 2017); "
        f"dipole at ({dipole}) um, column axis ({axis}) in the head frame",
        columns=columns,
    )
