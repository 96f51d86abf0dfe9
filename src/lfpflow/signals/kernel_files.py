"""Kernel files: ``results/kernels/<hash>/<post>_<pre>.h5`` (numpy and h5py only).

The kernel stage (:mod:`lfpflow.multicompartment.kernels`) computes the kernels;
writing and reading them needs no simulator, so the forward model and the
figures read them from here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from lfpflow.config import pathway_key
from lfpflow.io import Dataset, config_sha256, provenance, read_h5, write_h5

log = logging.getLogger(__name__)

#: Kernel arrays in a result of :func:`compute_kernel`, with their units and
#: axis names (``CSD`` only when ``kernels.probes.csd`` is true, ``CDM`` only
#: when ``kernels.probes.cdm`` is true).
KERNEL_DATASETS = {
    "LFP": ("mV", ["contact", "lag"]),
    "CDM": ("nA*um", ["component_xyz", "lag"]),
    "CSD": ("nA/um^3", ["contact", "lag"]),
    "lags_ms": ("ms", ["lag"]),
    "z_um": ("um", ["contact"]),
}

#: Datasets of kernel files renamed since they were first written, old name
#: -> new name: files written before the rename are read under the new name.
#: The lags were stored as ``tau_ms``, the name LFPykernels and the
#: configuration (``kernels.tau_ms``) give the half-width, not the lag vector.
RENAMED_DATASETS = {"tau_ms": "lags_ms"}


def csd_slab_edges_um(z_um: np.ndarray) -> np.ndarray:
    """Lower and upper edges (um) of the CSD slab around each contact.

    Each slab reaches halfway to the neighbouring contacts; the outermost
    slabs are symmetric about their contact. For equally spaced contacts this
    is ``z +- spacing / 2`` (``+-50 um`` for the default 100 um spacing).

    Parameters
    ----------
    z_um : ndarray
        Contact depths (um), any order, at least two, all different.

    Returns
    -------
    ndarray
        Shape ``(n_contacts, 2)``: lower and upper edge, in the order of
        ``z_um``.
    """
    z_um = np.asarray(z_um, dtype=float)
    if z_um.ndim != 1 or z_um.size < 2:
        raise ValueError("kernels.probes.lfp.z_um needs at least two contacts for the CSD")
    order = np.argsort(z_um)
    z_sorted = z_um[order]
    if np.any(np.diff(z_sorted) <= 0):
        raise ValueError("kernels.probes.lfp.z_um must not repeat a depth")
    midpoints = 0.5 * (z_sorted[1:] + z_sorted[:-1])
    lower = np.concatenate([[2 * z_sorted[0] - midpoints[0]], midpoints])
    upper = np.concatenate([midpoints, [2 * z_sorted[-1] - midpoints[-1]]])
    edges = np.empty((z_um.size, 2))
    edges[order, 0] = lower
    edges[order, 1] = upper
    return edges


#: Width (ms) of the window at each end of the lag axis whose share of the
#: kernel's mass :func:`tail_mass_fraction` measures.
TAIL_WINDOW_MS = 5.0

#: Tail mass fraction above which a kernel is reported as truncated. The
#: kernels decay roughly exponentially, so the mass cut off beyond the window
#: is comparable to the mass in its last 5 ms: measured on the default
#: kernels cut at 25 ms, 5.4 % in the last 5 ms went with 6.4 % cut off
#: (E <- I). Above 1 % the predicted signal loses of the order of a percent
#: of its slow (low-frequency) part, more than the rounding-level agreement
#: the forward model is checked to.
TAIL_WARN_FRACTION = 0.01

#: Tail mass fraction above which a kernel is refused: several percent of its
#: area would be missing and the kernel would end in a visible step, which
#: adds a broadband artefact to the signal's spectrum.
TAIL_ERROR_FRACTION = 0.05


def tail_mass_fraction(
    values: np.ndarray, lags_ms: np.ndarray, window_ms: float = TAIL_WINDOW_MS
) -> float:
    """Share of a kernel's absolute area in the last ``window_ms`` of either end.

    Parameters
    ----------
    values : numpy.ndarray
        Channels x lags (any units).
    lags_ms : numpy.ndarray
        Lag of each column (ms), ``-tau .. tau``.
    window_ms : float
        Width (ms) of the window at each end.

    Returns
    -------
    float
        ``max(mass in lags <= -tau + window, mass in lags >= tau - window)``
        divided by the total mass, mass being the sum of ``|values|`` over
        channels; 0 for an all-zero kernel. A kernel that has decayed inside
        the window gives ~0; one cut off by a too short ``kernels.tau_ms``
        gives about the share it lost.
    """
    mass = np.abs(np.atleast_2d(np.asarray(values, dtype=np.float64))).sum(axis=0)
    lags = np.asarray(lags_ms, dtype=np.float64)
    total = mass.sum()
    if total == 0:
        return 0.0
    # half a lag step of slack: lags are float multiples of dt
    slack = 0.5 * (lags[1] - lags[0]) if lags.size > 1 else 0.0
    late = mass[lags > lags[-1] - window_ms + slack].sum()
    early = mass[lags < lags[0] + window_ms - slack].sum()
    return float(max(late, early) / total)


def check_truncation(kernel: Mapping[str, Any], *, name: str) -> dict[str, float]:
    """Tail mass fraction of each signal of a kernel; warn or refuse.

    Parameters
    ----------
    kernel : Mapping
        ``LFP``, optional ``CDM``/``CSD`` (channels x lags) and ``lags_ms``.
    name : str
        The pathway or file, for the messages.

    Returns
    -------
    dict
        Signal -> :func:`tail_mass_fraction`.

    Raises
    ------
    ValueError
        If a fraction exceeds :data:`TAIL_ERROR_FRACTION`; above
        :data:`TAIL_WARN_FRACTION` a warning is logged.
    """
    fractions = {
        measure: tail_mass_fraction(kernel[measure], kernel["lags_ms"])
        for measure in ("LFP", "CDM", "CSD")
        if measure in kernel
    }
    worst = max(fractions, key=fractions.get)
    half_width = float(np.asarray(kernel["lags_ms"])[-1])
    message = (
        f"kernel {name}: {100 * fractions[worst]:.1f} % of the {worst} kernel's mass lies in "
        f"its last {TAIL_WINDOW_MS:g} ms, so it is cut off by kernels.tau_ms = "
        f"{half_width:g} ms"
    )
    if fractions[worst] > TAIL_ERROR_FRACTION:
        raise ValueError(
            f"{message} (refused above {100 * TAIL_ERROR_FRACTION:g} %): increase kernels.tau_ms"
        )
    if fractions[worst] > TAIL_WARN_FRACTION:
        log.warning("%s (warning above %g %%)", message, 100 * TAIL_WARN_FRACTION)
    return fractions


def kernel_dataset_content(kernel: Mapping[str, np.ndarray]) -> dict[str, Dataset]:
    """Datasets with units for :func:`lfpflow.io.write_h5`.

    Parameters
    ----------
    kernel : Mapping
        Result of :func:`compute_kernel`.

    Returns
    -------
    dict
        Name -> :class:`lfpflow.io.Dataset` with ``units`` and ``dims``; the
        ``CSD`` dataset also carries ``slab_edges_um`` (n_contacts x 2); the
        ``LFP``, ``CDM`` and ``CSD`` datasets carry ``tail_mass_fraction``
        (:func:`tail_mass_fraction`) and ``tail_window_ms``.
    """
    for name in ("LFP", "lags_ms", "z_um"):
        if name not in kernel:
            raise ValueError(f"kernel has no {name!r} array")
    content: dict[str, Dataset] = {}
    for name, (units, dims) in KERNEL_DATASETS.items():
        if name not in kernel:
            continue
        attrs: dict[str, Any] = {"dims": dims}
        if name == "CSD":
            attrs["slab_edges_um"] = csd_slab_edges_um(kernel["z_um"])
        if name in ("LFP", "CDM", "CSD"):
            attrs["tail_mass_fraction"] = tail_mass_fraction(kernel[name], kernel["lags_ms"])
            attrs["tail_window_ms"] = TAIL_WINDOW_MS
        content[name] = Dataset(np.asarray(kernel[name], dtype=float), units, **attrs)
    return content


def write_kernel(
    path: str | os.PathLike,
    kernel: Mapping[str, np.ndarray],
    *,
    config: Mapping[str, Any],
    post: str,
    pre: str,
) -> None:
    """Write one kernel to ``kernels/<post>_<pre>.h5`` (atomically).

    Parameters
    ----------
    path : path-like
        Destination file.
    kernel : Mapping
        Result of :func:`compute_kernel`.
    config : Mapping
        Full resolved configuration (for provenance; its ``kernels`` section
        is hashed into ``kernel_config_sha256``).
    post, pre : str
        Postsynaptic and presynaptic population.

    Raises
    ------
    ValueError
        If the kernel is cut off by its lag window (:func:`check_truncation`;
        nothing is written).

    Notes
    -----
    Root attributes: :func:`lfpflow.io.provenance` plus ``post``, ``pre``,
    ``synapse_type``, ``g_eff``, ``kernel_config_sha256`` and ``dt_ms`` (the
    lag step, which the kernels section does not contain).
    """
    # a kernel cut off by kernels.tau_ms is refused before anything is written
    check_truncation(kernel, name=pathway_key(post, pre))
    kernel_config = config["kernels"]
    lags = np.asarray(kernel["lags_ms"], dtype=float)
    attrs = provenance(
        config,
        post=post,
        pre=pre,
        synapse_type=str(kernel_config["synapse_type"]),
        g_eff=bool(kernel_config["g_eff"]),
        kernel_config_sha256=config_sha256(kernel_config),
        dt_ms=float(lags[1] - lags[0]) if lags.size > 1 else float("nan"),
    )
    write_h5(path, kernel_dataset_content(kernel), attrs=attrs)


def load_kernels(
    paths: Iterable[str | os.PathLike],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Read kernel files written by :func:`write_kernel`.

    Files written before a dataset was renamed (:data:`RENAMED_DATASETS`:
    the lags were stored as ``tau_ms``) are read under the new name.

    Parameters
    ----------
    paths : iterable of path-like
        Kernel files.

    Returns
    -------
    dict
        ``(post, pre)`` -> ``{"LFP", "CDM"?, "CSD"?, "lags_ms", "z_um"}`` arrays
        plus ``"attrs"`` (root attributes) and ``"units"`` (dataset -> units).

    Raises
    ------
    ValueError
        If two files hold the same pathway, the files' lags differ (their
        kernels could not be summed) or a kernel is cut off by its lag window
        (:func:`check_truncation`; the entry's ``tail_mass_fraction`` holds
        the fractions).
    """
    kernels: dict[tuple[str, str], dict[str, Any]] = {}
    reference_lags: np.ndarray | None = None
    for path in paths:
        data = read_h5(path)
        attrs = data["attrs"]
        key = (str(attrs["post"]), str(attrs["pre"]))
        if key in kernels:
            raise ValueError(f"pathway {pathway_key(*key)} appears twice (second: {path})")
        for old, new in RENAMED_DATASETS.items():
            # a file written before the rename: its old dataset, under the new name
            if new not in data and old in data:
                data[new] = data.pop(old)
                if old in data["units"]:
                    data["units"][new] = data["units"].pop(old)
        entry: dict[str, Any] = {name: data[name] for name in KERNEL_DATASETS if name in data}
        if reference_lags is None:
            reference_lags = entry["lags_ms"]
        elif not np.array_equal(reference_lags, entry["lags_ms"]):
            raise ValueError(f"{path}: lags (lags_ms) differ from those of the other kernel files")
        entry["attrs"] = attrs
        entry["units"] = data["units"]
        # computed from the arrays, not read from the attributes, so kernels
        # from elsewhere (or older files) are checked too
        entry["tail_mass_fraction"] = check_truncation(entry, name=f"{pathway_key(*key)} ({path})")
        kernels[key] = entry
    return kernels
