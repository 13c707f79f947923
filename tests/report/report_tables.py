"""Synthetic PGR tables with a known answer, and run directories holding them.

A table is what `build_table` writes, so the analysis is tested without training anything.
"""

import numpy as np
import pandas as pd
from pipeline.report.table import COLUMNS
from pipeline.store import Store, atomic_write_text

STEPS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 4000, 8000, 16000, 32000, 64000]
TOKENS_PER_STEP = 2048
FLAG = "ceiling below weak by 0.02: PGR denominator negative"


def synthetic_table(task="t_rise", midpoint_step=1000.0, jump=0.6, noise=0.03, seeds=(0, 1, 2),
                    weak="toy-weak@step8", weak_step=8, flat=False, tokens=True, rng_seed=0):
    """PGR = 0.05 + jump * sigmoid((log10 tokens - log10 midpoint tokens) / 0.15) + noise."""
    rng = np.random.default_rng(rng_seed)
    first_x = np.log10(TOKENS_PER_STEP)
    rows = []
    for step in STEPS:
        x = np.log10(step * TOKENS_PER_STEP) if step else first_x - 0.5
        mean = 0.05 if flat else 0.05 + jump / (1 + np.exp(-(x - np.log10(midpoint_step * TOKENS_PER_STEP)) / 0.15))
        for seed in seeds:
            value = mean + rng.normal(0, noise)
            acc_weak, acc_ceiling = 0.70, 0.90
            rows.append({
                "suite": "toy", "revision": f"step{step}", "step": step,
                "tokens": step * TOKENS_PER_STEP if tokens else np.nan, "commit_sha": f"{step:040x}",
                "task": task, "mode": "probe", "loss": "xent", "seed": seed, "weak": weak, "weak_step": weak_step,
                "acc_weak": acc_weak, "acc_ceiling": acc_ceiling, "acc_w2s": acc_weak + value * (acc_ceiling - acc_weak),
                "pgr": value, "pgr_ci_low": value - 0.08, "pgr_ci_high": value + 0.08, "auroc_weak": 0.74,
                "auroc_ceiling": 0.95, "auroc_w2s": 0.8, "n_test": 600, "pgr_flag": "", "status": "done",
                "error": "", "duplicate_of": "",
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def flag_rows(table, mask, pgr=None):
    """Make the ceiling lose to weak on these rows, as a real run flags them."""
    table = table.copy()
    table.loc[mask, "acc_ceiling"] = table.loc[mask, "acc_weak"] - 0.02
    table.loc[mask, "pgr_flag"] = FLAG
    if pgr is not None:
        table.loc[mask, "pgr"] = pgr
    table.loc[mask, ["pgr_ci_low", "pgr_ci_high"]] = np.nan
    return table


def two_task_table():
    """A rising task, a flat one, two flagged units (one with PGR undefined) and a failed checkpoint."""
    table = pd.concat([synthetic_table("t_rise"), synthetic_table("t_flat", flat=True, rng_seed=1)],
                      ignore_index=True)
    table = flag_rows(table, (table.task == "t_rise") & (table.step == 0) & (table.seed == 0), pgr=-40.0)
    table = flag_rows(table, (table.task == "t_rise") & (table.step == 1) & (table.seed == 1), pgr=np.nan)
    failed = (table.task == "t_flat") & (table.step == 2)
    table.loc[failed, ["acc_ceiling", "acc_w2s", "pgr", "pgr_ci_low", "pgr_ci_high", "auroc_ceiling", "auroc_w2s"]] = np.nan
    table.loc[failed, "status"] = "failed"
    table.loc[failed, "error"] = "OSError: weights unreadable"
    return table


def write_run(run_dir, table, manifest=None):
    atomic_write_text(run_dir / "pgr_vs_step.csv", table.to_csv(index=False))
    if manifest is not None:
        Store(run_dir).write_manifest(manifest)
    return run_dir


MANIFEST = {
    "run": "toy", "pipeline_version": "0.1.0", "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "created": "2025-01-01T00:00:00+0000", "updated": "2025-01-02T00:00:00+0000", "invocations": 2,
    "command": ["w2s", "run"], "python": "3.11.0", "platform": "Linux",
    "versions": {"torch": "2.99.1-toy", "transformers": "5.0.0-toy", "numpy": "2.4.6"},
    "experiment": {"suite": "toy", "seeds": [0, 1, 2]},
    "tasks": {"t_rise": {"version": 1, "examples_sha256": "feedfacefeedface", "n_examples": 900, "n_used": 600}},
    "data": {"bbc-fulltext.zip": "c0ffee00c0ffee00"},
    "weak_checkpoint": {"repo": "toy-weak", "revision": "step8", "commit_sha": "beefbeef", "suite": "toy-weak", "step": 8},
    "checkpoints": [{"repo": "toy", "revision": f"step{s}", "commit_sha": f"{s:040x}", "step": s,
                     "tokens": s * TOKENS_PER_STEP} for s in STEPS],
}
