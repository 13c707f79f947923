"""Figures for a paper: PGR and the three accuracies against pre-training with the transition
marked, and the weak-step x strong-step PGR grid.

The x axis is the transition fit's own: log10 of tokens (or steps), step 0 at `step_to_x`'s
placeholder half a decade left of the first trained checkpoint and labelled 0.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FixedFormatter, FixedLocator  # noqa: E402

from ..errors import UserError  # noqa: E402
from ..store import atomic_write_bytes  # noqa: E402
from .analysis import (FIT_GROUP, check_analysis_options, checkpoint_axis, human_count, load_run_tables,  # noqa: E402
                       normalise_table, pgr_grid, transition_summary)
from .table import seed_means  # noqa: E402

LINE_GROUP = ["suite", "weak", "mode", "loss"]


def _save(fig, paths: Path | list[Path]) -> Path:
    """One drawing, one file per path, its format from the suffix (png, pdf, svg)."""
    paths = [Path(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths])]
    for path in paths:
        buf = io.BytesIO()
        fmt = path.suffix.lstrip(".") or "png"
        # no creation date in a PDF, so an unchanged table gives an unchanged file
        fig.savefig(buf, format=fmt, dpi=150, metadata={"CreationDate": None} if fmt == "pdf" else None)
        atomic_write_bytes(path, buf.getvalue())
    plt.close(fig)
    return paths[0]


def _decade_ticks(ax, axis) -> None:
    low, high = axis.first_trained_x, float(axis.knots_x.max())
    step = 1 if high - low >= 2 else 0.5
    ticks = list(np.arange(np.ceil(low / step) * step, high + 1e-9, step))
    labels = [f"$10^{{{t:g}}}$" for t in ticks]
    if axis.is_step_zero.any():
        ticks.insert(0, float(axis.x[axis.is_step_zero][0]))
        labels.insert(0, "0")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))


def _transition_x(fit: pd.Series, axis_name: str) -> tuple[float, float, float]:
    """The supported midpoint and its CI in the plot's log10 units (the fit may have used the other axis)."""
    unit = "tokens" if axis_name == "tokens" else "step"
    return tuple(float(np.log10(fit[f"transition_{unit}{suffix}"])) for suffix in ("", "_ci_low", "_ci_high"))


def _sigmoid_curve(fit: pd.Series, x: np.ndarray) -> np.ndarray:
    return fit.plateau_low + (fit.plateau_high - fit.plateau_low) / (1 + np.exp(-(x - fit.midpoint_log10)
                                                                             / fit.width_decades))


