"""Helpers for tests/scale: the micro config, worker processes, and reading what they did."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from pipeline.paths import project_root

# Small on purpose: 7 checkpoints x (features + ceiling + w2s head) + the weak supervisor.
EXPERIMENTS = """
experiments:
  default:
    suite: micro
    tasks: [bbc_business_vs_tech]
    seeds: [0]
    max_tokens: 32
    max_examples_per_task: 80
    head: {max_iter: 50}
"""
N_CHECKPOINTS = 7
UNITS_PER_RUN = 1 + 1 + N_CHECKPOINTS * 3  # weak features, weak head, then features + 2 heads each


def read_table(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / "pgr_vs_step.csv")


def start_cli(args: list[str], env: dict[str, str], log: Path, **extra_env) -> subprocess.Popen:
    """`python -m pipeline ARGS` as a real, separate process, its output in `log`."""
    full_env = {**env, **{k: str(v) for k, v in extra_env.items()}}
    fh = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=full_env, stdout=fh,
                            stderr=subprocess.STDOUT, cwd=project_root())


def computed_units(run_dir: Path) -> list[tuple[str, str, str]]:
    """(kind, key, worker) for every unit any worker wrote, from the workers' logs."""
    from pipeline.store import Store

    return [(e["kind"], e["key"], e["worker"]) for e in Store(run_dir).log_entries() if e["event"] == "unit"]


# -- processes forked from a preloaded interpreter ------------------------------------------------
# Importing torch and transformers costs ~7 s on a loaded 2-core machine; a dozen kill points
# would spend minutes importing. A forkserver imports the pipeline once and forks each worker
# from it: every worker is still a separate process running `pipeline.cli.main(["run", ...])`,
# the entry point of `python -m pipeline run`, and dies by a real SIGKILL.
_FORKSERVER = None


def _forkserver():
    global _FORKSERVER
    if _FORKSERVER is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["pipeline.cli", "pipeline.runner", "pipeline.report.plot",
                                    "pipeline.report.table", "transformers", "scale_helpers"])
        _FORKSERVER = ctx
    return _FORKSERVER


def _cli_in_child(args: list[str], env: dict[str, str], log: str) -> None:
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from pipeline.cli import main

    code = main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fork_cli(args: list[str], log: Path, **env) -> "multiprocessing.Process":
    """Start `w2s ARGS` in a process forked from the preloaded server; `.join()`, then `.exitcode`."""
    base = {"W2S_THREADS": "1", "OMP_NUM_THREADS": "1", "W2S_POLL_SECONDS": "0.2", "HF_HUB_OFFLINE": "1",
            "W2S_SUITES_DIR": os.environ["W2S_SUITES_DIR"]}
    proc = _forkserver().Process(target=_cli_in_child,
                                 args=(list(args), {**base, **{k: str(v) for k, v in env.items()}}, str(log)))
    proc.start()
    return proc
