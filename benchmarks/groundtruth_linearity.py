"""Where does the amplitude gap between MC ground truth and kernel prediction come from?

Runs, for one configuration (default: config/config.yaml with the scale and
duration given on the command line), the following MC networks and kernel
predictions and prints R² (coefficient of determination, comparison.json's
``r2``), signed correlation r and std ratio (prediction / MC) for LFP and CDM_z:

``active``
    The ground-truth network as ``snakemake groundtruth`` simulates it (hh
    soma), recording the time-averaged membrane potential of every segment.
``passive``
    The same cells, connectivity, delays and external drive, every membrane
    passive, the recurrent connections replaying the spikes of ``active``
    (lfpflow.multicompartment.groundtruth.simulate_groundtruth(active_soma=False,
    replay_spikes=...)): conductance synapses on a linear membrane.
``current``
    As ``passive`` but with current synapses (kernels.synapse_type: current,
    peak current weight * (e_rev - Vrest)) and no external drive: a network
    that is exactly linear in the replayed spikes. The kernel route for it
    (current synapses, g_eff off) should reproduce it up to the sampling of
    connections and positions; a mismatch here is a description mismatch
    (bug), not physics.

Kernel variants: ``Vrest -65`` (kernels.cell.Vrest_mV, the pipeline's
kernels), ``Vrest measured`` (each pathway's kernel linearised at the MC
population's time-averaged potential, weighted over the segments like the
kernel's synapse density for that pathway). Also printed: mean potentials
(soma, dendrite, per-pathway synapse-weighted) and synapses per cell, MC vs
the kernel's ``C_YX * N_X * mean multapses``.

Usage (from a project folder with build/mechanisms; about 4 MC runs of
~70 s each at scale 0.0625 and 1 s, plus 12 kernels):

    python3 benchmarks/groundtruth_linearity.py OUTDIR [--scale 0.0625]
        [--tstop 1000] [--config config/config.yaml]

Intermediate MC runs are kept in OUTDIR (``<label>.h5``, with units), the
table in ``OUTDIR/table.md``; a rerun reuses the MC runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from lfpflow import io
from lfpflow.config import load_yaml, stage_config
from lfpflow.formats.heads import sensor_maps
from lfpflow.multicompartment.groundtruth import (
    groundtruth_kernel_config,
    multapse_probabilities,
    simulate_groundtruth,
    synapse_weighted_potential,
)
from lfpflow.multicompartment.kernels import compute_kernel
from lfpflow.resolve import resolve_config
from lfpflow.signals.analysis import mean_rate_hz
from lfpflow.signals.comparison import compare_all
from lfpflow.signals.forward import compute_signals
from lfpflow.signals.head_models import SensorMaps, sensor_signals
from lfpflow.signals.rates import population_rates

MECHANISMS = Path("build/mechanisms")
MORPHOLOGIES = Path("morphologies")
#: Cells per population whose recurrent synapse currents and conductances are summed.
SYNAPSE_CELLS = 64


#: Units of the arrays kept per MC run (HDF5 cache, lfpflow.io).
_SIGNAL_UNITS = {"LFP": "mV", "CDM": "nA*um", "EEG": "uV"}
_MEAN_V_UNITS = {
    "v_mV": "mV",
    "v_sd_mV": "mV",
    "soma_v_mV": "mV",
    "z_rel_um": "um",
    "area_um2": "um^2",
    "section": "1",
}
_SYNAPSE_UNITS = {"i_nA": "nA", "g_uS": "uS", "n_objects": "1"}
#: Layout of the cached MC runs; 2: spike senders are indices within the population
#: (earlier caches hold gids and are simulated again).
_CACHE_VERSION = 2


def _write_run(path: Path, config, keep: dict) -> None:
    """One MC run's kept results -> HDF5 with units and provenance."""
    content = {
        "signals": {
            name: io.Dataset(keep["signals"][name], u) for name, u in _SIGNAL_UNITS.items()
        },
        "spikes": {
            name: {
                "times": io.Dataset(train["times"], "ms"),
                "senders": io.Dataset(
                    train["senders"], "1", description="neuron index within the population"
                ),
            }
            for name, train in keep["spikes"].items()
        },
        "mean_v": {
            name: {
                # section names as bytes: HDF5 has no numpy unicode arrays
                key: io.Dataset(
                    np.char.encode(np.asarray(v, dtype=str)) if key == "section" else v,
                    _MEAN_V_UNITS[key],
                )
                for key, v in part.items()
            }
            for name, part in keep["mean_v"].items()
        },
        "synapse_currents": {
            key: {name: io.Dataset(v, _SYNAPSE_UNITS[name]) for name, v in part.items()}
            for key, part in keep["synapse_currents"].items()
        },
    }
    attrs = io.provenance(
        config,
        network=keep["network"],
        timings_s=keep["timings_s"],
        wall_s=keep["wall_s"],
        cache_version=_CACHE_VERSION,
    )
    io.write_h5(path, content, attrs=attrs)


