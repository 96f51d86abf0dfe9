"""Size, time and peak memory of the NWB export at full microcircuit scale (synthetic inputs).

77,169 neurons in the eight populations of the Potjans & Diesmann (2014)
microcircuit, Poisson spikes at 5 Hz on the NEST time grid for 1.5 s at
dt = 0.0625 ms (16 kHz); 16 LFP and CSD contacts, the CDM, 7 EEG electrodes
and 7 MEG sensors (24,000 samples each). The inputs are written with lfpflow's
own writers (write_spikes, write_signals) to a temporary folder; the export
(lfpflow.formats.nwb.export_nwb) then runs in a fresh Python process, so that
its peak resident memory (VmHWM) is its own; the memory after the imports
is printed beside it. As in workflow/scripts/nwb.py, the NEST model names
come from the point-neuron catalogue (looked up here, by the parent). With
--inspect the NWB Inspector runs on the file too.

    python benchmarks/nwb_export.py [--tstop-ms 1500] [--rate-hz 5] [--contacts 16]
                                    [--level 4] [--inspect]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Population sizes of the full-scale microcircuit (Potjans & Diesmann 2014).
MICROCIRCUIT = {
    "L23E": 20683,
    "L23I": 5834,
    "L4E": 21915,
    "L4I": 5479,
    "L5E": 4850,
    "L5I": 1065,
    "L6E": 14395,
    "L6I": 2948,
}

#: Polar angles (deg) of the EEG electrodes (and MEG sensors) from the vertex.
POLAR_ANGLES_DEG = (0.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0)


def export_config(args: argparse.Namespace) -> dict:
    """The export stage configuration of the default run, scaled to the microcircuit."""
    from lfpflow.config import default_config, stage_config

    config = stage_config(default_config(), "export")
    config["simulation"].update(tstop_ms=args.tstop_ms, dt_ms=args.dt_ms, transient_ms=100.0)
    config["export"]["compression_level"] = args.level
    # the 7 electrodes of synthetic_signals: a head that needs no MNE montage to describe
    config["forward"]["head_model"].update(
        montage="polar",
        column_position=[0.0, 0.0, 78000.0],
        electrode_polar_angles_deg=list(POLAR_ANGLES_DEG),
    )
    config["network"]["populations"] = {
        name: {"size": size, "model": "lif", "params": {}} for name, size in MICROCIRCUIT.items()
    }
    return config


def poisson_spikes(args: argparse.Namespace, rng: np.random.Generator):
    """Poisson spikes on the time grid, at most one per neuron and step (NetworkSpikes)."""
    from lfpflow.signals.spikes import NetworkSpikes

    n_steps = round(args.tstop_ms / args.dt_ms)
    times, senders = {}, {}
    for name, size in MICROCIRCUIT.items():
        count = rng.poisson(size * args.rate_hz * args.tstop_ms / 1000.0)
        slots = np.unique(rng.integers(0, size * n_steps, count))  # sorted by step, then neuron
        step, neuron = np.divmod(slots, size)
        times[name] = step * args.dt_ms
        senders[name] = neuron
    return NetworkSpikes(
        times_ms=times,
        senders=senders,
        population_sizes=dict(MICROCIRCUIT),
        tstop_ms=args.tstop_ms,
        dt_ms=args.dt_ms,
        n_vp=1,
    )


def smooth_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise low-passed at about 100 Hz (a stand-in for a model signal)."""
    spectrum = np.fft.rfft(rng.normal(size=shape), axis=-1)
    frequencies = np.fft.rfftfreq(shape[-1], d=1.0 / 16000.0)
    return scale * np.fft.irfft(spectrum / (1.0 + (frequencies / 100.0) ** 2), n=shape[-1])


def synthetic_signals(args: argparse.Namespace, rng: np.random.Generator) -> dict:
    """signals.h5 content of the sizes in the module docstring (write_signals' input)."""
    n = round(args.tstop_ms / args.dt_ms)
    angles = np.deg2rad(POLAR_ANGLES_DEG)
    on_sphere = np.column_stack([np.sin(angles), np.zeros_like(angles), np.cos(angles)])
    return {
        "t_ms": np.arange(n) * args.dt_ms,
        "LFP": smooth_noise((args.contacts, n), 0.1, rng),
        "CSD": smooth_noise((args.contacts, n), 1e-9, rng),
        "CDM": smooth_noise((3, n), 1e4, rng),
        "EEG": smooth_noise((7, n), 1e-2, rng),
        "MEG": smooth_noise((7, n), 1.0, rng),
        "electrodes_um": 89999.91 * on_sphere,
        "meg_sensors_um": 1e5 * on_sphere,
        "contributions": {},
    }


