"""`w2s status RUN`: where a shared run stands, read from its directory alone.

The manifest lists the planned checkpoints and the experiment; unit records say what is done
(matched by the checkpoint identity, task, seed and loss they carry); claims say what is
running and whose heartbeat is fresh; failure records say what failed and why. No model,
task data or config file is loaded, so it answers in a second on a login node.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..store import Store
from .claims import claim_timeout, list_claims, this_process
from .coordinator import DEFAULT_MAX_ATTEMPTS, checkpoint_claim_key

DONE, RUNNING, STALE, FAILED, PENDING = "done", "running", "stale", "failed", "pending"


@dataclass
class CheckpointState:
    suite: str
    revision: str
    step: int | None
    by_task: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    heartbeat_age: float | None = None
    failure: dict | None = None
    seconds: float = 0.0


@dataclass
class RunStatus:
    run_dir: Path
    experiment: dict
    checkpoints: list[CheckpointState]
    weak: dict[str, str]                 # task -> state of the weak supervisor units
    workers: list[dict]
    table_written: bool

    def counts(self) -> dict[tuple[str, str], dict[str, int]]:
        out: dict[tuple[str, str], dict[str, int]] = {}
        for c in self.checkpoints:
            for task, state in c.by_task.items():
                row = out.setdefault((c.suite, task), {s: 0 for s in (DONE, RUNNING, STALE, FAILED, PENDING)})
                row[state] += 1
        return out

    def eta_seconds(self) -> float | None:
        """Mean compute time of a finished checkpoint, times what is left, over the live workers."""
        finished = [c.seconds for c in self.checkpoints if c.seconds and all(s == DONE for s in c.by_task.values())]
        left = sum(1 for c in self.checkpoints if any(s != DONE for s in c.by_task.values())
                   and not _gave_up(c.failure))
        if not left:
            return 0.0
        if not finished:
            return None
        return sum(finished) / len(finished) * left / max(1, len(self.workers))


def _gave_up(failure: dict | None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> bool:
    return bool(failure) and failure.get("attempts", 0) >= max_attempts


def _identity(c: dict) -> tuple:
    return (c.get("repo"), c.get("revision"), c.get("commit_sha"))


def read_status(run_dir: str | Path) -> RunStatus:
    run_dir = Path(run_dir)
    store = Store(run_dir)
    manifest = store.read_manifest()
    if manifest is None:
        raise UserError(f"{run_dir}: no manifest.json (not a run directory, or no worker has started yet)")
    exp = manifest["experiment"]
    tasks, seeds = list(exp["tasks"]), list(exp["seeds"])
    losses = ["ceiling", *exp.get("losses", ["xent"])]
    mode = exp.get("mode")
    expected = len(seeds) * len(losses)
    suite = exp["suite"]

    heads: dict[tuple, dict[str, int]] = {}
    seconds: dict[tuple, float] = {}
    for r in store.records("head"):
        if r.get("task") not in tasks or r.get("seed") not in seeds or r.get("loss") not in losses:
            continue
        if mode and r.get("mode", mode) != mode:
            continue
        ident = _identity(r.get("checkpoint") or {})
        heads.setdefault(ident, {}).setdefault(r["task"], 0)
        heads[ident][r["task"]] += 1
        seconds[ident] = seconds.get(ident, 0.0) + float(r.get("seconds") or 0)
    for r in store.records("features"):
        ident = _identity(r.get("checkpoint") or {})
        seconds[ident] = seconds.get(ident, 0.0) + float(r.get("seconds") or 0)

    by_sha = {ident[2]: ident for ident in heads if ident[2]}
    by_name = {ident[:2]: ident for ident in heads}
    twins = {(d.get("suite"), d.get("revision")): _identity(d.get("duplicate_of") or {}) for d in store.duplicates()}

    me = this_process()
    timeout = claim_timeout()
    claims = {v.key: v for v in list_claims(run_dir, "checkpoint", me, timeout)}
    failures = {(f.get("suite"), f.get("revision")): f for f in store.failures("checkpoint")}

    states = []
    for c in manifest.get("checkpoints", []):
        state = CheckpointState(suite, c["revision"], c.get("step"))
        ident = _identity(c)
        if ident not in heads and (suite, c["revision"]) in twins:
            ident = twins[(suite, c["revision"])]  # a byte-identical twin: its units are its original's
        elif ident not in heads and c.get("commit_sha") in by_sha:
            ident = by_sha[c["commit_sha"]]
        elif ident not in heads and not c.get("commit_sha"):
            # not pinned when the manifest was written (offline, no listing): the commit it resolved to
            ident = by_name.get((c.get("repo"), c["revision"]), ident)
        claim = claims.get(checkpoint_claim_key(suite, c["repo"], c["revision"]))
        state.failure = failures.get((suite, c["revision"]))
        state.seconds = seconds.get(ident, 0.0)
        if claim is not None:
            state.owner, state.heartbeat_age = claim.owner, claim.age
        for task in tasks:
            if heads.get(ident, {}).get(task, 0) >= expected:
                state.by_task[task] = DONE
            elif claim is not None:
                state.by_task[task] = STALE if claim.dead else RUNNING
            elif state.failure is not None:
                state.by_task[task] = FAILED
            else:
                state.by_task[task] = PENDING
        states.append(state)

    weak_ident = _identity(manifest.get("weak_checkpoint") or {})
    weak_done: dict[str, set] = {}
    for r in store.records("weak"):
        if _identity(r.get("checkpoint") or {}) == weak_ident:
            weak_done.setdefault(r.get("task"), set()).add(r.get("seed"))
    weak_claims = list_claims(run_dir, "weak", me, timeout)
    weak = {}
    for task in tasks:
        if set(seeds) <= weak_done.get(task, set()):
            weak[task] = DONE
        elif weak_claims:
            weak[task] = STALE if all(v.dead for v in weak_claims) else RUNNING
        else:
            weak[task] = PENDING

    workers = [{**(v.info or {}), "heartbeat_age": v.age} for v in list_claims(run_dir, "workers", me, timeout)
               if not v.dead]
    table = run_dir / "pgr_vs_step.csv"
    newest_unit = max((p.stat().st_mtime for p in (run_dir / "units").glob("*/*.json")), default=0.0)
    table_written = table.exists() and table.stat().st_mtime >= newest_unit
    return RunStatus(run_dir, exp, states, weak, workers, table_written)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def render(status: RunStatus) -> str:
    from tabulate import tabulate

    lines = [f"run {status.run_dir}: suite {status.experiment['suite']}, "
             f"{len(status.checkpoints)} checkpoint(s), tasks {', '.join(status.experiment['tasks'])}"]
    weak_states = ", ".join(f"{t} {s}" for t, s in status.weak.items())
    lines.append(f"weak supervisor: {weak_states}")
    rows = [[suite, task, n[DONE], n[RUNNING] + n[STALE], n[FAILED], n[PENDING]]
            for (suite, task), n in sorted(status.counts().items())]
    lines += ["", tabulate(rows, headers=["suite", "task", "done", "running", "failed", "pending"]), ""]

    running = [c for c in status.checkpoints if c.owner and any(s in (RUNNING, STALE) for s in c.by_task.values())]
    if running:
        lines.append("running:")
        for c in running:
            stale = " (stale: will be taken over)" if STALE in c.by_task.values() else ""
            lines.append(f"  {c.suite}@{c.revision}: {c.owner}, heartbeat {_duration(c.heartbeat_age or 0)} ago{stale}")
    failed = [c for c in status.checkpoints if c.failure and FAILED in c.by_task.values()]
    if failed:
        lines.append("failed:")
        for c in failed:
            f = c.failure
            gave_up = " - not retried (attempts exhausted)" if _gave_up(f) else " - retried by the next run"
            lines.append(f"  {c.suite}@{c.revision}: {f.get('error', '?')} "
                         f"[attempt {f.get('attempts', 1)}{gave_up}]")
            for earlier in (f.get("errors") or [])[:-1]:
                lines.append(f"      earlier: {earlier}")
    lines.append(f"workers alive: {len(status.workers)}"
                 + "".join(f"\n  {w.get('owner')} on {w.get('host')} pid {w.get('pid')}, heartbeat "
                           f"{_duration(w['heartbeat_age'])} ago" for w in status.workers))
    eta = status.eta_seconds()
    if eta == 0.0:
        lines.append("nothing left to compute" + ("" if status.table_written else
                                                  "; the table is not up to date: `w2s run` writes it"))
    elif eta is None:
        lines.append("ETA: unknown until a checkpoint finishes")
    else:
        per = "" if status.workers else " at one worker (none is alive: start one)"
        lines.append(f"ETA: {_duration(eta)}{per}")
    return "\n".join(lines)


def as_json(status: RunStatus) -> str:
    return json.dumps({
        "run_dir": str(status.run_dir), "weak": status.weak,
        "counts": {f"{s}/{t}": n for (s, t), n in status.counts().items()},
        "checkpoints": [{"suite": c.suite, "revision": c.revision, "step": c.step, "by_task": c.by_task,
                         "owner": c.owner, "heartbeat_age": c.heartbeat_age, "failure": c.failure,
                         "seconds": c.seconds} for c in status.checkpoints],
        "workers": status.workers, "eta_seconds": status.eta_seconds(), "table_written": status.table_written,
        "time": time.time()}, indent=2, default=str)