def _read_run(path: Path) -> dict:
    """The inverse of :func:`_write_run`."""
    data = io.read_h5(path)
    mean_v = {
        name: {
            key: np.char.decode(v).astype(str) if key == "section" else v for key, v in part.items()
        }
        for name, part in data["mean_v"].items()
    }
    synapse_currents = {
        key: dict(part, n_objects=int(part["n_objects"]))
        for key, part in data.get("synapse_currents", {}).items()
    }
    attrs = data["attrs"]
    return {
        "signals": data["signals"],
        "spikes": data["spikes"],
        "mean_v": mean_v,
        "synapse_currents": synapse_currents,
        "network": json.loads(attrs["network"]),
        "timings_s": json.loads(attrs["timings_s"]),
        "wall_s": float(attrs["wall_s"]),
    }


def run_mc(config, sensors: SensorMaps, out: Path, label: str, **kwargs) -> dict:
    """Simulate (or load) one MC network; keep spikes, signals and mean potentials.

    ``sensors``: the head's maps (:func:`lfpflow.formats.heads.sensor_maps`)
    for the EEG. The kept results are cached in ``out/<label>.h5`` (HDF5 with
    units), so a rerun of the script reuses finished MC runs.
    """
    path = out / f"{label}.h5"
    if path.exists() and io.read_h5(path)["attrs"].get("cache_version") == _CACHE_VERSION:
        return _read_run(path)
    started = time.perf_counter()
    result = simulate_groundtruth(
        config,
        mechanisms_dir=MECHANISMS,
        morphology_dir=MORPHOLOGIES,
        record_mean_v=True,
        record_synapse_cells=SYNAPSE_CELLS,
        **kwargs,
    )
    signals = {"LFP": result["LFP"], "CDM": result["CDM"]}
    signals["EEG"] = sensor_signals(result["CDM"], sensors)["EEG"]
    keep = {
        "signals": signals,
        "spikes": result["spikes"],
        "mean_v": result["mean_v"],
        "synapse_currents": result.get("synapse_currents", {}),
        "network": {
            k: result["network"][k]
            for k in ("sizes", "n_connections", "n_synapses", "in_degree", "first_gid")
        },
        "timings_s": result["timings_s"],
        "wall_s": time.perf_counter() - started,
    }
    _write_run(path, config, keep)
    return _read_run(path)


def kernels_for(config, rates, *, vrest=None, synapse_type=None, g_eff=None, n_ext_zero=False):
    """Ground-truth kernels; ``vrest``: (post, pre) -> Vrest_mV for the linearisation."""
    gt = config["groundtruth"]

    def pathway_config(post, pre):
        kcfg = groundtruth_kernel_config(
            config["kernels"],
            gt["scale"],
            rates,
            g_eff=g_eff,
            vrest_mV=None if vrest is None else vrest[(post, pre)],
        )
        if synapse_type is not None:
            kcfg["synapse_type"] = synapse_type
        if n_ext_zero:
            kcfg["external"]["n_ext"] = {k: 0 for k in kcfg["external"]["n_ext"]}
        return kcfg

    names = sorted(config["kernels"]["populations"])
    kernels = {}
    for post in names:
        for pre in names:
            kernels[(post, pre)] = compute_kernel(
                pathway_config(post, pre),
                post=post,
                pre=pre,
                dt_ms=config["simulation"]["dt_ms"],
                mechanisms_dir=MECHANISMS,
                morphology_dir=MORPHOLOGIES,
            )
    return kernels


def predict(config, sensors: SensorMaps, spikes, kernels) -> dict:
    gt = config["groundtruth"]
    times = {name: data["times"] for name, data in spikes.items()}
    t_ms, counts = population_rates(
        times, tstop_ms=gt["tstop_ms"], dt_ms=config["simulation"]["dt_ms"]
    )
    return compute_signals(t_ms, counts, kernels, sensors, dt_ms=config["simulation"]["dt_ms"])


def compare(config, truth: dict, predicted: dict) -> dict:
    gt = config["groundtruth"]
    n = min(truth["LFP"].shape[1], predicted["LFP"].shape[1])
    return compare_all(
        {k: np.asarray(truth[k])[..., :n] for k in ("LFP", "CDM", "EEG")},
        {k: np.asarray(predicted[k])[..., :n] for k in ("LFP", "CDM", "EEG")},
        dt_ms=config["simulation"]["dt_ms"],
        transient_ms=gt["transient_ms"],
        cutoff_Hz=gt["filter"]["cutoff_Hz"],
        order=gt["filter"]["order"],
    )


