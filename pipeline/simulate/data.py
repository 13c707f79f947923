"""Spiked-covariance Gaussian data whose spike carries (or tilts away from) the target direction.

Pre-training only sees x, so the only way unlabelled data can help the student is through the
covariance spike; keeping every direction the weak supervisors use orthogonal to the spike makes
their pre-activations independent standard normals, which is what the closed-form errors rely on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NORMALIZATIONS = ("covariance", "naive")


@dataclass(frozen=True)
class SpikedGaussian:
    """x ~ N(0, I + beta u u^T) in dimension d, with a fixed orthonormal frame of named directions.

    frame rows: 0 target w*, 1 the direction the spike tilts into, 2 the misaligned teacher's tilt,
    3 the structured bias direction. The spike u = cos(angle) w* + sin(angle) frame[1].
    """

    beta: float
    frame: np.ndarray
    spike_angle_deg: float = 0.0

    @property
    def d(self) -> int:
        return self.frame.shape[1]

    @property
    def target(self) -> np.ndarray:
        return self.frame[0]

    @property
    def teacher_tilt(self) -> np.ndarray:
        return self.frame[2]

    @property
    def bias_direction(self) -> np.ndarray:
        return self.frame[3]

    @property
    def spike(self) -> np.ndarray:
        angle = math.radians(self.spike_angle_deg)
        return math.cos(angle) * self.frame[0] + math.sin(angle) * self.frame[1]

    def covariance_apply(self, w: np.ndarray) -> np.ndarray:
        u = self.spike
        return w + self.beta * (w @ u)[..., None] * u

    def sigma_norm(self, w: np.ndarray) -> np.ndarray:
        """||w||_Sigma: the standard deviation of <w, x>."""
        return np.sqrt(np.sum(w * self.covariance_apply(w), axis=-1))

    def sigma_correlation(self, w: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Correlation of <w, x> and <a, x>; every population error depends on w only through it."""
        return np.sum(w * self.covariance_apply(a), axis=-1) / (self.sigma_norm(w) * self.sigma_norm(a))

    def target_scale(self) -> float:
        return float(self.sigma_norm(self.target))

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        z = rng.standard_normal((*shape, self.d))
        u = self.spike
        return z + (math.sqrt(1.0 + self.beta) - 1.0) * (z @ u)[..., None] * u

    def preactivation_scale(self, w: np.ndarray, normalization: str) -> np.ndarray:
        """What <w, x> is divided by: ||w||_Sigma (unit variance) or the target's fixed scale (naive)."""
        if normalization == "covariance":
            return self.sigma_norm(w)
        if normalization == "naive":
            return np.full(w.shape[:-1], self.target_scale())
        raise ValueError(f"unknown normalization '{normalization}' (known: {', '.join(NORMALIZATIONS)})")


def make_spiked_gaussian(rng: np.random.Generator, d: int, beta: float, spike_angle_deg: float = 0.0) -> SpikedGaussian:
    """A random orthonormal frame, so nothing depends on coordinate axes."""
    if d < 4:
        raise ValueError(f"d must be at least 4 (target, spike tilt, teacher tilt, bias direction), got {d}")
    if beta < 0:
        raise ValueError(f"spike strength beta must be >= 0, got {beta}")
    q, r = np.linalg.qr(rng.standard_normal((d, 4)))
    frame = (q * np.sign(np.diag(r))).T.copy()
    return SpikedGaussian(beta=float(beta), frame=frame, spike_angle_deg=float(spike_angle_deg))


def random_sphere(rng: np.random.Generator, shape: tuple[int, ...], d: int) -> np.ndarray:
    w = rng.standard_normal((*shape, d))
    return w / np.linalg.norm(w, axis=-1, keepdims=True)


def euclidean_overlap(w: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.sum(w * a, axis=-1) / (np.linalg.norm(w, axis=-1) * np.linalg.norm(a, axis=-1))
