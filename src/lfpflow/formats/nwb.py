"""A run's spikes and signals as one NWB 2 file (pynwb): ``results/<run>/<run>.nwb``.

Layout of the file (NWB names; "ecephys" is the processing module):

- ``units``: one row per neuron, ``id`` = position in the network (populations
  in configuration order, then the index within the population).
  ``spike_times`` (s from the start of the simulation), ``obs_intervals`` (the
  whole simulation for every neuron: a neuron without spikes was observed and
  did not fire), ``population``, ``model`` (the catalogue name of
  ``populations.<X>.model``; the column's description names the NEST model
  of each), ``index_in_population`` (the ``senders`` value of ``spikes.h5``);
  ``resolution`` is the simulation step.
- ``electrodes`` with two electrode groups, each with its device: the
  ``laminar_probe`` (one row per contact) and the ``EEG`` scalp electrodes.
  Positions are in ``rel_x``, ``rel_y``, ``rel_z`` (micrometres, the unit the
  NWB schema prescribes), each in its group's frame: the column frame for the
  probe (contacts on the column axis at depth ``z_um``), the head frame of the
  four-sphere model for the scalp (origin at the centre of the spheres). The
  atlas columns ``x``, ``y``, ``z`` (+x posterior, +y inferior, +z right) are
  left out: a simulated column has no place in an atlas.
- ``processing/ecephys``: ``LFP/laminar_LFP`` and ``EEG`` (ElectricalSeries
  over those electrodes), ``CSD``, ``CDM`` and ``MEG`` (TimeSeries: NWB has no
  type for a current source density, a dipole moment or a magnetic field, and
  an ElectricalSeries must be a potential), ``MEG_sensors`` (positions, um, head
  frame) and ``head_model`` (radii and conductivities of the four spheres).
- ``intervals/invalid_times``: the start-up transient (``simulation.transient_ms``)
  that lfpflow's analyses leave out.

Units: every series keeps the values of ``signals.h5`` exactly (float64) with
an NWB ``unit`` in SI and a ``conversion`` factor (:data:`NWB_UNITS`): LFP and
EEG in volts (conversion 1e-3 for mV, 1e-6 for uV), CSD in A/m^3 (1e9 for
nA/um^3), CDM in A*m (1e-15 for nA*um), MEG in T (1e-15 for fT);
``data * conversion`` is in the NWB unit. Series start at ``t_ms[0] / 1000`` s
and are sampled at ``1000 / simulation.dt_ms`` Hz.

Provenance: ``notes`` holds the configuration the file depends on (the
``export`` stage view: seed, simulation, network with its populations, kernels,
forward, export) as YAML; ``data_collection`` holds, as YAML, its SHA-256, the
seed, ``n_vp``, the package versions and the provenance attributes of
``spikes.h5`` and ``signals.h5``; ``was_generated_by`` lists (package,
version) pairs; ``source_script`` names this module. ``yaml.safe_load`` reads
the first two back.

Determinism: ``identifier`` is a UUID derived from the run, the configuration
hash and the package versions; ``session_start_time`` is the creation time of
``spikes.h5`` (when the network was simulated, or ``SOURCE_DATE_EPOCH`` if it was
set then); ``file_create_date`` follows :func:`lfpflow.io.creation_time_utc`.
hdmf gives every object a random ``object_id`` (uuid4); they are replaced, after
writing, by UUIDs derived from the identifier and the object's path, so that
with ``SOURCE_DATE_EPOCH`` set two exports of the same run are byte-identical.
Large datasets are chunked (about 1 MiB per chunk) and gzip-compressed with the
shuffle filter; the signals are copied from ``signals.h5`` a block at a time.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml
from hdmf.backends.hdf5.h5_utils import H5DataIO
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData, VectorIndex
from hdmf.data_utils import GenericDataChunkIterator
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.ecephys import LFP, ElectricalSeries
from pynwb.file import Subject
from pynwb.misc import Units

from lfpflow import io
from lfpflow.pointneuron.catalogue import get_model
from lfpflow.signals.spikes import NetworkSpikes, read_spikes

#: Units of ``signals.h5`` -> (unit stored in the NWB file, conversion factor):
#: the NWB file keeps the values and ``data * conversion`` is in that unit.
NWB_UNITS: dict[str, tuple[str, float]] = {
    "mV": ("volts", 1e-3),
    "uV": ("volts", 1e-6),
    "nA/um^3": ("A/m^3", 1e9),
    "nA*um": ("A*m", 1e-15),
    "fT": ("T", 1e-15),
}

#: Target size of one HDF5 chunk (bytes): within HDF5's default chunk cache.
CHUNK_BYTES = 1 << 20

#: Namespace of the file identifiers (a UUID derived from this module's name).
IDENTIFIER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "lfpflow.formats.nwb")

#: Where the potentials are referred to (LFP and EEG electrodes).
REFERENCE = "zero at infinity (model potential)"

#: Distributions recorded beyond :data:`lfpflow.io.RECORDED_PACKAGES`.
NWB_PACKAGES = ("pynwb", "hdmf", "PyYAML")


def export_nwb(
    path: str | os.PathLike,
    *,
    spikes_path: str | os.PathLike,
    signals_path: str | os.PathLike,
    config: Mapping[str, Any],
    run: str,
) -> dict[str, Any]:
    """Write a run's spikes and signals as one NWB file, atomically.

    Parameters
    ----------
    path : path-like
        Destination (``results/<run>/<run>.nwb``); written under a temporary
        name in the same folder and renamed when complete.
    spikes_path, signals_path : path-like
        ``network/spikes.h5`` and ``signals.h5`` of the run.
    config : Mapping
        The run's ``export`` stage configuration
        (``lfpflow.config.stage_config(config, "export")``).
    run : str
        The run's folder below ``results/`` (``default``, or
        ``<name>/<label>-<hash>`` in a sweep).

    Returns
    -------
    dict
        ``identifier``, ``n_units``, ``n_spikes``, ``n_samples`` and the file
        size ``bytes``.
    """
    spikes = read_spikes(spikes_path)
    inputs = {"network/spikes.h5": root_attributes(spikes_path)}
    with h5py.File(signals_path, "r") as signals:
        inputs["signals.h5"] = root_attributes(signals_path)
        nwbfile = build_nwbfile(spikes, signals, config=config, run=run, inputs=inputs)
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
    """
    level = int(config["export"]["compression_level"])
    nwbfile = NWBFile(**session_metadata(config, run=run, inputs=inputs))
    nwbfile.subject = simulated_subject(config["export"]["subject"], run)
    nwbfile.units = units_table(spikes, config, level)
    add_signals(nwbfile, signals, config, level)
    transient_s = float(config["simulation"]["transient_ms"]) / 1000.0
    if transient_s > 0:
        nwbfile.add_invalid_time_interval(
            start_time=0.0, stop_time=transient_s, tags=["start-up transient"]
        )
    return nwbfile


