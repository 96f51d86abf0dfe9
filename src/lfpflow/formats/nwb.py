"""A run's spikes and signals as one NWB 2 file (pynwb): ``results/<run>/<stem>.nwb``.

``<stem>`` is the last part of the run's folder (:func:`lfpflow.formats.nwb_path`).

Layout of the file (NWB names; "ecephys" is the processing module):

- ``units``: one row per neuron, ``id`` = position in the network (populations
  in configuration order, then the index within the population).
  ``spike_times`` (s from the start of the simulation), ``obs_intervals`` (the
  whole simulation for every neuron: a neuron without spikes was observed and
  did not fire), ``population``, ``model`` (the catalogue name of
  ``populations.<X>.model``; the column's description names the NEST model
  of each), ``index_in_population`` (the ``senders`` value of ``spikes.h5``);
  ``resolution`` is the simulation step (:mod:`lfpflow.formats.nwb_units`).
- ``electrodes`` with two electrode groups, each with its device: the
  ``laminar_probe`` (one row per contact) and the ``EEG`` scalp electrodes.
  Positions are in ``rel_x``, ``rel_y``, ``rel_z`` (micrometres, the unit the
  NWB schema prescribes), each in its group's frame: the column frame for the
  probe (contacts on the column axis at depth ``z_um``), the head frame of the
  four-sphere model for the scalp (origin at the centre of the spheres). The
  atlas columns ``x``, ``y``, ``z`` (+x posterior, +y inferior, +z right) are
  left out: a simulated column has no place in an atlas
  (:mod:`lfpflow.formats.nwb_electrodes`).
- ``processing/ecephys``: ``LFP/laminar_LFP`` and ``EEG`` (ElectricalSeries
  over those electrodes), ``CSD``, ``CDM`` and ``MEG`` (TimeSeries: NWB has no
  type for a current source density, a dipole moment or a magnetic field, and
  an ElectricalSeries must be a potential), ``MEG_sensors`` (positions, um, head
  frame) and ``head_model`` (radii and conductivities of the four spheres)
  (:mod:`lfpflow.formats.nwb_signals`).
- ``intervals/invalid_times``: the start-up transient (``simulation.transient_ms``)
  that lfpflow's analyses leave out.

Units: every series keeps the values of ``signals.h5`` exactly (float64) with
an NWB ``unit`` in SI and a ``conversion`` factor
(:data:`lfpflow.formats.nwb_signals.NWB_UNITS`): LFP and EEG in volts
(conversion 1e-3 for mV, 1e-6 for uV), CSD in A/m^3 (1e9 for nA/um^3), CDM in
A*m (1e-15 for nA*um), MEG in T (1e-15 for fT);
``data * conversion`` is in the NWB unit. Series start at ``t_ms[0] / 1000`` s
and are sampled at ``1000 / simulation.dt_ms`` Hz.

Provenance (:mod:`lfpflow.formats.nwb_provenance`): ``notes`` holds the
configuration the file depends on (the ``export`` stage view: seed,
simulation, network with its populations, kernels, forward, export) as YAML;
``data_collection`` holds, as YAML, its SHA-256, the seed, ``n_vp``, the
package versions and the provenance attributes of ``spikes.h5`` and
``signals.h5``; ``was_generated_by`` lists (package, version) pairs;
``source_script`` names this module. ``yaml.safe_load`` reads the first two
back.

Determinism: ``identifier`` is a UUID derived from the run, the configuration
hash and the package versions; ``session_start_time`` is the creation time of
``spikes.h5`` (when the network was simulated, or ``SOURCE_DATE_EPOCH`` if it was
set then); ``file_create_date`` follows :func:`lfpflow.io.creation_time_utc`.
hdmf gives every object a random ``object_id`` (uuid4); they are replaced, after
writing, by UUIDs derived from the identifier and the object's path, so that
with ``SOURCE_DATE_EPOCH`` set two exports of the same run are byte-identical.
Large datasets are chunked (about 1 MiB per chunk) and gzip-compressed with the
shuffle filter; the signals are copied from ``signals.h5`` a block at a time
(:mod:`lfpflow.formats.nwb_storage`).

The export reads files and knows no simulator: the NEST model names of the
units table come from the caller (``nest_models``; checked by
:func:`lfpflow.formats.nwb_units.nest_model_names`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
from pynwb import NWBHDF5IO, NWBFile

from lfpflow import io
from lfpflow.formats.nwb_provenance import (
    derive_object_ids,
    root_attributes,
    session_metadata,
    simulated_subject,
)
from lfpflow.formats.nwb_signals import add_signals
from lfpflow.formats.nwb_units import nest_model_names, units_table
from lfpflow.signals.spikes import NetworkSpikes, read_spikes

__all__ = ["build_nwbfile", "export_nwb"]


def export_nwb(
    path: str | os.PathLike,
    *,
    spikes_path: str | os.PathLike,
    signals_path: str | os.PathLike,
    config: Mapping[str, Any],
    run: str,
    nest_models: Mapping[str, str],
) -> dict[str, Any]:
    """Write a run's spikes and signals as one NWB file, atomically.

    Parameters
    ----------
    path : path-like
        Destination (:func:`lfpflow.formats.nwb_path`); written under a temporary
        name in the same folder and renamed when complete.
    spikes_path, signals_path : path-like
        ``network/spikes.h5`` and ``signals.h5`` of the run.
    config : Mapping
        The run's ``export`` stage configuration
        (``lfpflow.config.stage_config(config, "export")``).
    run : str
        The run's folder below ``results/`` (``default``, or
        ``<name>/<label>-<hash>`` in a sweep).
    nest_models : Mapping
        Catalogue model name -> NEST model name of the models the populations
        use (named in the units table;
        :func:`lfpflow.pointneuron.catalogue.nest_models`).

    Returns
    -------
    dict
        ``identifier``, ``n_units``, ``n_spikes``, ``n_samples`` and the file
        size ``bytes``.

    Raises
    ------
    ValueError
        If ``nest_models`` lacks a model the populations use, or the signals
        do not fit the configuration (time step, units).
    """
    spikes = read_spikes(spikes_path)
    nest_models = nest_model_names(config, nest_models)
    inputs = {"network/spikes.h5": root_attributes(spikes_path)}
    with h5py.File(signals_path, "r") as signals:
        inputs["signals.h5"] = root_attributes(signals_path)
        nwbfile = build_nwbfile(
            spikes, signals, config=config, run=run, inputs=inputs, nest_models=nest_models
        )
        with io.atomic_path(path) as tmp:
            # an open h5py file: pynwb would warn about the temporary name's suffix
            with h5py.File(tmp, "w") as h5, NWBHDF5IO(file=h5, mode="w") as nwb_io:
                nwb_io.write(nwbfile)
            derive_object_ids(tmp, nwbfile.identifier)
        n_samples = int(signals["t_ms"].shape[0])
    return {
        "identifier": nwbfile.identifier,
        "n_units": sum(spikes.population_sizes.values()),
        "n_spikes": int(sum(times.size for times in spikes.times_ms.values())),
        "n_samples": n_samples,
        "bytes": Path(path).stat().st_size,
    }


def build_nwbfile(
    spikes: NetworkSpikes,
    signals: h5py.File,
    *,
    config: Mapping[str, Any],
    run: str,
    inputs: Mapping[str, Mapping[str, Any]],
    nest_models: Mapping[str, str],
) -> NWBFile:
    """The in-memory NWB file of a run (see the module docstring for its layout).

    Parameters
    ----------
    spikes : NetworkSpikes
        The run's spikes (:func:`lfpflow.signals.spikes.read_spikes`).
    signals : h5py.File
        ``signals.h5``, open; the signals are read from it while writing, so
        it must stay open until the file is written.
    config : Mapping
        The ``export`` stage configuration.
    run : str
        The run's folder below ``results/``.
    inputs : Mapping
        Input file name -> its provenance attributes (:func:`root_attributes`).
    nest_models : Mapping
        Catalogue model name -> NEST model name of every model the populations
        use (:func:`lfpflow.formats.nwb_units.nest_model_names`).
    """
    level = int(config["export"]["compression_level"])
    nwbfile = NWBFile(**session_metadata(config, run=run, inputs=inputs))
    nwbfile.subject = simulated_subject(config["export"]["subject"], run)
    nwbfile.units = units_table(spikes, config, level, nest_models=nest_models)
    add_signals(nwbfile, signals, config, level)
    transient_s = float(config["simulation"]["transient_ms"]) / 1000.0
    if transient_s > 0:
        nwbfile.add_invalid_time_interval(
            start_time=0.0, stop_time=transient_s, tags=["start-up transient"]
        )
    return nwbfile
