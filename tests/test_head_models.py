"""Head models (lfpflow.signals.head_models and the modules it composes: frames,
electrodes, lead_fields, conductors, placement): frames relative to the dipole,
electrodes on the scalp, lead fields and the New York Head route; numpy and LFPykit
only (the MNE montages and forward solutions are tested in test_mne_eeg.py)."""

from __future__ import annotations

import copy

import h5py
import numpy as np
import pytest

from lfpflow.config.schema import resolve_section
from lfpflow.signals import checks, frames, head_models, lead_fields

#: Electrodes spread over the upper half of the head (um, head-model frame; any
#: length: they are projected onto the scalp).
CUSTOM = {
    "Cz": [0.0, 0.0, 1.0],
    "Fz": [0.0, 0.7, 0.7],
    "Pz": [0.0, -0.7, 0.7],
    "C3": [-0.7, 0.0, 0.7],
    "C4": [0.7, 0.0, 0.7],
    "F3": [-0.5, 0.5, 0.7],
    "P4": [0.5, -0.5, 0.7],
    "T7": [-1.0, 0.0, 0.1],
    "O1": [-0.2, -1.0, 0.2],
}


def head(**changes) -> dict:
    """A resolved forward.head_model: the custom montage, with ``changes``."""
    base = {"montage": "custom", "electrode_positions_um": CUSTOM, "electrodes": []}
    return resolve_section("forward", {"head_model": {**base, **changes}})["head_model"]


MEG = resolve_section("forward", {"meg": {"enabled": True}})["meg"]


@pytest.mark.parametrize(
    "radial", [[0, 0, 1], [0, 1, 0], [0, -1, 0], [1, 2, 3], [-0.3, 0.1, -2], [0, 0, -1]]
)
def test_local_frame_is_right_handed_with_e3_radial_and_e2_towards_the_nose(radial):
    frame = frames.local_frame(radial)
    np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(frame), 1.0, atol=1e-12)
    np.testing.assert_allclose(frame[:, 2], np.asarray(radial) / np.linalg.norm(radial))
    if abs(frame[:, 2][1]) < 0.999:  # off the y axis, e_2 leans towards +y (the nose)
        assert frame[1, 1] > 0


def test_under_the_vertex_the_local_frame_is_the_head_frame():
    np.testing.assert_allclose(frames.local_frame([0, 0, 5]), np.eye(3), atol=1e-15)


@pytest.mark.parametrize("electrode", list(CUSTOM))
def test_moving_the_column_keeps_radial_radial_and_meg_silent(electrode):
    """The axis is relative to the dipole: radial under every electrode (issue 12)."""
    maps = head_models.sensor_maps(head(column_position=electrode), MEG)
    geometry = maps.geometry
    direction = geometry.dipole_um / np.linalg.norm(geometry.dipole_um)
    np.testing.assert_allclose(geometry.column_axis, direction, atol=1e-12)
    np.testing.assert_allclose(geometry.radial, direction, atol=1e-12)
    # under the electrode, column_depth_um below the brain surface
    electrode_um = geometry.electrodes.positions_um[geometry.electrodes.names.index(electrode)]
    np.testing.assert_allclose(direction, electrode_um / np.linalg.norm(electrode_um))
    np.testing.assert_allclose(np.linalg.norm(geometry.dipole_um), 79000.0 - 1000.0)
    # a radial dipole has no field outside a spherically symmetric head
    column_cdm = np.array([0.0, 0.0, 1e5])  # nA um along the column axis
    np.testing.assert_allclose(maps.matrices["MEG"] @ column_cdm, 0.0, atol=1e-12)
    assert geometry.column_electrode == electrode


@pytest.mark.parametrize("electrode", ["Cz", "C3", "O1", "T7"])
def test_tangential_column_is_tangential_wherever_it_is_and_the_meg_sees_it(electrode):
    maps = head_models.sensor_maps(head(column_position=electrode, column_axis="tangential"), MEG)
    geometry = maps.geometry
    assert abs(geometry.column_axis @ geometry.radial) < 1e-12
    assert geometry.column_axis[1] > 0  # towards the nose
    assert np.abs(maps.matrices["MEG"] @ [0.0, 0.0, 1e5]).max() > 0.1  # fT


def test_an_explicit_axis_is_taken_in_the_local_frame():
    position = [30000.0, -20000.0, 60000.0]
    geometry = head_models.head_geometry(head(column_position=position, column_axis=[1, 1, 1]))
    frame = frames.local_frame(position)
    np.testing.assert_allclose(geometry.column_axis, frame @ np.ones(3) / np.sqrt(3), atol=1e-12)
    np.testing.assert_allclose(geometry.dipole_um, position)


def test_custom_electrodes_are_on_the_scalp_along_their_directions():
    geometry = head_models.head_geometry(head())
    positions = geometry.electrodes.positions_um
    np.testing.assert_allclose(np.linalg.norm(positions, axis=1), 90000.0, rtol=2e-6)
    for name, direction in CUSTOM.items():
        position = positions[geometry.electrodes.names.index(name)]
        np.testing.assert_allclose(
            position / np.linalg.norm(position), direction / np.linalg.norm(direction)
        )


