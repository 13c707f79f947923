"""The strong student: a single-index model trained by one-pass spherical SGD.

Its pre-activation is divided by ||w||_Sigma so it has unit variance for every w; then the loss
depends on w only through its correlation with w*, the labels of a misaligned teacher carry no
spurious low-degree signal, and the student's error is exactly errors.population_mse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import SpikedGaussian, euclidean_overlap
from .hermite import HermiteLink
from .weak import project_on_frame


@dataclass(frozen=True)
class Trajectory:
    """Overlaps recorded during training, indexed [record, label source, run]."""

    steps: np.ndarray
    overlap: np.ndarray
    correlation: np.ndarray
    final: np.ndarray


def predict(model: SpikedGaussian, link: HermiteLink, w: np.ndarray, x: np.ndarray, normalization: str = "covariance"):
    """f_w(x) for students w (..., d) on inputs x (..., n, d)."""
    scale = model.preactivation_scale(w, normalization)
    return link(np.einsum("...nd,...d->...n", x, w) / np.asarray(scale)[..., None])


def _preactivation(model: SpikedGaussian, w: np.ndarray, x: np.ndarray, normalization: str):
    raw = np.matmul(x[None], w[..., None])[..., 0]
    scale = model.preactivation_scale(w, normalization)
    return raw / scale[..., None], scale


def sgd_gradient(model: SpikedGaussian, link: HermiteLink, w: np.ndarray, x: np.ndarray, y: np.ndarray, normalization: str):
    """Mini-batch gradient of 0.5 (f_w(x) - y)^2, projected on the sphere's tangent space at w.

    w: (S, R, d) unit vectors, x: (R, B, d) shared by the S label sources, y: (S, R, B).
    """
    z, scale = _preactivation(model, w, x, normalization)
    weight = (link(z) - y) * link.derivative(z)
    batch = x.shape[1]
    grad = np.matmul(weight[:, :, None, :], x[None])[:, :, 0, :] / (batch * scale[..., None])
    if normalization == "covariance":
        # d z / d w = (x - z Sigma w / ||w||_Sigma) / ||w||_Sigma
        grad -= (np.sum(weight * z, axis=-1) / (batch * scale**2))[..., None] * model.covariance_apply(w)
    return grad - np.sum(grad * w, axis=-1, keepdims=True) * w


def train_spherical_sgd(
    rng: np.random.Generator,
    model: SpikedGaussian,
    link: HermiteLink,
    w0: np.ndarray,
    supervisors: list,
    *,
    steps: int,
    batch: int,
    lr: float,
    record_steps: np.ndarray | None = None,
    normalization: str = "covariance",
) -> Trajectory:
    """Train one student per (label source, run); every source sees the same fresh x each step.

    Sharing x between, e.g., the weak-label student and its true-label ceiling removes the data
    noise from their difference, which is what PGR is made of.
    """
    if steps < 0 or batch < 1 or lr <= 0:
        raise ValueError(f"need steps >= 0, batch >= 1, lr > 0 (got {steps}, {batch}, {lr})")
    sources = len(supervisors)
    w0 = np.asarray(w0, dtype=float)
    w = np.broadcast_to(w0, (sources, *w0.shape[-2:])).copy() if w0.ndim == 2 else w0.copy()
    if w.shape[0] != sources:
        raise ValueError(f"w0 has {w.shape[0]} label sources, supervisors has {sources}")
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    runs = w.shape[1]
    record_steps = np.unique(np.concatenate([[0], np.asarray(record_steps if record_steps is not None else [steps]), [steps]])).astype(int)
    record_steps = record_steps[record_steps <= steps]
    overlaps, correlations = [], []

    def record():
        overlaps.append(euclidean_overlap(w, model.target))
        correlations.append(model.sigma_correlation(w, model.target))

    next_record = 0
    for step in range(steps + 1):
        if next_record < len(record_steps) and step == record_steps[next_record]:
            record()
            next_record += 1
        if step == steps:
            break
        x = model.sample(rng, (runs, batch))
        projections = project_on_frame(model, x)
        y = np.stack([s.labels(rng, projections, model, link, normalization) for s in supervisors])
        w -= lr * sgd_gradient(model, link, w, x, y, normalization)
        w /= np.linalg.norm(w, axis=-1, keepdims=True)
    return Trajectory(steps=record_steps, overlap=np.array(overlaps), correlation=np.array(correlations), final=w)


def log_spaced_steps(steps: int, points: int) -> np.ndarray:
    """Record points for log-axis plots: dense early, where escapes happen, sparse later."""
    if steps <= 0:
        return np.array([0])
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, steps, points)).astype(int)]))
