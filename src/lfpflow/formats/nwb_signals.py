"""The signals of the NWB export: LFP, CSD, CDM, EEG and MEG in ``processing/ecephys``.

``LFP/laminar_LFP`` and ``EEG`` are ElectricalSeries over their electrodes;
``CSD``, ``CDM`` and ``MEG`` are TimeSeries (NWB has no type for a current
source density, a dipole moment or a magnetic field, and an ElectricalSeries
must be a potential). Every series keeps the values of ``signals.h5`` exactly
(float64) with an NWB ``unit`` in SI and a ``conversion`` factor
(:data:`NWB_UNITS`); ``data * conversion`` is in the NWB unit. Series start at
``t_ms[0] / 1000`` s and are sampled at ``1000 / simulation.dt_ms`` Hz.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
from hdmf.common import DynamicTableRegion
from pynwb import NWBFile, TimeSeries
from pynwb.ecephys import LFP, ElectricalSeries

from lfpflow.formats.nwb_electrodes import (
    add_probe,
    add_scalp_electrodes,
    head_model_table,
    meg_sensor_table,
)
from lfpflow.formats.nwb_storage import series_data

#: Units of ``signals.h5`` -> (unit stored in the NWB file, conversion factor):
#: the NWB file keeps the values and ``data * conversion`` is in that unit.
NWB_UNITS: dict[str, tuple[str, float]] = {
    "mV": ("volts", 1e-3),
    "uV": ("volts", 1e-6),
    "nA/um^3": ("A/m^3", 1e9),
    "nA*um": ("A*m", 1e-15),
    "fT": ("T", 1e-15),
}

#: Description of each series (NWB ``description``).
DESCRIPTIONS = {
    "LFP": "laminar LFP, one channel per probe contact (electrodes in the order of z_um)",
    "CSD": "laminar current source density: transmembrane current per volume in a slab "
    "around each probe contact (outward current, a source, positive), one channel per "
    "contact of the laminar_probe electrodes, at depths z_um = {z_um} um",
    "CDM": "current dipole moment of the column: x, y, z components in column coordinates "
    "(z along the column axis; head_model gives that axis in the head)",
    "EEG": "scalp potential of the four-sphere head model, one channel per EEG electrode",
    "MEG": "radial component of the magnetic field at the MEG sensors, one channel per row "
    "of MEG_sensors",
}


def nwb_unit(units: str) -> tuple[str, float]:
    """NWB unit and conversion factor of a ``signals.h5`` unit (:data:`NWB_UNITS`)."""
    try:
        return NWB_UNITS[units]
    except KeyError:
        raise ValueError(
            f"no NWB unit known for {units!r}; known: {', '.join(NWB_UNITS)}"
        ) from None


def sampling(t_ms: np.ndarray, dt_ms: float) -> dict[str, float]:
    """``starting_time`` (s) and ``rate`` (Hz) of a regular time axis.

    Parameters
    ----------
    t_ms : numpy.ndarray
        Sample times (ms), as in ``signals.h5``.
    dt_ms : float
        ``simulation.dt_ms``, the sampling step the samples must follow.

    Raises
    ------
    ValueError
        If the samples are not evenly spaced by ``dt_ms``.
    """
    t_ms = np.asarray(t_ms, dtype=np.float64)
    if t_ms.size > 1 and not np.allclose(np.diff(t_ms), dt_ms, rtol=1e-9, atol=0.0):
        raise ValueError(f"t_ms is not evenly spaced by simulation.dt_ms = {dt_ms:g} ms")
    return {"starting_time": float(t_ms[0]) / 1000.0, "rate": 1000.0 / float(dt_ms)}


def add_signals(
    nwbfile: NWBFile, signals: h5py.File, config: Mapping[str, Any], level: int
) -> None:
    """Add LFP, CSD, CDM, EEG and MEG (those in ``signals.h5``) to processing/ecephys.

    Parameters
    ----------
    nwbfile : NWBFile
        The file being built.
    signals : h5py.File
        ``signals.h5``, open until the NWB file is written.
    config : Mapping
        The ``export`` stage configuration.
    level : int
        gzip level (0: uncompressed).
    """
    ecephys = nwbfile.create_processing_module(
        name="ecephys",
        description="signals predicted from the simulated network (lfpflow forward model)",
    )
    timing = sampling(signals["t_ms"][()], float(config["simulation"]["dt_ms"]))
    z_um = np.asarray(signals["z_um"][()], dtype=np.float64)
    probe = add_probe(nwbfile, z_um)
    lfp = LFP()  # in the file before its series, so the series' electrodes resolve
    ecephys.add(lfp)
    lfp.add_electrical_series(
        potential_series("laminar_LFP", signals["LFP"], probe, timing, level, DESCRIPTIONS["LFP"])
    )
    z_text = ", ".join(f"{z:g}" for z in z_um)
    for name in ("CSD", "CDM"):
        if name in signals:
            description = DESCRIPTIONS[name].format(z_um=z_text)
            ecephys.add(field_series(name, signals[name], timing, level, description))
    if "EEG" in signals:
        names = json.loads(signals.attrs["eeg_electrode_names"])
        scalp = add_scalp_electrodes(nwbfile, signals.attrs["eeg_electrodes_um"], names)
        ecephys.add(
            potential_series("EEG", signals["EEG"], scalp, timing, level, DESCRIPTIONS["EEG"])
        )
        ecephys.add(head_model_table(signals.attrs))
    if "MEG" in signals:
        ecephys.add(field_series("MEG", signals["MEG"], timing, level, DESCRIPTIONS["MEG"]))
        names = json.loads(signals.attrs["meg_sensor_names"])
        ecephys.add(meg_sensor_table(signals.attrs["meg_sensors_um"], names))


def potential_series(
    name: str,
    dataset: h5py.Dataset,
    electrodes: DynamicTableRegion,
    timing: Mapping[str, float],
    level: int,
    description: str,
) -> ElectricalSeries:
    """An ElectricalSeries (volts via ``conversion``) over rows of the electrodes table.

    Parameters
    ----------
    name : str
        NWB name of the series.
    dataset : h5py.Dataset
        A channels x time potential of ``signals.h5`` (``units`` mV or uV).
    electrodes : DynamicTableRegion
        The rows of the electrodes table, one per channel.
    timing : Mapping
        ``starting_time`` (s) and ``rate`` (Hz), :func:`sampling`.
    level : int
        gzip level (0: uncompressed).
    description : str
        NWB description.

    Raises
    ------
    ValueError
        If the dataset is not a potential.
    """
    unit, conversion = nwb_unit(str(dataset.attrs["units"]))
    if unit != "volts":
        raise ValueError(f"{dataset.name} is in {dataset.attrs['units']}, not a potential")
    return ElectricalSeries(
        name=name,
        data=series_data(dataset, level),
        electrodes=electrodes,
        conversion=conversion,
        filtering="none: model output, no filter applied",
        description=description,
        **timing,
    )


def field_series(
    name: str, dataset: h5py.Dataset, timing: Mapping[str, float], level: int, description: str
) -> TimeSeries:
    """A TimeSeries with an SI unit and ``conversion`` (:data:`NWB_UNITS`).

    Parameters
    ----------
    name : str
        NWB name of the series.
    dataset : h5py.Dataset
        A channels x time dataset of ``signals.h5`` with ``units``.
    timing : Mapping
        ``starting_time`` (s) and ``rate`` (Hz), :func:`sampling`.
    level : int
        gzip level (0: uncompressed).
    description : str
        NWB description; the unit of ``signals.h5`` is appended.
    """
    unit, conversion = nwb_unit(str(dataset.attrs["units"]))
    return TimeSeries(
        name=name,
        data=series_data(dataset, level),
        unit=unit,
        conversion=conversion,
        description=f"{description}; stored in {dataset.attrs['units']}",
        continuity="continuous",
        **timing,
    )
