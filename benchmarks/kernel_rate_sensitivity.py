"""How much a kernel changes when the network's rates differ from the assumed ones.

g_eff (Hagen et al. 2022) adds the mean synaptic conductance, which is
proportional to ``kernels.presynaptic_rates_Hz``, to the passive membrane. A
run whose measured rates differ from the assumed ones is predicted with
kernels of the wrong conductance. This script recomputes every kernel of a
configuration with all presynaptic rates scaled by each factor and reports the
relative L2 change of the LFP and CDM kernels against the configured rates; it
justifies the threshold of :data:`lfpflow.signals.analysis.RATE_MISMATCH_WARN`.

Each kernel is computed in its own process (one NEURON model per process).

Usage::

    python3 benchmarks/kernel_rate_sensitivity.py [OVERLAY.yaml] \
        > benchmarks/kernel_rate_sensitivity.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lfpflow import io
from lfpflow.config import kernel_pathways, stage_config
from lfpflow.resolve import load_config

ROOT = Path(__file__).resolve().parents[1]
FACTORS = (0.5, 0.8, 0.9, 1.1, 1.2, 1.5, 2.0)


def _kernel_in_this_process(overlay: str, post: str, pre: str, factor: float, out: str) -> None:
    from lfpflow.multicompartment.kernels import compute_kernel

    config = stage_config(load_config(*([overlay] if overlay else [])), "kernels")
    kernel_config = config["kernels"]
    rates = kernel_config["presynaptic_rates_Hz"]
    kernel_config["presynaptic_rates_Hz"] = {name: factor * rate for name, rate in rates.items()}
    kernel = compute_kernel(
        kernel_config,
        post=post,
        pre=pre,
        dt_ms=config["simulation"]["dt_ms"],
        mechanisms_dir=ROOT / "build" / "mechanisms",
        morphology_dir=ROOT / "morphologies",
    )
    content = {name: io.Dataset(kernel[name], "") for name in ("LFP", "CDM")}
    io.write_h5(out, content, attrs={"presynaptic_rate_factor": factor})


def _kernel(overlay: str, post: str, pre: str, factor: float, folder: Path) -> dict:
    out = folder / f"{post}_{pre}_{factor}.h5"
    subprocess.run(
        [sys.executable, __file__, "--child", overlay, post, pre, str(factor), str(out)],
        check=True,
    )
    return io.read_h5(out)


def main(overlay: str) -> dict:
    config = load_config(*([overlay] if overlay else []))
    table: dict = {"overlay": overlay or "(defaults)", "factors": list(FACTORS), "pathways": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for post, pre in kernel_pathways(config):
            reference = _kernel(overlay, post, pre, 1.0, Path(tmp))
            rows = {}
            for factor in FACTORS:
                changed = _kernel(overlay, post, pre, factor, Path(tmp))
                rows[str(factor)] = {
                    measure: float(
                        np.linalg.norm(changed[measure] - reference[measure])
                        / np.linalg.norm(reference[measure])
                    )
                    for measure in ("LFP", "CDM")
                }
            table["pathways"][f"{post}:{pre}"] = rows
    return table


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        overlay, post, pre, factor, out = sys.argv[2:7]
        _kernel_in_this_process(overlay, post, pre, float(factor), out)
    else:
        print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else ""), indent=1))
