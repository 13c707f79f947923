"""Synthetic theory simulator: weak-to-strong generalisation of a single-index target.

Pre-training is modelled as spectral initialisation on spiked-covariance data, so the benefit of
more pre-training is an explicit, closed-form warm start whose BBP threshold can be crossed.
Pure math lives in hermite, data, errors, spectral, weak and student; experiments composes it;
runner, plots and cli do the I/O.
"""

from .errors import oracle_pgr, pgr, population_mse, population_mse_quadrature
from .experiments import EXPERIMENTS
from .hermite import HermiteLink
from .spectral import bbp_overlap_sq, bbp_threshold_samples

__all__ = [
    "EXPERIMENTS",
    "HermiteLink",
    "bbp_overlap_sq",
    "bbp_threshold_samples",
    "oracle_pgr",
    "pgr",
    "population_mse",
    "population_mse_quadrature",
]
