"""`w2s submit`: the plan's workers as a SLURM job array, through submitit.

SLURM schedules; the store coordinates. Every array task is the same worker (`w2s run` on the
shared run directory) that claims checkpoints until none is left, so the array size only sets
how many work at once and a lost task costs nothing but its unfinished unit. Pre-emption or a
time limit sends the task submitit's signal: the worker hands its claims back (`checkpoint`)
and submitit requeues it with the same arguments; it resumes from the store. The last
worker to finish writes the table.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import Strict, _read_yaml, _validate
from ..errors import UserError

try:
    import submitit
except ImportError:  # the `slurm` extra is not installed; `w2s submit` says so
    submitit = None


class SlurmSpec(Strict):
    """What to ask SLURM for; from slurm.yaml (key `slurm:`) and the command line, flags winning."""

    workers: int = Field(default=4, gt=0, description="array tasks")
    partition: str | None = None
    gpus_per_task: int = Field(default=1, ge=0, description="GPUs per array task")
    cpus_per_task: int | None = Field(default=8, gt=0)
    mem_gb: float | None = Field(default=None, gt=0)
    time_min: int = Field(default=240, gt=0)
    array_parallelism: int | None = Field(default=None, gt=0, description="array tasks running at once")
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    parallel: Literal["shard", "data"] = "shard"
    setup: list[str] = []
    additional: dict[str, str | int] = {}
    signal_delay_s: int = Field(default=120, ge=10, description="seconds of warning before a kill")
    max_timeouts: int = Field(default=3, ge=0, description="requeues after hitting the time limit")
    job_name: str = "w2s"

    @property
    def tasks_per_node(self) -> int:
        """shard: one worker per GPU; data: one rank per GPU, together one worker."""
        return max(1, self.gpus_per_task)


def load_spec(path: Path | None, overrides: dict) -> SlurmSpec:
    data: dict = {}
    if path is not None and path.exists():
        raw = _read_yaml(path) or {}
        if not isinstance(raw, dict) or set(raw) - {"slurm"}:
            raise UserError(f"{path}: expected a single top-level key 'slurm'")
        data = dict(raw.get("slurm") or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    return _validate(SlurmSpec, data, path or Path("command line"))


def slurm_parameters(spec: SlurmSpec) -> dict:
    """submitit.SlurmExecutor's own parameter names: what ends up as #SBATCH lines."""
    params = {
        "job_name": spec.job_name, "time": spec.time_min, "nodes": 1, "ntasks_per_node": spec.tasks_per_node,
        "gpus_per_node": spec.gpus_per_task or None, "cpus_per_task": spec.cpus_per_task,
        "mem": f"{int(round(spec.mem_gb * 1024))}MB" if spec.mem_gb else None,
        "partition": spec.partition, "account": spec.account, "qos": spec.qos, "constraint": spec.constraint,
        "array_parallelism": spec.array_parallelism or spec.workers, "signal_delay_s": spec.signal_delay_s,
        "setup": list(spec.setup) or None, "additional_parameters": dict(spec.additional) or None,
    }
    return {k: v for k, v in params.items() if v is not None}


def local_parameters(spec: SlurmSpec) -> dict:
    """The same job for submitit.LocalExecutor: real processes on this machine, no SLURM."""
    return {"timeout_min": spec.time_min, "tasks_per_node": spec.tasks_per_node,
            "gpus_per_node": spec.gpus_per_task, "signal_delay_s": spec.signal_delay_s}


def _require_submitit():
    if submitit is None:
        raise UserError("w2s submit needs submitit: pip install 'w2s-pipeline[slurm]'")
    return submitit


