"""PGR, its paired bootstrap, AUROC and across-seed summaries.

Pure numpy/scipy: no file I/O, so the analysis stage can be unit-tested
without any run directory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

# Accuracies that come from different code paths (k/n vs a running mean) can
# differ by an ulp; treating such a gap as a real denominator would give a
# PGR of ~1e15 instead of "undefined".
_ZERO_GAP_TOL = 1e-12

# Bound the (n_boot, n) index matrix so huge test sets do not blow memory.
_MAX_INDEX_ELEMENTS = 4_000_000


def pgr(
    acc_weak: ArrayLike, acc_ceiling: ArrayLike, acc_w2s: ArrayLike
) -> float | NDArray[np.float64]:
    """Performance gap recovered, elementwise; nan where ceiling == weak.

    A negative denominator (ceiling below weak) is *computed*, not masked:
    the caller keeps the row and flags it with `pgr_status`.
    """
    weak = np.asarray(acc_weak, dtype=float)
    ceiling = np.asarray(acc_ceiling, dtype=float)
    w2s = np.asarray(acc_w2s, dtype=float)
    gap = ceiling - weak
    recovered = w2s - weak
    undefined = np.abs(gap) <= _ZERO_GAP_TOL
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(undefined, np.nan, recovered / np.where(undefined, 1.0, gap))
    if result.ndim == 0:
        return float(result)
    return result


def pgr_status(acc_weak: float, acc_ceiling: float, margin: float = 0.01) -> str:
    """Why a PGR value should not be trusted; "" when the ceiling clearly beats weak.

    PGR is always reported; this string is the flag shown next to it.
    """
    weak = float(acc_weak)
    ceiling = float(acc_ceiling)
    if not (np.isfinite(weak) and np.isfinite(ceiling)):
        return f"accuracy missing (weak={weak}, ceiling={ceiling})"
    gap = ceiling - weak
    if abs(gap) <= _ZERO_GAP_TOL:
        return "ceiling equals weak: PGR undefined"
    if gap < 0:
        return f"ceiling below weak by {-gap:.4g}: PGR denominator negative"
    if gap < margin - _ZERO_GAP_TOL:
        return f"ceiling does not beat weak by margin {margin:g} (gap {gap:.4g})"
    return ""


@dataclass(frozen=True)
class PGRBootstrap:
    """Point PGR with a percentile CI from resampling test examples.

    `ci_low`/`ci_high`/`std` use only resamples where PGR was defined;
    `frac_undefined` says how many were not (ceiling == weak in the resample).
    """

    point: float
    ci_low: float
    ci_high: float
    std: float
    frac_undefined: float
    acc_weak: float
    acc_ceiling: float
    acc_w2s: float
    status: str
    n_examples: int
    n_boot: int
    alpha: float
    paired: bool


def _correctness(y_true: NDArray[np.int64], predictions: ArrayLike, name: str) -> NDArray[np.bool_]:
    """Hard labels and P(class 1) are both accepted; > 0.5 means class 1."""
    values = np.asarray(predictions, dtype=float)
    if values.shape != y_true.shape:
        raise ValueError(f"{name} has shape {values.shape}, y_true has {y_true.shape}")
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{name} must be 0/1 labels or probabilities in [0, 1]")
    # Strict > matches argmax over [1-p, p], which breaks a 0.5 tie toward class 0.
    return (values > 0.5).astype(np.int64) == y_true


def _binary_labels(y_true: ArrayLike) -> NDArray[np.int64]:
    labels = np.asarray(y_true)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError("y_true must be a non-empty 1-D array")
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError("y_true must contain only 0/1 labels")
    return labels.astype(np.int64)


def _bootstrap_accuracies(
    correct: NDArray[np.bool_], n_boot: int, paired: bool, rng: np.random.Generator
) -> NDArray[np.float64]:
    """(n_models, n_boot) accuracies; paired draws one index row per resample for all models."""
    n_models, n = correct.shape
    accuracies = np.empty((n_models, n_boot))
    rows_per_chunk = max(1, _MAX_INDEX_ELEMENTS // n)
    for start in range(0, n_boot, rows_per_chunk):
        stop = min(n_boot, start + rows_per_chunk)
        if paired:
            index = rng.integers(0, n, size=(stop - start, n))
            accuracies[:, start:stop] = correct[:, index].mean(axis=2)
        else:
            for model in range(n_models):
                index = rng.integers(0, n, size=(stop - start, n))
                accuracies[model, start:stop] = correct[model, index].mean(axis=1)
    return accuracies


def paired_bootstrap_pgr(
    y_true: ArrayLike,
    pred_weak: ArrayLike,
    pred_ceiling: ArrayLike,
    pred_w2s: ArrayLike,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    *,
    paired: bool = True,
    margin: float = 0.01,
) -> PGRBootstrap:
    """Bootstrap PGR over test examples, resampling all three models jointly.

    Pairing matters because the three models err on overlapping examples:
    resampling them independently ignores that covariance and inflates the CI.
    `paired=False` exists only to measure that effect.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    labels = _binary_labels(y_true)
    correct = np.stack(
        [
            _correctness(labels, pred_weak, "pred_weak"),
            _correctness(labels, pred_ceiling, "pred_ceiling"),
            _correctness(labels, pred_w2s, "pred_w2s"),
        ]
    )
    acc_weak, acc_ceiling, acc_w2s = (float(a) for a in correct.mean(axis=1))
    point = pgr(acc_weak, acc_ceiling, acc_w2s)

    rng = np.random.default_rng(seed)
    boot_acc = _bootstrap_accuracies(correct, n_boot, paired, rng)
    boot_pgr = np.asarray(pgr(boot_acc[0], boot_acc[1], boot_acc[2]), dtype=float)
    defined = np.isfinite(boot_pgr)
    frac_undefined = 1.0 - float(defined.mean())
    if defined.any():
        ci_low, ci_high = np.percentile(boot_pgr[defined], [100 * alpha / 2, 100 * (1 - alpha / 2)])
        std = float(np.std(boot_pgr[defined], ddof=1)) if defined.sum() > 1 else float("nan")
    else:
        ci_low = ci_high = std = float("nan")
    return PGRBootstrap(
        point=float(point),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        std=std,
        frac_undefined=frac_undefined,
        acc_weak=acc_weak,
        acc_ceiling=acc_ceiling,
        acc_w2s=acc_w2s,
        status=pgr_status(acc_weak, acc_ceiling, margin),
        n_examples=int(labels.size),
        n_boot=int(n_boot),
        alpha=float(alpha),
        paired=paired,
    )


