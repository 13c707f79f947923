"""Exact population errors against Monte Carlo and against each other."""

import math

import numpy as np
import pytest

from pipeline.simulate.data import make_spiked_gaussian
from pipeline.simulate.errors import oracle_pgr, pgr, population_mse, population_mse_quadrature
from pipeline.simulate.hermite import HermiteLink
from pipeline.simulate.student import predict


def test_hermite_polynomials_are_orthogonal_with_norm_k_factorial():
    link_terms = [HermiteLink.parse(f"he{k}") for k in range(1, 6)]
    x, weights = np.polynomial.hermite_e.hermegauss(30)
    weights = weights / math.sqrt(2 * math.pi)
    gram = np.array([[weights @ (a(x) * b(x)) for b in link_terms] for a in link_terms])
    np.testing.assert_allclose(gram, np.diag([math.factorial(k) for k in range(1, 6)]), atol=1e-9)


def test_link_parsing_and_information_exponent():
    link = HermiteLink.parse("0.5*he4 + he3")
    assert link.degrees == (3, 4)
    assert link.information_exponent == 3
    assert link.second_moment == pytest.approx(6 + 0.25 * 24)
    assert link.derivative_second_moment == pytest.approx(3 * 6 + 0.25 * 4 * 24)
    with pytest.raises(ValueError):
        HermiteLink.parse("he3 + relu")


@pytest.mark.parametrize("k", [2, 3, 4])
def test_pure_hermite_error_is_two_k_factorial_one_minus_rho_to_the_k(k):
    rho = np.linspace(-1, 1, 9)
    link = HermiteLink.parse(f"he{k}")
    np.testing.assert_allclose(population_mse(link, rho), 2 * math.factorial(k) * (1 - rho**k), atol=1e-12)
    np.testing.assert_allclose(population_mse_quadrature(link, rho), 2 * math.factorial(k) * (1 - rho**k), atol=1e-8)


def test_closed_form_matches_quadrature_for_a_mixture():
    link = HermiteLink.parse("0.7*he2+he3+0.3*he4")
    rho = np.linspace(-0.9, 0.95, 7)
    np.testing.assert_allclose(population_mse(link, rho), population_mse_quadrature(link, rho), rtol=1e-9)


@pytest.mark.parametrize("spec, spike_angle", [("he3", 0.0), ("he2", 0.0), ("0.5*he2+he3", 0.0), ("he3", 35.0)])
def test_student_error_depends_only_on_overlap_and_matches_monte_carlo(spec, spike_angle):
    """The real student f_w (covariance-normalised) on spiked data: MC error equals the closed form."""
    rng = np.random.default_rng(1)
    link = HermiteLink.parse(spec)
    model = make_spiked_gaussian(rng, d=40, beta=2.0, spike_angle_deg=spike_angle)
    n = 200_000
    for overlap in (0.2, 0.6, 0.9):
        w = overlap * model.target + math.sqrt(1 - overlap**2) * model.frame[3]
        x = model.sample(rng, (n,))
        squared = (predict(model, link, w, x) - predict(model, link, model.target, x)) ** 2
        expected = population_mse(link, model.sigma_correlation(w, model.target))
        tolerance = 5 * squared.std() / math.sqrt(n)  # five Monte Carlo standard errors
        assert abs(squared.mean() - expected) < tolerance, (spec, overlap, squared.mean(), expected)


def test_naive_scaling_quadrature_matches_monte_carlo():
    rng = np.random.default_rng(2)
    link = HermiteLink.parse("he3")
    n, rho, scale = 400_000, 0.3, 0.6
    z1 = rng.standard_normal(n)
    z2 = rho * z1 + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    squared = (link(scale * z1) - link(z2)) ** 2
    assert abs(squared.mean() - population_mse_quadrature(link, rho, scale)) < 5 * squared.std() / math.sqrt(n)


def test_pgr_is_undefined_without_a_gap_and_oracle_pgr_is_not():
    assert pgr(2.0, 1.0, 0.0) == pytest.approx(0.5)
    assert pgr(2.0, 3.0, 0.0) == pytest.approx(-0.5)
    # both students stuck (ceiling worse than the weak supervisor): the ratio would read ~1
    assert np.isnan(pgr(2.5, 11.9, 12.0))
    assert np.isnan(pgr(2.5, 1.0, 2.4, min_gap=0.25))
    assert oracle_pgr(2.5, 11.9) == pytest.approx(1 - 11.9 / 2.5)
