"""What `w2s checkpoints list` shows: a suite's revisions and what each is pinned to.

Never builds, downloads or loads a model, so it is safe to run before committing to a study;
commits come from the cached Hub listing or the local HF cache when those know them.
"""

from __future__ import annotations

import csv
import io
import json

from ..config import LocalSuite, Suite
from ..errors import UserError
from .selection import select_checkpoints
from .suites import Checkpoint, planned_local_checkpoints, suite_checkpoints

FORMATS = ("table", "json", "csv")
FIELDS = ["revision", "step", "tokens", "commit_sha", "source"]


def _human_tokens(tokens: int | None) -> str:
    if tokens is None:
        return "-"
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if tokens >= size:
            return f"{tokens / size:.3g}{unit}"
    return str(tokens)


def checkpoint_rows(name: str, suites: dict[str, Suite], select: str | None = None) -> list[dict]:
    if name not in suites:
        raise UserError(f"unknown suite '{name}' (known: {', '.join(sorted(suites))})")
    suite = suites[name]
    rows = []
    if isinstance(suite, LocalSuite):
        pairs = [(c, "built" if c.local_path is not None else "planned")
                 for c in planned_local_checkpoints(name, suite)]
    else:
        from .loading import cached_commit
        from .revisions import listing_path, read_listing

        checkpoints = suite_checkpoints(name, suites, progress=False)
        listing = read_listing(listing_path(suite.repo))  # after: suite_checkpoints may have just listed
        pairs = []
        for c in checkpoints:
            if c.commit_sha:
                commit, source = c.commit_sha, "listing"
            elif listing is not None:  # the repo was listed and this name is not among its branches
                commit, source = None, "not on Hub"
            else:
                commit = cached_commit(c.repo, c.revision)
                source = "hf-cache" if commit else ""
            pairs.append((Checkpoint(c.suite, c.repo, c.revision, c.step, c.tokens, commit), source))
    if select:
        chosen = {id(c) for c in select_checkpoints([c for c, _ in pairs], select)}
        pairs = [(c, s) for c, s in pairs if id(c) in chosen]
    for c, source in pairs:
        rows.append({"revision": c.revision, "step": c.step, "tokens": c.tokens,
                     "commit_sha": c.commit_sha, "source": source})
    return rows


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise UserError(f"--format: expected one of {', '.join(FORMATS)}, got '{fmt}'")
    header = ["revision", "step", "tokens", "commit", "pinned by"]
    body = [[r["revision"], str(r["step"]), _human_tokens(r["tokens"]),
             (r["commit_sha"] or "-")[:12], r["source"] or "-"] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *body]]
    return "\n".join(lines + [f"{len(rows)} revision(s)"])
