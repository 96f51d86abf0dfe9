"""Head models: where the column sits, which sensors see it, and through what.

The forward step (:mod:`lfpflow.signals.forward`) gives the current dipole
moment (CDM) of the column in *column coordinates* (z along the column's
axis). This module places that dipole in a head and maps it to EEG electrodes
(and, for a spherical head, to MEG sensors), for one of three head models
(``forward.head_model.type``):

``four_sphere``
    Brain, CSF, skull and scalp as concentric spheres (Naess et al. 2017,
    Front Hum Neurosci 11:490; LFPykit's
    :class:`lfpykit.eegmegcalc.FourSphereVolumeConductor`). The electrodes are
    a named MNE montage (``standard_1020``, ``standard_1005``, ...) projected
    onto the scalp sphere, an explicit list of positions (``custom``), or the
    historical line of electrodes at polar angles from the dipole (``polar``).
``lead_field``
    A gain matrix the user brings: an MNE forward solution (``-fwd.fif``) or an
    HDF5/NPZ file (:func:`read_lead_field`) with the potential at each
    electrode of a unit dipole at each source position.
``nyhead``
    The New York Head (Huang et al. 2016, NeuroImage 140:150), through
    LFPykit's :class:`lfpykit.eegmegcalc.NYHeadModel`, from a local copy of
    ``sa_nyhead.mat`` (never downloaded at run time).

Frames. The *head-model frame* is the frame of the model's own coordinates
(um): centred on the spheres for ``four_sphere``, the file's head coordinates
for ``lead_field`` and the New York Head's MNI coordinates for ``nyhead``; its
axes are MNE's head axes (x towards the right ear, y towards the nose, z up).
``head_offset_um`` translates it to MNE's head frame (for a montage, the
centre of the sphere fitted to the montage). The column is placed under a
named electrode or at a position, and its axis is given *relative to the
dipole* in the local frame (e_1, e_2, e_3) of :func:`local_frame`: e_3 is the
local radial direction (outwards), e_2 the tangential direction towards the
nose, e_1 = e_2 x e_3 (towards the right ear on the vertex). ``radial`` is
[0, 0, 1] (a gyral crown), ``tangential`` [0, 1, 0] (a sulcal wall), so moving
the dipole never turns one into the other.

Units: positions um, CDM nA um, EEG uV, MEG fT. Gains read from files are in
V/(A m) (MNE's unit); 1 V/(A m) = 1e-9 uV/(nA um).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Head models of ``forward.head_model.type``.
HEAD_MODELS = ("four_sphere", "lead_field", "nyhead")
#: Montages that are not MNE montages (``forward.head_model.montage``).
OWN_MONTAGES = ("polar", "custom")
#: Named column axes (``forward.head_model.column_axis``); or a 3-vector.
AXIS_NAMES = ("radial", "tangential", "normal")
#: File suffixes of a lead field (``forward.head_model.lead_field_file``).
LEAD_FIELD_SUFFIXES = (".fif", ".npz", ".h5", ".hdf5")
#: Where the New York Head can be obtained (by the user, never by lfpflow).
NYHEAD_URL = "https://www.parralab.org/nyhead/sa_nyhead.mat"
#: uV per nA um of a gain in V per A m (1 nA um = 1e-15 A m; 1 V = 1e6 uV).
UV_PER_NAUM_PER_V_PER_AM = 1e-9
#: B (fT) per H (nA/um): mu0 (T m/A) x 1e-3 (A/m per nA/um) x 1e15 (fT/T)
_FT_PER_H = 4e-7 * np.pi * 1e-3 * 1e15
#: The four-sphere series needs contacts inside or on the scalp: electrodes sit
#: this fraction of the radius inside it, so that round-off never puts one outside.
_INSIDE = 1e-6


@dataclass(frozen=True)
class Electrodes:
    """Named EEG electrodes of a head model.

    Attributes
    ----------
    names : tuple of str
        Electrode names, in the order of the EEG channels.
    positions_um : numpy.ndarray
        n x 3 positions in the head-model frame (um).
    head_offset_um : numpy.ndarray
        Translation (um) from the head-model frame to MNE's head frame.
    fiducials_um : dict
        ``nasion``, ``lpa``, ``rpa`` (head-model frame, um) when known.
    """

    names: tuple[str, ...]
    positions_um: np.ndarray
    head_offset_um: np.ndarray = field(default_factory=lambda: np.zeros(3))
    fiducials_um: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadField:
    """A gain matrix: potential at each electrode of a unit dipole at each source.

    Attributes
    ----------
    electrodes : Electrodes
        The file's electrodes (all of them).
    sources_um : numpy.ndarray
        n_sources x 3 source positions (um, head-model frame).
    gain_uV : numpy.ndarray
        n_electrodes x n_sources x 3: uV per nA um of a dipole along x, y, z.
    normals : numpy.ndarray or None
        n_sources x 3 unit normals of the cortical surface, if the file has them.
    """

    electrodes: Electrodes
    sources_um: np.ndarray
    gain_uV: np.ndarray
    normals: np.ndarray | None = None


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
        n_electrodes x 3, uV per nA um of a head-frame CDM.
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


# -- frames and rotations ---------------------------------------------------------------


def _unit(vector: Any, what: str) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if vector.shape != (3,) or norm == 0 or not math.isfinite(norm):
        raise ValueError(f"{what} must be a non-zero 3-vector, got {vector.tolist()}")
    return vector / norm


def local_frame(radial: Sequence[float]) -> np.ndarray:
    """Local frame at a dipole: columns e_1, e_2 (tangential) and e_3 (radial).

    Parameters
    ----------
    radial : sequence of float
        Outward radial direction at the dipole (any length).

    Returns
    -------
    numpy.ndarray
        3 x 3 rotation whose columns are e_1, e_2, e_3: e_3 the unit radial
        vector, e_2 the head's y axis (towards the nose) projected on the
        tangent plane (the z axis where the dipole lies on the y axis), and
        e_1 = e_2 x e_3. Under the vertex it is the identity.
    """
    e3 = _unit(radial, "the radial direction")
    for reference in (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])):
        tangent = reference - (reference @ e3) * e3
        # below ~1e-6 the projection is round-off: the dipole lies on that axis
        if np.linalg.norm(tangent) > 1e-6:
            break
    e2 = tangent / np.linalg.norm(tangent)
    e1 = np.cross(e2, e3)
    return np.column_stack([e1, e2, e3])


def rotation_from_z(direction: Sequence[float]) -> np.ndarray:
    """The smallest rotation taking e_z to ``direction``.

    Rodrigues' formula for the rotation about e_z x n by the angle between
    them; the identity for n = e_z and a half turn about x for n = -e_z.

    Returns
    -------
    numpy.ndarray
        3 x 3 rotation matrix R with R @ e_z = n / |n|.
    """
    n = _unit(direction, "the column axis")
    ez = np.array([0.0, 0.0, 1.0])
    cos_angle = float(ez @ n)
    if np.isclose(cos_angle, 1.0, rtol=0, atol=1e-15):
        return np.eye(3)
    if np.isclose(cos_angle, -1.0, rtol=0, atol=1e-15):
        return np.diag([1.0, -1.0, -1.0])
    k = np.cross(ez, n)
    sin_angle = np.linalg.norm(k)
    k = k / sin_angle
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sin_angle * cross + (1 - cos_angle) * cross @ cross


def column_rotation(
    axis: str | Sequence[float], radial: Sequence[float], normal: Sequence[float] | None = None
) -> np.ndarray:
    """Rotation from column coordinates to the head-model frame.

    Parameters
    ----------
    axis : str or sequence of float
        ``radial``, ``tangential``, ``normal`` (the head model's cortical
        normal) or the axis' components (e_1, e_2, e_3) in :func:`local_frame`.
    radial : sequence of float
        Local radial direction at the dipole.
    normal : sequence of float, optional
        Surface normal at the dipole (head-model frame); needed for ``normal``.

    Returns
    -------
    numpy.ndarray
        3 x 3 rotation R, CDM_head = R @ CDM_column: the column's z axis goes
        to the requested axis; for a radial column its x and y axes go to
        e_1 and e_2.
    """
    frame = local_frame(radial)
    if isinstance(axis, str):
        if axis == "normal":
            if normal is None:
                raise ValueError(
                    "column_axis 'normal' needs a head model with cortical normals "
                    "(nyhead, or a lead field whose file has source normals)"
                )
            components = frame.T @ _unit(normal, "the cortical normal")
        elif axis in ("radial", "tangential"):
            components = np.array([0.0, 0.0, 1.0] if axis == "radial" else [0.0, 1.0, 0.0])
        else:
            raise ValueError(
                f"column_axis {axis!r} is not allowed; allowed values: "
                f"{', '.join(AXIS_NAMES)} or a 3-vector"
            )
    else:
        components = _unit(axis, "column_axis")
    return frame @ rotation_from_z(components)


def fit_sphere(points_um: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through points (algebraic fit).

    Parameters
    ----------
    points_um : numpy.ndarray
        n x 3 points (n >= 4, not coplanar), e.g. electrode positions (um).

    Returns
    -------
    centre_um : numpy.ndarray
        Centre of the sphere (um).
    radius_um : float
        Its radius (um).
    """
    points = np.asarray(points_um, dtype=np.float64)
    # |p|^2 = 2 p.c + (R^2 - |c|^2) is linear in c and in R^2 - |c|^2
    design = np.column_stack([2 * points, np.ones(len(points))])
    solution, *_ = np.linalg.lstsq(design, (points**2).sum(axis=1), rcond=None)
    centre = solution[:3]
    return centre, float(np.sqrt(solution[3] + centre @ centre))


