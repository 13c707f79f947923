"""The student: its gradient, and the spurious minimum that the covariance normalisation removes."""

import math

import numpy as np
import pytest

from pipeline.simulate.data import make_spiked_gaussian
from pipeline.simulate.errors import population_mse, population_mse_quadrature
from pipeline.simulate.hermite import HermiteLink
from pipeline.simulate.student import predict, sgd_gradient, train_spherical_sgd
from pipeline.simulate.threads import limited_blas_threads
from pipeline.simulate.weak import TrueLabels

HE3 = HermiteLink.parse("he3")
BETA = 4.0  # a strong spike makes the naive normalisation's spurious basin wide enough to see


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    with limited_blas_threads(1):
        yield


def _loss_along_equator_to_target(overlaps, normalization):
    """Exact population loss of w = m w* + sqrt(1 - m^2) v, v orthogonal to w* and to the spike."""
    overlaps = np.asarray(overlaps, dtype=float)
    rho = overlaps * math.sqrt(1 + BETA) / np.sqrt(1 + BETA * overlaps**2)
    if normalization == "covariance":
        return population_mse(HE3, rho)
    scale = np.sqrt((1 + BETA * overlaps**2) / (1 + BETA))  # std of <w, x> / sqrt(1 + beta)
    return population_mse_quadrature(HE3, rho, scale)


def _start_with_overlap(rng, model, runs, overlap):
    noise = rng.standard_normal((runs, model.d))
    noise -= (noise @ model.target)[:, None] * model.target + (noise @ model.spike)[:, None] * model.spike
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return overlap * model.target + math.sqrt(1 - overlap**2) * noise


@pytest.mark.parametrize("normalization", ["covariance", "naive"])
def test_gradient_matches_finite_differences_on_the_sphere(normalization):
    rng = np.random.default_rng(0)
    model = make_spiked_gaussian(rng, 7, 1.5)
    link = HermiteLink.parse("0.5*he2+he3")
    w = rng.standard_normal(7)
    w /= np.linalg.norm(w)
    x = model.sample(rng, (1, 5))
    y = rng.standard_normal((1, 1, 5))

    def loss(v):
        v = v / np.linalg.norm(v)
        return 0.5 * np.mean((predict(model, link, v[None], x, normalization) - y[0]) ** 2)

    grad = sgd_gradient(model, link, w[None, None], x, y, normalization)[0, 0]
    assert abs(grad @ w) < 1e-12  # tangent to the sphere
    for direction in rng.standard_normal((4, 7)):
        tangent = direction - (direction @ w) * w
        tangent /= np.linalg.norm(tangent)
        eps = 1e-6
        numeric = (loss(w + eps * tangent) - loss(w - eps * tangent)) / (2 * eps)
        assert numeric == pytest.approx(grad @ tangent, rel=1e-5, abs=1e-8)


def test_no_spurious_minimum_at_the_equator_with_covariance_normalisation():
    overlaps = np.linspace(0.0, 1.0, 201)
    loss = _loss_along_equator_to_target(overlaps, "covariance")
    assert np.all(np.diff(loss) < 0)  # strictly downhill from w perpendicular to w* all the way to w*


def test_naive_normalisation_has_a_spurious_minimum_at_the_equator():
    """The same check fails under the naive scale: the test can tell the two apart."""
    small = np.array([0.02, 0.05, 0.1, 0.15])
    loss = _loss_along_equator_to_target(np.concatenate([[0.0], small]), "naive")
    assert np.all(loss[1:] > loss[0] + 1e-4)  # uphill in every direction towards w*: a local minimum
    assert _loss_along_equator_to_target(1.0, "naive") < loss[0]  # ... that is not the global one


def test_landscape_formulas_describe_the_implemented_student():
    """Monte Carlo with the real f_w, common samples across overlaps, reproduces both landscapes."""
    rng = np.random.default_rng(1)
    model = make_spiked_gaussian(rng, 20, BETA)
    x = model.sample(rng, (300_000,))
    truth = predict(model, HE3, model.target, x)
    v = model.frame[3]
    for normalization in ("covariance", "naive"):
        for m in (0.0, 0.15, 0.6):
            w = m * model.target + math.sqrt(1 - m * m) * v
            squared = (predict(model, HE3, w, x, normalization) - truth) ** 2
            assert abs(squared.mean() - _loss_along_equator_to_target(m, normalization)) < 5 * squared.std() / math.sqrt(len(x))


def test_sgd_escapes_the_equator_only_with_covariance_normalisation():
    rng = np.random.default_rng(2)
    model = make_spiked_gaussian(rng, 48, BETA)
    start = _start_with_overlap(rng, model, 4, 0.08)
    final = {}
    for normalization in ("covariance", "naive"):
        trajectory = train_spherical_sgd(np.random.default_rng(3), model, HE3, start, [TrueLabels()], steps=120, batch=256,
                                         lr=0.005, normalization=normalization)
        final[normalization] = np.median(trajectory.overlap[-1, 0])
    assert final["covariance"] > 0.5
    assert abs(final["naive"]) < 0.05  # pulled back to the equator


def test_training_is_deterministic_and_stays_on_the_sphere():
    model = make_spiked_gaussian(np.random.default_rng(5), 16, 1.0)
    start = _start_with_overlap(np.random.default_rng(6), model, 3, 0.5)
    runs = [train_spherical_sgd(np.random.default_rng(7), model, HE3, start, [TrueLabels(), TrueLabels()], steps=30, batch=4,
                                lr=0.002, record_steps=[10, 20]) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].final, runs[1].final)
    np.testing.assert_allclose(np.linalg.norm(runs[0].final, axis=-1), 1.0)
    assert list(runs[0].steps) == [0, 10, 20, 30]
    # two label sources with the same labels and shared x stay identical
    np.testing.assert_allclose(runs[0].final[0], runs[0].final[1])
