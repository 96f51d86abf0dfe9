"""Forward step: FFT convolution against the direct sum, linearity, EEG and MEG of a column."""

from __future__ import annotations

import numpy as np
import pytest

from lfpflow.config.schema import resolve_section
from lfpflow.signals import frames, head_models
from lfpflow.signals.forward import (
    compute_signals,
    convolve_rate,
    predict_contributions,
    predict_signal,
)

#: Bin width of the test rates (ms); the kernels' lags are multiples of it.
DT = 0.0625


def step(kernels, dt_ms=DT):
    """``dt_ms`` and ``lags_ms`` keywords matching the kernels' number of lags."""
    n_lags = np.asarray(next(iter(kernels.values()))).shape[-1] if kernels else 1
    return {"dt_ms": dt_ms, "lags_ms": (np.arange(n_lags) - n_lags // 2) * dt_ms}


def direct_prediction(rates, kernels):
    """The definition: sum over pathways of np.convolve, aligned at lag 0."""
    total = None
    for (_post, pre), kernel in kernels.items():
        half = kernel.shape[1] // 2
        length = rates[pre].size
        part = np.array([np.convolve(rates[pre], row)[half : half + length] for row in kernel])
        total = part if total is None else total + part
    return total


@pytest.fixture
def random_rates_and_kernels():
    rng = np.random.default_rng(7)
    rates = {"E": rng.poisson(3.0, 4000).astype(float), "I": rng.poisson(1.0, 4000).astype(float)}
    kernels = {(post, pre): rng.normal(size=(5, 201)) for post in ("E", "I") for pre in ("E", "I")}
    return rates, kernels


def test_impulse_response_is_the_kernel_at_lag_zero():
    kernel = np.arange(1.0, 3 * 11 + 1).reshape(3, 11)  # 5 lags each side
    rate = np.zeros(50)
    rate[20] = 1.0
    out = predict_signal({"E": rate}, {("E", "E"): kernel}, **step({("E", "E"): kernel}))
    # lag 0 (column 5) lands on the spike's bin; lag k on bin 20 + k
    np.testing.assert_array_equal(out.shape, (3, 50))
    np.testing.assert_allclose(out[:, 15:26], kernel, atol=1e-12)
    np.testing.assert_allclose(out[:, :15], 0.0, atol=1e-12)
    np.testing.assert_allclose(out[:, 26:], 0.0, atol=1e-12)


def test_impulse_near_edges_is_truncated_not_wrapped():
    kernel = np.ones((1, 7))
    rate = np.zeros(10)
    rate[0] = 1.0
    out = predict_signal({"E": rate}, {("E", "E"): kernel}, **step({("E", "E"): kernel}))
    np.testing.assert_allclose(out[0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], atol=1e-12)


def test_equals_direct_sum_of_np_convolve(random_rates_and_kernels):
    rates, kernels = random_rates_and_kernels
    expected = direct_prediction(rates, kernels)
    got = predict_signal(rates, kernels, **step(kernels))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_linearity_in_rates_and_kernels(random_rates_and_kernels):
    rates, kernels = random_rates_and_kernels
    base = predict_signal(rates, kernels, **step(kernels))
    scaled_rates = {name: 2.5 * r for name, r in rates.items()}
    np.testing.assert_allclose(
        predict_signal(scaled_rates, kernels, **step(kernels)), 2.5 * base, atol=1e-9
    )
    other = {k: np.roll(v, 3, axis=1) for k, v in kernels.items()}
    summed = {k: kernels[k] - 0.5 * other[k] for k in kernels}
    np.testing.assert_allclose(
        predict_signal(rates, summed, **step(summed)),
        base - 0.5 * predict_signal(rates, other, **step(other)),
        atol=1e-9 * np.abs(base).max(),
    )


def test_contributions_sum_to_total(random_rates_and_kernels):
    rates, kernels = random_rates_and_kernels
    parts = predict_contributions(rates, kernels, **step(kernels))
    np.testing.assert_allclose(
        sum(parts.values()), predict_signal(rates, kernels, **step(kernels)), atol=1e-9
    )


def test_single_pathway_equals_convolve_rate(random_rates_and_kernels):
    rates, kernels = random_rates_and_kernels
    np.testing.assert_allclose(
        predict_signal(
            rates, {("I", "E"): kernels[("I", "E")]}, **step({("I", "E"): kernels[("I", "E")]})
        ),
        convolve_rate(rates["E"], kernels[("I", "E")]),
    )


@pytest.mark.parametrize(
    "kernels, message",
    [
        ({("E", "E"): np.ones((2, 10))}, "odd number of lags"),
        ({("E", "E"): np.ones(11)}, "2-D"),
        ({("E", "X"): np.ones((2, 11))}, "needs the rate of 'X'"),
        ({}, "empty"),
    ],
)
def test_bad_kernels_are_rejected(kernels, message):
    with pytest.raises(ValueError, match=message):
        predict_signal({"E": np.ones(20)}, kernels, **step(kernels))


#: A radial column under the vertex seen by electrodes on a line (montage polar):
#: the local frame there is the head frame, so e_1 is x and the line the x-z plane.
FORWARD = resolve_section(
    "forward",
    {
        "head_model": {
            "montage": "polar",
            "column_position": [0.0, 0.0, 78000.0],
            "electrode_polar_angles_deg": [0.0, 15.0, 30.0, 60.0, 90.0],
        },
        "meg": {"enabled": True},
    },
)
HEAD, MEG = FORWARD["head_model"], FORWARD["meg"]
DIPOLE = np.array(HEAD["column_position"])


def eeg_from_cdm(cdm, head):
    """EEG (uV) and electrode positions (um) of a column CDM."""
    signals = head_models.sensor_signals(cdm, head)
    return signals["EEG"], signals["electrodes_um"]


def test_eeg_equals_lfpy_four_sphere_on_the_same_cdm():
    import LFPy

    rng = np.random.default_rng(3)
    cdm = rng.normal(scale=1e4, size=(3, 200))
    eeg_uV, electrodes = eeg_from_cdm(cdm, HEAD)
    reference = LFPy.FourSphereVolumeConductor(
        electrodes, radii=HEAD["radii_um"], sigmas=HEAD["sigmas_S_per_m"]
    )
    expected_mV = reference.get_dipole_potential(cdm, DIPOLE)
    np.testing.assert_allclose(eeg_uV, 1e3 * expected_mV, rtol=1e-10, atol=0)


def test_eeg_of_radial_dipole_is_symmetric_and_largest_at_vertex():
    cdm = np.zeros((3, 1))
    cdm[2] = 1e5  # radial dipole (nA um) under the vertex
    eeg, _ = eeg_from_cdm(cdm, HEAD)
    assert eeg[0, 0] > 0
    assert np.all(np.diff(eeg[:, 0]) < 0), "potential must fall off with polar angle"
    # a y-directed dipole is tangential and perpendicular to the electrodes' x-z plane
    cdm_y = np.zeros((3, 1))
    cdm_y[1] = 1e5
    eeg_y, _ = eeg_from_cdm(cdm_y, HEAD)
    np.testing.assert_allclose(eeg_y, 0.0, atol=1e-12 * abs(eeg[0, 0]))


def test_compute_signals_eeg_is_linear_map_of_total_cdm(random_rates_and_kernels):
    rates, kernels = random_rates_and_kernels
    rng = np.random.default_rng(11)
    lags = step(kernels)["lags_ms"]
    kernel_sets = {
        key: {"LFP": lfp, "CDM": rng.normal(size=(3, 201)), "lags_ms": lags}
        for key, lfp in kernels.items()
    }
    t_ms = np.arange(4000) * DT
    signals = compute_signals(t_ms, rates, kernel_sets, HEAD, dt_ms=DT)
    np.testing.assert_allclose(
        signals["LFP"], predict_signal(rates, kernels, **step(kernels)), atol=1e-9
    )
    eeg_expected, _ = eeg_from_cdm(signals["CDM"], HEAD)
    np.testing.assert_allclose(signals["EEG"], eeg_expected, rtol=1e-12, atol=1e-15)
    eeg_sum = sum(part["EEG"] for part in signals["contributions"].values())
    np.testing.assert_allclose(eeg_sum, signals["EEG"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_lags", [1, 3, 11, 201])
@pytest.mark.parametrize("length", [1, 7, 150, 20000])
@pytest.mark.parametrize("zero_before", [0, 0.5, 0.7])
def test_edge_cases_equal_the_direct_sum(n_lags, length, zero_before):
    """Short rates, long kernels, causal kernels with zero columns trimmed."""
    rng = np.random.default_rng(n_lags * 1000 + length)
    kernels = {("E", pre): rng.normal(size=(3, n_lags)) for pre in ("E", "I")}
    n_zero = int(zero_before * n_lags)
    kernels[("E", "E")][:, :n_zero] = 0.0
    kernels[("E", "I")][:, : n_zero // 2] = 0.0
    kernels[("E", "I")][:, n_lags - n_zero // 3 :] = 0.0
    rates = {"E": rng.poisson(2.0, length).astype(float), "I": rng.normal(size=length)}
    expected = direct_prediction(rates, kernels)
    scale = max(np.abs(expected).max(), 1.0)
    np.testing.assert_allclose(
        predict_signal(rates, kernels, **step(kernels)), expected, atol=1e-12 * scale
    )


def test_all_zero_kernels_give_zero():
    out = predict_signal(
        {"E": np.ones(30)}, {("E", "E"): np.zeros((2, 9))}, **step({("E", "E"): np.zeros((2, 9))})
    )
    np.testing.assert_array_equal(out, np.zeros((2, 30)))


def head_frame_meg(head, meg):
    """MEG matrix (fT per nA um of a head-frame CDM) and sensor positions (um)."""
    maps = head_models.sensor_maps(head, meg)
    sensors = maps.meg_sensors_um
    return head_models.meg_matrix(sensors, maps.geometry.dipole_um), sensors


def test_meg_radial_field_equals_the_primary_current_closed_form():
    """Outside a spherically symmetric conductor the radial field comes from the
    primary current alone: B_r = -mu0/(4 pi) (q x r_q) . r_hat / |r - r_q|^3."""
    matrix_fT, sensors = head_frame_meg(HEAD, MEG)
    r_q = DIPOLE * 1e-6  # m
    r = sensors * 1e-6
    r_hat = r / np.linalg.norm(r, axis=1, keepdims=True)
    distance = np.linalg.norm(r - r_q, axis=1)
    for component in range(3):
        q = np.zeros(3)
        q[component] = 1e-9 * 1e-6  # 1 nA um in A m
        expected_T = -1e-7 * (np.cross(q, r_q) @ r_hat.T) / distance**3
        np.testing.assert_allclose(
            matrix_fT[:, component], expected_T * 1e15, rtol=1e-9, atol=1e-30
        )


def test_radial_column_is_meg_silent_and_tangential_column_is_not():
    matrix, _ = head_frame_meg(HEAD, MEG)
    cdm_column = np.array([[0.0], [0.0], [1e5]])  # along the column axis
    rotation = frames.column_rotation
    np.testing.assert_allclose(matrix @ rotation("radial", DIPOLE) @ cdm_column, 0.0, atol=1e-20)
    # sensors lie in the x-z plane: a y-directed (tangential) dipole is the one they see
    tangential = matrix @ rotation("tangential", DIPOLE) @ cdm_column
    assert np.abs(tangential).max() > 1.0  # fT
    np.testing.assert_allclose(matrix @ rotation([1, 0, 0], DIPOLE) @ cdm_column, 0.0, atol=1e-20)


@pytest.mark.parametrize("axis", [[0, 0, 1], [1, 0, 0], [0, 1, 1], [0, 0, -1], [1, -2, 0.5]])
def test_column_rotation_is_a_rotation_taking_z_to_the_axis(axis):
    rotation = frames.rotation_from_z(axis)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        rotation @ [0, 0, 1], np.asarray(axis) / np.linalg.norm(axis), atol=1e-12
    )


def test_tangential_column_eeg_equals_lfpy_on_the_rotated_cdm(random_rates_and_kernels):
    import LFPy

    rates, kernels = random_rates_and_kernels
    rng = np.random.default_rng(2)
    lags = step(kernels)["lags_ms"]
    kernel_sets = {
        key: {"LFP": lfp, "CDM": rng.normal(size=(3, 201)), "lags_ms": lags}
        for key, lfp in kernels.items()
    }
    head = dict(HEAD, column_axis=[1.0, 0.0, 0.0])
    signals = compute_signals(np.arange(4000) * DT, rates, kernel_sets, head, MEG, dt_ms=DT)
    # under the vertex e_1 is head x: the column's z axis points along it, and the
    # smallest rotation takes (x, y, z)_column -> (z, y, -x)_head
    cdm_head = np.vstack([signals["CDM"][2], signals["CDM"][1], -signals["CDM"][0]])
    reference = LFPy.FourSphereVolumeConductor(
        signals["electrodes_um"], radii=HEAD["radii_um"], sigmas=HEAD["sigmas_S_per_m"]
    )
    expected = 1e3 * reference.get_dipole_potential(cdm_head, DIPOLE)
    np.testing.assert_allclose(
        signals["EEG"], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max()
    )
    assert signals["MEG"].shape == (5, 4000)
    meg_sum = sum(part["MEG"] for part in signals["contributions"].values())
    np.testing.assert_allclose(
        meg_sum, signals["MEG"], rtol=1e-9, atol=1e-9 * np.abs(signals["MEG"]).max()
    )


def test_a_kernel_lag_step_other_than_the_bin_width_is_refused():
    kernels = {("E", "E"): np.ones((2, 11))}
    rates = {"E": np.ones(50)}
    with pytest.raises(ValueError, match=r"lag step 0\.125.*bin width dt_ms = 0\.0625"):
        predict_signal(rates, kernels, dt_ms=0.0625, lags_ms=step(kernels, 0.125)["lags_ms"])


def test_lag_zero_off_the_centre_is_refused():
    kernels = {("E", "E"): np.ones((2, 11))}
    causal_lags = np.arange(11) * DT  # lag 0 in the first column, not the centre
    with pytest.raises(ValueError, match=r"from 0 to 0\.625 ms.*lag 0 \(the spike time\)"):
        predict_signal({"E": np.ones(50)}, kernels, dt_ms=DT, lags_ms=causal_lags)


def test_signal_of_a_single_spike_is_the_kernel_from_the_spike_time():
    """A spike at 10 ms: the kernel's lag-0 value is the sample labelled 10 ms."""
    from lfpflow.signals.rates import population_rates

    t_ms, counts = population_rates({"E": np.array([10.0])}, tstop_ms=20.0, dt_ms=DT)
    lags = step({"k": np.zeros(41)})["lags_ms"]
    lfp = np.where(lags >= 0, np.exp(-lags / 0.5), 0.0)[np.newaxis]  # causal, peak at lag 0
    kernel = {("E", "E"): {"LFP": lfp, "CDM": np.vstack([0 * lfp, 0 * lfp, lfp]), "lags_ms": lags}}
    signals = compute_signals(t_ms, counts, kernel, HEAD, dt_ms=DT)
    assert t_ms[np.argmax(signals["LFP"][0])] == 10.0
    lfp_out = signals["LFP"][0]
    assert t_ms[np.flatnonzero(np.abs(lfp_out) > 1e-9 * lfp_out.max())[0]] == 10.0


def test_sample_times_other_than_bin_starts_are_refused():
    kernel = {("E", "E"): {"LFP": np.ones((1, 3)), "CDM": np.ones((3, 3)), "lags_ms": [-DT, 0, DT]}}
    centres = (np.arange(10) + 0.5) * DT
    with pytest.raises(ValueError, match="bin starts"):
        compute_signals(centres, {"E": np.ones(10)}, kernel, HEAD, dt_ms=DT)
