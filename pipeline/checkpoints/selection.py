"""Which revisions of a suite a run evaluates, from a short selection expression.

  all               every revision
  every:K           every K-th revision (the final one always included)
  log:K             K revisions log-spaced in step (step0 included when present)
  steps:0,512,1000  exactly these steps
  range:A-B         steps A..B inclusive (either side may be empty)
Clauses combine with '+', e.g. 'log:8+steps:143000'.
"""

from __future__ import annotations

import difflib

import numpy as np

from ..errors import UserError
from .suites import Checkpoint


def _parse_int(text: str, clause: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"select: '{clause}': '{text}' is not a whole number") from None


def _clause(checkpoints: list[Checkpoint], clause: str) -> set[int]:
    kind, _, arg = clause.partition(":")
    steps = [c.step for c in checkpoints]
    n = len(checkpoints)
    if kind == "all" and not arg:
        return set(range(n))
    if kind == "every":
        k = _parse_int(arg, clause)
        if k < 1:
            raise UserError(f"select: '{clause}': K must be at least 1")
        return set(range(0, n, k)) | {n - 1}
    if kind == "log":
        k = _parse_int(arg, clause)
        if k < 2:
            raise UserError(f"select: '{clause}': K must be at least 2")
        positive = [i for i, s in enumerate(steps) if s > 0]
        chosen = {i for i, s in enumerate(steps) if s == 0}
        if positive:
            logs = np.log10([steps[i] for i in positive])
            for target in np.linspace(logs.min(), logs.max(), k - len(chosen)):
                chosen.add(positive[int(np.argmin(np.abs(logs - target)))])
        return chosen
    if kind == "steps":
        wanted = [_parse_int(x, clause) for x in arg.split(",") if x.strip()]
        index = {s: i for i, s in enumerate(steps)}
        missing = [w for w in wanted if w not in index]
        if missing:
            near = difflib.get_close_matches(str(missing[0]), [str(s) for s in steps], n=3)
            raise UserError(f"select: step {missing[0]} is not a revision of this suite"
                            + (f" (nearest: {', '.join('step' + x for x in near)})" if near else ""))
        return {index[w] for w in wanted}
    if kind == "range":
        lo, sep, hi = arg.partition("-")
        if not sep:
            raise UserError(f"select: '{clause}': expected range:A-B")
        lo_v = _parse_int(lo, clause) if lo else min(steps)
        hi_v = _parse_int(hi, clause) if hi else max(steps)
        return {i for i, s in enumerate(steps) if lo_v <= s <= hi_v}
    raise UserError(f"select: unknown clause '{clause}' (use all, every:K, log:K, steps:..., range:A-B)")


def select_checkpoints(checkpoints: list[Checkpoint], expression: str) -> list[Checkpoint]:
    if not checkpoints:
        return []
    chosen: set[int] = set()
    for clause in expression.replace(" ", "").split("+"):
        chosen |= _clause(checkpoints, clause)
    return [checkpoints[i] for i in sorted(chosen)]