def test_polar_electrodes_follow_the_dipole():
    """Angle 0 is the scalp point above the dipole, wherever the dipole is."""
    position = np.array([40000.0, 30000.0, 50000.0])
    config = head(montage="polar", column_position=position.tolist())
    geometry = head_models.head_geometry(config)
    radial = position / np.linalg.norm(position)
    positions = geometry.electrodes.positions_um
    angles = np.degrees(np.arccos(positions @ radial / np.linalg.norm(positions, axis=1)))
    np.testing.assert_allclose(angles, config["electrode_polar_angles_deg"], atol=1e-6)
    assert geometry.electrodes.names[:2] == ("P0", "P10")


def test_eeg_is_the_lfpykit_four_sphere_potential_of_the_rotated_cdm():
    from lfpykit.eegmegcalc import FourSphereVolumeConductor

    config = head(column_position="C3", column_axis=[0.3, -0.5, 1.0])
    maps = head_models.sensor_maps(config)
    geometry = maps.geometry
    cdm = np.random.default_rng(4).normal(scale=1e4, size=(3, 50))
    reference = FourSphereVolumeConductor(
        geometry.electrodes.positions_um, radii=config["radii_um"], sigmas=config["sigmas_S_per_m"]
    )
    expected = 1e3 * reference.get_dipole_potential(geometry.rotation @ cdm, geometry.dipole_um)
    np.testing.assert_allclose(maps.matrices["EEG"] @ cdm, expected, rtol=1e-10)


def test_electrodes_are_selected_by_name_in_the_given_order():
    geometry = head_models.head_geometry(head(electrodes=["Pz", "Cz", "T7"]))
    assert geometry.electrodes.names == ("Pz", "Cz", "T7")
    with pytest.raises(ValueError, match=r"'Xy' not in .*allowed values: Cz, Fz"):
        head_models.head_geometry(head(electrodes=["Cz", "Xy"]))
    with pytest.raises(ValueError, match="column_position.*'Oz' is not an electrode"):
        head_models.head_geometry(head(column_position="Oz"))


def four_sphere_lead_field(config: dict, sources_um: np.ndarray) -> dict:
    """Arrays of a lead-field file whose gain is the four-sphere model's (SI units)."""
    from lfpykit.eegmegcalc import FourSphereVolumeConductor

    geometry = head_models.head_geometry(config)
    electrodes = geometry.electrodes
    model = FourSphereVolumeConductor(
        electrodes.positions_um, radii=config["radii_um"], sigmas=config["sigmas_S_per_m"]
    )
    gain_mV = np.stack([model.get_transformation_matrix(source) for source in sources_um], 1)
    return {
        # mV per nA um -> uV per nA um -> V per A m
        "gain_V_per_Am": 1e3 * gain_mV / lead_fields.UV_PER_NAUM_PER_V_PER_AM,
        "electrode_names": np.array(electrodes.names),
        "electrode_positions_m": 1e-6 * electrodes.positions_um,
        "source_positions_m": 1e-6 * sources_um,
        "source_normals": sources_um / np.linalg.norm(sources_um, axis=1, keepdims=True),
    }


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
@pytest.mark.parametrize("axis", ["radial", "tangential", [0.2, -0.4, 1.0], "normal"])
def test_lead_field_with_the_four_sphere_gain_reproduces_the_four_sphere_route(
    tmp_path, suffix, axis
):
    sphere = head(column_position="C3", column_axis=axis)
    dipole = head_models.head_geometry(sphere).dipole_um
    rng = np.random.default_rng(5)
    others = rng.normal(size=(6, 3))
    others = 70000.0 * others / np.linalg.norm(others, axis=1, keepdims=True)
    sources = np.vstack([others[:3], dipole, others[3:]])
    arrays = four_sphere_lead_field(sphere, sources)
    path = tmp_path / f"gain{suffix}"
    if suffix == ".npz":
        np.savez(path, **arrays)
    else:
        with h5py.File(path, "w") as h5:
            for key, value in arrays.items():
                h5[key] = value.astype("S") if key == "electrode_names" else value
    lead = copy.deepcopy(sphere)
    lead.update(type="lead_field", lead_field_file=str(path))
    cdm = rng.normal(scale=1e4, size=(3, 40))
    expected = head_models.sensor_signals(cdm, sphere)
    got = head_models.sensor_signals(cdm, lead)
    assert got["head_attrs"]["column_placement"].startswith("source 3 of lead field")
    np.testing.assert_allclose(got["EEG"], expected["EEG"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["electrodes_um"], expected["electrodes_um"], rtol=1e-12)


def test_a_lead_field_file_with_wrong_shapes_is_refused(tmp_path):
    sphere = head()
    arrays = four_sphere_lead_field(sphere, np.array([[0.0, 0.0, 78000.0]]))
    arrays["electrode_positions_m"] = arrays["electrode_positions_m"][:-1]
    np.savez(tmp_path / "gain.npz", **arrays)
    with pytest.raises(ValueError, match="electrode positions of shape"):
        lead_fields.read_lead_field(tmp_path / "gain.npz")
    del arrays["source_positions_m"]
    np.savez(tmp_path / "gain.npz", **arrays)
    with pytest.raises(ValueError, match="lacks source_positions_m"):
        lead_fields.read_lead_field(tmp_path / "gain.npz")


def test_missing_lead_field_and_nyhead_files_name_the_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="lead_field_file.*does not exist") as excinfo:
        lead_fields.read_lead_field(tmp_path / "absent-fwd.fif")
    # the configuration check's message, word for word
    assert str(excinfo.value) == checks.lead_field_file_problems(tmp_path / "absent-fwd.fif")[0]
    (tmp_path / "gain.mat").write_bytes(b"")
    with pytest.raises(ValueError) as excinfo:
        lead_fields.read_lead_field(tmp_path / "gain.mat")
    assert [str(excinfo.value)] == checks.lead_field_file_problems(tmp_path / "gain.mat")
    missing = tmp_path / "sa_nyhead.mat"
    with pytest.raises(FileNotFoundError) as excinfo:
        head_models.head_geometry(head(type="nyhead", nyhead_file=str(missing)))
    message = str(excinfo.value)
    assert str(missing) in message and checks.NYHEAD_URL in message
    assert not missing.exists()  # never downloaded


