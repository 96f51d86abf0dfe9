"""Tests of lfpflow.v1.stimuli and lfpflow.v1.analysis."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lfpflow.v1 import analysis, stimuli

DATA = resources.files("lfpflow.v1.data")


# --- stimuli ------------------------------------------------------------------


def test_angle_grid_is_the_papers_grid():
    grid = stimuli.angle_grid(np.pi / 18)
    assert grid.size == 19
    assert grid[0] == -np.pi / 2 and grid[-1] == pytest.approx(np.pi / 2, abs=1e-15)
    assert grid[9] == pytest.approx(0.0, abs=1e-15)
    assert stimuli.angle_grid(np.pi / 18, -np.pi, np.pi).size == 37


def test_gabor_conventions():
    n = 33
    g = stimuli.gabor(n, frequency=4 / n, orientation=0.0, phase=np.pi / 2, envelope_sd=2.0)
    assert g.shape == (n, n)
    assert g[n // 2, n // 2] == pytest.approx(1.0)  # cosine phase peaks at the centre
    # orientation 0: horizontal bars, luminance varies along the rows only (up to the envelope)
    assert_allclose(g[:, n // 2 - 1], g[:, n // 2 + 1])
    stack = stimuli.gabor(
        n, frequency=0.1, orientation=[0.0, 1.0], phase=[[0.0], [1.0], [2.0]], envelope_sd=3.0
    )
    assert stack.shape == (3, 2, n, n)
    rotated = stimuli.gabor(n, frequency=0.1, orientation=np.pi / 2, phase=0.3, envelope_sd=3.0)
    flat = stimuli.gabor(
        n, frequency=0.1, orientation=0.0, phase=0.3, envelope_sd=3.0, aspect_ratio=1.0
    )
    square = stimuli.gabor(
        n, frequency=0.1, orientation=np.pi / 2, phase=0.3, envelope_sd=3.0, aspect_ratio=1.0
    )
    assert rotated.shape == (n, n)
    # a quarter turn of a round Gabor is its transpose (up to axis directions)
    assert_allclose(np.abs(square), np.abs(flat.T), atol=1e-12)


def test_grating_has_unit_amplitude_and_no_envelope():
    g = stimuli.grating(
        33, frequency=3 / 33, orientation=np.pi / 2, phase=np.pi / 2, amplitude=0.43
    )
    assert np.abs(g).max() == pytest.approx(0.43)
    assert_allclose(g[0], g[-1])  # vertical bars: constant down each column


def test_noise_values_and_sparseness():
    rng = np.random.default_rng(0)
    dense = stimuli.dense_noise(33, 200, rng=rng)
    assert set(np.unique(dense)) == {0.0, 1.0, 2.0}
    fractions = [(dense == v).mean() for v in (0.0, 1.0, 2.0)]
    assert_allclose(fractions, [0.25, 0.5, 0.25], atol=0.01)
    sparse = stimuli.sparse_noise(33, 200, fraction=0.01, rng=rng)
    changed = (sparse != stimuli.GREY).sum(axis=(1, 2))
    assert changed.max() <= 11  # round(0.01 * 33^2) redrawn pixels
    assert changed.mean() == pytest.approx(11 * 0.5, abs=0.6)
    with pytest.raises(ValueError, match="fraction"):
        stimuli.sparse_noise(33, 1, fraction=0.0, rng=rng)


def test_prefilter_is_same_size_zero_padded_convolution():
    from scipy.signal import convolve2d

    rng = np.random.default_rng(2)
    image = rng.normal(size=(15, 15))
    kernel = rng.normal(size=(15, 15))
    assert_allclose(
        stimuli.prefilter(image, kernel),
        convolve2d(image, kernel, mode="same", boundary="fill"),
        atol=1e-12,
    )


# --- analysis ------------------------------------------------------------------


def test_modulation_depth():
    phase = np.linspace(-np.pi, np.pi, 37)
    simple = np.cos(phase)
    assert analysis.modulation_depth(simple) == pytest.approx(1.0)
    complex_ = 2.0 + 0.1 * np.cos(phase)
    assert analysis.modulation_depth(complex_) == pytest.approx(0.2 / 2.1)
    assert analysis.modulation_depth(complex_, exponent=0.5) == pytest.approx(
        1 - math.sqrt(1.9 / 2.1)
    )
    assert np.isnan(analysis.modulation_depth(-np.ones(5)))


def test_half_width_at_half_maximum():
    angles = np.linspace(-90, 90, 181)
    for sigma in (5.0, 12.0, 20.0):
        curve = np.exp(-0.5 * (angles / sigma) ** 2)
        expected = sigma * math.sqrt(2 * math.log(2))
        assert analysis.half_width_at_half_maximum(angles, curve) == pytest.approx(
            expected, abs=0.01
        )
    # a curve that never halves is bounded by the range
    assert analysis.half_width_at_half_maximum(angles, np.ones(181)) == pytest.approx(90)
    stacked = analysis.half_width_at_half_maximum(
        angles, np.stack([np.exp(-0.5 * (angles / 10) ** 2)] * 3)
    )
    assert stacked.shape == (3,)


def test_simpleness_index():
    assert analysis.simpleness_index(2.0, 5.0, 0.0) == 1.0
    assert analysis.simpleness_index(1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert analysis.simpleness_index(0.0, 1.0, 3.0) == 0.0
    assert np.isnan(analysis.simpleness_index(0.0, 0.0, 1.0))


def test_fit_recovers_k():
    x = np.linspace(0.02, 0.98, 20)
    k, se = analysis.fit_fournier_k(x, analysis.fournier_curve(x, 2.7))
    assert k == pytest.approx(2.7, rel=1e-6)
    assert se < 1e-6


def test_k_of_the_experimental_data_from_the_csv():
    """k of Fournier et al. (2011) Fig 3a, computed from the packaged CSV.

    The authors' notebook, fitting the same points (their .mat file), prints
    k = 3.49817608; the CSV carries the same digitised values.
    """
    with resources.as_file(DATA / "fournier2011_fig3a_simpleness_index.csv") as path:
        table = analysis.read_table(path)
    assert table["si_sparse_noise"].size == table["si_dense_noise"].size == 34
    k, _ = analysis.fit_fournier_k(table["si_sparse_noise"], table["si_dense_noise"])
    assert k == pytest.approx(3.49817608, rel=1e-5)


def test_read_table_rejects_ragged_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("# comment\na,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="row 3"):
        analysis.read_table(path)
    path.write_text("# comment, with comma\na,b\n1,2\n3,4\n")
    assert_allclose(analysis.read_table(path)["b"], [2, 4])
