"""`accelerate launch` with two CPU processes (gloo): shard mode splits the checkpoints between
the ranks, data mode has both ranks walk the same units in the same order with only the main
rank writing, and a unit failing on one rank leaves no rank waiting.

`accelerate launch --cpu --num_processes 2` starts a single process in accelerate 1.x (its
multi-CPU path needs an MPI hostfile); `--multi_gpu` starts N processes through torchrun
whether or not there are GPUs, and on a CPU-only machine the pipeline picks gloo itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scale_helpers import N_CHECKPOINTS, UNITS_PER_RUN, computed_units, fork_cli, read_table

from pipeline.store import Store

PROBE = Path(__file__).with_name("rank_probe.py")
ACCELERATE = Path(sys.executable).with_name("accelerate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(run_dir: Path, config_args, worker_env, trace: Path, parallel: str, **env) -> subprocess.CompletedProcess:
    cmd = [str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(PROBE), "run", "--parallel", parallel, "--run-dir", str(run_dir), *config_args]
    full_env = {**worker_env, "W2S_TEST_TRACE_DIR": str(trace), "W2S_DIST_TIMEOUT": "60",
                **{k: str(v) for k, v in env.items()}}
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=240)


def _trace(trace: Path, rank: int) -> list[dict]:
    path = trace / f"rank{rank}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_shard_mode_ranks_split_the_checkpoints(config_args, reference, worker_env, tmp_path):
    run_dir, trace = tmp_path / "run", tmp_path / "trace"
    done = _launch(run_dir, config_args, worker_env, trace, "shard", W2S_TEST_SLOW_UNIT=1.0)
    assert done.returncode == 0, done.stdout + done.stderr
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    units = computed_units(run_dir)
    keys = [(kind, key) for kind, key, _ in units]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN
    features_by_worker = {}
    for kind, _, worker in units:
        if kind == "features":
            features_by_worker[worker] = features_by_worker.get(worker, 0) + 1
    assert len(features_by_worker) == 2, f"one rank did all the work: {features_by_worker}"
    ranks = [_trace(trace, r) for r in (0, 1)]
    assert not any(e["process_group"] for events in ranks for e in events if e["event"] == "checkpoint"), \
        "shard mode must not join ranks in a process group"
    for r, events in enumerate(ranks):
        shared = {e["event"] for e in events} & {"manifest", "table"}
        assert shared == ({"manifest", "table"} if r == 0 else set()), f"rank {r} wrote {shared}"


def test_data_mode_ranks_walk_the_same_units_and_survive_a_failing_rank(config_args, reference, worker_env,
                                                                      tmp_path):
    run_dir, trace = tmp_path / "run", tmp_path / "trace"
    # step2 fails on the main rank (a failed unit), step4 on rank 1 only (the main rank's result stands)
    done = _launch(run_dir, config_args, worker_env, trace, "data", W2S_TEST_FAIL="0:step2,1:step4")
    assert done.returncode == 0, done.stdout + done.stderr
    ranks = [_trace(trace, r) for r in (0, 1)]
    walked = [[(e["revision"], e["decision"]) for e in events if e["event"] == "checkpoint"] for events in ranks]
    assert walked[0] == walked[1] and len(walked[0]) == N_CHECKPOINTS
    assert {e["event"] for e in ranks[1]} == {"checkpoint"}, "rank 1 wrote a shared file"
    assert {"manifest", "table"} <= {e["event"] for e in ranks[0]}
    units = computed_units(run_dir)
    assert len({w for _, _, w in units}) == 1, "a non-main rank wrote unit records"
    assert len(list(Path(run_dir, "log").glob("*"))) == 1
    assert all(e["process_group"] for events in ranks for e in events if e["event"] == "checkpoint")
    table = read_table(run_dir).set_index("revision")
    assert table.loc["step2", "status"] == "failed" and "injected on rank 0" in table.loc["step2", "error"]
    assert (table.drop(index="step2").status == "done").all()
    assert "injected on rank 1" in done.stdout + done.stderr

    # The next run (one process) retries the failed unit and ends with the reference table.
    again = fork_cli(["run", "--run-dir", str(run_dir), *config_args], tmp_path / "again.log")
    again.join(300)
    assert again.exitcode == 0, (tmp_path / "again.log").read_text()
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    keys = [(kind, key) for kind, key, _ in computed_units(run_dir)]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN
    assert Store(run_dir).failures("checkpoint") == []
