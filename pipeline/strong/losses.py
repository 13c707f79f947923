"""Losses for a binary w2s student: one logit per example against the weak supervisor's P(y=1).

Each loss is a pure function of (logits, weak soft labels, ...). `W2SLoss` only adds the two
pieces of state a training loop must carry for `logconf`: how far training is, and a buffer of
recent predictions so that a minibatch of one still gets a meaningful hardening threshold.
"""

from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F

LOSSES = ("xent", "logconf", "product", "kl")


def xent(logits: torch.Tensor, weak: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the weak soft labels (the naive w2s baseline)."""
    return F.binary_cross_entropy_with_logits(logits.float(), weak.float())


def kl(logits: torch.Tensor, weak: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Reverse KL(student || weak), mode-seeking.

    Forward KL(weak || student) equals `xent` minus a constant (the weak labels' entropy), so it
    would train the very same student; the reverse direction is the one that differs.
    """
    logits = logits.float()
    w = weak.float().clamp(eps, 1 - eps)
    p = torch.sigmoid(logits)
    log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)  # log p, log(1-p), stable
    return (p * (log_p - torch.log(w)) + (1 - p) * (log_q - torch.log1p(-w))).mean()


def product(logits: torch.Tensor, weak: torch.Tensor, alpha: float = 1.0, beta: float = 1.0) -> torch.Tensor:
    """Cross-entropy against weak^alpha * student^beta, renormalised and detached (as in the
    w2s repo): the student is pulled towards where both agree, and can overrule a weak label
    it is confident against."""
    logits = logits.float()
    w = weak.float()
    log_pos = alpha * torch.log(w.clamp_min(1e-12)) + beta * F.logsigmoid(logits)
    log_neg = alpha * torch.log((1 - w).clamp_min(1e-12)) + beta * F.logsigmoid(-logits)
    target = torch.sigmoid(log_pos - log_neg).detach()
    return F.binary_cross_entropy_with_logits(logits, target)


def confidence_weight(progress: float, warmup_fraction: float = 0.2, max_weight: float = 0.75) -> float:
    """The auxiliary weight c: 0 at the start, linear up to `max_weight` at `warmup_fraction` of
    training, then flat; early on the student's own predictions are not worth trusting."""
    if warmup_fraction <= 0:
        return max_weight
    return max_weight * min(1.0, max(0.0, progress) / warmup_fraction)


def hardening_threshold(student_proba: torch.Tensor, positive_rate: float) -> torch.Tensor:
    """The P(y=1) above which a student prediction is hardened to 1: the quantile that makes
    the hardened positive rate match the weak labels' (Burns et al.), not a fixed 0.5."""
    q = min(1.0, max(0.0, 1.0 - positive_rate))
    return torch.quantile(student_proba.float(), q)


def logconf(logits: torch.Tensor, weak: torch.Tensor, weight: float, threshold: torch.Tensor | float) -> torch.Tensor:
    """Auxiliary confidence loss: target = (1-c) * weak + c * hardened student prediction."""
    logits = logits.float()
    hardened = (torch.sigmoid(logits) > threshold).float().detach()
    target = (1 - weight) * weak.float() + weight * hardened
    return F.binary_cross_entropy_with_logits(logits, target)


class RecentPredictions:
    """The last `size` (student P(y=1), weak P(y=1)) pairs, current batch included."""

    def __init__(self, size: int):
        self.size = size
        self.student: deque[float] = deque(maxlen=size)
        self.weak: deque[float] = deque(maxlen=size)

    def add(self, student_proba: torch.Tensor, weak: torch.Tensor) -> None:
        self.student.extend(student_proba.detach().float().cpu().tolist())
        self.weak.extend(weak.detach().float().cpu().tolist())

    def threshold(self) -> torch.Tensor:
        positive_rate = sum(self.weak) / len(self.weak)
        return hardening_threshold(torch.tensor(list(self.student)), positive_rate)


class W2SLoss:
    """loss(logits, weak, progress) for a named loss; progress is the fraction of training done."""

    def __init__(self, name: str, warmup_fraction: float = 0.2, max_weight: float = 0.75,
                 buffer_size: int = 32, product_alpha: float = 1.0, product_beta: float = 1.0,
                 kl_eps: float = 1e-6, min_batch: int = 8):
        if name not in LOSSES:
            raise ValueError(f"unknown loss '{name}' (known: {', '.join(LOSSES)})")
        self.name = name
        self.warmup_fraction, self.max_weight = warmup_fraction, max_weight
        self.product_alpha, self.product_beta, self.kl_eps = product_alpha, product_beta, kl_eps
        self.recent = RecentPredictions(buffer_size)
        self.min_batch = min_batch

    def __call__(self, logits: torch.Tensor, weak: torch.Tensor, progress: float) -> torch.Tensor:
        if self.name == "xent":
            return xent(logits, weak)
        if self.name == "kl":
            return kl(logits, weak, self.kl_eps)
        if self.name == "product":
            return product(logits, weak, self.product_alpha, self.product_beta)
        proba = torch.sigmoid(logits.float()).detach()
        self.recent.add(proba, weak)
        if len(proba) >= self.min_batch:
            # A batch big enough on its own hardens exactly its weak positive rate, as in the w2s
            # repo. Older predictions are stale: while the student's overall bias moves between
            # steps, a threshold taken over them hardens a whole batch to one class, which pushes
            # the bias further (seen here as a collapse to chance). So they only stand in for
            # a batch too small to have a quantile of its own.
            threshold = hardening_threshold(proba, float(weak.float().mean()))
        else:
            threshold = self.recent.threshold()
        weight = confidence_weight(progress, self.warmup_fraction, self.max_weight)
        return logconf(logits, weak, weight, threshold.to(logits.device))


def make_loss(name: str, options=None) -> W2SLoss:
    """`options`: a config.LossOptions (or None for the defaults)."""
    if options is None:
        return W2SLoss(name)
    return W2SLoss(name, options.logconf_warmup_fraction, options.logconf_max_weight,
                   options.logconf_buffer, options.product_alpha, options.product_beta, options.kl_eps,
                   options.logconf_min_batch)
