"""Where the column sits in the head and which way it points.

The column is placed under a named electrode or at a position (um, head-model
frame): in the four-sphere head anywhere inside the brain
(:func:`sphere_placement`), in a head known at discrete sources (a lead
field, the New York Head) at the source nearest to the requested place
(:func:`source_placement`). Its axis is given relative to the dipole, in the
local frame of :func:`lfpflow.signals.frames.local_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lfpflow.signals.checks import column_position_problem
from lfpflow.signals.electrodes import Electrodes, electrode_position, nearest_electrode
from lfpflow.signals.frames import column_rotation, unit


@dataclass(frozen=True)
class ColumnPlacement:
    """The column's dipole in a head and the rotation of its coordinates.

    Attributes
    ----------
    dipole_um : numpy.ndarray
        Position of the column's dipole (head-model frame, um).
    radial : numpy.ndarray
        Local radial unit vector at the dipole (outwards).
    rotation : numpy.ndarray
        3 x 3: CDM in the head frame = ``rotation`` @ CDM in column coordinates.
    column_electrode : str
        The electrode the column lies under (or the one nearest to it).
    description : str
        How the position was chosen, in words (for logs and files).
    """

    dipole_um: np.ndarray
    radial: np.ndarray
    rotation: np.ndarray
    column_electrode: str
    description: str


def _position(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).reshape(3)


def describe_um(point: np.ndarray) -> str:
    """``(x, y, z) um`` rounded to the micrometre, for placement descriptions."""
    return "(" + ", ".join(f"{value:.0f}" for value in point) + ") um"


def sphere_dipole(
    position: str | Sequence[float],
    offered: Electrodes | None,
    brain_radius_um: float,
    depth_um: float,
) -> tuple[np.ndarray, str]:
    """The dipole in the four-sphere head: under an electrode or at a position.

    Parameters
    ----------
    position : str or sequence of float
        An electrode of ``offered`` (the dipole lies ``depth_um`` below the
        brain surface on the ray to it) or [x, y, z] (um).
    offered : Electrodes or None
        The montage's electrodes (None for montage ``polar``, which needs a
        position).
    brain_radius_um, depth_um : float
        Brain radius and depth of the dipole below its surface (um).

    Returns
    -------
    dipole_um : numpy.ndarray
    description : str

    Raises
    ------
    ValueError
        The configuration check's message if the dipole is outside the brain
        or at its centre.
    """
    if isinstance(position, str):
        direction = unit(electrode_position(offered, position), "electrode position")
        dipole = (brain_radius_um - depth_um) * direction
        description = f"under {position}, {depth_um:g} um below the brain surface"
    else:
        dipole = _position(position)
        description = f"at {describe_um(dipole)}"
    problem = column_position_problem(dipole, brain_radius_um)
    if problem:
        raise ValueError(problem)
    return dipole, description


def sphere_placement(
    position: str | Sequence[float],
    dipole_um: np.ndarray,
    description: str,
    used: Electrodes,
    axis: str | Sequence[float],
) -> ColumnPlacement:
    """The column at ``dipole_um`` (:func:`sphere_dipole`) of the four-sphere head.

    The radial direction is the dipole's, from the spheres' centre; a radial
    head has no other normal, so ``normal`` is ``radial`` there.
    """
    radial = unit(dipole_um, "the dipole position")
    return ColumnPlacement(
        dipole_um=dipole_um,
        radial=radial,
        rotation=column_rotation(axis, radial, radial),
        column_electrode=position
        if isinstance(position, str)
        else nearest_electrode(used, dipole_um),
        description=description,
    )


def source_placement(
    position: str | Sequence[float],
    offered: Electrodes,
    used: Electrodes,
    sources_um: np.ndarray,
    normals: np.ndarray | None,
    centre_um: np.ndarray,
    axis: str | Sequence[float],
    where: str,
) -> tuple[int, ColumnPlacement]:
    """The column at the source nearest to the requested place of a discrete-source head.

    Parameters
    ----------
    position : str or sequence of float
        An electrode of ``offered`` or [x, y, z] (um, head-model frame).
    offered, used : Electrodes
        All the model's electrodes, and the recorded ones.
    sources_um : numpy.ndarray
        n_sources x 3 source positions (um).
    normals : numpy.ndarray or None
        n_sources x 3 cortical normals, if known (for ``axis`` ``normal``).
    centre_um : numpy.ndarray
        Centre of the sphere that defines the radial direction (um).
    axis : str or sequence of float
        ``forward.head_model.column_axis``.
    where : str
        The model, in words (``lead field gain.npz``, ``the New York Head``).

    Returns
    -------
    source : int
        Index of the chosen source.
    placement : ColumnPlacement
    """
    if isinstance(position, str):
        target, wanted = electrode_position(offered, position), f"electrode {position}"
    else:
        target = _position(position)
        wanted = f"the requested {describe_um(target)}"
    distances = np.linalg.norm(sources_um - target, axis=1)
    source = int(np.argmin(distances))
    dipole = sources_um[source]
    radial = unit(dipole - centre_um, "the dipole's radial direction")
    normal = None if normals is None else normals[source]
    return source, ColumnPlacement(
        dipole_um=dipole,
        radial=radial,
        rotation=column_rotation(axis, radial, normal),
        column_electrode=position if isinstance(position, str) else nearest_electrode(used, dipole),
        description=f"source {source} of {where}, the nearest to {wanted} "
        f"({distances[source] / 1e3:.1f} mm away)",
    )
