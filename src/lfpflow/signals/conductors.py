"""Volume conductors of the head: EEG and MEG of a current dipole, as LFPykit models them.

Each conductor follows the protocol of LFPykit's dipole models
(:class:`lfpykit.eegmegcalc.FourSphereVolumeConductor`,
:class:`~lfpykit.eegmegcalc.SphericallySymmetricVolCondMEG`): built for its
sensors, ``get_transformation_matrix(dipole_um)`` returns the n_sensors x 3
matrix that maps a current dipole moment (nA um, head-model frame) at
``dipole_um`` to the sensors, in lfpflow's units (EEG uV, MEG fT).

``FourSphereEEG``
    Brain, CSF, skull and scalp as concentric spheres (Naess et al. 2017,
    Front Hum Neurosci 11:490), any dipole position inside the brain.
``LeadFieldEEG``
    A gain matrix (:class:`lfpflow.signals.lead_fields.LeadField`): dipoles at
    its source positions only.
``NYHeadEEG``
    The New York Head (Huang et al. 2016, NeuroImage 140:150) through LFPykit's
    :class:`~lfpykit.eegmegcalc.NYHeadModel`: dipoles at its cortex vertices.
``SphereMEG``
    Radial magnetic field outside a spherically symmetric conductor (Sarvas
    1987, Phys Med Biol 32:11).

Where the column sits and which way it points (:mod:`lfpflow.signals.placement`)
and which electrodes are recorded (:mod:`lfpflow.signals.electrodes`) are
chosen apart from the conductors.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, Self

import numpy as np

from lfpflow.signals.checks import nyhead_missing
from lfpflow.signals.electrodes import Electrodes
from lfpflow.signals.lead_fields import LeadField, nyhead_electrode_names

#: B (fT) per H (nA/um): mu0 (T m/A) x 1e-3 (A/m per nA/um) x 1e15 (fT/T)
_FT_PER_H = 4e-7 * np.pi * 1e-3 * 1e15


class Conductor(Protocol):
    """LFPykit's protocol of a dipole model: the matrix from a CDM at a position to the sensors."""

    def get_transformation_matrix(self, dipole_um: np.ndarray) -> np.ndarray:
        """n_sensors x 3 matrix of a head-frame CDM (nA um) at ``dipole_um`` (um)."""
        ...


def _source_at(sources_um: np.ndarray, dipole_um: np.ndarray, what: str) -> int:
    """Index of the source exactly at ``dipole_um`` (a model with discrete sources)."""
    matches = np.flatnonzero(np.all(sources_um == np.asarray(dipole_um), axis=1))
    if matches.size == 0:
        raise ValueError(
            f"{what} has gains at its source positions only; {np.asarray(dipole_um).tolist()} "
            "um is none of them (place the column with lfpflow.signals.placement)"
        )
    return int(matches[0])


class FourSphereEEG:
    """EEG of the four-sphere head at named electrodes.

    Parameters
    ----------
    electrodes : Electrodes
        The recorded electrodes (on or inside the scalp sphere, um).
    radii_um : sequence of float
        Radii of brain, CSF, skull and scalp (um), increasing.
    sigmas_S_per_m : sequence of float
        Their conductivities (S/m).
    """

    def __init__(
        self, electrodes: Electrodes, radii_um: Sequence[float], sigmas_S_per_m: Sequence[float]
    ) -> None:
        self.electrodes = electrodes
        self.radii_um = [float(r) for r in radii_um]
        self.sigmas_S_per_m = [float(s) for s in sigmas_S_per_m]

    def get_transformation_matrix(self, dipole_um: np.ndarray) -> np.ndarray:
        """n_electrodes x 3: uV per nA um of a head-frame CDM at ``dipole_um`` (um)."""
        from lfpykit.eegmegcalc import FourSphereVolumeConductor

        model = FourSphereVolumeConductor(
            self.electrodes.positions_um, radii=self.radii_um, sigmas=self.sigmas_S_per_m
        )
        return 1e3 * model.get_transformation_matrix(dipole_um)  # mV -> uV


