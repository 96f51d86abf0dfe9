"""HDF5 and JSON input/output with units and provenance.

Every file lfpflow writes carries, on its root, the SHA-256 of the resolved
configuration it depends on (``config_sha256``, with ``config_sections``
naming the parts of the configuration hashed), the master seed (``seed``), the package
versions in force (``version_<package>``) and a creation time (``created_utc``).
Every dataset carries a ``units`` attribute.

Files are written to a temporary name in the destination folder and renamed
when complete (:func:`atomic_path`), so a killed job never leaves a file that
looks finished.

The creation time follows the reproducible-builds convention: when the
environment variable ``SOURCE_DATE_EPOCH`` is set, it is used instead of the
clock, which makes two runs of the same configuration byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: Distributions whose versions are recorded in every output file. Looked up
#: through package metadata, so recording them does not import the simulators.
RECORDED_PACKAGES = (
    "lfpflow",
    "numpy",
    "scipy",
    "h5py",
    "nest-simulator",
    "neuron",
    "LFPy",
    "LFPykit",
    "lfpykernels",
    "snakemake",
)


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA-256 of a configuration in canonical JSON form (sorted keys).

    Parameters
    ----------
    config : Mapping
        The resolved configuration (plain JSON-compatible types).

    Returns
    -------
    str
        Hexadecimal digest; equal configurations give equal digests whatever
        the key order.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of the packages in :data:`RECORDED_PACKAGES` plus Python.

    Returns
    -------
    dict
        ``{distribution name: version}``; ``"not installed"`` for missing ones.
    """
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def creation_time_utc() -> str:
    """ISO 8601 creation time, from ``SOURCE_DATE_EPOCH`` when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        moment = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    else:
        moment = _dt.datetime.now(tz=_dt.UTC)
    return moment.replace(microsecond=0).isoformat()


def provenance(config: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Provenance attributes for the root of an output file.

    Parameters
    ----------
    config : Mapping
        The resolved configuration, or the part of it the file depends on
        (:func:`lfpflow.config.stage_config`); its hash, its top-level keys
        (``config_sections``) and ``seed`` are recorded. A file that depends on
        no seed (kernels) records ``seed = -1``.
    **extra
        Further attributes (e.g. ``n_vp``), recorded as given.

    Returns
    -------
    dict
        Attribute name -> value, ready for :func:`write_h5` or JSON.
    """
    attrs: dict[str, Any] = {
        "config_sha256": config_sha256(config),
        "config_sections": ",".join(sorted(config)),
        "seed": int(config.get("seed", -1)),
        "created_utc": creation_time_utc(),
    }
    for name, version in package_versions().items():
        attrs[f"version_{name}"] = version
    attrs.update(extra)
    return attrs


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of a killed earlier attempt at the same file are garbage.
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates files readable by the owner only; outputs get the
        # usual permissions (0666 less the umask), like any file a tool writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder beside ``path``; it replaces ``path`` on success.

    For build products (compiled mechanisms, NEST modules): a killed build
    leaves only a hidden ``.<name>.*.tmp`` folder, removed by the next attempt,
    never a folder that looks complete. On an exception the staging folder is
    removed and ``path`` is untouched.
    """
    final = Path(path).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _set_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    for key, value in attrs.items():
        if isinstance(value, Mapping | list | tuple) and not _is_numeric_sequence(value):
            value = json.dumps(value, sort_keys=True, default=_json_default)
        obj.attrs[key] = value


def _is_numeric_sequence(value: Any) -> bool:
    if isinstance(value, Mapping):
        return False
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return False
    return arr.dtype.kind in "biuf"


def _write_group(group: h5py.Group, content: Mapping[str, Any]) -> None:
    for name, item in content.items():
        if isinstance(item, Dataset):
            dset = group.create_dataset(name, data=item.data, track_times=False)
            dset.attrs["units"] = item.units
            _set_attrs(dset, item.attrs)
        elif isinstance(item, Mapping):
            sub = group.create_group(name, track_order=True)
            _write_group(sub, item)
        else:
            raise TypeError(
                f"HDF5 item '{name}' must be a lfpflow.io.Dataset or a mapping, "
                f"got {type(item).__name__}"
            )


class Dataset:
    """An array with its units (and optional extra attributes) for :func:`write_h5`.

    Parameters
    ----------
    data : array_like
        The values.
    units : str
        Physical units, e.g. ``"mV"``, ``"ms"``, ``"nA*um"``, ``"1"`` for counts.
    **attrs
        Further dataset attributes.
    """

    def __init__(self, data: Any, units: str, **attrs: Any) -> None:
        self.data = np.asarray(data)
        self.units = units
        self.attrs = attrs


def write_h5(
    path: str | os.PathLike,
    content: Mapping[str, Any],
    *,
    attrs: Mapping[str, Any],
    group_attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Write nested datasets with units to HDF5 atomically.

    Parameters
    ----------
    path : path-like
        Destination; written under a temporary name first.
    content : Mapping
        Name -> :class:`Dataset` or nested mapping (becomes a group).
    attrs : Mapping
        Root attributes (use :func:`provenance` for the standard ones).
    group_attrs : Mapping, optional
        Group path -> attributes for groups created from ``content``.
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=True) as h5:
            _write_group(h5, content)
            _set_attrs(h5, attrs)
            for group_path, group_attr in (group_attrs or {}).items():
                _set_attrs(h5[group_path], group_attr)


def read_h5(path: str | os.PathLike) -> dict[str, Any]:
    """Read an HDF5 file into nested dicts.

    Returns
    -------
    dict
        Groups become dicts; datasets become numpy arrays; ``"attrs"`` holds
        the root attributes and ``"units"`` maps dataset paths to units.
    """
    units: dict[str, str] = {}

    def _read(group: h5py.Group) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in group.items():
            if isinstance(item, h5py.Dataset):
                out[name] = item[()]
                if "units" in item.attrs:
                    units[item.name.lstrip("/")] = str(item.attrs["units"])
            else:
                out[name] = _read(item)
        return out

    with h5py.File(path, "r") as h5:
        data = _read(h5)
        data["attrs"] = {k: _plain(v) for k, v in h5.attrs.items()}
    data["units"] = units
    return data


def write_json(path: str | os.PathLike, content: Mapping[str, Any]) -> None:
    """Write JSON atomically (sorted keys, 2-space indent, numpy-aware)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(content, indent=2, sort_keys=True, default=_json_default) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return _plain(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
