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


# ------------------------------------------------------- NEST devices (recorded)


class _Nodes:
    """Stand-in for a NEST NodeCollection: node ids, indexing, iteration, set()."""

    def __init__(self, nest: _RecordingNest, ids: list[int]) -> None:
        self.nest, self.ids = nest, ids

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return (_Nodes(self.nest, [i]) for i in self.ids)

    def __getitem__(self, index: list[int]) -> _Nodes:
        return _Nodes(self.nest, [self.ids[i] for i in index])

    def set(self, **params) -> None:
        self.nest.calls.append(("set", self.ids, params))


class _RecordingNest:
    """Stand-in for the nest module that records Create and Connect calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self._next = 100

    def nodes(self, n: int) -> _Nodes:
        self._next += n
        return _Nodes(self, list(range(self._next - n, self._next)))

    def Create(self, model, n=1, params=None):  # NEST's capitalised name
        nodes = self.nodes(n)
        self.calls.append(("Create", model, n, params))
        return nodes

    def Connect(self, pre, post, conn_spec=None, syn_spec=None):  # NEST's capitalised name
        self.calls.append(("Connect", pre.ids, post.ids, conn_spec, syn_spec))


def _connect(protocol: dict, model: str = "lif", *, n: int = 4):
    nest = _RecordingNest()
    population = nest.nodes(n)
    created = connect_protocol(
        nest,
        protocol,
        population,
        model=CATALOGUE[model],
        dt_ms=0.125,
        tstop_ms=100.0,
        rng=np.random.default_rng(0),
    )
    return nest.calls, created, population.ids


def test_poisson_sums_its_trains_and_picks_the_receptor_by_sign():
    calls, created, ids = _connect(
        {"type": "poisson", "rate_Hz": 5.0, "n_inputs": 80, "weight_pA": -20.0, "stop_ms": 50.0},
        "glif2",
    )
    assert calls[0] == (
        "Create",
        "poisson_generator",
        1,
        {"rate": 400.0, "start": 0.0, "stop": 50.0},
    )
    receptor = CATALOGUE["glif2"].receptors["inhibitory"]
    syn_spec = {"weight": -20.0, "delay": 0.125, "receptor_type": receptor}
    assert calls[1] == ("Connect", created["devices"].ids, ids, "all_to_all", syn_spec)
    with pytest.raises(ValueError, match="weight_nS"):
        _connect({"type": "poisson", "rate_Hz": 5.0, "weight_pA": 1.0}, "izhikevich_rs")


def test_dc_and_white_noise_reach_the_chosen_neurons_one_step_late():
    calls, _, ids = _connect({"type": "dc", "amplitude_pA": 300.0, "neurons": [2, 0]})
    assert calls[0] == (
        "Create",
        "dc_generator",
        1,
        {"amplitude": 300.0, "start": 0.0, "stop": 101.0},
    )
    assert calls[1][2] == [ids[0], ids[2]] and calls[1][4] == {"delay": 0.125}
    calls, _, _ = _connect({"type": "white_noise", "sd_pA": 50.0, "start_ms": 10.0})
    params = {"mean": 0.0, "std": 50.0, "dt": 0.125, "start": 10.0, "stop": 101.0}
    assert calls[0] == ("Create", "noise_generator", 1, params)
    with pytest.raises(ValueError, match="multiple of the resolution"):
        _connect({"type": "white_noise", "sd_pA": 50.0, "dt_ms": 0.3})


@pytest.mark.parametrize("shared", [False, True])
def test_ou_injects_one_process_per_neuron_or_one_shared(shared):
    protocol = {"type": "ou", "tau_ms": 5.0, "mean_pA": 10.0, "sd_pA": 20.0, "shared": shared}
    calls, created, ids = _connect(protocol, n=3)
    n_processes = 1 if shared else 3
    steps = int(round((100.0 - 0.125) / 0.125))  # from one step (times must be > 0) to tstop
    assert created["ou_pA"].shape == (n_processes, steps)
    assert calls[0] == ("Create", "step_current_generator", n_processes, None)
    sets = [call for call in calls if call[0] == "set"]
    assert len(sets) == n_processes
    np.testing.assert_array_equal(sets[-1][2]["amplitude_values"], created["ou_pA"][-1])
    assert sets[0][2]["amplitude_times"][0] == 0.125
    rule = "all_to_all" if shared else "one_to_one"
    assert calls[-1] == ("Connect", created["devices"].ids, ids, rule, {"delay": 0.125})


def test_unknown_protocol_type_is_refused():
    with pytest.raises(ValueError, match="allowed values: poisson, dc, white_noise, ou"):
        _connect({"type": "ramp"})
