"""Session metadata, provenance and determinism of the NWB export.

``notes`` holds the configuration the file depends on (the ``export`` stage
view) as YAML; ``data_collection`` holds, as YAML, its SHA-256, the seed,
``n_vp``, the package versions and the provenance attributes of the input
files (:func:`root_attributes`). ``identifier`` is a UUID derived from the run,
the configuration hash and the package versions; hdmf's random ``object_id``
attributes are replaced after writing by UUIDs derived from the identifier
and the object's path (:func:`derive_object_ids`), so that with
``SOURCE_DATE_EPOCH`` set two exports of the same run are byte-identical.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import h5py
import numpy as np
import yaml
from pynwb.file import Subject

from lfpflow import io

#: Namespace of the file identifiers (a UUID derived from the name of the module
#: that has always held the export, :mod:`lfpflow.formats.nwb`: identifiers must
#: not change when code moves).
IDENTIFIER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "lfpflow.formats.nwb")

#: Distributions recorded beyond :data:`lfpflow.io.RECORDED_PACKAGES`.
NWB_PACKAGES = ("pynwb", "hdmf", "PyYAML")

#: The exporter, as named in the file (``source_script``, ``exported_by``).
EXPORTER = "lfpflow.formats.nwb.export_nwb"


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
        "source_script": f"{EXPORTER} (Snakemake target nwb, workflow/rules/export.smk)",
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
    return header + yaml.safe_dump(plain_values(config), sort_keys=False, default_flow_style=False)


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
        "exported_by": EXPORTER,
        "run": run,
        **own,
        "versions": dict(versions),
        "inputs": {name: dict(attrs) for name, attrs in inputs.items()},
    }
    header = (
        "# lfpflow provenance of this file: hash of the configuration in notes\n"
        "# (config_sha256), seed, n_vp, software versions and the inputs' provenance.\n"
    )
    return header + yaml.safe_dump(plain_values(content), sort_keys=False, default_flow_style=False)


def root_attributes(path: str | os.PathLike) -> dict[str, Any]:
    """The scalar root attributes of an lfpflow HDF5 file (its provenance), as plain values.

    Arrays (electrode positions, head radii) are left out: they are written to
    the NWB file as data.
    """
    with h5py.File(path, "r") as h5:
        attrs = {key: h5.attrs[key] for key in sorted(h5.attrs)}
    plain = plain_values(attrs)
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


def plain_values(value: Any) -> Any:
    """Nested numpy and bytes values as plain Python ones (for YAML)."""
    if isinstance(value, Mapping):
        return {str(key): plain_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain_values(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


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
