"""NWB export (lfpflow.formats.nwb): read back with pynwb, checked with the NWB Inspector.

The inputs are written with lfpflow's own writers (write_spikes, write_signals)
for the tiny configuration; EEG and MEG come from the real head-model matrices.
The slow test runs the Snakemake target ``nwb`` on config/tiny.yaml.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO

from lfpflow import io
from lfpflow.config import stage_config
from lfpflow.formats import nwb_path
from lfpflow.formats.heads import sensor_maps
from lfpflow.formats.nwb import export_nwb
from lfpflow.formats.nwb_signals import NWB_UNITS, nwb_unit
from lfpflow.pointneuron import catalogue
from lfpflow.resolve import load_config
from lfpflow.signals.forward import write_signals
from lfpflow.signals.head_models import SensorMaps, sensor_signals
from lfpflow.signals.spikes import NetworkSpikes, read_spikes, write_spikes

#: signals.h5 name -> (path in the NWB file, NWB unit, conversion).
SERIES = {
    "LFP": ("processing/ecephys/LFP/laminar_LFP", "volts", 1e-3),
    "CSD": ("processing/ecephys/CSD", "A/m^3", 1e9),
    "CDM": ("processing/ecephys/CDM", "A*m", 1e-15),
    "EEG": ("processing/ecephys/EEG", "volts", 1e-6),
    "MEG": ("processing/ecephys/MEG", "T", 1e-15),
}
#: Messages the export must not cause (all but suggestions).
FORBIDDEN = {
    Importance.ERROR,
    Importance.PYNWB_VALIDATION,
    Importance.CRITICAL,
    Importance.BEST_PRACTICE_VIOLATION,
}


def synthetic_spikes(config: dict, rng: np.random.Generator) -> NetworkSpikes:
    """Poisson spikes on the time grid (at most one per neuron and step)."""
    simulation = config["simulation"]
    n_steps = round(simulation["tstop_ms"] / simulation["dt_ms"])
    times, senders, sizes = {}, {}, {}
    for name, population in config["network"]["populations"].items():
        size = population["size"]
        slots = np.unique(rng.integers(0, size * n_steps, size * n_steps // 400))
        step, neuron = np.divmod(slots, size)  # sorted by time, then neuron
        times[name], senders[name], sizes[name] = step * simulation["dt_ms"], neuron, size
    return NetworkSpikes(times, senders, sizes, simulation["tstop_ms"], simulation["dt_ms"], 1)


def synthetic_signals(config: dict, rng: np.random.Generator, sensors: SensorMaps) -> dict:
    """Signals of the tiny run's shapes; EEG and MEG from the CDM as the forward rule does."""
    n = round(config["simulation"]["tstop_ms"] / config["simulation"]["dt_ms"])
    n_contacts = len(config["kernels"]["probes"]["lfp"]["z_um"])
    cdm = rng.normal(scale=1e4, size=(3, n))
    return {
        "t_ms": np.arange(n) * config["simulation"]["dt_ms"],
        "LFP": rng.normal(scale=0.05, size=(n_contacts, n)),
        "CSD": rng.normal(scale=1e-9, size=(n_contacts, n)),
        "CDM": cdm,
        **sensor_signals(cdm, sensors),  # EEG, MEG, their positions, head_attrs
        "contributions": {},
    }


def nest_models(config: dict) -> dict[str, str]:
    """Catalogue name -> NEST model of the models used, as workflow/scripts/nwb.py passes."""
    populations = config["network"]["populations"].values()
    return catalogue.nest_models(population["model"] for population in populations)


