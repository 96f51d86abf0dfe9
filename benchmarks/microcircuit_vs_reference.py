"""lfpflow's network stage against the reference PD microcircuit, scale by scale.

Usage::

    python benchmarks/microcircuit_vs_reference.py --scales 0.1 0.5 1

For each scale s (neuron numbers and in-degrees both scaled by s, as the
reference implementation's example does) two child processes run one after
the other, never at once, on the same number of NEST threads:

* ``lfpflow``: what the ``network`` rule does (resolve config/microcircuit.yaml
  with ``network.scale = network.k_scale = s``, build and simulate with
  :func:`lfpflow.pointneuron.network.simulate_network`, write spikes.h5);
* ``reference``: the PyPI package ``microcircuit`` (PyNEST implementation of
  Potjans & Diesmann 2014 by its authors), ``N_scaling = K_scaling = s``,
  Poisson background (``bg_input_type: poisson``; the package's default is a
  DC equivalent), its own resolution (0.1 ms) unless ``--reference-dt``;
  build = ``Network()`` + ``create()`` + ``connect()`` (which includes
  ``nest.Prepare()``), simulate = 500 ms presimulation + 1000 ms.

With ``--repeats R`` the two alternate R times and the fastest run of each
side counts (the machine is shared; all runs are kept in the JSON);
``--sides lfpflow`` reruns one side only, the other keeping its recorded run. Each
child reports its build and simulate wall times, its whole wall time
(imports and file writing included) and its peak RSS
(``resource.getrusage``); the parent records the load average and the
available memory before each child. Per-population rates (spikes after the
500 ms transient) are compared with Potjans & Diesmann (2014) (Fig. 6,
Poisson background; see ``PD_RATES_HZ``). Results go to
``benchmarks/microcircuit_vs_reference.json`` (merged with what is there,
keyed by scale).

Threads: 2 (the machine's cores) below full scale, 4 at full scale (NEST
holds at most 2^27 - 2 connections per virtual process and synapse model).
The kernel settings (kernels.*) do not enter the network stage.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "benchmarks" / "microcircuit_vs_reference.json"
POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")

#: Target rates (Hz), full scale, Poisson background. Excitatory: Potjans &
#: Diesmann (2014), Fig. 6 and text, as tabulated by Romaro et al. (2021,
#: Neural Comput 33:1993, Table A.1, "NEST trial"). Inhibitory (the paper
#: gives them only as bars): the reference implementation's full-scale rates
#: (microcircuit 1.0, network_params.py, full_mean_rates); its full-scale run
#: with Poisson background here (seed 55, 4 threads) reproduces all eight of
#: those values to the digit, so they are its Poisson-background rates.
PD_RATES_HZ = {
    "L23E": 0.86,
    "L23I": 2.965,
    "L4E": 4.45,
    "L4I": 5.876,
    "L5E": 7.59,
    "L5I": 8.633,
    "L6E": 1.09,
    "L6I": 7.829,
}
PD_RATE_SOURCES = {
    "excitatory": "Potjans & Diesmann 2014 Fig. 6 (via Romaro et al. 2021 Table A.1)",
    "inhibitory": "microcircuit 1.0 network_params.full_mean_rates",
}
TSTOP_MS, TRANSIENT_MS = 1500.0, 500.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def run_lfpflow(scale: float, n_vp: int, workdir: Path) -> dict[str, Any]:
    """Child: the network rule's work at ``scale``; returns timings, RSS, rates."""
    import numpy as np

    from lfpflow.config import load_yaml, stage_config
    from lfpflow.config.schema import merge_overlay
    from lfpflow.pointneuron.network import simulate_network
    from lfpflow.resolve import load_config
    from lfpflow.signals.spikes import write_spikes

    overlay = load_yaml(REPO / "config" / "microcircuit.yaml")
    config = load_config(
        overrides=merge_overlay(
            overlay,
            {
                "network": {"scale": scale, "k_scale": scale},
                "simulation": {"n_vp": n_vp, "tstop_ms": TSTOP_MS, "transient_ms": TRANSIENT_MS},
            },
        )
    )
    network_config = stage_config(config, "network")
    spikes = simulate_network(network_config)
    write_spikes(workdir / "spikes.h5", spikes, config=network_config)
    window_s = (TSTOP_MS - TRANSIENT_MS) / 1000.0
    rates = {
        name: float(np.sum(times >= TRANSIENT_MS)) / spikes.population_sizes[name] / window_s
        for name, times in spikes.times_ms.items()
    }
    return {
        "build_s": spikes.timings_s["build"],
        "simulate_s": spikes.timings_s["simulate"],
        "rates_Hz": rates,
        "neurons": sum(spikes.population_sizes.values()),
    }


