"""Parameter sweeps: one run per point of a Cartesian product of values.

A configuration may declare ``sweep: {<dotted key>: [values...], ...}``, e.g.
``sweep: {network.drive.nu_ext_Hz: [30, 40, 50], seed: [1, 2, 3]}``. Every
combination of values is one *point*: a complete configuration (the base
configuration with those values set, the ``sweep`` key removed), validated like
any other, run in its own folder ``results/<run_name>/<label>-<hash>/`` where
``label`` is readable (``nu_ext_Hz-30_seed-1``) and ``hash`` is the first 8 hex
digits of the SHA-256 of the point's scientific configuration, so that a
changed base configuration never reuses a stale folder.

Kernels depend on fewer parameters than a run (``lfpflow.config.STAGE_SCOPES``)
and are stored once per kernel configuration, under ``results/kernels/<kernel
hash>/`` (:func:`lfpflow.config.scopes.kernel_hash`): a sweep over the drive or
the seed computes them once for all points.

Keys are dotted paths into the configuration; list items are addressed by
their index (``network.connections.0.weight_pA``). Only the scientific
sections of the LFP pipeline can be swept (:data:`SWEEPABLE_SECTIONS`); keys
that change which figures exist (:data:`FIXED_KEYS`) cannot.
"""

from __future__ import annotations

import copy
import csv
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lfpflow.config import ConfigError, overlay_of
from lfpflow.config.keys import lookup, set_value
from lfpflow.config.scopes import RUN_SECTIONS, point_hash
from lfpflow.io import atomic_path

#: Top-level sections whose keys may be swept: those of one run.
SWEEPABLE_SECTIONS = RUN_SECTIONS

#: Keys that decide which outputs (figures) exist; they must be the same for
#: every point, so they cannot be swept.
FIXED_KEYS = ("kernels.probes", "forward.meg.enabled")

#: Characters kept in a folder label; the rest become ``_``.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep.

    Attributes
    ----------
    run_id : str
        Folder below ``results/``: ``<run_name>/<label>-<hash>``.
    label : str
        Readable name of the point (``nu_ext_Hz-30_seed-1``).
    parameters : dict
        Dotted key -> value at this point, in the order of the sweep.
    config : dict
        The point's complete, resolved configuration (no ``sweep`` key).
    """

    run_id: str
    label: str
    parameters: dict[str, Any]
    config: dict[str, Any] = field(repr=False)


def check_sweep(config: Mapping[str, Any]) -> list[str]:
    """Problems of the ``sweep`` section of a validated configuration.

    Each problem names the key and what is allowed; an empty list means the
    sweep is well formed (the points themselves are validated separately).
    """
    sweep = config.get("sweep") or {}
    problems = []
    for key, values in sweep.items():
        section = key.split(".")[0]
        if section not in SWEEPABLE_SECTIONS:
            problems.append(
                f"sweep.{key}: section '{section}' cannot be swept; allowed sections: "
                f"{', '.join(SWEEPABLE_SECTIONS)}"
            )
            continue
        if any(key == fixed or key.startswith(fixed + ".") for fixed in FIXED_KEYS):
            problems.append(
                f"sweep.{key}: decides which outputs exist and cannot be swept; "
                f"not sweepable: {', '.join(FIXED_KEYS)}"
            )
            continue
        try:
            lookup(config, key)
        except ConfigError as error:
            problems.append(f"sweep.{error}")
            continue
        if len({_canonical(value) for value in values}) != len(values):
            problems.append(f"sweep.{key}: values repeat: {values}")
    return problems


def _typed(value: Any, current: Any) -> Any:
    """``value``, read as YAML if it is text replacing a non-text value.

    ``snakemake --config 'sweep={seed: [1, 2]}'`` hands the values over as
    text; read as YAML they are the numbers the user wrote.
    """
    if isinstance(value, str) and not isinstance(current, str):
        return yaml.safe_load(value)
    return value


def _canonical(value: Any) -> str:
    return repr(_plain_number(value))


def _plain_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return int(value)
    return value


def format_value(value: Any) -> str:
    """A short, folder-safe text for a swept value (30.0 -> ``30``)."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{_plain_number(value)}" if value.is_integer() else f"{value:g}"
    elif isinstance(value, list | tuple):
        text = "+".join(format_value(item) for item in value)
    elif isinstance(value, Mapping):
        text = "+".join(f"{name}{format_value(item)}" for name, item in value.items())
    else:
        text = str(value)
    return _LABEL_UNSAFE.sub("_", text)