def row(label: str, r: dict) -> str:
    lfp, cdm = r["LFP"], r["CDM_z"]
    line = (
        f"| {label} | {lfp['median_r2']:.3f} ({lfp['q10_r2']:.2f}-{lfp['q90_r2']:.2f}) | "
        f"{lfp['median_correlation']:.3f} | "
        f"{lfp['median_std_ratio']:.2f} ({lfp['q10_std_ratio']:.2f}-{lfp['q90_std_ratio']:.2f}) | "
        f"{cdm['r2'][0]:.3f} | {cdm['correlation'][0]:.3f} | {cdm['std_ratio'][0]:.2f} |"
    )
    print(line, flush=True)
    return line


def describe_v(kcfg, mc: dict, label: str) -> dict:
    vr = {}
    for post, mv in mc["mean_v"].items():
        sec = mv["section"]
        area = mv["area_um2"]
        parts = {}
        for s in ("soma", "dend", "apic"):
            m = sec == s
            parts[s] = float(area[m] @ mv["v_mV"][m] / area[m].sum())
        soma = mv["soma_v_mV"]
        print(
            f"  {label} {post}: soma {soma.mean():.2f} mV (cells 10-90 % "
            f"{np.quantile(soma, 0.1):.2f}..{np.quantile(soma, 0.9):.2f}), area-weighted "
            + ", ".join(f"{s} {v:.2f}" for s, v in parts.items())
            + f"; sd over time of population mean (soma) {mv['v_sd_mV'][sec == 'soma'].mean():.2f}"
        )
        for pre in mc["mean_v"]:
            vr[(post, pre)] = synapse_weighted_potential(kcfg, mc["mean_v"], post, pre)
    print(
        f"  {label} synapse-weighted V (mV): "
        + ", ".join(f"{k[0]}:{k[1]} {v:.2f}" for k, v in vr.items())
    )
    return vr