# -- session metadata and provenance -------------------------------------------------


def session_metadata(
    config: Mapping[str, Any], *, run: str, inputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Keyword arguments of :class:`pynwb.NWBFile`: session, identifier, provenance.

    Parameters
    ----------
    config : Mapping
        The ``export`` stage configuration.
    run : str
        The run's folder below ``results/``.
    inputs : Mapping
        Input file name -> provenance attributes; ``network/spikes.h5`` must
        have ``created_utc`` (it gives ``session_start_time``).

    Returns
    -------
    dict
        Deterministic for a given run, configuration and software (the
        ``file_create_date`` too when ``SOURCE_DATE_EPOCH`` is set).
    """
    export = config["export"]
    n_vp = config["simulation"].get("n_vp")
    provenance = io.provenance(config, **({"n_vp": n_vp} if n_vp is not None else {}))
    versions = software_versions()
    key = f"{run}:{provenance['config_sha256']}:{json.dumps(versions, sort_keys=True)}"
    optional = {name: export[name] for name in ("institution", "lab") if name in export}
    if export["experimenter"]:
        optional["experimenter"] = list(export["experimenter"])
    if export["related_publications"]:
        optional["related_publications"] = list(export["related_publications"])
    return {
        "session_description": export["session_description"],
        "identifier": str(uuid.uuid5(IDENTIFIER_NAMESPACE, key)),
        "session_start_time": utc_datetime(inputs["network/spikes.h5"]["created_utc"]),
        "file_create_date": utc_datetime(provenance["created_utc"]),
        "session_id": run.replace("/", "_"),
        "experiment_description": export["experiment_description"],
        "keywords": list(export["keywords"]),
        "notes": configuration_text(config),
        "data_collection": provenance_text(provenance, versions, run=run, inputs=inputs),
        "source_script": "lfpflow.formats.nwb.export_nwb (Snakemake target nwb, "
        "workflow/rules/export.smk)",
        "source_script_file_name": "workflow/scripts/nwb.py",
        "was_generated_by": [[name, version] for name, version in versions.items()],
        **optional,
    }


def software_versions() -> dict[str, str]:
    """Versions of the recorded packages, pynwb and hdmf (installed ones only)."""
    versions = io.package_versions()
    for name in NWB_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {name: version for name, version in versions.items() if version != "not installed"}


def utc_datetime(text: str) -> _dt.datetime:
    """An ISO 8601 time (``created_utc``) as a timezone-aware datetime (UTC if naive)."""
    moment = _dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.UTC)


def configuration_text(config: Mapping[str, Any]) -> str:
    """The configuration as YAML text with a header comment (for NWB ``notes``)."""
    header = (
        "# lfpflow configuration of this file (the 'export' stage view: seed, simulation,\n"
        "# network with its populations, kernels, forward, export); yaml.safe_load reads it.\n"
    )
    return header + yaml.safe_dump(_plain(config), sort_keys=False, default_flow_style=False)


def provenance_text(
    provenance: Mapping[str, Any],
    versions: Mapping[str, str],
    *,
    run: str,
    inputs: Mapping[str, Mapping[str, Any]],
) -> str:
    """Provenance as YAML text (for NWB ``data_collection``).

    Parameters
    ----------
    provenance : Mapping
        :func:`lfpflow.io.provenance` of the export configuration.
    versions : Mapping
        :func:`software_versions`.
    run : str
        The run's folder below ``results/``.
    inputs : Mapping
        Input file name -> its provenance attributes.
    """
    own = {key: value for key, value in provenance.items() if not key.startswith("version_")}
    content = {
        "exported_by": "lfpflow.formats.nwb.export_nwb",
        "run": run,
        **own,
        "versions": dict(versions),
        "inputs": {name: dict(attrs) for name, attrs in inputs.items()},
    }
    header = (
        "# lfpflow provenance of this file: hash of the configuration in notes\n"
        "# (config_sha256), seed, n_vp, software versions and the inputs' provenance.\n"
    )
    return header + yaml.safe_dump(_plain(content), sort_keys=False, default_flow_style=False)


def root_attributes(path: str | os.PathLike) -> dict[str, Any]:
    """The scalar root attributes of an lfpflow HDF5 file (its provenance), as plain values.

    Arrays (electrode positions, head radii) are left out: they are written to
    the NWB file as data.
    """
    with h5py.File(path, "r") as h5:
        attrs = {key: h5.attrs[key] for key in sorted(h5.attrs)}
    plain = _plain(attrs)
    return {key: value for key, value in plain.items() if not isinstance(value, list)}


def simulated_subject(subject: Mapping[str, Any], run: str) -> Subject:
    """The NWB subject of a simulated network (``export.subject``; id = the run)."""
    return Subject(
        subject_id=run.replace("/", "_"),
        species=subject["species"],
        sex=subject["sex"],
        age=subject["age"],
        description=subject["description"],
    )


def _plain(value: Any) -> Any:
    """Nested numpy and bytes values as plain Python ones (for YAML)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


# -- spikes ---------------------------------------------------------------------------


def spike_trains(spikes: NetworkSpikes) -> dict[str, np.ndarray]:
    """Spike times grouped by neuron, in the units table's row order.

    Parameters
    ----------
    spikes : NetworkSpikes
        Spikes sorted by time (then neuron) per population.

    Returns
    -------
    dict
        ``times_s``: all spike times (s), neuron after neuron, each neuron's in
        time order; ``ends``: index one past each neuron's last spike (the NWB
        ragged-array index); ``population``: each neuron's population index
        (order of ``population_sizes``); ``index``: index within the population.
    """
    times, counts, population, index = [], [], [], []
    for number, (name, size) in enumerate(spikes.population_sizes.items()):
        senders = np.asarray(spikes.senders[name], dtype=np.int64)
        order = np.argsort(senders, kind="stable")  # keeps each neuron's time order
        times.append(np.asarray(spikes.times_ms[name], dtype=np.float64)[order] / 1000.0)
        counts.append(np.bincount(senders, minlength=size))
        population.append(np.full(size, number))
        index.append(np.arange(size))
    counts_all = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    return {
        "times_s": np.concatenate(times) if times else np.zeros(0),
        "ends": np.cumsum(counts_all).astype(np.uint64),
        "population": np.concatenate(population) if population else np.zeros(0, dtype=int),
        "index": np.concatenate(index) if index else np.zeros(0, dtype=int),
    }


def units_table(spikes: NetworkSpikes, config: Mapping[str, Any], level: int) -> Units:
    """The NWB units table: every neuron, its spike times (s) and its population.

    Parameters
    ----------
    spikes : NetworkSpikes
        The run's spikes.
    config : Mapping
        The ``export`` stage configuration (``network.populations.<X>.model``,
        ``simulation.tstop_ms``).
    level : int
        gzip level of the spike times (0: uncompressed).
    """
    trains = spike_trains(spikes)
    names = list(spikes.population_sizes)
    models = [config["network"]["populations"][name]["model"] for name in names]
    nest_names = {f"{model}: NEST {get_model(model).nest_model}" for model in models}
    n_units = trains["ends"].size
    tstop_s = float(spikes.tstop_ms) / 1000.0
    spike_times = VectorData(
        name="spike_times",
        description="spike times (s from the start of the simulation), on the NEST time grid",
        data=_dataio(trains["times_s"], level),
    )
    observed = VectorData(
        name="obs_intervals",
        description="observation interval (s): the whole simulation",
        data=_dataio(np.tile([0.0, tstop_s], (n_units, 1)), level),
    )
    columns = [
        spike_times,
        VectorIndex(
            name="spike_times_index", data=_dataio(trains["ends"], level), target=spike_times
        ),
        observed,
        VectorIndex(
            name="obs_intervals_index",
            data=_dataio(np.arange(1, n_units + 1, dtype=np.uint64), level),
            target=observed,
        ),
        _text_column("population", "population of the neuron", names, trains["population"], level),
        _text_column(
            "model",
            "point-neuron model, lfpflow catalogue name (" + ", ".join(sorted(nest_names)) + ")",
            models,
            trains["population"],
            level,
        ),
        VectorData(
            name="index_in_population",
            description="index of the neuron within its population ('senders' of spikes.h5)",
            data=_dataio(trains["index"].astype(np.int64), level),
        ),
    ]
    return Units(
        name="units",
        id=_dataio(np.arange(n_units), level),
        columns=columns,
        description="neurons of the simulated point-neuron network (NEST); id = position "
        "in the network (populations in configuration order)",
        resolution=float(spikes.dt_ms) / 1000.0,
    )


def _text_column(
    name: str, description: str, values: Sequence[str], which: np.ndarray, level: int
) -> VectorData:
    """A text column holding ``values[which[i]]`` in row i (compressed references)."""
    rows = np.asarray(values, dtype=object)[which].tolist()
    options: dict[str, Any] = {"chunks": (max(1, min(len(rows), CHUNK_BYTES // 16)),)}
    if level:
        options.update(compression="gzip", compression_opts=level, shuffle=True)
    return VectorData(
        name=name, description=description, data=H5DataIO(rows, **options) if rows else rows
    )


# -- signals --------------------------------------------------------------------------


class TimeMajor(GenericDataChunkIterator):
    """A channels x time HDF5 dataset served as time x channels, a block at a time.

    NWB stores time along the first axis, ``signals.h5`` along the last; the
    copy is made in blocks of whole chunks, so memory stays bounded whatever
    the length of the run.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 2-D channels x time dataset (kept open by the caller).
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self._dataset = dataset
        channels, times = dataset.shape
        rows = int(max(1, min(times, CHUNK_BYTES // (dataset.dtype.itemsize * max(channels, 1)))))
        super().__init__(
            chunk_shape=(rows, channels), buffer_shape=(min(times, 16 * rows), channels)
        )

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        rows, channels = selection
        return np.ascontiguousarray(self._dataset[channels, rows].T)

    def _get_maxshape(self) -> tuple[int, int]:
        channels, times = self._dataset.shape
        return (times, channels)

    def _get_dtype(self) -> np.dtype:
        return self._dataset.dtype


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


def _series_data(dataset: h5py.Dataset, level: int) -> H5DataIO:
    """A channels x time dataset as chunked, compressed time x channels NWB data."""
    if level:
        return H5DataIO(
            TimeMajor(dataset), compression="gzip", compression_opts=level, shuffle=True
        )
    return H5DataIO(TimeMajor(dataset))


def _dataio(data: np.ndarray, level: int) -> Any:
    """A 1-D or 2-D array chunked along its first axis and gzip-compressed (level > 0)."""
    data = np.asarray(data)
    if data.size == 0:
        return data
    row_bytes = data.itemsize * int(np.prod(data.shape[1:], dtype=np.int64))
    rows = int(max(1, min(data.shape[0], CHUNK_BYTES // row_bytes)))
    options: dict[str, Any] = {"chunks": (rows, *data.shape[1:])}
    if level:
        options.update(compression="gzip", compression_opts=level, shuffle=True)
    return H5DataIO(data, **options)


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
    """An ElectricalSeries (volts via ``conversion``) over rows of the electrodes table."""
    unit, conversion = nwb_unit(str(dataset.attrs["units"]))
    if unit != "volts":
        raise ValueError(f"{dataset.name} is in {dataset.attrs['units']}, not a potential")
    return ElectricalSeries(
        name=name,
        data=_series_data(dataset, level),
        electrodes=electrodes,
        conversion=conversion,
        filtering="none: model output, no filter applied",
        description=description,
        **timing,
    )


def field_series(
    name: str, dataset: h5py.Dataset, timing: Mapping[str, float], level: int, description: str
) -> TimeSeries:
    """A TimeSeries with an SI unit and ``conversion`` (:data:`NWB_UNITS`)."""
    unit, conversion = nwb_unit(str(dataset.attrs["units"]))
    return TimeSeries(
        name=name,
        data=_series_data(dataset, level),
        unit=unit,
        conversion=conversion,
        description=f"{description}; stored in {dataset.attrs['units']}",
        continuity="continuous",
        **timing,
    )


# -- electrodes, sensors and head model ---------------------------------------------------


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
    device = nwbfile.create_device(
        name="laminar_probe",
        description="laminar probe (simulated): contacts on the axis of the modelled "
        "column; the potential is averaged over a Gaussian cylinder (LFPykernels)",
    )
    group = nwbfile.create_electrode_group(
        name="laminar_probe",
        description="contacts of the laminar probe; rel_x, rel_y, rel_z in um in the "
        "column frame (z along the column axis, as z_um of signals.h5)",
        location="simulated cortical column (no atlas location)",
        device=device,
    )
    first = len(nwbfile.electrodes) if nwbfile.electrodes is not None else 0
    for z in z_um:
        nwbfile.add_electrode(
            group=group,
            location="simulated cortical column",
            rel_x=0.0,
            rel_y=0.0,
            rel_z=float(z),
            reference=REFERENCE,
        )
    return nwbfile.create_electrode_table_region(
        region=list(range(first, first + len(z_um))), description="laminar probe contacts"
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
    device = nwbfile.create_device(
        name="EEG_electrodes",
        description="scalp electrodes (simulated) on the outer sphere of a four-sphere "
        "head model (Naess et al. 2017, LFPykit)",
    )
    group = nwbfile.create_electrode_group(
        name="EEG",
        description="EEG electrodes; rel_x, rel_y, rel_z in um in the head frame: origin at "
        "the centre of the spheres, z through the vertex above the dipole",
        location="scalp (four-sphere head model)",
        device=device,
    )
    first = len(nwbfile.electrodes)
    for name, (x, y, z) in zip(names, positions, strict=True):
        nwbfile.add_electrode(
            group=group,
            location=f"scalp, electrode {name}",
            rel_x=float(x),
            rel_y=float(y),
            rel_z=float(z),
            reference=REFERENCE,
        )
    return nwbfile.create_electrode_table_region(
        region=list(range(first, first + len(positions))), description="EEG electrodes"
    )


def meg_sensor_table(positions_um: np.ndarray, names: Sequence[str]) -> DynamicTable:
    """The MEG sensors: names and positions (um, head frame), one row each."""
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
    """The four spheres of the head model: outer radius (um) and conductivity (S/m)."""
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


# -- determinism ----------------------------------------------------------------------


def derive_object_ids(path: str | os.PathLike, identifier: str) -> None:
    """Replace hdmf's random ``object_id`` attributes by UUIDs derived from the paths.

    Each id becomes ``uuid5(identifier, HDF5 path)``: unique within the file
    (one per path) and across files (the identifier is), and the same on every
    export, so the file no longer changes from one export to the next.

    Parameters
    ----------
    path : path-like
        A closed NWB file, modified in place.
    identifier : str
        The file's ``identifier`` (a UUID).
    """
    namespace = uuid.UUID(identifier)

    def derive(name: str, item: Any) -> None:
        if "object_id" in item.attrs:
            item.attrs.modify("object_id", str(uuid.uuid5(namespace, "/" + name)))

    with h5py.File(path, "r+") as h5:
        if "object_id" in h5.attrs:
            h5.attrs.modify("object_id", str(uuid.uuid5(namespace, "/")))
        h5.visititems(derive)
