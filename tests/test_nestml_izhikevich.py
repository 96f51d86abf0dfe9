"""Our NESTML Izhikevich (2007) neuron with four conductance-based synapses.

The module is built once per test module (about 15 s) into a temporary
folder, or taken from the workflow's ``build/nestml`` when that was built from
the current ``nestml/izhikevich2007_cond.nestml`` (same SHA-256).

Spike times are checked against an independent event-driven integration of
the same equations with SciPy (DOP853, crossing of v_peak located exactly).
NEST checks the threshold at the end of each step and resets there, so each
spike lags the exact one by less than one step and the lags add up over
spikes: at dt = 0.0625 ms the fifth spike lags by about 0.1 ms (RS, 125 pA)
and 0.3 ms (FS, 200 pA).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lfpflow.pointneuron.nestml_build import build_nest_module, install_module

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
MODEL_FILE = REPO / "nestml" / "izhikevich2007_cond.nestml"
MODEL = "izhikevich2007_cond_neuron"
MODULE = "lfpflowmodule"
DT = 0.0625  # ms, the workflow's resolution (a power of two)

#: Izhikevich & Edelman (2008) regular-spiking and fast-spiking parameters.
RS = dict(C=100.0, k=3.0, v_r=-60.0, v_t=-50.0, v_peak=50.0, a=0.01, b=5.0, c=-60.0, d=400.0)
FS = dict(C=20.0, k=1.0, v_r=-55.0, v_t=-40.0, v_peak=25.0, a=0.15, b=8.0, c=-55.0, d=200.0)


@pytest.fixture(scope="module")
def module_dir(nestml_module_dir) -> Path:
    return nestml_module_dir


@pytest.fixture(scope="module")
def nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    nest = pytest.importorskip("nest")
    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


@pytest.fixture
def kernel(nest, module_dir):
    """A fresh NEST kernel at resolution DT with our module loaded."""
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "tics_per_ms": int(round(1 / DT))})
    install_module(nest, module_dir, MODULE)  # ResetKernel unloaded it
    return nest


def _nest_spike_times(nest, params: dict, current_pA: float, t_on: float, t_stop: float):
    neuron = nest.Create(MODEL, params=dict(params, V_m=params["v_r"], u=0.0))
    recorder = nest.Create("spike_recorder")
    nest.Connect(neuron, recorder)
    nest.Simulate(t_on)
    neuron.I_e = current_pA  # acts from the step starting at t_on
    nest.Simulate(t_stop - t_on)
    return recorder.events["times"]


def _reference_spike_times(p: dict, current_pA: float, t_on: float, t_stop: float, n: int):
    """First ``n`` spikes of the same equations, integrated independently.

    Starts from rest (v = v_r, u = 0, a fixed point at zero current) at
    ``t_on``; each crossing of v_peak is located by SciPy's event finder, the
    state is reset there and integration restarts.
    """
    from scipy.integrate import solve_ivp

    def rhs(_t, y):
        v, u = y
        dv = (p["k"] * (v - p["v_r"]) * (v - p["v_t"]) - u + current_pA) / p["C"]
        du = p["a"] * (p["b"] * (v - p["v_r"]) - u)
        return [dv, du]

    def peak(_t, y):
        return y[0] - p["v_peak"]

    peak.terminal = True
    peak.direction = 1
    t, y, spikes = t_on, [p["v_r"], 0.0], []
    while len(spikes) < n:
        sol = solve_ivp(rhs, (t, t_stop), y, method="DOP853", rtol=1e-10, atol=1e-10, events=peak)
        if sol.status != 1:
            break
        t = sol.t_events[0][0]
        spikes.append(t)
        y = [p["c"], sol.y_events[0][0][1] + p["d"]]
    return np.array(spikes)


@pytest.mark.parametrize(("params", "current_pA"), [(RS, 125.0), (FS, 200.0)], ids=["RS", "FS"])
def test_dc_step_spike_times_match_independent_integration(kernel, params, current_pA):
    t_on, t_stop, n = 100.0, 1400.0, 5
    simulated = _nest_spike_times(kernel, params, current_pA, t_on, t_stop)
    reference = _reference_spike_times(params, current_pA, t_on, t_stop, n)
    assert reference.size == n and simulated.size >= n
    lag = simulated[:n] - reference
    # The first spike closes the step in which v crosses v_peak: same step.
    assert -1e-3 <= lag[0] <= DT + 1e-3, lag
    # Later ones add one partial step each; the brief's bound is 1 ms.
    np.testing.assert_array_less(np.abs(lag), 1.0)


def test_current_input_port_takes_step_and_noise_generators(kernel):
    nest = kernel
    delay = 0.5
    direct = nest.Create(MODEL, params=dict(RS, I_e=125.0))
    driven = nest.Create(MODEL, params=RS)
    noisy = nest.Create(MODEL, params=RS)
    step = nest.Create(
        "step_current_generator", params={"amplitude_times": [DT], "amplitude_values": [125.0]}
    )
    noise = nest.Create("noise_generator", params={"mean": 0.0, "std": 50.0, "dt": 1.0})
    nest.Connect(step, driven, syn_spec={"delay": delay})
    nest.Connect(noise, noisy, syn_spec={"delay": delay})
    recorders = nest.Create("spike_recorder", 2)
    nest.Connect(direct, recorders[0])
    nest.Connect(driven, recorders[1])
    meter = nest.Create("multimeter", params={"interval": 1.0, "record_from": ["V_m"]})
    nest.Connect(meter, noisy)
    nest.Simulate(1000.0)
    t_direct = recorders[0].events["times"]
    t_driven = recorders[1].events["times"]
    assert t_direct.size >= 3 and t_driven.size == t_direct.size
    # The generator switches on at DT and its current arrives `delay` later;
    # I_e acts from time 0, so the spike trains differ by exactly that shift.
    np.testing.assert_allclose(t_driven - t_direct, DT + delay, atol=1e-9)
    assert np.std(meter.events["V_m"]) > 0.1  # white-noise current moves V_m


def test_rs_fires_regularly_at_125_pA(kernel):
    times = _nest_spike_times(kernel, RS, 125.0, 0.0, 3000.0)
    isi = np.diff(times)[2:]  # after the first two intervals (adaptation)
    assert isi.size >= 6
    cv = np.std(isi) / np.mean(isi)
    assert cv < 0.01, (cv, np.diff(times))  # observed: ISI 285.2 ms, CV < 1e-3


def test_spikes_open_the_right_conductances_with_exponential_decay(kernel):
    nest = kernel
    t_spike, delay, w_exc, w_inh = 50.0, 1.0, 2.5, -1.5
    exc_target = nest.Create(MODEL, params={"NMDA_ratio": 0.4})
    inh_target = nest.Create(MODEL)
    for target, weight in ((exc_target, w_exc), (inh_target, w_inh)):
        source = nest.Create("spike_generator", params={"spike_times": [t_spike]})
        nest.Connect(source, target, syn_spec={"weight": weight, "delay": delay})
    names = ["g_AMPA", "g_NMDA", "g_GABA_A", "g_GABA_B"]
    meter = nest.Create("multimeter", params={"interval": DT, "record_from": [*names, "V_m"]})
    nest.Connect(meter, exc_target + inh_target)
    nest.Simulate(400.0)
    events = meter.events
    tau = {"g_AMPA": 5.0, "g_NMDA": 100.0, "g_GABA_A": 6.0, "g_GABA_B": 150.0}
    # The jump is in place at the end of the step in which the spike arrives.
    t_arrival = t_spike + delay
    expected_peaks = [
        (exc_target, {"g_AMPA": w_exc, "g_NMDA": 0.4 * w_exc, "g_GABA_A": 0.0, "g_GABA_B": 0.0}),
        (inh_target, {"g_AMPA": 0.0, "g_NMDA": 0.0, "g_GABA_A": -w_inh, "g_GABA_B": -w_inh}),
    ]
    for target, peaks in expected_peaks:
        mine = events["senders"] == target.global_id
        t = events["times"][mine]
        for name in names:
            g = events[name][mine]
            expected = np.where(
                t >= t_arrival - 1e-9, peaks[name] * np.exp(-(t - t_arrival) / tau[name]), 0.0
            )
            np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-12, err_msg=name)
    v_exc = events["V_m"][events["senders"] == exc_target.global_id]
    v_inh = events["V_m"][events["senders"] == inh_target.global_id]
    assert v_exc.max() > RS["v_r"] + 1.0  # EPSP towards E = 0 mV
    assert v_inh.min() < RS["v_r"] - 0.5  # IPSP towards E_GABA = -70, -90 mV


def test_nmda_voltage_factor_at_clamped_voltages(kernel):
    nest = kernel
    voltages = np.array([-80.0, -60.0, -20.0, 0.0, 40.0])
    # A huge capacitance and no quadratic or recovery term hold V_m in place.
    neurons = nest.Create(MODEL, len(voltages), params={"C": 1e12, "k": 0.0, "a": 0.0})
    neurons.set(V_m=voltages.tolist(), g_NMDA=2.0)
    meter = nest.Create(
        "multimeter", params={"interval": 1.0, "record_from": ["B_NMDA", "I_NMDA", "g_NMDA", "V_m"]}
    )
    nest.Connect(meter, neurons)
    nest.Simulate(10.0)
    events = meter.events
    x = (voltages + 80.0) / 60.0
    factor = x**2 / (1.0 + x**2)  # 0, 0.1, 0.5, 0.64, 0.8
    for neuron, v, b in zip(neurons, voltages, factor, strict=True):
        mine = events["senders"] == neuron.global_id
        np.testing.assert_allclose(events["V_m"][mine], v, atol=1e-6)
        np.testing.assert_allclose(events["B_NMDA"][mine], b, rtol=1e-9, atol=1e-12)
        current = -events["g_NMDA"][mine] * b * (v - 0.0)
        np.testing.assert_allclose(events["I_NMDA"][mine], current, rtol=1e-9, atol=1e-9)


def test_broken_model_raises_and_leaves_no_build(tmp_path):
    pytest.importorskip("pynestml")
    broken = tmp_path / "broken.nestml"
    broken.write_text(
        "model broken_neuron:\n"
        "    state:\n"
        "        V_m mV = 0 mV\n"
        "    equations:\n"
        "        V_m' = -V_m / tau_undefined\n"
    )
    build_dir = tmp_path / "build" / "nestml"
    # NESTML returns normally when a model has errors: the missing library
    # must be noticed, reported with the log, and leave no folder behind.
    with pytest.raises(RuntimeError, match="tau_undefined"):
        build_nest_module([broken], build_dir, module_name="brokenmodule")
    assert list((tmp_path / "build").iterdir()) == []
