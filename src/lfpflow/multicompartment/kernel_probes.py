"""The probes a kernel is computed for: LFP, CDM and the population's CSD.

``KernelApprox.get_kernel`` maps the membrane currents of its one cell with
LFPykit-style probes (a ``cell`` attribute and ``get_transformation_matrix``).
:func:`probe_settings` reads what ``kernels.probes`` asks for,
:func:`kernel_probes` builds the probes: LFPykernels'
``GaussCylinderPotential`` (LFP) and ``KernelApproxCurrentDipoleMoment``
(CDM), and :class:`GaussCylinderCSD`, the laminar CSD of the same spread
population. LFPykernels is imported inside functions.

Units: lengths and depths um, conductivity S/m, LFP mV, CDM nA*um, CSD nA/um^3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lfpflow.signals.kernel_files import csd_slab_edges_um


def probe_settings(kernel_config: Mapping[str, Any], post: str) -> dict[str, Any]:
    """The measurements a kernel onto ``post`` is computed for, from ``kernels.probes``.

    The probes see the postsynaptic population spread as its cell says
    (``populations[post]``: disc radius and soma-depth sd).

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description (validated).
    post : str
        Postsynaptic population.

    Returns
    -------
    dict
        ``z_um`` (contact depths, um), ``sigma_S_per_m`` (conductivity, S/m),
        ``radius_um`` and ``soma_z_sd_um`` (population disc radius and
        soma-depth sd, um), ``csd`` and ``cdm`` flags, and
        ``csd_slab_edges_um`` (n_contacts x 2, um; None without CSD).

    Raises
    ------
    ValueError
        From :func:`csd_slab_edges_um`, if the CSD is asked for with fewer
        than two contacts or a repeated depth.
    """
    probes = kernel_config["probes"]
    geometry = kernel_config["populations"][post]
    z_um = np.asarray(probes["lfp"]["z_um"], dtype=float)
    csd = bool(probes["csd"])
    return {
        "z_um": z_um,
        "sigma_S_per_m": float(probes["lfp"]["sigma_S_per_m"]),
        "radius_um": float(geometry["radius_um"]),
        "soma_z_sd_um": float(geometry["soma_z_sd_um"]),
        "csd": csd,
        "cdm": bool(probes["cdm"]),
        "csd_slab_edges_um": csd_slab_edges_um(z_um) if csd else None,
    }


class GaussCylinderCSD:
    """Laminar CSD of a population spread like ``GaussCylinderPotential`` (nA/um^3).

    ``KernelApprox`` places one cell at the mean soma depth; the population it
    stands for has somata spread uniformly over a disc of radius ``R`` and
    normally along depth with standard deviation ``sigma_z``.
    LFPykernels' ``GaussCylinderPotential`` computes the LFP of exactly that
    spread (Hagen et al. 2022). For the CSD to be the source of
    that LFP, this probe spreads each segment's current in the same way: the
    fraction of the current of a segment with midpoint depth ``z_i`` that
    lies in the slab ``[a, b]`` is ``Phi((b - z_i)/sigma_z) - Phi((a -
    z_i)/sigma_z)`` (``Phi`` the standard normal CDF), divided by the slab
    volume ``pi R^2 (b - a)``. The CSD of the single cell
    (``lfpykit.LaminarCurrentSourceDensity``) would instead show each
    compartment's current in one slab only.

    It follows LFPykit's ``LinearModel`` protocol as ``KernelApprox`` uses it:
    a ``cell`` attribute (set to the kernel's cell during
    ``get_kernel``) and :meth:`get_transformation_matrix`.

    Parameters
    ----------
    cell : object or None
        ``lfpykit.CellGeometry``-like object with ``z`` (n_seg x 2, um), or
        None until ``KernelApprox`` sets it.
    slab_edges_um : ndarray
        Shape ``(n_slabs, 2)``: lower and upper edge of each slab (um).
    radius_um : float
        Radius ``R`` of the population disc (um).
    sigma_z_um : float
        Standard deviation ``sigma_z`` of the soma depths (um).
    """

    def __init__(
        self, cell: Any, slab_edges_um: np.ndarray, radius_um: float, sigma_z_um: float
    ) -> None:
        self.cell = cell
        self.slab_edges_um = np.asarray(slab_edges_um, dtype=float)
        self.radius_um = float(radius_um)
        self.sigma_z_um = float(sigma_z_um)

    def get_transformation_matrix(self) -> np.ndarray:
        """Matrix ``M`` (1/um^3) with CSD = ``M @ I`` for segment currents ``I`` (nA).

        Returns
        -------
        ndarray
            Shape ``(n_slabs, n_seg)``.

        Raises
        ------
        AttributeError
            If ``cell`` is None.
        """
        from scipy.special import ndtr

        if self.cell is None:
            raise AttributeError(f"{type(self).__name__}.cell is None")
        z_mid = np.asarray(self.cell.z, dtype=float).mean(axis=-1)
        lower = self.slab_edges_um[:, :1]
        upper = self.slab_edges_um[:, 1:]
        fraction = ndtr((upper - z_mid) / self.sigma_z_um) - ndtr((lower - z_mid) / self.sigma_z_um)
        volume = np.pi * self.radius_um**2 * (upper - lower)
        return fraction / volume


def kernel_probes(probe_setup: Mapping[str, Any]) -> list[Any]:
    """The LFPykit-style probes ``KernelApprox.get_kernel`` maps currents with.

    Parameters
    ----------
    probe_setup : Mapping
        :func:`probe_settings`.

    Returns
    -------
    list
        ``GaussCylinderPotential`` (LFP), then ``KernelApproxCurrentDipoleMoment``
        (CDM) and :class:`GaussCylinderCSD` (CSD) if asked for; each with
        ``cell=None`` until ``KernelApprox`` sets it.
    """
    import lfpykernels

    probes: list[Any] = [
        lfpykernels.GaussCylinderPotential(
            cell=None,
            z=probe_setup["z_um"],
            sigma=probe_setup["sigma_S_per_m"],
            R=probe_setup["radius_um"],
            sigma_z=probe_setup["soma_z_sd_um"],
        )
    ]
    if probe_setup["cdm"]:
        probes.append(lfpykernels.KernelApproxCurrentDipoleMoment(cell=None))
    if probe_setup["csd"]:
        probes.append(
            GaussCylinderCSD(
                cell=None,
                slab_edges_um=probe_setup["csd_slab_edges_um"],
                radius_um=probe_setup["radius_um"],
                sigma_z_um=probe_setup["soma_z_sd_um"],
            )
        )
    return probes
