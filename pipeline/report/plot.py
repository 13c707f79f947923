"""PGR and the three accuracies against step, per task (log x; step0 shown on a linear stretch)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ..store import atomic_write_bytes  # noqa: E402


def plot_pgr_vs_step(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    import io

    done = table[table.status == "done"]
    tasks = sorted(done.task.unique()) or ["(no finished units)"]
    fig, axes = plt.subplots(2, len(tasks), figsize=(5.2 * len(tasks), 7), squeeze=False, sharex=True)
    for col, task in enumerate(tasks):
        rows = done[done.task == task]
        ax_pgr, ax_acc = axes[0, col], axes[1, col]
        for loss, part in rows.groupby("loss"):
            g = part.groupby("step")
            mean, std = g.pgr.mean(), g.pgr.std().fillna(0)
            ax_pgr.plot(mean.index, mean.values, marker="o", label=f"PGR ({loss})")
            ax_pgr.fill_between(mean.index, mean - std, mean + std, alpha=0.2)
            ax_pgr.scatter(part.step, part.pgr, s=8, alpha=0.4, color="gray")
            ax_acc.plot(mean.index, g.acc_w2s.mean().values, marker="o", label=f"w2s ({loss})")
        g = rows.groupby("step")
        ax_acc.plot(g.acc_ceiling.mean().index, g.acc_ceiling.mean().values, marker="s", label="ceiling")
        ax_acc.plot(g.acc_weak.mean().index, g.acc_weak.mean().values, ls="--", color="k", label="weak")
        ax_pgr.axhline(0, color="k", lw=0.6)
        ax_pgr.axhline(1, color="k", lw=0.6, ls=":")
        ax_pgr.set_title(task)
        ax_pgr.set_ylabel("PGR (mean ± sd over seeds)")
        ax_acc.set_ylabel("test accuracy")
        ax_acc.set_xlabel("pre-training step")
        for ax in (ax_pgr, ax_acc):
            ax.set_xscale("symlog", linthresh=1)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
