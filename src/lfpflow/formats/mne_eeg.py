"""EEG (and MEG) as MNE-Python files: montages, Raw ``.fif``, EDF/BrainVision, forwards.

Everything of lfpflow that needs MNE-Python (https://mne.tools) is here:

- :func:`montage_positions`: the electrodes of a named MNE montage
  (``standard_1020``, ``standard_1005`` or any other built-in montage) in
  MNE's head frame, which :mod:`lfpflow.formats.heads` hands to
  :mod:`lfpflow.signals.head_models` to place on the scalp of the
  four-sphere head;
- :func:`read_forward_lead_field`: the EEG gain of an MNE forward solution
  (``-fwd.fif``), for the ``lead_field`` head model (same route);
- :func:`raw_from_signals` and :func:`write_raw_fif`: ``signals.h5`` as an
  :class:`mne.io.Raw` (EEG in V with its montage; MEG in T on point
  magnetometers when the MEG is on), written as ``<stem>_raw.fif``
  (:mod:`lfpflow.formats.eeg_files` names the files);
- :func:`export_eeg`: the EEG of that file as EDF (via ``edfio``) or
  BrainVision (via ``pybv``), with MNE's exporters.

The potentials are those of the head model, relative to infinity (no
reference electrode): re-reference in MNE as for recorded data
(``raw.set_eeg_reference("average")``). The initial transient of the run is
marked by a ``BAD_transient`` annotation, which MNE's analyses skip.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mne
import numpy as np
from mne.io.constants import FIFF

from lfpflow import io
from lfpflow.formats.eeg_files import EXPORT_PACKAGES, EXPORT_SUFFIXES

#: Montage names of the configuration -> MNE's current name for the same
#: positions (MNE 1.13 renamed the Colin27 10-20 and 10-05 montages).
MONTAGE_ALIASES = {"standard_1020": "colin27_1020", "standard_1005": "colin27_1005"}
#: File suffix -> MNE export format and the package MNE needs for it.
EXPORT_FORMATS = {
    suffixes[0]: (fmt, EXPORT_PACKAGES[fmt]) for fmt, suffixes in EXPORT_SUFFIXES.items()
}
#: Files BrainVision writes, in the order they are moved in place: the header,
#: which names the others, last.
_BRAINVISION_PARTS = tuple(reversed(EXPORT_SUFFIXES["brainvision"]))


def montage_names() -> tuple[str, ...]:
    """Every montage name ``forward.head_model.montage`` accepts from MNE (EEG caps)."""
    builtin = [
        name
        for name, description in mne.channels.get_builtin_montages(descriptions=True)
        if "fNIRS" not in description  # optode layouts, not electrodes
    ]
    return tuple(dict.fromkeys([*MONTAGE_ALIASES, *builtin]))


def _mne_name(name: str) -> str:
    alias = MONTAGE_ALIASES.get(name)
    builtin = {entry[0] for entry in mne.channels.get_builtin_montages(descriptions=True)}
    return alias if alias in builtin else name


@functools.lru_cache(maxsize=8)
def montage_positions(name: str) -> tuple[tuple[str, ...], np.ndarray, dict[str, np.ndarray]]:
    """Electrodes and fiducials of a built-in MNE montage in MNE's head frame.

    Parameters
    ----------
    name : str
        One of :func:`montage_names`.

    Returns
    -------
    names : tuple of str
        EEG electrode names, in the montage's order.
    positions_m : numpy.ndarray
        n x 3 positions (m), MNE head frame (from the nasion and preauricular
        points).
    fiducials_m : dict
        ``nasion``, ``lpa``, ``rpa`` (m, head frame) where the montage has them.
    """
    if name not in montage_names():
        raise ValueError(
            f"config key 'forward.head_model.montage': {name!r} is not allowed; allowed "
            f"values: polar, custom, {', '.join(montage_names())}"
        )
    montage = mne.channels.make_standard_montage(_mne_name(name))
    info = mne.create_info(montage.ch_names, 1000.0, "eeg")
    info.set_montage(montage, on_missing="ignore")  # transforms to the head frame
    positions = np.array([channel["loc"][:3] for channel in info["chs"]], dtype=np.float64)
    placed = np.all(np.isfinite(positions), axis=1)  # a channel without a position is left out
    names = tuple(name for name, keep in zip(info["ch_names"], placed, strict=True) if keep)
    positions = positions[placed]
    cardinal = {
        FIFF.FIFFV_POINT_NASION: "nasion",
        FIFF.FIFFV_POINT_LPA: "lpa",
        FIFF.FIFFV_POINT_RPA: "rpa",
    }
    fiducials = {
        cardinal[point["ident"]]: np.asarray(point["r"], dtype=np.float64)
        for point in info["dig"] or []
        if point["kind"] == FIFF.FIFFV_POINT_CARDINAL and point["ident"] in cardinal
    }
    return names, positions, fiducials


def read_forward_lead_field(path: str | os.PathLike) -> dict[str, Any]:
    """The EEG gain of an MNE forward solution, in SI units.

    Parameters
    ----------
    path : path-like
        ``*-fwd.fif`` with EEG channels and free source orientations
        (:func:`mne.make_forward_solution`'s default).

    Returns
    -------
    dict
        ``gain_V_per_Am`` (n_electrodes x n_sources x 3, dipoles along the
        head frame's x, y, z), ``electrode_names``, ``electrode_positions_m``
        (n_electrodes x 3), ``source_positions_m`` (n_sources x 3) and
        ``source_normals`` (n_sources x 3, those of the source space), all in
        MNE's head frame. The gain is as MNE computed it (relative to
        infinity, no reference applied).
    """
    forward = mne.read_forward_solution(path, verbose="error")
    if forward["coord_frame"] != FIFF.FIFFV_COORD_HEAD:
        raise ValueError(f"{path}: the forward solution is not in MNE's head frame")
    if not any(channel["kind"] == FIFF.FIFFV_EEG_CH for channel in forward["info"]["chs"]):
        raise ValueError(f"{path}: the forward solution has no EEG channels")
    forward = mne.pick_types_forward(forward, meg=False, eeg=True)
    if forward["source_ori"] == FIFF.FIFFV_MNE_FIXED_ORI:
        raise ValueError(
            f"{path}: a fixed-orientation forward solution gives the potential of dipoles "
            "along the source normals only; lfpflow needs the free-orientation one "
            "(mne.make_forward_solution's default, without convert_forward_solution(..., "
            "force_fixed=True))"
        )
    forward = mne.convert_forward_solution(
        forward, surf_ori=False, force_fixed=False, use_cps=False, verbose="error"
    )
    names = list(forward["sol"]["row_names"])
    channels = {channel["ch_name"]: channel for channel in forward["info"]["chs"]}
    n_sources = int(forward["nsource"])
    normals = np.concatenate([space["nn"][space["vertno"]] for space in forward["src"]])
    return {
        "gain_V_per_Am": np.asarray(forward["sol"]["data"]).reshape(len(names), n_sources, 3),
        "electrode_names": names,
        "electrode_positions_m": np.array([channels[name]["loc"][:3] for name in names]),
        "source_positions_m": np.asarray(forward["source_rr"], dtype=np.float64),
        "source_normals": normals,
    }


def _names(attrs: Mapping[str, Any], key: str) -> list[str]:
    value = attrs.get(key, "[]")
    return json.loads(value) if isinstance(value, str) else list(value)


def _point_magnetometers(
    info: mne.Info, names: list[str], positions_m: np.ndarray, normals: np.ndarray
) -> None:
    """Make channels ``names`` point magnetometers at ``positions_m`` (head frame).

    The simulated sensors measure the field component along ``normals`` (the
    radial direction of the spherical head) at a point, which is MNE's
    ``FIFFV_COIL_POINT_MAGNETOMETER``; the device frame is the head frame
    (identity ``dev_head_t``), so positions need no transformation.
    """
    with info._unlock():
        info["dev_head_t"] = mne.transforms.Transform("meg", "head", np.eye(4))
    for name, position, normal in zip(names, positions_m, normals, strict=True):
        channel = info["chs"][info["ch_names"].index(name)]
        ez = normal / np.linalg.norm(normal)  # loc[9:12]: the coil normal
        helper = np.array([1.0, 0.0, 0.0]) if abs(ez[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        ex = np.cross(helper, ez)
        ex /= np.linalg.norm(ex)
        channel["coil_type"] = FIFF.FIFFV_COIL_POINT_MAGNETOMETER
        channel["loc"][:] = np.concatenate([position, ex, np.cross(ez, ex), ez])


def raw_from_signals(
    signals: Mapping[str, Any], *, transient_ms: float = 0.0, description: str = ""
) -> mne.io.RawArray:
    """The EEG (and MEG) of ``signals.h5`` as an MNE Raw object.

    Parameters
    ----------
    signals : Mapping
        Content of ``signals.h5`` (:func:`lfpflow.io.read_h5`): ``t_ms``,
        ``EEG`` (uV), optional ``MEG`` (fT) and the root attributes written
        by :func:`lfpflow.signals.forward.write_signals`.
    transient_ms : float
        Initial period (ms) annotated ``BAD_transient``.
    description : str
        ``info["description"]``.

    Returns
    -------
    mne.io.RawArray
        EEG channels in V at the electrodes (MNE head frame, montage with
        fiducials where known); MEG channels in T on radial point
        magnetometers.
    """
    attrs = signals["attrs"]
    t_ms = np.asarray(signals["t_ms"], dtype=np.float64)
    dt_ms = float(t_ms[1] - t_ms[0])
    offset_m = 1e-6 * np.asarray(attrs.get("head_offset_um", np.zeros(3)), dtype=np.float64)
    names = _names(attrs, "eeg_electrode_names")
    eeg_m = 1e-6 * np.asarray(attrs["eeg_electrodes_um"], dtype=np.float64).reshape(-1, 3)
    channels, kinds, data = list(names), ["eeg"] * len(names), [1e-6 * signals["EEG"]]
    meg_names = _names(attrs, "meg_sensor_names") if "MEG" in signals else []
    if meg_names:
        channels += meg_names
        kinds += ["mag"] * len(meg_names)
        data.append(1e-15 * signals["MEG"])
    info = mne.create_info(channels, 1000.0 / dt_ms, kinds)
    fiducials = {
        key: 1e-6 * np.asarray(value) + offset_m
        for key, value in json.loads(attrs.get("eeg_fiducials_um", "{}")).items()
    }
    info.set_montage(
        mne.channels.make_dig_montage(
            ch_pos=dict(zip(names, eeg_m + offset_m, strict=True)), coord_frame="head", **fiducials
        )
    )
    if meg_names:
        sensors_um = np.asarray(attrs["meg_sensors_um"], dtype=np.float64).reshape(-1, 3)
        # radial: from the centre of the spherical head, not from MNE's origin
        normals = sensors_um - np.asarray(attrs.get("head_centre_um", np.zeros(3)))
        _point_magnetometers(info, meg_names, 1e-6 * sensors_um + offset_m, normals)
    with info._unlock():
        info["description"] = description
    raw = mne.io.RawArray(
        np.vstack(data), info, first_samp=int(round(t_ms[0] / dt_ms)), verbose="error"
    )
    if transient_ms > 0:
        raw.set_annotations(
            mne.Annotations(t_ms[0] / 1e3, transient_ms / 1e3 - t_ms[0] / 1e3, "BAD_transient")
        )
    return raw


def describe(attrs: Mapping[str, Any], run: str) -> str:
    """``info["description"]`` of a run's Raw file: what was simulated and how."""
    return (
        f"lfpflow run {run}: EEG{' and MEG' if _names(attrs, 'meg_sensor_names') else ''} "
        f"predicted from a simulated cortical column "
        f"({attrs.get('column_placement', 'placement unknown')}); head model "
        f"{attrs.get('head_model', 'four_sphere')}; EEG relative to infinity (no reference "
        "electrode)"
    )


@contextlib.contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A temporary folder beside ``final`` for files moved in place on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)  # leftovers of a killed attempt
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_in_place(staging: Path, final: Path, names: list[str]) -> None:
    produced = sorted(path.name for path in staging.iterdir())
    if produced != sorted(names):
        raise RuntimeError(f"expected {sorted(names)} in {staging}, MNE wrote {produced}")
    for name in names:  # the file that names the others last
        os.replace(staging / name, final.parent / name)


