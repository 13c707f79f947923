"""Exact population errors.

With unit-variance pre-activations every error is a function of one correlation, so the
experiments never need a test set: Monte Carlo only appears in the tests that check these.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite_e

from .hermite import HermiteLink


def population_mse(link: HermiteLink, rho: np.ndarray | float) -> np.ndarray:
    """E[(sigma(z_w) - sigma(z*))^2] = 2 sum_k c_k^2 k! (1 - rho^k); 2 k! (1 - rho^k) for pure He_k."""
    return 2.0 * (link.second_moment - link.correlation_kernel(rho))


def population_mse_quadrature(
    link: HermiteLink, rho: np.ndarray | float, student_scale: np.ndarray | float = 1.0, nodes: int = 48
) -> np.ndarray:
    """E[(sigma(a z1) - sigma(z2))^2] with corr(z1, z2) = rho, by 2-D Gauss-Hermite quadrature.

    Covers pre-activations whose variance is not one (the naive normalisation), where the closed
    form does not apply; exact for polynomial links once nodes exceed the link's degree.
    """
    x, weights = hermite_e.hermegauss(nodes)
    weights = weights / math.sqrt(2.0 * math.pi)
    rho, scale = np.broadcast_arrays(np.asarray(rho, dtype=float), np.asarray(student_scale, dtype=float))
    z1 = x[:, None]
    out = np.empty(rho.shape)
    for index in np.ndindex(rho.shape):
        r, a = rho[index], scale[index]
        z2 = r * z1 + math.sqrt(max(0.0, 1.0 - r * r)) * x[None, :]
        diff = link(a * z1) - link(z2)
        out[index] = weights @ (diff * diff) @ weights
    return out


def pgr(err_weak: np.ndarray, err_w2s: np.ndarray, err_ceiling: np.ndarray, min_gap: float = 0.0) -> np.ndarray:
    """Performance gap recovered; NaN where the ceiling does not beat the weak supervisor by min_gap.

    Below the spectral threshold the ceiling (same start, true labels) is as stuck as the student,
    so the ratio is 0/0 noise around one; reporting it would fake a transition the other way.
    """
    err_weak, err_w2s, err_ceiling = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (err_weak, err_w2s, err_ceiling)))
    gap = err_weak - err_ceiling
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (err_weak - err_w2s) / gap
    return np.where(gap > min_gap, ratio, np.nan)


def oracle_pgr(err_weak: np.ndarray, err_w2s: np.ndarray) -> np.ndarray:
    """PGR against the truth itself (error 0, which the student class contains): defined everywhere."""
    err_weak = np.asarray(err_weak, dtype=float)
    return (err_weak - np.asarray(err_w2s, dtype=float)) / err_weak
