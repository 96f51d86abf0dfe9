"""Forward step: population rates convolved with kernels; CDM -> EEG.

The extracellular signal of the network is

    phi(t) = sum_X sum_Y (nu_X * H_YX)(t),

with nu_X the spike count of presynaptic population X per bin and H_YX the
kernel of pathway X -> Y (Hagen et al. 2022, PLOS Comput Biol 18:e1010353).
Kernels have an odd number of lags with lag 0 at the centre; lag 0 aligns with
the bin of the spike, so the result has exactly the time axis of the rates:
sample k is the signal at time k dt, the start of bin [k dt, (k + 1) dt),
which is where NEST's on-grid spike times fall.

The CDM is mapped to EEG electrodes (and, for a spherical head, MEG sensors)
by :mod:`lfpflow.signals.head_models`: the four-sphere head model of Naess et
al. (2017, Front Hum Neurosci 11:490), a lead field the user brings, or the New
York Head, with the column placed under a named electrode or at a position and
its axis radial (a gyral crown), tangential (a sulcal wall) or any direction
relative to the local radial direction at the dipole. A radial dipole
produces no magnetic field outside a spherically symmetric head, so MEG needs
a tangential component.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy import fft as sp_fft

from lfpflow import io
from lfpflow.config.scopes import pathway_key
from lfpflow.signals import head_models


def _check_kernel(key: Any, kernel: np.ndarray) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise ValueError(f"kernel {key!r} must be 2-D (channels x lags), got shape {kernel.shape}")
    if kernel.shape[1] % 2 != 1:
        raise ValueError(
            f"kernel {key!r} must have an odd number of lags (lag 0 at the centre), "
            f"got {kernel.shape[1]}"
        )
    return kernel


#: Smallest FFT block of the overlap-save convolution (samples); measured
#: fastest here among 4096..65536 for kernels of ~1600 lags (benchmarks/).
_MIN_BLOCK = 16384


def _overlap_save(rates: list[np.ndarray], kernels: list[np.ndarray]) -> np.ndarray:
    """Sum over p of ``rates[p]`` convolved with ``kernels[p]`` (C x L, lag 0 at L // 2).

    Overlap-save FFT convolution, in frequency domain summed over p, so each
    output channel needs one inverse transform per block whatever the number
    of presynaptic populations. Columns that are exactly zero in every kernel
    (the acausal half of LFPykernels' kernels) are trimmed first: an exact
    saving, not an approximation.
    """
    n_channels, n_lags = kernels[0].shape
    centre = n_lags // 2
    length = rates[0].size
    stacked = np.stack(kernels)  # (P, C, L)
    used = np.flatnonzero(np.any(stacked != 0, axis=(0, 1)))
    result = np.zeros((n_channels, length))
    if used.size == 0 or length == 0:
        return result
    first, last = used[0], used[-1]
    trimmed = stacked[:, :, first : last + 1]
    trimmed_lags = trimmed.shape[2]
    # out[n] = f[n + offset] with f the full convolution by the trimmed kernel
    offset = centre - first
    needed_start = max(offset, 0)
    needed_stop = offset + length
    if needed_stop <= 0:
        return result
    block = sp_fft.next_fast_len(max(4 * trimmed_lags, _MIN_BLOCK), real=True)
    step = block - trimmed_lags + 1
    n_blocks = -(-(needed_stop - needed_start) // step)
    kernel_spectra = sp_fft.rfft(trimmed, block, axis=2)
    padded_length = n_blocks * step + trimmed_lags - 1
    source_start = needed_start - (trimmed_lags - 1)
    lo, hi = max(0, -source_start), min(padded_length, length - source_start)
    block_spectra = []
    for rate in rates:
        padded = np.zeros(padded_length)
        if hi > lo:
            padded[lo:hi] = rate[source_start + lo : source_start + hi]
        blocks = np.lib.stride_tricks.sliding_window_view(padded, block)[::step]
        block_spectra.append(sp_fft.rfft(blocks, axis=1))
    first_output = needed_start - offset
    for channel in range(n_channels):
        spectrum = block_spectra[0] * kernel_spectra[0, channel]
        for index in range(1, len(rates)):
            spectrum += block_spectra[index] * kernel_spectra[index, channel]
        valid = sp_fft.irfft(spectrum, block, axis=1)[:, trimmed_lags - 1 :].ravel()
        result[channel, first_output:] = valid[: length - first_output]
    return result


def convolve_rate(rate: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve one rate with a (channels x lags) kernel, lag 0 at the centre.

    Parameters
    ----------
    rate : numpy.ndarray
        1-D spike counts per bin (length T).
    kernel : numpy.ndarray
        Channels x (2 K + 1) lags; column K is lag 0.

    Returns
    -------
    numpy.ndarray
        Channels x T, equal to ``np.convolve(rate, h)[K:K + T]`` for each row
        ``h``, computed by overlap-save FFT convolution.
    """
    rate = np.asarray(rate, dtype=np.float64)
    if rate.ndim != 1:
        raise ValueError(f"rate must be 1-D, got shape {rate.shape}")
    return _overlap_save([rate], [_check_kernel("kernel", kernel)])


def check_time_steps(dt_ms: float, lags_ms: Any, n_lags: int) -> None:
    """Refuse kernels whose lag axis does not match the rates' bins.

    Parameters
    ----------
    dt_ms : float
        Bin width of the rates (ms).
    lags_ms : array_like
        Lags of the kernels (ms), one per kernel column.
    n_lags : int
        Number of kernel columns.

    Raises
    ------
    ValueError
        If the lags are not ``n_lags`` evenly spaced values ``-K dt .. K dt``:
        a lag step other than the bin width (the convolution would stretch
        the kernel in time) or lag 0 elsewhere than in the centre column (it
        would shift the signal). The message names both values.
    """
    lags = np.asarray(lags_ms, dtype=np.float64)
    if lags.ndim != 1 or lags.size != n_lags:
        raise ValueError(
            f"lags_ms has shape {lags.shape}; the kernels have {n_lags} lags (columns)"
        )
    if not dt_ms > 0:
        raise ValueError(f"dt_ms (the rates' bin width) must be positive, got {dt_ms}")
    if n_lags > 1:
        steps = np.diff(lags)
        # relative 1e-9: lags stored as float64 multiples of dt round to ~1e-16
        if not np.allclose(steps, dt_ms, rtol=1e-9, atol=0.0):
            raise ValueError(
                f"kernel lag step {steps.min():g}..{steps.max():g} ms differs from the rates' "
                f"bin width dt_ms = {dt_ms:g} ms: kernels and rates must share one time step"
            )
    centre = lags[n_lags // 2]
    if abs(centre) > 1e-9 * dt_ms:
        raise ValueError(
            f"kernel lags run from {lags[0]:g} to {lags[-1]:g} ms, so the centre column is lag "
            f"{centre:g} ms; lag 0 (the spike time) must be the centre column"
        )


def predict_signal(
    rates: Mapping[str, np.ndarray],
    kernels: Mapping[tuple[str, str], np.ndarray],
    *,
    dt_ms: float,
    lags_ms: Any,
) -> np.ndarray:
    """Sum over pathways of population rate convolved with kernel.

    Parameters
    ----------
    rates : Mapping
        Population name -> 1-D spike counts per bin [k dt, (k + 1) dt) (all
        the same length T).
    kernels : Mapping
        ``(post, pre)`` -> channels x lags array, lag 0 at the centre (odd
        number of lags; all kernels of the same shape).
    dt_ms : float
        Bin width of the rates (ms).
    lags_ms : array_like
        Lag of each kernel column (ms): ``-K dt, ..., 0, ..., K dt``; checked
        against ``dt_ms`` (:func:`check_time_steps`).

    Returns
    -------
    numpy.ndarray
        Channels x T: sum over ``(post, pre)`` of ``rates[pre]`` convolved
        with the kernel, aligned at lag 0, so sample k is the signal at time
        k dt. Identical (to rounding, ~1e-15 relative) to summing
        ``np.convolve(rates[pre], h)[K:K + T]`` per channel, but FFT-based.

    Notes
    -----
    Kernels of the same presynaptic population are summed first and the
    products of spectra are summed over presynaptic populations before the
    inverse FFT (convolution is linear), so the cost is one forward FFT per
    presynaptic population and one inverse FFT per channel.
    """
    if not kernels:
        raise ValueError("kernels is empty: nothing to predict")
    rates = {name: np.asarray(rate, dtype=np.float64) for name, rate in rates.items()}
    shapes = {rate.shape for rate in rates.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"rates must be 1-D and all of the same length, got {sorted(shapes)}")
    summed_by_pre: dict[str, np.ndarray] = {}
    for (post, pre), kernel in kernels.items():
        if pre not in rates:
            raise ValueError(
                f"kernel ({post!r}, {pre!r}) needs the rate of {pre!r}; "
                f"rates has: {', '.join(map(repr, rates))}"
            )
        kernel = _check_kernel((post, pre), kernel)
        if summed_by_pre and kernel.shape != next(iter(summed_by_pre.values())).shape:
            raise ValueError(
                f"kernel ({post!r}, {pre!r}) has shape {kernel.shape}; all kernels must share "
                f"one shape, others have {next(iter(summed_by_pre.values())).shape}"
            )
        summed_by_pre[pre] = summed_by_pre[pre] + kernel if pre in summed_by_pre else kernel
    check_time_steps(dt_ms, lags_ms, next(iter(summed_by_pre.values())).shape[1])
    pres = list(summed_by_pre)
    return _overlap_save([rates[pre] for pre in pres], [summed_by_pre[pre] for pre in pres])


def predict_contributions(
    rates: Mapping[str, np.ndarray],
    kernels: Mapping[tuple[str, str], np.ndarray],
    *,
    dt_ms: float,
    lags_ms: Any,
) -> dict[tuple[str, str], np.ndarray]:
    """Per-pathway signals ``rates[pre]`` convolved with ``kernels[(post, pre)]``.

    Parameters as :func:`predict_signal`.
    """
    return {
        key: predict_signal(rates, {key: kernel}, dt_ms=dt_ms, lags_ms=lags_ms)
        for key, kernel in kernels.items()
    }


def _check_sample_times(t_ms: Any, dt_ms: float, rates: Mapping[str, np.ndarray]) -> None:
    """Refuse a time axis other than the bin starts k dt of the rates."""
    t_ms = np.asarray(t_ms, dtype=np.float64)
    n_bins = {np.asarray(rate).size for rate in rates.values()}
    if n_bins != {t_ms.size}:
        raise ValueError(f"t_ms has {t_ms.size} samples, the rates have {sorted(n_bins)} bins")
    expected = np.arange(t_ms.size) * float(dt_ms)
    if not np.allclose(t_ms, expected, rtol=0.0, atol=1e-9 * float(dt_ms)):
        raise ValueError(
            f"t_ms must be the bin starts k * dt_ms = 0, {dt_ms:g}, {2 * dt_ms:g}, ... ms "
            f"(lag 0 is the spike time); got {t_ms[:3].tolist()} ..."
        )


def compute_signals(
    t_ms: np.ndarray,
    rates: Mapping[str, np.ndarray],
    kernels: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    head_model: head_models.SensorMaps | Mapping[str, Any],
    meg: Mapping[str, Any] | None = None,
    *,
    dt_ms: float,
) -> dict[str, Any]:
    """All signals of ``signals.h5`` from rates and kernels.

    Parameters
    ----------
    t_ms : numpy.ndarray
        Start k dt (ms) of each rate bin, which is also the time of the
        signal sample k (lag 0 of a kernel is the spike time).
    rates : Mapping
        Population -> spike counts per bin [k dt, (k + 1) dt).
    kernels : Mapping
        ``(post, pre)`` -> dict with ``"LFP"``, ``"CDM"`` and optionally
        ``"CSD"`` (channels x lags) and ``"lags_ms"`` (the lags, ms).
    head_model : SensorMaps or Mapping
        The head model, electrodes, column position and axis, built
        (:func:`lfpflow.formats.heads.sensor_maps`, which reads what only MNE
        reads) or as ``config["forward"]["head_model"]`` (resolved) for a head
        that needs no MNE file (:func:`lfpflow.signals.head_models.as_sensor_maps`).
    meg : Mapping, optional
        ``config["forward"]["meg"]`` with a configuration ``head_model``; no
        MEG when None or not ``enabled``.

    Returns
    -------
    dict
        ``t_ms``, ``LFP`` (mV), ``CDM`` (nA um, column coordinates), ``EEG``
        (uV), ``MEG`` (fT, radial field; with the MEG on), optional ``CSD``,
        ``electrodes_um``, ``meg_sensors_um``, ``head_attrs`` (the head model,
        electrode names and positions, column position and axis, for
        :func:`write_signals`), and ``contributions[(post, pre)]`` with the
        same signals per pathway.
    """
    first = next(iter(kernels.values()))
    measures = [m for m in ("LFP", "CSD", "CDM") if m in first]
    _check_sample_times(t_ms, dt_ms, rates)
    contributions: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for key, kernel in kernels.items():
        contributions[key] = {
            measure: predict_signal(
                rates, {key: kernel[measure]}, dt_ms=dt_ms, lags_ms=kernel["lags_ms"]
            )
            for measure in measures
        }
    signals: dict[str, Any] = {"t_ms": np.asarray(t_ms)}
    for measure in measures:
        # summing the per-pathway parts equals predict_signal on all kernels
        signals[measure] = sum(part[measure] for part in contributions.values())
    if "CDM" in signals:
        maps = head_models.as_sensor_maps(head_model, meg)
        signals.update(head_models.sensor_signals(signals["CDM"], maps))
        for part in contributions.values():
            part.update({name: matrix @ part["CDM"] for name, matrix in maps.matrices.items()})
    signals["contributions"] = contributions
    return signals


#: Units of the signals in ``signals.h5``.
SIGNAL_UNITS = {"LFP": "mV", "CSD": "nA/um^3", "CDM": "nA*um", "EEG": "uV", "MEG": "fT"}


def _head_attrs(
    signals: Mapping[str, Any],
    forward: Mapping[str, Any],
    sensors: head_models.SensorMaps | None,
) -> dict[str, Any]:
    """Head-model attributes of ``signals`` (else of ``sensors``, else from ``forward``)."""
    if "head_attrs" in signals:
        return dict(signals["head_attrs"])
    if sensors is not None:
        return sensors.attrs()
    # MEG in the signals: describe its sensors even if the configuration has it off
    meg = dict(forward["meg"], enabled=True) if "MEG" in signals else None
    return head_models.sensor_maps(forward["head_model"], meg).attrs()


def write_signals(
    path: str | Path,
    signals: Mapping[str, Any],
    *,
    config: Mapping[str, Any],
    z_um: np.ndarray,
    csd_units: str = SIGNAL_UNITS["CSD"],
    kernels_dir: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    sensors: head_models.SensorMaps | None = None,
) -> None:
    """Write ``signals.h5`` (output contract in the README).

    ``kernels_dir``, the folder of the kernels used (``results/kernels/<hash>``),
    is recorded as the root attribute of the same name. Contributions keyed by
    a ``(post, pre)`` pathway are written as group ``post_pre`` and listed in
    the ``pathways`` attribute; a string key (e.g. a postsynaptic population of
    the ground truth) is the group name as is. ``n_vp`` is recorded when the
    configuration has ``simulation.n_vp``; ``attrs`` are further root attributes
    (replacing standard ones of the same name). The head model, electrode
    names and positions, MEG sensors and the column's position and axis are
    root attributes too (:meth:`lfpflow.signals.head_models.SensorMaps.attrs`):
    ``signals["head_attrs"]`` from :func:`compute_signals`, or else those of
    ``sensors`` (:func:`lfpflow.formats.heads.sensor_maps`), or else those of
    the configuration's ``forward`` section (a head that needs no MNE file).
    """
    units = dict(SIGNAL_UNITS, CSD=csd_units)
    measures = [m for m in ("LFP", "CSD", "CDM", "EEG", "MEG") if m in signals]
    content: dict[str, Any] = {"t_ms": io.Dataset(signals["t_ms"], "ms")}
    for measure in measures:
        content[measure] = io.Dataset(signals[measure], units[measure])
    content["z_um"] = io.Dataset(z_um, "um", description="depth of the LFP/CSD contacts")
    content["contributions"] = {
        key if isinstance(key, str) else f"{key[0]}_{key[1]}": {
            m: io.Dataset(part[m], units[m]) for m in measures if m in part
        }
        for key, part in signals["contributions"].items()
    }
    by_pathway = not any(isinstance(key, str) for key in signals["contributions"])
    n_vp = config["simulation"].get("n_vp")
    root = io.provenance(
        config,
        **({"n_vp": n_vp} if n_vp is not None else {}),
        **_head_attrs(signals, config["forward"], sensors),
        **(
            {"pathways": [pathway_key(post, pre) for post, pre in signals["contributions"]]}
            if by_pathway
            else {}
        ),
        **({"kernels_dir": kernels_dir} if kernels_dir is not None else {}),
    )
    root.update(attrs or {})
    io.write_h5(path, content, attrs=root)
