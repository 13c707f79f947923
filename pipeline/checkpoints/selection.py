"""Which revisions of a suite a run evaluates, from a short selection expression.

  all               every revision
  every:K           every K-th revision (the final one always included)
  log:K             K revisions log-spaced in step (step0 included when present)
  steps:0,512,1000  exactly these steps
  range:A-B         steps A..B inclusive (either side may be empty)
  tokens:A-B        training tokens A..B inclusive, e.g. tokens:4B-500B, tokens:-1.5T, tokens:500M-
  revisions:N1,N2   exactly these revision names, e.g. revisions:stage1-step1000-tokens5B
  final             the final revision
Clauses combine with '+', e.g. 'log:8+final'. Names and steps that are not revisions of the
suite are errors naming the nearest ones: a typo must not quietly shrink a study.
"""

from __future__ import annotations

import difflib

import numpy as np

from ..errors import UserError
from .revisions import parse_token_count
from .suites import Checkpoint

CLAUSES = "all, every:K, log:K, steps:..., range:A-B, tokens:A-B, revisions:..., final"


def _parse_int(text: str, clause: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"select: '{clause}': '{text}' is not a whole number") from None


def _parse_tokens(text: str, clause: str) -> int:
    try:
        return parse_token_count(text)
    except ValueError as exc:
        raise UserError(f"select: '{clause}': {exc}") from None


def _nearest_steps(wanted: int, steps: list[int], n: int = 3) -> list[int]:
    """By distance in steps: for numbers that is what 'nearest' means (difflib would pair 1500 with 15000)."""
    return sorted(sorted(set(steps), key=lambda s: (abs(s - wanted), s))[:n])


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
        wanted = [_parse_int(x.removeprefix("step"), clause) for x in arg.split(",") if x.strip()]
        index = {s: i for i, s in enumerate(steps)}
        missing = [w for w in wanted if w not in index]
        if missing:
            near = _nearest_steps(missing[0], steps)
            raise UserError(f"select: step {missing[0]} is not a revision of this suite"
                            f" (nearest: {', '.join(f'step{s}' for s in near)})")
        # A step can occur once per OLMo-2 stage/ingredient: take every revision at that step.
        wanted_set = set(wanted)
        return {i for i, s in enumerate(steps) if s in wanted_set}
    if kind == "range":
        lo, sep, hi = arg.partition("-")
        if not sep:
            raise UserError(f"select: '{clause}': expected range:A-B")
        lo_v = _parse_int(lo, clause) if lo else min(steps)
        hi_v = _parse_int(hi, clause) if hi else max(steps)
        return {i for i, s in enumerate(steps) if lo_v <= s <= hi_v}
    if kind == "tokens":
        lo, sep, hi = arg.partition("-")
        if not sep:
            raise UserError(f"select: '{clause}': expected tokens:A-B, e.g. tokens:4B-500B")
        counted = [(i, c.tokens) for i, c in enumerate(checkpoints) if c.tokens is not None]
        if not counted:
            raise UserError(f"select: '{clause}': this suite's revisions carry no token counts; use steps")
        lo_v = _parse_tokens(lo, clause) if lo else 0
        hi_v = _parse_tokens(hi, clause) if hi else max(t for _, t in counted)
        return {i for i, t in counted if lo_v <= t <= hi_v}
    if kind == "revisions":
        wanted = [x for x in arg.split(",") if x]
        if not wanted:
            raise UserError(f"select: '{clause}': name at least one revision")
        index = {c.revision: i for i, c in enumerate(checkpoints)}
        for name in wanted:
            if name not in index:
                near = difflib.get_close_matches(name, list(index), n=3, cutoff=0.0)
                raise UserError(f"select: revision '{name}' is not in this suite (nearest: {', '.join(near)})")
        return {index[name] for name in wanted}
    if kind == "final" and not arg:
        return {n - 1}
    raise UserError(f"select: unknown clause '{clause}' (use {CLAUSES})")


def select_checkpoints(checkpoints: list[Checkpoint], expression: str) -> list[Checkpoint]:
    if not checkpoints:
        return []
    chosen: set[int] = set()
    for clause in expression.replace(" ", "").split("+"):
        chosen |= _clause(checkpoints, clause)
    if not chosen:
        raise UserError(f"select: '{expression}' matches none of the suite's {len(checkpoints)} revisions")
    return [checkpoints[i] for i in sorted(chosen)]
