"""Suite name -> the ordered checkpoints it holds, each pinned to the content it names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import HubSuite, LocalSuite, Suite
from ..errors import UserError
from .schedule import PYTHIA_TOKENS_PER_STEP, pythia_steps, revision_name


@dataclass(frozen=True)
class Checkpoint:
    """One revision of one suite.

    `commit_sha` is what the revision resolved to (a Hub commit, or for a local suite the
    sha256 of its weights): results are keyed by it, never by the revision name.
    """

    suite: str
    repo: str
    revision: str
    step: int
    tokens: int | None
    commit_sha: str | None = None
    local_path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}@{self.revision}"

    def identity(self) -> dict:
        return {"repo": self.repo, "revision": self.revision, "commit_sha": self.commit_sha}


def local_checkpoints(name: str, suite: LocalSuite, progress: bool = True) -> list[Checkpoint]:
    """The built revisions of a local suite, building it first when missing."""
    from .build import build_suite, suite_path

    built = build_suite(name, suite, progress=progress)
    repo = str(suite_path(name, suite))
    return [Checkpoint(name, repo, r.revision, r.step, r.tokens, r.weights_sha256, r.path) for r in built]


def hub_revisions(suite: HubSuite) -> list[tuple[str, int, int | None]]:
    """(revision, step, tokens) in training order, known without asking the Hub where possible."""
    if suite.family == "pythia":
        per_step = suite.tokens_per_step or PYTHIA_TOKENS_PER_STEP
        return [(revision_name(s), s, s * per_step) for s in pythia_steps()]
    if suite.family == "explicit":
        from .revisions import parse_revision

        out = []
        for rev in suite.revisions or []:
            parsed = parse_revision(rev)
            tokens = parsed.tokens if parsed.tokens is not None else (
                parsed.step * suite.tokens_per_step if suite.tokens_per_step and parsed.step is not None else None)
            out.append((rev, parsed.step if parsed.step is not None else -1, tokens))
        return out
    from .revisions import list_hub_revisions

    return [(r.name, r.step, r.tokens) for r in list_hub_revisions(suite.repo)]


def suite_checkpoints(name: str, suites: dict[str, Suite], progress: bool = True) -> list[Checkpoint]:
    if name not in suites:
        raise UserError(f"unknown suite '{name}' (known: {', '.join(sorted(suites))})")
    suite = suites[name]
    if isinstance(suite, LocalSuite):
        return local_checkpoints(name, suite, progress)
    return [Checkpoint(name, suite.repo, rev, step, tokens) for rev, step, tokens in hub_revisions(suite)]


def weak_checkpoint(ref: str, suites: dict[str, Suite], progress: bool = True) -> Checkpoint:
    """`suite` (its final revision) or `suite:revision`."""
    name, _, revision = ref.partition(":")
    checkpoints = suite_checkpoints(name, suites, progress)
    if not revision:
        return checkpoints[-1]
    for c in checkpoints:
        if c.revision == revision:
            return c
    raise UserError(f"weak supervisor '{ref}': suite {name} has no revision '{revision}'")
