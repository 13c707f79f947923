import math
import time

import numpy as np
import pytest

from pipeline.metrics.transition import (
    ChangepointFit,
    SigmoidTransition,
    fit_changepoint,
    fit_sigmoid_transition,
    step_to_x,
)

X_GRID = np.linspace(1.0, 5.0, 41)  # log10 step from 10 to 1e5, 0.1-decade spacing


def _sigmoid_curve(rng, x, x0=3.0, width=0.2, lo=0.05, hi=0.7, noise=0.05):
    return lo + (hi - lo) / (1 + np.exp(-(x - x0) / width)) + rng.normal(0, noise, x.size)


# ---------------------------------------------------------------- step_to_x


def test_step_to_x_places_step_zero_half_a_decade_below():
    axis = step_to_x([0, 10, 100, 1000])
    np.testing.assert_allclose(axis.x, [0.5, 1.0, 2.0, 3.0])
    assert axis.is_step_zero.tolist() == [True, False, False, False]


def test_step_to_x_with_tokens_per_step():
    axis = step_to_x(np.array([0, 1, 10]), tokens_per_step=1000)
    np.testing.assert_allclose(axis.x, [2.5, 3.0, 4.0])
    assert axis.is_step_zero.tolist() == [True, False, False]


def test_step_to_x_rejects_bad_steps():
    with pytest.raises(ValueError):
        step_to_x([0, 0])
    with pytest.raises(ValueError):
        step_to_x([-1, 10])


# ---------------------------------------------------------------- sigmoid


def test_sigmoid_recovers_known_midpoint_within_ci():
    true_x0 = 3.0
    covered = 0
    start = time.perf_counter()
    for seed in range(8):
        rng = np.random.default_rng(seed)
        fit = fit_sigmoid_transition(X_GRID, _sigmoid_curve(rng, X_GRID, x0=true_x0), n_boot=200, seed=seed)
        assert isinstance(fit, SigmoidTransition)
        assert fit.transition_supported, fit.reason
        assert fit.transition_x == fit.x0
        assert fit.x0 == pytest.approx(true_x0, abs=0.15)
        assert fit.lo == pytest.approx(0.05, abs=0.05) and fit.hi == pytest.approx(0.7, abs=0.05)
        assert fit.jump_ci[0] > 0.5 and fit.r_squared > 0.9 and fit.delta_aic > 50
        assert fit.n_boot_failed == 0
        covered += fit.x0_ci[0] <= true_x0 <= fit.x0_ci[1]
    elapsed = time.perf_counter() - start
    assert covered >= 6, covered
    assert elapsed / 8 < 3.0  # 200 refits of 41 points per fit


def test_sigmoid_midpoint_off_grid_and_away_from_center():
    rng = np.random.default_rng(42)
    fit = fit_sigmoid_transition(X_GRID, _sigmoid_curve(rng, X_GRID, x0=1.93, width=0.15), n_boot=100)
    assert fit.transition_supported, fit.reason
    assert fit.x0_ci[0] <= 1.93 <= fit.x0_ci[1]


def test_flat_noisy_curves_report_no_transition():
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        y = 0.3 + rng.normal(0, 0.05, X_GRID.size)
        fit = fit_sigmoid_transition(X_GRID, y, n_boot=100, seed=seed)
        assert not fit.transition_supported, fit.reason
        assert math.isnan(fit.transition_x)
        assert not math.isnan(fit.x0)  # the attempted fit is still reported
        assert fit.delta_aic < 10


def test_linear_ramp_is_not_a_transition():
    """A straight ramp beats the constant model by a wide AICc margin, but the sigmoid can
    only follow it with plateaus extrapolated beyond the data, so it is not reported as a
    transition; the reason names the missing plateaus."""
    rng = np.random.default_rng(7)
    y = 0.1 + 0.15 * (X_GRID - 1.0) + rng.normal(0, 0.03, X_GRID.size)
    fit = fit_sigmoid_transition(X_GRID, y, n_boot=100)
    assert fit.delta_aic > 50
    assert fit.observed_fraction < 0.5
    assert not fit.transition_supported
    assert "plateaus not observed" in fit.reason


def test_transition_at_the_edge_of_the_range_is_not_supported():
    rng = np.random.default_rng(3)
    y = _sigmoid_curve(rng, X_GRID, x0=0.8, width=0.2)  # already on the upper plateau at the first point
    fit = fit_sigmoid_transition(X_GRID, y, n_boot=100)
    assert not fit.transition_supported
    assert "midpoint" in fit.reason


def test_direction_of_the_jump_is_checked():
    rng = np.random.default_rng(11)
    falling = 0.8 - _sigmoid_curve(rng, X_GRID, lo=0.0, hi=0.6)
    up = fit_sigmoid_transition(X_GRID, falling, n_boot=100)
    down = fit_sigmoid_transition(X_GRID, falling, n_boot=100, direction="down")
    assert not up.transition_supported and "fails direction 'up'" in up.reason
    assert down.transition_supported, down.reason
    assert down.jump == pytest.approx(-0.6, abs=0.06)


