"""Bare PyNEST reference for the end-to-end target of the workflow.

Builds and simulates the network of config/config.yaml (or the file given) with
plain PyNEST calls and nothing else: no output files. The workflow's end-to-end
wall time is compared against this script's (README, "Performance"). Run on the
same machine, one after the other:

    python benchmarks/bare_pynest.py [config/config.yaml] [--dry-run]

The file is an overlay: it is resolved first (lfpflow.resolve.load_config merges
the schema's defaults and checks it), before the clock starts, so only NEST's
import, build and simulation are timed. The network is the resolved
configuration's top-level ``populations`` (size, model, params) and ``network``
(connections, drive). ``--dry-run`` prints what would be built and stops before
importing NEST.
"""

import os
import sys
import time

from lfpflow.resolve import load_config

args = [arg for arg in sys.argv[1:] if arg != "--dry-run"]
config = load_config(args[0] if args else "config/config.yaml")
sim, net, populations = config["simulation"], config["network"], config["populations"]
if "--dry-run" in sys.argv[1:]:
    for name, population in populations.items():
        print(f"population {name}: {population['size']} x {population['model']}")
    for conn in net["connections"]:
        print(f"connection {conn['pre']} -> {conn['post']}: p {conn['p']}, {conn['weight_pA']} pA")
    drive = net["drive"]
    print(f"drive: {drive['n_ext']} x {drive['nu_ext_Hz']} Hz, {drive['weight_pA']} pA")
    print(f"simulation: {sim['tstop_ms']} ms at dt {sim['dt_ms']} ms, n_vp {sim['n_vp']}")
    sys.exit(0)

started = time.perf_counter()
os.environ.setdefault("PYNEST_QUIET", "1")
import nest  # noqa: E402
import numpy as np  # noqa: E402

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
for name, population in populations.items():
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
    rate = np.count_nonzero(times >= t0) / populations[name]["size"]
    print(f"{name}: {rate / ((sim['tstop_ms'] - t0) * 1e-3):.2f} Hz")
total = done - started
print(f"import+build {built - started:.1f} s, simulate {done - built:.1f} s, total {total:.1f} s")