# -- electrodes -------------------------------------------------------------------------


def on_scalp(directions: np.ndarray, scalp_radius_um: float) -> np.ndarray:
    """Points on the scalp sphere along ``directions`` from the centre (um)."""
    directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    units = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return (1 - _INSIDE) * scalp_radius_um * units


def polar_electrodes(
    polar_angles_deg: Sequence[float], radial: Sequence[float], scalp_radius_um: float
) -> Electrodes:
    """Electrodes at polar angles from the dipole's radial direction.

    The electrodes lie in the plane of e_1 and e_3 (:func:`local_frame`) on the
    scalp; angle 0 is the scalp point right above the dipole. Names are
    ``P<angle>`` (``P0``, ``P22.5``).
    """
    frame = local_frame(radial)
    theta = np.deg2rad(np.asarray(polar_angles_deg, dtype=np.float64))
    directions = np.outer(np.sin(theta), frame[:, 0]) + np.outer(np.cos(theta), frame[:, 2])
    names = tuple(f"P{float(angle):g}" for angle in polar_angles_deg)
    return Electrodes(names, on_scalp(directions, scalp_radius_um))


def montage_electrodes(montage: str, scalp_radius_um: float) -> Electrodes:
    """All electrodes of an MNE montage, projected onto the scalp sphere.

    A sphere is fitted to the montage's positions (MNE head frame); each
    electrode is moved along the ray from that sphere's centre to the scalp
    sphere of the head model, whose centre is the fitted one. Fiducials are
    translated with the montage (not projected).
    """
    from lfpflow.formats.mne_eeg import montage_positions  # MNE only for named montages

    names, positions_m, fiducials_m = montage_positions(montage)
    positions = 1e6 * positions_m
    centre, _ = fit_sphere(positions)
    return Electrodes(
        names,
        on_scalp(positions - centre, scalp_radius_um),
        head_offset_um=centre,
        fiducials_um={key: 1e6 * value - centre for key, value in fiducials_m.items()},
    )


