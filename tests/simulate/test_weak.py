"""Weak supervisors: closed-form errors against Monte Carlo, and no degree-1 leak from a misaligned teacher."""

import math

import numpy as np
import pytest

from pipeline.simulate.data import make_spiked_gaussian
from pipeline.simulate.hermite import HermiteLink
from pipeline.simulate.weak import TrueLabels, WeakSupervisor, project_on_frame

N = 150_000


def _monte_carlo(supervisor, model, link, normalization="covariance", seed=0):
    rng = np.random.default_rng(seed)
    x = model.sample(rng, (1, N))
    projections = project_on_frame(model, x)
    weak = supervisor.labels(rng, projections, model, link, normalization)[0]
    truth = TrueLabels().labels(rng, projections, model, link)[0]
    return weak, truth, projections[0]


@pytest.mark.parametrize("spec", ["he3", "0.5*he2+he3"])
@pytest.mark.parametrize("supervisor", [
    WeakSupervisor(misalignment_deg=30.0),
    WeakSupervisor(bias_amplitude=0.5),
    WeakSupervisor(bias_amplitude=0.7, bias_degree=2),
    WeakSupervisor(noise_std=0.8),
    WeakSupervisor(misalignment_deg=20.0, bias_amplitude=0.4, noise_std=0.6),
], ids=lambda s: s.kind + (f"-deg{s.bias_degree}" if s.bias_degree else ""))
def test_closed_form_error_matches_monte_carlo(spec, supervisor):
    link = HermiteLink.parse(spec)
    model = make_spiked_gaussian(np.random.default_rng(1), 30, 2.0)
    weak, truth, _ = _monte_carlo(supervisor, model, link)
    squared = (weak - truth) ** 2
    exact = supervisor.exact_error(model, link, 1)[0]
    assert exact > 0
    assert abs(squared.mean() - exact) < 5 * squared.std() / math.sqrt(N)


def test_closed_form_error_holds_when_the_spike_is_tilted_away_from_the_target():
    link = HermiteLink.parse("he3")
    model = make_spiked_gaussian(np.random.default_rng(8), 30, 3.0, spike_angle_deg=40.0)
    supervisor = WeakSupervisor(misalignment_deg=25.0, bias_amplitude=0.5, noise_std=0.5)
    weak, truth, _ = _monte_carlo(supervisor, model, link, seed=9)
    squared = (weak - truth) ** 2
    assert abs(squared.mean() - supervisor.exact_error(model, link, 1)[0]) < 5 * squared.std() / math.sqrt(N)


def test_naive_teacher_error_matches_monte_carlo():
    link = HermiteLink.parse("he3")
    model = make_spiked_gaussian(np.random.default_rng(2), 30, 2.0)
    supervisor = WeakSupervisor(misalignment_deg=45.0)
    weak, truth, _ = _monte_carlo(supervisor, model, link, normalization="naive")
    squared = (weak - truth) ** 2
    exact = supervisor.exact_error(model, link, 1, normalization="naive")[0]
    assert abs(squared.mean() - exact) < 5 * squared.std() / math.sqrt(N)


def test_misaligned_teacher_leaks_no_degree_one_signal_under_covariance_normalisation():
    """E[y He1(z*)] is the signal an information-exponent-1 learner would pick up for free."""
    link = HermiteLink.parse("he3")
    beta, alpha = 2.0, 45.0
    model = make_spiked_gaussian(np.random.default_rng(3), 30, beta)
    supervisor = WeakSupervisor(misalignment_deg=alpha)
    z_target = lambda projections: projections[:, 0] / math.sqrt(1 + beta)  # noqa: E731
    weak, _, projections = _monte_carlo(supervisor, model, link, "covariance", seed=4)
    product = weak * z_target(projections)
    assert abs(product.mean()) < 4 * product.std() / math.sqrt(N)

    weak_naive, _, projections = _monte_carlo(supervisor, model, link, "naive", seed=4)
    leaked = (weak_naive * z_target(projections)).mean()
    # He3(s z) = s^3 He3(z) + 3 s (s^2 - 1) He1(z): the naive teacher has a degree-1 term
    cos_alpha = math.cos(math.radians(alpha))
    scale = math.sqrt((1 + beta * cos_alpha**2) / (1 + beta))
    rho = cos_alpha * math.sqrt(1 + beta) / math.sqrt(1 + beta * cos_alpha**2)
    assert leaked == pytest.approx(3 * scale * (scale**2 - 1) * rho, abs=0.05)
    assert abs(leaked) > 0.3


def test_teacher_pre_activation_has_unit_variance():
    link = HermiteLink.parse("he2")
    model = make_spiked_gaussian(np.random.default_rng(5), 30, 3.0)
    directions = WeakSupervisor(misalignment_deg=25.0).teacher_directions(model, 1)
    x = model.sample(np.random.default_rng(6), (N,))
    assert np.var(x @ directions[0]) / model.sigma_norm(directions[0]) ** 2 == pytest.approx(1.0, abs=0.01)
    assert link.information_exponent == 2


def test_per_run_parameters_give_per_run_errors():
    link = HermiteLink.parse("he3")
    model = make_spiked_gaussian(np.random.default_rng(7), 10, 1.0)
    errors = WeakSupervisor(noise_std=np.array([0.0, 1.0, 2.0])).exact_error(model, link, 3)
    np.testing.assert_allclose(errors, [0.0, 1.0, 4.0], atol=1e-12)
    aligned = WeakSupervisor(misalignment_deg=np.array([0.0, 90.0])).exact_error(model, link, 2)
    np.testing.assert_allclose(aligned, [0.0, 2 * link.second_moment], atol=1e-9)
    with pytest.raises(ValueError):
        WeakSupervisor(noise_std=-1.0)
