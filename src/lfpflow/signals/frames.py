"""Frames of a column in a head: the local frame at the dipole and the column's rotation.

The column's axis is given *relative to the dipole* in the local frame
(e_1, e_2, e_3) of :func:`local_frame`: e_3 is the local radial direction
(outwards), e_2 the tangential direction towards the nose, e_1 = e_2 x e_3
(towards the right ear on the vertex). ``radial`` is [0, 0, 1] (a gyral
crown), ``tangential`` [0, 1, 0] (a sulcal wall), so moving the dipole never
turns one into the other. The head frame's axes are MNE's (x towards the
right ear, y towards the nose, z up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lfpflow.signals.checks import column_axis_problem


def unit(vector: Any, what: str) -> np.ndarray:
    """``vector`` / its length; ValueError naming ``what`` unless a finite non-zero 3-vector."""
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
    e3 = unit(radial, "the radial direction")
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
    n = unit(direction, "the column axis")
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
    problem = column_axis_problem(axis)  # the rule of the configuration's check
    if problem:
        raise ValueError(problem)
    frame = local_frame(radial)
    if not isinstance(axis, str):
        components = unit(axis, "column_axis")
    elif axis != "normal":
        components = np.array([0.0, 0.0, 1.0] if axis == "radial" else [0.0, 1.0, 0.0])
    elif normal is None:
        raise ValueError(
            "column_axis 'normal' needs a head model with cortical normals "
            "(nyhead, or a lead field whose file has source normals)"
        )
    else:
        components = frame.T @ unit(normal, "the cortical normal")
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
