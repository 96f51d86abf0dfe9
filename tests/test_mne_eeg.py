"""EEG as MNE files (lfpflow.formats.mne_eeg): montages on the scalp, the Raw .fif
round trip, EDF/BrainVision exports, an MNE sphere-model forward solution against
the four-sphere route, and configuration errors named before anything runs."""

from __future__ import annotations

import copy
import dataclasses

import mne
import numpy as np
import pytest
from mne.io.constants import FIFF

from lfpflow import io
from lfpflow.config import ConfigError
from lfpflow.formats import heads, mne_eeg
from lfpflow.resolve import resolve_config
from lfpflow.signals import head_models
from lfpflow.signals.electrodes import montage_electrodes
from lfpflow.signals.forward import compute_signals, write_signals

mne.set_log_level("ERROR")

#: Bin width of the synthetic run (ms): 8 kHz.
DT = 0.125


def synthetic_signals(config: dict, rng: np.random.Generator, n: int = 2400) -> dict:
    """compute_signals on Poisson rates and random kernels, the forward rule's path."""
    lags = (np.arange(81) - 40) * DT
    kernels = {
        (post, pre): {
            "LFP": rng.normal(size=(3, lags.size)),
            "CDM": rng.normal(size=(3, lags.size)) * [[0.1], [0.1], [10.0]],
            "lags_ms": lags,
        }
        for post in ("E", "I")
        for pre in ("E", "I")
    }
    rates = {name: rng.poisson(2.0, n).astype(float) for name in ("E", "I")}
    forward = config["forward"]
    maps = heads.sensor_maps(forward["head_model"], forward["meg"])  # MNE reads the montage
    return compute_signals(np.arange(n) * DT, rates, kernels, maps, dt_ms=DT)


@pytest.fixture
def run_files(tiny_config, tmp_path):
    """signals.h5 and <run>_raw.fif of the tiny configuration (default head), MEG on."""

    def make(meg: bool = False, **head_changes):
        config = copy.deepcopy(tiny_config)
        config["forward"]["head_model"].update(head_changes)
        config["forward"]["meg"]["enabled"] = meg
        signals_path = tmp_path / "signals.h5"
        signals = synthetic_signals(config, np.random.default_rng(3))
        write_signals(signals_path, signals, config=config, z_um=np.array([0.0, 100.0, 200.0]))
        fif = tmp_path / "eeg" / "tiny_raw.fif"
        written = mne_eeg.write_raw_fif(fif, signals_path, transient_ms=100.0, run="tiny")
        return io.read_h5(signals_path), fif, written

    return make


def test_montage_electrodes_lie_on_the_scalp_along_mnes_directions():
    names, positions_m, fiducials = mne_eeg.montage_positions("standard_1020")
    assert {"Cz", "Fp1", "O2", "T7"} <= set(names) and set(fiducials) == {"nasion", "lpa", "rpa"}
    electrodes = montage_electrodes(heads.read_montage("standard_1020"), 90000.0)
    np.testing.assert_allclose(np.linalg.norm(electrodes.positions_um, axis=1), 90000.0, rtol=2e-6)
    # each electrode moved along the ray from the fitted centre: same direction
    from_centre = 1e6 * positions_m - electrodes.head_offset_um
    np.testing.assert_allclose(
        electrodes.positions_um / np.linalg.norm(electrodes.positions_um, axis=1, keepdims=True),
        from_centre / np.linalg.norm(from_centre, axis=1, keepdims=True),
        atol=1e-12,
    )
    # the centre lies inside the head, about 4 cm above the ears' line (MNE's head frame)
    assert 20000 < electrodes.head_offset_um[2] < 60000


def test_default_column_is_radial_under_cz_and_moving_it_keeps_it_radial(default_config):
    head = default_config["forward"]["head_model"]
    assert (head["type"], head["montage"], head["column_position"]) == (
        "four_sphere",
        "standard_1020",
        "Cz",
    )
    for electrode in ("Cz", "O1", "T8", "Fp2"):
        geometry = heads.sensor_maps(dict(head, column_position=electrode)).geometry
        np.testing.assert_allclose(
            geometry.column_axis, geometry.dipole_um / np.linalg.norm(geometry.dipole_um)
        )
        assert geometry.column_electrode == electrode
    assert default_config["forward"]["meg"]["enabled"] is False


