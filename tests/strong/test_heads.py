"""The probe head reaches the unique optimum of its convex objective."""

import numpy as np

from pipeline.strong.heads import fit_logistic_head


def newton_optimum(x, y, l2, iters=50):
    """The same objective solved independently: Newton's method on standardised features."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    theta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0  # the bias is not penalised
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ theta))
        grad = z.T @ (p - y) / len(y) + reg * theta
        hess = (z * (p * (1 - p))[:, None]).T @ z / len(y) + np.diag(reg)
        theta -= np.linalg.solve(hess, grad)
    return 1 / (1 + np.exp(-z @ theta))


def _data(n=300, d=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 5, size=d) + rng.normal(size=d)
    p = 1 / (1 + np.exp(-(x - x.mean(0)) / x.std(0) @ rng.normal(size=d) / 2))
    return x.astype(np.float32), (rng.random(n) < p).astype(float), np.clip(p + rng.normal(0, 0.1, n), 0, 1)


def test_matches_newton_on_hard_and_soft_targets():
    x, hard, soft = _data()
    for targets in (hard, soft):
        head = fit_logistic_head(x, targets, l2=0.01)
        np.testing.assert_allclose(head.predict_proba(x), newton_optimum(x.astype(np.float64), targets, 0.01),
                                   atol=2e-6)


def test_uninformative_targets_give_a_flat_head():
    x, _, _ = _data()
    head = fit_logistic_head(x, np.full(len(x), 0.5), l2=0.01)
    assert np.abs(head.weight).max() < 1e-7 and abs(head.bias) < 1e-7
    np.testing.assert_allclose(head.predict_proba(x), 0.5, atol=1e-7)
