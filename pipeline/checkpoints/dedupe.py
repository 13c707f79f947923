"""Spot branches whose weights are byte-identical to an earlier one's (e.g. `main` and the final step,
or a re-uploaded step), so they are flagged and their results reused instead of silently counted
as independent points on the curve.

A fingerprint is the sha256 of each weight file, combined. Nothing is rehashed when it is known:
the Hub publishes each LFS file's sha256, and the HF cache names LFS blobs by that same sha256.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..data.fetch import sha256_of
from ..store import stable_hash
from .loading import RevisionUnavailable, tokenizer_fingerprint, weight_files
from .suites import Checkpoint

SHA256 = re.compile(r"[0-9a-f]{64}")


def file_sha256(path: Path) -> str:
    """A cache blob's name when the file is a link to `blobs/<sha256>`; otherwise hash the bytes."""
    path = Path(path)
    if path.is_symlink():
        target = path.resolve()
        if target.parent.name == "blobs" and SHA256.fullmatch(target.name):
            return target.name
    return sha256_of(path)


def _combine(hashes: dict[str, str]) -> str:
    return stable_hash({"weights": sorted(hashes.items())})


def local_weight_hashes(folder: Path, allow_pickle: bool = False) -> dict[str, str]:
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in weight_files(folder, allow_pickle)}


def hub_weight_hashes(repo: str, revision: str, allow_pickle: bool = False) -> dict[str, str]:
    """From the Hub's file metadata, without downloading: lets twins be found before fetching them."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo, revision=revision, files_metadata=True)
    siblings = info.siblings or []
    chosen = [s for s in siblings if s.rfilename.endswith(".safetensors")]
    if not chosen and allow_pickle:
        chosen = [s for s in siblings if s.rfilename.endswith(".bin")]
    missing = [s.rfilename for s in chosen if s.lfs is None]
    if missing:
        raise RevisionUnavailable(f"{repo}@{revision}: the Hub gives no LFS sha256 for {missing[0]}")
    return {s.rfilename: s.lfs.sha256 for s in chosen}


def weights_fingerprint(checkpoint: Checkpoint) -> str:
    """Equal for two checkpoints exactly when their weight files are byte-identical.

    Uses hashes already known (a local build's index), then the local files once resolved (cache
    blob names, no rehash), else asks the Hub.
    """
    from huggingface_hub import constants

    if checkpoint.weight_hashes:
        hashes = dict(checkpoint.weight_hashes)
    elif checkpoint.local_path is not None:
        hashes = local_weight_hashes(checkpoint.local_path, checkpoint.allow_pickle)
    elif constants.HF_HUB_OFFLINE:
        raise RevisionUnavailable(f"{checkpoint.label}: not resolved, and HF_HUB_OFFLINE is set")
    else:
        hashes = hub_weight_hashes(checkpoint.repo, checkpoint.commit_sha or checkpoint.revision,
                                   checkpoint.allow_pickle)
    if not hashes:
        raise RevisionUnavailable(f"{checkpoint.label}: no weight files to fingerprint")
    return _combine(hashes)


def model_fingerprint(checkpoint: Checkpoint) -> str:
    """Equal exactly when two resolved checkpoints give identical features: the same weights, and
    the same config and tokenizer files (a re-upload that fixed the tokenizer is not a twin)."""
    if checkpoint.local_path is None:
        return weights_fingerprint(checkpoint)
    config = Path(checkpoint.local_path) / "config.json"
    return stable_hash({"weights": weights_fingerprint(checkpoint),
                        "config": sha256_of(config) if config.is_file() else None,
                        "tokenizer": tokenizer_fingerprint(checkpoint.local_path, checkpoint.trust_remote_code)})


class DuplicateWeights:
    """Remembers each fingerprint's first checkpoint; later twins come back marked `duplicate_of` it.

    Incremental so the Runner can mark each checkpoint right after resolving it.
    """

    def __init__(self, fingerprint=weights_fingerprint):
        self.fingerprint = fingerprint
        self.first: dict[str, Checkpoint] = {}

    def mark(self, checkpoint: Checkpoint) -> Checkpoint:
        key = self.fingerprint(checkpoint)
        first = self.first.setdefault(key, checkpoint)
        return checkpoint if first is checkpoint else replace(checkpoint, duplicate_of=first)


def mark_duplicates(checkpoints: list[Checkpoint], fingerprint=weights_fingerprint) -> list[Checkpoint]:
    tracker = DuplicateWeights(fingerprint)
    return [tracker.mark(c) for c in checkpoints]


def find_duplicates(checkpoints: list[Checkpoint], fingerprint=weights_fingerprint) -> dict[str, str]:
    """revision -> the earlier revision holding byte-identical weights (only twins are listed)."""
    return {c.revision: c.duplicate_of.revision for c in mark_duplicates(checkpoints, fingerprint)
            if c.duplicate_of is not None}
