"""Reading an observation: the signal the posterior is inferred from.

Readers return channels x time in lfpflow's units (LFP mV, CSD nA/um^3, CDM
nA*um, EEG uV) and the sampling rate (Hz), so that
:func:`lfpflow.inference.features.compute_features` treats a recording and a
simulation alike. Supported files (numpy and h5py only):

- lfpflow's ``signals.h5`` (dataset named after the signal, ``t_ms``);
- NWB files (HDF5): a TimeSeries / ElectricalSeries group at ``dataset``
  (default: where lfpflow's export puts the signal), ``data`` time x channels
  times ``conversion`` in SI units, sampled at ``starting_time``'s ``rate`` or
  on ``timestamps``;
- plain arrays: ``.npy`` (channels x samples) or ``.csv`` / ``.txt`` (one
  column per channel), with ``sampling_rate_Hz`` and optional ``units``.

MNE ``.fif`` files are not read yet (see docs/inference.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: lfpflow's unit of each signal.
SIGNAL_UNITS = {"LFP": "mV", "CSD": "nA/um^3", "CDM": "nA*um", "EEG": "uV"}

#: Factor from a unit to lfpflow's unit of the same kind.
TO_LFPFLOW = {
    ("V", "mV"): 1e3,
    ("volts", "mV"): 1e3,
    ("mV", "mV"): 1.0,
    ("uV", "mV"): 1e-3,
    ("V", "uV"): 1e6,
    ("volts", "uV"): 1e6,
    ("mV", "uV"): 1e3,
    ("uV", "uV"): 1.0,
    ("A*m", "nA*um"): 1e15,
    ("nA*um", "nA*um"): 1.0,
    ("A/m^3", "nA/um^3"): 1e-9,
    ("nA/um^3", "nA/um^3"): 1.0,
}

#: Where lfpflow's NWB export puts each signal.
NWB_DEFAULT_SERIES = {
    "LFP": "processing/ecephys/LFP/laminar_LFP",
    "CSD": "processing/ecephys/CSD",
    "CDM": "processing/ecephys/CDM",
    "EEG": "processing/ecephys/EEG",
}


def conversion_factor(units: str, signal: str) -> float:
    """Factor taking values in ``units`` to lfpflow's unit of ``signal``."""
    target = SIGNAL_UNITS[signal]
    try:
        return TO_LFPFLOW[(units, target)]
    except KeyError:
        allowed = sorted({u for u, t in TO_LFPFLOW if t == target})
        raise ValueError(
            f"config key 'inference.observation.units': {units!r} cannot be converted to "
            f"{target} ({signal}); allowed values: {', '.join(allowed)}"
        ) from None


def read_signals_h5(path: str | Path, signal: str) -> tuple[np.ndarray, float]:
    """lfpflow's ``signals.h5``: the signal (channels x time, its units) and rate (Hz)."""
    with h5py.File(path, "r") as h5:
        if signal not in h5:
            raise ValueError(f"{path} has no {signal}; it has: {', '.join(sorted(h5))}")
        values = np.asarray(h5[signal][()], dtype=np.float64)
        units = str(h5[signal].attrs.get("units", SIGNAL_UNITS[signal]))
        t_ms = h5["t_ms"][()]
    return values * conversion_factor(units, signal), 1e3 / float(t_ms[1] - t_ms[0])


def read_nwb(path: str | Path, signal: str, dataset: str | None) -> tuple[np.ndarray, float]:
    """A series of an NWB file: channels x time in lfpflow's units, rate (Hz)."""
    where = dataset or NWB_DEFAULT_SERIES[signal]
    with h5py.File(path, "r") as h5:
        if where not in h5:
            raise ValueError(
                f"config key 'inference.observation.dataset': {where!r} is not in {path}"
            )
        series = h5[where]
        data = series["data"]
        values = np.asarray(data[()], dtype=np.float64).T * float(data.attrs.get("conversion", 1.0))
        unit = data.attrs.get("unit", "volts")
        unit = unit.decode() if isinstance(unit, bytes) else str(unit)
        if "starting_time" in series:
            rate_Hz = float(series["starting_time"].attrs["rate"])
        else:
            times_s = series["timestamps"][()]
            rate_Hz = 1.0 / float(np.median(np.diff(times_s)))
    return np.atleast_2d(values) * conversion_factor(unit, signal), rate_Hz


def read_array(
    path: str | Path, signal: str, sampling_rate_Hz: float | None, units: str | None
) -> tuple[np.ndarray, float]:
    """A plain array file (.npy channels x samples; .csv / .txt one column per channel)."""
    if sampling_rate_Hz is None:
        raise ValueError(
            "config key 'inference.observation.sampling_rate_Hz': required for the plain "
            f"array {path}"
        )
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        values = np.atleast_2d(np.load(path, allow_pickle=False))
    else:
        delimiter = "," if suffix == ".csv" else None
        values = np.atleast_2d(np.loadtxt(path, delimiter=delimiter, ndmin=2).T)
    factor = conversion_factor(units, signal) if units else 1.0
    return np.asarray(values, dtype=np.float64) * factor, float(sampling_rate_Hz)