def parameter_names(keys: Sequence[str]) -> dict[str, str]:
    """Short, unique names of dotted keys: the last part, longer where needed."""
    names: dict[str, str] = {}
    for depth in range(1, max((len(key.split(".")) for key in keys), default=1) + 1):
        for key in keys:
            if key not in names:
                names[key] = ".".join(key.split(".")[-depth:])
        counts: dict[str, int] = {}
        for name in names.values():
            counts[name] = counts.get(name, 0) + 1
        clashes = [key for key, name in names.items() if counts[name] > 1]
        if not clashes:
            break
        for key in clashes:
            del names[key]
    return {key: names.get(key, key) for key in keys}


def point_label(parameters: Mapping[str, Any]) -> str:
    """Readable label of a point: ``<name>-<value>`` joined by ``_``."""
    names = parameter_names(list(parameters))
    return "_".join(f"{names[key]}-{format_value(value)}" for key, value in parameters.items())


def sweep_points(config: Mapping[str, Any], resolve: Any) -> list[SweepPoint]:
    """Every point of the sweep declared in ``config``.

    Parameters
    ----------
    config : Mapping
        Resolved configuration with a non-empty ``sweep`` section.
    resolve : callable
        ``resolve(config) -> resolved config`` (``lfpflow.resolve.resolve_config``
        with the schema folder); applied to every point, so that a value that is
        invalid at one point is reported, with the point, before anything runs.

    Returns
    -------
    list of SweepPoint
        In the order of ``itertools.product`` over the sweep's keys.

    Raises
    ------
    ConfigError
        A malformed sweep, or a point whose configuration is invalid.
    """
    problems = check_sweep(config)
    if problems:
        raise ConfigError("invalid sweep:\n  " + "\n  ".join(problems))
    sweep = {
        key: [_typed(value, lookup(config, key)) for value in values]
        for key, values in config["sweep"].items()
    }
    base = {key: copy.deepcopy(value) for key, value in config.items() if key != "sweep"}
    points = []
    for values in itertools.product(*sweep.values()):
        parameters = dict(zip(sweep, values, strict=True))
        raw = copy.deepcopy(base)
        for key, value in parameters.items():
            set_value(raw, key, value)
        label = point_label(parameters)
        try:
            resolved = resolve(raw)
        except ConfigError as error:
            raise ConfigError(f"sweep point {label}: {error}") from None
        folder = f"{label}-{point_hash(resolved)}"
        # the point's own config.yaml reruns it on its own in results/<run_name>.<folder>/
        resolved["run_name"] = f"{config['run_name']}.{folder}"
        points.append(
            SweepPoint(
                run_id=f"{config['run_name']}/{folder}",
                label=label,
                parameters=parameters,
                config=resolved,
            )
        )
    return points


def runs(config: Mapping[str, Any], resolve: Any) -> dict[str, dict[str, Any]]:
    """Run folder (below ``results/``) -> resolved configuration.

    One run (``run_name``) without a sweep; one per point with a sweep.
    """
    if not config.get("sweep"):
        return {config["run_name"]: dict(config)}
    return {point.run_id: point.config for point in sweep_points(config, resolve)}


def relative_link_target(link: str | Path, target: str | Path) -> str:
    """Path of ``target`` relative to the folder holding ``link``."""
    return os.path.relpath(Path(target), Path(link).parent)


