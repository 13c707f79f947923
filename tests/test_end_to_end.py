"""The main job end to end on a micro suite built in the test from the real corpus and tasks."""

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.report.table import COLUMNS
from pipeline.store import Store

EXPERIMENTS = """
experiments:
  default:
    suite: micro
    tasks: [bbc_business_vs_tech]
    seeds: [0, 1]
    max_tokens: 64
    max_examples_per_task: 160
"""


@pytest.fixture(scope="module")
def config(micro_config):
    return micro_config(EXPERIMENTS)


@pytest.fixture(scope="module")
def first_run(config, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    assert main(["run", "--run-dir", str(run_dir), *config]) == 0
    return run_dir


def test_table_shape_and_values(first_run):
    table = pd.read_csv(first_run / "pgr_vs_step.csv")
    assert list(table.columns) == COLUMNS
    # revisions 0,1,2,4,8,10,12 x 1 task x 2 seeds x 1 loss
    assert sorted(table.step.unique()) == [0, 1, 2, 4, 8, 10, 12]
    assert len(table) == 7 * 2
    assert (table.status == "done").all()
    assert table.revision.tolist()[:2] == ["step0", "step0"]
    assert table.tokens.max() == 12 * 4 * 64
    for col in ("acc_weak", "acc_ceiling", "acc_w2s"):
        assert table[col].between(0, 1).all()
    expected = (table.acc_w2s - table.acc_weak) / (table.acc_ceiling - table.acc_weak)
    defined = table.acc_ceiling != table.acc_weak
    assert np.allclose(table.pgr[defined], expected[defined])
    # the weak supervisor is one per seed, shared by every checkpoint
    assert table.groupby("seed").acc_weak.nunique().eq(1).all()
    assert (first_run / "pgr_vs_step.md").read_text().startswith("# PGR versus step")
    assert (first_run / "pgr_vs_step.png").stat().st_size > 10_000
    manifest = Store(first_run).read_manifest()
    assert manifest["tasks"]["bbc_business_vs_tech"]["examples_sha256"]
    assert len(manifest["checkpoints"]) == 7 and all(c["commit_sha"] for c in manifest["checkpoints"])
    assert set(manifest["versions"]) >= {"torch", "transformers"}


def test_accuracies_match_stored_predictions(first_run):
    """The table's numbers are recomputable from the per-example predictions in the store."""
    store = Store(first_run)
    heads = store.records("head")
    weak = {r["seed"]: r for r in store.records("weak")}
    assert len(heads) == 7 * 2 * 2 and len(weak) == 2
    from pipeline.config import load_tasks
    from pipeline.tasks.registry import load_task

    labels = load_task(load_tasks()["bbc_business_vs_tech"]).labels
    for seed, record in weak.items():
        arrays = store.read_arrays("weak", record["key"])
        y = labels[arrays["test_index"]]
        assert record["acc_weak"] == pytest.approx(np.mean((arrays["test_proba"] > 0.5) == y))
        for h in (h for h in heads if h["seed"] == seed):
            proba = store.read_arrays("head", h["key"])["test_proba"]
            assert h["accuracy"] == pytest.approx(np.mean((proba > 0.5) == y))


def test_second_run_recomputes_nothing(first_run, config, capsys):
    before = pd.read_csv(first_run / "pgr_vs_step.csv")
    assert main(["run", "--run-dir", str(first_run), *config]) == 0
    out = capsys.readouterr().out
    assert "0 units computed" in out and "everything is done" in out
    pd.testing.assert_frame_equal(before, pd.read_csv(first_run / "pgr_vs_step.csv"))


def test_interrupted_run_resumes_to_the_same_table(first_run, config, tmp_path, monkeypatch):
    writes = {"n": 0}
    original = Store.write_unit

    def dying_write(self, *args, **kwargs):
        writes["n"] += 1
        if writes["n"] == 9:
            raise KeyboardInterrupt  # as if killed between two units
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_unit", dying_write)
    assert main(["run", "--run-dir", str(tmp_path), *config]) == 130
    assert len(list((tmp_path / "units").rglob("*.json"))) == 8
    monkeypatch.setattr(Store, "write_unit", original)
    assert main(["run", "--run-dir", str(tmp_path), *config]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(first_run / "pgr_vs_step.csv"),
                                  pd.read_csv(tmp_path / "pgr_vs_step.csv"))
