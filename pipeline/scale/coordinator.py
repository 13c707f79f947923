"""The Runner's hooks for sharing one run directory among many workers.

The Runner stays a plain sequential loop; the coordinator decides, per checkpoint, whether
this worker computes it (it took the claim), leaves it to another (someone else holds a live
claim) or gives up on it (it failed in this session, or too often). A worker that deferred
anything runs the whole plan again once those claims are released or their owners died:
re-planning is cheap, and it means nothing but the store carries state between passes.
Only a pass that deferred nothing is final, and only the last worker to finish writes the
table and plot, so they are written once, from every finished unit.
"""

from __future__ import annotations

import sys
import time
import weakref
from pathlib import Path

from ..store import Store, stable_hash
from .claims import Claims, poll_interval, this_process
from .distributed import Launch

MINE, ELSEWHERE, GAVE_UP = "mine", "elsewhere", "gave_up"
DEFAULT_MAX_ATTEMPTS = 3

_ACTIVE: "weakref.WeakSet[Coordinator]" = weakref.WeakSet()


def release_all_claims() -> int:
    """For a pre-empted job: hand back at once what this process holds, so others need not wait."""
    released = 0
    for coord in list(_ACTIVE):
        released += coord.claims.release_all()
    return released


class GaveUp(Exception):
    """A checkpoint that failed before and is not retried now: listed as failed, no new attempt counted."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MirrorStore(Store):
    """A non-main rank's store in data mode: its own results are visible to itself, none reach the disk."""

    def __init__(self, root: str | Path):
        super().__init__(root)
        self._units: dict[tuple[str, str], tuple[dict, dict]] = {}

    def write_unit(self, kind, key, record, arrays=None) -> None:
        self._units[(kind, key)] = ({**record, "kind": kind, "key": key}, dict(arrays or {}))

    def read_record(self, kind, key):
        if (kind, key) in self._units:
            return self._units[(kind, key)][0]
        return super().read_record(kind, key)

    def read_arrays(self, kind, key):
        if (kind, key) in self._units:
            return dict(self._units[(kind, key)][1])
        return super().read_arrays(kind, key)

    def record_failure(self, kind, key, info) -> None:
        print(f"w2s: rank failed {kind} {key[:12]}: {info.get('error')} (the main rank records outcomes)",
              file=sys.stderr)

    def clear_failure(self, kind, key) -> None:
        pass

    def write_manifest(self, manifest) -> None:
        pass

    def record_duplicate(self, *args) -> None:
        pass


def checkpoint_claim_key(suite: str, repo: str, revision: str) -> str:
    """Known before resolving, identical for every worker of a run, and recomputable from the manifest."""
    return stable_hash({"suite": suite, "repo": repo, "revision": revision})


