"""Synthetic theory simulator: weak-to-strong generalisation of a single-index target.

Pre-training is modelled as spectral initialisation on spiked-covariance data, so the benefit of
more pre-training is an explicit, closed-form warm start whose BBP threshold can be crossed.
Pure math lives in hermite, data, errors, spectral, weak and student; experiments composes it;
runner, plots and cli do the I/O. Nothing heavy is imported here, so building the `w2s` parser
(which imports simulate.cli) stays cheap.
"""

EXPERIMENTS = ("bbp", "escape", "transition", "saturation")
