"""Phase range of the V1 stimulus grid and the modulation over it and over a full cycle.

The published protocol sweeps the stimulus phase over [-90, 90] degrees (half a
cycle); ``v1.grid_phase_range_deg`` sets the range, and every modulation ratio of
the Gabor-grid experiments is reported over that range and over a full cycle
``[low, low + 360]`` degrees (see docs/v1.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lfpflow import io
from lfpflow.config.schema import ConfigError
from lfpflow.v1 import analysis, experiments, stimuli
from lfpflow.v1.experiments import simple_complex

#: A small simple_complex run (33 x 33 pixels, 30 degree steps): about a second.
SMALL: dict[str, Any] = {
    "filters": {"n_pixels": 33},
    "grid_step_deg": 30.0,
    "simple_complex": {
        "lambdas": [0.0, 10.0],
        "alpha_sweep": {"alphas": [0.2]},
        "modulation_map": {"n_lambda": 2, "n_alpha": 2},
        "controls": {"sigmoid_alphas": [0.2]},
    },
}


def _setup(config: dict[str, Any]) -> experiments.Setup:
    return experiments.Setup.from_section(config)


def test_default_phase_grid_is_the_published_half_cycle():
    setup = _setup({})
    assert setup.config["grid_phase_range_deg"] == [-90.0, 90.0]
    # bit-identical to the grid the published numbers were computed on
    published = stimuli.angle_grid(math.pi / 18, -math.pi / 2, math.pi / 2)
    assert np.array_equal(setup.phases(), published)
    full = setup.full_cycle_phases()
    assert full.size == 37
    assert np.degrees(full[[0, -1]]) == pytest.approx([-90.0, 270.0])
    # every phase of the configured grid is a phase of the full cycle
    assert np.array_equal(full[: published.size], published)


@pytest.mark.parametrize(
    "offset,half_cycle,full_cycle",
    [
        # b + cos(phase): over [-90, 90] the minimum is b (at +-90 degrees), over a
        # full cycle b - 1 (at 180 degrees), rectified to 0 when b < 1
        (0.5, 1.0 / 1.5, 1.0),
        (2.0, 1.0 / 3.0, 2.0 / 3.0),
        # a rectified cosine (b = 0) is fully modulated over both
        (0.0, 1.0, 1.0),
    ],
)
def test_modulation_of_a_shifted_cosine_over_half_and_full_cycle(offset, half_cycle, full_cycle):
    setup = _setup({})
    grid_response = offset + np.cos(setup.phases())
    cycle_response = offset + np.cos(setup.full_cycle_phases())
    assert float(analysis.modulation_depth(grid_response)) == pytest.approx(half_cycle, abs=1e-12)
    assert float(analysis.modulation_depth(cycle_response)) == pytest.approx(full_cycle, abs=1e-12)


def test_configured_phase_range_sets_both_grids():
    setup = _setup({"grid_phase_range_deg": [0, 180], "grid_step_deg": 45.0})
    assert np.degrees(setup.phases()) == pytest.approx([0.0, 45.0, 90.0, 135.0, 180.0])
    assert np.degrees(setup.full_cycle_phases()) == pytest.approx(np.arange(0.0, 361.0, 45.0))


@pytest.mark.parametrize(
    "phase_range,message",
    [
        ([90.0, -90.0], "must increase by at least grid_step_deg"),  # decreasing
        ([0.0, 0.0], "must increase by at least grid_step_deg"),  # a single phase
        ([0.0, 5.0], "must increase by at least grid_step_deg"),  # under one 10 degree step
        ([-180.0, 270.0], "must span at most 360 degrees"),  # more than one cycle
        ([-90.0], "is too short"),
        ([-90.0, 0.0, 90.0], "is too long"),
        ([-400.0, -90.0], "less than the minimum of -360"),
    ],
)
def test_bad_phase_ranges_are_rejected_naming_the_key(phase_range, message):
    with pytest.raises(ConfigError, match=r"'v1\.grid_phase_range_deg(\[0\])?': .*" + message):
        experiments.complete_v1_section({"grid_phase_range_deg": phase_range})


def test_a_whole_cycle_is_a_valid_range():
    resolved = experiments.complete_v1_section({"grid_phase_range_deg": [-180, 180]})
    assert resolved["grid_phase_range_deg"] == [-180.0, 180.0]


@pytest.fixture(scope="module")
def small_run() -> dict[str, Any]:
    return simple_complex.run(experiments.Setup.from_section(SMALL))


def test_simple_complex_reports_the_modulation_over_both_ranges(small_run):
    grid_ratio = small_run["modulation_ratio"].data
    full_ratio = small_run["modulation_ratio_full_cycle"].data
    assert grid_ratio.shape == full_ratio.shape == (2,)
    # lambda = 0, a linear (simple) cell: fully modulated over both
    assert grid_ratio[0] == pytest.approx(1.0) and full_ratio[0] == pytest.approx(1.0)
    # lambda = 10: the half cycle misses the trough at 180 degrees (linear drive < 0)
    assert full_ratio[1] > grid_ratio[1] + 0.1
    # the configured phases are a subset of the full cycle (binned sums: ~1e-7)
    assert np.all(full_ratio >= grid_ratio - 1e-6)
    full = small_run["responses_full_cycle"].data
    preferred = int(np.argmin(np.abs(small_run["orientation"].data)))
    on_grid = small_run["responses"].data[..., preferred]
    scale = np.abs(on_grid).max()
    assert_allclose(full[:, : on_grid.shape[1]], on_grid, rtol=0, atol=2e-6 * scale)
    for group in ("alpha_sweep", "sigmoid_dendrite"):
        content = small_run[group]
        assert np.all(
            content["modulation_ratio_full_cycle"].data >= content["modulation_ratio"].data - 1e-6
        )
    minimum = small_run["modulation_map"]["minimum"].data
    minimum_full = small_run["modulation_map"]["minimum_full_cycle"].data
    assert minimum_full[0] >= minimum[0] - 1e-6


def test_a_full_cycle_range_makes_both_measures_agree(tmp_path):
    """With ``grid_phase_range_deg: [-180, 180]`` the grid is itself a full cycle."""
    config = dict(SMALL, grid_phase_range_deg=[-180.0, 180.0])
    data = experiments.run_experiment(
        "simple_complex",
        config,
        tmp_path / "simple_complex.h5",
        {name: tmp_path / f"{name}.png" for name in ("simple_complex_phase_tuning",)},
    )
    assert np.degrees(data["phase"][[0, -1]]) == pytest.approx([-180.0, 180.0])
    assert_allclose(data["phase_full_cycle"], data["phase"])
    # the same stimuli in two batches: equal up to the binned sums' error
    assert_allclose(data["modulation_ratio_full_cycle"], data["modulation_ratio"], atol=1e-5)
    assert data["modulation_ratio"][1] > 0.3  # lambda = 10 over a full cycle
    assert (tmp_path / "simple_complex_phase_tuning.png").stat().st_size > 10_000
    assert io.read_h5(tmp_path / "simple_complex.h5")["attrs"]["experiment"] == "simple_complex"