def test_raw_fif_round_trip_gives_the_eeg_in_volts_and_the_montage(run_files):
    signals, fif, written = run_files()
    raw = mne.io.read_raw_fif(fif, preload=True)
    attrs = signals["attrs"]
    names = mne_eeg._names(attrs, "eeg_electrode_names")
    assert raw.ch_names == names and written["n_eeg"] == len(names) == 19
    assert raw.info["sfreq"] == 1000.0 / DT
    np.testing.assert_array_equal(raw.get_data(), signals["EEG"] * 1e-6)  # uV -> V, exactly
    assert {channel["unit"] for channel in raw.info["chs"]} == {FIFF.FIFF_UNIT_V}
    positions = raw.get_montage().get_positions()
    offset = np.asarray(attrs["head_offset_um"])
    expected_m = 1e-6 * (np.asarray(attrs["eeg_electrodes_um"]) + offset)
    np.testing.assert_allclose([positions["ch_pos"][n] for n in names], expected_m, atol=1e-12)
    assert positions["coord_frame"] == "head" and positions["nasion"] is not None
    assert list(raw.annotations.description) == ["BAD_transient"]
    assert raw.annotations.duration[0] == pytest.approx(0.1)
    assert "under Cz" in raw.info["description"]
    figure = raw.plot_sensors(show=False)  # MNE draws the montage
    assert figure.axes
    figure.clf()


def test_meg_is_written_on_radial_point_magnetometers_in_tesla(run_files):
    signals, fif, written = run_files(meg=True, column_position="C3", column_axis="tangential")
    raw = mne.io.read_raw_fif(fif, preload=True)
    assert written["n_meg"] == 19
    meg = raw.copy().pick("mag")
    np.testing.assert_array_equal(meg.get_data(), signals["MEG"] * 1e-15)  # fT -> T
    assert np.abs(signals["MEG"]).max() > 0  # a tangential column: the MEG sees it
    offset = np.asarray(signals["attrs"]["head_offset_um"])
    sensors_um = np.asarray(signals["attrs"]["meg_sensors_um"])
    for channel, sensor in zip(meg.info["chs"], sensors_um, strict=True):
        assert channel["coil_type"] == FIFF.FIFFV_COIL_POINT_MAGNETOMETER
        assert channel["unit"] == FIFF.FIFF_UNIT_T
        # loc is float32 in MNE; the normal is radial from the spheres' centre
        np.testing.assert_allclose(channel["loc"][:3], 1e-6 * (sensor + offset), atol=1e-8)
        np.testing.assert_allclose(channel["loc"][9:12], sensor / np.linalg.norm(sensor), atol=1e-7)
    np.testing.assert_array_equal(raw.info["dev_head_t"]["trans"], np.eye(4))


@pytest.mark.parametrize("suffix, package", [(".edf", "edfio"), (".vhdr", "pybv")])
def test_exports_read_back_with_mne(run_files, suffix, package):
    pytest.importorskip(package)
    signals, fif, _ = run_files()
    written = mne_eeg.export_eeg(fif, fif.parent / f"tiny{suffix}")
    assert [path.suffix for path in written][-1] == suffix
    reader = mne.io.read_raw_edf if suffix == ".edf" else mne.io.read_raw_brainvision
    raw = reader(written[-1], preload=True)
    eeg_V = signals["EEG"] * 1e-6
    # EDF pads to whole 1 s records; 16-bit samples (EDF) or float32 (BrainVision)
    error = np.abs(raw.get_data()[:, : eeg_V.shape[1]] - eeg_V).max() / np.abs(eeg_V).max()
    assert error < (1e-4 if suffix == ".edf" else 1e-6)
    assert any("BAD_transient" in text for text in raw.annotations.description)
    assert not list(fif.parent.glob(".*.tmp"))  # staging folders removed


