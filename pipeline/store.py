"""The results store: the only module that writes a run's files.

Layout of a run directory:
  manifest.json                  resolved config, package versions, git commit, data sha256s
  units/<kind>/<key>.json        one record per finished unit (its inputs, metrics, timings)
  units/<kind>/<key>.npz         the unit's arrays (features, per-example predictions)
  failed/<kind>/<key>.json       the last failure of a unit, with its reason
  log/<worker>.jsonl             one line per unit a worker wrote: who computed what, when
  claims/, failed/checkpoint/    shared-run bookkeeping, see pipeline/scale
Every file is written to a temporary name in the same folder and renamed, so a kill at any
instant leaves the whole file or none. A unit counts as done only once its record exists, and
the record is written after its arrays, so a record never points at missing arrays.

Test hook: W2S_TEST_KILL_AFTER_WRITES=N makes the process SIGKILL itself in the middle of its
N-th atomic write (temporary file complete, not yet renamed), the worst instant for a kill.
tests/scale uses it to prove a killed run resumes to the same table.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import tempfile
import zipfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of obj: the identity of whatever it describes."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


_writes_done = 0


def _test_kill_point() -> None:
    global _writes_done
    limit = os.environ.get("W2S_TEST_KILL_AFTER_WRITES")
    if not limit:
        return
    _writes_done += 1
    if _writes_done == int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _test_kill_point()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def atomic_write_text(path: Path, text: str) -> None:
    _atomic_write_bytes(Path(path), text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write_bytes(Path(path), data)


class Store:
    def __init__(self, root: str | Path, worker: str | None = None):
        """`worker`: who writes through this store; recorded in each unit and in log/<worker>.jsonl."""
        self.root = Path(root)
        self.worker = worker

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.manifest_path, manifest)

    # -- units ------------------------------------------------------------------------------
    def _record_path(self, kind: str, key: str) -> Path:
        return self.root / "units" / kind / f"{key}.json"

    def _arrays_path(self, kind: str, key: str) -> Path:
        return self.root / "units" / kind / f"{key}.npz"

    def failure_path(self, kind: str, key: str) -> Path:
        return self.root / "failed" / kind / f"{key}.json"

    def is_done(self, kind: str, key: str) -> bool:
        return self.read_record(kind, key) is not None

    def read_record(self, kind: str, key: str) -> dict | None:
        """The unit's record, or None when the unit is not (or no longer) whole.

        A record that is not a JSON object, or whose arrays are missing or unreadable (a disk
        error, a hand edit), makes the unit count as not done, so the next run recomputes it
        instead of failing on it forever.
        """
        try:
            record = json.loads(self._record_path(kind, key).read_text())
        except (OSError, ValueError):  # missing, undecodable bytes, not JSON
            return None
        if not isinstance(record, dict):
            return None
        names = record.get("arrays")
        if names:
            try:
                with np.load(self._arrays_path(kind, key), allow_pickle=False) as data:
                    if not set(names) <= set(data.files):
                        return None
            except (OSError, ValueError, EOFError, zipfile.BadZipFile):
                return None
        return record

    def read_arrays(self, kind: str, key: str) -> dict[str, np.ndarray]:
        with np.load(self._arrays_path(kind, key), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def write_unit(self, kind: str, key: str, record: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        if arrays:
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            _atomic_write_bytes(self._arrays_path(kind, key), buf.getvalue())
        who = {"worker": self.worker} if self.worker else {}
        listed = {"arrays": sorted(arrays)} if arrays else {}
        atomic_write_json(self._record_path(kind, key), {**record, **who, **listed, "kind": kind, "key": key})
        self.failure_path(kind, key).unlink(missing_ok=True)
        self._log({"event": "unit", "kind": kind, "key": key, "seconds": record.get("seconds")})

    def _log(self, entry: dict) -> None:
        """Append-only, one file per worker so no two processes append to one file."""
        if not self.worker:
            return
        path = self.root / "log" / f"{self.worker}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fh.write(json.dumps({**entry, "worker": self.worker, "time": time.time()}) + "\n")

    def log_entries(self) -> list[dict]:
        """Every worker's log; a line cut short by a kill is skipped."""
        out = []
        for path in sorted((self.root / "log").glob("*.jsonl")):
            for line in path.read_text().splitlines():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def records(self, kind: str) -> list[dict]:
        folder = self.root / "units" / kind
        out = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            try:
                out.append(json.loads(path.read_text()))
            except json.JSONDecodeError:
                continue
        return out

    # -- failures ---------------------------------------------------------------------------
    def record_failure(self, kind: str, key: str, info: dict) -> None:
        """Counts attempts and keeps the earlier errors, so a retry limit and the history survive."""
        previous = self.read_failure(kind, key) or {}
        attempts = previous.get("attempts", 0) + 1
        history = (previous.get("errors") or ([previous["error"]] if previous.get("error") else []))
        if "error" in info:
            history = [*history, info["error"]][-10:]
        atomic_write_json(self.failure_path(kind, key), {
            **info, "kind": kind, "key": key, "attempts": attempts, "errors": history, "time": time.time(),
            **({"worker": self.worker} if self.worker else {})})
        self._log({"event": "failure", "kind": kind, "key": key, "error": info.get("error")})

    def clear_failure(self, kind: str, key: str) -> None:
        self.failure_path(kind, key).unlink(missing_ok=True)

    def read_failure(self, kind: str, key: str) -> dict | None:
        try:
            return json.loads(self.failure_path(kind, key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def failures(self, kind: str = "*") -> list[dict]:
        folder = self.root / "failed"
        out = []
        for path in sorted(folder.glob(f"{kind}/*.json")) if folder.exists() else []:
            try:
                out.append(json.loads(path.read_text()))
            except (FileNotFoundError, json.JSONDecodeError):
                continue  # cleared or replaced by another worker while listing
        return out

    # -- byte-identical twins ----------------------------------------------------------------
    def record_duplicate(self, suite: str, revision: str, commit_sha: str | None, original: dict) -> None:
        """A twin has no units of its own; this note lets `w2s status` count it with its original."""
        atomic_write_json(self.root / "duplicates" / f"{stable_hash([suite, revision])}.json",
                          {"suite": suite, "revision": revision, "commit_sha": commit_sha, "duplicate_of": original})

    def duplicates(self) -> list[dict]:
        out = []
        for path in sorted((self.root / "duplicates").glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except (FileNotFoundError, json.JSONDecodeError):
                continue
        return out

    # -- outputs ----------------------------------------------------------------------------
    def output_path(self, name: str) -> Path:
        return self.root / name
