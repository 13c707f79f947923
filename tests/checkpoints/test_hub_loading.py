"""Resolve and load Hub revisions from a real HF cache layout, offline, through the pipeline's own path."""

from __future__ import annotations

import shutil

import pytest
import torch

from pipeline.checkpoints.loading import RevisionUnavailable, cached_commit, load_backbone, resolve
from pipeline.checkpoints.suites import Checkpoint, suite_checkpoints
from pipeline.config import HubSuite
from pipeline.errors import UserError

REPO = "EleutherAI/pythia-14m"


def _pythia_14m() -> dict:
    return {"pythia-14m": HubSuite(kind="hub", repo=REPO, family="pythia")}


def _by_revision(checkpoints, revision):
    return next(c for c in checkpoints if c.revision == revision)


def test_resolve_and_load_by_repo_and_revision_offline(hf_cache, tiny_models):
    folder, model = tiny_models["a"]
    commit = hf_cache.add(REPO, "step1000", folder)

    ckpt = _by_revision(suite_checkpoints("pythia-14m", _pythia_14m(), progress=False), "step1000")
    assert ckpt.commit_sha is None and ckpt.local_path is None  # offline, no listing: not pinned yet
    assert ckpt.tokens == 1000 * 2_097_152
    resolved = resolve(ckpt)
    assert resolved.commit_sha == commit
    assert resolved.local_path.name == commit
    assert resolved.local_path.parent.parent == hf_cache.repo_dir(REPO)

    backbone, tokenizer = load_backbone(resolved)
    ids = tokenizer(["Markets rallied as technology shares rose."], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = model.gpt_neox(input_ids=ids).last_hidden_state
        got = backbone(input_ids=ids).last_hidden_state
    assert torch.equal(got, expected)


def test_pinned_commit_wins_over_a_branch_that_moved(hf_cache, tiny_models):
    old = hf_cache.add(REPO, "step1000", tiny_models["a"][0])
    new = hf_cache.add(REPO, "step1000", tiny_models["b"][0])  # the branch now points elsewhere
    assert old != new
    pinned = Checkpoint("pythia-14m", REPO, "step1000", 1000, None, commit_sha=old)
    assert resolve(pinned).commit_sha == old
    assert resolve(Checkpoint("pythia-14m", REPO, "step1000", 1000, None)).commit_sha == new


def test_missing_revision_is_a_clear_error(hf_cache, tiny_models):
    hf_cache.add(REPO, "step1000", tiny_models["a"][0])
    with pytest.raises(RevisionUnavailable) as err:
        resolve(Checkpoint("pythia-14m", REPO, "step2000", 2000, None))
    message = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in message
    assert f"{REPO}@step2000" in message and "HF_HUB_OFFLINE" in message and str(hf_cache.root) in message


def test_pinned_commit_missing_from_the_cache_is_an_error(hf_cache, tiny_models):
    hf_cache.add(REPO, "step1000", tiny_models["a"][0])
    with pytest.raises(RevisionUnavailable, match="commit 0123456789ab"):
        resolve(Checkpoint("pythia-14m", REPO, "step1000", 1000, None, commit_sha="0123456789abcdef" * 2 + "01234567"))


def test_pickle_only_snapshot_needs_the_suite_to_opt_in(hf_cache, tiny_models, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_models["a"][0], folder)
    (folder / "model.safetensors").unlink()
    torch.save(tiny_models["a"][1].state_dict(), folder / "pytorch_model.bin")
    hf_cache.add(REPO, "step3000", folder)
    ckpt = Checkpoint("pythia-14m", REPO, "step3000", 3000, None)
    with pytest.raises(RevisionUnavailable, match="allow_pickle"):
        resolve(ckpt)
    assert resolve(ckpt, allow_pickle=True).local_path is not None
    opted_in = Checkpoint("pythia-14m", REPO, "step3000", 3000, None, allow_pickle=True)
    assert resolve(opted_in).commit_sha is not None


def test_suite_flags_reach_the_checkpoint(hf_cache):
    suites = {"x": HubSuite(kind="hub", repo=REPO, family="explicit", revisions=["step5"], allow_pickle=True,
                            trust_remote_code=True, tokens_per_step=10),
              "y": HubSuite(kind="hub", repo=REPO, family="explicit", revisions=["step5"])}
    (opted_in,) = suite_checkpoints("x", suites, progress=False)
    assert opted_in.allow_pickle and opted_in.trust_remote_code and (opted_in.step, opted_in.tokens) == (5, 50)
    (default,) = suite_checkpoints("y", suites, progress=False)
    assert not default.allow_pickle and not default.trust_remote_code and default.tokens is None


def test_cached_commit_reads_refs_without_network(hf_cache, tiny_models):
    commit = hf_cache.add(REPO, "step1000", tiny_models["a"][0])
    assert cached_commit(REPO, "step1000") == commit
    assert cached_commit(REPO, commit) == commit
    assert cached_commit(REPO, "step2000") is None
    assert cached_commit("EleutherAI/pythia-70m", "step1000") is None


def test_load_backbone_refuses_an_unresolved_checkpoint():
    with pytest.raises(RevisionUnavailable, match="resolve"):
        load_backbone(Checkpoint("pythia-14m", REPO, "step1000", 1000, None))


def test_a_local_checkpoint_whose_folder_is_gone_says_so(tmp_path):
    gone = Checkpoint("local-neox", str(tmp_path / "suite"), "step8", 8, None, commit_sha="0" * 64,
                      local_path=tmp_path / "suite" / "step8")
    with pytest.raises(RevisionUnavailable, match=r"local-neox@step8: its folder .*step8 is gone .*w2s suite build local-neox"):
        resolve(gone)
