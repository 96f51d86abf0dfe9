"""Speed-up of the batched V1 model over a plain per-stimulus loop of the same equations.

Usage (from the project root)::

    python benchmarks/v1_speedup.py [--lambdas 8] [--repeat 1]

Workload: the main panel of experiment 1, Gabor patches over 19 phases x 19
orientations (129 x 129 pixels) for the paper's lambdas (0, 1, 2, 4, 6, 8, 10,
20), alpha 0.2, paper protocol (21 relaxation steps). Three implementations of
the same equations:

plain loop
    One stimulus and one lambda at a time, 21 updates each, every update a
    numpy sum of the XOR dendrite over all pixels (what the published
    notebooks do, vectorised over pixels only).
batched, exact sums
    :func:`lfpflow.v1.model.relax_feedforward` with
    :class:`~lfpflow.v1.model.ExactDendriticSum`: all stimuli and lambdas per
    update, same per-pixel sums.
batched, binned sums (the workflow's default)
    The same with :class:`~lfpflow.v1.model.BinnedDendriticSum` (64 bins,
    moment construction included in the time).

Prints the times, the speed-ups and the largest difference from the plain
loop, and an estimate of how long the whole ``v1`` target would take with the
plain loop (per-update cost times the number of (stimulus, parameter) runs of
the default configuration).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lfpflow.v1 import model, stimuli

#: (stimulus, parameter) relaxations of the default `v1` target, 129 x 129
#: images, by experiment (input_statistics uses 33 x 33 images: scaled).
DEFAULT_RUNS = {
    "simple_complex": 8 * 361 + 6 * 361 + 37 * 33 * 19 + 361 + 11 * 361 + 361,
    "perturbations": 11 * 100 * 361 + 361,
    "input_statistics": round(11 * 200 * (33 / 129) ** 2),
    "contrast": 9 * 6 * 37 + 6 * 37,
    "orientation_sharpening": 13 * 18 * (361 + 181),
}


def plain_loop(
    w0: np.ndarray, w1: np.ndarray, images: np.ndarray, lambdas: np.ndarray, alpha: float
) -> np.ndarray:
    """The model stimulus by stimulus, lambda by lambda (reference implementation)."""
    xor = model.XorDendrite.for_exponent(0.5)
    relaxation = model.Relaxation()
    out = np.empty((lambdas.size, images.shape[0]))
    for i, lam in enumerate(lambdas):
        c0 = 1.0 / (1.0 + abs(lam))
        c1 = lam * c0
        for s, image in enumerate(images):
            q = np.sum(w0 * image)
            potential = np.abs(image) ** 0.5
            v = 0.0
            for _ in range(relaxation.steps):
                r = np.sum(w1 * xor(potential + alpha * v))
                v = v + relaxation.rate * (-v + c0 * q + c1 * r)
            out[i, s] = v
    return out


def batched(
    w0: np.ndarray,
    w1: np.ndarray,
    images: np.ndarray,
    lambdas: np.ndarray,
    alpha: float,
    method: str,
) -> np.ndarray:
    """All stimuli and lambdas at once with the library."""
    xor = model.XorDendrite.for_exponent(0.5)
    potentials = model.rate_to_potential(images, 0.5)
    dsum = model.dendritic_sum(w1[None], potentials, xor, method=method, n_bins=64)
    q = model.linear_drive(w0, images)
    result = model.relax_feedforward(
        q, dsum, lam=lambdas[:, None, None], alpha=alpha, relaxation=model.Relaxation()
    )
    return result.v[:, 0, :]


def _timed(function, repeat: int) -> tuple[float, np.ndarray]:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lambdas", type=int, default=8, help="how many of the 8 lambdas")
    parser.add_argument("--repeat", type=int, default=2, help="repetitions (best time kept)")
    args = parser.parse_args()
    import scipy.sparse  # noqa: F401  (import outside the timings)

    spec = model.FilterSpec()
    w0, w1 = model.model_filters(spec)
    angles = stimuli.angle_grid(np.pi / 18)
    images = spec.stimulus_gabor(angles[None, :], angles[:, None]).reshape(-1, 129, 129)
    lambdas = np.array([0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0])[: args.lambdas]
    n_runs = lambdas.size * images.shape[0]
    print(f"workload: {images.shape[0]} stimuli x {lambdas.size} lambdas = {n_runs} runs, ")
    print("          129 x 129 pixels, 21 relaxation steps each\n")

    t_plain, v_plain = _timed(lambda: plain_loop(w0, w1, images, lambdas, 0.2), args.repeat)
    t_exact, v_exact = _timed(lambda: batched(w0, w1, images, lambdas, 0.2, "exact"), args.repeat)
    t_binned, v_binned = _timed(
        lambda: batched(w0, w1, images, lambdas, 0.2, "binned"), args.repeat
    )
    scale = np.abs(v_plain).max()
    rows = [
        ("plain per-stimulus loop", t_plain, 0.0),
        ("batched, exact sums", t_exact, np.abs(v_exact - v_plain).max() / scale),
        ("batched, binned sums", t_binned, np.abs(v_binned - v_plain).max() / scale),
    ]
    print(f"{'implementation':28s} {'seconds':>9s} {'speed-up':>9s} {'max |dv|/max|v|':>16s}")
    for name, seconds, error in rows:
        print(f"{name:28s} {seconds:9.3f} {t_plain / seconds:9.1f} {error:16.2e}")
    per_run = t_plain / n_runs
    total_runs = sum(DEFAULT_RUNS.values())
    print(
        f"\nplain loop: {1e3 * per_run:.2f} ms per run; the default `v1` target has about "
        f"{total_runs} runs -> about {per_run * total_runs / 60:.0f} min with the plain loop"
    )


if __name__ == "__main__":
    main()
