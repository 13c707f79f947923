"""The declared suites, Pythia's published revisions, and `w2s checkpoints list` offline."""

from __future__ import annotations

import json

from pipeline.checkpoints.revisions import HubListing, listing_path, parse_revision, write_listing
from pipeline.checkpoints.schedule import pythia_steps
from pipeline.checkpoints.suites import suite_checkpoints
from pipeline.cli import main
from pipeline.config import HubSuite, LocalSuite, load_suites

PYTHIA_SIZES = ["14m", "31m", "70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b"]


def test_checkpoints_yaml_declares_every_pythia_and_olmo_suite():
    suites = load_suites()
    expected = {f"pythia-{s}": f"EleutherAI/pythia-{s}" for s in PYTHIA_SIZES}
    expected |= {f"pythia-{s}-deduped": f"EleutherAI/pythia-{s}-deduped" for s in PYTHIA_SIZES[2:]}
    for name, repo in expected.items():
        assert isinstance(suites[name], HubSuite) and (suites[name].repo, suites[name].family) == (repo, "pythia")
    assert not {"pythia-14m-deduped", "pythia-31m-deduped"} & set(suites)  # never published
    olmo = {s.repo: s.family for s in suites.values() if isinstance(s, HubSuite) and s.family.startswith("olmo")}
    assert olmo == {"allenai/OLMo-1B-hf": "olmo", "allenai/OLMo-1B-0724-hf": "olmo", "allenai/OLMo-7B-hf": "olmo",
                    "allenai/OLMo-2-0425-1B": "olmo2", "allenai/OLMo-2-1124-7B": "olmo2"}
    assert all(not s.allow_pickle and not s.trust_remote_code for s in suites.values() if isinstance(s, HubSuite))


def test_pythia_revisions_follow_the_published_rule():
    steps = pythia_steps()
    assert len(steps) == 154 and steps[0] == 0 and steps[-1] == 143000
    assert steps[steps.index(512) + 1] == 1000
    assert 144000 not in steps and 1024 not in steps
    assert steps == sorted(set(steps))


def test_pythia_suite_offline_without_any_cache(hf_cache):
    checkpoints = suite_checkpoints("pythia-160m", load_suites(), progress=False)
    assert [c.revision for c in checkpoints][:3] == ["step0", "step1", "step2"]
    assert checkpoints[-1].revision == "step143000" and checkpoints[-1].tokens == 143000 * 2_097_152
    assert all(c.commit_sha is None for c in checkpoints)


def test_checkpoints_list_json_prints_154_rows_offline(hf_cache, capsys):
    assert main(["checkpoints", "list", "pythia-160m", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 154
    assert {"revision", "step", "tokens"} <= set(rows[0])
    assert (rows[0]["revision"], rows[0]["step"], rows[0]["tokens"]) == ("step0", 0, 0)
    assert rows[-1]["revision"] == "step143000" and rows[-1]["tokens"] == 299_892_736_000


def test_checkpoints_list_shows_commits_known_to_the_hf_cache(hf_cache, tiny_models, capsys):
    commit = hf_cache.add("EleutherAI/pythia-160m", "step1000", tiny_models["a"][0])
    assert main(["checkpoints", "list", "pythia-160m", "--select", "steps:512,1000", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["revision"], r["commit_sha"], r["source"]) for r in rows] == [
        ("step512", None, ""), ("step1000", commit, "hf-cache")]
    assert main(["checkpoints", "list", "pythia-160m", "--select", "steps:1000", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["revision,step,tokens,commit_sha,source",
                                                    f"step1000,1000,2097152000,{commit},hf-cache"]
    assert main(["checkpoints", "list", "pythia-160m", "--select", "steps:1000"]) == 0
    table = capsys.readouterr().out
    assert "step1000" in table and commit[:12] in table and "2.1B" in table


def test_checkpoints_list_olmo_offline_uses_the_cached_listing(hf_cache, capsys):
    repo = "allenai/OLMo-2-0425-1B"
    assert main(["checkpoints", "list", "olmo-2-1b"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("w2s: error:") and "HF_HUB_OFFLINE" in err and len(err.strip().splitlines()) == 1
    revisions = [parse_revision(n, f"{k:040x}") for k, n in enumerate(
        ["stage1-step0-tokens0B", "stage1-step1000-tokens5B", "stage2-ingredient1-step0-tokens0B"])]
    write_listing(HubListing(repo, revisions, {}, "2026-01-01"), listing_path(repo))
    assert main(["checkpoints", "list", "olmo-2-1b", "--select", "tokens:1B-", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"revision": "stage1-step1000-tokens5B", "step": 1000, "tokens": 5_000_000_000,
                     "commit_sha": f"{1:040x}", "source": "listing"}]


def test_checkpoints_list_of_an_unbuilt_local_suite_shows_its_plan_without_building(isolated_cache, capsys):
    suite = load_suites()["local-neox-quick"]
    assert isinstance(suite, LocalSuite)
    assert main(["checkpoints", "list", "local-neox-quick", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["revision"] == "step0" and rows[-1]["step"] == suite.train.steps
    assert all(r["source"] == "planned" and r["commit_sha"] is None for r in rows)
    assert rows[1]["tokens"] == suite.train.batch_size * suite.model.seq_len
    assert not (isolated_cache / "suites").exists()


def test_checkpoints_list_bad_selection_and_unknown_suite(hf_cache, capsys):
    assert main(["checkpoints", "list", "pythia-160m", "--select", "steps:1500"]) == 2
    assert "nearest: step512, step1000, step2000" in capsys.readouterr().err
    assert main(["checkpoints", "list", "pythia-16m"]) == 2
    assert "unknown suite 'pythia-16m'" in capsys.readouterr().err


def test_checkpoints_list_flags_rule_revisions_the_hub_does_not_have(hf_cache, capsys):
    repo = "EleutherAI/pythia-160m"
    revisions = [parse_revision(n, f"{k + 1:040x}") for k, n in enumerate(["step0", "step1", "step143000"])]
    write_listing(HubListing(repo, revisions, {"main": f"{3:040x}"}, "2026-01-01"), listing_path(repo))
    assert main(["checkpoints", "list", "pythia-160m", "--select", "steps:0,2,143000", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["revision"], r["commit_sha"], r["source"]) for r in rows] == [
        ("step0", f"{1:040x}", "listing"), ("step2", None, "not on Hub"), ("step143000", f"{3:040x}", "listing")]
