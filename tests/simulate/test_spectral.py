"""Spectral initialisation: the BBP closed form, the Wishart shortcut, and sign picking."""

import numpy as np
import pytest

from pipeline.simulate.data import make_spiked_gaussian
from pipeline.simulate.hermite import HermiteLink
from pipeline.simulate.spectral import (bbp_overlap_sq, bbp_threshold_samples, covariance_square_root_factor, pick_sign,
                                        spectral_direction, spectral_directions, top_eigenvector)
from pipeline.simulate.threads import limited_blas_threads
from pipeline.simulate.weak import TrueLabels

# Stated tolerance: with d = 300 and 16 runs, the run-mean squared overlap is within 0.04 of the
# d -> infinity limit when gamma / beta^2 is at least a factor 4 from the threshold (finite-d
# bias plus run-to-run fluctuation; closer to the threshold the finite-d curve is visibly rounded).
TOLERANCE = 0.04


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    with limited_blas_threads(1):
        yield


def test_closed_form_values_and_threshold():
    assert bbp_threshold_samples(200, 2.0) == 50
    assert bbp_overlap_sq(0.5, 1.0) == pytest.approx(0.5 / 1.5)
    assert bbp_overlap_sq(1.0, 1.0) == 0.0  # continuous at the threshold
    assert bbp_overlap_sq(4.0, 1.0) == 0.0


@pytest.mark.parametrize("beta", [1.0, 2.0])
@pytest.mark.parametrize("distance", [1 / 16, 1 / 4, 4, 16])
def test_measured_overlap_matches_closed_form_away_from_threshold(beta, distance):
    d, runs = 300, 16
    rng = np.random.default_rng(int(100 * beta + 10 * distance))
    model = make_spiked_gaussian(rng, d, beta)
    gamma = distance * beta**2
    n_pre = int(round(d / gamma))
    measured = np.mean((spectral_directions(rng, model, n_pre, runs) @ model.spike) ** 2)
    assert abs(measured - bbp_overlap_sq(d / n_pre, beta)) < TOLERANCE


def test_bartlett_factor_has_the_law_of_the_sample_scatter_matrix():
    rng = np.random.default_rng(3)
    d, n = 60, 90
    model = make_spiked_gaussian(rng, d, 1.5)
    mean_scatter = np.mean([(lambda m: m @ m.T)(covariance_square_root_factor(rng, model, n)) / n for _ in range(300)], axis=0)
    sigma = np.eye(d) + 1.5 * np.outer(model.spike, model.spike)
    assert np.abs(mean_scatter - sigma).max() < 0.05
    # the spectral start drawn through the factor vs through explicit samples (n >= d uses the factor)
    direct = np.mean([(top_eigenvector(model.sample(rng, (n,)), rng) @ model.spike) ** 2 for _ in range(150)])
    factored = np.mean([(spectral_direction(rng, model, n) @ model.spike) ** 2 for _ in range(150)])
    assert abs(direct - factored) < 0.04


def test_sign_is_picked_from_labelled_samples_for_an_odd_link():
    rng = np.random.default_rng(4)
    model = make_spiked_gaussian(rng, 50, 1.0)
    link = HermiteLink.parse("he3")
    starts = np.stack([-model.target, model.target, -(0.8 * model.target + 0.6 * model.frame[3])])
    signed = pick_sign(rng, model, link, starts, TrueLabels(), n_labelled=64)
    assert np.all(signed @ model.target > 0)