def write_raw_fif(
    path: str | os.PathLike,
    signals_path: str | os.PathLike,
    *,
    transient_ms: float,
    run: str,
) -> dict[str, Any]:
    """Write the EEG (and MEG) of ``signals.h5`` as an MNE Raw ``.fif`` file, atomically.

    Parameters
    ----------
    path : path-like
        Output; its name ends in ``_raw.fif`` (:data:`~lfpflow.formats.eeg_files.RAW_FIF_SUFFIX`,
        MNE's convention).
    signals_path : path-like
        The run's ``signals.h5``.
    transient_ms : float
        ``simulation.transient_ms`` (annotated ``BAD_transient``).
    run : str
        The run's name (in the description).

    Returns
    -------
    dict
        ``n_eeg``, ``n_meg``, ``n_samples``, ``sfreq_Hz`` and ``bytes``.
    """
    final = Path(path)
    signals = io.read_h5(signals_path)
    raw = raw_from_signals(
        signals, transient_ms=transient_ms, description=describe(signals["attrs"], run)
    )
    with _staging(final) as staging:
        # double precision: the file holds exactly the values of signals.h5
        raw.save(staging / final.name, fmt="double", verbose="error")
        _move_in_place(staging, final, [final.name])
    return {
        "n_eeg": len(mne.pick_types(raw.info, eeg=True)),
        "n_meg": len(mne.pick_types(raw.info, meg=True)),
        "n_samples": raw.n_times,
        "sfreq_Hz": raw.info["sfreq"],
        "bytes": final.stat().st_size,
    }


