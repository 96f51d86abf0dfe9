"""Bare PyNEST reference for the end-to-end target of the workflow.

Builds and simulates the network of config/config.yaml (or the file given) with
plain PyNEST calls and nothing else: no validation, no output files. The
workflow's end-to-end wall time is compared against this script's
(README, "Performance"). Run on the same machine, one after the other:

    python benchmarks/bare_pynest.py [config/config.yaml]
"""

import os
import sys
import time

started = time.perf_counter()
os.environ.setdefault("PYNEST_QUIET", "1")
import nest  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

config_path = sys.argv[1] if len(sys.argv) > 1 else "config/config.yaml"
with open(config_path) as handle:
    config = yaml.safe_load(handle)
sim, net = config["simulation"], config["network"]

nest.ResetKernel()
nest.SetKernelStatus(
    {
        "total_num_virtual_procs": sim["n_vp"],
        "resolution": sim["dt_ms"],
        "tics_per_ms": int(round(1 / sim["dt_ms"])),
        "rng_seed": 1 + config["seed"],
    }
)
neurons, recorders = {}, {}
for name, population in net["populations"].items():
    # the default network's catalogue model "lif" is NEST's iaf_psc_exp
    nest_model = {"lif": "iaf_psc_exp"}[population["model"]]
    neurons[name] = nest.Create(nest_model, population["size"], population["params"])
    recorders[name] = nest.Create("spike_recorder")
    nest.Connect(neurons[name], recorders[name])
for conn in net["connections"]:
    w, d = conn["weight_pA"], conn["delay_ms"]
    nest.Connect(
        neurons[conn["pre"]],
        neurons[conn["post"]],
        {"rule": "pairwise_bernoulli", "p": conn["p"]},
        {
            "weight": nest.math.redraw(
                nest.random.normal(w, abs(w) * net["weight_rel_sd"]),
                min=0.0 if w >= 0 else -np.inf,
                max=np.inf if w >= 0 else 0.0,
            ),
            "delay": nest.math.redraw(
                nest.random.normal(d, d * net["delay_rel_sd"]), min=net["delay_min_ms"], max=np.inf
            ),
        },
    )
for name, n_ext in net["drive"]["n_ext"].items():
    generator = nest.Create("poisson_generator", params={"rate": n_ext * net["drive"]["nu_ext_Hz"]})
    nest.Connect(generator, neurons[name], "all_to_all", {"weight": net["drive"]["weight_pA"]})
built = time.perf_counter()
nest.Simulate(sim["tstop_ms"])
done = time.perf_counter()

t0 = sim["transient_ms"]
for name, recorder in recorders.items():
    times = recorder.get("events")["times"]
    rate = np.count_nonzero(times >= t0) / net["populations"][name]["size"]
    print(f"{name}: {rate / ((sim['tstop_ms'] - t0) * 1e-3):.2f} Hz")
total = done - started
print(f"import+build {built - started:.1f} s, simulate {done - built:.1f} s, total {total:.1f} s")
