"""`w2s report`: the page a researcher attaches to a paper draft (report.md, optionally report.html).

Findings first, then the figures, the tables and the provenance a reviewer asks for: the commits of
the code and of every checkpoint, package versions and the sha256 of every data file.
The page is built once as a list of blocks and rendered to Markdown or to self-contained HTML.
"""

from __future__ import annotations

import base64
import html
import json
import platform
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import __version__
from ..store import Store, atomic_write_text
from .analysis import FIT_METRICS, check_analysis_options, load_run_table, transition_sentence
from .export import analyse, markdown_table
from .plot import plot_pgr_grid, plot_pgr_vs_step

# Packages the analysis itself depends on, reported beside the run's (which made the numbers).
ANALYSIS_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "pyarrow")

SUMMARY_VIEW = ["task", "loss", "weak", "fit_metric", "x_axis", "transition_supported", "transition_step",
                "transition_step_ci_low", "transition_step_ci_high", "transition_tokens", "plateau_low",
                "plateau_high", "r_squared", "delta_aicc", "n_obs", "n_excluded", "changepoint_step_before",
                "changepoint_step_after", "changepoint_p"]
BY_STEP_VIEW = ["task", "loss", "weak", "step", "tokens", "acc_weak", "acc_ceiling", "acc_w2s", "pgr_median",
                "pgr_q25", "pgr_q75", "pgr_ci_low", "pgr_ci_high", "seeds", "seeds_flagged"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _view(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return df[[c for c in columns if c in df.columns]]


def provenance_blocks(manifest: dict | None, run_dir: Path) -> list[tuple]:
    from ..runner import git_commit

    now_commit = git_commit() or "unknown"
    if not manifest:
        return [("p", f"No manifest.json in {run_dir}: the run's provenance is unknown. "
                      f"Report written by w2s {__version__} at git commit {now_commit}.")]
    weak = manifest.get("weak_checkpoint") or {}
    facts = [
        f"run: {manifest.get('run')} (created {manifest.get('created')}, updated {manifest.get('updated')}, "
        f"{manifest.get('invocations')} invocation(s))",
        f"command: `{' '.join(manifest.get('command') or [])}`",
        f"git commit of the run: `{manifest.get('git_commit') or 'unknown'}`",
        f"git commit of this report: `{now_commit}`",
        f"pipeline version: {manifest.get('pipeline_version')} (run), {__version__} (report)",
        f"python {manifest.get('python')} on {manifest.get('platform')}; report on python "
        f"{platform.python_version()}",
        f"weak supervisor: {weak.get('suite')} {weak.get('revision')} (step {weak.get('step')}), "
        f"commit `{weak.get('commit_sha')}` from {weak.get('repo')}",
    ]
    run_versions = manifest.get("versions") or {}
    packages = sorted(set(run_versions) | set(ANALYSIS_PACKAGES))
    versions = pd.DataFrame({"package": packages, "run": [run_versions.get(p, "") for p in packages],
                             "report": [_version(p) for p in packages]})
    checkpoints = pd.DataFrame(manifest.get("checkpoints") or [],
                               columns=["revision", "step", "tokens", "commit_sha", "repo"])
    tasks = pd.DataFrame([{"task": name, "version": t.get("version"), "examples_sha256": t.get("examples_sha256"),
                           "n_examples": t.get("n_examples"), "n_used": t.get("n_used")}
                          for name, t in (manifest.get("tasks") or {}).items()])
    data = pd.DataFrame(sorted((manifest.get("data") or {}).items()), columns=["file", "sha256"])
    return [("list", facts), ("h3", "Package versions"), ("table", versions),
            ("h3", "Strong checkpoints (pinned commits)"), ("table", checkpoints),
            ("h3", "Tasks"), ("table", tasks), ("h3", "Data files"), ("table", data),
            ("h3", "Experiment"), ("code", json.dumps(manifest.get("experiment"), indent=2, sort_keys=True))]


def report_blocks(run_dir: Path, x_axis: str = "tokens", metric: str = "pgr") -> list[tuple]:
    """The page, and its figures written under run_dir/plots as it goes."""
    store = Store(run_dir)
    table = load_run_table(run_dir)
    tables = analyse(table, x_axis, metric)
    plots = store.output_path("plots")
    figure = plot_pgr_vs_step(tables.units, [plots / "pgr_vs_step.png", plots / "pgr_vs_step.pdf"],
                              summary=tables.summary, x_axis=x_axis)
    units = tables.units
    flagged = units[(units.status == "done") & (units.pgr_flag != "")]
    failed = units[units.status != "done"]
    findings = [transition_sentence(row) for _, row in tables.summary.iterrows()]
    findings.append(f"{len(units)} unit(s): {len(units) - len(failed)} finished, {len(failed)} failed; "
                    f"{len(flagged)} with PGR flagged as not meaningful (shown below, left out of the fits).")
    blocks = [
        ("h1", f"W2SG report: {run_dir.name}"),
        ("p", f"Written {time.strftime('%Y-%m-%d %H:%M:%S %z')} by w2s {__version__}. The transition is a sigmoid "
              f"fit of {FIT_METRICS[metric]} against log10 {x_axis} with a seed-clustered bootstrap CI; "
              "see docs/analysis.md for the decision rule."),
        ("h2", "Findings"), ("list", findings),
        ("h2", "Figures"), ("image", figure, "PGR and accuracies against pre-training"),
        ("p", f"For the paper, the same figure as a vector file: `{figure.with_suffix('.pdf').relative_to(run_dir)}`."),
    ]
    if units.weak.nunique() > 1:
        grid = plot_pgr_grid(units, [plots / "pgr_grid.png", plots / "pgr_grid.pdf"])
        blocks.append(("image", grid, "PGR by weak and strong checkpoint"))
    blocks += [
        ("h2", "Transition fits"), ("table", _view(tables.summary, SUMMARY_VIEW)),
        ("p", "Why each fit is or is not a transition:"),
        ("list", [f"{r.task} ({r.loss}, weak {r.weak}): {r.transition_reason}; change point: {r.changepoint_reason}"
                  for r in tables.summary.itertuples(index=False)]),
        ("h2", "Across seeds per checkpoint"), ("table", _view(tables.by_step, BY_STEP_VIEW)),
    ]
    if len(flagged):
        blocks += [("h2", "Flagged units"),
                   ("table", _view(flagged, ["task", "loss", "revision", "step", "seed", "acc_weak", "acc_ceiling",
                                             "acc_w2s", "pgr", "pgr_flag"]))]
    if len(failed):
        blocks += [("h2", "Failed units"),
                   ("table", _view(failed, ["task", "loss", "revision", "step", "seed", "error"]).drop_duplicates())]
    blocks += [("h2", "Provenance"), *provenance_blocks(store.read_manifest(), run_dir)]
    return blocks


def render_markdown(blocks: list[tuple], run_dir: Path) -> str:
    out = []
    for kind, *content in blocks:
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + content[0], ""]
        elif kind == "p":
            out += [content[0], ""]
        elif kind == "list":
            out += [f"- {item}" for item in content[0]] + [""]
        elif kind == "table":
            out += [markdown_table(content[0]), ""]
        elif kind == "image":
            out += [f"![{content[1]}]({Path(content[0]).relative_to(run_dir)})", ""]
        elif kind == "code":
            out += ["```json", content[0], "```", ""]
    return "\n".join(out)


def _html_inline(text: str) -> str:
    """Markdown's `code` spans as <code>, everything else escaped."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def render_html(blocks: list[tuple]) -> str:
    """Self-contained: the figures are embedded, so the file can be mailed or attached alone."""
    body = []
    for kind, *content in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(content[0])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_html_inline(content[0])}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in content[0]) + "</ul>")
        elif kind == "table":
            body.append(content[0].to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3f}", border=0))
        elif kind == "image":
            data = base64.b64encode(Path(content[0]).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(content[1])}" src="data:image/png;base64,{data}">')
        elif kind == "code":
            body.append(f"<pre>{html.escape(content[0])}</pre>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{padding:2px 6px;"
             "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}pre{background:#f6f6f6;padding:1em}")
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>W2SG report</title><style>{style}</style>"
            f"</head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(run_dir: str | Path, html_too: bool = False, x_axis: str = "tokens",
                 metric: str = "pgr") -> list[Path]:
    check_analysis_options(x_axis, metric)
    run_dir = Path(run_dir)
    blocks = report_blocks(run_dir, x_axis, metric)
    store = Store(run_dir)
    paths = [store.output_path("report.md")]
    atomic_write_text(paths[0], render_markdown(blocks, run_dir))
    if html_too:
        paths.append(store.output_path("report.html"))
        atomic_write_text(paths[1], render_html(blocks))
    images = [Path(b[1]) for b in blocks if b[0] == "image"]
    return paths + [p for image in images for p in (image, image.with_suffix(".pdf"))]