def _seeded_curves(rng, n_seeds=5, seed_x0_spread=0.3):
    """Each seed has its own midpoint, so points within a seed are not independent."""
    x_single = np.linspace(1.0, 5.0, 21)
    xs, ys, groups = [], [], []
    for seed_id in range(n_seeds):
        x0 = 3.0 + rng.normal(0, seed_x0_spread)
        xs.append(x_single)
        ys.append(_sigmoid_curve(rng, x_single, x0=x0, noise=0.03))
        groups.append(np.full(x_single.size, seed_id))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)


def test_cluster_bootstrap_widens_ci_when_seeds_differ():
    rng = np.random.default_rng(0)
    x, y, groups = _seeded_curves(rng)
    points_only = fit_sigmoid_transition(x, y, n_boot=200, seed=1)
    clustered = fit_sigmoid_transition(x, y, groups=groups, n_boot=200, seed=1)
    assert clustered.n_groups == 5 and points_only.n_groups == 0
    assert clustered.x0 == points_only.x0  # the point fit ignores groups
    width_points = points_only.x0_ci[1] - points_only.x0_ci[0]
    width_clustered = clustered.x0_ci[1] - clustered.x0_ci[0]
    assert width_clustered > 1.5 * width_points


def test_nan_observations_are_dropped_and_counted():
    rng = np.random.default_rng(5)
    y = _sigmoid_curve(rng, X_GRID)
    y[[4, 30]] = np.nan  # e.g. PGR undefined where ceiling == weak
    fit = fit_sigmoid_transition(X_GRID, y, n_boot=50)
    assert fit.n_obs == X_GRID.size - 2 and fit.n_dropped == 2
    assert fit.transition_supported, fit.reason


def test_too_few_points_and_unmapped_step_zero():
    fit = fit_sigmoid_transition([1.0, 2.0, 3.0], [0.0, 0.5, 1.0])
    assert not fit.transition_supported and "too few" in fit.reason and math.isnan(fit.x0)
    with pytest.raises(ValueError, match="step 0"):
        with np.errstate(divide="ignore"):
            x_with_log_of_zero = np.log10([0.0, 10.0, 100.0])
        fit_sigmoid_transition(x_with_log_of_zero, [0.0, 0.1, 0.2])


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(9)
    y = _sigmoid_curve(rng, X_GRID)
    first = fit_sigmoid_transition(X_GRID, y, n_boot=50, seed=4)
    assert first == fit_sigmoid_transition(X_GRID, y, n_boot=50, seed=4)
    assert first.x0_ci != fit_sigmoid_transition(X_GRID, y, n_boot=50, seed=5).x0_ci


# ---------------------------------------------------------------- change point


def test_changepoint_recovers_step_location():
    rng = np.random.default_rng(1)
    y = np.where(X_GRID >= 3.0, 0.6, 0.1) + rng.normal(0, 0.05, X_GRID.size)
    fit = fit_changepoint(X_GRID, y)
    assert isinstance(fit, ChangepointFit)
    assert fit.x_before == pytest.approx(2.9) and fit.x_after == pytest.approx(3.0)
    assert fit.x_change == pytest.approx(2.95)
    assert fit.level_before == pytest.approx(0.1, abs=0.03) and fit.level_after == pytest.approx(0.6, abs=0.03)
    assert fit.supported and fit.p_value <= 0.002
    assert fit.residual_std == pytest.approx(0.05, abs=0.02)


def test_changepoint_keeps_repeated_x_together():
    rng = np.random.default_rng(2)
    x_single = np.linspace(1.0, 5.0, 9)  # 1.0, 1.5, ..., 5.0
    x = np.repeat(x_single, 3)  # three seeds per checkpoint
    y = np.where(x > 2.6, 0.5, 0.0) + rng.normal(0, 0.05, x.size)
    fit = fit_changepoint(x, y)
    assert (fit.x_before, fit.x_after) == (2.5, 3.0)
    assert fit.supported


def test_changepoint_hand_example():
    # Best split of [0, 0, 0, 1, 1] is after index 2: levels 0 and 1.
    fit = fit_changepoint([1, 2, 3, 4, 5], [0, 0, 0, 1, 1], min_jump=0.5, n_perm=199)
    assert (fit.x_before, fit.x_after, fit.level_before, fit.level_after) == (3, 4, 0.0, 1.0)
    # 10 equally likely placements of the two 1s; 1 of them (ones at the end) gives the maximal gain.
    assert fit.p_value == pytest.approx(0.1, abs=0.05)
    assert not fit.supported  # five points cannot reach p < 0.05


def test_changepoint_flat_noise_not_supported():
    for seed in range(8):
        rng = np.random.default_rng(200 + seed)
        fit = fit_changepoint(X_GRID, 0.3 + rng.normal(0, 0.05, X_GRID.size), seed=seed)
        assert not fit.supported, fit.reason


def test_changepoint_cannot_tell_ramp_from_step():
    """Documents why the sigmoid's plateau check exists: a mean-shift model accepts a ramp."""
    rng = np.random.default_rng(7)
    y = 0.1 + 0.15 * (X_GRID - 1.0) + rng.normal(0, 0.03, X_GRID.size)
    fit = fit_changepoint(X_GRID, y)
    assert fit.supported
    assert 2.5 < fit.x_change < 3.5
