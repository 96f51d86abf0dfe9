"""Single-neuron characterisation, and the catalogue models and input protocols it uses.

Real NEST simulations, kept to a few hundred ms of a few neurons each. The
NESTML test is skipped (with the reason) while ``build/nestml`` is missing.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import numpy as np
import pytest

from lfpflow import io
from lfpflow.config import ConfigError
from lfpflow.pointneuron import rheobase as rb
from lfpflow.pointneuron import single_neuron as sn
from lfpflow.pointneuron.catalogue import get_model
from lfpflow.pointneuron.inputs import connect_protocol, protocol_rng
from lfpflow.resolve import resolve_config

REPO = Path(__file__).resolve().parents[1]
DT = 0.0625  # ms, the project's default resolution (2^-4)

#: A characterisation small enough for a test: 9 DC steps, 3 x 5 noise settings
#: (a ``neurons`` overlay, resolved with :func:`lfpflow.resolve.resolve_config`).
SMALL = {
    "n_vp": 1,
    "onset_ms": 50.0,
    "duration_ms": 450.0,
    "transient_ms": 150.0,
    "n_dc": 9,
    "n_gwn_mean": 5,
    "gwn_trials": 2,
    "rheobase_candidates": 16,
    "min_isis_cv": 5,
}


@pytest.fixture(scope="module")
def nest():
    from lfpflow.pointneuron.network import _import_nest

    return _import_nest()


def _reset(nest, dt_ms: float = DT, seed: int = 1) -> None:
    nest.ResetKernel()
    nest.SetKernelStatus(
        {
            "total_num_virtual_procs": 1,
            "resolution": dt_ms,
            "tics_per_ms": int(round(1.0 / dt_ms)),
            "rng_seed": seed,
        }
    )


# ---------------------------------------------------------------------------
# (1) LIF F-I curve under DC: analytic rate
# ---------------------------------------------------------------------------


def test_lif_dc_rate_is_the_analytic_rate_and_zero_below_rheobase():
    model = get_model("lif")
    params = model.resolved_params({})
    overlay = {"neurons": {"n_vp": 1, "onset_ms": 20.0, "duration_ms": 700.0}}
    cfg = resolve_config(overlay)["neurons"]
    kernel = rb.ModelKernel(model, cfg, None)
    C, tau, E_L = params["C_m"], params["tau_m"], params["E_L"]
    V_th, V_reset, t_ref = params["V_th"], params["V_reset"], params["t_ref"]
    rheobase = C * (V_th - E_L) / tau  # 375 pA: V_inf = V_th
    below = [0.0, 100.0, 300.0, 0.99 * rheobase]
    above = [1.005 * rheobase, 1.02 * rheobase, 400.0, 450.0, 600.0, 800.0, 1000.0]
    trains = rb.dc_spike_trains(kernel, params, below + above, cfg)
    window = rb.analysis_window(cfg)
    for train in trains[: len(below)]:
        assert train.size == 0
    for amplitude, train in zip(above, trains[len(below) :], strict=True):
        v_inf = E_L + amplitude * tau / C
        t_up = tau * math.log((v_inf - V_reset) / (v_inf - V_th))
        analytic = 1000.0 / (t_ref + t_up)
        rate = rb.steady_rate_Hz(train, window)
        assert rate == pytest.approx(analytic, rel=0.02), amplitude
        # NEST's grid convention, exactly: the spike is the first step at
        # which V >= V_th, so the time to threshold is rounded up to the grid.
        on_grid = 1000.0 / (t_ref + math.ceil(t_up / DT - 1e-9) * DT)
        assert rate == pytest.approx(on_grid, rel=1e-9), amplitude


# ---------------------------------------------------------------------------
# (2) GLIF2 / ALIF threshold and reset rules
# ---------------------------------------------------------------------------


def _glif_run(nest, name: str, overrides: dict) -> dict:
    """One catalogue GLIF neuron: DC 400 pA for 140 ms, then 250 ms of decay."""
    model = get_model(name)
    params = model.resolved_params(overrides)
    _reset(nest)
    neuron = nest.Create(model.nest_model, params=model.nest_status(params))
    connect_protocol(
        nest,
        {"type": "dc", "amplitude_pA": 400.0, "start_ms": 10.0, "stop_ms": 150.0},
        neuron,
        model=model,
        dt_ms=DT,
        tstop_ms=400.0,
        rng=protocol_rng(1, "glif", 0),
    )
    multimeter = nest.Create(
        "multimeter", params={"interval": DT, "record_from": ["V_m", "threshold"]}
    )
    nest.Connect(multimeter, neuron)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neuron, recorder)
    nest.Simulate(400.0)
    events = multimeter.get("events")
    t = np.asarray(events["times"])
    assert np.allclose(np.diff(t), DT) and t[0] == pytest.approx(DT)
    spikes = np.asarray(recorder.get("events")["times"])
    return {
        "params": params,
        "t": t,
        "v": np.asarray(events["V_m"]),
        "theta": np.asarray(events["threshold"]) - params["V_th"],
        # sample index of each spike: multimeter samples and spikes share the
        # time stamp (end of the step in which the threshold was crossed)
        "spike_index": np.searchsorted(t, spikes),
        "spikes": spikes,
    }


def _expected_theta(run: dict, decay_rate: float, d_theta: float) -> np.ndarray:
    """NEST glif_psc's update of the spike component theta of the threshold.

    Per step of length h: outside refractoriness theta <- theta exp(-lambda h);
    in the step of a spike, after that decay, theta <- theta exp(-lambda t_ref)
    + d_theta (the decay over the coming refractory period is applied in
    advance); during the t_ref / h refractory steps theta is held. So from one
    spike on, theta follows its continuous-time solution exp(-lambda t),
    shifted by t_ref, and jumps by d_theta at each spike.
    """
    h, t_ref = DT, run["params"]["t_ref"]
    n_ref = int(round(t_ref / h))
    step_decay, refractory_decay = math.exp(-decay_rate * h), math.exp(-decay_rate * t_ref)
    spikes = set(run["spike_index"].tolist())
    expected = np.empty(run["t"].size)
    theta, refractory = 0.0, 0
    for n in range(run["t"].size):
        if refractory > 0:
            refractory -= 1
        else:
            theta *= step_decay
            if n in spikes:
                theta = theta * refractory_decay + d_theta
                refractory = n_ref
        expected[n] = theta
    return expected


def _refractory_samples(run: dict) -> np.ndarray:
    n_ref = int(round(run["params"]["t_ref"] / DT))
    return np.concatenate([np.arange(k + 1, k + 1 + n_ref) for k in run["spike_index"]])


# Tolerances: NEST and these formulas compute the same float64 expressions
# in a different order; for values of order 100 mV (V) or 1 mV (theta) the
# round-off is ~1e-13 mV, even accumulated over the 6400 steps. A wrong
# convention (the supra-threshold V instead of the last sub-threshold one, a
# one-step shift, no pre-decay over t_ref) is off by more than 1e-4 mV.
V_ATOL_MV = 1e-9
THETA_ATOL_MV = 1e-11


def test_glif2_threshold_and_voltage_reset_rules(nest):
    run = _glif_run(nest, "glif2", {})
    p = run["params"]
    assert run["spikes"].size >= 10
    # the threshold: jumps by d_theta per spike, decays at lambda_theta
    expected = _expected_theta(run, p["lambda_theta"], p["d_theta"])
    np.testing.assert_allclose(run["theta"], expected, rtol=0, atol=THETA_ATOL_MV)
    late = run["t"] > run["spikes"][-1] + p["t_ref"] + 1.0  # free decay after the last spike
    ratio = run["theta"][late][1:] / run["theta"][late][:-1]
    np.testing.assert_allclose(ratio, math.exp(-p["lambda_theta"] * DT), rtol=1e-12)
    # the voltage in the spike's step: E_L + m_v (V - E_L) - b_v, V being the
    # membrane potential at the start of that step (last sub-threshold sample)
    k = run["spike_index"]
    v_before = run["v"][k - 1]
    np.testing.assert_allclose(
        run["v"][k], p["E_L"] + p["m_v"] * (v_before - p["E_L"]) - p["b_v"], atol=V_ATOL_MV
    )
    assert np.all(v_before < p["V_th"] + run["theta"][k - 1])
    # held there during the refractory period
    held = _refractory_samples(run)
    np.testing.assert_array_equal(run["v"][held], run["v"][held - 1])


def test_alif_threshold_decays_with_tau_theta_and_voltage_resets_to_v_reset(nest):
    # V_reset above E_L, so that a sign error in the reset cannot hide
    run = _glif_run(nest, "alif", {"V_reset": -70.0, "tau_theta": 50.0, "d_theta": 1.5})
    p = run["params"]
    assert run["spikes"].size >= 5
    expected = _expected_theta(run, 1.0 / p["tau_theta"], p["d_theta"])
    np.testing.assert_allclose(run["theta"], expected, rtol=0, atol=THETA_ATOL_MV)
    np.testing.assert_allclose(run["v"][run["spike_index"]], p["V_reset"], atol=V_ATOL_MV)
    held = _refractory_samples(run)
    np.testing.assert_allclose(run["v"][held], p["V_reset"], atol=V_ATOL_MV)


# ---------------------------------------------------------------------------
# (3) white noise: configured sd at the configured resolution
# ---------------------------------------------------------------------------


def test_white_noise_has_the_configured_mean_sd_and_update_interval(nest):
    # glif_psc records the external current it receives ("I"), so the
    # injected noise can be read back neuron by neuron.
    model = get_model("glif2")
    n_neurons, tstop, noise_dt, mean, sd = 20, 300.0, 0.25, 30.0, 80.0
    _reset(nest, seed=7)
    neurons = nest.Create(model.nest_model, n_neurons, params=model.nest_status({}))
    created = connect_protocol(
        nest,
        {"type": "white_noise", "mean_pA": mean, "sd_pA": sd, "dt_ms": noise_dt},
        neurons,
        model=model,
        dt_ms=DT,
        tstop_ms=tstop,
        rng=protocol_rng(7, "noise", 0),
    )
    delay = float(nest.GetConnections(created["devices"]).get("delay")[0])
    multimeter = nest.Create("multimeter", params={"interval": DT, "record_from": ["I"]})
    nest.Connect(multimeter, neurons)
    nest.Simulate(tstop)
    events = multimeter.get("events")
    senders = np.asarray(events["senders"])
    order = np.lexsort((events["times"], senders))
    current = np.asarray(events["I"])[order].reshape(n_neurons, -1)
    times = np.asarray(events["times"])[order].reshape(n_neurons, -1)[0]
    current = current[:, times > delay + 2 * noise_dt]  # after the first values arrive
    steps = int(round(noise_dt / DT))
    # piecewise constant: a new value every noise_dt, never in between
    changes = np.nonzero(np.any(np.diff(current, axis=1) != 0, axis=0))[0] + 1
    assert changes.size > 0
    assert np.unique(changes % steps).size == 1
    values = current[:, changes[0] :: steps]  # one sample per noise interval
    n = values.size  # independent Gaussian draws
    assert abs(values.mean() - mean) < 4 * sd / math.sqrt(n)
    assert abs(values.std(ddof=1) / sd - 1) < 4 / math.sqrt(2 * (n - 1))
    # independent between intervals and between neurons
    centred = values - mean
    lag1 = np.mean(centred[:, 1:] * centred[:, :-1]) / sd**2
    assert abs(lag1) < 4 / math.sqrt(n)
    across = np.corrcoef(centred)[np.triu_indices(n_neurons, 1)]
    assert np.all(np.abs(across) < 5 / math.sqrt(values.shape[1]))


# ---------------------------------------------------------------------------
# (4) OU: the samples arrive in the neuron
# ---------------------------------------------------------------------------


def test_ou_samples_drive_a_passive_lif_exactly(nest):
    model = get_model("lif")
    params = model.resolved_params({"V_th": 1.0e6})  # never fires
    n_neurons, tstop = 3, 200.0
    _reset(nest)
    neurons = nest.Create(model.nest_model, n_neurons, params=model.nest_status(params))
    created = connect_protocol(
        nest,
        {"type": "ou", "tau_ms": 5.0, "mean_pA": 100.0, "sd_pA": 200.0, "start_ms": 10.0},
        neurons,
        model=model,
        dt_ms=DT,
        tstop_ms=tstop,
        rng=protocol_rng(3, "E", 0),
    )
    samples = created["ou_pA"]
    assert samples.shape == (n_neurons, int(round((tstop - 10.0) / DT)))
    delay = float(nest.GetConnections(created["devices"]).get("delay")[0])
    multimeter = nest.Create("multimeter", params={"interval": DT, "record_from": ["V_m"]})
    nest.Connect(multimeter, neurons)
    nest.Simulate(tstop)
    events = multimeter.get("events")
    order = np.lexsort((events["times"], events["senders"]))
    v = np.asarray(events["V_m"])[order].reshape(n_neurons, -1)
    t = np.asarray(events["times"])[order].reshape(n_neurons, -1)[0]

    # Exact solution for a piecewise-constant current: over each step h,
    # V <- E_L + (V - E_L) P + (tau_m / C_m)(1 - P) I,  P = exp(-h / tau_m).
    # Sample j (amplitude time T_j = 10 ms + j h) reaches the neuron after
    # the connection delay and acts from the following step on (NEST buffers
    # currents for one step), i.e. during (T_j + delay, T_j + delay + h].
    tau, C, E_L = params["tau_m"], params["C_m"], params["E_L"]
    decay = math.exp(-DT / tau)
    current = np.zeros((n_neurons, t.size))
    first = int(round((10.0 + delay) / DT))  # index of the sample at T_0 + delay + h
    n_used = min(samples.shape[1], t.size - first)
    current[:, first : first + n_used] = samples[:, :n_used]
    expected = np.empty_like(v)
    state = np.full(n_neurons, E_L)
    for n in range(t.size):
        state = E_L + (state - E_L) * decay + tau / C * (1 - decay) * current[:, n]
        expected[:, n] = state
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-9)
    # each neuron gets its own process
    assert not np.allclose(v[0], v[1])


# ---------------------------------------------------------------------------
# (5) the characterisation file
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lif_file(tmp_path_factory):
    config = resolve_config({"seed": 99, "neurons": copy.deepcopy(SMALL)})
    result = sn.characterise("lif", config=config)
    path = tmp_path_factory.mktemp("neurons") / "lif.h5"
    sn.write_characterisation(path, result, config=sn.model_scope(config, "lif"))
    return path, result


REQUIRED_DATASETS = {
    "dc_pA": "pA",
    "rate_dc_Hz": "Hz",
    "gwn_sigma_pA": "pA",
    "gwn_mean_pA": "pA",
    "rate_gwn_Hz": "Hz",
    "cv_isi_gwn": "1",
    "example_spike_times_ms": "ms",
    "example_t_ms": "ms",
    "example_v_mV": "mV",
}


def test_lif_characterisation_round_trips_with_units_and_attrs(lif_file):
    path, result = lif_file
    data = io.read_h5(path)
    for name, units in REQUIRED_DATASETS.items():
        assert data["units"][name] == units, name
        np.testing.assert_array_equal(data[name], result["data"][name].data)
    for name in result["data"]:
        assert name in data["units"], f"{name} has no units"
    assert "example_u" not in data
    n_sigma, n_mean = data["gwn_sigma_pA"].size, data["gwn_mean_pA"].size
    assert n_sigma >= 3 and data["rate_gwn_Hz"].shape == (n_sigma, n_mean)
    assert data["cv_isi_gwn"].shape == (n_sigma, n_mean)
    attrs = data["attrs"]
    defaults = get_model("lif").resolved_params({})
    for name in ("C_m", "tau_m", "E_L", "V_th", "V_reset", "t_ref"):
        assert attrs[name] == defaults[name]
    for name in ("config_sha256", "created_utc", "version_nest-simulator"):
        assert name in attrs
    # neurons.seed, not the top-level seed
    assert attrs["seed"] == resolve_config({})["neurons"]["seed"]
    assert attrs["config_sections"] == "neurons"
    # rheobase: C_m (V_th - E_L) / tau_m = 375 pA, to the stated tolerance
    assert attrs["rheobase_tolerance_pA"] <= 1.0
    assert attrs["rheobase_lower_pA"] < 375.0 <= attrs["rheobase_pA"]
    assert attrs["rheobase_pA"] - attrs["rheobase_lower_pA"] <= attrs["rheobase_tolerance_pA"]
    assert attrs["example_dc_pA"] == pytest.approx(1.5 * attrs["rheobase_pA"])
    assert attrs["example_onset_ms"] == SMALL["onset_ms"]
    # F-I: zero below the rheobase, positive and increasing above
    dc, rate = data["dc_pA"], data["rate_dc_Hz"]
    assert np.all(rate[dc < attrs["rheobase_lower_pA"]] == 0)
    assert np.all(rate[dc >= attrs["rheobase_pA"]] > 0)
    assert np.all(np.diff(rate[dc >= attrs["rheobase_pA"]]) > 0)
    # the example fires from the onset on
    spikes = data["example_spike_times_ms"]
    assert spikes.size > 10 and spikes[0] > attrs["example_onset_ms"]


def test_characterisation_is_reproducible(lif_file):
    _, first = lif_file
    # the top-level seed is not used
    config = resolve_config({"seed": 1, "neurons": copy.deepcopy(SMALL)})
    again = sn.characterise("lif", config=config)
    for name in ("rate_gwn_Hz", "cv_isi_gwn", "example_v_mV"):
        np.testing.assert_array_equal(again["data"][name].data, first["data"][name].data)


def test_figure_is_written(lif_file, tmp_path):
    from lfpflow.figures.neurons import plot_characterisation

    path, _ = lif_file
    png = plot_characterisation(path, tmp_path / "figures" / "lif.png")
    assert png.stat().st_size > 10_000
    assert not list(png.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("neurons", "key"),
    [
        ({"dt_msec": 0.1}, "neurons.dt_msec"),
        ({"models": {"lif3": {}}}, "neurons.models"),
        ({"models": {"lif": {"dc_max": 10.0}}}, "neurons.models.lif.dc_max"),
        ({"dt_ms": 0.1}, "neurons.dt_ms"),
        ({"gwn_dt_ms": 0.1}, "neurons.gwn_dt_ms"),
        ({"transient_ms": 1200.0}, "neurons.transient_ms"),
        ({"transient_ms": -1.0}, "neurons.transient_ms"),
        ({"rheobase_min_spikes": 0}, "neurons.rheobase_min_spikes"),
        ({"rheobase_candidates": 0}, "neurons.rheobase_candidates"),
        ({"gwn_trials": 0}, "neurons.gwn_trials"),
        ({"n_dc": 1}, "neurons.n_dc"),
    ],
)
def test_resolve_config_rejects_bad_neurons_settings_naming_the_key(neurons, key):
    # the key named in quotes (an unknown model may be named below neurons.models)
    with pytest.raises(ConfigError, match=re.escape(f"'{key}")):
        resolve_config({"neurons": neurons})


def test_model_scope_keeps_only_the_model_s_overrides():
    config = resolve_config({"neurons": {"models": {"lif": {"example_dc_pA": 500.0}, "hh": {}}}})
    scope = sn.model_scope(config, "lif")
    assert scope["neurons"]["models"] == {"lif": {"example_dc_pA": 500.0}}
    assert list(scope) == ["neurons"] and list(scope["neurons"]) == sorted(scope["neurons"])
    # every other key as resolved; a model without overrides gets none
    assert {k: v for k, v in scope["neurons"].items() if k != "models"} == {
        k: v for k, v in config["neurons"].items() if k != "models"
    }
    assert sn.model_scope(config, "glif2")["neurons"]["models"] == {}
    with pytest.raises(ValueError, match="unknown neuron model"):
        sn.model_scope(config, "lif3")


# ---------------------------------------------------------------------------
# (6) the NESTML Izhikevich (2007) model
# ---------------------------------------------------------------------------


def test_izhikevich_rs_fires_regularly_at_125_pA_and_is_characterised(tmp_path, nestml_module_dir):
    # 1.5 s steps: RS fires at about 3.5 Hz at 125 pA (d = 400 pA)
    config = resolve_config({"neurons": {**SMALL, "duration_ms": 1500.0, "transient_ms": 300.0}})
    result = sn.characterise("izhikevich_rs", config=config, module_dir=nestml_module_dir)
    attrs, data = result["attrs"], result["data"]
    assert attrs["example_dc_pA"] == 125.0  # the configured default for RS
    assert attrs["nest_model"] == "izhikevich2007_cond_neuron"
    spikes = data["example_spike_times_ms"].data
    assert spikes.size >= 5 and spikes[0] > attrs["example_onset_ms"]
    steady = np.diff(spikes[spikes > attrs["example_onset_ms"] + 300.0])
    assert steady.size >= 3
    assert np.std(steady) / np.mean(steady) < 0.05  # regular (tonic) firing
    u = data["example_u"].data
    assert data["example_u"].units == "pA"
    assert u.shape == data["example_v_mV"].data.shape
    # u jumps by d at each spike
    t = data["example_t_ms"].data
    at_spike = np.searchsorted(t, spikes)
    jumps = u[at_spike] - u[at_spike - 1]
    np.testing.assert_allclose(jumps, result["params"]["d"], rtol=0.02)
    assert 0 < attrs["rheobase_pA"] < 125.0
    path = tmp_path / "izhikevich_rs.h5"
    sn.write_characterisation(path, result, config=config)
    stored = io.read_h5(path)
    for name in ("C", "k", "v_r", "v_t", "v_peak", "a", "b", "c", "d"):
        assert stored["attrs"][name] == result["params"][name], name
    assert stored["units"]["example_u"] == "pA"
    assert stored["rate_gwn_Hz"].shape == (3, SMALL["n_gwn_mean"])