class Coordinator:
    def __init__(self, run_dir: str | Path, launch: Launch | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, worker: str | None = None):
        self.launch = launch or Launch("shard", 0, 1, 0)
        self.max_attempts = max_attempts
        self.claims = Claims(Path(run_dir), this_process(worker))
        self.me = self.claims.me
        self.store = Store(run_dir, worker=self.me.worker) if self.launch.writes else MirrorStore(run_dir)
        self.started = time.time()
        self.poll = poll_interval(self.claims.timeout)
        self.deferred: list[str] = []
        self.settled = False
        self.wrote_outputs = False
        self._decisions: dict[tuple[str, str], tuple[str, str | None]] = {}
        self._failure_keys: dict[tuple[str, str], list[str]] = {}
        self._failures: dict[tuple[str, str], dict] = {}
        self._registered = False
        self._manifest_written = False
        _ACTIVE.add(self)

    # -- life ---------------------------------------------------------------------------------
    def _start(self) -> None:
        """Register as a worker: `w2s status` lists live workers, the last writer writes the table."""
        if self._registered or not self.launch.writes:
            return
        self.claims.try_acquire("workers", self.me.owner, {
            "writer": self.launch.is_main, "parallel": self.launch.parallel, "rank": self.launch.rank,
            "world_size": self.launch.world_size})
        self._registered = True

    def close(self) -> None:
        self.claims.close()
        _ACTIVE.discard(self)

    # -- hooks the Runner calls ---------------------------------------------------------------
    def write_manifest(self, write) -> None:
        """Once per process, by the main rank, one worker at a time (the manifest is read-modify-write)."""
        self._start()
        if self._manifest_written:
            return
        self.update_manifest(write)
        self._manifest_written = True

    def update_manifest(self, update) -> None:
        """A read-modify-write of the manifest: by the main rank, one worker at a time."""
        if not self.launch.is_main:
            return
        while not self.claims.try_acquire("shared", "manifest"):
            time.sleep(self.poll)
        try:
            update()
        finally:
            self.claims.release("shared", "manifest")

    def weak_units(self, compute, weak, tasks):
        """Everyone needs the weak supervisor: one worker computes it, the others wait for its claim."""
        key = stable_hash({"weak": weak.identity(), "tasks": sorted(tasks)})
        about = {"suite": weak.suite, "revision": weak.revision, "unit": "weak supervisor"}
        told = []

        def take() -> bool:
            if self.claims.try_acquire("weak", key, about):
                return True
            if not told:
                view = self.claims.view("weak", key)
                print(f"w2s: waiting for {view.owner if view else 'another worker'} to finish the weak "
                      "supervisor", file=sys.stderr)
                told.append(True)
            return False

        self.launch.wait_together(f"weak:{key}", take, self.poll)
        try:
            return compute()
        finally:
            self.claims.release("weak", key)

    def checkpoints(self, strong):
        """The plan's checkpoints in order, each decided (claimed, deferred, given up) before the
        Runner works on it; the claim is released once the Runner is done with it."""
        self.deferred, self._decisions = [], {}
        failures = self._failures = self._failure_index() if self.launch.is_main else {}
        for ckpt in strong:
            key = checkpoint_claim_key(ckpt.suite, ckpt.repo, ckpt.revision)
            decision = self.launch.agree_on(f"checkpoint:{ckpt.suite}:{ckpt.revision}",
                                            lambda: self._decide(ckpt, key, failures))
            self._decisions[(ckpt.suite, ckpt.revision)] = decision
            if decision[0] == ELSEWHERE:
                self.deferred.append(key)
            try:
                yield ckpt
            finally:
                if decision[0] == MINE:
                    self.claims.release("checkpoint", key)

    def check_not_given_up(self, ckpt) -> None:
        """Raise GaveUp for a checkpoint out of attempts, before anything (a fetch) is tried on it."""
        decision, detail = self._decisions.get((ckpt.suite, ckpt.revision), (MINE, None))
        if decision == GAVE_UP:
            raise GaveUp(detail or "failed before")

    def work_on(self, ckpt, compute) -> bool:
        """Run `compute` when this worker holds the checkpoint; False when another worker has it."""
        self.check_not_given_up(ckpt)
        decision, _ = self._decisions.get((ckpt.suite, ckpt.revision), (MINE, None))
        if decision == ELSEWHERE:
            return False
        if ckpt.duplicate_of is not None:
            self._wait_for_original(ckpt.duplicate_of)
        compute()
        if self.launch.writes:
            for failure_key in self._failure_keys.pop((ckpt.suite, ckpt.revision), []):
                self.store.clear_failure("checkpoint", failure_key)
        return True

    def may_take(self, ckpt) -> bool:
        """Whether this worker may end up computing `ckpt` (no one else holds a live claim on it):
        the one worth prefetching."""
        if self._gave_up(ckpt, self._failures) is not None:
            return False
        key = checkpoint_claim_key(ckpt.suite, ckpt.repo, ckpt.revision)
        view = self.claims.view("checkpoint", key)
        return view is None or view.dead or self.claims.holds("checkpoint", key)

    def writes_outputs(self) -> bool:
        """True for the one process that writes this run's table and plot: the main rank of the last
        worker to finish, in a pass that left nothing to others."""
        self.settled = not self.deferred
        if not self.settled or not self.launch.is_main:
            return False
        self.claims.release("workers", self.me.owner)  # finishing: no longer counts as running
        others = [v for v in self.claims.all("workers")
                  if not v.dead and v.owner != self.me.owner and (v.info or {}).get("writer")]
        if others:
            print(f"w2s: {len(others)} other worker(s) still running; the last to finish writes the table",
                  file=sys.stderr)
        self.wrote_outputs = not others
        return self.wrote_outputs

    # -- between passes -------------------------------------------------------------------------
    def wait_for_others(self) -> None:
        """Until every checkpoint deferred in the last pass is released, or one's owner died."""
        keys = list(self.deferred)
        if self.launch.is_main:
            owners = sorted({v.owner for v in (self.claims.view("checkpoint", k) for k in keys) if v})
            print(f"w2s: {len(keys)} checkpoint(s) held by other workers ({', '.join(owners)}); "
                  "waiting to read their results or take over", file=sys.stderr)

        def ready() -> bool:
            views = [self.claims.view("checkpoint", k) for k in keys]
            return all(v is None for v in views) or any(v is not None and v.dead for v in views)

        self.launch.wait_together("wait-for-others", ready, self.poll)

    # -- decisions ----------------------------------------------------------------------------
    def _gave_up(self, ckpt, failures: dict) -> str | None:
        """Why a checkpoint is not tried again: out of attempts, or failed in this session."""
        failure = failures.get((ckpt.suite, ckpt.revision))
        if failure is None:
            return None
        attempts = failure.get("attempts", 1)
        if attempts >= self.max_attempts:
            return f"{failure.get('error', 'failed')} (gave up after {attempts} attempts; --max-attempts to retry)"
        if failure.get("time", 0) >= self.started:
            return failure.get("error", "failed in this session")
        return None

    def _decide(self, ckpt, key: str, failures: dict) -> tuple[str, str | None]:
        reason = self._gave_up(ckpt, failures)
        if reason is not None:
            return GAVE_UP, reason
        about = {"suite": ckpt.suite, "revision": ckpt.revision, "step": ckpt.step}
        if self.claims.try_acquire("checkpoint", key, about):
            return MINE, None
        return ELSEWHERE, None

    def _failure_index(self) -> dict[tuple[str, str], dict]:
        """(suite, revision) -> its failure with the most attempts; keys kept to clear them on success."""
        index: dict[tuple[str, str], dict] = {}
        self._failure_keys = {}
        for failure in self.store.failures("checkpoint"):
            where = (failure.get("suite"), failure.get("revision"))
            self._failure_keys.setdefault(where, []).append(failure["key"])
            if failure.get("attempts", 0) >= index.get(where, {}).get("attempts", -1):
                index[where] = failure
        return index

    def _wait_for_original(self, original) -> None:
        """A byte-identical twin shares its original's units: wait for whoever computes those,
        then reuse them instead of computing them a second time."""
        key = checkpoint_claim_key(original.suite, original.repo, original.revision)
        while True:
            view = self.claims.view("checkpoint", key)
            if view is None or view.dead or self.claims.holds("checkpoint", key):
                return
            time.sleep(self.poll)


def run_until_settled(runner):
    """Run passes until one leaves nothing to other workers; the outcome counts this worker's work."""
    from ..runner import RunStats

    coord = runner.coord
    computed = 0
    try:
        while True:
            runner.stats = RunStats()
            outcome = runner.run()
            computed += outcome.stats.computed
            if coord.settled:
                break
            coord.wait_for_others()
        outcome.stats.reused = max(0, outcome.stats.reused - (computed - outcome.stats.computed))
        outcome.stats.computed = computed
        return outcome
    finally:
        coord.close()
