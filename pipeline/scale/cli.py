"""Command-line pieces for scale-out: `run --parallel/--max-attempts`, `w2s status`, `w2s submit`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from ..errors import UserError
from .coordinator import DEFAULT_MAX_ATTEMPTS, Coordinator


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--parallel", choices=["shard", "data"], default=os.environ.get("W2S_PARALLEL") or "shard",
                     help="under accelerate launch/torchrun: 'shard' = each rank claims whole checkpoints "
                          "(default), 'data' = all ranks run each unit together, data-parallel")
    run.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, metavar="N",
                     help=f"retry a failed checkpoint in later runs until it failed N times (default {DEFAULT_MAX_ATTEMPTS})")


def coordinator_for(args, run_dir: Path) -> Coordinator:
    """The coordinator a `w2s run` process works under: its rank's role and the retry limit."""
    from .distributed import detect_launch

    if args.max_attempts < 1:
        raise UserError("--max-attempts must be at least 1")
    _exit_cleanly_on_sigterm()
    return Coordinator(run_dir, detect_launch(args.parallel), max_attempts=args.max_attempts)


def _exit_cleanly_on_sigterm() -> None:
    """scancel and `kill` send SIGTERM: unwind, so claims are handed back at once. Left alone where
    someone else (submitit) already handles the signal."""
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    except ValueError:  # not the main thread
        pass


def cmd_status(args) -> int:
    from .status import as_json, read_status, render

    status = read_status(args.run_dir)
    print(as_json(status) if args.json else render(status))
    return 0


def _run_dir_of(run_argv: list[str]) -> Path:
    """Where the workers' `w2s run` writes: checked by the real parser, so a typo fails here, not on the cluster."""
    from ..cli import build_parser

    parsed = build_parser().parse_args(["run", *run_argv])
    return Path(parsed.run_dir or Path("runs") / parsed.preset).absolute()


def cmd_submit(args) -> int:
    from ..paths import project_root
    from . import slurm

    run_argv = list(args.run_args)
    if run_argv[:1] == ["--"]:
        run_argv = run_argv[1:]
    if any(a == "--parallel" or a.startswith("--parallel=") for a in run_argv):
        raise UserError("w2s submit: give --parallel to submit, not to the run options")
    run_dir = _run_dir_of(run_argv)
    run_argv = ["run", *run_argv, *([] if _has_run_dir(run_argv) else ["--run-dir", str(run_dir)])]
    run_argv = _absolute_paths(run_argv)
    if "--no-progress" not in run_argv:
        run_argv.append("--no-progress")  # logs, not terminals
    config = Path(args.slurm_config) if args.slurm_config else project_root() / "slurm.yaml"
    spec = slurm.load_spec(config if (args.slurm_config or config.exists()) else None, {
        "workers": args.workers, "partition": args.partition, "gpus_per_task": args.gpus_per_task,
        "cpus_per_task": args.cpus_per_task, "mem_gb": args.mem_gb, "time_min": args.time,
        "array_parallelism": args.array_parallelism, "account": args.account, "qos": args.qos,
        "constraint": args.constraint, "parallel": args.parallel})
    if args.dry_run:
        print(slurm.dry_run_text(spec, run_argv, run_dir))
        return 0
    jobs = slurm.submit(spec, run_argv, run_dir, executor=args.executor)
    print(f"submitted {len(jobs)} worker(s) ({args.executor}): {', '.join(j.job_id for j in jobs)}")
    print(f"logs in {run_dir / 'slurm'}; progress: w2s status {run_dir}")
    if not args.wait:
        return 0
    failed = 0
    for job in jobs:
        try:
            job.result()
            state = "done"
        except Exception as exc:
            failed += 1
            state = f"failed: {str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__}"
        print(f"  {job.job_id}: {state}")
    return 1 if failed else 0


def _has_run_dir(argv: list[str]) -> bool:
    return any(a == "--run-dir" or a.startswith("--run-dir=") for a in argv)


def _absolute_paths(argv: list[str]) -> list[str]:
    """Jobs may start in another directory: path options travel as absolute paths."""
    out, expect_path = [], False
    for a in argv:
        if expect_path:
            out.append(str(Path(a).absolute()))
            expect_path = False
            continue
        name, eq, value = a.partition("=")
        if name in ("--run-dir", "--checkpoints", "--tasks-dir", "--experiments"):
            if eq:
                out.append(f"{name}={Path(value).absolute()}")
            else:
                out.append(a)
                expect_path = True
            continue
        out.append(a)
    return out


def add_commands(sub) -> None:
    status = sub.add_parser("status", help="done / running / failed / pending units of a run, with an ETA")
    status.add_argument("run_dir", metavar="RUN", help="a run directory")
    status.add_argument("--json", action="store_true", help="machine-readable")
    status.set_defaults(func=cmd_status)

    submit = sub.add_parser("submit", help="run the plan as a SLURM job array of workers (submitit)",
                            description="Options after `--` are `w2s run` options for every worker, "
                                        "e.g. w2s submit --workers 8 --partition gpu -- --preset default")
    submit.add_argument("--workers", type=int, help="array tasks (default 4)")
    submit.add_argument("--partition")
    submit.add_argument("--gpus-per-task", type=int, help="GPUs per array task (default 1)")
    submit.add_argument("--cpus-per-task", type=int)
    submit.add_argument("--mem-gb", type=float)
    submit.add_argument("--time", type=int, metavar="MINUTES", help="time limit per task (default 240)")
    submit.add_argument("--array-parallelism", type=int, help="array tasks running at once (default: all)")
    submit.add_argument("--account")
    submit.add_argument("--qos")
    submit.add_argument("--constraint")
    submit.add_argument("--parallel", choices=["shard", "data"],
                        help="with several GPUs per task: shard (one worker per GPU) or data")
    submit.add_argument("--slurm-config", metavar="FILE", help="defaults for the above (default: slurm.yaml)")
    submit.add_argument("--executor", choices=["slurm", "local"], default="slurm",
                        help="local: submitit's LocalExecutor, real processes on this machine")
    submit.add_argument("--dry-run", action="store_true", help="print the sbatch file and parameters; submit nothing")
    submit.add_argument("--wait", action="store_true", help="wait for every worker and report how each ended")
    submit.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then `w2s run` options")
    submit.set_defaults(func=cmd_submit)