def read_observation(path: str | Path, inference: Mapping[str, Any]) -> dict[str, Any]:
    """The observed signal, its chosen channels after ``observation.transient_ms``.

    Parameters
    ----------
    path : path-like
        The observation file (``inference.observation.file``).
    inference : Mapping
        ``config["inference"]``.

    Returns
    -------
    dict
        ``values`` (channels x time, lfpflow's units), ``rate_Hz``, ``source``.
    """
    from lfpflow.inference.simulator import select_channels

    observation, signal = inference["observation"], inference["signal"]
    suffix = Path(path).suffix.lower()
    if suffix in (".nwb",):
        values, rate_Hz = read_nwb(path, signal, observation.get("dataset"))
    elif suffix in (".h5", ".hdf5"):
        values, rate_Hz = read_signals_h5(path, signal)
    elif suffix in (".npy", ".csv", ".txt"):
        values, rate_Hz = read_array(
            path, signal, observation.get("sampling_rate_Hz"), observation.get("units")
        )
    else:
        raise ValueError(
            f"config key 'inference.observation.file': cannot read {suffix!r} files; "
            "allowed: .h5 (lfpflow signals.h5), .nwb, .npy, .csv, .txt"
        )
    first = int(round(float(observation["transient_ms"]) * rate_Hz / 1e3))
    values = select_channels(values, inference["channels"], signal)[:, first:]
    return {"values": values, "rate_Hz": rate_Hz, "source": str(path)}


def simulated_observation(
    config: Mapping[str, Any],
    kernels: Mapping[tuple[str, str], Mapping[str, Any]],
    *,
    nestml_module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """The default observation: the simulated network at the true parameter values.

    Its network's master seed is ``inference.observation.seed``, not one of the
    training draws' seeds. Returns what :func:`read_observation` returns plus
    ``truth`` (parameter values).
    """
    from lfpflow.config import stage_config
    from lfpflow.inference.setup import Prior, true_values, with_parameters
    from lfpflow.inference.simulator import signal_from_spikes
    from lfpflow.pointneuron.batch import simulate_many

    inference = config["inference"]
    prior = Prior.from_config(inference)
    truth = true_values(config, config)
    observed = with_parameters(
        config, prior.names, truth, seed=int(inference["observation"]["seed"])
    )
    (spikes,) = simulate_many(
        [stage_config(observed, "network")], nestml_module_dir=nestml_module_dir
    )
    values, rate_Hz = signal_from_spikes(spikes, kernels, observed)
    return {"values": values, "rate_Hz": rate_Hz, "source": "simulated", "truth": truth}


def write_observation(
    path: str | Path, observation: Mapping[str, Any], *, config: Mapping[str, Any]
) -> None:
    """Write ``observation.h5``: the signal, its features and spectrum (and truth).

    ``signal`` (channels x time, lfpflow's units), ``features`` (NaN where
    undefined) with ``feature_names``, ``freqs_Hz`` and ``psd`` (the Welch
    spectrum of the features), ``truth`` (parameter values) when simulated.
    """
    import json

    from lfpflow import io

    inference = config["inference"]
    unit = SIGNAL_UNITS[inference["signal"]]
    features = observation["features"]
    content = {
        "signal": io.Dataset(observation["values"], unit, rate_Hz=observation["rate_Hz"]),
        "features": io.Dataset(features["values"], "1"),
        "freqs_Hz": io.Dataset(features["freqs_Hz"], "Hz"),
        "psd": io.Dataset(features["psd"], f"{unit}^2/Hz"),
    }
    if "truth" in observation:
        content["truth"] = io.Dataset(observation["truth"], "units of each parameter")
    attrs = io.provenance(
        config,
        source=observation["source"],
        signal=inference["signal"],
        rate_Hz=float(observation["rate_Hz"]),
        feature_names=json.dumps(features["names"]),
        parameter_names=json.dumps(list(inference["parameters"])),
    )
    io.write_h5(path, content, attrs=attrs)


def load_observation(path: str | Path) -> dict[str, Any]:
    """Read ``observation.h5`` (:func:`write_observation`)."""
    import json

    from lfpflow import io

    data = io.read_h5(path)
    attrs = data["attrs"]
    return {
        "signal": data["signal"],
        "rate_Hz": float(attrs["rate_Hz"]),
        "features": data["features"],
        "feature_names": json.loads(attrs["feature_names"]),
        "parameter_names": json.loads(attrs["parameter_names"]),
        "freqs_Hz": data["freqs_Hz"],
        "psd": data["psd"],
        "truth": data.get("truth"),
        "source": attrs["source"],
    }
