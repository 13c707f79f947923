"""Byte-identical branches are found from blob names, Hub LFS metadata or file bytes, consistently."""

from __future__ import annotations

import hashlib
import shutil

import pytest

import pipeline.checkpoints.dedupe as dedupe
from pipeline.checkpoints.dedupe import (
    DuplicateWeights,
    find_duplicates,
    local_weight_hashes,
    mark_duplicates,
    weights_fingerprint,
)
from pipeline.checkpoints.loading import RevisionUnavailable, resolve
from pipeline.checkpoints.suites import Checkpoint

REPO = "EleutherAI/pythia-14m"


def _ckpt(revision: str, **kw) -> Checkpoint:
    return Checkpoint("pythia-14m", REPO, revision, int(revision.removeprefix("step")), None, **kw)


@pytest.fixture
def cache_with_twins(hf_cache, tiny_models, tmp_path):
    """step1000 and step2000 hold the same weights (different commits: a README differs); step3000 not."""
    twin = tmp_path / "twin"
    shutil.copytree(tiny_models["a"][0], twin)
    (twin / "README.md").write_text("re-uploaded\n")
    hf_cache.add(REPO, "step1000", tiny_models["a"][0])
    hf_cache.add(REPO, "step2000", twin)
    hf_cache.add(REPO, "step3000", tiny_models["b"][0])
    return [resolve(_ckpt(f"step{s}")) for s in (1000, 2000, 3000)]


def test_twins_are_mapped_to_their_first_occurrence(cache_with_twins):
    first, twin, other = cache_with_twins
    assert first.commit_sha != twin.commit_sha
    assert find_duplicates(cache_with_twins) == {"step2000": "step1000"}
    marked = mark_duplicates(cache_with_twins)
    assert marked[0].duplicate_of is None and marked[2].duplicate_of is None
    assert marked[1].duplicate_of == first
    # The twin shares its first occurrence's features; its own rows keep its own identity.
    assert marked[1].weights_identity() == first.identity() != marked[1].identity()
    assert marked[2].weights_identity() == other.identity()


def test_same_weights_with_another_tokenizer_or_config_are_not_twins(cache_with_twins, hf_cache, tmp_path):
    """A re-upload that fixed the tokenizer gives other features: the run must compute it."""
    from pipeline.checkpoints.dedupe import model_fingerprint

    first, twin, _ = cache_with_twins
    for name, edit in (("tokenizer.json", lambda t: t.replace('"merges"', '"merges" ', 1)),
                       ("config.json", lambda t: t.replace("{", '{"use_cache": false, ', 1))):
        changed = tmp_path / f"changed-{name}"
        shutil.copytree(first.local_path, changed, symlinks=False)
        (changed / name).write_text(edit((changed / name).read_text()))
        hf_cache.add(REPO, f"step{4000 + len(name)}", changed)
        other = resolve(_ckpt(f"step{4000 + len(name)}"))
        assert weights_fingerprint(other) == weights_fingerprint(first)
        assert model_fingerprint(other) != model_fingerprint(first)
    assert model_fingerprint(twin) == model_fingerprint(first)  # a README does not count


def test_cache_blobs_are_not_rehashed(cache_with_twins, monkeypatch):
    def no_hashing(path):
        raise AssertionError(f"rehashed {path}")

    monkeypatch.setattr(dedupe, "sha256_of", no_hashing)
    assert find_duplicates(cache_with_twins) == {"step2000": "step1000"}


def test_blob_names_plain_files_and_hub_metadata_agree(cache_with_twins, tiny_models, local_hub):
    first = cache_with_twins[0]
    folder = tiny_models["a"][0]
    real_sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert local_weight_hashes(first.local_path) == {"model.safetensors": real_sha}
    local_folder = Checkpoint("local", str(folder), "step1000", 1000, None, local_path=folder)  # plain files
    assert weights_fingerprint(local_folder) == weights_fingerprint(first)

    # Online and unresolved: the Hub's LFS sha256 gives the same fingerprint, without a download.
    siblings = [{"rfilename": "config.json", "size": 10, "blobId": "0" * 40},
                {"rfilename": "model.safetensors", "size": 1, "blobId": "1" * 40,
                 "lfs": {"size": 1, "sha256": real_sha, "pointerSize": 134}}]
    local_hub.routes[f"/api/models/{REPO}/revision/{first.commit_sha}"] = (
        200, {}, {"id": REPO, "sha": first.commit_sha, "siblings": siblings})
    unresolved = _ckpt("step1000", commit_sha=first.commit_sha)
    assert weights_fingerprint(unresolved) == weights_fingerprint(first)
    assert local_hub.hits == [f"/api/models/{REPO}/revision/{first.commit_sha}"]


def test_fingerprint_needs_weights_and_a_way_to_see_them(hf_cache, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    with pytest.raises(RevisionUnavailable, match="no weight files"):
        weights_fingerprint(Checkpoint("x", "x", "step0", 0, None, local_path=empty))
    with pytest.raises(RevisionUnavailable, match="HF_HUB_OFFLINE"):
        weights_fingerprint(_ckpt("step1000"))


def test_tracker_marks_incrementally_with_any_fingerprint():
    tracker = DuplicateWeights(fingerprint=lambda c: c.revision.split("-")[0])
    a, b, c = (_ckpt(r) for r in ("step1", "step2", "step1"))
    assert tracker.mark(a) is a and tracker.mark(b) is b
    assert tracker.mark(c).duplicate_of is a


def test_built_local_checkpoint_uses_its_index_hash_and_matches_the_files(tmp_path, monkeypatch):
    """A local build already recorded each revision's weights sha256: reuse it, same fingerprint."""
    from pipeline.checkpoints import dedupe
    from pipeline.checkpoints.suites import Checkpoint

    (tmp_path / "model.safetensors").write_bytes(b"weights")
    known = dedupe.sha256_of(tmp_path / "model.safetensors")
    from_files = dedupe.weights_fingerprint(Checkpoint("s", "r", "step1", 1, 1, known, tmp_path))

    def no_rehash(path):
        raise AssertionError(f"rehashed {path}")

    monkeypatch.setattr(dedupe, "sha256_of", no_rehash)
    from_index = dedupe.weights_fingerprint(Checkpoint("s", "r", "step1", 1, 1, known, tmp_path,
                                                       weight_hashes=(("model.safetensors", known),)))
    assert from_index == from_files
