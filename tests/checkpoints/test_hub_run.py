"""Done-when of the Hub suites: a run over revisions served from an offline HF cache gives the same
table as the very same checkpoints loaded as local folders; a twin branch reuses its first
occurrence's results, and a revision missing from the cache fails alone, with its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Experiment, HubSuite, LocalSuite, load_tasks
from pipeline.runner import FEATURES, Runner
from pipeline.store import Store

REPO = "local/tiny-neox"
LOCAL = LocalSuite.model_validate({
    "kind": "local", "model": {"layers": 1, "hidden": 16, "heads": 2, "vocab_size": 300, "seq_len": 32},
    "corpus": {"max_chars": 40000},
    "train": {"steps": 2, "batch_size": 4, "lr": 3.0e-3, "log_spaced_until": 2, "evenly_spaced": 1}})
BUILT = ["step0", "step1", "step2"]
# step3: a re-upload of step2's weights under another commit; step4: never downloaded.
HUB = HubSuite(kind="hub", repo=REPO, family="explicit", revisions=[*BUILT, "step3", "step4"],
               tokens_per_step=4 * 32)
COMPARED = ["revision", "step", "tokens", "task", "seed", "acc_weak", "acc_ceiling", "acc_w2s", "pgr", "pgr_flag",
            "status"]


def _experiment(suite: str) -> Experiment:
    return Experiment.model_validate({"suite": suite, "weak": f"{suite}:step1", "tasks": ["bbc_business_vs_tech"],
                                      "seeds": [0], "max_tokens": 32, "max_examples_per_task": 80,
                                      "batch_size": 32})


def test_hub_run_matches_local_folder_run(hf_cache, tmp_path):
    suites = {"tiny-local": LOCAL, "tiny-hub": HUB}
    tasks = load_tasks()
    local = Runner("local", _experiment("tiny-local"), suites, tasks, tmp_path / "run-local", progress=False).run()

    commits = {}
    for ckpt_dir in sorted(p for p in local.weak.local_path.parent.iterdir() if p.name in BUILT):
        commits[ckpt_dir.name] = hf_cache.add(REPO, ckpt_dir.name, ckpt_dir)
    twin = tmp_path / "step3"
    twin.mkdir()
    for f in (local.weak.local_path.parent / "step2").iterdir():
        (twin / f.name).write_bytes(f.read_bytes())
    (twin / "README.md").write_text("re-uploaded step2\n")
    commits["step3"] = hf_cache.add(REPO, "step3", twin)

    hub_dir = tmp_path / "run-hub"
    hub = Runner("hub", _experiment("tiny-hub"), suites, tasks, hub_dir, progress=False).run()

    local_table = local.table[COMPARED].reset_index(drop=True)
    hub_table = hub.table
    same = hub_table[hub_table.revision.isin(BUILT)][COMPARED].reset_index(drop=True)
    assert len(local_table) == len(BUILT) and (local_table.status == "done").all()
    pd.testing.assert_frame_equal(same, local_table)
    # Stronger than equal accuracies: the features themselves are bit-identical.
    local_store, hub_store = Store(tmp_path / "run-local"), Store(hub_dir)
    local_features = {r["checkpoint"]["revision"]: r["key"] for r in local_store.records(FEATURES)}
    hub_features = {r["checkpoint"]["revision"]: r["key"] for r in hub_store.records(FEATURES)}
    assert set(local_features) == set(hub_features) == set(BUILT)
    for revision in BUILT:
        expected = local_store.read_arrays(FEATURES, local_features[revision])["features"]
        assert np.array_equal(hub_store.read_arrays(FEATURES, hub_features[revision])["features"], expected)
    assert hub.weak.commit_sha == commits["step1"]
    done = hub_table[hub_table.status == "done"]
    assert dict(zip(done.revision, done.commit_sha)) == commits

    # The twin: flagged, same numbers as step2, and no features computed for it.
    twin_rows = hub_table[hub_table.revision == "step3"].reset_index(drop=True)
    first_rows = hub_table[hub_table.revision == "step2"].reset_index(drop=True)
    assert len(twin_rows) == 1 and (twin_rows.duplicate_of == "step2").all()
    assert (hub_table[hub_table.revision != "step3"].duplicate_of == "").all()
    numbers = ["acc_weak", "acc_ceiling", "acc_w2s", "pgr", "status"]
    pd.testing.assert_frame_equal(twin_rows[numbers], first_rows[numbers])
    store = hub_store
    assert len(store.records(FEATURES)) == len(BUILT)  # step1 shared with the weak model, step3 with step2

    # The missing revision: a failed row with a clear reason; everything else went on.
    failed = hub_table[hub_table.status == "failed"]
    assert set(failed.revision) == {"step4"} and hub.stats.failed == 1
    reason = failed.error.iloc[0]
    assert "RevisionUnavailable" in reason and f"{REPO}@step4" in reason and "HF_HUB_OFFLINE" in reason
    (failure,) = store.failures()
    assert failure["revision"] == "step4" and failure["error"] == reason

    # the manifest records the commits the revisions resolved to (none was pinned up front, offline)
    pinned = {c["revision"]: c["commit_sha"] for c in hub_store.read_manifest()["checkpoints"]}
    assert pinned == {**commits, "step4": None}

    # `w2s status` counts the twin with its original (done), not as pending
    from pipeline.scale.status import read_status

    states = {c.revision: set(c.by_task.values()) for c in read_status(hub_dir).checkpoints}
    assert states == {"step0": {"done"}, "step1": {"done"}, "step2": {"done"}, "step3": {"done"},
                      "step4": {"failed"}}


def test_a_corrupt_weak_checkpoint_stops_the_run_with_one_line(hf_cache, tmp_path):
    """Every checkpoint needs the weak supervisor: its failure is one error naming it, not a traceback."""
    import pytest

    from pipeline.checkpoints.suites import suite_checkpoints
    from pipeline.errors import UserError

    suites = {"tiny-local": LOCAL, "tiny-hub": HUB}
    built = {c.revision: c.local_path for c in suite_checkpoints("tiny-local", suites, progress=False)}
    for revision in ("step1", "step2"):
        folder = tmp_path / revision
        folder.mkdir()
        for f in built[revision].iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        if revision == "step1":  # the weak supervisor's weights, cut short by a failed download
            weights = folder / "model.safetensors"
            weights.write_bytes(weights.read_bytes()[:1000])
        hf_cache.add(REPO, revision, folder)
    run_dir = tmp_path / "run"
    with pytest.raises(UserError) as err:
        Runner("hub", _experiment("tiny-hub"), suites, load_tasks(), run_dir, progress=False).run()
    message = str(err.value)
    assert "\n" not in message and message.startswith("weak supervisor tiny-hub@step1 (")
    failure = Store(run_dir).failures("weak")
    assert len(failure) == 1 and failure[0]["revision"] == "step1" and "Traceback" in failure[0]["traceback"]
