"""From a run's tidy table to findings: where W2SG switches on, with its CI, per (suite, weak, task, mode, loss).

Reads tables, never the store's units: every number here is recomputable from the exported table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..metrics.transition import fit_changepoint, fit_sigmoid_transition, step_to_x
from .table import COLUMNS, NUMERIC_OPTIONAL, read_table, seed_means

FIT_GROUP = ["suite", "weak", "task", "mode", "loss"]
X_AXES = ("tokens", "step")
FIT_METRICS = {"pgr": "PGR", "gap": "acc_w2s - acc_weak"}
# The smallest rise called a transition: a tenth of the weak-ceiling gap, or two accuracy points.
MIN_JUMP = {"pgr": 0.1, "gap": 0.02}
# 200 cluster-bootstrap refits take ~1 s per fit; the midpoint CI moves by < 0.01 decade beyond that.
TRANSITION_RESAMPLES = 200

SUMMARY_COLUMNS = [
    *FIT_GROUP, "fit_metric", "x_axis", "n_checkpoints", "n_seeds", "n_obs", "n_excluded",
    "transition_supported", "transition_step", "transition_step_ci_low", "transition_step_ci_high",
    "transition_tokens", "transition_tokens_ci_low", "transition_tokens_ci_high",
    "midpoint_log10", "midpoint_log10_ci_low", "midpoint_log10_ci_high", "width_decades",
    "plateau_low", "plateau_low_ci_low", "plateau_low_ci_high",
    "plateau_high", "plateau_high_ci_low", "plateau_high_ci_high", "jump", "jump_ci_low", "jump_ci_high",
    "r_squared", "residual_std", "delta_aicc", "observed_fraction", "transition_reason",
    "changepoint_supported", "changepoint_step_before", "changepoint_step_after", "changepoint_jump",
    "changepoint_p", "changepoint_reason",
]


# ---------------------------------------------------------------- loading


def check_analysis_options(x_axis: str, metric: str) -> None:
    """Before any work: a typo'd option should fail in a second, not after the fits."""
    if x_axis not in X_AXES:
        raise UserError(f"--x-axis: unknown axis '{x_axis}' (known: {', '.join(X_AXES)})")
    if metric not in FIT_METRICS:
        raise UserError(f"--fit-metric: unknown metric '{metric}' (known: {', '.join(FIT_METRICS)})")


def load_run_table(run_dir: str | Path) -> pd.DataFrame:
    """The run's tidy table, with columns a table from an older pipeline lacks added as missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    path = run_dir / "pgr_vs_step.csv"
    if not path.is_file():
        raise UserError(f"{path}: no table in this run directory (run `w2s run` first)")
    try:
        table = read_table(run_dir)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable table ({str(exc).splitlines()[0]})") from None
    missing_core = [c for c in ("suite", "task", "step", "seed", "pgr", "status") if c not in table.columns]
    if missing_core:
        raise UserError(f"{path}: not a PGR table (no column {', '.join(missing_core)})")
    return normalise_table(table)


def normalise_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every COLUMNS column present with its dtype, so a synthetic or older table reads like a new one."""
    out = table.copy()
    for column in COLUMNS:
        if column not in out.columns:
            out[column] = math.nan if column in NUMERIC_OPTIONAL else ""
    for column in ("pgr_flag", "error", "duplicate_of", "mode", "loss", "weak", "revision", "commit_sha"):
        out[column] = out[column].fillna("").astype(str)
    if out["weak_step"].isna().all():
        out["weak_step"] = out["weak"].map(_step_in_label)
    return out[COLUMNS + [c for c in out.columns if c not in COLUMNS]]


def load_run_tables(run_dirs: list[str | Path]) -> pd.DataFrame:
    """Several runs' tables as one (e.g. one run per weak revision, for the weak x strong grid)."""
    return pd.concat([load_run_table(d) for d in run_dirs], ignore_index=True)


def _step_in_label(label: str) -> float:
    """The step in a 'suite@step1000'-style label, for tables written before `weak_step` existed."""
    match = re.search(r"step(\d+)$", str(label))
    return float(match.group(1)) if match else math.nan


# ---------------------------------------------------------------- the x axis


@dataclass(frozen=True)
class CheckpointAxis:
    """Where each checkpoint sits on the fit's log10 axis, and the way back to steps and tokens.

    Step 0 sits at `step_to_x`'s placeholder: on the plot and in the lower plateau, but no
    midpoint is read off it (the conversions only cover trained checkpoints)."""

    name: str                  # "tokens" or "step"
    x: np.ndarray              # per row of the frame it was built from
    is_step_zero: np.ndarray
    knots_x: np.ndarray        # trained checkpoints, sorted
    knots_step: np.ndarray
    knots_tokens: np.ndarray   # nan where the suite does not say

    @property
    def first_trained_x(self) -> float:
        return float(self.knots_x.min())

    def to_step(self, x: float) -> float:
        return _through_knots(x, self.knots_x, self.knots_step)

    def to_tokens(self, x: float) -> float:
        if not np.isfinite(self.knots_tokens).all():
            return math.nan
        return _through_knots(x, self.knots_x, self.knots_tokens)


