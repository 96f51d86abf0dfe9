"""Input protocols: OU statistics, white-noise amplitude, NEST devices."""

from __future__ import annotations

import numpy as np
import pytest

from lfpflow.pointneuron.catalogue import CATALOGUE
from lfpflow.pointneuron.inputs import connect_protocol, ou_current, protocol_rng


def test_ou_exact_update_matches_the_recursion():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    dt, tau, mu, sd = 0.1, 5.0, 20.0, 7.0
    values = ou_current(n_steps=500, dt_ms=dt, tau_ms=tau, mean_pA=mu, sd_pA=sd, rng=rng_a)[0]
    decay = np.exp(-dt / tau)
    x = np.empty(500)
    x[0] = rng_b.normal(0.0, sd)
    noise = rng_b.normal(0.0, sd * np.sqrt(1 - decay**2), (1, 499))[0]
    for n in range(499):
        x[n + 1] = decay * x[n] + noise[n]
    np.testing.assert_allclose(values, x + mu, rtol=1e-12, atol=1e-9)


def test_ou_has_configured_mean_sd_and_correlation_time():
    dt, tau, mu, sd = 0.5, 10.0, -30.0, 15.0
    n_processes, n_steps = 200, 4000  # 2 s each; 200 correlation times per process
    values = ou_current(
        n_steps=n_steps,
        dt_ms=dt,
        tau_ms=tau,
        mean_pA=mu,
        sd_pA=sd,
        rng=np.random.default_rng(11),
        n_processes=n_processes,
    )
    # sampling error of the mean over N_eff = n_processes * T / (2 tau) independent samples
    n_eff = n_processes * n_steps * dt / (2 * tau)
    assert abs(values.mean() - mu) < 5 * sd / np.sqrt(n_eff)
    assert abs(values.std() / sd - 1) < 5 / np.sqrt(n_eff)
    centred = values - values.mean()
    lag = int(round(tau / dt))
    autocorrelation = np.mean(centred[:, lag:] * centred[:, :-lag]) / centred.var()
    assert abs(autocorrelation - np.exp(-1)) < 0.02
    # correlation time from the fitted exponential decay of the autocorrelation
    lags = np.arange(1, 3 * lag)
    acf = np.array([np.mean(centred[:, k:] * centred[:, :-k]) for k in lags]) / centred.var()
    fitted_tau = -1.0 / np.polyfit(lags * dt, np.log(acf), 1)[0]
    assert abs(fitted_tau / tau - 1) < 0.05


def test_protocol_streams_are_independent_and_reproducible():
    a = protocol_rng(5, "E", 0).normal(size=5)
    np.testing.assert_array_equal(a, protocol_rng(5, "E", 0).normal(size=5))
    assert not np.array_equal(a, protocol_rng(5, "E", 1).normal(size=5))
    assert not np.array_equal(a, protocol_rng(5, "I", 0).normal(size=5))
    assert not np.array_equal(a, protocol_rng(6, "E", 0).normal(size=5))


def test_ou_refuses_arrays_beyond_the_memory_guard():
    with pytest.raises(ValueError, match="shared: true"):
        ou_current(
            n_steps=10**6,
            dt_ms=0.1,
            tau_ms=1,
            mean_pA=0,
            sd_pA=1,
            rng=np.random.default_rng(0),
            n_processes=1000,
        )


# ---------------------------------------------------------- NEST devices (real)


@pytest.fixture
def nest():
    from lfpflow.pointneuron.network import _import_nest

    nest = _import_nest()
    nest.ResetKernel()
    nest.SetKernelStatus({"total_num_virtual_procs": 1, "resolution": 0.125, "rng_seed": 1})
    return nest


def _passive_lif(nest, n: int):
    model = CATALOGUE["lif"]
    params = model.nest_status(model.resolved_params({"V_th": 1.0e6}))  # never fires
    return model, nest.Create(model.nest_model, n, params=params)


def _membrane_traces(nest, neurons, tstop_ms: float) -> np.ndarray:
    multimeter = nest.Create("multimeter", params={"interval": 0.125, "record_from": ["V_m"]})
    nest.Connect(multimeter, neurons)
    nest.Simulate(tstop_ms)
    events = multimeter.get("events")
    order = np.lexsort((events["times"], events["senders"]))
    return np.asarray(events["V_m"])[order].reshape(len(neurons), -1)


@pytest.mark.parametrize("shared", [False, True])
def test_ou_is_one_process_per_neuron_or_one_shared_by_all(nest, shared):
    model, neurons = _passive_lif(nest, 3)
    protocol = {"type": "ou", "tau_ms": 5.0, "mean_pA": 100.0, "sd_pA": 200.0, "shared": shared}
    created = connect_protocol(
        nest,
        protocol,
        neurons,
        model=model,
        dt_ms=0.125,
        tstop_ms=100.0,
        rng=protocol_rng(1, "E", 0),
    )
    assert created["ou_pA"].shape[0] == (1 if shared else 3)
    v = _membrane_traces(nest, neurons, 100.0)
    assert np.ptp(v[0]) > 1.0, "the current must move the membrane"
    identical = [np.array_equal(v[0], v[i]) for i in (1, 2)]
    assert identical == [shared, shared]


def test_a_poisson_input_in_other_units_than_the_model_is_refused_before_nest():
    model = CATALOGUE["izhikevich_rs"]
    with pytest.raises(ValueError, match="weight_nS"):
        connect_protocol(
            None,
            {"type": "poisson", "rate_Hz": 5.0, "weight_pA": 1.0},
            None,
            model=model,
            dt_ms=0.125,
            tstop_ms=100.0,
            rng=np.random.default_rng(0),
        )


def test_unknown_protocol_type_is_refused():
    with pytest.raises(ValueError, match="allowed values: poisson, dc, white_noise, ou"):
        connect_protocol(
            None,
            {"type": "ramp"},
            None,
            model=CATALOGUE["lif"],
            dt_ms=0.125,
            tstop_ms=100.0,
            rng=np.random.default_rng(0),
        )
