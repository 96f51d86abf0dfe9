"""Steps of the inference rules: train, posterior, validation, predictive check.

Each function reads and writes files so that the workflow scripts stay thin;
torch and sbi are reached through :mod:`lfpflow.inference.estimator` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lfpflow import io
from lfpflow.inference.observation import load_observation
from lfpflow.inference.setup import Prior, draw_seeds
from lfpflow.inference.simulator import read_batches


def _check_names(expected: Sequence[str], found: Sequence[str], what: str) -> None:
    if list(expected) != list(found):
        raise ValueError(
            f"{what} has other features than the training batches ({len(found)} vs "
            f"{len(expected)}): were they computed with the same inference.features?"
        )


def _load_estimator_for(estimator_path: str | Path, feature_names: Sequence[str], what: str):
    """The trained estimator, after checking that ``what`` has its training features."""
    from lfpflow.inference import estimator

    with h5py.File(estimator_path, "r") as h5:
        _check_names(json.loads(h5.attrs["feature_names"]), feature_names, what)
    return estimator.load_estimator(estimator_path)


def train_estimator(
    batch_paths: Sequence[str | Path],
    estimator_path: str | Path,
    config: Mapping[str, Any],
    *,
    threads: int = 1,
) -> dict[str, Any]:
    """Train NPE on the training batches and write ``estimator.h5``; the training summary.

    The weights depend on the seed and on ``threads`` (torch's CPU threads).
    """
    from lfpflow.inference import estimator

    estimator.set_threads(threads)
    inference = config["inference"]
    prior = Prior.from_config(inference)
    table = read_batches(batch_paths)
    sets = inference["estimator"]["feature_sets"]
    use = np.array([name.split(":")[0] in sets for name in table["feature_names"]])
    trained = estimator.train(
        prior.to_z(table["theta"]),
        table["features"],
        z_low=prior.z_low,
        z_high=prior.z_high,
        settings=inference["estimator"],
        seed=int(inference["seed"]),
        use=use,
    )
    trained.info["simulation_wall_s_per_draw"] = float(np.mean(table["wall_s"]))
    estimator.save_estimator(
        estimator_path, trained, config=config, feature_names=table["feature_names"]
    )
    return trained.info


def posterior_samples(
    estimator_path: str | Path,
    observation_path: str | Path,
    output: str | Path,
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """Sample the posterior given the observation; write ``posterior.h5``.

    Returns the samples (parameter values), their prior-space version, the
    truth (when the observation was simulated) and whether it lies in the 50 %
    and 90 % highest-density regions.
    """
    from lfpflow.inference import estimator
    from lfpflow.inference.validation import in_hpd_region

    inference = config["inference"]
    prior = Prior.from_config(inference)
    observation = load_observation(observation_path)
    trained = _load_estimator_for(estimator_path, observation["feature_names"], "the observation")
    n = int(inference["posterior"]["n_samples"])
    z = estimator.sample(trained, observation["features"], n, seed=int(inference["seed"]))
    result: dict[str, Any] = {"z": z, "theta": prior.from_z(z), "names": list(prior.names)}
    content = {
        "theta": io.Dataset(result["theta"], "units of each parameter (parameter_names)"),
        "z": io.Dataset(z, "prior space (value, or ln(value) for log-uniform priors)"),
        "prior_low": io.Dataset(prior.low, "units of each parameter"),
        "prior_high": io.Dataset(prior.high, "units of each parameter"),
    }
    extra: dict[str, Any] = {}
    if observation["truth"] is not None:
        truth_z = prior.to_z(observation["truth"])
        log_q = estimator.log_prob(trained, np.vstack([truth_z, z[:2000]]), observation["features"])
        for level in (0.5, 0.9):
            extra[f"truth_in_hpd_{int(level * 100)}"] = in_hpd_region(log_q[0], log_q[1:], level)
        content["truth"] = io.Dataset(observation["truth"], "units of each parameter")
        result.update(truth=observation["truth"], **extra)
    attrs = io.provenance(
        config,
        parameter_names=json.dumps(list(prior.names)),
        priors=json.dumps(list(prior.kinds)),
        observation_source=observation["source"],
        **{key: int(value) for key, value in extra.items()},
    )
    io.write_h5(output, content, attrs=attrs)
    return result


def read_posterior(path: str | Path) -> dict[str, Any]:
    """Read ``posterior.h5``."""
    data = io.read_h5(path)
    return {
        "theta": data["theta"],
        "z": data["z"],
        "names": json.loads(data["attrs"]["parameter_names"]),
        "low": data["prior_low"],
        "high": data["prior_high"],
        "truth": data.get("truth"),
        "kinds": json.loads(data["attrs"]["priors"]),
    }


def validate(
    estimator_path: str | Path,
    batch_paths: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    config: Mapping[str, Any],
    *,
    threads: int = 1,
) -> dict[str, Any]:
    """Posterior of every valid held-out draw: recovery, coverage, ranks.

    Writes ``validation.json`` (:func:`lfpflow.inference.validation.validation_summary`
    plus the estimator's training summary) and ``validation.h5`` (truth,
    posterior means, 5/25/50/75/95 % quantiles and ranks per draw).
    """
    from lfpflow.inference import estimator
    from lfpflow.inference.validation import sbc_ranks, validation_summary

    estimator.set_threads(threads)
    inference = config["inference"]
    prior = Prior.from_config(inference)
    table = read_batches(batch_paths)
    trained = _load_estimator_for(estimator_path, table["feature_names"], "the test batches")
    usable = np.all(np.isfinite(table["features"][:, trained.mask]), axis=1)
    truth = prior.to_z(table["theta"][usable])
    n = int(inference["posterior"]["n_validation_samples"])
    samples = estimator.sample_many(
        trained, table["features"][usable], n, seed=int(inference["seed"]) + 1
    )
    recoverable = [bool(spec.get("recoverable", True)) for spec in inference["parameters"].values()]
    summary = validation_summary(
        list(prior.names), truth, samples, inference["targets"], recoverable
    )
    summary.update(
        n_test_drawn=int(usable.size),
        n_test_excluded=int((~usable).sum()),
        training=trained.info,
        simulation_wall_s_per_draw=float(np.mean(table["wall_s"])),
    )
    io.write_json(outputs["summary"], summary)
    quantiles = np.quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    unit = "prior space (value, or ln(value) for log-uniform priors)"
    content = {
        "truth": io.Dataset(truth, unit),
        "posterior_mean": io.Dataset(samples.mean(axis=1), unit),
        "quantiles": io.Dataset(
            np.transpose(quantiles, (1, 0, 2)), unit, levels=[0.05, 0.25, 0.5, 0.75, 0.95]
        ),
        "sbc_ranks": io.Dataset(sbc_ranks(truth, samples), "1", n_samples=n),
    }
    attrs = io.provenance(config, parameter_names=json.dumps(list(prior.names)))
    io.write_h5(outputs["table"], content, attrs=attrs)
    return {"summary": summary, "truth": truth, "samples": samples}


def predictive_check(
    posterior_path: str | Path,
    kernels: Mapping[tuple[str, str], Mapping[str, Any]],
    output: str | Path,
    config: Mapping[str, Any],
    *,
    nestml_module_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Re-simulate the network at ``posterior.n_ppc`` posterior draws; write ``ppc.h5``.

    Draw i uses posterior sample i (the samples are independent) and the
    network seed of draw i of the ``ppc`` split. Returns the batch table.
    """
    from lfpflow.inference.simulator import run_draws, write_batch

    inference = config["inference"]
    prior = Prior.from_config(inference)
    posterior = read_posterior(posterior_path)
    n = min(int(inference["posterior"]["n_ppc"]), posterior["theta"].shape[0])
    indices = list(range(n))
    seeds = [draw_seeds(int(inference["seed"]), "ppc", i)[1] for i in indices]
    table = run_draws(
        config, kernels, prior, posterior["theta"][:n], seeds, indices, "ppc", nestml_module_dir
    )
    write_batch(output, table, config=config)
    return table