def _unit_token(units: str) -> str:
    """``(mV)^2`` -> ``mV2``, ``(µV)^2`` -> ``uV2``: a unit usable in a column name."""
    inner = units.replace("µ", "u").replace("μ", "u")
    squared = inner.endswith("^2")
    inner = re.sub(r"[^A-Za-z0-9]", "", inner.removesuffix("^2"))
    return inner + ("2" if squared else "")


def summary_row(
    run_id: str, parameters: Mapping[str, Any], summary: Mapping[str, Any]
) -> dict[str, Any]:
    """One row of a sweep's summary table, from a point's ``summary.json``.

    Columns: ``run`` (folder below results/), the swept parameters (by their
    dotted keys), per population ``rate_<pop>_Hz``, ``cv_isi_<pop>`` and
    ``kernel_rate_difference_<pop>`` (relative difference from the rate the
    kernels assumed), for LFP and EEG the frequency resolution
    (``<signal>_frequency_resolution_Hz``), the band powers averaged over
    channels (``<signal>_power_<band>_<unit>``, empty where the band is not
    resolved) and the peak frequency of the channel-averaged spectrum
    (``<signal>_peak_Hz``), and ``warnings``: the summary's warnings joined
    by ``"; "`` (empty when there are none).
    """
    row: dict[str, Any] = {"run": run_id}
    row.update({key: _plain_number(value) for key, value in parameters.items()})
    for name, population in summary["populations"].items():
        row[f"rate_{name}_Hz"] = population["mean_rate_Hz"]
        row[f"cv_isi_{name}"] = population["cv_isi"]
        if "kernel_rate_relative_difference" in population:
            row[f"kernel_rate_difference_{name}"] = population["kernel_rate_relative_difference"]
    for signal in ("LFP", "EEG"):
        spectra = summary["signals"].get(signal)
        if spectra is None:
            continue
        unit = _unit_token(spectra["power_units"])
        row[f"{signal}_frequency_resolution_Hz"] = spectra["frequency_resolution_Hz"]
        for band, powers in spectra.get("band_power", {}).items():
            known = [power for power in powers if power is not None]
            row[f"{signal}_power_{band}_{unit}"] = float(sum(known) / len(known)) if known else None
        row[f"{signal}_peak_Hz"] = spectra["mean_peak_frequency_Hz"]
    row["warnings"] = "; ".join(summary.get("warnings", []))
    return row


def write_summary_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write the sweep table (one row per point) as CSV, atomically."""
    columns: list[str] = []
    for row in rows:
        columns.extend(column for column in row if column not in columns)
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: _csv_value(row.get(column)) for column in columns})


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | Mapping):
        return format_value(value)
    return value


def write_run_config(path: str | Path, config: Mapping[str, Any], *, kernels_dir: str) -> None:
    """Write a run's resolved configuration and link its kernels.

    ``config.yaml`` is a complete configuration (with ``null`` for any key of
    the defaults the run removed): ``snakemake --configfile <it>`` reruns the
    run on its own. Beside it, ``kernels`` becomes a relative
    symbolic link to ``kernels_dir`` (the shared ``results/kernels/<hash>/``),
    so the run folder shows the kernels it used. A real ``kernels`` folder
    (written by an older lfpflow) is left alone.

    Parameters
    ----------
    path : path-like
        ``results/<run>/config.yaml``.
    config : Mapping
        The run's resolved configuration.
    kernels_dir : str
        Folder of the run's kernels, relative to the project root.
    """
    path = Path(path)
    header = (
        "# Resolved configuration of this run (defaults filled in), written by lfpflow.\n"
        f"# Kernels: {kernels_dir}/ (hash of the 'kernels' stage configuration).\n"
    )
    with atomic_path(path) as temporary:
        temporary.write_text(header + yaml.safe_dump(overlay_of(config), sort_keys=False))
    link = path.parent / "kernels"
    if link.exists() and not link.is_symlink():
        return
    staging = path.parent / ".kernels.link.tmp"
    staging.unlink(missing_ok=True)
    staging.symlink_to(relative_link_target(link, kernels_dir), target_is_directory=True)
    os.replace(staging, link)