class RunWorker(submitit.helpers.Checkpointable if submitit else object):
    """One array task: `w2s run` on the shared store, claiming units until none is left."""

    def __init__(self, run_argv: list[str], parallel: str, env: dict[str, str]):
        self.run_argv = list(run_argv)
        self.parallel = parallel
        self.env = dict(env)

    def __call__(self) -> int:
        from ..cli import main
        from .distributed import visible_device_for

        job = submitit.JobEnvironment()
        os.environ.update(self.env)
        # Stable across requeues (same job and task id), so a requeued task takes back its own
        # claims at once instead of waiting for them to go stale.
        os.environ["W2S_WORKER_ID"] = f"{job.cluster}-{job.job_id}-t{job.global_rank}"
        if job.num_tasks > 1 and self.parallel == "data":
            submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        elif job.num_tasks > 1:
            device = visible_device_for(job.local_rank)
            if device is not None:
                os.environ["CUDA_VISIBLE_DEVICES"] = device
        rc = main([*self.run_argv, "--parallel", self.parallel])
        if rc != 0:
            raise RuntimeError(f"w2s run exited with status {rc} (see this task's log)")
        return rc

    def checkpoint(self, *args, **kwargs):
        """Pre-empted or out of time: give the claims back now, then let submitit requeue us."""
        import sys

        from .coordinator import release_all_claims

        released = release_all_claims()
        print(f"w2s: pre-empted or out of time: handed back {released} claim(s); submitit requeues this task",
              file=sys.stderr, flush=True)
        return super().checkpoint(*args, **kwargs)


def _executor(kind: str, folder: Path, spec: SlurmSpec):
    sub = _require_submitit()
    if kind == "local":
        ex = sub.LocalExecutor(folder=str(folder), max_num_timeout=spec.max_timeouts)
        ex.update_parameters(**local_parameters(spec))
        return ex
    ex = sub.SlurmExecutor(folder=str(folder), max_num_timeout=spec.max_timeouts)
    ex.update_parameters(**slurm_parameters(spec))
    return ex


def sbatch_script(spec: SlurmSpec, folder: Path) -> str:
    """The sbatch file submitit would submit for this array, made without a SLURM installation."""
    sub = _require_submitit()

    class PlanOnlySlurmExecutor(sub.SlurmExecutor):
        @classmethod
        def affinity(cls) -> int:
            return 1  # no srun needed just to write the script

    ex = PlanOnlySlurmExecutor(folder=str(folder), max_num_timeout=spec.max_timeouts)
    ex.update_parameters(**slurm_parameters(spec))
    if spec.workers > 1:
        ex.parameters["map_count"] = spec.workers  # what submitit sets for an array
    return ex._make_submission_file_text(ex._submitit_command_str, "dry-run")


def worker_env() -> dict[str, str]:
    """Settings the workers must share with the submitter (paths and coordination knobs)."""
    keep = ("W2S_CACHE", "W2S_DATA_DIR", "W2S_SUITES_DIR", "W2S_PROJECT", "W2S_CLAIM_TIMEOUT", "W2S_POLL_SECONDS",
            "W2S_THREADS", "W2S_DIST_TIMEOUT", "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_ENDPOINT")
    return {k: os.environ[k] for k in keep if k in os.environ}


def submit(spec: SlurmSpec, run_argv: list[str], run_dir: Path, executor: str = "slurm"):
    """Submit `spec.workers` workers; returns submitit's jobs."""
    folder = run_dir / "slurm" / "%j"
    # A job unpickles its RunWorker before running any of our code: `pipeline` must import there.
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    ex = _executor(executor, folder, spec)
    workers = [RunWorker(run_argv, spec.parallel, worker_env()) for _ in range(spec.workers)]
    return ex.submit_array(workers)


def dry_run_text(spec: SlurmSpec, run_argv: list[str], run_dir: Path) -> str:
    folder = run_dir / "slurm" / "%j"
    lines = [f"w2s submit --dry-run: {spec.workers} array task(s), each {spec.tasks_per_node} process(es) "
             f"({spec.parallel} mode); nothing submitted",
             "", "submitit.SlurmExecutor parameters:", json.dumps(slurm_parameters(spec), indent=2, sort_keys=True),
             "", "each task runs (as the pickled submitit callable pipeline.scale.slurm.RunWorker):",
             "  w2s " + " ".join(shlex.quote(a) for a in [*run_argv, "--parallel", spec.parallel])]
    try:
        script = sbatch_script(spec, folder)
    except Exception as exc:  # a submitit version whose internals moved: the parameters still stand
        script = f"(could not render the sbatch file with this submitit: {type(exc).__name__}: {exc})"
    lines += ["", "sbatch file:", script]
    return "\n".join(lines)