def write_inputs(folder: Path, config: dict, seed: int = 0) -> tuple[Path, Path]:
    """spikes.h5 and signals.h5 of a synthetic tiny run, written by lfpflow's writers."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    spikes_path, signals_path = folder / "spikes.h5", folder / "signals.h5"
    write_spikes(spikes_path, synthetic_spikes(config, rng), config=config)
    z_um = np.asarray(config["kernels"]["probes"]["lfp"]["z_um"], dtype=float)
    forward = config["forward"]
    # MEG is in the synthetic signals, so its sensors are described too
    sensors = sensor_maps(forward["head_model"], dict(forward["meg"], enabled=True))
    write_signals(signals_path, synthetic_signals(config, rng, sensors), config=config, z_um=z_um)
    return spikes_path, signals_path


@pytest.fixture(scope="module")
def export_config(_tiny_config) -> dict:
    return stage_config(_tiny_config, "export")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, export_config) -> dict:
    """One export of a synthetic tiny run: paths, configuration and what export_nwb returned."""
    folder = tmp_path_factory.mktemp("nwb")
    spikes_path, signals_path = write_inputs(folder, export_config)
    path = folder / "tiny.nwb"
    written = export_nwb(
        path,
        spikes_path=spikes_path,
        signals_path=signals_path,
        config=export_config,
        run="tiny",
        nest_models=nest_models(export_config),
    )
    return {
        "path": path,
        "spikes": spikes_path,
        "signals": signals_path,
        "config": export_config,
        "written": written,
    }


def assert_matches_inputs(nwb_file: Path, spikes_path: Path, signals_path: Path, config: dict):
    """Every signal, position and spike train of ``nwb_file`` equals its source."""
    signals = io.read_h5(signals_path)
    spikes = read_spikes(spikes_path)
    dt_ms = config["simulation"]["dt_ms"]
    with NWBHDF5IO(nwb_file, mode="r") as nwb_io:
        nwb = nwb_io.read()
        # MEG only where the run computed it (forward.meg.enabled; off by default)
        exported = {name: spec for name, spec in SERIES.items() if name in signals}
        assert ("MEG" in nwb.processing["ecephys"].data_interfaces) == ("MEG" in signals)
        for name, (where, unit, conversion) in exported.items():
            series = _series(nwb, where)
            np.testing.assert_array_equal(series.data[:].T, signals[name])
            assert (series.unit, series.conversion) == (unit, conversion)
            np.testing.assert_allclose(
                series.get_data_in_units().T, signals[name] * conversion, rtol=1e-15, atol=0
            )
            assert series.rate == pytest.approx(1000.0 / dt_ms, rel=1e-15)
            assert series.starting_time == pytest.approx(signals["t_ms"][0] / 1000.0, abs=1e-15)
        electrodes = nwb.electrodes.to_dataframe()
        probe = electrodes[electrodes["group_name"] == "laminar_probe"]
        np.testing.assert_array_equal(probe["rel_z"], signals["z_um"])
        np.testing.assert_array_equal(probe[["rel_x", "rel_y"]], 0.0)
        scalp = electrodes[electrodes["group_name"] == "EEG"]
        np.testing.assert_array_equal(
            scalp[["rel_x", "rel_y", "rel_z"]], signals["attrs"]["eeg_electrodes_um"]
        )
        if "MEG" in signals:
            sensors = nwb.processing["ecephys"]["MEG_sensors"].to_dataframe()
            np.testing.assert_array_equal(
                sensors[["x_um", "y_um", "z_um"]], signals["attrs"]["meg_sensors_um"]
            )
        assert_units_match(nwb.units, spikes, config)


def _series(nwb, where: str):
    """The object at an NWB path below processing/ (``processing/<module>/<name>[/<name>]``)."""
    parts = where.split("/")[1:]
    item = nwb.processing[parts[0]]
    for part in parts[1:]:
        item = item[part]
    return item


def assert_units_match(units, spikes: NetworkSpikes, config: dict) -> None:
    """One row per neuron with its spike train (s), population, model and index."""
    assert len(units) == sum(spikes.population_sizes.values())
    assert units.resolution == spikes.dt_ms / 1000.0
    table = units.to_dataframe()
    row = 0
    for name, size in spikes.population_sizes.items():
        rows = table.iloc[row : row + size]
        assert (rows["population"] == name).all()
        assert (rows["model"] == config["network"]["populations"][name]["model"]).all()
        np.testing.assert_array_equal(rows["index_in_population"], np.arange(size))
        for neuron in range(size):
            own = spikes.times_ms[name][spikes.senders[name] == neuron] / 1000.0
            np.testing.assert_array_equal(rows["spike_times"].iloc[neuron], own)
        row += size
    tstop_s = spikes.tstop_ms / 1000.0
    np.testing.assert_array_equal(np.vstack(table["obs_intervals"]), [[0.0, tstop_s]] * len(table))


def assert_inspector_clean(path: Path) -> None:
    messages = list(inspect_nwbfile(nwbfile_path=path))
    serious = [m for m in messages if m.importance in FORBIDDEN]
    assert not serious, [
        f"{m.importance.name} {m.check_function_name}: {m.message}" for m in serious
    ]


def test_export_reads_back_as_signals_h5_and_spikes_h5(exported):
    assert_matches_inputs(
        exported["path"], exported["spikes"], exported["signals"], exported["config"]
    )


def test_nwbinspector_reports_nothing_critical_and_no_violation(exported):
    assert_inspector_clean(exported["path"])


def test_written_summary_counts_units_spikes_and_samples(exported):
    spikes = read_spikes(exported["spikes"])
    written = exported["written"]
    assert written["n_units"] == 500
    assert written["n_spikes"] == sum(times.size for times in spikes.times_ms.values())
    assert written["n_samples"] == round(500.0 / 0.125)
    assert written["bytes"] == exported["path"].stat().st_size


def test_provenance_and_configuration_are_inside_the_file(exported):
    config = exported["config"]
    with NWBHDF5IO(exported["path"], mode="r") as nwb_io:
        nwb = nwb_io.read()
        assert yaml.safe_load(nwb.notes) == config
        provenance = yaml.safe_load(nwb.data_collection)
        generated_by = {name: version for name, version in nwb.was_generated_by[:]}
        start, identifier = nwb.session_start_time, nwb.identifier
        subject = (nwb.subject.subject_id, nwb.subject.species, nwb.subject.sex, nwb.subject.age)
        session_id = nwb.session_id
    assert provenance["config_sha256"] == io.config_sha256(config)
    assert provenance["seed"] == config["seed"]
    assert provenance["n_vp"] == config["simulation"]["n_vp"]
    assert provenance["versions"]["pynwb"] == generated_by["pynwb"]
    for name, path in (("network/spikes.h5", "spikes"), ("signals.h5", "signals")):
        attrs = io.read_h5(exported[path])["attrs"]
        assert provenance["inputs"][name]["config_sha256"] == attrs["config_sha256"]
    spikes_created = io.read_h5(exported["spikes"])["attrs"]["created_utc"]
    assert start == dt.datetime.fromisoformat(spikes_created)
    assert uuid.UUID(identifier).version == 5
    assert session_id == "tiny"
    assert subject == ("tiny", config["export"]["subject"]["species"], "U", "P0D/")


def test_large_datasets_are_chunked_and_compressed(exported):
    with h5py.File(exported["path"], "r") as h5:
        for where in (*(path for path, _, _ in SERIES.values()), "units/spike_times"):
            dataset = h5[where if where.startswith("units") else f"{where}/data"]
            assert dataset.chunks is not None and dataset.compression == "gzip", where
        assert h5["processing/ecephys/LFP/laminar_LFP/data"].shape[0] > 13  # time first


def test_same_run_exports_byte_identical_files(tmp_path, exported, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    contents = []
    for name in ("first", "second"):
        path = tmp_path / name / "tiny.nwb"
        path.parent.mkdir()
        export_nwb(
            path,
            spikes_path=exported["spikes"],
            signals_path=exported["signals"],
            config=exported["config"],
            run="tiny",
            nest_models=nest_models(exported["config"]),
        )
        contents.append(path.read_bytes())
    assert contents[0] == contents[1]


def test_another_run_gets_another_identifier(tmp_path, exported):
    identifiers = []
    for run in ("tiny", "tiny/seed-1-0123abcd"):
        path = tmp_path / f"{len(identifiers)}.nwb"
        written = export_nwb(
            path,
            spikes_path=exported["spikes"],
            signals_path=exported["signals"],
            config=exported["config"],
            run=run,
            nest_models=nest_models(exported["config"]),
        )
        identifiers.append(written["identifier"])
    assert identifiers[0] == exported["written"]["identifier"]
    assert identifiers[0] != identifiers[1]
    with NWBHDF5IO(tmp_path / "1.nwb", mode="r") as nwb_io:
        assert nwb_io.read().session_id == "tiny_seed-1-0123abcd"  # no '/' (DANDI)


def test_failed_export_leaves_neither_file_nor_temporary(tmp_path, exported):
    config = copy.deepcopy(exported["config"])
    config["simulation"]["dt_ms"] = 0.25  # not the step of the signals' time axis
    path = tmp_path / "tiny.nwb"
    with pytest.raises(ValueError, match="simulation.dt_ms"):
        export_nwb(
            path,
            spikes_path=exported["spikes"],
            signals_path=exported["signals"],
            config=config,
            run="tiny",
            nest_models=nest_models(config),
        )
    assert list(tmp_path.iterdir()) == []


def model_description(path: Path) -> str:
    with h5py.File(path, "r") as h5:
        return str(h5["units/model"].attrs["description"])


def test_model_column_names_the_nest_model_given_by_the_caller(exported):
    names = ", ".join(f"{m}: NEST {n}" for m, n in nest_models(exported["config"]).items())
    assert model_description(exported["path"]) == (
        f"point-neuron model, lfpflow catalogue name ({names})"
    )


def test_export_without_the_nest_model_of_a_population_fails_and_leaves_no_file(tmp_path, exported):
    path = tmp_path / "tiny.nwb"
    with pytest.raises(TypeError, match="nest_models"):  # the caller must name them
        export_nwb(
            path,
            spikes_path=exported["spikes"],
            signals_path=exported["signals"],
            config=exported["config"],
            run="tiny",
        )
    with pytest.raises(ValueError, match="nest_models names no NEST model for lif"):
        export_nwb(
            path,
            spikes_path=exported["spikes"],
            signals_path=exported["signals"],
            config=exported["config"],
            run="tiny",
            nest_models={"hh": "hh_psc_alpha"},
        )
    assert list(tmp_path.iterdir()) == []


def test_unit_table_is_si_and_refuses_unknown_units():
    assert nwb_unit("mV") == ("volts", 1e-3)
    assert nwb_unit("nA*um") == ("A*m", 1e-15)  # 1e-9 A x 1e-6 m
    assert nwb_unit("nA/um^3") == ("A/m^3", 1e9)  # 1e-9 A / 1e-18 m^3
    assert set(NWB_UNITS) >= {"mV", "uV", "fT", "nA*um", "nA/um^3"}
    with pytest.raises(ValueError, match="'mA'"):
        nwb_unit("mA")


def test_nwb_path_names_the_file_after_the_run_folder():
    assert nwb_path("default") == "results/default/default.nwb"
    assert nwb_path("tiny/seed-1-0123abcd") == "results/tiny/seed-1-0123abcd/seed-1-0123abcd.nwb"


@pytest.mark.slow
def test_snakemake_target_nwb_exports_the_tiny_run(tmp_path):
    from test_workflow import make_project, snakemake

    project = make_project(tmp_path / "project")
    result = snakemake(project, "nwb", "--cores", "2", "--configfile", "config/tiny.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    run = project / "results" / "tiny"
    assert (project / "logs" / "tiny" / "nwb_tiny.log").is_file()
    assert (project / "benchmarks" / "tiny" / "nwb_tiny.tsv").is_file()
    export = stage_config(load_config(project / "config" / "tiny.yaml"), "export")
    assert_matches_inputs(
        run / "tiny.nwb", run / "network" / "spikes.h5", run / "signals.h5", export
    )
    assert_inspector_clean(run / "tiny.nwb")
    assert not list(run.glob(".tiny.nwb.*.tmp"))
