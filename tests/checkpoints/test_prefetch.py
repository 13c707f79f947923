"""The next checkpoint is fetched while the current one computes, and a finished one is not read again."""

import shutil
import threading
import time

import pytest

from pipeline.checkpoints import prefetch as prefetch_module
from pipeline.checkpoints.loading import RevisionUnavailable, load_backbone, load_tokenizer, resolve
from pipeline.checkpoints.prefetch import Prefetcher
from pipeline.checkpoints.suites import Checkpoint
from pipeline.strong.features import tokenize

REPO = "EleutherAI/pythia-14m"


def _ckpt(revision, step=1):
    return Checkpoint("pythia-14m", REPO, revision, step, None)


def test_fetch_runs_in_the_background_and_overlaps_the_caller(monkeypatch):
    seen = []

    def slow_resolve(ckpt):
        seen.append(threading.current_thread().name)
        time.sleep(0.4)
        raise RevisionUnavailable(f"{ckpt.label}: gone")

    monkeypatch.setattr(prefetch_module, "resolve", slow_resolve)
    prefetcher = Prefetcher()
    started = time.perf_counter()
    prefetcher.ahead(_ckpt("step1"))
    time.sleep(0.4)  # the caller's own work on the checkpoint before
    with pytest.raises(RevisionUnavailable, match="gone"):  # the fetch's error reaches the taker
        prefetcher.take(_ckpt("step1"))
    assert time.perf_counter() - started < 0.75
    assert seen == ["w2s-prefetch-step1"]
    prefetcher.close()


def test_weights_are_read_ahead_only_when_work_is_left(hf_cache, tiny_models, monkeypatch):
    hf_cache.add(REPO, "step1", tiny_models["a"][0])
    hf_cache.add(REPO, "step2", tiny_models["b"][0])
    read = []
    real = prefetch_module.weight_files
    monkeypatch.setattr(prefetch_module, "weight_files", lambda folder, pickle: read.append(folder) or real(folder, pickle))
    prefetcher = Prefetcher(needs_work=lambda c: c.revision == "step2")
    prefetcher.ahead(_ckpt("step1"))
    prefetcher.ahead(_ckpt("step2"))
    done, todo = prefetcher.take(_ckpt("step1")), prefetcher.take(_ckpt("step2"))
    assert done.commit_sha and todo.commit_sha and done.commit_sha != todo.commit_sha
    assert read == [todo.local_path]
    assert prefetcher.take(_ckpt("step1")) == done  # not prefetched any more: resolved on the spot
    prefetcher.close()


def test_revisions_with_identical_tokenizer_files_share_one_tokenizer_and_its_ids(hf_cache, tiny_models, tmp_path):
    hf_cache.add(REPO, "step1", tiny_models["a"][0])
    hf_cache.add(REPO, "step2", tiny_models["b"][0])  # other weights, the same tokenizer files
    a, b = resolve(_ckpt("step1")), resolve(_ckpt("step2"))
    tokenizer = load_tokenizer(a)
    assert load_backbone(b)[1] is tokenizer
    texts = ["Markets rallied as technology shares rose.", "A new phone was unveiled."]
    ids = tokenize(tokenizer, texts, 8)
    assert tokenize(tokenizer, list(texts), 8) is ids  # computed once
    assert tokenize(tokenizer, texts, 3) == [t[:3] for t in ids]
    assert tokenize(tokenizer, texts[:1], 8) == ids[:1]

    # a changed tokenizer file is a different tokenizer
    other = tmp_path / "other"
    shutil.copytree(tiny_models["a"][0], other)
    config = (other / "tokenizer_config.json").read_text()
    (other / "tokenizer_config.json").write_text(config.replace("{", '{"model_max_length": 77, ', 1))
    hf_cache.add(REPO, "step3", other)
    assert load_tokenizer(resolve(_ckpt("step3"))) is not tokenizer


def test_a_download_in_flight_does_not_hold_up_exit():
    """Ctrl-C during a long download: the process ends now, not when the download does."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from pipeline.checkpoints import prefetch\n"
        "from pipeline.checkpoints.suites import Checkpoint\n"
        "prefetch.resolve = lambda c: time.sleep(60)\n"
        "p = prefetch.Prefetcher()\n"
        "p.ahead(Checkpoint('s', 'r', 'step1', 1, None))\n"
        "time.sleep(0.2)\n"
        "p.close()\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, timeout=50)
    assert time.perf_counter() - started < 20
