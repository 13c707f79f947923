"""Suite name -> the ordered checkpoints it holds, each pinned to the content it names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import HubSuite, LocalSuite, Suite
from ..errors import UserError
from .revisions import ParsedRevision, list_hub_revisions, parse_revision
from .schedule import PYTHIA_TOKENS_PER_STEP, local_steps, pythia_steps, revision_name


@dataclass(frozen=True)
class Checkpoint:
    """One revision of one suite.

    `commit_sha` is what the revision resolved to (a Hub commit, or for a local suite the
    sha256 of its weights): results are keyed by it, never by the revision name.
    `duplicate_of` is set when an earlier checkpoint of the run holds byte-identical weights;
    the two then share their features (see `weights_identity`).
    """

    suite: str
    repo: str
    revision: str
    step: int
    tokens: int | None
    commit_sha: str | None = None
    local_path: Path | None = None
    allow_pickle: bool = False
    trust_remote_code: bool = False
    duplicate_of: Checkpoint | None = None
    # (file, sha256) of the weight files when already known (a local build's index), so
    # duplicate detection never rehashes them.
    weight_hashes: tuple[tuple[str, str], ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}@{self.revision}"

    def identity(self) -> dict:
        return {"repo": self.repo, "revision": self.revision, "commit_sha": self.commit_sha}

    def weights_identity(self) -> dict:
        """What computed features are keyed by: a byte-identical twin reuses its first occurrence's."""
        return (self.duplicate_of or self).identity()


def local_checkpoints(name: str, suite: LocalSuite, progress: bool = True) -> list[Checkpoint]:
    """The built revisions of a local suite, building it first when missing."""
    from .build import build_suite, suite_path

    return _built_checkpoints(name, suite_path(name, suite), build_suite(name, suite, progress=progress))


def _built_checkpoints(name: str, path: Path, built) -> list[Checkpoint]:
    return [Checkpoint(name, str(path), r.revision, r.step, r.tokens, r.weights_sha256, r.path,
                       weight_hashes=(("model.safetensors", r.weights_sha256),)) for r in built]


def planned_local_checkpoints(name: str, suite: LocalSuite) -> list[Checkpoint]:
    """The built revisions if the suite is built, else the ones a build would save; never builds."""
    from .build import read_index, suite_path

    path = suite_path(name, suite)
    built = read_index(path)
    if built is not None:
        return _built_checkpoints(name, path, built)
    t = suite.train
    per_step = t.batch_size * suite.model.seq_len
    return [Checkpoint(name, str(path), revision_name(s), s, s * per_step)
            for s in local_steps(t.steps, t.log_spaced_until, t.evenly_spaced)]


def _branch_commits(repo: str, run_dir: Path | None) -> dict[str, str]:
    """Commits to pin rule-derived revisions to, when a listing is cached or the Hub answers.

    Without either (offline, first use) revisions stay unpinned and `resolve` pins them from
    the local HF cache instead.
    """
    from .revisions import HubUnreachable, hub_listing

    try:
        return hub_listing(repo, run_dir).commits()
    except HubUnreachable:
        return {}


def hub_revisions(suite: HubSuite, run_dir: Path | None = None) -> list[ParsedRevision]:
    """The suite's checkpoints in training order, with the commit each is pinned to when known.

    Pythia's revisions come from its published rule and OLMo's from the Hub listing; rule-derived
    and hand-written names are pinned by the listing whenever there is one, and a name it lacks
    stays unpinned, so `resolve` fails it with the Hub's own answer instead of guessing.
    """
    per_step = suite.tokens_per_step
    if suite.family == "pythia":
        per_step = per_step or PYTHIA_TOKENS_PER_STEP
        commits = _branch_commits(suite.repo, run_dir)
        return [ParsedRevision(revision_name(s), None, None, s, s * per_step, commits.get(revision_name(s)))
                for s in pythia_steps()]
    if suite.family == "explicit":
        commits = _branch_commits(suite.repo, run_dir)
        parsed = [parse_revision(rev, commits.get(rev)) for rev in suite.revisions or []]
    else:
        parsed = list_hub_revisions(suite.repo, run_dir)
    out = []
    for r in parsed:
        step = r.step if r.step is not None else -1
        tokens = r.tokens if r.tokens is not None else (step * per_step if per_step and step >= 0 else None)
        out.append(replace(r, step=step, tokens=tokens))
    return out


def suite_checkpoints(name: str, suites: dict[str, Suite], progress: bool = True,
                      run_dir: Path | None = None) -> list[Checkpoint]:
    """`run_dir`: where a Hub listing is cached, so the run stays pinned to the commits it first saw."""
    if name not in suites:
        raise UserError(f"unknown suite '{name}' (known: {', '.join(sorted(suites))})")
    suite = suites[name]
    if isinstance(suite, LocalSuite):
        return local_checkpoints(name, suite, progress)
    return [Checkpoint(name, suite.repo, r.name, r.step, r.tokens, r.commit, allow_pickle=suite.allow_pickle,
                       trust_remote_code=suite.trust_remote_code) for r in hub_revisions(suite, run_dir)]


def weak_checkpoint(ref: str, suites: dict[str, Suite], progress: bool = True,
                    run_dir: Path | None = None) -> Checkpoint:
    """`suite` (its final revision) or `suite:revision`."""
    name, _, revision = ref.partition(":")
    checkpoints = suite_checkpoints(name, suites, progress, run_dir)
    if not revision:
        return checkpoints[-1]
    for c in checkpoints:
        if c.revision == revision:
            return c
    near = difflib.get_close_matches(revision, [c.revision for c in checkpoints], n=3, cutoff=0.0)
    raise UserError(f"weak supervisor '{ref}': suite {name} has no revision '{revision}'"
                    + (f" (nearest: {', '.join(near)})" if near else ""))