def custom_electrodes(
    positions_um: Mapping[str, Sequence[float]], scalp_radius_um: float
) -> Electrodes:
    """Named positions (head-model frame, um) projected radially onto the scalp."""
    names = tuple(positions_um)
    directions = np.array([positions_um[name] for name in names], dtype=np.float64)
    return Electrodes(names, on_scalp(directions, scalp_radius_um))


def select_electrodes(electrodes: Electrodes, names: Sequence[str], where: str) -> Electrodes:
    """The electrodes called ``names``, in that order (all of them if empty)."""
    if not names:
        return electrodes
    index = {name: number for number, name in enumerate(electrodes.names)}
    unknown = [name for name in names if name not in index]
    if unknown:
        raise ValueError(
            f"config key 'forward.head_model.electrodes': {', '.join(map(repr, unknown))} "
            f"not in {where}; allowed values: {', '.join(electrodes.names)}"
        )
    rows = [index[name] for name in names]
    return Electrodes(
        tuple(names),
        electrodes.positions_um[rows],
        electrodes.head_offset_um,
        electrodes.fiducials_um,
    )


def _electrode_position(electrodes: Electrodes, name: str) -> np.ndarray:
    if name not in electrodes.names:
        raise ValueError(
            f"config key 'forward.head_model.column_position': {name!r} is not an electrode "
            f"of the head model; allowed values: {', '.join(electrodes.names)} or [x, y, z] (um)"
        )
    return electrodes.positions_um[electrodes.names.index(name)]


