"""Links built from probabilists' Hermite polynomials.

They are orthogonal under N(0, 1) (E[He_j He_k] = k! delta_jk), which makes every population
quantity of a single-index model a polynomial in one correlation (Mehler's formula), and the
lowest degree present is the information exponent that sets the cost of learning from scratch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import hermite_e

_TERM = re.compile(r"^\s*(?:([0-9.eE+-]+)\s*\*\s*)?he(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class HermiteLink:
    """sigma(z) = sum_k c_k He_k(z), with no constant term (it would only shift every error)."""

    coefficients: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.coefficients) < 2 or self.coefficients[0] != 0.0:
            raise ValueError("a link needs a non-constant term and no He0 term")
        if not any(c != 0.0 for c in self.coefficients[1:]):
            raise ValueError("a link needs at least one non-zero coefficient")

    @classmethod
    def from_terms(cls, terms: dict[int, float]) -> "HermiteLink":
        top = max(terms)
        coefficients = [0.0] * (top + 1)
        for degree, value in terms.items():
            if degree < 1:
                raise ValueError(f"Hermite degree must be >= 1, got {degree}")
            coefficients[degree] = float(value)
        return cls(tuple(coefficients))

    @classmethod
    def parse(cls, spec: str) -> "HermiteLink":
        """Read 'he3', 'he2+he3' or '0.5*he2+he3' so links can be named on a command line."""
        terms: dict[int, float] = {}
        for part in spec.split("+"):
            match = _TERM.match(part)
            if not match:
                raise ValueError(f"cannot read link term '{part.strip()}' in '{spec}' (expected e.g. he3 or 0.5*he2)")
            value = float(match.group(1)) if match.group(1) else 1.0
            degree = int(match.group(2))
            terms[degree] = terms.get(degree, 0.0) + value
        return cls.from_terms(terms)

    @property
    def name(self) -> str:
        parts = []
        for degree, c in enumerate(self.coefficients):
            if c != 0.0:
                parts.append(f"he{degree}" if c == 1.0 else f"{c:g}*he{degree}")
        return "+".join(parts)

    @property
    def degrees(self) -> tuple[int, ...]:
        return tuple(k for k, c in enumerate(self.coefficients) if c != 0.0)

    @property
    def information_exponent(self) -> int:
        return self.degrees[0]

    @property
    def second_moment(self) -> float:
        """E[sigma(z)^2] for z ~ N(0, 1)."""
        return float(sum(c * c * math.factorial(k) for k, c in enumerate(self.coefficients)))

    @property
    def derivative_second_moment(self) -> float:
        """E[sigma'(z)^2] = sum_k c_k^2 k k!: the scale of a per-sample gradient, used to set step sizes."""
        return float(sum(c * c * k * math.factorial(k) for k, c in enumerate(self.coefficients)))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return hermite_e.hermeval(z, self.coefficients)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return hermite_e.hermeval(z, hermite_e.hermeder(self.coefficients))

    def correlation_kernel(self, rho: np.ndarray | float) -> np.ndarray:
        """E[sigma(z1) sigma(z2)] for standard normals with correlation rho (Mehler)."""
        rho = np.asarray(rho, dtype=float)
        return sum(c * c * math.factorial(k) * rho**k for k, c in enumerate(self.coefficients) if c != 0.0)


def hermite_polynomial(degree: int) -> HermiteLink:
    return HermiteLink.from_terms({degree: 1.0})
