"""A logistic head on cached features, fit on the whole matrix with L-BFGS (milliseconds, exact).

Soft targets make the same function serve the ceiling (0/1 labels) and the w2s student (weak
soft labels, soft cross-entropy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class LogisticHead:
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        z = (features - self.mean) / self.scale
        return z @ self.weight + self.bias

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(features)))


def soft_xent(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of sigmoid(logits) against probabilities `targets`."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)


def fit_logistic_head(features: np.ndarray, targets: np.ndarray, l2: float, max_iter: int = 200) -> LogisticHead:
    """Standardise with the training features' statistics, then minimise soft xent + l2/2 |w|^2."""
    mean = features.mean(0)
    scale = features.std(0) + 1e-6
    x = torch.from_numpy((features - mean) / scale).double()
    y = torch.from_numpy(np.asarray(targets, dtype=np.float64))
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = soft_xent(x @ w + b, y) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return LogisticHead(mean, scale, w.detach().numpy().copy(), float(b.detach()))


def fit_head_with_loss(features: np.ndarray, targets: np.ndarray, loss_fn, l2: float, steps: int = 300,
                       lr: float = 0.05, batch_size: int | None = None, seed: int = 0) -> LogisticHead:
    """A logistic head trained with Adam under any w2s loss (`losses.W2SLoss`).

    The other losses depend on the student's own predictions, so they have no fixed convex
    objective for L-BFGS. `batch_size=None` is full-batch; otherwise each step draws a fresh
    minibatch, which is where logconf's buffer of recent predictions matters.
    """
    mean = features.mean(0)
    scale = features.std(0) + 1e-6
    x = torch.from_numpy((features - mean) / scale).float()
    y = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = None if batch_size is None or batch_size >= len(x) else \
            torch.randint(len(x), (batch_size,), generator=generator)
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        opt.zero_grad()
        loss = loss_fn(xb @ w + b, yb, step / steps) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        opt.step()
    return LogisticHead(mean, scale, w.detach().double().numpy().copy(), float(b.detach()))