def sphere_forward(head: dict, geometry: head_models.HeadGeometry, path) -> None:
    """MNE's forward solution of the four spheres, one source at the column's dipole.

    make_sphere_model with the same radii and conductivities (m, S/m; brain,
    CSF, skull, scalp from the inside), centred where the four-sphere head is in
    MNE's head frame; a discrete (volume) source space of one point; the
    electrodes at the four-sphere route's positions. Free orientation.
    """
    offset_m = 1e-6 * geometry.electrodes.head_offset_um
    radii = np.asarray(head["radii_um"]) * 1e-6
    info = mne.create_info(list(geometry.electrodes.names), 1000.0, "eeg")
    positions = 1e-6 * geometry.electrodes.positions_um + offset_m
    montage = mne.channels.make_dig_montage(
        ch_pos=dict(zip(geometry.electrodes.names, positions, strict=True)), coord_frame="head"
    )
    info.set_montage(montage)
    sphere = mne.make_sphere_model(
        r0=offset_m,
        head_radius=radii[-1],
        relative_radii=radii / radii[-1],
        sigmas=head["sigmas_S_per_m"],
    )
    source = mne.setup_volume_source_space(
        pos={"rr": (1e-6 * geometry.dipole_um + offset_m)[None], "nn": geometry.radial[None]},
        sphere=sphere,
        mindist=0.0,
    )
    forward = mne.make_forward_solution(info, trans=None, src=source, bem=sphere, meg=False)
    mne.write_forward_solution(path, forward, overwrite=True)


def average_reference(values: np.ndarray) -> np.ndarray:
    return values - values.mean(axis=0, keepdims=True)


@pytest.mark.parametrize("axis", ["radial", "tangential", [1.0, 0.0, 0.0]])
def test_mne_sphere_forward_agrees_with_the_four_sphere_route(default_config, tmp_path, axis):
    """The lead-field route on MNE's forward of the same spheres: 0.4-0.7 % apart.

    MNE approximates the multilayer sphere by fitted dipoles in a homogeneous
    sphere (Berg and Scherg 1994); LFPykit sums the four-sphere series. Both
    are relative to infinity; compared after the average reference.
    """
    head = dict(default_config["forward"]["head_model"], column_axis=axis)
    geometry = heads.sensor_maps(head).geometry
    sphere_forward(head, geometry, tmp_path / "sphere-fwd.fif")
    lead = dict(head, type="lead_field", lead_field_file=str(tmp_path / "sphere-fwd.fif"))
    # a column's CDM: mostly along its axis (nA um, column coordinates)
    cdm = np.random.default_rng(9).normal(scale=1e4, size=(3, 200)) * [[0.1], [0.1], [1.0]]
    four_sphere = head_models.sensor_signals(cdm, heads.sensor_maps(head))
    lead_field = head_models.sensor_signals(cdm, heads.sensor_maps(lead))
    # the forward's head frame is MNE's: the four-sphere frame shifted by head_offset_um
    np.testing.assert_allclose(
        lead_field["electrodes_um"],
        four_sphere["electrodes_um"] + geometry.electrodes.head_offset_um,
        atol=0.1,  # um: MNE stores positions as float32
    )
    expected = average_reference(four_sphere["EEG"])
    difference = average_reference(lead_field["EEG"]) - expected
    relative = np.linalg.norm(difference) / np.linalg.norm(expected)
    print(f"\nMNE sphere forward vs four-sphere ({axis}), average reference: {relative:.2%}")
    assert relative < 0.015
    # without a reference too: MNE's EEG gain is relative to infinity as well
    raw_difference = lead_field["EEG"] - four_sphere["EEG"]
    assert np.linalg.norm(raw_difference) / np.linalg.norm(four_sphere["EEG"]) < 0.015


BAD_HEAD_MODELS = [
    ({"montage": "standard_1030"}, ["forward.head_model", "standard_1030", "standard_1005"]),
    ({"electrodes": ["Cz", "Xz"]}, ["forward.head_model.electrodes", "'Xz'", "allowed"]),
    ({"column_position": "Qq"}, ["forward.head_model.column_position", "'Qq'", "allowed"]),
    ({"column_axis": "oblique"}, ["forward.head_model.column_axis", "radial, tangential"]),
    ({"column_position": [0.0, 0.0, 95000.0]}, ["column_position", "outside the brain"]),
    ({"type": "lead_field"}, ["forward.head_model.lead_field_file", "required"]),
    (
        {"type": "lead_field", "lead_field_file": "absent/head-fwd.fif"},
        ["forward.head_model.lead_field_file", "absent/head-fwd.fif", "does not exist"],
    ),
    (
        {"type": "nyhead", "nyhead_file": "absent/sa_nyhead.mat"},
        ["forward.head_model.nyhead_file", "absent/sa_nyhead.mat", "parralab.org"],
    ),
    ({"montage": "polar"}, ["column_position", "polar", "[x, y, z]"]),
]