def run_reference(scale: float, n_vp: int, workdir: Path, dt_ms: float) -> dict[str, Any]:
    """Child: the ``microcircuit`` package at ``scale``; returns timings, RSS, rates."""
    import copy

    import nest
    import numpy as np
    from microcircuit.network import Network
    from microcircuit.network_params import default_net_dict
    from microcircuit.sim_params import default_sim_dict
    from microcircuit.stimulus_params import default_stim_dict

    net_dict = copy.deepcopy(default_net_dict)
    net_dict.update({"N_scaling": scale, "K_scaling": scale, "bg_input_type": "poisson"})
    sim_dict = copy.deepcopy(default_sim_dict)
    sim_dict.update(
        {
            "local_num_threads": n_vp,
            "data_path": str(workdir) + "/",
            "print_time": False,
            "sim_resolution": dt_ms,
            "t_presim": TRANSIENT_MS,
            "t_sim": TSTOP_MS - TRANSIENT_MS,
        }
    )
    started = time.perf_counter()
    network = Network(sim_dict, net_dict, copy.deepcopy(default_stim_dict))
    network.create()
    network.connect()
    built = time.perf_counter()
    network.simulate(sim_dict["t_presim"])
    after_transient = np.asarray(network.spike_recorders.get("n_events"))
    network.simulate(sim_dict["t_sim"])
    simulated = time.perf_counter()
    counts = np.asarray(network.spike_recorders.get("n_events")) - after_transient
    window_s = sim_dict["t_sim"] / 1000.0
    rates = {
        name: float(count) / len(population) / window_s
        for name, count, population in zip(POPULATIONS, counts, network.pops, strict=True)
    }
    return {
        "build_s": built - started,
        "simulate_s": simulated - built,
        "rates_Hz": rates,
        "neurons": int(sum(len(p) for p in network.pops)),
        "nest_version": nest.__version__,
        "dt_ms": dt_ms,
    }


def child(which: str, scale: float, n_vp: int, reference_dt: float) -> None:
    """Run one side in this process and print its JSON result on the last line."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mc_{which}_") as folder:
        if which == "lfpflow":
            result = run_lfpflow(scale, n_vp, Path(folder))
        else:
            result = run_reference(scale, n_vp, Path(folder), reference_dt)
    result["wall_s"] = time.perf_counter() - started
    result["peak_rss_MB"] = _peak_rss_mb()
    print(json.dumps(result))


def _machine_state() -> dict[str, Any]:
    with open("/proc/meminfo") as handle:
        meminfo = dict(line.split(":", 1) for line in handle)
    return {
        "load_average_1_5_15": list(os.getloadavg()),
        "mem_available_GB": int(meminfo["MemAvailable"].split()[0]) / 1024**2,
    }


def measure(which: str, scale: float, n_vp: int, reference_dt: float) -> dict[str, Any]:
    """Run one side in a fresh process (imports and NEST state never shared)."""
    before = _machine_state()
    command = [sys.executable, __file__, "--child", which, "--scales", str(scale)]
    command += ["--n-vp", str(n_vp), "--reference-dt", str(reference_dt)]
    env = {**os.environ, "PYNEST_QUIET": "1", "OMP_NUM_THREADS": str(n_vp)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{which} at scale {scale} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["machine_before"] = before
    return result


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the smallest build + simulate time, with every run's times kept."""
    best = dict(min(runs, key=lambda run: run["build_s"] + run["simulate_s"]))
    best["all_runs_build_simulate_wall_s"] = [
        [run["build_s"], run["simulate_s"], run["wall_s"]] for run in runs
    ]
    return best


