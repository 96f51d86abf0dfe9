"""Neural posterior estimation with sbi (the only module importing torch and sbi).

The estimator is a conditional normalising flow q(z | x) trained on the
simulations (z: parameters in prior space, :class:`lfpflow.inference.setup.Prior`;
x: features) by sbi's NPE (Papamakarios & Murray 2016; Greenberg et al. 2019),
with sbi's own z-scoring of z and x, and a box prior in z.

Storage: each trained network's ``state_dict`` is written to HDF5, one dataset
per tensor (:func:`save_estimator`), not pickled; :func:`load_estimator`
rebuilds the same architecture and loads the tensors, the z-scoring buffers
included, so the posterior of a later rule is the one trained.

Which features are used: columns that are undefined (NaN) in more than
``MAX_NAN_FRACTION`` of the training draws or constant are left out
(:func:`feature_mask`); then draws with any undefined feature are left out of
training (a silent network has no spectrum on a log scale).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from sbi.inference import NPE, DirectPosterior
from sbi.neural_nets import posterior_nn
from sbi.utils import BoxUniform

from lfpflow import io

#: Largest fraction of training draws in which a feature may be undefined.
MAX_NAN_FRACTION = 0.1


def set_threads(n: int) -> None:
    """Torch's CPU threads; training is reproducible for a given number."""
    torch.set_num_threads(max(1, int(n)))


