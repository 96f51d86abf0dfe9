"""Experiment 4, phase sensitivity and contrast (Fig 6), against Meffin et al.

:func:`run` writes ``contrast.h5``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow.v1 import analysis, model, stimuli
from lfpflow.v1.experiments.common import (
    Setup,
    angle_coordinate,
    dataset,
    feedforward,
    read_data,
)


def _setting_key(setting: Mapping[str, float]) -> tuple[float, float, float]:
    """``(lambda, pa2m, rate_exponent)`` of a contrast setting."""
    return (setting["lambda"], setting["pa2m"], setting["rate_exponent"])


def _contrast_settings(cc: Mapping[str, Any]) -> tuple[list[tuple[float, float, float]], int]:
    """The settings of ``v1.contrast`` as keys, the main setting appended if missing.

    Returns
    -------
    settings : list of (lambda, pa2m, rate_exponent)
    main_index : int
        Index of ``v1.contrast.main`` in ``settings``.
    """
    settings = [_setting_key(s) for s in cc["settings"]]
    main_key = _setting_key(cc["main"])
    if main_key not in settings:
        settings.append(main_key)
    return settings, settings.index(main_key)


def _contrast_responses(
    setup: Setup,
    w0: NDArray,
    w1: NDArray,
    images: NDArray,
    settings: list[tuple[float, float, float]],
    alpha: float,
) -> NDArray:
    """Potentials for every setting, ``(setting, contrast, phase)``, a.u.

    ``images`` is ``(contrast, phase, n, n)``; settings sharing a ``pa2m``
    are computed together.
    """
    n_contrasts, n_phases, n = images.shape[:3]
    flat = images.reshape(-1, n, n)
    responses = np.empty((len(settings), n_contrasts, n_phases))
    for pa2m in sorted({s[1] for s in settings}):
        members = [i for i, s in enumerate(settings) if s[1] == pa2m]
        lambdas = np.array([settings[i][0] for i in members])
        result = feedforward(
            setup, w0, w1, flat, lam=lambdas[:, None, None], alpha=alpha, pa2m=pa2m
        )
        responses[members] = result.v[:, 0].reshape(len(members), n_contrasts, n_phases)
    return responses


def _difference_to_experiment(
    contrasts: NDArray, depth: NDArray, table: Mapping[str, NDArray]
) -> tuple[NDArray, float]:
    """The experiment's contrasts (fractions) and the RMS of model minus experiment.

    The model's modulation depth ``depth`` (one per ``contrasts``) is
    interpolated linearly in log-contrast at the experiment's contrasts
    inside the model's range; points outside are left out.
    """
    exp_contrast = table["contrast_percent"] / 100.0
    model_at_data = np.interp(
        np.log(exp_contrast),
        np.log(contrasts[::-1]),
        depth[::-1],
        left=np.nan,
        right=np.nan,
    )
    inside = np.isfinite(model_at_data)
    rms = float(np.sqrt(np.mean((model_at_data[inside] - table["modulation_depth"][inside]) ** 2)))
    return exp_contrast, rms


def _contrast_hierarchical(
    setup: Setup,
    spec: model.FilterSpec,
    w0: NDArray,
    w1: NDArray,
    phases: NDArray,
    contrasts: NDArray,
) -> dict[str, Any]:
    """Fig 6b, cortical input: the Gabor stimuli pre-filtered by ``w0``, then scaled by contrast.

    The XOR peak is ``xor_peak_base ** xor_peak_exponent`` (authors' code).
    """
    cc = setup.config["contrast"]
    hier = cc["hierarchical"]
    cortical = stimuli.prefilter(spec.stimulus_gabor(0.0, phases), w0)
    cortical = contrasts[:, None, None, None] * cortical[None]
    nonlinearity = model.XorDendrite.for_exponent(
        hier["xor_peak_exponent"],
        peak_base=setup.config["model"]["xor_peak_base"],
        half_width=setup.config["model"]["xor_half_width"],
    )
    result = feedforward(
        setup,
        w0,
        w1,
        cortical.reshape(-1, spec.n_pixels, spec.n_pixels),
        lam=hier["lambda"],
        alpha=cc["alpha"],
        pa2m=hier["pa2m"],
        nonlinearity=nonlinearity,
    )
    responses = result.v[0].reshape(contrasts.size, phases.size)
    return {
        "responses": dataset(responses, "a.u.", ("contrast", "phase")),
        "modulation_depth": dataset(
            analysis.modulation_depth(responses, exponent=hier["rate_exponent"]),
            "1",
            ("contrast",),
        ),
        "contrast": dataset(contrasts, "1"),
        "phase": angle_coordinate(phases, "stimulus phase"),
    }


def run(setup: Setup) -> dict[str, Any]:
    """Experiment 4: modulation depth vs contrast (Fig 6), against Meffin et al.

    Gabor patches at the preferred orientation over a full cycle of phase
    (-180..180 degrees) at each contrast; modulation depth ``(max-min)/max``
    of ``max(v, 0) ** rate_exponent`` over phase, for each (lambda, pa2m,
    rate_exponent) setting; plus the hierarchical (cortical-input) variant.
    The experimental points are those of ``contrast.data_file`` (see
    :func:`~lfpflow.v1.experiments.common.read_data`).

    Returns the content of ``contrast.h5``.
    """
    cc = setup.config["contrast"]
    spec = setup.filter_spec()
    w0, w1 = model.model_filters(spec)
    phases = setup.angles(-180.0, 180.0)
    contrasts = np.asarray(cc["contrasts"], dtype=float)
    images = spec.stimulus_gabor(0.0, phases[None, :], contrasts[:, None])
    settings, main_index = _contrast_settings(cc)
    responses = _contrast_responses(setup, w0, w1, images, settings, cc["alpha"])
    exponents = np.array([s[2] for s in settings])
    depth = np.stack(
        [analysis.modulation_depth(responses[i], exponent=e) for i, e in enumerate(exponents)]
    )
    table = read_data(cc["data_file"])
    exp_contrast, rms = _difference_to_experiment(contrasts, depth[main_index], table)
    content: dict[str, Any] = {
        "responses": dataset(responses, "a.u.", ("setting", "contrast", "phase")),
        "modulation_depth": dataset(depth, "1", ("setting", "contrast")),
        "setting_lambda": dataset([s[0] for s in settings], "1", ("setting",)),
        "setting_pa2m": dataset([s[1] for s in settings], "1", ("setting",)),
        "setting_rate_exponent": dataset(exponents, "1", ("setting",)),
        "setting": dataset(np.arange(len(settings)), "1"),
        "main_setting": dataset(main_index, "1", description="index of the paper's main setting"),
        "rms_difference_main": dataset(
            rms,
            "1",
            description="RMS of model minus experiment at the experiment's contrasts "
            "inside the model's range (log-contrast interpolation)",
        ),
        "contrast": dataset(contrasts, "1", description="Michelson contrast (fraction)"),
        "phase": angle_coordinate(phases, "stimulus phase"),
        "experiment": {
            "contrast": dataset(exp_contrast, "1", description="Meffin et al., digitised"),
            "modulation_depth": dataset(table["modulation_depth"], "1", ("contrast",)),
        },
    }
    if cc["hierarchical"]["enabled"]:
        content["hierarchical"] = _contrast_hierarchical(setup, spec, w0, w1, phases, contrasts)
    return content
