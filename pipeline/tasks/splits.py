"""Deterministic splits by source document: passages of one article never cross splits."""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("weak_train", "strong_train", "test")


def unit_hash(*parts: object) -> float:
    """A uniform number in [0, 1) from the parts, stable across runs and machines."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_documents(doc_ids: list[str], seed: int, weak_train: float, strong_train: float) -> np.ndarray:
    """Split index (0, 1, 2 for SPLITS) of each entry, decided by its document and the seed."""
    cache: dict[str, int] = {}
    out = np.empty(len(doc_ids), dtype=np.int64)
    for i, doc in enumerate(doc_ids):
        if doc not in cache:
            u = unit_hash("split", seed, doc)
            cache[doc] = 0 if u < weak_train else (1 if u < weak_train + strong_train else 2)
        out[i] = cache[doc]
    return out


def balanced_indices(labels: np.ndarray, candidates: np.ndarray, order_key: np.ndarray,
                     limit: int | None = None) -> np.ndarray:
    """Equal numbers of each class among `candidates`, taken in `order_key` order.

    Taking the lowest keys (a hash) rather than the first rows keeps the subset a fair draw.
    With `limit`, at most limit // n_classes per class.
    """
    classes = np.unique(labels)
    per_class = [candidates[labels[candidates] == c] for c in classes]
    n = min(len(p) for p in per_class) if per_class else 0
    if limit is not None:
        n = min(n, limit // len(classes))
    chosen = [p[np.argsort(order_key[p], kind="stable")[:n]] for p in per_class]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def make_splits(doc_ids: list[str], example_ids: list[str], labels: np.ndarray, seed: int,
                weak_train: float, strong_train: float,
                limits: dict[str, int | None] | None = None) -> dict[str, np.ndarray]:
    """Indices of each split: disjoint documents, balanced classes, optional size caps."""
    limits = limits or {}
    which = assign_documents(doc_ids, seed, weak_train, strong_train)
    order_key = np.array([unit_hash("order", seed, e) for e in example_ids])
    return {
        name: balanced_indices(labels, np.flatnonzero(which == k), order_key, limits.get(name))
        for k, name in enumerate(SPLITS)
    }
