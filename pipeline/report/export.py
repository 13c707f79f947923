"""`w2s export`: a run's tables as csv, parquet, markdown, LaTeX (booktabs) or JSON.

Every format carries the same three tables: `units` (the tidy table, one row per unit),
`by_step` (across seeds per checkpoint) and `summary` (the transition per suite, weak, task,
mode and loss). Flagged rows are in all of them: a PGR that is not meaningful is marked, not dropped.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..store import atomic_write_bytes, atomic_write_text
from .analysis import (FIT_METRICS, TRANSITION_RESAMPLES, check_analysis_options, human_count, load_run_table,
                       normalise_table, transition_summary)
from .table import seed_means

FORMATS = {"csv": ".csv", "parquet": ".parquet", "md": ".md", "latex": ".tex", "json": ".json"}
TABLE_NAMES = ("units", "by_step", "summary")


@dataclass(frozen=True)
class RunTables:
    units: pd.DataFrame
    by_step: pd.DataFrame
    summary: pd.DataFrame

    def named(self) -> dict[str, pd.DataFrame]:
        return {"units": self.units, "by_step": self.by_step, "summary": self.summary}


def analyse(table: pd.DataFrame, x_axis: str = "tokens", metric: str = "pgr",
            n_boot: int = TRANSITION_RESAMPLES) -> RunTables:
    units = normalise_table(table)
    return RunTables(units, seed_means(units), transition_summary(units, x_axis, metric, n_boot=n_boot))


def output_paths(fmt: str, output: Path) -> dict[str, Path]:
    """csv and parquet hold one table per file: the units at `output`, the others beside it."""
    if fmt in ("csv", "parquet"):
        return {name: output if name == "units" else output.with_name(f"{output.stem}_{name}{output.suffix}")
                for name in TABLE_NAMES}
    return {"all": output}


def export_run(run_dir: str | Path, fmt: str, output: str | Path | None = None, x_axis: str = "tokens",
               metric: str = "pgr") -> list[Path]:
    if fmt not in FORMATS:
        raise UserError(f"--format: unknown format '{fmt}' (known: {', '.join(FORMATS)})")
    check_analysis_options(x_axis, metric)
    run_dir = Path(run_dir)
    table = load_run_table(run_dir)
    target = Path(output) if output else run_dir / "export" / f"pgr{FORMATS[fmt]}"
    if target.is_dir():
        raise UserError(f"--output: {target} is a directory; give a file name")
    return write_tables(analyse(table, x_axis, metric), fmt, target, title=run_dir.name)


def write_tables(tables: RunTables, fmt: str, output: Path, title: str = "") -> list[Path]:
    paths = output_paths(fmt, output)
    named = tables.named()
    if fmt == "csv":
        for name, path in paths.items():
            atomic_write_text(path, named[name].to_csv(index=False))
    elif fmt == "parquet":
        for name, path in paths.items():
            buf = io.BytesIO()
            named[name].to_parquet(buf, index=False)
            atomic_write_bytes(path, buf.getvalue())
    elif fmt == "json":
        # not atomic_write_json: it sorts keys, and a reader rebuilding a table wants the column order
        document = {name: records(df) for name, df in named.items()}
        atomic_write_text(paths["all"], json.dumps(document, indent=1) + "\n")
    elif fmt == "md":
        atomic_write_text(paths["all"], markdown_document(tables, title))
    elif fmt == "latex":
        atomic_write_text(paths["all"], latex_document(tables, title))
    return list(paths.values())


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: nan as null, numpy scalars as Python numbers."""
    return json.loads(df.to_json(orient="records", double_precision=15))


# ---------------------------------------------------------------- markdown