def feature_mask(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` (draws x features) defined often enough and not constant."""
    finite = np.isfinite(x)
    often = finite.mean(axis=0) >= 1.0 - MAX_NAN_FRACTION
    with np.errstate(invalid="ignore"):
        spread = np.array(
            [np.nanstd(column) if np.any(np.isfinite(column)) else 0.0 for column in x.T]
        )
    return often & (spread > 0)


def box_prior(z_low: Sequence[float], z_high: Sequence[float]) -> BoxUniform:
    """The prior in z: a box (uniform in each prior-space coordinate)."""
    return BoxUniform(
        low=torch.as_tensor(np.asarray(z_low), dtype=torch.float32),
        high=torch.as_tensor(np.asarray(z_high), dtype=torch.float32),
    )


def _builder(settings: Mapping[str, Any]) -> Any:
    return posterior_nn(
        model=settings["model"],
        hidden_features=int(settings["hidden_features"]),
        num_transforms=int(settings["num_transforms"]),
    )


@dataclass
class Trained:
    """A trained estimator (an ensemble of NPEs) and what rebuilds and uses it.

    Attributes
    ----------
    nets : list of torch.nn.Module
        sbi's conditional density estimators q_k(z | x), one per ensemble member;
        the posterior is their equal-weight mixture.
    z_low, z_high : numpy.ndarray
        The prior box in z.
    mask : numpy.ndarray
        Feature columns the estimator reads (bool, one per feature).
    settings : dict
        ``config["inference"]["estimator"]``.
    info : dict
        Training summary: draws used, epochs, best validation losses, wall time (s).
    """

    nets: list[Any]
    z_low: np.ndarray
    z_high: np.ndarray
    mask: np.ndarray
    settings: dict[str, Any]
    info: dict[str, Any]

    def posteriors(self) -> list[DirectPosterior]:
        """sbi's posterior of each member (samples outside the prior box rejected)."""
        prior = box_prior(self.z_low, self.z_high)
        return [DirectPosterior(posterior_estimator=net, prior=prior) for net in self.nets]


class _NoTracker:
    """An sbi training tracker that records nothing.

    Without one, sbi writes TensorBoard event files into ``./sbi-logs`` of
    whatever folder the process runs in; the losses this project keeps are
    read from ``inference.summary`` instead.
    """

    @property
    def log_dir(self) -> None:
        return None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Ignore one metric."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Ignore several metrics."""

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Ignore the parameters."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Ignore a figure."""

    def flush(self) -> None:
        """Nothing to write."""


def _train_member(
    z: np.ndarray,
    x: np.ndarray,
    z_low: np.ndarray,
    z_high: np.ndarray,
    settings: Mapping[str, Any],
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    torch.manual_seed(int(seed))
    inference = NPE(
        prior=box_prior(z_low, z_high),
        density_estimator=_builder(settings),
        tracker=_NoTracker(),
        show_progress_bars=False,
    )
    inference.append_simulations(
        torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32)
    )
    net = inference.train(
        training_batch_size=int(settings["training_batch_size"]),
        learning_rate=float(settings["learning_rate"]),
        stop_after_epochs=int(settings["stop_after_epochs"]),
        max_num_epochs=int(settings["max_epochs"]),
    )
    net.eval()
    losses = inference.summary["validation_loss"]
    return net, {"epochs": int(inference.epoch), "best_validation_loss": float(min(losses))}


def train(
    z: np.ndarray,
    x: np.ndarray,
    *,
    z_low: np.ndarray,
    z_high: np.ndarray,
    settings: Mapping[str, Any],
    seed: int,
    use: np.ndarray | None = None,
) -> Trained:
    """Train ``settings["ensemble"]`` NPEs on draws ``z`` (prior space) and features ``x``.

    Members differ in their seed (``seed + k``: initial weights, batches, the
    validation split of early stopping). One network trained on a few hundred
    draws is often overconfident and its calibration varies from seed to seed;
    the mixture of several is better calibrated (Hermans et al. 2022, TMLR,
    "A trust crisis in simulation-based inference?"). ``use`` (bool per feature
    column) preselects the columns the estimator may read (default all);
    :func:`feature_mask` then drops undefined or constant ones. Deterministic
    for a given seed and number of torch threads.
    """
    started = time.perf_counter()
    mask = feature_mask(x) & (np.ones(x.shape[1], bool) if use is None else np.asarray(use))
    rows = np.all(np.isfinite(x[:, mask]), axis=1)
    nets, members = [], []
    for k in range(int(settings.get("ensemble", 1))):
        net, member = _train_member(z[rows], x[rows][:, mask], z_low, z_high, settings, seed + k)
        nets.append(net)
        members.append(member)
    info = {
        "n_draws": int(z.shape[0]),
        "n_used": int(rows.sum()),
        "n_features": int(mask.sum()),
        "ensemble": len(nets),
        "epochs": [m["epochs"] for m in members],
        "best_validation_loss": [m["best_validation_loss"] for m in members],
        "wall_s": time.perf_counter() - started,
    }
    return Trained(nets, np.asarray(z_low), np.asarray(z_high), mask, dict(settings), info)


def save_estimator(
    path: str | Path, trained: Trained, *, config: Mapping[str, Any], feature_names: Sequence[str]
) -> None:
    """Write the trained ensemble to HDF5 (``weights/<member>/<tensor>``, mask, prior box)."""
    states = [net.state_dict() for net in trained.nets]
    content = {
        "weights": {
            str(k): {
                # '.' would make HDF5 groups; '|' never appears in torch's names
                name.replace(".", "|"): io.Dataset(tensor.detach().cpu().numpy(), "1")
                for name, tensor in state.items()
            }
            for k, state in enumerate(states)
        },
        "feature_mask": io.Dataset(trained.mask.astype(np.int8), "1"),
        "z_low": io.Dataset(trained.z_low, "prior space"),
        "z_high": io.Dataset(trained.z_high, "prior space"),
    }
    attrs = io.provenance(
        config,
        estimator_settings=json.dumps(trained.settings, sort_keys=True),
        weight_order=json.dumps(list(states[0])),
        feature_names=json.dumps(list(feature_names)),
        training=json.dumps(trained.info, sort_keys=True),
        version_torch=str(torch.__version__),  # a str subclass h5py cannot store
        version_sbi=_sbi_version(),
    )
    io.write_h5(path, content, attrs=attrs)


def _sbi_version() -> str:
    from importlib.metadata import version

    return version("sbi")


def load_estimator(path: str | Path) -> Trained:
    """Rebuild the ensemble written by :func:`save_estimator`."""
    with h5py.File(path, "r") as h5:
        settings = json.loads(h5.attrs["estimator_settings"])
        order = json.loads(h5.attrs["weight_order"])
        states = [
            {
                name: torch.as_tensor(h5["weights"][key][name.replace(".", "|")][()])
                for name in order
            }
            for key in sorted(h5["weights"], key=int)
        ]
        mask = h5["feature_mask"][()].astype(bool)
        z_low, z_high = h5["z_low"][()], h5["z_high"][()]
        info = json.loads(h5.attrs["training"])
    # the builder needs example data for its shapes and z-scoring; the
    # z-scoring buffers are then replaced by the trained ones
    generator = torch.Generator().manual_seed(0)
    z_example = torch.rand((64, z_low.size), generator=generator) * torch.as_tensor(
        z_high - z_low, dtype=torch.float32
    ) + torch.as_tensor(z_low, dtype=torch.float32)
    x_example = torch.randn((64, int(mask.sum())), generator=generator)
    nets = []
    for state in states:
        net = _builder(settings)(z_example, x_example)
        net.load_state_dict(state)
        net.eval()
        nets.append(net)
    return Trained(nets, z_low, z_high, mask, settings, info)


def _shares(n: int, k: int) -> list[int]:
    """``n`` samples split over ``k`` members as evenly as possible (a mixture draw)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _observed(trained: Trained, x: np.ndarray) -> torch.Tensor:
    observed = torch.as_tensor(np.asarray(x)[..., trained.mask], dtype=torch.float32)
    if not torch.all(torch.isfinite(observed)):
        raise ValueError("features the estimator reads are not all finite")
    return observed


def _ensemble_draws(trained: Trained, n: int, draw: Any) -> list[np.ndarray]:
    """``draw(posterior, share)`` for each member, with the equal shares of ``n``."""
    shares = _shares(int(n), len(trained.nets))
    return [
        draw(posterior, share)
        for posterior, share in zip(trained.posteriors(), shares, strict=True)
        if share
    ]


def sample(trained: Trained, x: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """``n`` posterior samples (n x parameters, prior space) given features ``x``.

    ``x`` is the full feature vector; the estimator reads its masked columns.
    Equal shares from each member, then shuffled (seeded).
    """
    torch.manual_seed(int(seed))
    observed = _observed(trained, x)
    parts = _ensemble_draws(
        trained,
        n,
        lambda posterior, share: posterior.sample(
            (share,), x=observed, show_progress_bars=False
        ).numpy(),
    )
    samples = np.concatenate(parts).astype(np.float64)
    return samples[np.random.default_rng(int(seed)).permutation(samples.shape[0])]


def sample_many(trained: Trained, xs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """``n`` posterior samples for each row of ``xs``: rows x n x parameters."""
    torch.manual_seed(int(seed))
    observed = _observed(trained, xs)
    parts = _ensemble_draws(
        trained,
        n,
        lambda posterior, share: posterior.sample_batched(
            (share,), x=observed, show_progress_bars=False
        ).numpy(),
    )
    return np.transpose(np.concatenate(parts).astype(np.float64), (1, 0, 2))


def log_prob(trained: Trained, z: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log of the mixture posterior at each row of ``z`` (prior space) given ``x``."""
    observed = _observed(trained, x)
    theta = torch.as_tensor(np.atleast_2d(z), dtype=torch.float32)
    with torch.no_grad():
        members = torch.stack([p.log_prob(theta, x=observed) for p in trained.posteriors()])
    mixture = torch.logsumexp(members, dim=0) - np.log(len(trained.nets))
    return mixture.numpy().astype(np.float64)
