"""Claims on their own: exclusive, kept alive by the heartbeat, and taken over exactly once when stale."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace

from pipeline.scale.claims import Claims, list_claims, this_process


def _elsewhere(worker: str):
    """An identity on another host, whose liveness only its heartbeat can tell."""
    return replace(this_process(worker), host="another-host", pid=1, pidns=None)


def _age(path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_one_claim_one_owner(tmp_path):
    a, b = Claims(tmp_path, this_process("a"), timeout=30), Claims(tmp_path, this_process("b"), timeout=30)
    assert a.try_acquire("checkpoint", "k", {"revision": "step1"})
    assert not b.try_acquire("checkpoint", "k")
    info = json.loads(a.path("checkpoint", "k").read_text())
    assert info["owner"] == a.me.owner and info["host"] and info["pid"] == os.getpid() and info["revision"] == "step1"
    b.release("checkpoint", "k")  # not b's: stays
    assert a.path("checkpoint", "k").exists()
    a.release("checkpoint", "k")
    assert b.try_acquire("checkpoint", "k")
    b.close()
    a.close()


def test_heartbeat_keeps_a_live_claim_fresh(tmp_path):
    holder = Claims(tmp_path, _elsewhere("holder"), timeout=0.6)
    assert holder.try_acquire("checkpoint", "k")
    other = Claims(tmp_path, this_process("other"), timeout=0.6)
    deadline = time.time() + 2.0
    while time.time() < deadline:  # three timeouts: the heartbeat must keep it alive throughout
        assert not other.try_acquire("checkpoint", "k")
        time.sleep(0.05)
    holder.close()
    other.close()


def test_stale_claim_is_taken_over_by_exactly_one_of_many(tmp_path):
    for round_ in range(20):
        dead = Claims(tmp_path, _elsewhere("dead"), timeout=5)
        key = f"k{round_}"
        assert dead.try_acquire("checkpoint", key)
        dead._held.clear()  # it died: no more heartbeats
        _age(dead.path("checkpoint", key), 60)
        takers = [Claims(tmp_path, this_process(f"t{i}"), timeout=5) for i in range(8)]
        barrier, won = threading.Barrier(len(takers)), []

        def take(c):
            barrier.wait()
            if c.try_acquire("checkpoint", key):
                won.append(c.me.owner)

        threads = [threading.Thread(target=take, args=(c,)) for c in takers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, f"round {round_}: {won}"
        assert json.loads(dead.path("checkpoint", key).read_text())["owner"] == won[0]
        assert not list(dead.path("checkpoint", key).parent.glob("*.stale"))
        for c in takers:
            c.close()


def test_dead_local_owner_is_taken_over_at_once(tmp_path):
    pid = os.fork()
    if pid == 0:
        c = Claims(tmp_path, this_process("short-lived"), timeout=300)
        c.try_acquire("checkpoint", "k")
        os._exit(0)  # dies holding the claim; its heartbeat is seconds fresh
    os.waitpid(pid, 0)
    taker = Claims(tmp_path, this_process("taker"), timeout=300)
    assert taker.try_acquire("checkpoint", "k"), "a claim of a process that is gone should not wait 300 s"
    taker.close()


def test_a_requeued_worker_takes_back_its_own_claims(tmp_path):
    before = Claims(tmp_path, replace(_elsewhere("slurm-7_3-t0"), incarnation="a" * 32), timeout=300)
    assert before.try_acquire("checkpoint", "k")
    before._held.clear()
    after = Claims(tmp_path, this_process("slurm-7_3-t0"), timeout=300)  # same worker, new life, new host
    assert after.try_acquire("checkpoint", "k")
    after.close()


def test_a_stalled_owner_that_wakes_up_does_not_delete_the_new_claim(tmp_path):
    stalled = Claims(tmp_path, _elsewhere("stalled"), timeout=5)
    assert stalled.try_acquire("checkpoint", "k")
    _age(stalled.path("checkpoint", "k"), 60)
    taker = Claims(tmp_path, this_process("taker"), timeout=5)
    assert taker.try_acquire("checkpoint", "k")
    stalled.release("checkpoint", "k")  # wakes up, finishes, releases what it thinks is its claim
    assert json.loads(taker.path("checkpoint", "k").read_text())["owner"] == taker.me.owner
    views = list_claims(tmp_path, "checkpoint")
    assert [v.owner for v in views] == [taker.me.owner] and not views[0].dead
    taker.close()
    stalled.close()


def test_a_claim_cut_short_at_creation_is_broken_after_a_grace(tmp_path):
    c = Claims(tmp_path, this_process("x"), timeout=300)
    path = c.path("checkpoint", "k")
    path.parent.mkdir(parents=True)
    path.touch()  # created, content never written: the creator died in between
    assert not c.try_acquire("checkpoint", "k")  # could be being written right now
    _age(path, 11)
    assert c.try_acquire("checkpoint", "k")
    c.close()
