"""Each w2s loss against values worked out by hand (see the comments for the arithmetic)."""

import math

import numpy as np
import pytest
import torch

from pipeline.strong.heads import fit_head_with_loss, fit_logistic_head
from pipeline.strong.losses import (W2SLoss, confidence_weight, hardening_threshold, kl, logconf, make_loss,
                                    product, xent)


def logit(p):
    return torch.log(torch.tensor(p) / (1 - torch.tensor(p)))


LOGITS = logit([0.5, 0.75])   # student P(y=1) = 0.5, 0.75
WEAK = torch.tensor([0.5, 0.25])


def test_xent_is_soft_cross_entropy():
    # -(.5 ln .5 + .5 ln .5) = ln 2;  -(.25 ln .75 + .75 ln .25)
    expected = (math.log(2) - (0.25 * math.log(0.75) + 0.75 * math.log(0.25))) / 2
    assert xent(LOGITS, WEAK).item() == pytest.approx(expected, abs=1e-6)


def test_kl_is_reverse_kl_student_to_weak():
    # first pair: p = w, KL 0; second: .75 ln(.75/.25) + .25 ln(.25/.75) = .5 ln 3
    assert kl(LOGITS, WEAK).item() == pytest.approx(0.5 * math.log(3) / 2, abs=1e-5)
    assert kl(LOGITS, torch.sigmoid(LOGITS)).item() == pytest.approx(0.0, abs=1e-6)


def test_product_targets_the_normalised_product():
    # pair 1: .5*.5 / (.5*.5 + .5*.5) = .5; pair 2: .25*.75 / (.25*.75 + .75*.25) = .5
    expected = (math.log(2) - 0.5 * (math.log(0.75) + math.log(0.25))) / 2
    assert product(LOGITS, WEAK).item() == pytest.approx(expected, abs=1e-6)
    # alpha=0 ignores the weak labels: target = the student itself, so the gradient is zero
    z = LOGITS.clone().requires_grad_(True)
    product(z, WEAK, alpha=0.0).backward()
    assert torch.allclose(z.grad, torch.zeros(2), atol=1e-7)


def test_confidence_weight_ramps_then_stays():
    assert confidence_weight(0.0) == 0.0
    assert confidence_weight(0.1) == pytest.approx(0.375)  # halfway through the 0.2 warmup
    assert confidence_weight(0.2) == pytest.approx(0.75)
    assert confidence_weight(0.9) == pytest.approx(0.75)
    assert confidence_weight(0.5, warmup_fraction=0.0, max_weight=0.3) == pytest.approx(0.3)


def test_hardening_threshold_matches_weak_positive_rate():
    p = torch.tensor([0.1, 0.4, 0.6, 0.9])
    # 25% positives -> the 0.75 quantile, interpolated: 0.6 + 0.25 * (0.9 - 0.6)
    t = hardening_threshold(p, 0.25)
    assert t.item() == pytest.approx(0.675)
    assert (p > t).float().mean().item() == pytest.approx(0.25)


def test_logconf_mixes_weak_and_hardened_prediction():
    z = logit([0.1, 0.9])
    # c = .5, threshold .5: hardened [0, 1]; targets .5*.4 + .5*[0, 1] = [.2, .7]
    t1, t2 = 0.2, 0.7
    expected = (-(t1 * math.log(0.1) + (1 - t1) * math.log(0.9)) - (t2 * math.log(0.9) + (1 - t2) * math.log(0.1))) / 2
    assert logconf(z, torch.tensor([0.4, 0.4]), 0.5, 0.5).item() == pytest.approx(expected, abs=1e-5)
    assert logconf(z, torch.tensor([0.4, 0.4]), 0.0, 0.5).item() == pytest.approx(xent(z, torch.tensor([0.4, 0.4])).item())


def test_logconf_starts_as_xent_and_ramps():
    z, w = logit([0.2, 0.7, 0.9]), torch.tensor([0.3, 0.6, 0.8])
    assert W2SLoss("logconf")(z, w, 0.0).item() == pytest.approx(xent(z, w).item(), abs=1e-6)
    assert W2SLoss("logconf")(z, w, 0.5).item() != pytest.approx(xent(z, w).item(), abs=1e-3)


def test_logconf_buffer_gives_a_batch_of_one_a_real_threshold():
    loss = W2SLoss("logconf", buffer_size=4, min_batch=2)
    for p, w in [(0.1, 1.0), (0.4, 0.0), (0.6, 0.0)]:
        loss(logit([p]), torch.tensor([w]), 1.0)
    # buffer: student [.1 .4 .6 .9], weak mean .25 -> threshold .675: 0.9 hardens to 1
    # c = .75: target = .25 * 0 + .75 * 1
    got = loss(logit([0.9]), torch.tensor([0.0]), 1.0).item()
    assert got == pytest.approx(-(0.75 * math.log(0.9) + 0.25 * math.log(0.1)), abs=1e-5)
    assert list(loss.recent.student) == pytest.approx([0.1, 0.4, 0.6, 0.9])
    loss(logit([0.5]), torch.tensor([0.5]), 1.0)
    assert list(loss.recent.student) == pytest.approx([0.4, 0.6, 0.9, 0.5])  # the oldest left

    alone = W2SLoss("logconf", buffer_size=1, min_batch=2)  # without history the only prediction is its own quantile
    got = alone(logit([0.9]), torch.tensor([0.0]), 1.0).item()
    assert got == pytest.approx(-math.log(0.1), abs=1e-5)  # hardened to 0: target 0


def test_logconf_big_batch_uses_only_its_own_predictions():
    loss = W2SLoss("logconf", buffer_size=8, min_batch=4)
    loss(logit([0.01, 0.02, 0.03, 0.04]), torch.tensor([1.0, 1.0, 1.0, 1.0]), 1.0)  # stale, low
    z, w = logit([0.2, 0.4, 0.6, 0.8]), torch.tensor([0.0, 0.0, 1.0, 1.0])
    # own threshold: the 0.5 quantile of [.2 .4 .6 .8] = .5, so [0 0 1 1] hardened (not all ones)
    assert loss(z, w, 1.0).item() == pytest.approx(logconf(z, w, 0.75, 0.5).item(), abs=1e-6)


def test_make_loss_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("hinge")


def test_iterative_head_matches_lbfgs_under_xent():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 0.0]) + 0.5 * rng.normal(size=300) > 0).astype(float)
    exact = fit_logistic_head(x, y, l2=0.1)
    iterative = fit_head_with_loss(x, y, make_loss("xent"), l2=0.1, steps=250, lr=0.1)
    assert np.abs(exact.predict_proba(x) - iterative.predict_proba(x)).max() < 0.02
    mini = fit_head_with_loss(x, y, make_loss("logconf"), l2=0.0, steps=200, lr=0.01, batch_size=1)
    assert np.mean((mini.predict_proba(x) > 0.5) == y) > 0.8  # minibatches of one still learn