def _nearest_electrode(electrodes: Electrodes, point_um: np.ndarray) -> str:
    distances = np.linalg.norm(electrodes.positions_um - point_um, axis=1)
    return electrodes.names[int(np.argmin(distances))]


#: Electrodes of the topomap outline (the "horizon"), with their stand-ins.
_HORIZON = {
    "Fpz": (("Fpz",), ("Fp1", "Fp2")),
    "Oz": (("Oz",), ("O1", "O2")),
    "T7": (("T7",), ("T3",)),
    "T8": (("T8",), ("T4",)),
}


def horizon_sphere(offered: Electrodes, used: Electrodes, centre_um: np.ndarray) -> np.ndarray:
    """Centre and radius (x, y, z, r; um) of the usual EEG topomap outline.

    The outline passes through Fpz, Oz, T7 and T8 (the convention of EEGLAB
    and of MNE's ``sphere="eeglab"``): centre at their mean, radius the mean
    distance of T7 and T8 along x and of Fpz and Oz along y. A missing Fpz
    (Oz) is the midpoint of Fp1 and Fp2 (O1 and O2), T7 (T8) may be T3 (T4).
    Without them: centred on ``centre_um`` (the head model's centre), at the
    mean distance of the used electrodes.
    """
    index = {name: number for number, name in enumerate(offered.names)}
    points = {}
    for key, choices in _HORIZON.items():
        for names in choices:
            if all(name in index for name in names):
                points[key] = offered.positions_um[[index[n] for n in names]].mean(axis=0)
                break
    if len(points) == len(_HORIZON):
        centre = np.mean(list(points.values()), axis=0)
        radius = np.mean(
            [
                abs(points[key][axis] - centre[axis])
                for key, axis in (("T7", 0), ("T8", 0), ("Fpz", 1), ("Oz", 1))
            ]
        )
        return np.append(centre, radius)
    radius = np.linalg.norm(used.positions_um - centre_um, axis=1).mean()
    return np.append(centre_um, radius)


# -- lead fields from files -------------------------------------------------------------


def _lead_field_arrays(path: Path) -> dict[str, Any]:
    """The arrays of an NPZ or HDF5 lead-field file (see :func:`read_lead_field`)."""
    keys = ("gain_V_per_Am", "electrode_names", "electrode_positions_m", "source_positions_m")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as content:
            arrays = {key: content[key] for key in content.files}
    else:
        import h5py

        with h5py.File(path, "r") as content:
            arrays = {
                key: content[key][()] for key in content if isinstance(content[key], h5py.Dataset)
            }
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise ValueError(
            f"lead-field file {path} lacks {', '.join(missing)}; it needs "
            f"{', '.join(keys)} (and optionally source_normals)"
        )
    arrays["electrode_names"] = [
        name.decode() if isinstance(name, bytes) else str(name)
        for name in np.asarray(arrays["electrode_names"]).ravel()
    ]
    return arrays


