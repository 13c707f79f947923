"""The analysis on a real micro run: bootstrap columns from the stored predictions, then the commands."""

import json

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.metrics.uncertainty import auroc, paired_bootstrap_pgr
from pipeline.report.table import BOOTSTRAP_RESAMPLES, COLUMNS
from pipeline.store import Store

SUITES = """
suites:
  report-micro:
    kind: local
    model: {layers: 1, hidden: 32, heads: 2, vocab_size: 512, seq_len: 64}
    corpus: {max_chars: 60000}
    train: {steps: 4, batch_size: 4, lr: 3.0e-3, log_spaced_until: 2, evenly_spaced: 1}
    weak: report-micro-weak
  report-micro-weak:
    kind: local
    model: {layers: 1, hidden: 8, heads: 2, vocab_size: 512, seq_len: 64}
    corpus: {max_chars: 60000}
    train: {steps: 2, batch_size: 4, lr: 3.0e-3, evenly_spaced: 1}
"""
EXPERIMENTS = """
experiments:
  default:
    suite: report-micro
    tasks: [bbc_business_vs_tech]
    seeds: [0, 1]
    max_tokens: 32
    max_examples_per_task: 120
    head: {max_iter: 50}
"""


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory, micro_config):
    run_dir = tmp_path_factory.mktemp("report-run")
    assert main(["run", "--run-dir", str(run_dir), *micro_config(EXPERIMENTS, SUITES)]) == 0
    return run_dir


def test_bootstrap_and_auroc_columns_hold_the_point_estimate(micro_run):
    table = pd.read_csv(micro_run / "pgr_vs_step.csv", keep_default_na=False, na_values={"pgr": [""]})
    assert list(table.columns) == COLUMNS and (table.status == "done").all()
    assert len(table) == 4 * 2  # steps 0, 1, 2, 4 x seeds
    for column in ("pgr_ci_low", "pgr_ci_high", "auroc_weak", "auroc_ceiling", "auroc_w2s"):
        assert table[column].notna().all(), column
    assert table[["auroc_weak", "auroc_ceiling", "auroc_w2s"]].stack().between(0, 1).all()
    assert (table.pgr_ci_low <= table.pgr_ci_high).all()
    defined = table[table.pgr_flag == ""]
    assert ((defined.pgr_ci_low <= defined.pgr) & (defined.pgr <= defined.pgr_ci_high)).all()
    assert (table.n_test > 0).all() and table.weak_step.eq(2).all()


def test_bootstrap_is_recomputable_from_the_stored_predictions(micro_run):
    from pipeline.config import load_tasks
    from pipeline.tasks.registry import load_task

    store = Store(micro_run)
    table = pd.read_csv(micro_run / "pgr_vs_step.csv")
    row = table[table.step == table.step.max()].iloc[-1]
    labels = load_task(load_tasks()["bbc_business_vs_tech"]).labels
    weak = next(r for r in store.records("weak") if r["seed"] == row.seed)
    weak_arrays = store.read_arrays("weak", weak["key"])
    heads = {h["role"]: h for h in store.records("head") if h["seed"] == row.seed and h["step"] == row.step}
    ceiling = store.read_arrays("head", heads["ceiling"]["key"])["test_proba"]
    w2s = store.read_arrays("head", heads["w2s"]["key"])["test_proba"]
    y = labels[weak_arrays["test_index"]]
    boot = paired_bootstrap_pgr(y, weak_arrays["test_proba"], ceiling, w2s, n_boot=BOOTSTRAP_RESAMPLES,
                                seed=int(row.seed))
    assert boot.point == pytest.approx(row.pgr, nan_ok=True)
    assert (boot.ci_low, boot.ci_high) == pytest.approx((row.pgr_ci_low, row.pgr_ci_high))
    assert auroc(y, w2s) == pytest.approx(row.auroc_w2s)


def test_export_and_report_on_the_real_run(micro_run):
    assert main(["export", str(micro_run), "--format", "json"]) == 0
    data = json.loads((micro_run / "export" / "pgr.json").read_text())
    assert len(data["units"]) == 8 and len(data["summary"]) == 1
    fit = data["summary"][0]
    assert fit["transition_supported"] is False or fit["transition_step"] is not None
    assert main(["report", str(micro_run)]) == 0
    md = (micro_run / "report.md").read_text()
    manifest = Store(micro_run).read_manifest()
    assert (manifest["git_commit"] or "unknown") in md and manifest["versions"]["torch"] in md
    assert manifest["tasks"]["bbc_business_vs_tech"]["examples_sha256"] in md
    assert all(c["commit_sha"] in md for c in manifest["checkpoints"])
