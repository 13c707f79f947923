"""What repeats per checkpoint is only the model's own work: each task is tokenized once per
tokenizer, and the next checkpoint is fetched while the current one computes."""

import threading
import time

import pytest
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from pipeline.checkpoints import loading, prefetch
from pipeline.checkpoints.loading import tokenizer_fingerprint
from pipeline.checkpoints.suites import suite_checkpoints
from pipeline.cli import main
from pipeline.config import load_suites
from pipeline.runner import Runner

EXPERIMENTS = """
experiments:
  default:
    suite: micro
    tasks: [bbc_business_vs_tech, bbc_politics_vs_entertainment]
    seeds: [0]
    max_tokens: 64
    max_examples_per_task: 120
"""


@pytest.fixture
def traced_run(micro_config, tmp_path, monkeypatch):
    """One run with its tokenizer calls, background fetches and per-checkpoint work recorded."""
    config = micro_config(EXPERIMENTS)
    suites = load_suites(config[config.index("--checkpoints") + 1])
    for name in ("micro", "micro-weak"):  # built (or found) before anything is counted
        suite_checkpoints(name, suites, False)
    monkeypatch.setattr(loading, "_TOKENIZERS", {})  # fresh tokenizers: no ids cached by earlier tests
    calls, fetches, work = [], [], []
    real_call, real_fetch, real_units = PreTrainedTokenizerBase.__call__, prefetch.fetch, Runner._strong_units

    def counting_call(self, texts, *args, **kwargs):
        calls.append(len(texts))
        return real_call(self, texts, *args, **kwargs)

    def traced_fetch(ckpt, needs_work=None):
        fetches.append((ckpt.revision, time.perf_counter(), threading.current_thread().name))
        return real_fetch(ckpt, needs_work)

    def traced_units(self, ckpt, *args):
        started = time.perf_counter()
        real_units(self, ckpt, *args)
        work.append((ckpt.revision, started, time.perf_counter()))

    monkeypatch.setattr(PreTrainedTokenizerBase, "__call__", counting_call)
    monkeypatch.setattr(prefetch, "fetch", traced_fetch)
    monkeypatch.setattr(Runner, "_strong_units", traced_units)
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), *config]) == 0
    return config, run_dir, calls, fetches, work, suites


def test_each_task_is_tokenized_once_per_distinct_tokenizer(traced_run):
    _, _, calls, _, work, suites = traced_run
    folders = [c.local_path for name in ("micro", "micro-weak") for c in suite_checkpoints(name, suites, False)]
    distinct = {tokenizer_fingerprint(f) for f in folders}
    assert len(work) == 7
    assert len(calls) == 2 * len(distinct)  # 2 tasks; per checkpoint it was 2 x 8 calls
    assert set(calls) == {120}


def test_the_next_checkpoint_is_fetched_while_the_current_one_computes(traced_run):
    _, _, _, fetches, work, _ = traced_run
    assert all(thread.startswith("w2s-prefetch") for _, _, thread in fetches)
    fetched_at = {revision: at for revision, at, _ in fetches}
    order = [revision for revision, _, _ in work]
    assert set(order[1:]) <= set(fetched_at)  # every checkpoint after the first came from the prefetcher
    for (revision, _, ended), following in zip(work, order[1:]):
        assert fetched_at[following] < ended, f"{following} was fetched only after {revision} finished"


def test_a_finished_run_reads_no_weights_again(traced_run, monkeypatch):
    config, run_dir, *_ = traced_run
    read = []
    real = prefetch.weight_files
    monkeypatch.setattr(prefetch, "weight_files", lambda folder, pickle: read.append(folder) or real(folder, pickle))
    assert main(["run", "--run-dir", str(run_dir), *config]) == 0
    assert read == []