def _lead_field_from_arrays(arrays: Mapping[str, Any], where: str) -> LeadField:
    """Check shapes and convert SI arrays (m, V/(A m)) to a :class:`LeadField`."""
    names = tuple(arrays["electrode_names"])
    electrodes_m = np.asarray(arrays["electrode_positions_m"], dtype=np.float64)
    sources_m = np.asarray(arrays["source_positions_m"], dtype=np.float64).reshape(-1, 3)
    gain = np.asarray(arrays["gain_V_per_Am"], dtype=np.float64)
    if gain.ndim == 2:  # a single source: n_electrodes x 3
        gain = gain[:, np.newaxis, :]
    expected = (len(names), len(sources_m), 3)
    if electrodes_m.shape != (len(names), 3) or gain.shape != expected:
        raise ValueError(
            f"{where}: {len(names)} electrode names, electrode positions of shape "
            f"{electrodes_m.shape} (need {(len(names), 3)}), gain of shape {gain.shape} "
            f"(need electrodes x sources x 3 = {expected})"
        )
    normals = arrays.get("source_normals")
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
        normals = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    return LeadField(
        Electrodes(names, 1e6 * electrodes_m),
        1e6 * sources_m,
        UV_PER_NAUM_PER_V_PER_AM * gain,
        normals,
    )


