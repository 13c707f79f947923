"""Exclusive, self-expiring claims on work in a run directory that many workers share.

A claim is `claims/<kind>/<key>.lock`, created with O_CREAT|O_EXCL so exactly one worker
gets it, holding who owns it (worker id, host, pid, start time). Its mtime is the heartbeat:
a thread touches every claim this process holds, so a claim whose mtime is older than the
timeout (W2S_CLAIM_TIMEOUT seconds, default 180) belongs to a worker that died or hung.
Such a claim is taken over by renaming it to a name unique to the taker first: of several
workers breaking the same stale claim, only one rename succeeds. A claim whose owner is
certainly dead (same host and pid namespace and the pid is gone or reused, or a previous
life of this very worker after a requeue) is taken over at once, without the wait.

Claims only decide who computes; results stay safe without them (atomic writes of
deterministic content), so the rare case of a hung owner that wakes up after being taken
over costs a duplicate computation, never a wrong or partial result.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT_S = 180.0


def claim_timeout() -> float:
    return float(os.environ.get("W2S_CLAIM_TIMEOUT") or DEFAULT_TIMEOUT_S)


def poll_interval(timeout: float | None = None) -> float:
    """How often a waiting worker looks at the store again: fine-grained when timeouts are short."""
    env = os.environ.get("W2S_POLL_SECONDS")
    if env:
        return float(env)
    return max(0.05, min(5.0, (timeout or claim_timeout()) / 10))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:200]


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/pid/stat): a pid plus this
    names one process, so a reused pid is not mistaken for the claim's owner. None: no such
    process, or it is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "unknown"
    after = stat[stat.rfind(")") + 2:].split()
    if after and after[0] in ("Z", "X"):
        return None
    return after[19] if len(after) > 19 else "unknown"


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


@dataclass(frozen=True)
class Identity:
    """Who holds a claim. `worker` is stable across restarts where the scheduler gives a stable
    name (a SLURM array task keeps its id when requeued); `incarnation` is this process's life."""

    worker: str
    incarnation: str
    host: str
    pid: int
    pid_start: str | None
    pidns: str | None

    @property
    def owner(self) -> str:
        return f"{self.worker}#{self.incarnation[:8]}"

    def as_dict(self) -> dict:
        return {"owner": self.owner, "worker": self.worker, "incarnation": self.incarnation,
                "host": self.host, "pid": self.pid, "pid_start": self.pid_start, "pidns": self.pidns}


def this_process(worker: str | None = None) -> Identity:
    host = socket.gethostname()
    worker = worker or os.environ.get("W2S_WORKER_ID") or f"{host}-{os.getpid()}"
    return Identity(safe_name(worker), uuid.uuid4().hex, host, os.getpid(), _proc_start(os.getpid()),
                    _pid_namespace())


def owner_is_dead(info: dict, me: Identity) -> bool:
    """True only when death is certain; otherwise the heartbeat's age decides."""
    if info.get("worker") == me.worker and info.get("incarnation") != me.incarnation:
        return True  # an earlier life of this worker (requeued, or relaunched with the same id)
    if info.get("host") == me.host and info.get("pidns") == me.pidns and isinstance(info.get("pid"), int):
        started = _proc_start(info["pid"])
        if started is None:
            return True
        recorded = info.get("pid_start")
        if recorded and started != "unknown" and recorded != started:
            return True
    return False


@dataclass
class ClaimView:
    """A claim as seen from outside, for waiting workers and `w2s status`."""

    kind: str
    key: str
    path: Path
    info: dict | None
    age: float          # seconds since the last heartbeat
    dead: bool          # owner certainly dead, or heartbeat older than the timeout
    stamp: tuple[int, int] = (0, 0)  # (inode, mtime_ns): which file, at which heartbeat, was judged

    @property
    def owner(self) -> str:
        return (self.info or {}).get("owner", "?")


def read_claim(path: Path, me: Identity | None, timeout: float) -> ClaimView | None:
    try:
        st = path.stat()
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        info = None  # being written this instant, or its creator died between create and write
    age = time.time() - st.st_mtime
    grace = min(timeout, 10.0)
    if info is None:
        dead = age > grace
    else:
        dead = age > timeout or (me is not None and owner_is_dead(info, me))
    kind, key = path.parent.name, path.name[: -len(".lock")]
    return ClaimView(kind, key, path, info, age, dead, (st.st_ino, st.st_mtime_ns))


@dataclass
class _Held:
    path: Path
    lost: bool = False


