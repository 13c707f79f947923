"""Several workers on one store: each unit computed exactly once, dead or hung owners taken over,
failures retried across runs up to the limit, and `w2s status` telling it all from the run dir."""

from __future__ import annotations

import json
import signal
import time

import pandas as pd
import pytest
from scale_helpers import UNITS_PER_RUN, computed_units, fork_cli, read_table, start_cli

from pipeline.cli import main
from pipeline.store import Store


def _leftover_claims(run_dir):
    return sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / "claims").rglob("*")
                  if p.is_file())


@pytest.mark.parametrize("n_workers", [2, 4])
def test_workers_started_together_compute_each_unit_once(n_workers, config_args, reference, worker_env, tmp_path):
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args]
    procs = [start_cli(args, worker_env, tmp_path / f"w{i}.log") for i in range(n_workers)]
    codes = [p.wait(300) for p in procs]
    logs = [(tmp_path / f"w{i}.log").read_text() for i in range(n_workers)]
    assert codes == [0] * n_workers, logs
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    units = computed_units(run_dir)
    keys = [(kind, key) for kind, key, _ in units]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN, "a unit computed twice, or lost"
    store = Store(run_dir)
    for kind, key, worker in units:  # the record names the worker whose log has it
        assert store.read_record(kind, key)["worker"] == worker
    assert len({w for _, _, w in units}) >= 1
    assert sum("the last to finish writes the table" not in log for log in logs) >= 1
    assert _leftover_claims(run_dir) == []


def test_a_killed_claim_holder_is_taken_over_at_once(config_args, reference, tmp_path):
    """SIGKILL inside the first checkpoint (its 8th write): the claim stays behind, its pid is gone."""
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args]
    dying = fork_cli(args, tmp_path / "dying.log", W2S_TEST_KILL_AFTER_WRITES=8)
    dying.join(300)
    assert dying.exitcode == -signal.SIGKILL
    left = [json.loads(p.read_text()) for p in (run_dir / "claims" / "checkpoint").glob("*.lock")]
    assert [c["revision"] for c in left] == ["step0"] and left[0]["pid"] == dying.pid
    started = time.time()
    taker = fork_cli(args, tmp_path / "taker.log")  # default timeout: 180 s; must not wait for it
    taker.join(300)
    log = (tmp_path / "taker.log").read_text()
    assert taker.exitcode == 0, log
    assert time.time() - started < 90 and "takes over checkpoint claim" in log and "owner dead" in log
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    keys = [(kind, key) for kind, key, _ in computed_units(run_dir)]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN


def test_a_hung_claim_holder_is_taken_over_after_the_timeout(config_args, reference, worker_env, tmp_path):
    """SIGSTOP: the pid lives, the heartbeat stops. Another worker waits out W2S_CLAIM_TIMEOUT, then takes over.

    The timeout is about as long as a worker takes to start, so the taker usually finds the claim
    still fresh, does the other checkpoints, and takes this one only once its heartbeat is old."""
    timeout = 10.0
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args]
    hung = start_cli(args, worker_env, tmp_path / "hung.log", W2S_CLAIM_TIMEOUT=timeout)
    claims = run_dir / "claims" / "checkpoint"
    try:
        deadline = time.time() + 120
        while not list(claims.glob("*.lock")) and time.time() < deadline and hung.poll() is None:
            time.sleep(0.02)
        hung.send_signal(signal.SIGSTOP)
        held = [json.loads(p.read_text()) for p in claims.glob("*.lock")]
        assert len(held) == 1 and held[0]["pid"] == hung.pid, held
        stopped_at = time.time()

        status = _status(run_dir)  # the hung worker is listed as running, with its owner
        assert held[0]["owner"] in status and "running:" in status

        taker = start_cli(args, worker_env, tmp_path / "taker.log", W2S_CLAIM_TIMEOUT=timeout)
        assert taker.wait(300) == 0, (tmp_path / "taker.log").read_text()
    finally:
        hung.kill()
        hung.wait(60)
    log = (tmp_path / "taker.log").read_text()
    assert f"from {held[0]['owner']} (heartbeat" in log
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    store = Store(run_dir)
    revision = held[0]["revision"]
    taken = [e for e in store.log_entries() if e["event"] == "unit" and e["kind"] == "features"
             and store.read_record("features", e["key"])["checkpoint"]["revision"] == revision]
    # never before the timeout: the last heartbeat was at most timeout/6 before the stop
    assert len(taken) == 1 and taken[0]["time"] >= stopped_at + timeout * 5 / 6
    keys = [(kind, key) for kind, key, _ in computed_units(run_dir)]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN


def _status(run_dir, *extra) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", str(run_dir), *extra]) == 0
    return out.getvalue()