def auroc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Mann-Whitney AUROC with mid-ranks, so a tie counts as half a win; nan if one class is absent."""
    labels = _binary_labels(y_true)
    values = np.asarray(scores, dtype=float)
    if values.shape != labels.shape:
        raise ValueError(f"scores has shape {values.shape}, y_true has {labels.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite")
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(values)  # average ranks for ties
    rank_sum_pos = float(ranks[labels == 1].sum())
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class SeedSummary:
    """Across-seed spread; median/IQR lead because a few seeds can diverge."""

    n: int
    n_missing: int
    median: float
    q25: float
    q75: float
    iqr: float
    min: float
    max: float
    mean: float
    std: float


def seed_summary(values: ArrayLike) -> SeedSummary:
    """Summarise one quantity across seeds, ignoring nan (e.g. an undefined PGR).

    `std` uses ddof=1 and is nan with fewer than two finite values.
    """
    flat = np.asarray(values, dtype=float).ravel()
    finite = flat[np.isfinite(flat)]
    n = int(finite.size)
    n_missing = int(flat.size - n)
    if n == 0:
        nan = float("nan")
        return SeedSummary(0, n_missing, nan, nan, nan, nan, nan, nan, nan, nan)
    q25, median, q75 = (float(q) for q in np.percentile(finite, [25, 50, 75]))
    return SeedSummary(
        n=n,
        n_missing=n_missing,
        median=median,
        q25=q25,
        q75=q75,
        iqr=q75 - q25,
        min=float(finite.min()),
        max=float(finite.max()),
        mean=float(finite.mean()),
        std=float(np.std(finite, ddof=1)) if n > 1 else float("nan"),
    )
