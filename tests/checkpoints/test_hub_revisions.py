"""Branch names parsed and ordered; listings fetched from a local Hub API, cached and pinned."""

from __future__ import annotations

import json

import pytest

from pipeline.checkpoints.revisions import (
    HubUnreachable,
    ParsedRevision,
    list_hub_revisions,
    listing_path,
    parse_revision,
    parse_token_count,
)
from pipeline.checkpoints.suites import suite_checkpoints
from pipeline.config import HubSuite
from pipeline.errors import UserError

OLMO2 = "allenai/OLMo-2-0425-1B"


@pytest.mark.parametrize("name, expected", [
    ("step1000-tokens4B", (None, None, 1000, 4_000_000_000)),
    ("step0-tokens0B", (None, None, 0, 0)),
    ("step20-tokens84M", (None, None, 20, 84_000_000)),
    ("step3-tokens12582912", (None, None, 3, 12_582_912)),
    ("step7-tokens1.5T", (None, None, 7, 1_500_000_000_000)),
    ("stage1-step1000-tokens3B", (1, None, 1000, 3_000_000_000)),
    ("stage2-ingredient3-step11931-tokens50B", (2, 3, 11931, 50_000_000_000)),
    ("step143000", (None, None, 143000, None)),
    ("main", (None, None, None, None)),
    ("step1000-tokens4B-old", (None, None, None, None)),
    ("stage1-main", (None, None, None, None)),
])
def test_parse_revision(name, expected):
    parsed = parse_revision(name)
    assert parsed.name == name
    assert (parsed.stage, parsed.ingredient, parsed.step, parsed.tokens) == expected


def test_parse_token_count_rejects_garbage():
    assert parse_token_count("500M") == 500_000_000
    with pytest.raises(ValueError):
        parse_token_count("4 billion")


def _branch(name: str, k: int) -> dict:
    return {"name": name, "ref": f"refs/heads/{name}", "targetCommit": f"{k:040x}"}


# Shuffled on purpose: the Hub returns branches in no training order.
OLMO2_BRANCHES = ["stage2-ingredient1-step1000-tokens5B", "stage1-step1000-tokens3B", "main",
                  "stage1-step0-tokens0B", "stage2-ingredient2-step0-tokens0B", "stage1-step20000-tokens42B",
                  "stage2-ingredient1-step0-tokens0B", "stage2-ingredient2-step2000-tokens9B", "not-a-checkpoint"]
OLMO2_ORDER = ["stage1-step0-tokens0B", "stage1-step1000-tokens3B", "stage1-step20000-tokens42B",
               "stage2-ingredient1-step0-tokens0B", "stage2-ingredient1-step1000-tokens5B",
               "stage2-ingredient2-step0-tokens0B", "stage2-ingredient2-step2000-tokens9B"]


def _serve_refs(hub, repo: str, names: list[str]) -> dict[str, str]:
    branches = [_branch(n, k + 1) for k, n in enumerate(names)]
    hub.routes[f"/api/models/{repo}/refs"] = (200, {}, {"branches": branches, "converts": [], "tags": []})
    return {b["name"]: b["targetCommit"] for b in branches}


def test_listing_from_a_local_hub_is_ordered_parsed_and_pinned(local_hub):
    commits = _serve_refs(local_hub, OLMO2, OLMO2_BRANCHES)
    revisions = list_hub_revisions(OLMO2)
    assert [r.name for r in revisions] == OLMO2_ORDER
    assert [r.tokens for r in revisions] == [0, 3 * 10**9, 42 * 10**9, 0, 5 * 10**9, 0, 9 * 10**9]
    assert [(r.stage, r.ingredient, r.step) for r in revisions][3:5] == [(2, 1, 0), (2, 1, 1000)]
    assert all(r.commit == commits[r.name] for r in revisions)
    assert local_hub.hits == [f"/api/models/{OLMO2}/refs"]
    cached = json.loads(listing_path(OLMO2).read_text())
    assert cached["repo"] == OLMO2 and cached["other_branches"]["main"] == commits["main"]
    assert [r["name"] for r in cached["revisions"]] == OLMO2_ORDER


def test_a_cached_listing_is_not_fetched_again(local_hub, tmp_path):
    _serve_refs(local_hub, OLMO2, OLMO2_BRANCHES)
    run_dir = tmp_path / "run"
    first = list_hub_revisions(OLMO2, run_dir=run_dir)
    assert (run_dir / "hub-listings" / "allenai--OLMo-2-0425-1B.json").exists()
    # The branches move on the Hub; the run stays pinned to what it saw.
    _serve_refs(local_hub, OLMO2, OLMO2_BRANCHES[::-1] + ["stage1-step30000-tokens63B"])
    assert list_hub_revisions(OLMO2, run_dir=run_dir) == first
    assert len(local_hub.hits) == 1
    refreshed = list_hub_revisions(OLMO2, run_dir=run_dir, refresh=True)
    assert "stage1-step30000-tokens63B" in [r.name for r in refreshed] and len(local_hub.hits) == 2


def test_offline_run_falls_back_to_the_project_listing_and_pins_it(local_hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    _serve_refs(local_hub, OLMO2, OLMO2_BRANCHES)
    list_hub_revisions(OLMO2)  # e.g. `w2s checkpoints list` earlier, online
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    run_dir = tmp_path / "run"
    assert [r.name for r in list_hub_revisions(OLMO2, run_dir=run_dir)] == OLMO2_ORDER
    assert listing_path(OLMO2, run_dir).exists()
    assert len(local_hub.hits) == 1
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE"):
        list_hub_revisions("allenai/OLMo-7B-hf", run_dir=run_dir)


def test_unknown_repo_is_a_user_error(local_hub):
    with pytest.raises(UserError, match="no such model repo"):
        list_hub_revisions("allenai/OLMo-404")


def test_olmo_suite_checkpoints_come_from_the_listing(local_hub):
    names = ["step0-tokens0B", "step2000-tokens8B", "step1000-tokens4B", "main"]
    commits = _serve_refs(local_hub, "allenai/OLMo-1B-hf", names)
    suites = {"olmo-1b": HubSuite(kind="hub", repo="allenai/OLMo-1B-hf", family="olmo")}
    checkpoints = suite_checkpoints("olmo-1b", suites, progress=False)
    assert [(c.revision, c.step, c.tokens) for c in checkpoints] == [
        ("step0-tokens0B", 0, 0), ("step1000-tokens4B", 1000, 4 * 10**9), ("step2000-tokens8B", 2000, 8 * 10**9)]
    assert [c.commit_sha for c in checkpoints] == [commits[c.revision] for c in checkpoints]


def test_pythia_revisions_are_pinned_by_the_listing_when_the_hub_answers(local_hub):
    commits = _serve_refs(local_hub, "EleutherAI/pythia-70m", ["main", "step0", "step1", "step143000"])
    suites = {"p": HubSuite(kind="hub", repo="EleutherAI/pythia-70m", family="pythia")}
    checkpoints = suite_checkpoints("p", suites, progress=False)
    assert len(checkpoints) == 154
    by_name = {c.revision: c.commit_sha for c in checkpoints}
    assert by_name["step0"] == commits["step0"] and by_name["step143000"] == commits["step143000"]
    assert by_name["step1000"] is None  # not a branch on this Hub: left for resolve() to fail clearly


def test_parsed_revision_is_a_value():
    assert parse_revision("step5", "ab" * 20) == ParsedRevision("step5", None, None, 5, None, "ab" * 20)
