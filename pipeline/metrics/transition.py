"""Locate the checkpoint where W2SG switches on: sigmoid and change-point fits.

Both fits take x on a log scale (log10 of step or of tokens; the caller
chooses) and y = PGR, or acc_w2s - acc_weak, one value per observation
(checkpoint x seed). Log of step 0 is -inf, so the caller must map it first;
`step_to_x` does that with a documented placeholder.

Pure numpy/scipy, no file I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares
from scipy.special import expit

Direction = Literal["up", "down", "either"]

# Step 0 sits this many decades below the smallest positive step: far enough
# left to read as "before training", close enough not to dominate the x range.
STEP_ZERO_OFFSET_DECADES = 0.5

_N_PARAMS_SIGMOID = 4  # lo, hi, x0, w
_GRID_X0 = 41
_GRID_W_FRACTIONS = (0.01, 0.03, 0.07, 0.15, 0.3, 0.6, 1.0)
_MIN_WIDTH_FRACTION = 0.01  # w below ~1% of the x span is a step; narrower is unidentifiable
_MAX_WIDTH_FRACTION = 1.0  # wider than the span is a straight line over the data
_MAX_BOOT_FAILURE = 0.2


class LogAxis(NamedTuple):
    """log10 positions plus a mask of points that were step 0 (placeholders, not measurements)."""

    x: NDArray[np.float64]
    is_step_zero: NDArray[np.bool_]


def step_to_x(steps: ArrayLike, tokens_per_step: float | ArrayLike | None = None) -> LogAxis:
    """log10(step) or log10(step * tokens_per_step), with step 0 placed half a decade
    below the smallest positive value and flagged in `is_step_zero`.

    The placeholder keeps the untrained checkpoint on the plot and in the lower
    plateau; its x is a convention, so never read a midpoint off it.
    """
    step_values = np.asarray(steps, dtype=float)
    if np.any(~np.isfinite(step_values)) or np.any(step_values < 0):
        raise ValueError("steps must be finite and non-negative")
    amounts = step_values if tokens_per_step is None else step_values * np.asarray(tokens_per_step, dtype=float)
    is_zero = amounts == 0
    if np.all(is_zero):
        raise ValueError("need at least one positive step to place step 0")
    x = np.empty_like(amounts)
    x[~is_zero] = np.log10(amounts[~is_zero])
    x[is_zero] = x[~is_zero].min() - STEP_ZERO_OFFSET_DECADES
    return LogAxis(x=x, is_step_zero=is_zero)


# ---------------------------------------------------------------- sigmoid fit


@dataclass(frozen=True)
class SigmoidTransition:
    """Sigmoid fit y = lo + (hi - lo) / (1 + exp(-(x - x0) / width)) with bootstrap CIs.

    Fitted values are always reported, even when `transition_supported` is
    False, so a plot can show what the fit tried; use `transition_x`, which is
    nan unless supported, wherever a midpoint is taken as a finding.
    `reason` lists every failed criterion, or summarises the evidence when
    supported.
    """

    x0: float
    x0_ci: tuple[float, float]
    lo: float
    lo_ci: tuple[float, float]
    hi: float
    hi_ci: tuple[float, float]
    jump: float
    jump_ci: tuple[float, float]
    width: float
    width_ci: tuple[float, float]
    r_squared: float
    residual_std: float
    aic_sigmoid: float
    aic_constant: float
    delta_aic: float
    observed_fraction: float
    transition_supported: bool
    reason: str
    n_obs: int
    n_dropped: int
    n_groups: int
    n_boot: int
    n_boot_failed: int
    x_range: tuple[float, float]

    @property
    def transition_x(self) -> float:
        return self.x0 if self.transition_supported else float("nan")


def _sigmoid(params: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    lo, hi, x0, width = params
    return lo + (hi - lo) * expit((x - x0) / width)


def _sigmoid_jacobian(params: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    lo, hi, x0, width = params
    z = (x - x0) / width
    s = expit(z)
    slope = (hi - lo) * s * (1 - s)
    return np.column_stack([1 - s, s, -slope / width, -slope * z / width])


def _aicc(rss: float, n: int, k: int) -> float:
    """Gaussian AICc with sigma counted as a parameter; small-n correction matters at ~10 checkpoints."""
    k_total = k + 1
    rss = max(rss, 1e-300)
    penalty = 2 * k_total + (2 * k_total * (k_total + 1) / (n - k_total - 1) if n - k_total - 1 > 0 else np.inf)
    return n * np.log(rss / n) + penalty


@dataclass(frozen=True)
class _Bounds:
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]

    def clip(self, params: NDArray[np.float64]) -> NDArray[np.float64]:
        margin = 1e-9 * (self.upper - self.lower)
        return np.clip(params, self.lower + margin, self.upper - margin)


def _bounds(x: NDArray[np.float64], y: NDArray[np.float64]) -> _Bounds:
    """Plateaus may extrapolate a little past the data, the midpoint half a span past
    the ends; wider freedom only buys degenerate fits."""
    x_span = float(np.ptp(x))
    y_span = max(float(np.ptp(y)), 1e-6)
    y_lo, y_hi = float(y.min()) - 2 * y_span, float(y.max()) + 2 * y_span
    return _Bounds(
        lower=np.array([y_lo, y_lo, x.min() - 0.5 * x_span, _MIN_WIDTH_FRACTION * x_span]),
        upper=np.array([y_hi, y_hi, x.max() + 0.5 * x_span, _MAX_WIDTH_FRACTION * x_span]),
    )


def _grid(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(x0, width) candidates and the logistic basis for each, shape (n_candidates, n)."""
    x_span = float(np.ptp(x))
    x0_values = np.linspace(x.min(), x.max(), _GRID_X0)
    widths = np.array(_GRID_W_FRACTIONS) * x_span
    x0_grid, width_grid = (a.ravel() for a in np.meshgrid(x0_values, widths, indexing="ij"))
    basis = expit((x[None, :] - x0_grid[:, None]) / width_grid[:, None])
    return x0_grid, width_grid, basis


