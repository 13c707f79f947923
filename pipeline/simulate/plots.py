"""Figures for the four experiments.

Built on matplotlib's object API with the Agg canvas, so plotting never touches pyplot's global
state or needs a display, and rendering to bytes lets the caller write the PNG atomically.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .spectral import bbp_overlap_sq

DPI = 100
KIND_COLORS = {"misaligned": "tab:red", "structured": "tab:blue", "noise": "tab:green"}


def figure_png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def plot_bbp(table: pd.DataFrame, summary: dict) -> Figure:
    betas = sorted(table["beta"].unique())
    figure = Figure(figsize=(5.2 * len(betas), 4.0), layout="constrained")
    axes = figure.subplots(1, len(betas), squeeze=False)[0]
    dims = sorted(table["d"].unique())
    colors = dict(zip(dims, ["tab:orange", "tab:blue", "tab:purple", "tab:green", "tab:brown"]))
    for ax, beta in zip(axes, betas):
        block = table[table["beta"] == beta]
        stats = block.groupby(["d", "n_pre"]).agg(mean=("overlap_sq", "mean"), sem=("overlap_sq", "sem")).reset_index()
        for d in dims:
            rows = stats[stats["d"] == d]
            ax.errorbar(rows["n_pre"] / d, rows["mean"], yerr=rows["sem"].fillna(0), marker="o", ms=4, lw=1,
                        capsize=2, color=colors[d], label=f"measured, d={d}")
        ratio = np.geomspace((block["n_pre"] / block["d"]).min(), (block["n_pre"] / block["d"]).max(), 400)
        ax.plot(ratio, bbp_overlap_sq(1 / ratio, beta), color="black", lw=1.8, label="closed form (d, N -> inf)")
        ax.axvline(1 / beta**2, color="gray", ls="--", lw=1, label=f"threshold N/d = 1/beta^2 = {1 / beta**2:g}")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("N_pre / d  (= 1 / gamma)")
        ax.set_ylabel("squared overlap <v_top, u>^2")
        ax.set_title(f"spectral start vs pre-training, beta = {beta:g}")
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    return figure


def plot_escape(table: pd.DataFrame, summary: dict, d: int, batch: int) -> Figure:
    links = list(dict.fromkeys(table["link"]))
    figure = Figure(figsize=(5.6 * len(links), 4.2), layout="constrained")
    axes = figure.subplots(1, len(links), squeeze=False)[0]
    styles = {("random", "true"): ("tab:gray", "-"), ("random", "weak"): ("tab:gray", "--"),
              ("spectral", "true"): ("tab:blue", "-"), ("spectral", "weak"): ("tab:blue", "--")}
    for ax, link in zip(axes, links):
        block = table[(table["link"] == link) & (table["step"] > 0)].assign(abs_overlap=lambda t: t["overlap"].abs())
        k = int(block["information_exponent"].iloc[0])
        for (start, labels), (color, style) in styles.items():
            curve = block[(block["start"] == start) & (block["labels"] == labels)].groupby("samples")["abs_overlap"]
            median, low, high = curve.median(), curve.quantile(0.25), curve.quantile(0.75)
            ax.plot(median.index, median.values, color=color, ls=style, lw=1.6, label=f"{start} start, {labels} labels")
            ax.fill_between(median.index, low.values, high.values, color=color, alpha=0.12)
        ax.axhline(1 / math.sqrt(d), color="black", ls=":", lw=1, label="d^-1/2 (random overlap)")
        scale = d ** (k - 1) * (math.log(d) if k == 2 else 1.0)
        ax.axvline(scale, color="tab:red", ls=":", lw=1, label="d log d samples" if k == 2 else f"d^{k - 1} samples")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(5e-3, 1.5)
        ax.set_xlim(block["samples"].min() * 0.8, max(block["samples"].max(), scale) * 1.25)
        ax.set_xlabel(f"samples seen (steps x batch {batch})")
        ax.set_ylabel("|<w, w*>|  (median, IQR band)")
        ax.set_title(f"{link}: information exponent k = {k}, d = {d}")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    return figure


def plot_transition(per_point: pd.DataFrame, runs: pd.DataFrame, summary: dict) -> Figure:
    figure = Figure(figsize=(7.0, 9.0), layout="constrained")
    ax_overlap, ax_error, ax_pgr = figure.subplots(3, 1, sharex=True)
    threshold = summary["threshold_n_pre"]
    n_pre = per_point["n_pre"]
    ax_overlap.plot(n_pre, per_point["initial_overlap_sq"], "o-", color="tab:blue", ms=4, label="measured spectral start")
    fine = np.geomspace(n_pre.min(), n_pre.max(), 400)
    tilt = math.cos(math.radians(summary.get("spike_angle_deg", 0.0))) ** 2
    ax_overlap.plot(fine, tilt * bbp_overlap_sq(summary["d"] / fine, summary["beta"]), color="black", lw=1.5, label="closed form")
    ax_overlap.set_ylabel("<w0, w*>^2")
    ax_overlap.set_title("pre-training -> start -> weak-to-strong (k = %d, d = %d)" % (summary["information_exponent"], summary["d"]))
    grouped = runs.groupby("n_pre")
    for column, color, label in (("err_w2s", "tab:red", "w2s student (weak labels)"),
                                 ("err_ceiling", "tab:green", "ceiling (same start, true labels)"),
                                 ("err_init", "tab:gray", "start, before training")):
        mean = grouped[column].mean()
        ax_error.plot(mean.index, mean.values, "o-", ms=4, color=color, label=label)
        ax_error.fill_between(mean.index, grouped[column].quantile(0.25).values, grouped[column].quantile(0.75).values,
                              color=color, alpha=0.12)
    ax_error.axhline(summary["err_weak"], color="black", ls="--", lw=1.2, label=f"weak supervisor ({summary['err_weak']:.2f})")
    ax_error.set_yscale("log")
    ax_error.set_ylabel("population MSE vs truth")
    defined = per_point["pgr"].notna()
    ax_pgr.errorbar(n_pre[defined], per_point.loc[defined, "pgr"],
                    yerr=[(per_point["pgr"] - per_point["pgr_low"])[defined].clip(lower=0),
                          (per_point["pgr_high"] - per_point["pgr"])[defined].clip(lower=0)],
                    fmt="o-", ms=4, color="tab:red", capsize=2, label="PGR (ceiling = same start, true labels)")
    undefined = n_pre[~defined]
    if len(undefined):
        ax_pgr.plot(undefined, np.zeros(len(undefined)), "x", color="tab:red", ms=7,
                    label="PGR undefined: ceiling no better than weak")
    ax_pgr.plot(n_pre, per_point["oracle_pgr"].clip(lower=-1.5), "s--", ms=3, color="tab:purple", lw=1,
                label="1 - err_w2s / err_weak (clipped at -1.5)")
    ax_pgr.axhline(0, color="black", lw=0.8)
    ax_pgr.set_ylim(-1.6, 1.15)
    ax_pgr.set_ylabel("performance gap recovered")
    ax_pgr.set_xlabel("N_pre (unlabelled pre-training samples)")
    if summary.get("pgr_turns_positive_at_n_pre"):
        ax_pgr.axvline(summary["pgr_turns_positive_at_n_pre"], color="tab:red", ls=":", lw=1.2,
                       label=f"PGR > 0 from N_pre = {summary['pgr_turns_positive_at_n_pre']}")
    for ax in (ax_overlap, ax_error, ax_pgr):
        ax.axvline(threshold, color="gray", ls="--", lw=1, label=f"BBP threshold d/beta^2 = {threshold:g}")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return figure


def plot_saturation(results: pd.DataFrame, trajectories: pd.DataFrame, summary: dict) -> Figure:
    kinds = list(dict.fromkeys(results["kind"]))
    figure = Figure(figsize=(4.3 * (len(kinds) + 1), 4.0), layout="constrained")
    axes = figure.subplots(1, len(kinds) + 1)
    ax = axes[0]
    biased = results[results["err_weak"] > 1e-9]
    for kind in kinds:
        stats = biased[biased["kind"] == kind].groupby("err_weak")["err_w2s"]
        ax.errorbar(stats.mean().index, stats.mean().values, yerr=stats.sem().fillna(0).values, marker="o", ms=4, capsize=2,
                    color=KIND_COLORS.get(kind), label=kind)
    span = np.geomspace(biased["err_weak"].min(), biased["err_weak"].max(), 10)
    ax.plot(span, span, color="black", ls="--", lw=1, label="student = supervisor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("weak supervisor's error (size of its bias)")
    ax.set_ylabel("final w2s error")
    ax.set_title(f"plateau vs bias (ceiling {results['err_ceiling'].mean():.1g})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, kind in zip(axes[1:], kinds):
        block = trajectories[(trajectories["kind"] == kind) & (trajectories["step"] > 0)]
        sizes = sorted(size for size in block["size"].unique() if size > 0)
        for index, size in enumerate(sizes):
            curve = block[block["size"] == size]
            color = f"C{index}"
            ax.plot(curve["step"], curve["err_w2s"], color=color, lw=1.5, label=f"{curve['parameter'].iloc[0]} = {size:g}")
            ax.axhline(curve["err_weak"].iloc[0], color=color, ls="--", lw=0.8)
        ceiling = block[block["size"] == sizes[0]] if sizes else block
        ax.plot(ceiling["step"], ceiling["err_ceiling"], color="black", lw=1, ls=":", label="ceiling (true labels)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(5e-3, 20)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("w2s error (dashed: its supervisor)")
        ax.set_title(f"{kind}: trajectories")
        ax.legend(fontsize=7, loc="lower left")
        ax.grid(alpha=0.3)
    return figure