def _through_knots(x: float, knots_x: np.ndarray, values: np.ndarray) -> float:
    """Log-log interpolation between checkpoints: exact on them, monotone between them."""
    if not np.isfinite(x) or x < knots_x.min() - 1e-9 or x > knots_x.max() + 1e-9:
        return math.nan
    if knots_x.size == 1:
        return float(values[0])
    return float(10 ** np.interp(x, knots_x, np.log10(values)))


def tokens_usable(rows: pd.DataFrame) -> bool:
    tokens = pd.to_numeric(rows.tokens, errors="coerce")
    trained = rows.step > 0
    return bool(tokens.notna().all() and (tokens[trained] > 0).all() and (tokens[~trained] == 0).all())


def checkpoint_axis(rows: pd.DataFrame, prefer: str = "tokens") -> CheckpointAxis:
    """log10(tokens) when every checkpoint has a token count, else log10(step)."""
    if prefer not in X_AXES:
        raise UserError(f"--x-axis: unknown axis '{prefer}' (known: {', '.join(X_AXES)})")
    name = "tokens" if prefer == "tokens" and tokens_usable(rows) else "step"
    steps = rows.step.to_numpy(dtype=float)
    tokens = pd.to_numeric(rows.tokens, errors="coerce").to_numpy(dtype=float)
    axis = step_to_x(tokens if name == "tokens" else steps)
    trained = ~axis.is_step_zero
    knots = (pd.DataFrame({"x": axis.x[trained], "step": steps[trained], "tokens": tokens[trained]})
             .drop_duplicates("x").sort_values("x"))
    return CheckpointAxis(name, axis.x, axis.is_step_zero, knots.x.to_numpy(), knots.step.to_numpy(),
                          knots.tokens.to_numpy())


# ---------------------------------------------------------------- the transition


def fit_rows(rows: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, int]:
    """The observations a fit may use, and how many done rows were left out.

    PGR rows whose ceiling does not beat weak by the margin are left out: their PGR can be
    any size and least squares would chase it. The gap is defined for every finished unit."""
    if metric not in FIT_METRICS:
        raise UserError(f"--fit-metric: unknown metric '{metric}' (known: {', '.join(FIT_METRICS)})")
    # a revision whose name gives no step (step -1) has no place on a step or token axis
    done = rows[(rows.status == "done") & (rows.step >= 0)]
    n_unplaced = int(((rows.status == "done") & (rows.step < 0)).sum())
    if metric == "pgr":
        usable = done[(done.pgr_flag == "") & np.isfinite(done.pgr.astype(float))]
    else:
        usable = done[np.isfinite(done.acc_w2s.astype(float)) & np.isfinite(done.acc_weak.astype(float))]
    return usable, len(done) - len(usable) + n_unplaced


def fit_values(rows: pd.DataFrame, metric: str) -> np.ndarray:
    if metric == "pgr":
        return rows.pgr.to_numpy(dtype=float)
    return (rows.acc_w2s - rows.acc_weak).to_numpy(dtype=float)


