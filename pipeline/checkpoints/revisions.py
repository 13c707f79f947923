"""Hub branch names -> ordered training checkpoints, listed once and pinned to their commits.

Branch lists are read from the Hub (never hand-written, so a name that does not exist cannot
slip in) and cached as JSON with each branch's commit: a resumed run sees the very same
commits even if a branch has moved since, and does not need the Hub at all.

Names understood (anything else, e.g. `main`, is not a checkpoint and is skipped):
  stepN                                 Pythia
  stepN-tokensMB                        OLMo (unit B, M, K, T or none = absolute count)
  stageK-stepN-tokensMB                 OLMo-2 pre-training
  stageK-ingredientJ-stepN-tokensMB     OLMo-2 mid-training; the step counter restarts
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from ..errors import UserError
from ..paths import cache_root
from ..store import atomic_write_json

LISTINGS = "hub-listings"
LISTING_FORMAT = 1
TOKEN_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}

_NAME = re.compile(
    r"(?:stage(?P<stage>\d+)-)?(?:ingredient(?P<ingredient>\d+)-)?step(?P<step>\d+)"
    r"(?:-tokens(?P<tokens>\d+(?:\.\d+)?)(?P<unit>[KMBT]?))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedRevision:
    name: str
    stage: int | None
    ingredient: int | None
    step: int | None
    tokens: int | None
    commit: str | None = None

    @property
    def is_checkpoint(self) -> bool:
        return self.step is not None

    def order_key(self) -> tuple:
        """Training order: OLMo-2's stage 2 restarts the step counter, so stage and ingredient lead."""
        return (self.stage or 1, self.ingredient or 0, self.step if self.step is not None else -1,
                self.tokens or 0, self.name)


def parse_token_count(text: str) -> int:
    """'4B' -> 4_000_000_000; '500M', '1.5T', '4194304' likewise (exact, no float rounding)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMBT]?)", text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f"'{text}' is not a token count (e.g. 4B, 500M, 4194304)")
    return int(Decimal(m.group(1)) * TOKEN_UNITS[m.group(2).upper()])


def parse_revision(name: str, commit: str | None = None) -> ParsedRevision:
    m = _NAME.fullmatch(name)
    if not m:
        return ParsedRevision(name, None, None, None, None, commit)
    tokens = parse_token_count(m["tokens"] + m["unit"]) if m["tokens"] is not None else None
    return ParsedRevision(name, int(m["stage"]) if m["stage"] else None,
                          int(m["ingredient"]) if m["ingredient"] else None, int(m["step"]), tokens, commit)


def order_revisions(revisions) -> list[ParsedRevision]:
    return sorted((r for r in revisions if r.is_checkpoint), key=ParsedRevision.order_key)


# ---- listing and its cache ------------------------------------------------------------------

@dataclass(frozen=True)
class HubListing:
    repo: str
    revisions: list[ParsedRevision]     # checkpoints, in training order
    other_branches: dict[str, str]      # e.g. main -> commit: pins explicit suites that name them
    listed_at: str

    def commits(self) -> dict[str, str]:
        out = {r.name: r.commit for r in self.revisions if r.commit}
        return {**self.other_branches, **out}


def listing_path(repo: str, run_dir: Path | None = None) -> Path:
    """Under the run when there is one (its pins travel with its results), else the project cache."""
    base = Path(run_dir) if run_dir is not None else cache_root()
    return base / LISTINGS / f"{repo.replace('/', '--')}.json"


def read_listing(path: Path) -> HubListing | None:
    try:
        data = json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if data.get("format") != LISTING_FORMAT:
        return None
    revisions = [ParsedRevision(**r) for r in data["revisions"]]
    return HubListing(data["repo"], revisions, data.get("other_branches", {}), data.get("listed_at", ""))


def write_listing(listing: HubListing, path: Path) -> None:
    atomic_write_json(path, {"format": LISTING_FORMAT, "repo": listing.repo, "listed_at": listing.listed_at,
                             "revisions": [asdict(r) for r in listing.revisions],
                             "other_branches": listing.other_branches})


class HubUnreachable(UserError):
    """The Hub could not be asked (offline, no network) and nothing usable is cached."""


def fetch_listing(repo: str) -> HubListing:
    """Ask the Hub for the repo's branches (honours HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError

    if constants.HF_HUB_OFFLINE:
        raise HubUnreachable(f"{repo}: cannot list its branches: HF_HUB_OFFLINE is set")
    try:
        refs = HfApi().list_repo_refs(repo)
    except RepositoryNotFoundError:
        raise UserError(f"{repo}: no such model repo on {constants.ENDPOINT} "
                        "(or it is gated/private: set HF_TOKEN)") from None
    except Exception as exc:  # network down, DNS, Hub 5xx: the caller may fall back to a cached listing
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise HubUnreachable(f"{repo}: cannot list its branches ({type(exc).__name__}: {first_line})") from None
    parsed = [parse_revision(b.name, b.target_commit) for b in refs.branches]
    return HubListing(repo, order_revisions(parsed),
                      {r.name: r.commit for r in parsed if not r.is_checkpoint and r.commit},
                      time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def hub_listing(repo: str, run_dir: Path | None = None, refresh: bool = False) -> HubListing:
    """The cached listing when there is one, else a fresh one from the Hub (then cached).

    A run without its own listing yet falls back to the project cache when the Hub is
    unreachable, and copies it into the run so the run stays pinned from then on.
    """
    pinned = listing_path(repo, run_dir)
    if not refresh:
        cached = read_listing(pinned)
        if cached is not None:
            return cached
    shared = listing_path(repo)
    try:
        listing = fetch_listing(repo)
    except HubUnreachable as exc:
        cached = read_listing(shared) if shared != pinned else None
        if cached is None:
            raise HubUnreachable(f"{exc}; and no cached listing at {pinned}") from None
        listing = cached
    else:
        write_listing(listing, shared)
    if pinned != shared:
        write_listing(listing, pinned)
    return listing


def list_hub_revisions(repo: str, run_dir: Path | None = None, refresh: bool = False) -> list[ParsedRevision]:
    """The repo's checkpoint branches in training order, each with the commit it pointed at when listed."""
    return hub_listing(repo, run_dir, refresh).revisions
