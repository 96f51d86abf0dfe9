"""Tests of lfpflow.v1.model: closed forms, derivatives, symmetries, protocols."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lfpflow.v1 import model, stimuli

N = 33  # small images keep the exact sums fast
PA2M = 0.5


@pytest.fixture(scope="module")
def spec() -> model.FilterSpec:
    return model.FilterSpec(n_pixels=N)


@pytest.fixture(scope="module")
def filters(spec):
    return model.model_filters(spec)


@pytest.fixture(scope="module")
def gabors(spec):
    angles = stimuli.angle_grid(math.radians(30))
    return spec.stimulus_gabor(angles[None, :], angles[:, None]).reshape(-1, N, N)


def _sums(w1, images):
    potentials = model.rate_to_potential(images, PA2M)
    xor = model.XorDendrite.for_exponent(PA2M)
    return (
        model.ExactDendriticSum(w1[None], potentials, xor),
        model.BinnedDendriticSum.from_weights(w1[None], potentials, xor, n_bins=64),
    )


# --- nonlinearities ---------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity", [model.XorDendrite(peak=0.43**0.5), model.SigmoidDendrite()]
)
def test_dendrite_derivative_equals_finite_difference(nonlinearity):
    # away from u = 0 (the XOR lobe has a corner there); central differences
    # have error h^2 f'''/6 ~ 1e-12 here, far below the tolerance
    u = np.concatenate([np.linspace(-1.5, -0.01, 301), np.linspace(0.01, 1.5, 301)])
    h = 1e-6
    numeric = (nonlinearity(u + h) - nonlinearity(u - h)) / (2 * h)
    assert_allclose(nonlinearity.derivative(u), numeric, rtol=1e-6, atol=1e-8)


def test_xor_lobe_shape_and_corner():
    xor = model.XorDendrite.for_exponent(0.5)
    assert xor.peak == pytest.approx(0.43**0.5)
    assert xor(xor.peak) == 1.0 and xor(-xor.peak) == 1.0
    assert xor(xor.peak + 0.2) == pytest.approx(math.exp(-1))
    assert xor.derivative(0.0) == 0.0  # symmetric derivative at the corner


@pytest.mark.parametrize("nonlinearity", [model.XorDendrite(peak=0.65), model.SigmoidDendrite()])
def test_taylor_sum_terms_are_the_derivatives(nonlinearity):
    # one bin with offset d: sum_k g^(k)(z) d^k/k! = g(z + d) - d^4/24 g''''(xi);
    # |g''''| <= 12/s^4 = 7500 for the XOR lobe, so d = 1e-4 leaves < 4e-14
    z = np.array([-0.7, -0.1, 0.05, 0.3, 0.9])
    d = 1e-4
    coefficients = np.array([1.0, d, d**2 / 2, d**3 / 6])[None, None, :].repeat(z.size, 0)
    value = nonlinearity.taylor_sum(z[:, None], coefficients)
    assert_allclose(value, nonlinearity(z + d), rtol=0, atol=1e-13)


def test_rate_to_potential_derivative():
    x = np.array([-0.5, -0.01, 0.0, 0.02, 0.8])
    slope = model.rate_to_potential_derivative(x, 0.5)
    expected = np.zeros_like(x)
    nonzero = x != 0
    expected[nonzero] = 0.5 * np.abs(x[nonzero]) ** -0.5 * np.sign(x[nonzero])
    assert_allclose(slope, expected)
    capped = model.rate_to_potential_derivative(x, 0.5, slope_floor=0.1)
    assert_allclose(capped[1], -0.5 * 0.1**-0.5)
    assert_allclose(capped[[0, 4]], expected[[0, 4]])


# --- filters -----------------------------------------------------------------


def test_filters_are_l1_normalised_and_in_quadrature(filters):
    w0, w1 = filters
    assert np.abs(w0).sum() == pytest.approx(1.0)
    assert np.abs(w1).sum() == pytest.approx(1.0)
    # w0 (sine phase) is odd across the bars, w1 (cosine phase) even
    assert_allclose(w0, -w0[::-1, :], atol=1e-15)
    assert_allclose(w1, w1[::-1, :], atol=1e-15)


def test_lateral_weights_rows_sum_to_unit_count(spec):
    w0, _ = model.model_filters(spec, np.pi * np.arange(6) / 6)
    w2 = model.lateral_weights(w0)
    assert_allclose(w2.sum(axis=1), 6.0)
    assert np.all(w2 >= 0)
    assert np.argmax(w2[0]) == 0  # a unit overlaps most with itself


def test_term_weights():
    c0, c1, c2 = model.term_weights(10.0, 4.0)
    assert c0 == pytest.approx(1 / 15) and c1 == pytest.approx(10 / 15)
    assert c2 == pytest.approx(4 / 15)
    c0, c1, _ = model.term_weights(-2.0)
    assert c0 == pytest.approx(1 / 3) and c1 == pytest.approx(-2 / 3)


# --- linear limit and protocols ----------------------------------------------


@pytest.mark.parametrize("rate,steps", [(0.1, 21), (0.1, 1), (0.35, 7)])
def test_lambda_zero_is_linear_model_exactly(filters, gabors, rate, steps):
    """lambda = 0: v_n = (1 - (1 - lr)^n) c0 Q with c0 = 1, whatever the XOR term."""
    w0, w1 = filters
    q = model.linear_drive(w0, gabors)
    relaxation = model.Relaxation(rate=rate, steps=steps)
    for dsum in _sums(w1, gabors):
        result = model.relax_feedforward(q, dsum, lam=0.0, alpha=0.2, relaxation=relaxation)
        assert_allclose(result.v, (1 - (1 - rate) ** steps) * q, rtol=1e-13, atol=1e-17)
        assert np.all(result.iterations == steps)


def test_lambda_zero_converges_to_linear_response(filters, gabors):
    w0, w1 = filters
    q = model.linear_drive(w0, gabors)
    relaxation = model.Relaxation(protocol="converged", tolerance=1e-13)
    result = model.relax_feedforward(
        q, _sums(w1, gabors)[0], lam=0.0, alpha=0.2, relaxation=relaxation
    )
    assert_allclose(result.v, q, atol=1e-12)
    # residual falls by (1 - lr) per update: about log(|Q|/tol)/-log(0.9) updates
    assert result.iterations.max() <= math.ceil(math.log(1e13 * np.abs(q).max()) / -math.log(0.9))
    assert result.converged.all()


def test_converged_protocol_solves_fixed_point(filters, gabors):
    w0, w1 = filters
    q = model.linear_drive(w0, gabors)
    exact = _sums(w1, gabors)[0]
    lam, alpha = 10.0, 0.2
    result = model.relax_feedforward(
        q, exact, lam=lam, alpha=alpha, relaxation=model.Relaxation(protocol="converged")
    )
    c0, c1, _ = model.term_weights(lam)
    rhs = c0 * q + c1 * exact(alpha * result.v)
    assert_allclose(result.v, rhs, atol=1e-11)
    assert result.converged.all()
    assert 21 < result.iterations.max() < 1000
    paper = model.relax_feedforward(q, exact, lam=lam, alpha=alpha, relaxation=model.Relaxation())
    assert not np.allclose(paper.v, result.v)  # 21 steps are not the fixed point


def test_binned_sum_matches_exact_sum(filters, gabors):
    w0, w1 = filters
    exact, binned = _sums(w1, gabors)
    # Taylor remainder: (h/2)^4/24 max|g''''| sum|w1| with h ~ 1/64 -> below 1e-7
    u = np.linspace(0.0, 0.3, 4)[:, None, None]
    assert_allclose(binned(u), exact(u), rtol=0, atol=1e-7)
    # u < 0: a bin straddling the lobe's corner at z = 0 adds up to
    # |g'(0+)| h/2 (its weight) ~ 7e-4 / 128 * 0.05 ~ 3e-7
    u = np.linspace(-0.3, -0.05, 6)[:, None, None]
    assert_allclose(binned(u), exact(u), rtol=0, atol=5e-7)
    lam = np.array([1.0, 10.0])[:, None, None]
    q = model.linear_drive(w0, gabors)
    r = model.Relaxation()
    v_exact = model.relax_feedforward(q, exact, lam=lam, alpha=0.2, relaxation=r).v
    v_binned = model.relax_feedforward(q, binned, lam=lam, alpha=0.2, relaxation=r).v
    assert_allclose(v_binned, v_exact, atol=1e-7 * np.abs(v_exact).max())


def test_binned_sum_is_exact_for_noise_stimuli(filters):
    _, w1 = filters
    rng = np.random.default_rng(1)
    images = np.concatenate(
        [stimuli.dense_noise(N, 5, rng=rng), stimuli.sparse_noise(N, 5, rng=rng)]
    )
    exact, binned = _sums(w1, images)
    assert binned.moments.shape[-1] == 1  # three distinct values: no expansion
    u = np.linspace(-0.5, 0.5, 5)[:, None, None]
    assert_allclose(binned(u), exact(u), rtol=1e-12, atol=1e-15)


def test_combine_is_linear_in_the_filters(filters, gabors):
    _, w1 = filters
    potentials = model.rate_to_potential(gabors, PA2M)
    xor = model.XorDendrite.for_exponent(PA2M)
    noise = np.random.default_rng(0).uniform(-1, 1, (2, N, N)) * np.abs(w1).max()
    base = model.BinnedDendriticSum.from_weights(np.concatenate([w1[None], noise]), potentials, xor)
    combined = base.combine([[1.0, 3.0, 0.0], [1.0, 0.0, 3.0]])
    direct = model.BinnedDendriticSum.from_weights(w1[None] + 3.0 * noise, potentials, xor)
    u = np.full((2, gabors.shape[0]), 0.05)
    assert_allclose(combined(u), direct(u), rtol=1e-12, atol=1e-15)


# --- symmetries ---------------------------------------------------------------


def test_phase_shift_by_pi_flips_linear_drive(spec, filters):
    w0, w1 = filters
    orientation = np.linspace(-1.2, 1.2, 5)[:, None]
    phase = np.linspace(-np.pi / 2, np.pi / 2, 7)[None, :]
    a = spec.stimulus_gabor(orientation, phase).reshape(-1, N, N)
    b = spec.stimulus_gabor(orientation, phase + np.pi).reshape(-1, N, N)
    assert_allclose(model.linear_drive(w0, b), -model.linear_drive(w0, a), atol=1e-15)
    # the XOR term sees |x|: unchanged by the sign flip
    exact_a, exact_b = _sums(w1, a)[0], _sums(w1, b)[0]
    u = np.full((1, a.shape[0]), 0.1)
    assert_allclose(exact_b(u), exact_a(u), atol=1e-15)


def test_mirror_orientations_give_equal_responses(spec, filters):
    """w0, w1 at orientation 0 are mirror-symmetric, so theta and -theta respond alike."""
    w0, w1 = filters
    theta = np.array([0.2, 0.7, 1.3])
    phase = 0.4
    plus = spec.stimulus_gabor(theta, phase)
    minus = spec.stimulus_gabor(-theta, phase)
    images = np.concatenate([plus, minus])
    result = model.relax_feedforward(
        model.linear_drive(w0, images),
        _sums(w1, images)[0],
        lam=10.0,
        alpha=0.2,
        relaxation=model.Relaxation(),
    )
    assert_allclose(result.v[0, :3], result.v[0, 3:], rtol=1e-12)


def test_network_without_lateral_term_is_feedforward(spec, gabors):
    preferred = np.pi * np.arange(4) / 4
    w0, w1 = model.model_filters(spec, preferred)
    potentials = model.rate_to_potential(gabors, PA2M)
    dsum = model.ExactDendriticSum(w1, potentials, model.XorDendrite.for_exponent(PA2M))
    q = model.linear_drive(w0, gabors)
    r = model.Relaxation()
    network = model.relax_network(
        q,
        dsum,
        model.lateral_weights(w0),
        lambda1=10.0,
        lambda2=0.0,
        alpha1=0.2,
        alpha2=1.0,
        relaxation=r,
    )
    feedforward = model.relax_feedforward(q, dsum, lam=10.0, alpha=0.2, relaxation=r)
    assert_allclose(network.v, feedforward.v, rtol=1e-14, atol=1e-17)


def test_network_first_step_is_feedforward(spec, gabors):
    preferred = np.pi * np.arange(4) / 4
    w0, w1 = model.model_filters(spec, preferred)
    potentials = model.rate_to_potential(gabors, PA2M)
    dsum = model.ExactDendriticSum(w1, potentials, model.XorDendrite.for_exponent(PA2M))
    q = model.linear_drive(w0, gabors)
    one = model.Relaxation(steps=1)
    network = model.relax_network(
        q,
        dsum,
        model.lateral_weights(w0),
        lambda1=10.0,
        lambda2=20.0,
        alpha1=0.2,
        alpha2=1.0,
        relaxation=one,
    )
    c0, c1, _ = model.term_weights(10.0)
    assert_allclose(network.v, 0.1 * (c0 * q + c1 * dsum(np.zeros_like(q))), rtol=1e-14)


# --- receptive field ------------------------------------------------------------


def test_receptive_field_of_linear_model_is_c0_w0(spec, filters):
    w0, w1 = filters
    image = spec.stimulus_gabor(0.3, 0.2)
    field, _ = model.receptive_field(
        image, w0, w1, lam=0.0, alpha=0.2, pa2m=PA2M, nonlinearity=model.XorDendrite(0.43**0.5)
    )
    assert_allclose(field, w0, atol=1e-16)


@pytest.mark.parametrize("lam", [1.0, 10.0])
def test_receptive_field_equals_finite_difference(spec, filters, lam):
    """dv/dx_j at the fixed point vs central differences of the converged response.

    Pixels with |x| > 0.05 only (|x|^0.5 has an unbounded slope at 0). The
    converged response is accurate to ~1e-14 (tolerance 1e-15 on the
    residual, contraction factor < 0.9); with h = 1e-5 the rounding error of
    the difference quotient is ~1e-9 and the truncation error h^2 |v'''|/6
    ~1e-9 (|v'''| <~ 50 here), both below 1e-7 of the field's scale, so an
    absolute tolerance of 1e-7 * max|RF| is tight yet safe.
    """
    w0, w1 = filters
    xor = model.XorDendrite.for_exponent(PA2M)
    image = 0.43 * spec.stimulus_gabor(0.2, 0.9) + 0.3 * spec.stimulus_gabor(1.0, 0.0)
    relaxation = model.Relaxation(protocol="converged", tolerance=1e-15)
    field, v = model.receptive_field(
        image, w0, w1, lam=lam, alpha=0.2, pa2m=PA2M, nonlinearity=xor, relaxation=relaxation
    )
    rng = np.random.default_rng(3)
    candidates = np.flatnonzero(np.abs(image).ravel() > 0.05)
    pixels = rng.choice(candidates, size=12, replace=False)
    h = 1e-5
    probes = np.repeat(image[None], 2 * pixels.size, axis=0).reshape(2 * pixels.size, -1)
    probes[np.arange(pixels.size), pixels] += h
    probes[pixels.size + np.arange(pixels.size), pixels] -= h
    probes = probes.reshape(-1, N, N)
    result = model.relax_feedforward(
        model.linear_drive(w0, probes),
        model.ExactDendriticSum(w1[None], model.rate_to_potential(probes, PA2M), xor),
        lam=lam,
        alpha=0.2,
        relaxation=relaxation,
    )
    numeric = (result.v[0, : pixels.size] - result.v[0, pixels.size :]) / (2 * h)
    assert_allclose(field.ravel()[pixels], numeric, rtol=0, atol=1e-7 * np.abs(field).max())
    assert v != 0.0


# --- input checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"protocol": "fast"}, "v1.relaxation.protocol"),
        ({"rate": 0.0}, "v1.relaxation.rate"),
        ({"steps": 0}, "v1.relaxation.steps"),
        ({"tolerance": -1.0}, "v1.relaxation.tolerance"),
    ],
)
def test_bad_relaxation_raises_value_error_naming_key(kwargs, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        model.Relaxation(**kwargs)


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="n_pixels"):
        model.FilterSpec(n_pixels=32)
    with pytest.raises(ValueError, match="dendritic_sum"):
        model.dendritic_sum(
            np.ones((1, 3, 3)), np.ones((1, 3, 3)), model.SigmoidDendrite(), method="x"
        )
    with pytest.raises(ValueError, match="converged"):
        model.receptive_field(
            np.ones((3, 3)),
            np.ones((3, 3)),
            np.ones((3, 3)),
            lam=1.0,
            alpha=0.2,
            pa2m=0.5,
            nonlinearity=model.SigmoidDendrite(),
            relaxation=model.Relaxation(),
        )


@pytest.mark.parametrize("fraction", [0.0, 2.0])
def test_active_set_gives_the_same_fixed_points(spec, gabors, monkeypatch, fraction):
    """Freezing converged groups (active set) changes results by less than the tolerance."""
    preferred = np.pi * np.arange(4) / 4
    w0, w1 = model.model_filters(spec, preferred)
    potentials = model.rate_to_potential(gabors, PA2M)
    xor = model.XorDendrite.for_exponent(PA2M)
    q = model.linear_drive(w0, gabors)
    relaxation = model.Relaxation(protocol="converged", tolerance=1e-12)

    def run():
        out = []
        for dsum in (
            model.ExactDendriticSum(w1, potentials, xor),
            model.BinnedDendriticSum.from_weights(w1, potentials, xor),
        ):
            lam = np.array([1.0, 10.0])[:, None, None]
            out.append(model.relax_feedforward(q, dsum, lam=lam, alpha=0.2, relaxation=relaxation))
            out.append(
                model.relax_network(
                    q,
                    dsum,
                    model.lateral_weights(w0),
                    lambda1=lam,
                    lambda2=2.0,
                    alpha1=0.2,
                    alpha2=1.0,
                    relaxation=relaxation,
                )
            )
        return out

    default = run()
    monkeypatch.setattr(model.relaxation, "_ACTIVE_SET_FRACTION", fraction)  # 0: never, 2: always
    other = run()
    for a, b in zip(default, other, strict=True):
        assert a.converged.all() and b.converged.all()
        # both are within tolerance/(1 - contraction) ~ 1e-11 of the fixed point
        assert_allclose(a.v, b.v, rtol=0, atol=1e-10)
        assert np.abs(a.iterations - b.iterations).max() <= 1


def test_network_that_does_not_settle_is_reported_unconverged(spec, gabors):
    preferred = np.pi * np.arange(4) / 4
    w0, w1 = model.model_filters(spec, preferred)
    dsum = model.ExactDendriticSum(
        w1, model.rate_to_potential(gabors, PA2M), model.XorDendrite.for_exponent(PA2M)
    )
    relaxation = model.Relaxation(protocol="converged", tolerance=1e-30, max_iterations=50)
    result = model.relax_network(
        model.linear_drive(w0, gabors),
        dsum,
        model.lateral_weights(w0),
        lambda1=10.0,
        lambda2=2.0,
        alpha1=0.2,
        alpha2=1.0,
        relaxation=relaxation,
    )
    assert not result.converged.any()
    assert np.all(result.iterations == 50)