def describe_synapses(config, mc: dict, label: str, vrest: dict) -> None:
    """Actual synaptic current vs its linearisation g(t) * (e_rev - V_lin), per pathway.

    ``V_eff = e_rev + <i> / <g>`` is the conductance-weighted potential at
    the synapses; ``amp(V)`` = std(g) * |V - e_rev| / std(i) is how much
    larger the linearised current's fluctuation is than the actual one.
    """
    first = int(round(config["groundtruth"]["transient_ms"] / config["simulation"]["dt_ms"]))
    v0 = float(config["kernels"]["cell"]["Vrest_mV"])
    for key, data in sorted(mc["synapse_currents"].items()):
        post, pre = key.split(":")
        e = float(config["kernels"]["synapses"][pre]["e_rev_mV"])
        i, g = data["i_nA"][first:], data["g_uS"][first:]
        v_eff = e + i.mean() / g.mean()

        def lin(v, g=g, e=e, i=i):
            return g.std() * abs(v - e) / i.std()

        corr = np.corrcoef(i, g)[0, 1]
        print(
            f"  {label} {key}: {data['n_objects']} synapse objects; <g> {g.mean():.4g} uS, "
            f"V_eff {v_eff:.2f} mV, V_mean(syn-weighted) {vrest[(post, pre)]:.2f} mV; "
            f"std(g)|V-e|/std(i): V=Vrest {lin(v0):.2f}, V=V_mean {lin(vrest[(post, pre)]):.2f}, "
            f"V=V_eff {lin(v_eff):.2f}; corr(i, g) {corr:.3f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--scale", type=float, default=0.0625)
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--skip-current", action="store_true")
    parser.add_argument(
        "--inh-scale",
        type=float,
        nargs="*",
        default=[],
        help="also replay the spikes through the passive network with the inhibitory weights "
        "(E:I, I:I) times these factors, against kernels with the same weights",
    )
    args = parser.parse_args()
    out = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    overlay = load_yaml(args.config)
    overlay["groundtruth"] = dict(
        overlay.get("groundtruth") or {}, scale=args.scale, tstop_ms=args.tstop
    )
    # validated like a workflow run; the stage view is what the ground-truth rules get
    config = stage_config(resolve_config(overlay), "groundtruth")
    gt = config["groundtruth"]
    kcfg_full = config["kernels"]
    fwd = config["forward"]
    sensors = sensor_maps(fwd["head_model"], fwd["meg"])  # built once: a montage is MNE's

    active = run_mc(config, sensors, out, "active")
    sizes = active["network"]["sizes"]
    rates = {
        name: mean_rate_hz(
            train["times"], sizes[name], t_start_ms=gt["transient_ms"], t_stop_ms=gt["tstop_ms"]
        )
        for name, train in active["spikes"].items()
    }
    print(f"scale {args.scale}, {args.tstop} ms, sizes {sizes}, rates (Hz) {rates}")
    print(f"active MC: wall {active['wall_s']:.0f} s")
    scaled = groundtruth_kernel_config(kcfg_full, args.scale)
    print("synapses per postsynaptic cell, MC vs kernel (C_YX N_X mean multapses):")
    for key, n_syn in active["network"]["n_synapses"].items():
        post, pre = key.split(":")
        values, probs = multapse_probabilities(kcfg_full["multapses"][key])
        expected = scaled["connection_probability"][key] * sizes[pre] * float(values @ probs)
        print(f"  {key}: MC {n_syn / sizes[post]:.1f}, kernel {expected:.1f}")
    v_active = describe_v(scaled, active, "active")
    describe_synapses(config, active, "active", v_active)

    passive = run_mc(
        config, sensors, out, "passive", active_soma=False, replay_spikes=active["spikes"]
    )
    print(f"passive replay MC: wall {passive['wall_s']:.0f} s")
    v_passive = describe_v(scaled, passive, "passive")
    describe_synapses(config, passive, "passive", v_passive)

    rows = []
    k_default = kernels_for(config, rates)
    pred_default = predict(config, sensors, active["spikes"], k_default)
    rows.append(
        row(
            "active MC vs kernels Vrest -65 (pipeline)",
            compare(config, active["signals"], pred_default),
        )
    )
    rows.append(
        row(
            "passive replay vs kernels Vrest -65", compare(config, passive["signals"], pred_default)
        )
    )
    k_va = kernels_for(config, rates, vrest=v_active)
    pred_va = predict(config, sensors, active["spikes"], k_va)
    rows.append(
        row(
            "active MC vs kernels Vrest = active MC mean",
            compare(config, active["signals"], pred_va),
        )
    )
    k_vp = kernels_for(config, rates, vrest=v_passive)
    pred_vp = predict(config, sensors, active["spikes"], k_vp)
    rows.append(
        row(
            "passive replay vs kernels Vrest = passive mean",
            compare(config, passive["signals"], pred_vp),
        )
    )

    if not args.skip_current:
        cur_config = copy.deepcopy(config)
        cur_config["kernels"]["synapse_type"] = "current"
        cur_config["kernels"]["g_eff"] = False
        cur_config["kernels"]["external"]["n_ext"] = {k: 0 for k in kcfg_full["external"]["n_ext"]}
        current = run_mc(
            cur_config, sensors, out, "current", active_soma=False, replay_spikes=active["spikes"]
        )
        print(f"current replay MC: wall {current['wall_s']:.0f} s")
        k_cur = kernels_for(config, rates, synapse_type="current", g_eff=False)
        pred_cur = predict(config, sensors, active["spikes"], k_cur)
        rows.append(
            row(
                "current-synapse replay vs current kernels (no g_eff)",
                compare(config, current["signals"], pred_cur),
            )
        )
        # the same linear network against the conductance kernels without g_eff
        k_off = kernels_for(config, rates, g_eff=False)
        rows.append(
            row(
                "current-synapse replay vs conductance kernels, g_eff off",
                compare(
                    config, current["signals"], predict(config, sensors, active["spikes"], k_off)
                ),
            )
        )

    for factor in args.inh_scale:
        weak = copy.deepcopy(config)
        for key in ("E:I", "I:I"):
            weak["kernels"]["weights_uS"][key] *= factor
        label = f"passive_inh{factor:g}"
        mc = run_mc(weak, sensors, out, label, active_soma=False, replay_spikes=active["spikes"])
        scaled_weak = groundtruth_kernel_config(weak["kernels"], args.scale)
        v_weak = describe_v(scaled_weak, mc, label)
        describe_synapses(weak, mc, label, v_weak)
        pred = predict(weak, sensors, active["spikes"], kernels_for(weak, rates, vrest=v_weak))
        rows.append(
            row(
                f"passive replay, inhibitory weights x {factor:g}, vs kernels (Vrest measured)",
                compare(weak, mc["signals"], pred),
            )
        )

    print(
        "| MC network vs kernels | LFP median R² (10-90 %) | LFP median r "
        "| LFP std ratio median (10-90 %) | CDM_z R² | CDM_z r | CDM_z std ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for line in rows:
        print(line)
    (out / "table.md").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