def read_lead_field(path: str | Path) -> LeadField:
    """Read a lead field: an MNE forward solution or an NPZ/HDF5 file.

    Parameters
    ----------
    path : path-like
        ``*-fwd.fif`` (MNE, free source orientation; EEG channels are used) or
        ``.npz``/``.h5``/``.hdf5`` with ``gain_V_per_Am`` (n_electrodes x
        n_sources x 3, V per A m; n_electrodes x 3 for one source),
        ``electrode_names`` (n_electrodes), ``electrode_positions_m``
        (n_electrodes x 3, m), ``source_positions_m`` (n_sources x 3, m) and
        optionally ``source_normals`` (n_sources x 3), all in one head frame.

    Returns
    -------
    LeadField
        Positions in um, gain in uV per nA um; the file's head frame is the
        head-model frame.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"config key 'forward.head_model.lead_field_file': {path} does not exist"
        )
    if path.suffix not in LEAD_FIELD_SUFFIXES:
        raise ValueError(
            f"config key 'forward.head_model.lead_field_file': {path.name} has suffix "
            f"{path.suffix!r}; allowed: {', '.join(LEAD_FIELD_SUFFIXES)}"
        )
    if path.suffix == ".fif":
        from lfpflow.formats.mne_eeg import read_forward_lead_field  # MNE reads its own files

        arrays = read_forward_lead_field(path)
    else:
        arrays = _lead_field_arrays(path)
    return _lead_field_from_arrays(arrays, f"lead-field file {path}")


def lead_field_electrode_names(path: str | Path) -> tuple[str, ...]:
    """Electrode names of a lead-field file (for checking a configuration)."""
    path = Path(path)
    if path.suffix == ".fif":
        from lfpflow.formats.mne_eeg import read_forward_lead_field

        return tuple(read_forward_lead_field(path)["electrode_names"])
    return tuple(_lead_field_arrays(path)["electrode_names"])


def _matlab_strings(h5file: Any, references: Any) -> tuple[str, ...]:
    """MATLAB (v7.3) cell array of char arrays -> strings (UTF-16 code units)."""
    return tuple(
        "".join(map(chr, np.asarray(h5file[reference]).ravel()))
        for reference in np.asarray(references).ravel()
    )


def nyhead_electrode_names(path: str | Path) -> tuple[str, ...]:
    """Electrode names (``sa.clab_electrodes``) of the New York Head file."""
    import h5py

    with h5py.File(path, "r") as content:
        return _matlab_strings(content, content["sa"]["clab_electrodes"][()])


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


# -- geometries -------------------------------------------------------------------------


def _position(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).reshape(3)


def _describe_um(point: np.ndarray) -> str:
    return "(" + ", ".join(f"{value:.0f}" for value in point) + ") um"


def _four_sphere_electrodes(head: Mapping[str, Any]) -> Electrodes:
    """Every electrode the montage offers (before selection by name)."""
    scalp = float(head["radii_um"][-1])
    if head["montage"] == "custom":
        return custom_electrodes(head["electrode_positions_um"], scalp)
    return montage_electrodes(head["montage"], scalp)


def four_sphere_geometry(head: Mapping[str, Any]) -> HeadGeometry:
    """The column in the four-sphere head (``forward.head_model``, type ``four_sphere``)."""
    from lfpykit.eegmegcalc import FourSphereVolumeConductor

    radii = [float(r) for r in head["radii_um"]]
    position = head["column_position"]
    if head["montage"] == "polar":
        if isinstance(position, str):
            raise ValueError(
                "config key 'forward.head_model.column_position': montage 'polar' places "
                "the electrodes relative to the dipole, so the column needs a position "
                f"[x, y, z] (um), not the electrode name {position!r}"
            )
        dipole = _position(position)
        electrodes = polar_electrodes(
            head["electrode_polar_angles_deg"], _unit(dipole, "column_position"), radii[-1]
        )
        placement = f"at {_describe_um(dipole)}"
        offered = electrodes
    else:
        offered = _four_sphere_electrodes(head)
        electrodes = select_electrodes(offered, head["electrodes"], f"montage {head['montage']}")
        if isinstance(position, str):
            depth = float(head["column_depth_um"])
            direction = _unit(_electrode_position(offered, position), "electrode position")
            dipole = (radii[0] - depth) * direction
            placement = f"under {position}, {depth:g} um below the brain surface"
        else:
            dipole = _position(position)
            placement = f"at {_describe_um(dipole)}"
    if not 0 < np.linalg.norm(dipole) < radii[0]:
        raise ValueError(
            f"config key 'forward.head_model.column_position': the dipole at "
            f"{_describe_um(dipole)} must lie inside the brain sphere ({radii[0]:g} um) "
            "and off its centre"
        )
    radial = _unit(dipole, "the dipole position")
    model = FourSphereVolumeConductor(
        electrodes.positions_um, radii=radii, sigmas=[float(s) for s in head["sigmas_S_per_m"]]
    )
    return HeadGeometry(
        model="four_sphere",
        electrodes=electrodes,
        dipole_um=dipole,
        radial=radial,
        rotation=column_rotation(head["column_axis"], radial, radial),
        eeg_matrix_uV=1e3 * model.get_transformation_matrix(dipole),  # mV -> uV
        column_electrode=position
        if isinstance(position, str)
        else _nearest_electrode(electrodes, dipole),
        placement=placement,
        centre_um=np.zeros(3),
        horizon_um=horizon_sphere(offered, electrodes, np.zeros(3)),
    )


def _source_geometry(
    model: str,
    head: Mapping[str, Any],
    lead_field: LeadField,
    gain_at: Callable[[int], np.ndarray],
    where: str,
) -> HeadGeometry:
    """The column at the source nearest to the requested place of a gain-matrix model.

    ``gain_at(source)`` gives the n_all_electrodes x 3 gain (uV per nA um) of
    one source. The radial direction is taken from the centre of the sphere
    fitted to all the model's electrodes.
    """
    offered = lead_field.electrodes
    electrodes = select_electrodes(offered, head["electrodes"], where)
    rows = [offered.names.index(name) for name in electrodes.names]
    position = head["column_position"]
    if isinstance(position, str):
        target, wanted = _electrode_position(offered, position), f"electrode {position}"
    else:
        target = _position(position)
        wanted = f"the requested {_describe_um(target)}"
    distances = np.linalg.norm(lead_field.sources_um - target, axis=1)
    source = int(np.argmin(distances))
    dipole = lead_field.sources_um[source]
    centre, _ = fit_sphere(offered.positions_um)
    radial = _unit(dipole - centre, "the dipole's radial direction")
    normal = None if lead_field.normals is None else lead_field.normals[source]
    return HeadGeometry(
        model=model,
        electrodes=electrodes,
        dipole_um=dipole,
        radial=radial,
        rotation=column_rotation(head["column_axis"], radial, normal),
        eeg_matrix_uV=np.asarray(gain_at(source), dtype=np.float64)[rows],
        column_electrode=position
        if isinstance(position, str)
        else _nearest_electrode(electrodes, dipole),
        placement=f"source {source} of {where}, the nearest to {wanted} "
        f"({distances[source] / 1e3:.1f} mm away)",
        centre_um=centre,
        horizon_um=horizon_sphere(offered, electrodes, centre),
    )


def lead_field_geometry(head: Mapping[str, Any]) -> HeadGeometry:
    """The column in a user's lead field (``forward.head_model``, type ``lead_field``)."""
    path = Path(head["lead_field_file"])
    lead_field = read_lead_field(path)
    return _source_geometry(
        "lead_field",
        head,
        lead_field,
        lambda source: lead_field.gain_uV[:, source, :],
        f"lead field {path.name}",
    )