def _earlier_runs(previous: dict[str, Any] | None, side: str) -> list[dict[str, Any]]:
    """The runs of ``side`` an earlier invocation recorded for this scale."""
    if not previous:
        return []
    best = {k: v for k, v in previous[side].items() if k != "all_runs_build_simulate_wall_s"}
    return [best]


def compare(
    scale: float,
    n_vp: int,
    reference_dt: float,
    repeats: int,
    sides: tuple[str, ...],
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """Both sides at ``scale``, alternately (lfpflow, then the reference) ``repeats``
    times; the fastest run of each side counts (other workers share the machine,
    and interference only ever slows a run down). A side not in ``sides`` keeps
    the fastest run an earlier invocation recorded (``previous``); a side that
    is rerun also keeps it as a candidate."""
    ours_runs = _earlier_runs(previous, "lfpflow")
    their_runs = _earlier_runs(previous, "reference")
    for _ in range(repeats):
        if "lfpflow" in sides:
            ours_runs.append(measure("lfpflow", scale, n_vp, reference_dt))
        if "reference" in sides:
            their_runs.append(measure("reference", scale, n_vp, reference_dt))
    ours, theirs = _fastest(ours_runs), _fastest(their_runs)
    entry: dict[str, Any] = {
        "scale": scale,
        "n_vp": n_vp,
        "repeats": repeats,
        "tstop_ms": TSTOP_MS,
        "transient_ms": TRANSIENT_MS,
        "lfpflow": ours,
        "reference": theirs,
        "ratio_build_plus_simulate": (ours["build_s"] + ours["simulate_s"])
        / (theirs["build_s"] + theirs["simulate_s"]),
        "ratio_stage_wall_to_reference_build_plus_simulate": ours["wall_s"]
        / (theirs["build_s"] + theirs["simulate_s"]),
        "ratio_peak_rss": ours["peak_rss_MB"] / theirs["peak_rss_MB"],
    }
    if scale == 1.0:
        entry["rates_vs_pd"] = {
            name: {
                "pd_Hz": PD_RATES_HZ[name],
                "lfpflow_Hz": ours["rates_Hz"][name],
                "relative_difference": ours["rates_Hz"][name] / PD_RATES_HZ[name] - 1.0,
                "reference_Hz": theirs["rates_Hz"][name],
            }
            for name in POPULATIONS
        }
        entry["rates_within_30_percent"] = all(
            abs(item["relative_difference"]) <= 0.3 for item in entry["rates_vs_pd"].values()
        )
        entry["pd_rate_sources"] = PD_RATE_SOURCES
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.5, 1.0])
    parser.add_argument("--n-vp", type=int, default=None, help="default: 2, 4 at full scale")
    parser.add_argument("--reference-dt", type=float, default=0.1, help="ms (package: 0.1)")
    parser.add_argument("--child", choices=["lfpflow", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs per scale")
    parser.add_argument(
        "--sides", nargs="+", choices=["lfpflow", "reference"], default=["lfpflow", "reference"]
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.scales[0], args.n_vp, args.reference_dt)
        return
    results = json.loads(args.output.read_text()) if args.output.is_file() else {}
    for scale in args.scales:
        n_vp = args.n_vp or (4 if scale >= 1.0 else 2)
        previous = results.get(f"{scale:g}") if len(args.sides) < 2 else None
        entry = compare(scale, n_vp, args.reference_dt, args.repeats, tuple(args.sides), previous)
        results[f"{scale:g}"] = entry
        args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        ours, theirs = entry["lfpflow"], entry["reference"]
        print(
            f"scale {scale:g} (n_vp {n_vp}): lfpflow build {ours['build_s']:.1f} s, simulate "
            f"{ours['simulate_s']:.1f} s, wall {ours['wall_s']:.1f} s, {ours['peak_rss_MB']:.0f} MB"
            f" | reference build {theirs['build_s']:.1f} s, simulate {theirs['simulate_s']:.1f} s,"
            f" {theirs['peak_rss_MB']:.0f} MB | ratio {entry['ratio_build_plus_simulate']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
