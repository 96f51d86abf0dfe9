"""Kernel prediction of an existing ground-truth run with other kernel settings.

Recomputes the ground-truth kernels (g_eff on / off, configured vs measured
rates, synapses linearised at kernels.cell.Vrest_mV or at the MC network's
measured potentials, groundtruth.kernel_vrest) for the spikes of a finished
``snakemake groundtruth`` run, predicts with lfpflow.signals.forward and compares with
the MC signals (lfpflow.signals.comparison); prints a table and the kernel-route cost.
Used for docs/groundtruth.md. R² is the coefficient of determination
(comparison.json's ``r2``), r the signed correlation, r² its square.

Usage (from a project folder with a finished run):

    python3 benchmarks/groundtruth_geff.py results/default/groundtruth [config.yaml]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from lfpflow import io
from lfpflow.config import load_yaml, stage_config
from lfpflow.formats.heads import sensor_maps
from lfpflow.multicompartment.groundtruth import groundtruth_kernel_config
from lfpflow.multicompartment.kernels import compute_kernel
from lfpflow.resolve import resolve_config
from lfpflow.signals.analysis import mean_rates_Hz
from lfpflow.signals.comparison import compare_all
from lfpflow.signals.forward import compute_signals
from lfpflow.signals.rates import population_rates
from lfpflow.signals.spikes import read_spikes


def main(run_dir: Path, config_file: Path) -> None:
    config = stage_config(resolve_config(load_yaml(config_file)), "groundtruth")
    gt = config["groundtruth"]
    dt = config["simulation"]["dt_ms"]
    spikes = read_spikes(run_dir / "spikes.h5")
    sizes = spikes.population_sizes
    measured = mean_rates_Hz(spikes, t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"])
    truth = io.read_h5(run_dir / "signals.h5")
    attrs = truth["attrs"]  # network description and measured potentials of the MC run
    t_ms, counts = population_rates(spikes.times_ms, tstop_ms=gt["tstop_ms"], dt_ms=dt)
    print(f"sizes {sizes}, measured rates {measured}")
    rows = []
    potentials = (
        json.loads(attrs["linearisation_potential_mV"])
        if "linearisation_potential_mV" in attrs
        else None
    )
    v0 = f"Vrest {config['kernels']['cell']['Vrest_mV']:g}"
    variants = [
        (f"g_eff on, measured rates, {v0}", True, measured, False),
        (f"g_eff on, config rates, {v0}", True, None, False),
        (f"g_eff off, {v0}", False, None, False),
    ]
    if potentials is not None:
        variants.insert(0, ("g_eff on, measured rates, Vrest measured", True, measured, True))
    for label, g_eff, rates, measured_vrest in variants:
        started = time.perf_counter()
        kernels = {
            (post, pre): compute_kernel(
                groundtruth_kernel_config(
                    config["kernels"],
                    gt["scale"],
                    rates,
                    g_eff=g_eff,
                    vrest_mV=potentials[f"{post}:{pre}"] if measured_vrest else None,
                ),
                post=post,
                pre=pre,
                dt_ms=dt,
                mechanisms_dir=Path("build/mechanisms"),
                morphology_dir=Path("morphologies"),
            )
            for post in sorted(sizes)
            for pre in sorted(sizes)
        }
        kernel_s = time.perf_counter() - started
        started = time.perf_counter()
        predicted = compute_signals(
            t_ms,
            counts,
            kernels,
            sensor_maps(config["forward"]["head_model"], config["forward"]["meg"]),
            dt_ms=dt,
        )
        forward_s = time.perf_counter() - started
        n = min(truth["LFP"].shape[1], predicted["LFP"].shape[1])
        result = compare_all(
            {k: np.asarray(truth[k])[..., :n] for k in ("LFP", "CDM", "EEG")},
            {k: np.asarray(predicted[k])[..., :n] for k in ("LFP", "CDM", "EEG")},
            dt_ms=dt,
            transient_ms=gt["transient_ms"],
            cutoff_Hz=gt["filter"]["cutoff_Hz"],
            order=gt["filter"]["order"],
        )
        rows.append((label, result, kernel_s, forward_s))
    print(
        "| kernels | LFP median R² (10-90 %) | LFP filt. | LFP r | LFP r² | LFP std ratio "
        "| CDM_z R² | CDM_z filt. | CDM_z r | CDM_z std ratio | kernels s | forward s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r, kernel_s, forward_s in rows:
        lfp, cdm = r["LFP"], r["CDM_z"]
        print(
            f"| {label} | {lfp['median_r2']:.3f} ({lfp['q10_r2']:.2f}-{lfp['q90_r2']:.2f}) | "
            f"{lfp['filtered']['median_r2']:.3f} | {lfp['median_correlation']:.3f} | "
            f"{lfp['median_squared_correlation']:.3f} | {lfp['median_std_ratio']:.2f} | "
            f"{cdm['r2'][0]:.3f} | {cdm['filtered']['r2'][0]:.3f} | "
            f"{cdm['correlation'][0]:.3f} | {cdm['std_ratio'][0]:.2f} | "
            f"{kernel_s:.1f} | {forward_s:.2f} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "config/config.yaml"))