@dataclass
class Claims:
    """The claims this process holds in one run directory, kept alive by one heartbeat thread."""

    root: Path
    me: Identity = field(default_factory=this_process)
    timeout: float = field(default_factory=claim_timeout)

    def __post_init__(self):
        self.root = Path(self.root)
        self._held: dict[Path, _Held] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- paths ------------------------------------------------------------------------------
    def path(self, kind: str, key: str) -> Path:
        return self.root / "claims" / kind / f"{safe_name(key)}.lock"

    # -- taking and giving back -------------------------------------------------------------
    def try_acquire(self, kind: str, key: str, about: dict | None = None) -> bool:
        """Take the claim if it is free or abandoned; never waits."""
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._break_if_abandoned(path):
                    continue
                return False
            content = {**self.me.as_dict(), "kind": kind, "key": key, "since": time.time(), **(about or {})}
            with os.fdopen(fd, "w") as fh:
                json.dump(content, fh)
                fh.flush()
                os.fsync(fh.fileno())
            with self._lock:
                self._held[path] = _Held(path)
            self._ensure_heartbeat()
            return True
        return False

    def release(self, kind: str, key: str) -> None:
        self._release_path(self.path(kind, key))

    def release_all(self) -> int:
        with self._lock:
            paths = list(self._held)
        for path in paths:
            self._release_path(path)
        return len(paths)

    def holds(self, kind: str, key: str) -> bool:
        with self._lock:
            held = self._held.get(self.path(kind, key))
        return held is not None and not held.lost

    def _release_path(self, path: Path) -> None:
        with self._lock:
            self._held.pop(path, None)
        if self._is_mine(path):
            path.unlink(missing_ok=True)

    def _is_mine(self, path: Path) -> bool:
        try:
            return json.loads(path.read_text()).get("owner") == self.me.owner
        except (FileNotFoundError, json.JSONDecodeError):
            return False

    def _break_if_abandoned(self, path: Path) -> bool:
        """Remove a dead owner's claim; True when the path may now be free.

        Breakers take a short guard (O_EXCL too) and re-check under it, so a claim judged
        stale is removed only if it is still that same file at that same heartbeat. The
        removal renames it to a name only this process uses and checks what it moved: of
        several workers breaking one claim, one rename succeeds, and a fresh claim caught by
        mistake is put back.
        """
        view = read_claim(path, self.me, self.timeout)
        if view is None:
            return True
        if not view.dead:
            return False
        guard = path.with_name(path.name + ".break")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            try:  # a breaker holds it for microseconds; one that died holding it is cleared
                if time.time() - guard.stat().st_mtime > min(self.timeout, 10.0):
                    guard.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            return False
        try:
            again = read_claim(path, self.me, self.timeout)
            if again is None:
                return True
            if not again.dead or again.stamp != view.stamp:
                return False
            grave = path.with_name(f"{path.name}.{self.me.incarnation}.stale")
            try:
                os.rename(path, grave)
            except FileNotFoundError:
                return True
            moved = grave.stat()
            if (moved.st_ino, moved.st_mtime_ns) != view.stamp:
                try:
                    os.link(grave, path)  # a live claim after all: restore it
                except FileExistsError:
                    pass
                grave.unlink(missing_ok=True)
                return False
            grave.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)
        why = "owner dead" if view.age <= self.timeout else f"heartbeat {view.age:.0f}s old"
        print(f"w2s: {self.me.owner} takes over {view.kind} claim {view.key[:12]} from {view.owner} ({why})",
              file=sys.stderr)
        return True

    # -- looking ----------------------------------------------------------------------------
    def view(self, kind: str, key: str) -> ClaimView | None:
        return read_claim(self.path(kind, key), self.me, self.timeout)

    def all(self, kind: str | None = None) -> list[ClaimView]:
        return list_claims(self.root, kind, self.me, self.timeout)

    # -- heartbeat --------------------------------------------------------------------------
    @property
    def heartbeat_interval(self) -> float:
        return max(0.1, self.timeout / 6)

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._beat, name="w2s-claims-heartbeat", daemon=True)
                self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            with self._lock:
                held = [h for h in self._held.values() if not h.lost]
            for h in held:
                if self._is_mine(h.path):
                    try:
                        os.utime(h.path)
                        continue
                    except FileNotFoundError:
                        pass
                h.lost = True
                print(f"w2s: {self.me.owner} lost its claim {h.path.name} (taken over after a stall); "
                      "finishing the unit anyway, its result is the same", file=sys.stderr)

    def close(self) -> None:
        self.release_all()
        self._stop.set()


def list_claims(root: Path, kind: str | None = None, me: Identity | None = None,
                timeout: float | None = None) -> list[ClaimView]:
    folder = Path(root) / "claims"
    pattern = f"{kind}/*.lock" if kind else "*/*.lock"
    timeout = claim_timeout() if timeout is None else timeout
    views = (read_claim(p, me, timeout) for p in sorted(folder.glob(pattern))) if folder.exists() else ()
    return [v for v in views if v is not None]
