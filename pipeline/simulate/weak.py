"""Weak supervisors: the three ways a supervisor can be wrong, alone or combined.

Each has a different fate under weak-to-strong training: a misaligned teacher is a single-index
function the student can copy, while a bias on an orthogonal direction and label noise are not, so
the student can only inherit them through SGD noise. Their exact errors are known in closed form
because every direction they use is Sigma-orthogonal to the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .data import SpikedGaussian
from .errors import population_mse, population_mse_quadrature
from .hermite import HermiteLink, hermite_polynomial


def _per_run(value: float | np.ndarray, runs: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full(runs, float(array))
    if array.shape != (runs,):
        raise ValueError(f"per-run parameter has shape {array.shape}, expected ({runs},)")
    return array


def project_on_frame(model: SpikedGaussian, x: np.ndarray) -> np.ndarray:
    """<e_i, x> for the frame directions: everything a supervisor needs, at 4/d of the cost."""
    return x @ model.frame.T


@dataclass(frozen=True)
class TrueLabels:
    """The ground truth, for the ceiling and for the error of the weak supervisors."""

    kind: str = field(default="true", init=False)

    def labels(self, rng, projections, model: SpikedGaussian, link: HermiteLink, normalization: str = "covariance"):
        return link(projections[..., 0] / model.target_scale())

    def exact_error(self, model: SpikedGaussian, link: HermiteLink, runs: int, normalization: str = "covariance"):
        return np.zeros(runs)

    def describe(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class WeakSupervisor:
    """y = sigma(z_teacher) + b He_j(z_bias) + noise_std * eps; each parameter a scalar or one per run.

    z_teacher uses the direction cos(alpha) w* + sin(alpha) e2; z_bias uses e3. Both are
    orthogonal to w* and to the spike, hence independent of each other and of the truth's noise.
    """

    misalignment_deg: float | np.ndarray = 0.0
    bias_amplitude: float | np.ndarray = 0.0
    bias_degree: int | None = None
    noise_std: float | np.ndarray = 0.0

    def __post_init__(self) -> None:
        if np.any(np.asarray(self.noise_std) < 0):
            raise ValueError("noise_std must be >= 0")
        if self.bias_degree is not None and self.bias_degree < 1:
            raise ValueError("bias_degree must be >= 1")

    @property
    def kind(self) -> str:
        parts = [
            name
            for name, value in (("misaligned", self.misalignment_deg), ("structured", self.bias_amplitude), ("noise", self.noise_std))
            if np.any(np.asarray(value) != 0)
        ]
        return "+".join(parts) or "exact"

    def bias_link(self, link: HermiteLink) -> HermiteLink:
        return hermite_polynomial(self.bias_degree or link.information_exponent)

    def teacher_directions(self, model: SpikedGaussian, runs: int) -> np.ndarray:
        alpha = np.radians(_per_run(self.misalignment_deg, runs))
        return np.cos(alpha)[:, None] * model.target + np.sin(alpha)[:, None] * model.teacher_tilt

    def labels(self, rng, projections, model: SpikedGaussian, link: HermiteLink, normalization: str = "covariance"):
        runs = projections.shape[0]
        alpha = np.radians(_per_run(self.misalignment_deg, runs))
        scale = model.preactivation_scale(self.teacher_directions(model, runs), normalization)
        teacher = (np.cos(alpha)[:, None] * projections[..., 0] + np.sin(alpha)[:, None] * projections[..., 2]) / scale[:, None]
        y = link(teacher)
        amplitude = _per_run(self.bias_amplitude, runs)
        if np.any(amplitude != 0):
            y = y + amplitude[:, None] * self.bias_link(link)(projections[..., 3])
        noise = _per_run(self.noise_std, runs)
        if np.any(noise != 0):
            y = y + noise[:, None] * rng.standard_normal(y.shape)
        return y

    def exact_error(self, model: SpikedGaussian, link: HermiteLink, runs: int, normalization: str = "covariance"):
        """Teacher term + b^2 j! + noise variance; the cross terms vanish by independence."""
        directions = self.teacher_directions(model, runs)
        rho = model.sigma_correlation(directions, model.target)
        if normalization == "covariance":
            teacher_error = population_mse(link, rho)
        else:
            scale = model.sigma_norm(directions) / model.target_scale()
            teacher_error = population_mse_quadrature(link, rho, scale)
        degree = self.bias_degree or link.information_exponent
        amplitude = _per_run(self.bias_amplitude, runs)
        noise = _per_run(self.noise_std, runs)
        return teacher_error + amplitude**2 * math.factorial(degree) + noise**2

    def describe(self) -> dict:
        def plain(value):
            array = np.asarray(value, dtype=float)
            return float(array) if array.ndim == 0 else array.tolist()

        return {
            "kind": self.kind,
            "misalignment_deg": plain(self.misalignment_deg),
            "bias_amplitude": plain(self.bias_amplitude),
            "bias_degree": self.bias_degree,
            "noise_std": plain(self.noise_std),
        }
