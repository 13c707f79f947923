"""The results store: the only module that writes a run's files.

Layout of a run directory:
  manifest.json                  resolved config, package versions, git commit, data sha256s
  units/<kind>/<key>.json        one record per finished unit (its inputs, metrics, timings)
  units/<kind>/<key>.npz         the unit's arrays (features, per-example predictions)
  failed/<kind>/<key>.json       the last failure of a unit, with its reason
Every file is written to a temporary name in the same folder and renamed, so a kill at any
instant leaves the whole file or none. A unit counts as done only once its record exists, and
the record is written after its arrays, so a record never points at missing arrays.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of obj: the identity of whatever it describes."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
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
    def __init__(self, root: str | Path):
        self.root = Path(root)

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

    def _failure_path(self, kind: str, key: str) -> Path:
        return self.root / "failed" / kind / f"{key}.json"

    def is_done(self, kind: str, key: str) -> bool:
        return self.read_record(kind, key) is not None

    def read_record(self, kind: str, key: str) -> dict | None:
        try:
            return json.loads(self._record_path(kind, key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def read_arrays(self, kind: str, key: str) -> dict[str, np.ndarray]:
        with np.load(self._arrays_path(kind, key), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def write_unit(self, kind: str, key: str, record: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        if arrays:
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            _atomic_write_bytes(self._arrays_path(kind, key), buf.getvalue())
        atomic_write_json(self._record_path(kind, key), {**record, "kind": kind, "key": key})
        self._failure_path(kind, key).unlink(missing_ok=True)

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
        previous = self.read_failure(kind, key)
        attempts = (previous or {}).get("attempts", 0) + 1
        atomic_write_json(self._failure_path(kind, key), {**info, "kind": kind, "key": key, "attempts": attempts})

    def read_failure(self, kind: str, key: str) -> dict | None:
        try:
            return json.loads(self._failure_path(kind, key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def failures(self) -> list[dict]:
        folder = self.root / "failed"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*/*.json"))] if folder.exists() else []

    # -- outputs ----------------------------------------------------------------------------
    def output_path(self, name: str) -> Path:
        return self.root / name