def nyhead_geometry(head: Mapping[str, Any]) -> HeadGeometry:
    """The column in the New York Head (``forward.head_model``, type ``nyhead``).

    LFPykit's :class:`~lfpykit.eegmegcalc.NYHeadModel` reads the file (its
    lead field, cortex vertices and normals, electrodes in mm); it is called
    only once the file is known to exist, since it would download it otherwise.
    """
    problem = nyhead_missing(head["nyhead_file"])
    if problem:
        raise FileNotFoundError(problem)
    from lfpykit.eegmegcalc import NYHeadModel

    nyhead = NYHeadModel(str(head["nyhead_file"]))
    names = nyhead_electrode_names(head["nyhead_file"])
    electrodes_um = 1e3 * np.asarray(nyhead.elecs[:3], dtype=np.float64).T  # mm -> um
    if len(names) != len(electrodes_um):
        names = tuple(f"E{number + 1}" for number in range(len(electrodes_um)))
    cortex_um = 1e3 * np.asarray(nyhead.cortex, dtype=np.float64).T

    def gain_at(source: int) -> np.ndarray:
        nyhead.set_dipole_pos(nyhead.cortex[:, source])  # exactly a vertex: no snapping
        return 1e3 * nyhead.get_transformation_matrix()  # mV -> uV per nA um

    lead_field = LeadField(
        Electrodes(names, electrodes_um),
        cortex_um,
        np.empty((0, 0, 3)),
        np.asarray(nyhead.cortex_normals, dtype=np.float64).T,
    )
    return _source_geometry("nyhead", head, lead_field, gain_at, "the New York Head")


def head_geometry(head: Mapping[str, Any]) -> HeadGeometry:
    """The column placed in the configured head model.

    Parameters
    ----------
    head : Mapping
        ``config["forward"]["head_model"]`` (resolved: every key present).

    Returns
    -------
    HeadGeometry
    """
    builders = {
        "four_sphere": four_sphere_geometry,
        "lead_field": lead_field_geometry,
        "nyhead": nyhead_geometry,
    }
    if head["type"] not in builders:
        raise ValueError(
            f"config key 'forward.head_model.type': {head['type']!r} is not allowed; "
            f"allowed values: {', '.join(HEAD_MODELS)}"
        )
    return builders[head["type"]](head)


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
    if geometry.model != "four_sphere":
        raise ValueError(
            "config key 'forward.meg.enabled': the MEG needs a spherically symmetric "
            f"head (forward.head_model.type four_sphere), not {geometry.model!r}"
        )
    positions = geometry.electrodes.positions_um
    units = positions / np.linalg.norm(positions, axis=1, keepdims=True)
    names = tuple(f"MEG {name}" for name in geometry.electrodes.names)
    return names, float(meg["sensor_radius_um"]) * units


