"""EEG electrodes of a head model: montages on the scalp, custom and polar ones, selection.

Positions are um in the head-model frame (:mod:`lfpflow.signals.frames`); a
montage read from MNE (:func:`lfpflow.formats.heads.read_montage`) arrives as
a :class:`Montage` in MNE's head frame (m) and is placed on the scalp sphere
of the four-sphere head by :func:`montage_electrodes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lfpflow.signals.frames import fit_sphere, local_frame

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
class Montage:
    """Electrode positions of a cap as read from a file or a library (e.g. MNE's montages).

    Attributes
    ----------
    name : str
        The montage's name (``forward.head_model.montage``).
    names : tuple of str
        Electrode names, in the montage's order.
    positions_m : numpy.ndarray
        n x 3 positions (m), MNE's head frame.
    fiducials_m : dict
        ``nasion``, ``lpa``, ``rpa`` (m, MNE's head frame) where known.
    """

    name: str
    names: tuple[str, ...]
    positions_m: np.ndarray
    fiducials_m: dict[str, np.ndarray] = field(default_factory=dict)


def on_scalp(directions: np.ndarray, scalp_radius_um: float) -> np.ndarray:
    """Points on the scalp sphere along ``directions`` from the centre (um)."""
    directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    units = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return (1 - _INSIDE) * scalp_radius_um * units


def polar_electrodes(
    polar_angles_deg: Sequence[float], radial: Sequence[float], scalp_radius_um: float
) -> Electrodes:
    """Electrodes at polar angles from the dipole's radial direction.

    The electrodes lie in the plane of e_1 and e_3
    (:func:`~lfpflow.signals.frames.local_frame`) on the scalp; angle 0 is the
    scalp point right above the dipole. Names are
    ``P<angle>`` (``P0``, ``P22.5``).
    """
    frame = local_frame(radial)
    theta = np.deg2rad(np.asarray(polar_angles_deg, dtype=np.float64))
    directions = np.outer(np.sin(theta), frame[:, 0]) + np.outer(np.cos(theta), frame[:, 2])
    names = tuple(f"P{float(angle):g}" for angle in polar_angles_deg)
    return Electrodes(names, on_scalp(directions, scalp_radius_um))


def montage_electrodes(montage: Montage, scalp_radius_um: float) -> Electrodes:
    """All electrodes of a montage (e.g. MNE's), projected onto the scalp sphere.

    A sphere is fitted to the montage's positions (MNE head frame); each
    electrode is moved along the ray from that sphere's centre to the scalp
    sphere of the head model, whose centre is the fitted one. Fiducials are
    translated with the montage (not projected).

    Parameters
    ----------
    montage : Montage
        Names, positions and fiducials (m, MNE head frame), e.g. of
        :func:`lfpflow.formats.heads.read_montage`.
    scalp_radius_um : float
        Radius of the scalp sphere (um).
    """
    positions = 1e6 * montage.positions_m
    centre, _ = fit_sphere(positions)
    return Electrodes(
        montage.names,
        on_scalp(positions - centre, scalp_radius_um),
        head_offset_um=centre,
        fiducials_um={key: 1e6 * value - centre for key, value in montage.fiducials_m.items()},
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


def electrode_position(electrodes: Electrodes, name: str) -> np.ndarray:
    """Position (um) of the electrode ``name``; ValueError naming the column's key if absent."""
    if name not in electrodes.names:
        raise ValueError(
            f"config key 'forward.head_model.column_position': {name!r} is not an electrode "
            f"of the head model; allowed values: {', '.join(electrodes.names)} or [x, y, z] (um)"
        )
    return electrodes.positions_um[electrodes.names.index(name)]


def nearest_electrode(electrodes: Electrodes, point_um: np.ndarray) -> str:
    """Name of the electrode nearest to ``point_um`` (um)."""
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