@pytest.mark.parametrize("changes, words", BAD_HEAD_MODELS)
def test_bad_head_model_is_refused_before_anything_runs(tiny_config, changes, words):
    tiny_config["forward"]["head_model"].update(changes)
    with pytest.raises(ConfigError) as excinfo:
        resolve_config(tiny_config)
    for word in words:
        assert word in str(excinfo.value), (word, str(excinfo.value))


@pytest.mark.parametrize("changes, words", BAD_HEAD_MODELS)
def test_the_forward_checks_of_signals_and_formats_name_the_bad_head_model(
    tiny_config, changes, words
):
    """lfpflow.signals.checks (no file reader) then lfpflow.formats.checks (MNE, h5py)."""
    from lfpflow.formats.checks import check_eeg_export
    from lfpflow.signals.checks import check_forward

    assert check_forward(tiny_config) + check_eeg_export(tiny_config) == []
    tiny_config["forward"]["head_model"].update(changes)
    message = "\n".join(check_forward(tiny_config) + check_eeg_export(tiny_config))
    for word in words:
        assert word in message, (word, message)


def test_the_head_model_code_applies_the_checks_rules(default_config):
    """Column outside the brain, unknown axis, MEG without spheres: the checks' messages."""
    from lfpflow.signals import checks

    head = default_config["forward"]["head_model"]
    outside = dict(head, column_position=[0.0, 0.0, 95000.0])
    with pytest.raises(ValueError) as excinfo:
        heads.sensor_maps(outside)
    assert str(excinfo.value) == checks.column_problems(outside)[0]
    oblique = dict(head, column_axis="oblique")
    with pytest.raises(ValueError) as excinfo:
        heads.sensor_maps(oblique)
    assert str(excinfo.value) == checks.column_problems(oblique)[0]
    polar = dict(head, montage="polar")
    with pytest.raises(ValueError) as excinfo:
        heads.sensor_maps(polar)
    assert str(excinfo.value) == checks.polar_position_problem(polar)
    geometry = heads.sensor_maps(head).geometry
    nyhead = dataclasses.replace(geometry, model="nyhead")
    with pytest.raises(ValueError) as excinfo:
        head_models.meg_sensors(nyhead, default_config["forward"]["meg"])
    assert str(excinfo.value) == checks.meg_head_problem("nyhead")


def test_the_eeg_file_names_come_from_one_place():
    from lfpflow.formats.eeg_files import eeg_file_pattern, eeg_paths, run_stem

    assert run_stem("sweep/a-1f2e") == "a-1f2e"
    assert eeg_paths("sweep/a-1f2e", ["edf", "brainvision"]) == [
        "results/sweep/a-1f2e/eeg/a-1f2e_raw.fif",
        "results/sweep/a-1f2e/eeg/a-1f2e.edf",
        "results/sweep/a-1f2e/eeg/a-1f2e.vhdr",
    ]
    assert eeg_file_pattern(".edf") == "results/{run}/eeg/{stem}.edf"
    assert mne_eeg.EXPORT_FORMATS == {".edf": ("edf", "edfio"), ".vhdr": ("brainvision", "pybv")}


def test_meg_needs_the_spherical_head(tiny_config, tmp_path):
    tiny_config["forward"]["meg"]["enabled"] = True
    tiny_config["forward"]["head_model"].update(type="nyhead", nyhead_file=str(tmp_path / "x"))
    with pytest.raises(ConfigError, match="forward.meg.enabled.*four_sphere"):
        resolve_config(tiny_config)


def test_topomap_figure_draws_eeg_and_meg_maps(run_files, tiny_config):
    from lfpflow.figures.signals import topomap_figure

    signals, _, _ = run_files(meg=True, column_position="C3", column_axis="tangential")
    analysis = tiny_config["analysis"]
    figure = topomap_figure(
        signals,
        mne_eeg.raw_from_signals(signals).info,
        dt_ms=DT,
        t_start_ms=100.0,
        nperseg=256,
        fmax_Hz=analysis["psd_fmax_Hz"],
    )
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert len(titles) == 4 and titles[0].startswith("EEG at t =") and "MEG PSD" in titles[3]
    figure.clf()