class _SourceEEG:
    """A conductor known at discrete sources: gains at named electrodes, rows chosen."""

    lead_field: LeadField
    rows: list[int]

    @property
    def sources_um(self) -> np.ndarray:
        """n_sources x 3 source positions (um)."""
        return self.lead_field.sources_um

    def recording(self, names: Sequence[str]) -> Self:
        """This conductor recording the electrodes ``names`` (all if empty), in that order."""
        chosen = copy.copy(self)
        offered = self.lead_field.electrodes.names
        chosen.rows = [offered.index(name) for name in names or offered]
        return chosen

    def _gain(self, source: int) -> np.ndarray:
        raise NotImplementedError

    def get_transformation_matrix(self, dipole_um: np.ndarray) -> np.ndarray:
        """n_electrodes x 3: uV per nA um of a CDM at the source ``dipole_um`` (um)."""
        source = _source_at(self.sources_um, dipole_um, type(self).__name__)
        return np.asarray(self._gain(source), dtype=np.float64)[self.rows]


class LeadFieldEEG(_SourceEEG):
    """EEG of a lead field (:class:`~lfpflow.signals.lead_fields.LeadField`).

    Parameters
    ----------
    lead_field : LeadField
        Gains of every electrode and source of the file; all electrodes are
        recorded until :meth:`recording` chooses some.
    """

    def __init__(self, lead_field: LeadField) -> None:
        self.lead_field = lead_field
        self.rows = list(range(len(lead_field.electrodes.names)))

    def _gain(self, source: int) -> np.ndarray:
        return self.lead_field.gain_uV[:, source, :]


class NYHeadEEG(_SourceEEG):
    """EEG of the New York Head, from a local ``sa_nyhead.mat``.

    LFPykit's :class:`~lfpykit.eegmegcalc.NYHeadModel` reads the file (its
    lead field, cortex vertices and normals, electrodes in mm); it is called
    only once the file is known to exist, since it would download it otherwise.
    Its cortex vertices are the sources; all electrodes are recorded until
    :meth:`recording` chooses some.

    Parameters
    ----------
    path : path-like
        ``forward.head_model.nyhead_file``.
    """

    def __init__(self, path: str | Path) -> None:
        problem = nyhead_missing(path)
        if problem:
            raise FileNotFoundError(problem)
        from lfpykit.eegmegcalc import NYHeadModel

        self.model = NYHeadModel(str(path))
        names = nyhead_electrode_names(path)
        electrodes_um = 1e3 * np.asarray(self.model.elecs[:3], dtype=np.float64).T  # mm -> um
        if len(names) != len(electrodes_um):
            names = tuple(f"E{number + 1}" for number in range(len(electrodes_um)))
        self.lead_field = LeadField(
            Electrodes(names, electrodes_um),
            1e3 * np.asarray(self.model.cortex, dtype=np.float64).T,
            np.empty((0, 0, 3)),  # the gains stay in LFPykit's model
            np.asarray(self.model.cortex_normals, dtype=np.float64).T,
        )
        self.rows = list(range(len(names)))

    def _gain(self, source: int) -> np.ndarray:
        self.model.set_dipole_pos(self.model.cortex[:, source])  # exactly a vertex: no snapping
        return 1e3 * self.model.get_transformation_matrix()  # mV -> uV per nA um


class SphereMEG:
    """Radial magnetometers outside a spherically symmetric head centred on the origin.

    Parameters
    ----------
    sensors_um : numpy.ndarray
        n x 3 sensor positions (um); each measures the field along its radial
        direction.
    """

    def __init__(self, sensors_um: np.ndarray) -> None:
        self.sensors_um = np.asarray(sensors_um, dtype=np.float64)

    def get_transformation_matrix(self, dipole_um: np.ndarray) -> np.ndarray:
        """n_sensors x 3: fT per nA um of a head-frame CDM at ``dipole_um``, B . r_hat.

        Only the tangential part of the dipole produces a field outside the
        head (LFPykit's :class:`~lfpykit.eegmegcalc.SphericallySymmetricVolCondMEG`).
        """
        from lfpykit.eegmegcalc import SphericallySymmetricVolCondMEG

        sensors = self.sensors_um
        field = SphericallySymmetricVolCondMEG(sensors).get_transformation_matrix(
            np.asarray(dipole_um, dtype=np.float64)
        )  # n_sensors x 3 (H components) x 3 (dipole components), nA/um per nA um
        radial = sensors / np.linalg.norm(sensors, axis=1, keepdims=True)
        return _FT_PER_H * np.einsum("si,sij->sj", radial, field)