def write_small_nyhead(path, rng: np.random.Generator) -> dict:
    """A file with the layout of sa_nyhead.mat (MATLAB v7.3, as LFPykit reads it).

    Fifty cortex vertices (mm) and twelve electrodes on a sphere, a random lead
    field V_fem (V per mA m, MATLAB's dimensions reversed by HDF5) and the
    electrode labels as a cell array of char arrays.
    """
    names = ["Fpz", "Oz", "T7", "T8", "Cz", "C3", "C4", "Pz", "Fz", "P3", "P4", "F3"]
    directions = rng.normal(size=(len(names), 3))
    directions[:, 2] = np.abs(directions[:, 2])
    electrodes_mm = 95.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    cortex_mm = rng.normal(size=(50, 3))
    cortex_mm = 70.0 * cortex_mm / np.linalg.norm(cortex_mm, axis=1, keepdims=True)
    normals = rng.normal(size=(50, 3))
    v_fem = rng.normal(size=(3, 50, len(names)))
    with h5py.File(path, "w") as h5:
        sa = h5.create_group("sa")
        cortex = sa.create_group("cortex75K")
        cortex["vc"] = cortex_mm.T
        cortex["V_fem"] = v_fem
        cortex["V_fem_normal"] = rng.normal(size=(50, len(names)))
        cortex["normals"] = normals.T
        sa["locs_3D"] = np.vstack([electrodes_mm.T, electrodes_mm.T])  # positions, normals
        strings = h5.create_group("#refs#")
        references = []
        for number, name in enumerate(names):
            strings[f"s{number}"] = np.array([[ord(c)] for c in name], dtype=np.uint16)
            references.append(strings[f"s{number}"].ref)
        sa.create_dataset("clab_electrodes", data=np.array([references]).T, dtype=h5py.ref_dtype)
    return {"names": names, "cortex_mm": cortex_mm, "v_fem": v_fem, "normals": normals}


def test_nyhead_route_takes_the_nearest_vertex_and_lfpykits_gain(tmp_path):
    """On a small file of sa_nyhead.mat's layout: LFPykit's gain (mV per nA um) in uV."""
    content = write_small_nyhead(tmp_path / "sa_nyhead.mat", np.random.default_rng(8))
    vertex = 17
    config = head(
        type="nyhead",
        nyhead_file=str(tmp_path / "sa_nyhead.mat"),
        electrodes=["Cz", "T7", "Oz"],
        column_position=(1e3 * content["cortex_mm"][vertex] + 10.0).tolist(),
        column_axis="normal",
    )
    geometry = head_models.head_geometry(config)
    assert lead_fields.nyhead_electrode_names(config["nyhead_file"]) == tuple(content["names"])
    np.testing.assert_allclose(geometry.dipole_um, 1e3 * content["cortex_mm"][vertex])
    rows = [content["names"].index(name) for name in ("Cz", "T7", "Oz")]
    # LFPykit: V_fem[:, vertex, :].T * 1e-9 mV per nA um
    expected_uV = 1e3 * 1e-9 * content["v_fem"][:, vertex, :].T[rows]
    np.testing.assert_allclose(geometry.eeg_matrix_uV, expected_uV, rtol=1e-12)
    normal = content["normals"][vertex] / np.linalg.norm(content["normals"][vertex])
    np.testing.assert_allclose(geometry.column_axis, normal, atol=1e-12)
    assert "0.0 mm away" in geometry.placement
