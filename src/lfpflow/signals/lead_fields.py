"""Lead fields: gain matrices of a head model from files, and the New York Head's names.

A lead field is the potential at each electrode of a unit current dipole at
each source position (:class:`LeadField`). Files in SI units (positions m,
gains V/(A m), MNE's unit) are converted here to lfpflow's (um, uV per nA um;
1 V/(A m) = 1e-9 uV/(nA um)). NPZ and HDF5 files are read here; an MNE
forward solution (``-fwd.fif``) is read by MNE in
:func:`lfpflow.formats.heads.read_lead_field`, which hands its arrays to
:func:`lead_field_from_arrays`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.signals.checks import lead_field_file_problems
from lfpflow.signals.electrodes import Electrodes

#: uV per nA um of a gain in V per A m (1 nA um = 1e-15 A m; 1 V = 1e6 uV).
UV_PER_NAUM_PER_V_PER_AM = 1e-9


@dataclass(frozen=True)
class LeadField:
    """A gain matrix: potential at each electrode of a unit dipole at each source.

    Attributes
    ----------
    electrodes : Electrodes
        The file's electrodes (all of them).
    sources_um : numpy.ndarray
        n_sources x 3 source positions (um, head-model frame).
    gain_uV : numpy.ndarray
        n_electrodes x n_sources x 3: uV per nA um of a dipole along x, y, z.
    normals : numpy.ndarray or None
        n_sources x 3 unit normals of the cortical surface, if the file has them.
    """

    electrodes: Electrodes
    sources_um: np.ndarray
    gain_uV: np.ndarray
    normals: np.ndarray | None = None


def checked_lead_field_path(path: str | Path) -> Path:
    """``path`` as a Path if it exists with a lead-field suffix; else the config check's error.

    The rule is :func:`lfpflow.signals.checks.lead_field_file_problems`;
    FileNotFoundError if the file is absent, else ValueError.
    """
    problems = lead_field_file_problems(path)
    if problems:
        error = ValueError if Path(path).is_file() else FileNotFoundError
        raise error("; ".join(problems))
    return Path(path)


def lead_field_arrays(path: Path) -> dict[str, Any]:
    """The arrays of an NPZ or HDF5 lead-field file (see :func:`read_lead_field`)."""
    keys = ("gain_V_per_Am", "electrode_names", "electrode_positions_m", "source_positions_m")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as content:
            arrays = {key: content[key] for key in content.files}
    else:
        import h5py

        with h5py.File(path, "r") as content:
            arrays = {
                key: content[key][()] for key in content if isinstance(content[key], h5py.Dataset)
            }
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise ValueError(
            f"lead-field file {path} lacks {', '.join(missing)}; it needs "
            f"{', '.join(keys)} (and optionally source_normals)"
        )
    arrays["electrode_names"] = [
        name.decode() if isinstance(name, bytes) else str(name)
        for name in np.asarray(arrays["electrode_names"]).ravel()
    ]
    return arrays


def lead_field_from_arrays(arrays: Mapping[str, Any], where: str) -> LeadField:
    """Check shapes and convert SI arrays (m, V/(A m)) to a :class:`LeadField`."""
    names = tuple(arrays["electrode_names"])
    electrodes_m = np.asarray(arrays["electrode_positions_m"], dtype=np.float64)
    sources_m = np.asarray(arrays["source_positions_m"], dtype=np.float64).reshape(-1, 3)
    gain = np.asarray(arrays["gain_V_per_Am"], dtype=np.float64)
    if gain.ndim == 2:  # a single source: n_electrodes x 3
        gain = gain[:, np.newaxis, :]
    expected = (len(names), len(sources_m), 3)
    if electrodes_m.shape != (len(names), 3) or gain.shape != expected:
        raise ValueError(
            f"{where}: {len(names)} electrode names, electrode positions of shape "
            f"{electrodes_m.shape} (need {(len(names), 3)}), gain of shape {gain.shape} "
            f"(need electrodes x sources x 3 = {expected})"
        )
    normals = arrays.get("source_normals")
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
        normals = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    return LeadField(
        Electrodes(names, 1e6 * electrodes_m),
        1e6 * sources_m,
        UV_PER_NAUM_PER_V_PER_AM * gain,
        normals,
    )


def read_lead_field(path: str | Path) -> LeadField:
    """Read a lead field from an NPZ or HDF5 file.

    Parameters
    ----------
    path : path-like
        ``.npz``/``.h5``/``.hdf5`` with ``gain_V_per_Am`` (n_electrodes x
        n_sources x 3, V per A m; n_electrodes x 3 for one source),
        ``electrode_names`` (n_electrodes), ``electrode_positions_m``
        (n_electrodes x 3, m), ``source_positions_m`` (n_sources x 3, m) and
        optionally ``source_normals`` (n_sources x 3), all in one head frame.
        An MNE forward solution (``-fwd.fif``) is read by
        :func:`lfpflow.formats.heads.read_lead_field`, which MNE's reader
        needs.

    Returns
    -------
    LeadField
        Positions in um, gain in uV per nA um; the file's head frame is the
        head-model frame.
    """
    path = checked_lead_field_path(path)
    if path.suffix == ".fif":
        raise ValueError(
            f"config key 'forward.head_model.lead_field_file': {path.name} is an MNE forward "
            "solution: read it with lfpflow.formats.heads.read_lead_field (MNE reads its files)"
        )
    return lead_field_from_arrays(lead_field_arrays(path), f"lead-field file {path}")


def lead_field_electrode_names(path: str | Path) -> tuple[str, ...]:
    """Electrode names of an NPZ or HDF5 lead-field file (for checking a configuration)."""
    return tuple(lead_field_arrays(Path(path))["electrode_names"])


def _matlab_strings(h5file: Any, references: Any) -> tuple[str, ...]:
    """MATLAB (v7.3) cell array of char arrays -> strings (UTF-16 code units)."""
    return tuple(
        "".join(map(chr, np.asarray(h5file[reference]).ravel()))
        for reference in np.asarray(references).ravel()
    )


def nyhead_electrode_names(path: str | Path) -> tuple[str, ...]:
    """Electrode names (``sa.clab_electrodes``) of the New York Head file."""
    import h5py

    with h5py.File(path, "r") as content:
        return _matlab_strings(content, content["sa"]["clab_electrodes"][()])
