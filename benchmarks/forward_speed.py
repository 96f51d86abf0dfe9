"""Speed of lfpflow.signals.forward.predict_signal against per-channel np.convolve.

60 s of population rates at the default resolution (dt = 2^-4 ms: 960 000 bins)
convolved with the default kernels (4 pathways, 13 LFP channels, lags -50..50 ms
= 1601 lags). Uses results/default/kernels/*.h5 when they exist, otherwise
random kernels of the same shape. Prints both times, the speed-up and the
largest relative difference.

    python benchmarks/forward_speed.py [duration_s]
"""

import sys
import time
from pathlib import Path

import numpy as np

from lfpflow.signals.forward import predict_signal

duration_s = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
dt_ms = 2**-4
n_bins = int(round(duration_s * 1e3 / dt_ms))
rng = np.random.default_rng(0)
# population counts per bin at the default rates (2.3 Hz x 8192, 4.9 Hz x 1024)
rates = {
    "E": rng.poisson(2.3 * 8192 * dt_ms * 1e-3, n_bins).astype(float),
    "I": rng.poisson(4.9 * 1024 * dt_ms * 1e-3, n_bins).astype(float),
}
kernel_dir = Path("results/default/kernels")
if all((kernel_dir / f"{post}_{pre}.h5").exists() for post in "EI" for pre in "EI"):
    from lfpflow.signals.kernel_files import load_kernels

    loaded = load_kernels(sorted(kernel_dir.glob("*.h5")))
    kernels = {key: value["LFP"] for key, value in loaded.items()}
    source = str(kernel_dir)
else:
    kernels = {(post, pre): rng.normal(size=(13, 1601)) for post in "EI" for pre in "EI"}
    source = "random kernels of the default shape"

started = time.perf_counter()
fast = predict_signal(rates, kernels)
fast_s = time.perf_counter() - started

started = time.perf_counter()
direct = None
for (_post, pre), kernel in kernels.items():
    half = kernel.shape[1] // 2
    part = np.array([np.convolve(rates[pre], h)[half : half + n_bins] for h in kernel])
    direct = part if direct is None else direct + part
direct_s = time.perf_counter() - started

relative = np.abs(fast - direct).max() / np.abs(direct).max()
print(f"kernels: {source}; {duration_s:g} s of rates, {n_bins} bins")
print(f"np.convolve per channel: {direct_s:.2f} s")
print(f"predict_signal (FFT):    {fast_s:.2f} s")
print(f"speed-up: {direct_s / fast_s:.1f}x; max |difference| / max |signal| = {relative:.2e}")
