"""`w2s plot` and `w2s report`: figures written as PNG and PDF, the grid over runs, the report's provenance."""

import pandas as pd
from report_tables import MANIFEST, flag_rows, synthetic_table, two_task_table, write_run

from pipeline.cli import main
from pipeline.report.plot import plot_pgr_vs_step

PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-"


def _is_figure(path, magic):
    data = path.read_bytes()
    return data.startswith(magic) and len(data) > 5_000


def test_plot_writes_png_and_pdf(run_dir, capsys):
    assert main(["plot", str(run_dir)]) == 0
    printed = capsys.readouterr().out.split()
    png, pdf = run_dir / "plots" / "pgr_vs_step.png", run_dir / "plots" / "pgr_vs_step.pdf"
    assert printed == [str(png), str(pdf)]
    assert _is_figure(png, PNG) and _is_figure(pdf, PDF)


def test_runner_call_still_draws_a_table_with_nothing_finished(tmp_path):
    """A run whose every checkpoint failed still gets its figure (saying so) rather than a crash."""
    table = two_task_table()
    table["status"] = "failed"
    path = plot_pgr_vs_step(table, tmp_path / "pgr_vs_step.png", title="all failed")
    assert path == tmp_path / "pgr_vs_step.png" and _is_figure(path, PNG)


def test_grid_over_runs_that_differ_in_their_weak_supervisor(tmp_path, capsys):
    run_dirs = []
    for weak_step in (32, 2, 8):
        table = synthetic_table(weak=f"toy-weak@step{weak_step}", weak_step=weak_step,
                                midpoint_step=100.0 * weak_step, rng_seed=weak_step)
        if weak_step == 2:
            table = flag_rows(table, table.step == 0)
        folder = tmp_path / f"weak{weak_step}"
        folder.mkdir()
        run_dirs.append(str(write_run(folder, table)))
    out = tmp_path / "figures"
    assert main(["plot", *run_dirs, "--grid", "--output-dir", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "pgr_grid.png"), str(out / "pgr_grid.pdf")]
    assert _is_figure(out / "pgr_grid.png", PNG) and _is_figure(out / "pgr_grid.pdf", PDF)


def test_report_carries_findings_figures_and_provenance(run_dir):
    assert main(["report", str(run_dir), "--html"]) == 0
    md = (run_dir / "report.md").read_text()
    assert "W2SG switches on at step" in md  # t_rise
    assert "t_flat (xent, weak toy-weak@step8): no supported transition" in md
    assert "![PGR and accuracies against pre-training](plots/pgr_vs_step.png)" in md
    assert _is_figure(run_dir / "plots" / "pgr_vs_step.png", PNG)
    for fact in (MANIFEST["git_commit"], "2.99.1-toy", "5.0.0-toy", "feedfacefeedface", "c0ffee00c0ffee00",
                 MANIFEST["checkpoints"][-1]["commit_sha"], "beefbeef"):
        assert fact in md, fact
    assert "git commit of this report" in md and "| pandas |" in md
    assert "## Flagged units" in md and "## Failed units" in md
    page = (run_dir / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page
    assert MANIFEST["git_commit"] in page and "2.99.1-toy" in page


def test_report_without_manifest_says_provenance_is_unknown(tmp_path):
    write_run(tmp_path, two_task_table())
    assert main(["report", str(tmp_path)]) == 0
    assert "provenance is unknown" in (tmp_path / "report.md").read_text()


def test_report_of_a_swept_weak_supervisor_includes_the_grid(tmp_path):
    table = pd.concat([synthetic_table(weak=f"toy-weak@step{w}", weak_step=w, rng_seed=w) for w in (2, 8)],
                      ignore_index=True)
    write_run(tmp_path, table, MANIFEST)
    assert main(["report", str(tmp_path)]) == 0
    assert "(plots/pgr_grid.png)" in (tmp_path / "report.md").read_text()
    assert _is_figure(tmp_path / "plots" / "pgr_grid.pdf", PDF)


def test_revisions_without_a_step_are_left_off_the_axis_not_a_crash(tmp_path):
    """An explicit Hub suite may name revisions with no step in them (step -1)."""
    from pipeline.report.analysis import transition_summary

    table = synthetic_table()
    nameless = table[table.step == table.step.max()].copy()
    nameless["revision"], nameless["step"], nameless["tokens"] = "v-final", -1, float("nan")
    mixed = pd.concat([table, nameless], ignore_index=True)
    assert _is_figure(plot_pgr_vs_step(mixed, tmp_path / "mixed.png"), PNG)
    summary = transition_summary(mixed)
    assert summary.n_excluded.iloc[0] == len(nameless)
    assert summary.n_obs.iloc[0] == transition_summary(table).n_obs.iloc[0]
    only = nameless.copy()
    assert _is_figure(plot_pgr_vs_step(only, tmp_path / "only.png"), PNG)
