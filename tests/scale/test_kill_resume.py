"""SIGKILL a run anywhere: the next run completes, loses no finished unit, and gives the same table.

Kill points are counted in atomic writes (W2S_TEST_KILL_AFTER_WRITES, see pipeline/store.py):
the process kills itself with the N-th write's temporary file complete but not yet renamed,
so every point is also a kill *during* a write. A second test kills real `python -m pipeline
run` processes at random moments, whatever they are doing (claims, model loading, math).
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scale_helpers import UNITS_PER_RUN, computed_units, fork_cli, read_table, start_cli


def _writes_of_a_full_run(run_dir: Path) -> int:
    """Atomic writes an uninterrupted run makes: every unit file, the manifest, table, summary, plot."""
    units = [p for p in (run_dir / "units").rglob("*") if p.is_file() and not p.name.startswith(".")]
    return len(units) + 1 + 3


def _assert_nothing_partial(run_dir: Path) -> None:
    for path in run_dir.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_text())
    for path in run_dir.rglob("*.npz"):
        if not path.name.startswith("."):
            with np.load(path) as data:
                [data[k] for k in data.files]


def _in_batches(procs_to_start, width: int = 3):
    running, finished = [], []
    for start in procs_to_start:
        running.append(start())
        if len(running) == width:
            running[0].join(300)
            finished.append(running.pop(0))
    for proc in running:
        proc.join(300)
        finished.append(proc)
    return finished


def test_kill_at_any_write_then_resume(config_args, reference, tmp_path):
    full = tmp_path / "full"
    proc = fork_cli(["run", "--run-dir", str(full), *config_args], tmp_path / "full.log")
    proc.join(300)
    assert proc.exitcode == 0
    total = _writes_of_a_full_run(full)
    assert total == UNITS_PER_RUN * 2 + 4  # each unit is arrays + record
    # The manifest, each half of the first units, a spread through the checkpoints, the outputs.
    points = sorted({1, 2, 3, 5, 6, *(round(total * f) for f in (0.3, 0.5, 0.7, 0.9)), total - 2, total - 1, total})
    assert len(points) >= 10

    def killer(n):
        return lambda: fork_cli(["run", "--run-dir", str(tmp_path / f"k{n}"), *config_args],
                                tmp_path / f"k{n}.log", W2S_TEST_KILL_AFTER_WRITES=n)

    for n, proc in zip(points, _in_batches([killer(n) for n in points])):
        assert proc.exitcode == -signal.SIGKILL, f"kill point {n} was not reached: {(tmp_path / f'k{n}.log').read_text()}"
        run_dir = tmp_path / f"k{n}"
        assert list(run_dir.rglob(".*.tmp")), f"kill point {n}: no temporary file, so not killed mid-write"
        _assert_nothing_partial(run_dir)

    def resumer(n):
        return lambda: fork_cli(["run", "--run-dir", str(tmp_path / f"k{n}"), *config_args],
                                tmp_path / f"k{n}.resume.log")

    for n, proc in zip(points, _in_batches([resumer(n) for n in points])):
        run_dir = tmp_path / f"k{n}"
        assert proc.exitcode == 0, (tmp_path / f"k{n}.resume.log").read_text()
        pd.testing.assert_frame_equal(reference, read_table(run_dir), obj=f"table after a kill at write {n}")
        units = [(kind, key) for kind, key, _ in computed_units(run_dir)]
        assert len(units) == len(set(units)) == UNITS_PER_RUN, f"kill point {n}: a unit lost or computed twice"


def test_kill_real_processes_at_random_moments(config_args, reference, worker_env, tmp_path):
    rng = random.Random(int(os.environ.get("W2S_TEST_SEED", "20240607")))
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), *config_args]
    moments = []
    for i in range(3):
        done_before = _records(run_dir)
        proc = start_cli(args, worker_env, tmp_path / f"run{i}.log")
        # Wait for some progress so the kill lands mid-run, then a random extra moment.
        deadline = time.time() + 120
        while proc.poll() is None and _records(run_dir) <= done_before and time.time() < deadline:
            time.sleep(0.05)
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        moments.append((delay, proc.returncode, _records(run_dir)))
        _assert_nothing_partial(run_dir)
    assert any(code == -signal.SIGKILL for _, code, _ in moments), moments
    final = start_cli(args, worker_env, tmp_path / "final.log")
    assert final.wait(300) == 0, (tmp_path / "final.log").read_text()
    pd.testing.assert_frame_equal(reference, read_table(run_dir), obj=f"table after kills at {moments}")
    units = [(kind, key) for kind, key, _ in computed_units(run_dir)]
    assert len(set(units)) <= UNITS_PER_RUN and len(units) == len(set(units)), "a unit computed twice"


def _records(run_dir: Path) -> int:
    folder = run_dir / "units"
    return len(list(folder.glob("*/*.json"))) if folder.exists() else 0
