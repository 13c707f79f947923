"""`w2s export`: every format parses back to the table's values, flagged rows included and marked."""

import json

import numpy as np
import pandas as pd
import pytest
from report_tables import FLAG, two_task_table

from pipeline.cli import main
from pipeline.report.export import latex_escape
from pipeline.report.table import COLUMNS

SOURCE = two_task_table()
FLAGGED = SOURCE[SOURCE.pgr_flag != ""]


def _export(run_dir, fmt, name):
    output = run_dir / "out" / name
    assert main(["export", str(run_dir), "--format", fmt, "--output", str(output)]) == 0
    return output


def _same_values(units: pd.DataFrame):
    assert list(units.columns[: len(COLUMNS)]) == COLUMNS
    assert len(units) == len(SOURCE)
    merged = SOURCE.merge(units, on=["task", "step", "seed"], suffixes=("", "_out"))
    assert len(merged) == len(SOURCE)
    for column in ("acc_weak", "acc_ceiling", "acc_w2s", "pgr", "pgr_ci_low", "pgr_ci_high", "auroc_w2s", "tokens"):
        np.testing.assert_allclose(merged[f"{column}_out"].astype(float), merged[column].astype(float),
                                   rtol=1e-12, equal_nan=True, err_msg=column)
    flags = merged.set_index(["task", "step", "seed"])
    for key in FLAGGED.set_index(["task", "step", "seed"]).index:
        assert flags.loc[key, "pgr_flag_out"] == FLAG
    assert (merged.pgr_flag_out.fillna("") != "").sum() == len(FLAGGED)
    assert set(merged.status_out) == {"done", "failed"}


def _summary_says(summary: pd.DataFrame):
    by_task = summary.set_index("task")
    assert bool(by_task.loc["t_rise", "transition_supported"]) is True
    assert by_task.loc["t_rise", "transition_step_ci_low"] <= 1000 <= by_task.loc["t_rise", "transition_step_ci_high"]
    assert bool(by_task.loc["t_flat", "transition_supported"]) is False
    assert pd.isna(by_task.loc["t_flat", "transition_step"]) and by_task.loc["t_flat", "transition_reason"]


def test_csv_parses_back(run_dir):
    units = _export(run_dir, "csv", "tables.csv")
    _same_values(pd.read_csv(units))
    _summary_says(pd.read_csv(units.with_name("tables_summary.csv")))
    by_step = pd.read_csv(units.with_name("tables_by_step.csv"))
    assert {"pgr_median", "pgr_q25", "pgr_q75", "seeds_flagged"} <= set(by_step.columns)


def test_parquet_parses_back(run_dir):
    units = _export(run_dir, "parquet", "tables.parquet")
    _same_values(pd.read_parquet(units))
    _summary_says(pd.read_parquet(units.with_name("tables_summary.parquet")))


def test_json_parses_back(run_dir):
    data = json.loads(_export(run_dir, "json", "tables.json").read_text())
    assert set(data) == {"units", "by_step", "summary"}
    _same_values(pd.DataFrame(data["units"]))
    _summary_says(pd.DataFrame(data["summary"]))
    undefined = [u for u in data["units"] if u["pgr_flag"] and u["pgr"] is None]
    assert len(undefined) == 1  # nan is null, not NaN, which is not JSON


def test_latex_is_booktabs_with_escaped_names_and_flags(run_dir):
    tex = _export(run_dir, "latex", "tables.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) >= 3, rule
    assert r"t\_rise" in tex and r"t\_flat" in tex
    assert "t_rise" not in tex.replace(r"t\_rise", "")
    assert r"\begin{longtable}" in tex and r"\end{longtable}" in tex
    unit_rows = tex.split(r"\label{tab:w2s-units}")[1]
    assert unit_rows.count(r"$^\dagger$ &") == len(FLAGGED)  # the PGR cell of each flagged unit
    assert r"undef.$^\dagger$" in unit_rows
    assert latex_escape(FLAG) in unit_rows
    assert "OSError: weights unreadable" in unit_rows


def test_markdown_has_header_rows_and_flagged_units(run_dir):
    md = _export(run_dir, "md", "tables.md").read_text()
    assert "| " + " | ".join(COLUMNS) + " |" in md
    assert "| suite | weak | task | mode | loss | fit_metric |" in md
    assert md.count(FLAG) == len(FLAGGED)


def test_default_output_goes_under_the_run(run_dir, capsys):
    assert main(["export", str(run_dir), "--format", "json"]) == 0
    assert (run_dir / "export" / "pgr.json").is_file()
    assert str(run_dir / "export" / "pgr.json") in capsys.readouterr().out


@pytest.mark.parametrize("argv, named", [
    (["export", "{missing}", "--format", "csv"], "{missing}"),
    (["export", "{empty}", "--format", "csv"], "pgr_vs_step.csv"),
    (["export", "{run}", "--format", "xlsx"], "--format"),
    (["export", "{run}", "--format", "csv", "--x-axis", "epochs"], "--x-axis"),
    (["plot", "{empty}"], "pgr_vs_step.csv"),
    (["report", "{missing}"], "{missing}"),
])
def test_bad_input_is_one_line_naming_it_and_exit_2(run_dir, tmp_path, capsys, argv, named):
    paths = {"missing": str(tmp_path / "no-such-run"), "empty": str(tmp_path), "run": str(run_dir)}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named.format(**paths) in err and err.startswith("w2s: error:")
