"""`w2s submit`: the sbatch file a cluster would get (no SLURM needed), and the same workers run
for real by submitit's LocalExecutor, one of them pre-empted and requeued mid-run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time

import pandas as pd
import pytest
from scale_helpers import UNITS_PER_RUN, computed_units, read_table

from pipeline.cli import main

submitit = pytest.importorskip("submitit")


def _submit_output(*argv) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["submit", *argv]) == 0
    return out.getvalue()


def test_dry_run_shows_what_slurm_would_get(config_args, tmp_path):
    run_dir = tmp_path / "run"
    slurm_yaml = tmp_path / "slurm.yaml"
    slurm_yaml.write_text("slurm:\n  partition: from-config\n  account: proj42\n  mem_gb: 32\n")
    out = _submit_output("--slurm-config", str(slurm_yaml), "--workers", "8", "--partition", "gpu",
                         "--gpus-per-task", "1", "--time", "120", "--array-parallelism", "4", "--dry-run",
                         "--", "--run-dir", str(run_dir), *config_args)
    for line in ("#SBATCH --array=0-7%4", "#SBATCH --partition=gpu", "#SBATCH --account=proj42",
                 "#SBATCH --gpus-per-node=1", "#SBATCH --ntasks-per-node=1", "#SBATCH --time=120",
                 "#SBATCH --mem=32768MB", "#SBATCH --signal=USR2@120", "-m submitit.core._submit"):
        assert line in out, f"{line!r} missing from:\n{out}"
    params = json.loads(out[out.index("{"):out.index("}") + 1])
    assert params["partition"] == "gpu" and params["array_parallelism"] == 4 and params["time"] == 120
    assert f"w2s run --run-dir {run_dir}" in out and "--parallel shard" in out
    assert not run_dir.exists(), "a dry run must not touch the run directory"

    data = _submit_output("--workers", "2", "--gpus-per-task", "4", "--parallel", "data", "--dry-run",
                          "--", "--run-dir", str(run_dir), *config_args)
    assert "#SBATCH --array=0-1%2" in data and "#SBATCH --ntasks-per-node=4" in data
    assert "#SBATCH --gpus-per-node=4" in data and "--parallel data" in data


def test_a_typo_in_the_run_options_fails_at_submit_time(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["submit", "--dry-run", "--", "--run-dir", str(tmp_path), "--seeeds", "0"])
    assert "--seeeds" in capsys.readouterr().err


def test_local_executor_workers_survive_a_preemption(config_args, reference, tmp_path, monkeypatch):
    from pipeline.scale import slurm

    for name, value in {"W2S_THREADS": "1", "OMP_NUM_THREADS": "1", "W2S_POLL_SECONDS": "0.2",
                        "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    run_dir = tmp_path / "run"
    spec = slurm.load_spec(None, {"workers": 2, "time_min": 60, "gpus_per_task": 0})
    run_argv = ["run", "--run-dir", str(run_dir), *config_args]
    jobs = slurm.submit(spec, run_argv, run_dir, executor="local")
    assert len(jobs) == 2
    worker = f"local-{jobs[0].job_id}-t0"
    first_log = run_dir / "log" / f"{worker}.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and not (first_log.exists() and first_log.read_text().count("\n") >= 1):
        time.sleep(0.1)
        assert not jobs[0].done(), jobs[0].stderr()
    # What SLURM does before pre-empting a task: submitit's signal (USR2) to the task's process.
    # (LocalJob._interrupt signals the local controller, which does not pass USR2 on.)
    [task] = [json.loads(p.read_text()) for p in (run_dir / "claims" / "workers").glob("*.lock")
              if json.loads(p.read_text())["worker"] == worker]
    os.kill(task["pid"], signal.SIGUSR2)
    for job in jobs:
        job.result()  # raises if a worker failed
    stderr, stdout = jobs[0].stderr() or "", jobs[0].stdout() or ""
    assert "handed back" in stderr and "this job is preempted" in stdout + stderr, stdout + stderr
    assert "Requeued" in stdout + stderr
    assert stdout.count("Starting with JobEnvironment") == 2, "the task did not run again after its requeue"
    pd.testing.assert_frame_equal(reference, read_table(run_dir))
    keys = [(kind, key) for kind, key, _ in computed_units(run_dir)]
    assert len(keys) == len(set(keys)) == UNITS_PER_RUN
    assert not list((run_dir / "claims").rglob("*.lock"))