def _draw_task(ax_pgr, ax_acc, rows: pd.DataFrame, fits: pd.DataFrame, x_axis: str) -> None:
    axis = checkpoint_axis(rows, x_axis)
    rows = rows.assign(x=axis.x)
    x_of_step = rows.drop_duplicates("step").set_index("step").x
    groups = list(rows.groupby(LINE_GROUP, sort=True))
    varying = [k for i, k in enumerate(LINE_GROUP) if len({key[i] for key, _ in groups}) > 1]
    defined_values = [0.0, 1.0]
    flagged_points = []
    for n, (key, part) in enumerate(groups):
        color = f"C{n}"
        tag = ", ".join(str(v) for k, v in zip(LINE_GROUP, key) if k in varying)
        tag = f" ({tag})" if tag else ""
        by_step = seed_means(part).sort_values("step")
        x = by_step.step.map(x_of_step).to_numpy()
        ax_pgr.plot(x, by_step.pgr_median, marker="o", color=color, label=f"PGR, median over seeds{tag}")
        if by_step.pgr_ci_low.notna().any():
            ax_pgr.fill_between(x, by_step.pgr_ci_low, by_step.pgr_ci_high, color=color, alpha=0.18, lw=0,
                                label="95% paired bootstrap CI (median over seeds)" if n == 0 else None)
            defined_values += [by_step.pgr_ci_low.min(), by_step.pgr_ci_high.max()]
        defined = part[part.pgr_flag == ""]
        ax_pgr.scatter(defined.x, defined.pgr, s=9, alpha=0.5, color="gray", zorder=3,
                       label="single seed" if n == 0 else None)
        defined_values += [defined.pgr.min(), defined.pgr.max()]
        flagged_points.append(part[part.pgr_flag != ""])
        ax_acc.plot(x, by_step.acc_w2s, marker="o", color=color, label=f"w2s{tag}")
        ax_acc.plot(x, by_step.acc_ceiling, marker="s", ms=4, color=color, ls=":", label=f"ceiling{tag}")
        ax_acc.plot(x, by_step.acc_weak, color=color, ls="--", lw=1, label=f"weak supervisor{tag}")

        fit = fits[(fits[LINE_GROUP] == pd.Series(key, index=LINE_GROUP)).all(axis=1)]
        if fit.empty:
            continue
        fit = fit.iloc[0]
        if fit.transition_supported:
            mid, low, high = _transition_x(fit, axis.name)
            for ax in (ax_pgr, ax_acc):
                ax.axvspan(low, high, color=color, alpha=0.12, lw=0)
                ax.axvline(mid, color=color, lw=1.2, ls="-.")
            if fit.fit_metric == "pgr" and fit.x_axis == axis.name:
                curve_x = np.linspace(axis.first_trained_x, float(axis.knots_x.max()), 200)
                ax_pgr.plot(curve_x, _sigmoid_curve(fit, curve_x), color=color, lw=1, alpha=0.8)
            note = (f"switch-on{tag}: step {human_count(fit.transition_step)} "
                    f"[{human_count(fit.transition_step_ci_low)}, {human_count(fit.transition_step_ci_high)}]")
        else:
            note = f"no supported transition{tag}"
        ax_pgr.text(0.02, 0.97 - 0.07 * n, note, transform=ax_pgr.transAxes, va="top", fontsize=7, color=color)

    finite = [v for v in defined_values if np.isfinite(v)]
    low, high = min(finite), max(finite)
    pad = 0.08 * (high - low)
    ax_pgr.set_ylim(low - pad, high + pad)
    flagged = pd.concat(flagged_points) if flagged_points else rows.iloc[:0]
    if len(flagged):  # shown, never dropped: pinned to the frame when off scale or undefined
        y = flagged.pgr.fillna(low).clip(low - pad / 2, high + pad / 2)
        ax_pgr.scatter(flagged.x, y, marker="x", s=22, color="crimson", zorder=4,
                       label="flagged seed (ceiling does not beat weak)")
    ax_pgr.axhline(0, color="k", lw=0.6)
    ax_pgr.axhline(1, color="k", lw=0.6, ls=":")
    unit = "tokens" if axis.name == "tokens" else "step"
    for ax in (ax_pgr, ax_acc):
        _decade_ticks(ax, axis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", framealpha=0.8)
    ax_acc.set_xlabel(f"pre-training {unit} (log scale; 0 = untrained)")


def plot_pgr_vs_step(table: pd.DataFrame, path: Path | list[Path], title: str = "",
                     summary: pd.DataFrame | None = None, x_axis: str = "tokens") -> Path:
    """Per task: PGR with its CI band, single seeds, flagged seeds and the transition (top);
    the three accuracies (bottom). `summary`: `transition_summary`'s table, fitted here when None.
    Several paths write the same figure once per format; the first is returned."""
    table = normalise_table(table)
    done = table[(table.status == "done") & (table.step >= 0)]  # step -1: a revision name without a step
    unplaced = sorted(set(table[(table.status == "done") & (table.step < 0)].revision))
    if summary is None:
        summary = transition_summary(done, x_axis=x_axis) if len(done) else pd.DataFrame(columns=FIT_GROUP)
    tasks = sorted(done.task.unique())
    fig, axes = plt.subplots(2, max(1, len(tasks)), figsize=(5.6 * max(1, len(tasks)), 7.5), squeeze=False,
                             sharex="col")
    if not tasks:
        axes[0, 0].text(0.5, 0.5, "no finished units" + (" with a step" if unplaced else ""), ha="center",
                        transform=axes[0, 0].transAxes)
    if unplaced:
        fig.text(0.01, 0.005, f"not on the axis (no step in the revision name): {', '.join(unplaced)}", fontsize=7)
    for col, task in enumerate(tasks):
        _draw_task(axes[0, col], axes[1, col], done[done.task == task], summary[summary.task == task], x_axis)
        axes[0, col].set_title(task)
    axes[0, 0].set_ylabel("PGR")
    axes[1, 0].set_ylabel("test accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_pgr_grid(table: pd.DataFrame, path: Path | list[Path], title: str = "") -> Path:
    """Median PGR per (weak step, strong step), one panel per (suite, task, mode, loss).
    Grey cells: every seed flagged (PGR undefined); '*': some seeds flagged and left out."""
    grid = pgr_grid(table)
    panels = list(grid.groupby(["suite", "task", "mode", "loss"], sort=True))
    if not panels:
        raise ValueError("no finished units to put on a grid")
    n_strong = max(p.step.nunique() for _, p in panels)
    n_weak = max(p.weak.nunique() for _, p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=((0.42 * n_strong + 2.6) * len(panels), 0.45 * n_weak + 2.6),
                             squeeze=False)
    values = grid.pgr_median.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    vmax = max(1.0, float(finite.max())) if finite.size else 1.0
    for ax, (key, part) in zip(axes[0], panels):
        weak_order = part.drop_duplicates("weak").sort_values(["weak_step", "weak"]).weak.tolist()
        strong_order = sorted(part.step.unique())
        cell = part.set_index(["weak", "step"])
        median = cell.pgr_median.unstack("step").reindex(index=weak_order, columns=strong_order)
        seeds = cell.seeds.unstack("step").reindex(index=weak_order, columns=strong_order)
        flagged = cell.seeds_flagged.unstack("step").reindex(index=weak_order, columns=strong_order)
        image = ax.imshow(np.ma.masked_invalid(median.to_numpy(dtype=float)), cmap="viridis", vmin=vmin,
                          vmax=vmax, aspect="auto")
        for i in range(len(weak_order)):
            for j in range(len(strong_order)):
                value, n_seeds, n_flagged = median.iat[i, j], seeds.iat[i, j], flagged.iat[i, j]
                if not np.isfinite(n_seeds):
                    continue  # no unit at this cell
                if n_flagged == n_seeds:
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="lightgray", hatch="//"))
                    ax.text(j, i, "undef.", ha="center", va="center", fontsize=6)
                    continue
                shade = (value - vmin) / (vmax - vmin)
                ax.text(j, i, f"{value:.2f}" + ("*" if n_flagged else ""), ha="center", va="center", fontsize=6,
                        color="black" if shade > 0.6 else "white")
        ax.set_xticks(range(len(strong_order)), [human_count(s) if s else "0" for s in strong_order],
                      rotation=60, fontsize=7)
        weak_labels = [f"{w.split('@')[-1]}" for w in weak_order]
        ax.set_yticks(range(len(weak_order)), weak_labels, fontsize=7)
        ax.set_xlabel(f"strong checkpoint step ({key[0]}; 0 = untrained)")
        ax.set_ylabel("weak supervisor revision")
        ax.set_title(f"{key[1]} ({key[3]})", fontsize=9)
        fig.colorbar(image, ax=ax, label="PGR, median over seeds", shrink=0.85)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_runs(run_dirs: list[str | Path], grid: bool = False, output_dir: str | Path | None = None,
              x_axis: str = "tokens", metric: str = "pgr") -> list[Path]:
    """`w2s plot`: the runs' tables concatenated; with `grid`, the weak x strong heatmap instead."""
    check_analysis_options(x_axis, metric)
    table = load_run_tables(run_dirs)
    out = Path(output_dir) if output_dir else Path(run_dirs[0]) / "plots"
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir: {out} is a file")
    stem = "pgr_grid" if grid else "pgr_vs_step"
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    if grid:
        if not (table.status == "done").any():
            raise UserError(f"{run_dirs[0]}: no finished units to put on a grid")
        plot_pgr_grid(table, paths)
    else:
        summary = transition_summary(table, x_axis, metric) if (table.status == "done").any() else None
        plot_pgr_vs_step(table, paths, summary=summary, x_axis=x_axis)
    return paths
