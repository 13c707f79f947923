"""Shared fixtures for the scale-out tests: one micro suite, one uninterrupted reference run.

The suite is built once per session into the session's W2S_SUITES_DIR (see tests/conftest.py)
and every worker, subprocess or not, reads it from there. The suite shape is the one of
tests/test_end_to_end.py, so a session running both builds it once.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from scale_helpers import EXPERIMENTS, N_CHECKPOINTS, fork_cli, read_table

from pipeline.cli import main
from pipeline.paths import project_root


@pytest.fixture(scope="session")
def config_args(micro_config) -> list[str]:
    args = micro_config(EXPERIMENTS)
    for suite in ("micro-weak", "micro"):
        assert main(["suite", "build", suite, *args[:-1], "--no-progress"]) == 0
    return args


@pytest.fixture(scope="session")
def worker_env() -> dict[str, str]:
    """What every worker process runs with: the session's suites, one thread, quick polling."""
    env = dict(os.environ)
    env.update(W2S_THREADS="1", OMP_NUM_THREADS="1", W2S_POLL_SECONDS="0.2", HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(project_root()))
    env.pop("W2S_TEST_KILL_AFTER_WRITES", None)
    env.pop("W2S_CLAIM_TIMEOUT", None)
    return env


@pytest.fixture(scope="session")
def reference(config_args, tmp_path_factory) -> pd.DataFrame:
    """The table of one uninterrupted single-worker run: what every scaled-out run must reproduce."""
    run_dir = tmp_path_factory.mktemp("reference")
    proc = fork_cli(["run", "--run-dir", str(run_dir), *config_args], run_dir / "run.log")
    proc.join(300)
    assert proc.exitcode == 0, (run_dir / "run.log").read_text()
    table = read_table(run_dir)
    assert (table.status == "done").all() and len(table) == N_CHECKPOINTS
    return table
