"""Pre-training as spectral initialisation: the start is the top eigenvector of unlabelled data.

The spiked-covariance (BBP) transition says when that eigenvector carries the spike at all, which
is why more pre-training is a better warm start only past a sharp threshold.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg

from .data import SpikedGaussian
from .hermite import HermiteLink
from .weak import project_on_frame


def bbp_threshold_samples(d: int, beta: float) -> float:
    """N_pre at which gamma = d / N_pre equals beta^2: the eigenvector starts to see the spike."""
    return d / beta**2


def bbp_overlap_sq(gamma: np.ndarray | float, beta: float) -> np.ndarray:
    """Limit of <v_top, u>^2 as d, N_pre -> infinity with d / N_pre = gamma (Paul 2007)."""
    gamma = np.asarray(gamma, dtype=float)
    value = (1.0 - gamma / beta**2) / (1.0 + gamma / beta)
    return np.where(gamma < beta**2, value, 0.0)


def _top_eigenvector(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lanczos (ARPACK) for large matrices: only one eigenvector is needed; seeded start for determinism."""
    size = matrix.shape[0]
    if size <= 128:
        return np.linalg.eigh(matrix)[1][:, -1]
    start = rng.standard_normal(size)
    return scipy.sparse.linalg.eigsh(matrix, k=1, which="LA", v0=start)[1][:, 0]


def top_eigenvector(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Top eigenvector of x^T x / n, through the smaller of the two Gram matrices."""
    n, d = x.shape
    v = _top_eigenvector(x.T @ x, rng) if n >= d else x.T @ _top_eigenvector(x @ x.T, rng)
    return v / np.linalg.norm(v)


def covariance_square_root_factor(rng: np.random.Generator, model: SpikedGaussian, n: int) -> np.ndarray:
    """M with M M^T distributed exactly as sum_i x_i x_i^T over n >= d samples (Bartlett).

    The scatter matrix of n Gaussian samples is Wishart(n, Sigma) = Sigma^1/2 A A^T Sigma^1/2 with
    A lower triangular, sqrt(chi2(n - i)) on the diagonal and N(0, 1) below it; drawing it directly
    costs O(d^3) instead of O(n d^2), so large N_pre is as cheap as small.
    """
    d = model.d
    if n < d:
        raise ValueError(f"the Bartlett factor needs n >= d (got n={n}, d={d})")
    a = np.tril(rng.standard_normal((d, d)), k=-1)
    a[np.diag_indices(d)] = np.sqrt(rng.chisquare(n - np.arange(d)))
    u = model.spike
    return a + (np.sqrt(1.0 + model.beta) - 1.0) * np.outer(u, u @ a)


def spectral_direction(rng: np.random.Generator, model: SpikedGaussian, n_pre: int) -> np.ndarray:
    """Top eigenvector of the empirical covariance of n_pre fresh samples (sign arbitrary)."""
    if n_pre < 1:
        raise ValueError(f"n_pre must be >= 1, got {n_pre}")
    if n_pre < model.d:
        return top_eigenvector(model.sample(rng, (n_pre,)), rng)
    factor = covariance_square_root_factor(rng, model, n_pre)
    v = _top_eigenvector(factor @ factor.T, rng)
    return v / np.linalg.norm(v)


def spectral_directions(rng: np.random.Generator, model: SpikedGaussian, n_pre: int, runs: int) -> np.ndarray:
    """One spectral start per run, each from its own N_pre unlabelled samples."""
    return np.stack([spectral_direction(rng, model, n_pre) for _ in range(runs)])


def pick_sign(
    rng: np.random.Generator,
    model: SpikedGaussian,
    link: HermiteLink,
    w: np.ndarray,
    supervisor,
    n_labelled: int,
    normalization: str = "covariance",
) -> np.ndarray:
    """Flip each start to whichever sign fits a few labelled samples better.

    An eigenvector has no sign, but an odd link does: with the wrong one a He3 student sits at
    rho < 0 and gradient flow stalls at rho = 0 instead of reaching the target.
    """
    runs = w.shape[0]
    x = model.sample(rng, (runs, n_labelled))
    y = supervisor.labels(rng, project_on_frame(model, x), model, link, normalization)
    z = np.einsum("rbd,rd->rb", x, w) / model.preactivation_scale(w, normalization)[:, None]
    loss_plus = np.mean((link(z) - y) ** 2, axis=1)
    loss_minus = np.mean((link(-z) - y) ** 2, axis=1)
    return np.where(loss_minus < loss_plus, -1.0, 1.0)[:, None] * w


def spectral_init(
    rng: np.random.Generator,
    model: SpikedGaussian,
    link: HermiteLink,
    n_pre: int,
    runs: int,
    supervisor,
    n_labelled: int = 32,
    normalization: str = "covariance",
) -> np.ndarray:
    w = spectral_directions(rng, model, n_pre, runs)
    return pick_sign(rng, model, link, w, supervisor, n_labelled, normalization)