def write_inputs(folder: Path, args: argparse.Namespace) -> dict:
    """Write spikes.h5 and signals.h5 into ``folder``; returns the export configuration."""
    from lfpflow.signals.forward import write_signals
    from lfpflow.signals.spikes import write_spikes

    rng = np.random.default_rng(1)
    config = export_config(args)
    spikes = poisson_spikes(args, rng)
    write_spikes(folder / "spikes.h5", spikes, config=config)
    forward_config = copy.deepcopy(config)
    z_um = np.linspace(1500.0, 0.0, args.contacts)
    write_signals(
        folder / "signals.h5", synthetic_signals(args, rng), config=forward_config, z_um=z_um
    )
    return config


def memory_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process (MB), from /proc (Linux).

    Not ru_maxrss: Linux carries it over from the parent through fork and exec,
    so a child started by a large parent would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def export_in_this_process(folder: Path) -> None:
    """The child: export ``folder``/in.nwb and print timings and memory as JSON."""
    started = time.perf_counter()
    from lfpflow.formats.nwb import export_nwb

    rss_imports_mb = memory_mb("VmRSS")
    config = json.loads((folder / "config.json").read_text())
    nest_models = json.loads((folder / "nest_models.json").read_text())
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    written = export_nwb(
        folder / "microcircuit.nwb",
        spikes_path=folder / "spikes.h5",
        signals_path=folder / "signals.h5",
        config=config,
        run="microcircuit",
        nest_models=nest_models,
    )
    export_s = time.perf_counter() - started
    peak_mb = memory_mb("VmHWM")
    print(
        json.dumps(
            dict(
                written,
                import_s=import_s,
                export_s=export_s,
                rss_after_imports_mb=rss_imports_mb,
                peak_rss_mb=peak_mb,
            )
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop-ms", type=float, default=1500.0)
    parser.add_argument("--dt-ms", type=float, default=0.0625)
    parser.add_argument("--rate-hz", type=float, default=5.0)
    parser.add_argument("--contacts", type=int, default=16)
    parser.add_argument("--level", type=int, default=4, help="gzip level (0: none)")
    parser.add_argument("--inspect", action="store_true", help="also run the NWB Inspector")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        export_in_this_process(args.child)
        return
    from lfpflow.pointneuron.catalogue import nest_models

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_inputs(folder, args)
        (folder / "config.json").write_text(json.dumps(config))
        populations = config["network"]["populations"].values()
        models = nest_models(population["model"] for population in populations)
        (folder / "nest_models.json").write_text(json.dumps(models))
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        inputs_mb = sum((folder / n).stat().st_size for n in ("spikes.h5", "signals.h5")) / 1e6
        print(
            f"{result['n_units']} neurons, {result['n_spikes']} spikes, "
            f"{result['n_samples']} samples; gzip level {args.level}"
        )
        print(
            f"NWB file: {result['bytes'] / 1e6:.1f} MB (inputs spikes.h5 + signals.h5: "
            f"{inputs_mb:.1f} MB)"
        )
        print(f"export: {result['export_s']:.2f} s (+ {result['import_s']:.2f} s imports)")
        print(
            f"peak RSS: {result['peak_rss_mb']:.0f} MB "
            f"({result['rss_after_imports_mb']:.0f} MB after imports)"
        )
        if args.inspect:
            inspect(folder / "microcircuit.nwb")


def inspect(path: Path) -> None:
    """Run the NWB Inspector's Python API on ``path``; print its time and message counts."""
    from nwbinspector import inspect_nwbfile

    started = time.perf_counter()
    messages = list(inspect_nwbfile(nwbfile_path=path))
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.importance.name] = counts.get(message.importance.name, 0) + 1
    print(f"nwbinspector: {time.perf_counter() - started:.1f} s, {counts or 'no messages'}")


if __name__ == "__main__":
    main()
