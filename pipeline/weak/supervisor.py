"""The weak supervisor: trained once per (task, weak checkpoint, seed) on ground truth of
weak_train; its soft labels on strong_train are reused by every strong checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..strong.probe import accuracy, fit_and_predict


@dataclass(frozen=True)
class WeakLabels:
    weak_soft_labels: np.ndarray  # P(y=1) on strong_train: what w2s students learn from
    test_proba: np.ndarray        # P(y=1) on test
    acc_weak: float


def train_weak_supervisor(features: np.ndarray, labels: np.ndarray, splits: dict[str, np.ndarray],
                          l2: float, max_iter: int) -> WeakLabels:
    """Probe mode: a logistic head on the weak checkpoint's frozen features."""
    train = splits["weak_train"]
    proba = fit_and_predict(features, train, labels[train], {"strong_train": splits["strong_train"],
                                                             "test": splits["test"]}, l2, max_iter)
    return WeakLabels(proba["strong_train"], proba["test"], accuracy(proba["test"], labels[splits["test"]]))