def meg_matrix(sensors_um: np.ndarray, dipole_um: np.ndarray) -> np.ndarray:
    """Radial magnetic field (fT) per nA um of a head-frame CDM at ``dipole_um``.

    Spherically symmetric conductor centred on the origin (Sarvas 1987, Phys
    Med Biol 32:11; LFPykit's
    :class:`~lfpykit.eegmegcalc.SphericallySymmetricVolCondMEG`): only the
    tangential part of the dipole produces a field outside the head.

    Returns
    -------
    numpy.ndarray
        n_sensors x 3, fT per (nA um): B . r_hat at each sensor.
    """
    from lfpykit.eegmegcalc import SphericallySymmetricVolCondMEG

    sensors = np.asarray(sensors_um, dtype=np.float64)
    field = SphericallySymmetricVolCondMEG(sensors).get_transformation_matrix(
        np.asarray(dipole_um, dtype=np.float64)
    )  # n_sensors x 3 (H components) x 3 (dipole components), nA/um per nA um
    radial = sensors / np.linalg.norm(sensors, axis=1, keepdims=True)
    return _FT_PER_H * np.einsum("si,sij->sj", radial, field)


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
    meg_names : tuple of str
    meg_sensors_um : numpy.ndarray
        n x 3 MEG sensor positions (head-model frame), 0 x 3 without MEG.
    """

    geometry: HeadGeometry
    matrices: dict[str, np.ndarray]
    meg_names: tuple[str, ...] = ()
    meg_sensors_um: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def attrs(self, head: Mapping[str, Any]) -> dict[str, Any]:
        """Root attributes of ``signals.h5`` describing the head and sensors.

        Names are JSON lists and fiducials a JSON object (strings); positions
        are um in the head-model frame; ``head_offset_um`` takes them to MNE's
        head frame.
        """
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


def sensor_maps(head: Mapping[str, Any], meg: Mapping[str, Any] | None = None) -> SensorMaps:
    """The EEG (and MEG) matrices of the configured head, column rotation included.

    Parameters
    ----------
    head : Mapping
        ``config["forward"]["head_model"]``.
    meg : Mapping, optional
        ``config["forward"]["meg"]``; no MEG when None or not ``enabled``.
    """
    geometry = head_geometry(head)
    matrices = {"EEG": geometry.eeg_matrix_uV @ geometry.rotation}
    if meg is None or not meg["enabled"]:
        return SensorMaps(geometry, matrices)
    names, sensors = meg_sensors(geometry, meg)
    matrices["MEG"] = meg_matrix(sensors, geometry.dipole_um) @ geometry.rotation
    return SensorMaps(geometry, matrices, names, sensors)


def sensor_signals(
    cdm: np.ndarray, head: Mapping[str, Any], meg: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """EEG (uV) and, with the MEG on, MEG (fT) of a column CDM (nA um, 3 x T).

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
    maps = sensor_maps(head, meg)
    out = {name: matrix @ cdm for name, matrix in maps.matrices.items()}
    out["electrodes_um"] = maps.geometry.electrodes.positions_um
    out["head_attrs"] = maps.attrs(head)
    if "MEG" in out:
        out["meg_sensors_um"] = maps.meg_sensors_um
    return out


def eeg_transformation_matrix(head: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """EEG matrix (uV per nA um of a head-frame CDM) and electrode positions (um)."""
    geometry = head_geometry(head)
    return geometry.eeg_matrix_uV, geometry.electrodes.positions_um


def meg_transformation_matrix(
    head: Mapping[str, Any], meg: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """MEG matrix (fT per nA um of a head-frame CDM) and sensor positions (um)."""
    geometry = head_geometry(head)
    _, sensors = meg_sensors(geometry, meg)
    return meg_matrix(sensors, geometry.dipole_um), sensors