def export_eeg(fif_path: str | os.PathLike, path: str | os.PathLike) -> list[Path]:
    """Export the EEG channels of a Raw ``.fif`` as EDF or BrainVision, atomically.

    Parameters
    ----------
    fif_path : path-like
        A file of :func:`write_raw_fif`.
    path : path-like
        ``.edf`` (EDF+, 16-bit samples scaled to each channel's range; needs
        ``edfio``) or ``.vhdr`` (BrainVision header, with ``.eeg`` and ``.vmrk``
        beside it, 32-bit floats; needs ``pybv``).

    Returns
    -------
    list of Path
        The files written.
    """
    final = Path(path)
    if final.suffix not in EXPORT_FORMATS:
        raise ValueError(
            f"{final.name}: export suffix {final.suffix!r} not allowed; allowed: "
            f"{', '.join(EXPORT_FORMATS)}"
        )
    fmt, _ = EXPORT_FORMATS[final.suffix]
    raw = mne.io.read_raw_fif(fif_path, preload=True, verbose="error").pick("eeg")
    names = (
        [final.with_suffix(suffix).name for suffix in _BRAINVISION_PARTS]
        if fmt == "brainvision"
        else [final.name]
    )
    with _staging(final) as staging, warnings.catch_warnings():
        # BrainVision stores float32: the conversion from double is the intent
        warnings.filterwarnings("ignore", message="Encountered data in 'double' format")
        mne.export.export_raw(staging / final.name, raw, fmt=fmt, overwrite=True, verbose="error")
        _move_in_place(staging, final, names)
    return [final.parent / name for name in names]