def transition_summary(table: pd.DataFrame, x_axis: str = "tokens", metric: str = "pgr",
                       n_boot: int = TRANSITION_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """One row per (suite, weak, task, mode, loss): the sigmoid transition with its CIs in log10 x,
    steps and tokens, its plateaus and fit quality, the change-point alternative, and why not when
    either is not supported."""
    table = normalise_table(table)
    out = []
    for key, rows in table.groupby(FIT_GROUP, sort=True):
        out.append({**dict(zip(FIT_GROUP, key)), **_fit_group(rows, x_axis, metric, n_boot, seed)})
    return pd.DataFrame.from_records(out, columns=SUMMARY_COLUMNS)


def _fit_group(rows: pd.DataFrame, x_axis: str, metric: str, n_boot: int, seed: int) -> dict:
    usable, n_excluded = fit_rows(rows, metric)
    base = {"fit_metric": metric, "x_axis": x_axis, "n_checkpoints": int(usable.step.nunique()),
            "n_seeds": int(usable.seed.nunique()), "n_obs": len(usable), "n_excluded": n_excluded}
    if usable.step.gt(0).sum() == 0:
        reason = "no finished unit with a defined value at a trained checkpoint"
        return {**base, "transition_supported": False, "transition_reason": reason,
                "changepoint_supported": False, "changepoint_reason": reason}
    axis = checkpoint_axis(usable, x_axis)
    base["x_axis"] = axis.name
    y = fit_values(usable, metric)
    seeds = usable.seed.to_numpy()
    # One seed cannot be resampled as a cluster; its points are then resampled directly.
    groups = seeds if np.unique(seeds).size >= 2 else None
    fit = fit_sigmoid_transition(axis.x, y, groups, n_boot=n_boot, seed=seed, min_jump=MIN_JUMP[metric])
    supported, reason = fit.transition_supported, fit.reason
    if supported and axis.is_step_zero.any() and not fit.x0_ci[0] > axis.first_trained_x:
        supported = False
        reason = (f"midpoint CI [{fit.x0_ci[0]:.3g}, {fit.x0_ci[1]:.3g}] reaches below the first trained "
                  f"checkpoint ({axis.first_trained_x:.3g}); step 0's position is a placeholder")
    x0, (x0_low, x0_high) = fit.x0, fit.x0_ci
    change = fit_changepoint(axis.x, y, seed=seed, min_jump=MIN_JUMP[metric])
    finding = {
        "transition_supported": supported, "transition_reason": reason,
        "midpoint_log10": x0, "midpoint_log10_ci_low": x0_low, "midpoint_log10_ci_high": x0_high,
        "width_decades": fit.width, "plateau_low": fit.lo, "plateau_low_ci_low": fit.lo_ci[0],
        "plateau_low_ci_high": fit.lo_ci[1], "plateau_high": fit.hi, "plateau_high_ci_low": fit.hi_ci[0],
        "plateau_high_ci_high": fit.hi_ci[1], "jump": fit.jump, "jump_ci_low": fit.jump_ci[0],
        "jump_ci_high": fit.jump_ci[1], "r_squared": fit.r_squared, "residual_std": fit.residual_std,
        "delta_aicc": fit.delta_aic, "observed_fraction": fit.observed_fraction,
        "changepoint_supported": change.supported, "changepoint_jump": change.jump,
        "changepoint_p": change.p_value, "changepoint_reason": change.reason,
    }
    if supported:  # a midpoint becomes a step and a token count only once it is a finding
        finding.update(
            transition_step=axis.to_step(x0), transition_step_ci_low=axis.to_step(x0_low),
            transition_step_ci_high=axis.to_step(x0_high), transition_tokens=axis.to_tokens(x0),
            transition_tokens_ci_low=axis.to_tokens(x0_low), transition_tokens_ci_high=axis.to_tokens(x0_high))
    if np.isfinite(change.x_before):
        finding.update(changepoint_step_before=_observed_step(usable, axis, change.x_before),
                       changepoint_step_after=_observed_step(usable, axis, change.x_after))
    return {**base, **finding}


def _observed_step(rows: pd.DataFrame, axis: CheckpointAxis, x: float) -> float:
    nearest = int(np.argmin(np.abs(axis.x - x)))
    return float(rows.step.iloc[nearest])


# ---------------------------------------------------------------- words and grids


def human_count(value: float) -> str:
    """3 significant figures with k/M/B/T: how a step or token count reads in a sentence."""
    if value is None or not np.isfinite(value):
        return "n/a"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def transition_sentence(row: pd.Series | dict) -> str:
    """The finding in one sentence, or the reason there is none."""
    row = dict(row)
    what = f"{row['task']} ({row['loss']}, weak {row['weak']})"
    if not row.get("transition_supported"):
        reason = row.get("transition_reason") or "no fit"
        text = f"{what}: no supported transition in {FIT_METRICS[row['fit_metric']]} ({reason})"
    else:
        text = (f"{what}: W2SG switches on at step {human_count(row['transition_step'])} "
                f"(95% CI [{human_count(row['transition_step_ci_low'])}, "
                f"{human_count(row['transition_step_ci_high'])}]")
        if np.isfinite(row.get("transition_tokens", math.nan)):
            text += (f"; {human_count(row['transition_tokens'])} tokens "
                     f"[{human_count(row['transition_tokens_ci_low'])}, "
                     f"{human_count(row['transition_tokens_ci_high'])}]")
        text += (f"), {FIT_METRICS[row['fit_metric']]} rising from {row['plateau_low']:.2f} "
                 f"to {row['plateau_high']:.2f} (R² {row['r_squared']:.2f})")
    if row.get("changepoint_supported"):
        text += (f"; change point between step {row['changepoint_step_before']:.0f} and "
                 f"{row['changepoint_step_after']:.0f} (p = {row['changepoint_p']:.3g})")
    return text + "."


def pgr_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Weak step x strong step: across-seed median PGR per cell (seeds whose PGR is flagged left
    out; a cell with every seed flagged keeps a missing median and says so in `seeds_flagged`)."""
    table = normalise_table(table)
    by_step = seed_means(table)
    weak_steps = table.drop_duplicates("weak").set_index("weak").weak_step
    by_step["weak_step"] = by_step.weak.map(weak_steps)
    columns = ["suite", "task", "mode", "loss", "weak", "weak_step", "step", "pgr_median", "seeds",
               "seeds_flagged"]
    return by_step[columns].sort_values(["suite", "task", "mode", "loss", "weak_step", "weak", "step"],
                                        kind="stable").reset_index(drop=True)