def _profile_grid(
    weights: NDArray[np.float64], y: NDArray[np.float64], basis: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """For fixed (x0, width) the model is linear in (lo, hi): solve every candidate for
    every weight row at once. Returns rss, lo, hi, each (n_rows, n_candidates)."""
    total = weights.sum(axis=1)[:, None]
    sum_y = (weights @ y)[:, None]
    sum_yy = (weights @ (y * y))[:, None]
    sum_s = weights @ basis.T
    sum_ss = weights @ (basis * basis).T
    sum_sy = weights @ (basis * y).T
    var_s = sum_ss - sum_s**2 / total
    cov_sy = sum_sy - sum_s * sum_y / total
    tss = sum_yy - sum_y**2 / total
    informative = var_s > 1e-12 * total
    safe_var = np.where(informative, var_s, 1.0)
    slope = np.where(informative, cov_sy / safe_var, 0.0)
    rss = np.where(informative, tss - cov_sy**2 / safe_var, tss)
    lo = (sum_y - slope * sum_s) / total
    return rss, lo, lo + slope


def _refine(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    sqrt_weights: NDArray[np.float64],
    starts: list[NDArray[np.float64]],
    bounds: _Bounds,
    tolerance: float = 1e-8,
) -> tuple[NDArray[np.float64], float]:
    """Local least squares from each start; keep the lowest cost."""

    def residuals(params: NDArray[np.float64]) -> NDArray[np.float64]:
        return sqrt_weights * (_sigmoid(params, x) - y)

    def jacobian(params: NDArray[np.float64]) -> NDArray[np.float64]:
        return sqrt_weights[:, None] * _sigmoid_jacobian(params, x)

    best_params, best_cost = None, np.inf
    for start in starts:
        result = least_squares(
            residuals,
            bounds.clip(start),
            jac=jacobian,
            bounds=(bounds.lower, bounds.upper),
            method="trf",
            ftol=tolerance,
            xtol=tolerance,
            gtol=tolerance,
            max_nfev=200,
        )
        if result.cost < best_cost:
            best_params, best_cost = result.x, float(result.cost)
    return best_params, 2 * best_cost


def _starts_across_range(
    rss: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    x0_grid: NDArray[np.float64],
    width_grid: NDArray[np.float64],
) -> list[NDArray[np.float64]]:
    """Global grid optimum plus the best candidate at several midpoints across the range,
    so a local minimum near one end cannot hide a transition at the other."""
    chosen = [int(np.argmin(rss))]
    unique_x0 = np.unique(x0_grid)
    for quantile in (0.1, 0.3, 0.5, 0.7, 0.9):
        target = unique_x0[int(round(quantile * (unique_x0.size - 1)))]
        candidates = np.flatnonzero(x0_grid == target)
        chosen.append(int(candidates[np.argmin(rss[candidates])]))
    return [np.array([lo[i], hi[i], x0_grid[i], width_grid[i]]) for i in dict.fromkeys(chosen)]


def _bootstrap_weights(
    n: int, groups: NDArray | None, n_boot: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Resample counts per observation, (n_boot, n). With groups: draw groups with
    replacement, then points within each drawn group (two-stage cluster bootstrap,
    slightly conservative)."""
    if groups is None:
        index = rng.integers(0, n, size=(n_boot, n))
        offsets = (np.arange(n_boot) * n)[:, None]
        return np.bincount((index + offsets).ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    labels, group_of = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(group_of == g) for g in range(labels.size)]
    weights = np.zeros((n_boot, n))
    for row in range(n_boot):
        for g in rng.integers(0, labels.size, size=labels.size):
            picked = rng.choice(members[g], size=members[g].size, replace=True)
            np.add.at(weights[row], picked, 1.0)
    return weights


def _percentile_ci(values: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(low), float(high))


def _direction_sign(direction: Direction, jump: float) -> float:
    if direction == "up":
        return 1.0
    if direction == "down":
        return -1.0
    if direction == "either":
        return 1.0 if jump >= 0 else -1.0
    raise ValueError(f"direction must be 'up', 'down' or 'either', not {direction!r}")


def _clean_xy(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray | None, int]:
    """Sorted finite observations; non-finite y (undefined PGR) dropped and counted."""
    x_values = np.asarray(x, dtype=float).ravel()
    y_values = np.asarray(y, dtype=float).ravel()
    if x_values.shape != y_values.shape:
        raise ValueError(f"x has {x_values.size} values, y has {y_values.size}")
    group_values = None if groups is None else np.asarray(groups).ravel()
    if group_values is not None and group_values.shape != x_values.shape:
        raise ValueError(f"groups has {group_values.size} values, x has {x_values.size}")
    if np.any(np.isinf(x_values)):
        raise ValueError("x contains inf: map step 0 before taking the log (see step_to_x)")
    keep = np.isfinite(x_values) & np.isfinite(y_values)
    order = np.argsort(x_values[keep], kind="stable")
    kept_groups = None if group_values is None else group_values[keep][order]
    return x_values[keep][order], y_values[keep][order], kept_groups, int((~keep).sum())


def _unsupported_sigmoid(
    reason: str, n_obs: int, n_dropped: int, n_groups: int, x_range: tuple[float, float]
) -> SigmoidTransition:
    nan = float("nan")
    nan_ci = (nan, nan)
    return SigmoidTransition(
        x0=nan, x0_ci=nan_ci, lo=nan, lo_ci=nan_ci, hi=nan, hi_ci=nan_ci, jump=nan, jump_ci=nan_ci,
        width=nan, width_ci=nan_ci, r_squared=nan, residual_std=nan, aic_sigmoid=nan, aic_constant=nan,
        delta_aic=nan, observed_fraction=nan, transition_supported=False, reason=reason, n_obs=n_obs,
        n_dropped=n_dropped, n_groups=n_groups, n_boot=0, n_boot_failed=0, x_range=x_range,
    )  # fmt: skip


def fit_sigmoid_transition(
    x: ArrayLike,
    y: ArrayLike,
    groups: ArrayLike | None = None,
    n_boot: int = 200,
    seed: int = 0,
    *,
    alpha: float = 0.05,
    min_jump: float = 0.1,
    aic_margin: float = 10.0,
    min_observed_fraction: float = 0.8,
    direction: Direction = "up",
) -> SigmoidTransition:
    """Fit a four-parameter sigmoid in x and decide whether the data show a transition.

    x: log10(step) or log10(tokens), already finite (step 0 mapped by the caller,
    e.g. with `step_to_x`). y: PGR or acc_w2s - acc_weak, one per observation;
    non-finite y (an undefined PGR) or nan x is dropped and counted in `n_dropped`.
    Huge |PGR| from a near-zero denominator will dominate least squares: filter
    on `pgr_status` first. groups: e.g. seed ids; the bootstrap then resamples
    groups, then points.

    Supported only if all hold:
      * model evidence: AICc(constant) - AICc(sigmoid) >= aic_margin
        (10 = "essentially no support" for the flat model, Burnham & Anderson);
      * jump = hi - lo has the expected sign, |jump| >= min_jump (y units), and
        its bootstrap CI excludes 0;
      * midpoint x0 and its whole CI lie strictly inside the observed x range;
      * plateaus observed: at least min_observed_fraction of the fitted jump
        happens between min(x) and max(x), which rejects a straight ramp that the
        sigmoid can only mimic with plateaus extrapolated beyond the data;
      * at most 20% of bootstrap refits failed.
    AICc assumes independent residuals, which seeds sharing a checkpoint are
    not; the CI-based criteria, from the cluster bootstrap when groups are
    given, are what guard against that.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    x_obs, y_obs, group_obs, n_dropped = _clean_xy(x, y, groups)
    n = x_obs.size
    n_groups = 0 if group_obs is None else int(np.unique(group_obs).size)
    x_range = (float(x_obs.min()), float(x_obs.max())) if n else (float("nan"), float("nan"))
    n_distinct_x = np.unique(x_obs).size
    if n < _N_PARAMS_SIGMOID + 3 or n_distinct_x < _N_PARAMS_SIGMOID:
        return _unsupported_sigmoid(
            f"too few observations ({n} points at {n_distinct_x} distinct x; need >= 7 and >= 4)",
            n, n_dropped, n_groups, x_range,
        )  # fmt: skip
    if group_obs is not None and n_groups < 2:
        return _unsupported_sigmoid("need at least 2 groups to bootstrap over groups", n, n_dropped, n_groups, x_range)

    bounds = _bounds(x_obs, y_obs)
    x0_grid, width_grid, basis = _grid(x_obs)
    ones = np.ones((1, n))
    rss_grid, lo_grid, hi_grid = _profile_grid(ones, y_obs, basis)
    starts = _starts_across_range(rss_grid[0], lo_grid[0], hi_grid[0], x0_grid, width_grid)
    params, rss = _refine(x_obs, y_obs, np.ones(n), starts, bounds)
    lo, hi, x0, width = (float(p) for p in params)
    jump = hi - lo

    tss = float(np.sum((y_obs - y_obs.mean()) ** 2))
    r_squared = 1 - rss / tss if tss > 0 else float("nan")
    residual_std = float(np.sqrt(rss / (n - _N_PARAMS_SIGMOID)))
    aic_sigmoid = float(_aicc(rss, n, _N_PARAMS_SIGMOID))
    aic_constant = float(_aicc(tss, n, 1))
    delta_aic = aic_constant - aic_sigmoid
    observed_fraction = float(expit((x_range[1] - x0) / width) - expit((x_range[0] - x0) / width))

    rng = np.random.default_rng(seed)
    weights = _bootstrap_weights(n, group_obs, n_boot, rng)
    boot_rss, boot_lo, boot_hi = _profile_grid(weights, y_obs, basis)
    boot_params = np.full((n_boot, _N_PARAMS_SIGMOID), np.nan)
    for row in range(n_boot):
        support = weights[row] > 0
        if np.unique(x_obs[support]).size < _N_PARAMS_SIGMOID:
            continue  # resample cannot identify four parameters
        # One local refit per resample, from whichever of the full-data optimum and the
        # resample's grid optimum fits it better: halves the cost, which flat data needs.
        best = int(np.argmin(boot_rss[row]))
        grid_start = np.array([boot_lo[row, best], boot_hi[row, best], x0_grid[best], width_grid[best]])
        x_row, y_row, w_row = x_obs[support], y_obs[support], weights[row, support]
        start = min((params, grid_start), key=lambda p: float(w_row @ (_sigmoid(p, x_row) - y_row) ** 2))
        boot_params[row], _ = _refine(x_row, y_row, np.sqrt(w_row), [start], bounds, tolerance=1e-6)
    n_boot_failed = int(np.isnan(boot_params[:, 0]).sum())

    x0_ci = _percentile_ci(boot_params[:, 2], alpha)
    lo_ci = _percentile_ci(boot_params[:, 0], alpha)
    hi_ci = _percentile_ci(boot_params[:, 1], alpha)
    jump_ci = _percentile_ci(boot_params[:, 1] - boot_params[:, 0], alpha)
    width_ci = _percentile_ci(boot_params[:, 3], alpha)

    sign = _direction_sign(direction, jump)
    failures = []
    if not delta_aic >= aic_margin:
        failures.append(f"sigmoid does not beat constant by AICc margin {aic_margin:g} (delta {delta_aic:.2f})")
    if sign * jump < min_jump:
        failures.append(f"jump {jump:.3g} fails direction '{direction}' with minimum size {min_jump:g}")
    signed_jump_low = min(sign * jump_ci[0], sign * jump_ci[1])
    if not signed_jump_low > 0:
        failures.append(f"jump CI [{jump_ci[0]:.3g}, {jump_ci[1]:.3g}] includes 0")
    if not x_range[0] < x0 < x_range[1]:
        failures.append(f"midpoint {x0:.3g} outside observed x range [{x_range[0]:.3g}, {x_range[1]:.3g}]")
    elif not (x_range[0] < x0_ci[0] and x0_ci[1] < x_range[1]):
        failures.append(f"midpoint CI [{x0_ci[0]:.3g}, {x0_ci[1]:.3g}] reaches the edge of the observed x range")
    if not observed_fraction >= min_observed_fraction:
        failures.append(
            f"plateaus not observed: only {observed_fraction:.0%} of the fitted jump lies inside the x range"
        )
    if n_boot_failed > _MAX_BOOT_FAILURE * n_boot:
        failures.append(f"{n_boot_failed} of {n_boot} bootstrap refits failed")
    if n_boot < 1:
        failures.append("no bootstrap resamples, so no CIs")

    supported = not failures
    if supported:
        reason = (
            f"sigmoid beats constant by AICc {delta_aic:.1f}; jump {jump:.3g} "
            f"[{jump_ci[0]:.3g}, {jump_ci[1]:.3g}]; midpoint {x0:.3g} [{x0_ci[0]:.3g}, {x0_ci[1]:.3g}] inside range"
        )
    else:
        reason = "; ".join(failures)

    return SigmoidTransition(
        x0=x0, x0_ci=x0_ci, lo=lo, lo_ci=lo_ci, hi=hi, hi_ci=hi_ci, jump=jump, jump_ci=jump_ci,
        width=width, width_ci=width_ci, r_squared=float(r_squared), residual_std=residual_std,
        aic_sigmoid=aic_sigmoid, aic_constant=aic_constant, delta_aic=float(delta_aic),
        observed_fraction=observed_fraction, transition_supported=supported, reason=reason,
        n_obs=n, n_dropped=n_dropped, n_groups=n_groups, n_boot=int(n_boot),
        n_boot_failed=n_boot_failed, x_range=x_range,
    )  # fmt: skip


# ---------------------------------------------------------------- change point


@dataclass(frozen=True)
class ChangepointFit:
    """Best single mean shift. `x_change` is midway between the last x before and the
    first x after the break (`x_before`, `x_after`); the break is only located to
    within that gap. `p_value` is from a permutation test of the max-over-splits
    statistic, so it accounts for searching over every split."""

    x_change: float
    x_before: float
    x_after: float
    level_before: float
    level_after: float
    jump: float
    residual_std: float
    p_value: float
    supported: bool
    reason: str
    n_obs: int
    n_dropped: int


def _split_gains(y_rows: NDArray[np.float64], split_after: NDArray[np.int64], sign: float | None):
    """Between-segment sum of squares for each split (rows = permutations); the quantity an
    exact single-change-point search maximises. sign restricts to jumps in one direction."""
    n = y_rows.shape[1]
    cumulative = np.cumsum(y_rows, axis=1)
    total = cumulative[:, -1:]
    n_left = (split_after + 1).astype(float)
    n_right = n - n_left
    sum_left = cumulative[:, split_after]
    mean_left = sum_left / n_left
    mean_right = (total - sum_left) / n_right
    gains = n_left * n_right / n * (mean_right - mean_left) ** 2
    if sign is not None:
        gains = np.where(sign * (mean_right - mean_left) > 0, gains, 0.0)
    return gains, mean_left, mean_right


def fit_changepoint(
    x: ArrayLike,
    y: ArrayLike,
    *,
    min_size: int = 2,
    min_jump: float = 0.1,
    alpha: float = 0.05,
    n_perm: int = 999,
    direction: Direction = "up",
    seed: int = 0,
) -> ChangepointFit:
    """Exact search for one mean shift in y along x, as a model-free check on the sigmoid.

    Breaks fall only between distinct x values, with at least `min_size`
    distinct x on each side, so repeated seeds at one checkpoint stay together.
    Supported when the permutation p-value < alpha and the jump (after - before)
    has the expected sign with magnitude >= min_jump. Plain numpy; ruptures is
    not needed for a single break.
    """
    x_obs, y_obs, _, n_dropped = _clean_xy(x, y, None)
    n = x_obs.size
    distinct_x = np.unique(x_obs)
    nan = float("nan")
    if distinct_x.size < 2 * min_size:
        return ChangepointFit(
            nan, nan, nan, nan, nan, nan, nan, nan, False,
            f"too few distinct x ({distinct_x.size}) for two segments of {min_size}", n, n_dropped,
        )  # fmt: skip
    # Last index of each distinct x block; a split after it keeps the block whole.
    block_ends = np.searchsorted(x_obs, distinct_x, side="right") - 1
    split_after = block_ends[min_size - 1 : distinct_x.size - min_size]

    sign = None if direction == "either" else _direction_sign(direction, 0.0)
    gains, mean_left, mean_right = _split_gains(y_obs[None, :], split_after, sign)
    best = int(np.argmax(gains[0]))
    observed_gain = float(gains[0, best])
    level_before, level_after = float(mean_left[0, best]), float(mean_right[0, best])
    jump = level_after - level_before
    boundary = int(np.searchsorted(distinct_x, x_obs[split_after[best]]))
    x_before, x_after = float(distinct_x[boundary]), float(distinct_x[boundary + 1])

    fitted = np.where(np.arange(n) <= split_after[best], level_before, level_after)
    residual_std = float(np.sqrt(np.sum((y_obs - fitted) ** 2) / max(n - 2, 1)))

    rng = np.random.default_rng(seed)
    permuted = rng.permuted(np.broadcast_to(y_obs, (n_perm, n)), axis=1)
    perm_gains, _, _ = _split_gains(permuted, split_after, sign)
    p_value = float((1 + np.sum(perm_gains.max(axis=1) >= observed_gain - 1e-12)) / (n_perm + 1))

    failures = []
    if observed_gain <= 0:
        failures.append(f"no split with a jump in direction '{direction}'")
    if not p_value < alpha:
        failures.append(f"permutation p = {p_value:.3g} not below {alpha:g}")
    effective_sign = _direction_sign(direction, jump)
    if effective_sign * jump < min_jump:
        failures.append(f"jump {jump:.3g} fails direction '{direction}' with minimum size {min_jump:g}")
    supported = not failures
    x_change = (x_before + x_after) / 2
    reason = f"jump {jump:.3g} at x~{x_change:.3g}, p = {p_value:.3g}" if supported else "; ".join(failures)
    return ChangepointFit(
        x_change=x_change, x_before=x_before, x_after=x_after, level_before=level_before,
        level_after=level_after, jump=jump, residual_std=residual_std, p_value=p_value, supported=supported,
        reason=reason, n_obs=n, n_dropped=n_dropped,
    )  # fmt: skip
