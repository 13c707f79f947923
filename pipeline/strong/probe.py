"""Probe mode: a logistic head on cached frozen features, for the weak supervisor, the ceiling
and every w2s student alike; all heads of a checkpoint share its one feature matrix."""

from __future__ import annotations

import numpy as np

from .heads import fit_head_with_loss, fit_logistic_head


def fit_and_predict(features: np.ndarray, train_index: np.ndarray, targets: np.ndarray,
                    predict_on: dict[str, np.ndarray], l2: float, max_iter: int,
                    loss=None, iterative=None) -> dict[str, np.ndarray]:
    """Fit on features[train_index] against `targets` (0/1 labels or soft labels) and return
    P(y=1) on each named index set.

    `loss` (a `losses.W2SLoss`) other than xent trains the head iteratively with the settings
    `iterative` (a config.IterativeHeadSpec); xent and the ceiling keep the exact L-BFGS fit.
    """
    if loss is not None and loss.name != "xent":
        it = iterative
        head = fit_head_with_loss(features[train_index], np.asarray(targets, dtype=np.float64), loss, l2,
                                  it.steps, it.lr, it.batch_size, it.seed)
    else:
        head = fit_logistic_head(features[train_index], np.asarray(targets, dtype=np.float64), l2, max_iter)
    return {name: head.predict_proba(features[index]) for name, index in predict_on.items()}


def accuracy(proba: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((proba > 0.5) == (labels == 1)))
