"""Experiment 3, input statistics: simpleness under sparse and dense noise (Fig 5).

:func:`run` writes ``input_statistics.h5``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lfpflow.v1 import analysis, model, stimuli
from lfpflow.v1.experiments.common import (
    Setup,
    dataset,
    feedforward,
    pixel_coordinates,
    read_data,
)


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 3: simpleness index under sparse and dense noise (Fig 5).

    ``SI = |c0 Q| / (|c0 Q| + |c1 R|)`` for ``n_stimuli`` sparse- and
    dense-noise images per lambda (the same images for every lambda), and
    the ``k`` of ``SI_dense = x/(x + (1/k)^2 (1-x))`` fitted to the mean SIs
    of the model and to the experimental points of Fournier et al. (2011)
    (``input_statistics.data_file``, see :func:`~lfpflow.v1.experiments.common.read_data`).

    Returns the content of ``input_statistics.h5``.
    """
    ic = setup.config["input_statistics"]
    spec = setup.filter_spec(n_pixels=ic["n_pixels"])
    w0, w1 = model.model_filters(spec)
    rng = setup.rng("input_statistics")
    n_stim = ic["n_stimuli"]
    sparse = stimuli.sparse_noise(spec.n_pixels, n_stim, fraction=ic["sparse_fraction"], rng=rng)
    dense = stimuli.dense_noise(spec.n_pixels, n_stim, rng=rng)
    images = np.concatenate([sparse, dense])
    lambdas = np.asarray(ic["lambdas"], dtype=float)
    result = feedforward(setup, w0, w1, images, lam=lambdas[:, None, None], alpha=ic["alpha"])
    si = analysis.simpleness_index(
        result.linear[:, 0], result.dendritic[:, 0], lambdas[:, None]
    ).reshape(lambdas.size, 2, n_stim)
    si = np.moveaxis(si, 1, 0)  # (noise, lambda, stimulus)
    si_mean = np.nanmean(si, axis=-1)
    si_sd = np.nanstd(si, axis=-1)
    k_model, k_model_se = analysis.fit_fournier_k(si_mean[0], si_mean[1])
    table = read_data(ic["data_file"])
    k_exp, k_exp_se = analysis.fit_fournier_k(table["si_sparse_noise"], table["si_dense_noise"])
    dims = ("noise", "lambda", "stimulus")
    return {
        "simpleness_index": dataset(si, "1", dims),
        "simpleness_index_mean": dataset(si_mean, "1", dims[:2]),
        "simpleness_index_sd": dataset(si_sd, "1", dims[:2]),
        "responses": dataset(
            np.moveaxis(result.v[:, 0].reshape(lambdas.size, 2, n_stim), 1, 0), "a.u.", dims
        ),
        "linear_drive": dataset(
            result.linear[0, 0].reshape(2, n_stim), "a.u.", ("noise", "stimulus")
        ),
        "dendritic_drive": dataset(
            np.moveaxis(result.dendritic[:, 0].reshape(lambdas.size, 2, n_stim), 1, 0), "a.u.", dims
        ),
        "k_model": dataset(k_model, "1", standard_error=k_model_se),
        "k_experiment": dataset(k_exp, "1", standard_error=k_exp_se, source=ic["data_file"]),
        "experiment": {
            "si_sparse_noise": dataset(table["si_sparse_noise"], "1", ("cell",)),
            "si_dense_noise": dataset(table["si_dense_noise"], "1", ("cell",)),
            "cell": dataset(np.arange(table["si_sparse_noise"].size), "1"),
        },
        "example_stimuli": dataset(images[[0, n_stim]], "1", ("noise", "row", "column")),
        **pixel_coordinates(spec.n_pixels),
        "noise": dataset(np.array([b"sparse", b"dense"]), "1"),
        "lambda": dataset(lambdas, "1"),
        "stimulus": dataset(np.arange(n_stim), "1"),
    }