def _md_cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        if float(value).is_integer() or abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table with floats as a reader wants them (counts whole, rates to 3 decimals, nan blank)."""
    if df.empty:
        return "(none)"
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


FLAG_NOTE = ("Rows with a non-empty `pgr_flag` have a ceiling that does not beat the weak supervisor "
             "by the margin: their PGR is shown but not meaningful, and the transition fit leaves them out.")


def markdown_document(tables: RunTables, title: str = "") -> str:
    parts = [f"# W2SG tables{': ' + title if title else ''}", "",
             "## Transition per suite, weak, task, mode and loss", "", markdown_table(tables.summary), "",
             "## Across seeds per checkpoint", "", markdown_table(tables.by_step), "",
             "## Every unit", "", FLAG_NOTE, "", markdown_table(tables.units), ""]
    return "\n".join(parts)


# ---------------------------------------------------------------- LaTeX

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
DAGGER = r"$^\dagger$"


def latex_escape(text) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _num(value, digits: int = 3) -> str:
    return "--" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _count(value) -> str:
    return "--" if value is None or not np.isfinite(value) else latex_escape(human_count(value))


def _with_ci(point, low, high, formatter) -> str:
    if point is None or not np.isfinite(point):
        return "--"
    return f"{formatter(point)} [{formatter(low)}, {formatter(high)}]"


def _latex_rows(rows: list[list[str]]) -> str:
    return "\n".join(" & ".join(cells) + r" \\" for cells in rows)


def latex_tabular(header: list[str], rows: list[list[str]], align: str, caption: str, label: str,
                  long: bool = False) -> str:
    """booktabs rules; `long` gives a longtable that breaks across pages (the per-unit appendix)."""
    head = " & ".join(header) + r" \\"
    if long:
        return "\n".join([
            rf"\begin{{longtable}}{{{align}}}", rf"\caption{{{caption}}}\label{{{label}}} \\", r"\toprule", head,
            r"\midrule", r"\endfirsthead", r"\toprule", head, r"\midrule", r"\endhead", r"\bottomrule",
            r"\endfoot", _latex_rows(rows), r"\end{longtable}", ""])
    return "\n".join([
        r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{caption}}}", rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{align}}}", r"\toprule", head, r"\midrule", _latex_rows(rows), r"\bottomrule",
        r"\end{tabular}", r"\end{table}", ""])


def _pgr_cell(row) -> str:
    flagged = bool(row.pgr_flag)
    if not np.isfinite(row.pgr):
        return "undef." + (DAGGER if flagged else "")
    cell = _with_ci(row.pgr, row.pgr_ci_low, row.pgr_ci_high, lambda v: _num(v, 2))
    return cell + (DAGGER if flagged else "")


def latex_document(tables: RunTables, title: str = "") -> str:
    summary, by_step, units = tables.summary, tables.by_step, tables.units
    source = f" ({latex_escape(title)})" if title else ""
    summary_rows = []
    for row in summary.itertuples(index=False):
        supported = bool(row.transition_supported)
        change = (f"{_count(row.changepoint_step_before)}--{_count(row.changepoint_step_after)}"
                  if row.changepoint_supported else "none")
        summary_rows.append([
            latex_escape(row.task), latex_escape(row.loss), latex_escape(row.weak),
            _with_ci(row.transition_step, row.transition_step_ci_low, row.transition_step_ci_high, _count)
            if supported else "none",
            _with_ci(row.transition_tokens, row.transition_tokens_ci_low, row.transition_tokens_ci_high, _count)
            if supported else "--",
            f"{_num(row.plateau_low, 2)} $\\to$ {_num(row.plateau_high, 2)}", _num(row.r_squared, 2),
            _num(row.delta_aicc, 1), change, "" if supported else latex_escape(row.transition_reason)])
    metric = FIT_METRICS.get(summary.fit_metric.iloc[0], "PGR") if len(summary) else "PGR"
    x_unit = "tokens" if len(summary) and (summary.x_axis == "tokens").all() else "steps"
    parts = [
        f"% W2SG tables{source}, written by `w2s export`. Needs \\usepackage{{booktabs}} and \\usepackage{{longtable}}.",
        "",
        latex_tabular(
            ["Task", "Loss", "Weak", r"Switch-on step [95\% CI]", r"Tokens [95\% CI]", "Plateaus", "$R^2$",
             r"$\Delta$AICc", "Change point (steps)", "Why no transition"],
            summary_rows, r"lllllllllp{5cm}",
            f"Where weak-to-strong generalization switches on{source}: sigmoid fit of {latex_escape(metric)} "
            f"against log pre-training {x_unit} with a seed-clustered bootstrap CI of its midpoint; the "
            "single change point is the model-free check.", "tab:w2s-transition"),
        latex_tabular(
            ["Task", "Loss", "Step", "Tokens", "Weak", "Ceiling", "W2S", "PGR median [IQR]", "Seeds (flagged)"],
            [[latex_escape(r.task), latex_escape(r.loss), _count(r.step), _count(r.tokens), _num(r.acc_weak),
              _num(r.acc_ceiling), _num(r.acc_w2s),
              _with_ci(r.pgr_median, r.pgr_q25, r.pgr_q75, lambda v: _num(v, 2)),
              f"{r.seeds} ({r.seeds_flagged})"] for r in by_step.itertuples(index=False)],
            "llrrrrrlr", f"Accuracies (mean) and PGR (median and interquartile range) over seeds per "
            f"checkpoint{source}; seeds whose PGR is flagged are left out of the PGR columns.",
            "tab:w2s-by-step", long=True),
        latex_tabular(
            ["Task", "Loss", "Revision", "Step", "Seed", "Weak", "Ceiling", "W2S", r"PGR [95\% CI]",
             "AUROC W2S", "Note"],
            [[latex_escape(r.task), latex_escape(r.loss), latex_escape(r.revision), _count(r.step), str(r.seed),
              _num(r.acc_weak), _num(r.acc_ceiling), _num(r.acc_w2s), _pgr_cell(r), _num(r.auroc_w2s),
              latex_escape(r.pgr_flag or r.error)] for r in units.itertuples(index=False)],
            "lllrrrrrlrp{4.5cm}", f"Every unit{source}. 95\\% CIs from a paired bootstrap over test examples. "
            f"{DAGGER} the ceiling does not beat the weak supervisor by the margin: PGR is not meaningful "
            "and is left out of the fits.", "tab:w2s-units", long=True),
    ]
    return "\n".join(parts)
