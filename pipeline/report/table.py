"""The PGR-versus-step table: one row per (suite, revision, task, mode, loss, seed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.uncertainty import pgr, pgr_status
from ..store import atomic_write_text

COLUMNS = ["suite", "revision", "step", "tokens", "commit_sha", "task", "mode", "loss", "seed", "weak",
           "acc_weak", "acc_ceiling", "acc_w2s", "pgr", "pgr_flag", "status", "error", "duplicate_of"]


def build_table(rows, tasks, weak, weak_units, exp, store) -> pd.DataFrame:
    """`rows`: (checkpoint, head keys by (task, seed, loss), failure reason or '')."""
    records = []
    for ckpt, keys, error in rows:
        for t in tasks:
            for s in exp.seeds:
                acc_weak = float(weak_units[(t, s)]["acc_weak"])
                ceiling = store.read_record("head", keys[(t, s, "ceiling")]) if keys else None
                for loss in exp.losses:
                    w2s = store.read_record("head", keys[(t, s, loss)]) if keys else None
                    acc_c = ceiling["accuracy"] if ceiling else math.nan
                    acc_s = w2s["accuracy"] if w2s else math.nan
                    done = ceiling is not None and w2s is not None
                    records.append({
                        "suite": ckpt.suite, "revision": ckpt.revision, "step": ckpt.step,
                        "tokens": ckpt.tokens, "commit_sha": ckpt.commit_sha, "task": t, "mode": exp.mode,
                        "loss": loss, "seed": s, "weak": weak.label, "acc_weak": acc_weak,
                        "acc_ceiling": acc_c, "acc_w2s": acc_s,
                        "pgr": float(pgr(acc_weak, acc_c, acc_s)) if done else math.nan,
                        "pgr_flag": pgr_status(acc_weak, acc_c, exp.pgr_margin) if done else "",
                        "status": "done" if done else "failed",
                        "error": error if not done else "",
                        "duplicate_of": ckpt.duplicate_of.revision if ckpt.duplicate_of else "",
                    })
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    return table.sort_values(["task", "loss", "step", "seed"], kind="stable").reset_index(drop=True)


def seed_means(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds per (task, loss, revision): the numbers a reader looks at first."""
    done = table[table.status == "done"]
    grouped = done.groupby(["task", "loss", "step", "revision"], sort=True)
    out = grouped.agg(acc_weak=("acc_weak", "mean"), acc_ceiling=("acc_ceiling", "mean"),
                      acc_w2s=("acc_w2s", "mean"), pgr=("pgr", "mean"), pgr_std=("pgr", "std"),
                      seeds=("seed", "count")).reset_index()
    return out


def _markdown(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".3f")


def write_table(table: pd.DataFrame, store) -> list[Path]:
    csv_path = store.output_path("pgr_vs_step.csv")
    md_path = store.output_path("pgr_vs_step.md")
    atomic_write_text(csv_path, table.to_csv(index=False))
    summary = seed_means(table)
    flagged = table[table.pgr_flag != ""]
    failed = table[table.status != "done"]
    parts = ["# PGR versus step", "", "## Mean over seeds", "", _markdown(summary), ""]
    if len(failed):
        parts += ["## Failed", "", _markdown(failed[["suite", "revision", "task", "error"]].drop_duplicates()), ""]
    if len(flagged):
        parts += [f"{len(flagged)} row(s) flagged: PGR is computed but not meaningful where the ceiling "
                  "does not beat the weak supervisor (see `pgr_flag`).", ""]
    parts += ["## Every unit", "", _markdown(table.drop(columns=["commit_sha", "error"])), ""]
    atomic_write_text(md_path, "\n".join(parts))
    return [csv_path, md_path]


def read_table(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / "pgr_vs_step.csv", keep_default_na=False,
                       na_values={c: [""] for c in ("acc_ceiling", "acc_w2s", "pgr", "tokens")})
