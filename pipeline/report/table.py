"""The PGR-versus-step table: one row per (suite, revision, task, mode, loss, seed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.uncertainty import auroc, paired_bootstrap_pgr, pgr, pgr_status, seed_summary
from ..store import atomic_write_text

COLUMNS = ["suite", "revision", "step", "tokens", "commit_sha", "task", "mode", "loss", "seed", "weak",
           "weak_step", "acc_weak", "acc_ceiling", "acc_w2s", "pgr", "pgr_ci_low", "pgr_ci_high",
           "auroc_weak", "auroc_ceiling", "auroc_w2s", "n_test", "pgr_flag", "status", "error", "duplicate_of"]
NUMERIC_OPTIONAL = ("acc_ceiling", "acc_w2s", "pgr", "tokens", "weak_step", "pgr_ci_low", "pgr_ci_high",
                    "auroc_weak", "auroc_ceiling", "auroc_w2s", "n_test")

# 1000 resamples put the 2.5% quantile on 25 draws: stable to ~0.01 in PGR; ~30 ms per unit.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_ALPHA = 0.05


def _uncertainty(y_test: np.ndarray, weak_proba: np.ndarray, ceiling_proba: np.ndarray,
                 w2s_proba: np.ndarray, seed: int, margin: float, n_boot: int) -> dict:
    """Paired bootstrap CI of PGR and the three AUROCs from one unit's test predictions.

    The resampling seed is the split seed, so a rebuilt table has identical CIs."""
    boot = paired_bootstrap_pgr(y_test, weak_proba, ceiling_proba, w2s_proba, n_boot=n_boot,
                                alpha=BOOTSTRAP_ALPHA, seed=seed, margin=margin)
    return {"pgr_ci_low": boot.ci_low, "pgr_ci_high": boot.ci_high, "auroc_weak": auroc(y_test, weak_proba),
            "auroc_ceiling": auroc(y_test, ceiling_proba), "auroc_w2s": auroc(y_test, w2s_proba)}


def build_table(rows, tasks, weak, weak_units, exp, store, n_boot: int = BOOTSTRAP_RESAMPLES) -> pd.DataFrame:
    """`rows`: (checkpoint, head keys by (task, seed, loss), failure reason or '');
    `tasks`: TaskPlan by task id, whose labels score the stored test predictions."""
    records = []
    missing = dict.fromkeys(["pgr_ci_low", "pgr_ci_high", "auroc_weak", "auroc_ceiling", "auroc_w2s"], math.nan)
    for ckpt, keys, error in rows:
        for t in tasks:
            for s in exp.seeds:
                weak_unit = weak_units[(t, s)]
                acc_weak = float(weak_unit["acc_weak"])
                y_test = tasks[t].data.labels[weak_unit["test_index"]]
                ceiling = store.read_record("head", keys[(t, s, "ceiling")]) if keys else None
                ceiling_proba = store.read_arrays("head", ceiling["key"])["test_proba"] if ceiling else None
                for loss in exp.losses:
                    w2s = store.read_record("head", keys[(t, s, loss)]) if keys else None
                    acc_c = ceiling["accuracy"] if ceiling else math.nan
                    acc_s = w2s["accuracy"] if w2s else math.nan
                    done = ceiling is not None and w2s is not None
                    spread = _uncertainty(y_test, weak_unit["test_proba"], ceiling_proba,
                                          store.read_arrays("head", w2s["key"])["test_proba"], s,
                                          exp.pgr_margin, n_boot) if done else missing
                    records.append({
                        "suite": ckpt.suite, "revision": ckpt.revision, "step": ckpt.step,
                        "tokens": ckpt.tokens, "commit_sha": ckpt.commit_sha, "task": t, "mode": exp.mode,
                        "loss": loss, "seed": s, "weak": weak.label, "weak_step": weak.step,
                        "acc_weak": acc_weak, "acc_ceiling": acc_c, "acc_w2s": acc_s,
                        "pgr": float(pgr(acc_weak, acc_c, acc_s)) if done else math.nan, **spread,
                        "n_test": int(len(y_test)),
                        "pgr_flag": pgr_status(acc_weak, acc_c, exp.pgr_margin) if done else "",
                        "status": "done" if done else "failed",
                        "error": error if not done else "",
                        "duplicate_of": ckpt.duplicate_of.revision if ckpt.duplicate_of else "",
                    })
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    return table.sort_values(["task", "loss", "step", "seed"], kind="stable").reset_index(drop=True)


SEED_GROUP = ["suite", "weak", "task", "mode", "loss", "step", "revision", "tokens"]


def seed_means(table: pd.DataFrame) -> pd.DataFrame:
    """Across seeds per checkpoint: accuracies' means, and PGR's median and spread over the seeds
    whose PGR is defined (a flagged seed's PGR can be any size, so it would swamp a mean)."""
    done = table[table.status == "done"]
    keys = [k for k in SEED_GROUP if k in done.columns]
    rows = []
    for key, part in done.groupby(keys, sort=True, dropna=False):
        defined = part[part.pgr_flag.fillna("") == ""]
        pgr_seeds = seed_summary(defined.pgr)
        row = dict(zip(keys, key))
        row.update(acc_weak=part.acc_weak.mean(), acc_ceiling=part.acc_ceiling.mean(), acc_w2s=part.acc_w2s.mean(),
                   pgr_median=pgr_seeds.median, pgr_q25=pgr_seeds.q25, pgr_q75=pgr_seeds.q75,
                   pgr_min=pgr_seeds.min, pgr_max=pgr_seeds.max, pgr=pgr_seeds.mean, pgr_std=pgr_seeds.std,
                   seeds=len(part), seeds_flagged=len(part) - len(defined))
        if "pgr_ci_low" in part.columns:
            # the typical single-seed bootstrap interval, for the plot's band
            row.update(pgr_ci_low=defined.pgr_ci_low.median(), pgr_ci_high=defined.pgr_ci_high.median())
        rows.append(row)
    columns = keys + ["acc_weak", "acc_ceiling", "acc_w2s", "pgr_median", "pgr_q25", "pgr_q75", "pgr_min",
                      "pgr_max", "pgr", "pgr_std", "seeds", "seeds_flagged"]
    if "pgr_ci_low" in done.columns:
        columns += ["pgr_ci_low", "pgr_ci_high"]
    return pd.DataFrame.from_records(rows, columns=columns)


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
                       na_values={c: ["", "nan", "NaN"] for c in NUMERIC_OPTIONAL})
