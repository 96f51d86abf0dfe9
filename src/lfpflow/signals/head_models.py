"""Head models: the column placed in a conductor, seen by electrodes (and MEG sensors).

The forward step (:mod:`lfpflow.signals.forward`) gives the current dipole
moment (CDM) of the column in *column coordinates* (z along the column's
axis). This module composes, from ``forward.head_model``, the three parts
that map it to EEG electrodes (and, for a spherical head, to MEG sensors):

- the electrodes (:mod:`lfpflow.signals.electrodes`): a named montage
  projected onto the scalp sphere, an explicit list of positions
  (``custom``), the historical line at polar angles from the dipole
  (``polar``), or those of a lead-field file or of the New York Head;
- the placement of the column (:mod:`lfpflow.signals.placement`): under a
  named electrode or at a position, its axis relative to the dipole
  (:mod:`lfpflow.signals.frames`);
- the volume conductor (:mod:`lfpflow.signals.conductors`, LFPykit's
  protocol), one per ``forward.head_model.type``: ``four_sphere`` (Naess et
  al. 2017, Front Hum Neurosci 11:490), ``lead_field`` (a gain matrix the
  user brings) or ``nyhead`` (the New York Head, Huang et al. 2016,
  NeuroImage 140:150, from a local ``sa_nyhead.mat``).

What only MNE reads, a named MNE montage or an MNE forward solution, arrives
as an argument (``montage``, ``lead_field``): this package imports no file
format library; :mod:`lfpflow.formats.heads` reads them and calls these
functions (:func:`lfpflow.formats.heads.sensor_maps`).

Frames. The *head-model frame* is the frame of the model's own coordinates
(um): centred on the spheres for ``four_sphere``, the file's head coordinates
for ``lead_field`` and the New York Head's MNI coordinates for ``nyhead``; its
axes are MNE's head axes (x towards the right ear, y towards the nose, z up).
``head_offset_um`` translates it to MNE's head frame (for a montage, the
centre of the sphere fitted to the montage).

Units: positions um, CDM nA um, EEG uV, MEG fT.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.signals.checks import meg_head_problem, polar_position_problem
from lfpflow.signals.conductors import Conductor, FourSphereEEG, LeadFieldEEG, NYHeadEEG, SphereMEG
from lfpflow.signals.electrodes import (
    Electrodes,
    Montage,
    custom_electrodes,
    horizon_sphere,
    montage_electrodes,
    polar_electrodes,
    select_electrodes,
)
from lfpflow.signals.frames import fit_sphere, unit
from lfpflow.signals.lead_fields import LeadField, read_lead_field
from lfpflow.signals.placement import (
    ColumnPlacement,
    source_placement,
    sphere_dipole,
    sphere_placement,
)

#: Head models of ``forward.head_model.type``.
HEAD_MODELS = ("four_sphere", "lead_field", "nyhead")
#: Montages that are not MNE montages (``forward.head_model.montage``).
OWN_MONTAGES = ("polar", "custom")


@dataclass(frozen=True)
class HeadGeometry:
    """A column placed in a head, and the map of its dipole to the electrodes.

    Attributes
    ----------
    model : str
        One of :data:`HEAD_MODELS`.
    electrodes : Electrodes
        The EEG electrodes used, in channel order.
    dipole_um : numpy.ndarray
        Position of the column's dipole (head-model frame, um).
    radial : numpy.ndarray
        Local radial unit vector at the dipole (outwards).
    rotation : numpy.ndarray
        3 x 3: CDM in the head frame = ``rotation`` @ CDM in column coordinates.
    eeg_matrix_uV : numpy.ndarray
        n_electrodes x 3, uV per nA um of a head-frame CDM: the conductor's
        ``get_transformation_matrix(dipole_um)``.
    column_electrode : str
        The electrode the column lies under (or the one nearest to it).
    placement : str
        How the position was chosen, in words (for logs and files).
    centre_um : numpy.ndarray
        Centre of the sphere that defines the local radial direction.
    horizon_um : numpy.ndarray
        Centre and radius (x, y, z, r; um) of the circle of Fpz, T7, Oz and T8,
        the outline of the usual EEG topomap (MNE's ``sphere="eeglab"``), or of
        the electrodes' sphere where the model lacks those electrodes.
    """

    model: str
    electrodes: Electrodes
    dipole_um: np.ndarray
    radial: np.ndarray
    rotation: np.ndarray
    eeg_matrix_uV: np.ndarray
    column_electrode: str
    placement: str
    centre_um: np.ndarray
    horizon_um: np.ndarray

    @property
    def column_axis(self) -> np.ndarray:
        """Unit vector of the column's axis in the head-model frame."""
        return self.rotation[:, 2]


def _geometry(
    model: str,
    conductor: Conductor,
    electrodes: Electrodes,
    placement: ColumnPlacement,
    centre_um: np.ndarray,
    horizon_um: np.ndarray,
) -> HeadGeometry:
    """The geometry of a placed column; its EEG matrix from the conductor at the dipole."""
    return HeadGeometry(
        model=model,
        electrodes=electrodes,
        dipole_um=placement.dipole_um,
        radial=placement.radial,
        rotation=placement.rotation,
        eeg_matrix_uV=conductor.get_transformation_matrix(placement.dipole_um),
        column_electrode=placement.column_electrode,
        placement=placement.description,
        centre_um=centre_um,
        horizon_um=horizon_um,
    )


# -- geometries -------------------------------------------------------------------------


def four_sphere_electrodes(head: Mapping[str, Any], montage: Montage | None = None) -> Electrodes:
    """Every electrode the montage offers (before selection by name), on the scalp.

    Parameters
    ----------
    head : Mapping
        ``forward.head_model`` with a montage other than ``polar``.
    montage : Montage, optional
        The positions of the named montage ``head["montage"]``
        (:func:`lfpflow.formats.heads.read_montage`); not needed for ``custom``.
    """
    scalp = float(head["radii_um"][-1])
    if head["montage"] == "custom":
        return custom_electrodes(head["electrode_positions_um"], scalp)
    if montage is None or montage.name != head["montage"]:
        raise ValueError(
            f"config key 'forward.head_model.montage': the positions of montage "
            f"{head['montage']!r} are read by MNE: build the head with "
            "lfpflow.formats.heads.sensor_maps, or pass montage=read_montage(name)"
        )
    return montage_electrodes(montage, scalp)


def four_sphere_geometry(head: Mapping[str, Any], montage: Montage | None = None) -> HeadGeometry:
    """The column in the four-sphere head (``forward.head_model``, type ``four_sphere``).

    ``montage``: the named montage's positions (see :func:`four_sphere_electrodes`).
    """
    radii = [float(r) for r in head["radii_um"]]
    position = head["column_position"]
    if head["montage"] == "polar":
        problem = polar_position_problem(head)
        if problem:
            raise ValueError(problem)
        dipole, description = sphere_dipole(position, None, radii[0], 0.0)
        electrodes = polar_electrodes(
            head["electrode_polar_angles_deg"], unit(dipole, "column_position"), radii[-1]
        )
        offered = electrodes
    else:
        offered = four_sphere_electrodes(head, montage)
        electrodes = select_electrodes(offered, head["electrodes"], f"montage {head['montage']}")
        depth = float(head["column_depth_um"])
        dipole, description = sphere_dipole(position, offered, radii[0], depth)
    placement = sphere_placement(position, dipole, description, electrodes, head["column_axis"])
    conductor = FourSphereEEG(electrodes, radii, head["sigmas_S_per_m"])
    centre = np.zeros(3)
    return _geometry(
        "four_sphere",
        conductor,
        electrodes,
        placement,
        centre,
        horizon_sphere(offered, electrodes, centre),
    )


def _source_geometry(
    model: str,
    head: Mapping[str, Any],
    conductor: LeadFieldEEG | NYHeadEEG,
    where: str,
) -> HeadGeometry:
    """The column at the source nearest to the requested place of a gain-matrix model.

    The radial direction is taken from the centre of the sphere fitted to all
    the model's electrodes.
    """
    lead_field = conductor.lead_field
    offered = lead_field.electrodes
    electrodes = select_electrodes(offered, head["electrodes"], where)
    centre, _ = fit_sphere(offered.positions_um)
    _, placement = source_placement(
        head["column_position"],
        offered,
        electrodes,
        lead_field.sources_um,
        lead_field.normals,
        centre,
        head["column_axis"],
        where,
    )
    return _geometry(
        model,
        conductor.recording(electrodes.names),
        electrodes,
        placement,
        centre,
        horizon_sphere(offered, electrodes, centre),
    )


def lead_field_geometry(
    head: Mapping[str, Any], lead_field: LeadField | None = None
) -> HeadGeometry:
    """The column in a user's lead field (``forward.head_model``, type ``lead_field``).

    ``lead_field``: the file's content, read by the caller (an MNE forward
    solution: :func:`lfpflow.formats.heads.read_lead_field`); else an NPZ or
    HDF5 file is read here.
    """
    path = Path(head["lead_field_file"])
    if lead_field is None:
        lead_field = read_lead_field(path)
    return _source_geometry("lead_field", head, LeadFieldEEG(lead_field), f"lead field {path.name}")


def nyhead_geometry(head: Mapping[str, Any]) -> HeadGeometry:
    """The column in the New York Head (``forward.head_model``, type ``nyhead``)."""
    conductor = NYHeadEEG(head["nyhead_file"])
    return _source_geometry("nyhead", head, conductor, "the New York Head")


def head_geometry(
    head: Mapping[str, Any],
    *,
    montage: Montage | None = None,
    lead_field: LeadField | None = None,
) -> HeadGeometry:
    """The column placed in the configured head model.

    Parameters
    ----------
    head : Mapping
        ``config["forward"]["head_model"]`` (resolved: every key present).
    montage : Montage, optional
        Positions of a named (MNE) montage; needed for type ``four_sphere``
        with a montage other than ``polar`` and ``custom``.
    lead_field : LeadField, optional
        Content of ``lead_field_file``; needed for an MNE forward solution.

    Returns
    -------
    HeadGeometry
    """
    if head["type"] == "four_sphere":
        return four_sphere_geometry(head, montage)
    if head["type"] == "lead_field":
        return lead_field_geometry(head, lead_field)
    if head["type"] == "nyhead":
        return nyhead_geometry(head)
    raise ValueError(
        f"config key 'forward.head_model.type': {head['type']!r} is not allowed; "
        f"allowed values: {', '.join(HEAD_MODELS)}"
    )


# -- MEG ------------------------------------------------------------------------------


def meg_sensors(
    geometry: HeadGeometry, meg: Mapping[str, Any]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Radial magnetometers above the EEG electrodes of a spherical head.

    One sensor per electrode, on the ray from the head's centre through it,
    at ``meg["sensor_radius_um"]`` from the centre; named ``MEG <electrode>``.

    Returns
    -------
    names : tuple of str
    positions_um : numpy.ndarray
        n x 3 (head-model frame, um); the sensor normal is the radial direction.
    """
    problem = meg_head_problem(geometry.model)
    if problem:
        raise ValueError(problem)
    positions = geometry.electrodes.positions_um
    units = positions / np.linalg.norm(positions, axis=1, keepdims=True)
    names = tuple(f"MEG {name}" for name in geometry.electrodes.names)
    return names, float(meg["sensor_radius_um"]) * units


def meg_matrix(sensors_um: np.ndarray, dipole_um: np.ndarray) -> np.ndarray:
    """Radial magnetic field (fT) per nA um of a head-frame CDM at ``dipole_um``.

    :class:`lfpflow.signals.conductors.SphereMEG`'s transformation matrix
    (n_sensors x 3).
    """
    return SphereMEG(sensors_um).get_transformation_matrix(dipole_um)


# -- the maps of the forward step ---------------------------------------------------------


@dataclass(frozen=True)
class SensorMaps:
    """Matrices from the column's CDM (column coordinates) to EEG and MEG.

    Attributes
    ----------
    geometry : HeadGeometry
    matrices : dict
        ``"EEG"`` (uV per nA um) and, with the MEG on, ``"MEG"`` (fT per nA um),
        each n_channels x 3, applied to the CDM in column coordinates.
    head : Mapping
        The ``forward.head_model`` the maps were built from (for :meth:`attrs`).
    meg_names : tuple of str
    meg_sensors_um : numpy.ndarray
        n x 3 MEG sensor positions (head-model frame), 0 x 3 without MEG.
    """

    geometry: HeadGeometry
    matrices: dict[str, np.ndarray]
    head: Mapping[str, Any]
    meg_names: tuple[str, ...] = ()
    meg_sensors_um: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def attrs(self) -> dict[str, Any]:
        """Root attributes of ``signals.h5`` describing the head and sensors.

        Names are JSON lists and fiducials a JSON object (strings); positions
        are um in the head-model frame; ``head_offset_um`` takes them to MNE's
        head frame.
        """
        head = self.head
        geometry = self.geometry
        files = {"lead_field": head["lead_field_file"], "nyhead": head["nyhead_file"]}
        return {
            "head_model": geometry.model,
            "head_model_file": str(files.get(geometry.model, "")),
            "head_radii_um": np.asarray(head["radii_um"], dtype=np.float64),
            "head_sigmas_S_per_m": np.asarray(head["sigmas_S_per_m"], dtype=np.float64),
            "head_offset_um": geometry.electrodes.head_offset_um,
            "head_centre_um": geometry.centre_um,
            "topomap_sphere_um": geometry.horizon_um,
            "dipole_location_um": geometry.dipole_um,
            "column_axis": geometry.column_axis,
            "column_radial": geometry.radial,
            "column_electrode": geometry.column_electrode,
            "column_placement": geometry.placement,
            "eeg_electrode_names": json.dumps(list(geometry.electrodes.names)),
            "eeg_electrodes_um": geometry.electrodes.positions_um,
            "eeg_fiducials_um": json.dumps(
                {key: value.tolist() for key, value in geometry.electrodes.fiducials_um.items()}
            ),
            "meg_sensor_names": json.dumps(list(self.meg_names)),
            "meg_sensors_um": self.meg_sensors_um,
        }


def sensor_maps(
    head: Mapping[str, Any],
    meg: Mapping[str, Any] | None = None,
    *,
    montage: Montage | None = None,
    lead_field: LeadField | None = None,
) -> SensorMaps:
    """The EEG (and MEG) matrices of the configured head, column rotation included.

    Parameters
    ----------
    head : Mapping
        ``config["forward"]["head_model"]``.
    meg : Mapping, optional
        ``config["forward"]["meg"]``; no MEG when None or not ``enabled``.
    montage, lead_field : optional
        What only MNE reads (:func:`head_geometry`);
        :func:`lfpflow.formats.heads.sensor_maps` reads and passes them.
    """
    geometry = head_geometry(head, montage=montage, lead_field=lead_field)
    matrices = {"EEG": geometry.eeg_matrix_uV @ geometry.rotation}
    if meg is None or not meg["enabled"]:
        return SensorMaps(geometry, matrices, head)
    names, sensors = meg_sensors(geometry, meg)
    matrices["MEG"] = meg_matrix(sensors, geometry.dipole_um) @ geometry.rotation
    return SensorMaps(geometry, matrices, head, names, sensors)


def as_sensor_maps(
    head: SensorMaps | Mapping[str, Any], meg: Mapping[str, Any] | None = None
) -> SensorMaps:
    """``head`` if it is built already, else :func:`sensor_maps` of a configuration.

    A configuration alone serves the heads that need no MNE file (montages
    ``polar`` and ``custom``, NPZ/HDF5 lead fields, the New York Head); the
    others are built by :func:`lfpflow.formats.heads.sensor_maps`.
    """
    if not isinstance(head, SensorMaps):
        return sensor_maps(head, meg)
    if meg is not None:
        raise ValueError(
            "meg must be None with built SensorMaps: their MEG was chosen when they were built"
        )
    return head


def sensor_signals(
    cdm: np.ndarray,
    head: SensorMaps | Mapping[str, Any],
    meg: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """EEG (uV) and, with the MEG on, MEG (fT) of a column CDM (nA um, 3 x T).

    Parameters
    ----------
    cdm : numpy.ndarray
        3 x T, column coordinates (nA um).
    head : SensorMaps or Mapping
        Built maps (:func:`lfpflow.formats.heads.sensor_maps`) or
        ``forward.head_model`` (see :func:`as_sensor_maps`).
    meg : Mapping, optional
        ``forward.meg`` with a configuration ``head``.

    Returns
    -------
    dict
        ``EEG``, ``electrodes_um``, ``head_attrs`` and, with MEG, ``MEG`` and
        ``meg_sensors_um`` (the keys :func:`lfpflow.signals.forward.compute_signals`
        uses).
    """
    cdm = np.asarray(cdm, dtype=np.float64)
    if cdm.ndim != 2 or cdm.shape[0] != 3:
        raise ValueError(f"cdm must be 3 x T (x, y, z), got shape {cdm.shape}")
    maps = as_sensor_maps(head, meg)
    out = {name: matrix @ cdm for name, matrix in maps.matrices.items()}
    out["electrodes_um"] = maps.geometry.electrodes.positions_um
    out["head_attrs"] = maps.attrs()
    if "MEG" in out:
        out["meg_sensors_um"] = maps.meg_sensors_um
    return out