def test_failures_are_retried_by_later_runs_up_to_max_attempts(config_args, reference, tmp_path, monkeypatch):
    from pipeline.checkpoints.build import suite_path
    from pipeline.config import load_suites
    from pipeline.runner import Runner
    from pipeline.scale.claims import Claims, this_process
    from pipeline.scale.coordinator import checkpoint_claim_key

    monkeypatch.setenv("W2S_THREADS", "1")
    monkeypatch.setenv("W2S_POLL_SECONDS", "0.2")
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args]
    original = Runner._strong_units
    calls = []

    def failing_at_step4(self, ckpt, *rest, **kw):
        if ckpt.revision == "step4":
            calls.append(ckpt.revision)
            raise RuntimeError(f"injected failure {len(calls)}")
        return original(self, ckpt, *rest, **kw)

    monkeypatch.setattr(Runner, "_strong_units", failing_at_step4)
    # Another worker holds step8 for a while: the run makes a second pass, which must not retry step4.
    suites = load_suites(config_args[config_args.index("--checkpoints") + 1])
    other = Claims(run_dir, this_process("other-worker"))
    key = checkpoint_claim_key("micro", str(suite_path("micro", suites["micro"])), "step8")
    assert other.try_acquire("checkpoint", key, {"suite": "micro", "revision": "step8"})
    import threading

    threading.Timer(3.0, other.close).start()
    assert main(args) == 0
    assert calls == ["step4"]
    table = read_table(run_dir)
    assert table.set_index("revision").loc["step4", "status"] == "failed"
    assert table.set_index("revision").loc["step4", "error"] == "RuntimeError: injected failure 1"
    assert (table[table.revision != "step4"].status == "done").all()

    for attempt in (2, 3):
        assert main(args) == 0
        assert len(calls) == attempt
    [failure] = Store(run_dir).failures("checkpoint")
    assert failure["attempts"] == 3 and failure["errors"] == [f"RuntimeError: injected failure {i}" for i in (1, 2, 3)]
    status = _status(run_dir)
    assert "micro@step4: RuntimeError: injected failure 3" in status and "attempts exhausted" in status
    assert "earlier: RuntimeError: injected failure 1" in status

    assert main(args) == 0
    assert len(calls) == 3, "a fourth attempt despite --max-attempts 3"
    assert "gave up after 3 attempts" in read_table(run_dir).set_index("revision").loc["step4", "error"]

    monkeypatch.setattr(Runner, "_strong_units", original)
    assert main([*args, "--max-attempts", "4"]) == 0
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    assert Store(run_dir).failures("checkpoint") == []
    status = _status(run_dir)
    assert "nothing left to compute" in status and "failed:" not in status
    counts = json.loads(_status(run_dir, "--json"))["counts"]
    assert counts == {"micro/bbc_business_vs_tech": {"done": 7, "running": 0, "stale": 0, "failed": 0, "pending": 0}}


def test_status_counts_pending_work_and_estimates_it(config_args, tmp_path):
    run_dir = tmp_path / "run"
    proc = fork_cli(["run", "--run-dir", str(run_dir), *config_args], tmp_path / "run.log")
    proc.join(300)
    assert proc.exitcode == 0
    store = Store(run_dir)
    undone = [r for r in store.records("head") if r["checkpoint"]["revision"] in ("step8", "step12")]
    assert len(undone) == 4
    for r in undone:  # as if two checkpoints were never computed
        (run_dir / "units" / "head" / f"{r['key']}.json").unlink()
    state = json.loads(_status(run_dir, "--json"))
    assert state["counts"]["micro/bbc_business_vs_tech"] == {"done": 5, "running": 0, "stale": 0, "failed": 0,
                                                            "pending": 2}
    per_checkpoint = [c["seconds"] for c in state["checkpoints"] if c["revision"] not in ("step8", "step12")]
    assert state["eta_seconds"] == pytest.approx(2 * sum(per_checkpoint) / len(per_checkpoint))
    text = _status(run_dir)
    assert "ETA:" in text and "none is alive" in text and "weak supervisor: bbc_business_vs_tech done" in text


def test_a_checkpoint_that_cannot_be_fetched_is_not_fetched_again_after_max_attempts(config_args, tmp_path,
                                                                                      monkeypatch):
    from pipeline.checkpoints import prefetch
    from pipeline.checkpoints.loading import RevisionUnavailable

    monkeypatch.setenv("W2S_THREADS", "1")
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args, "--max-attempts", "2"]
    real, fetched = prefetch.resolve, []

    def step4_gone(ckpt):
        if ckpt.revision == "step4":
            fetched.append(ckpt.revision)
            raise RevisionUnavailable(f"{ckpt.label}: gone")
        return real(ckpt)

    monkeypatch.setattr(prefetch, "resolve", step4_gone)
    for _ in range(2):
        assert main(args) == 0
    assert len(fetched) == 2
    assert main(args) == 0
    assert len(fetched) == 2, "fetched again despite --max-attempts 2"
    [failure] = Store(run_dir).failures("checkpoint")
    assert failure["attempts"] == 2
    assert "gave up after 2 attempts" in read_table(run_dir).set_index("revision").loc["step4", "error"]
