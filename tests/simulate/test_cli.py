"""The `w2s simulate` contract: outputs in the run directory, one-line errors with exit code 2."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.simulate import cli
from pipeline.simulate.runner import atomic_write_text

REPO = Path(__file__).resolve().parents[2]


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="w2s simulate")
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_quick_run_writes_csv_summary_plot_and_manifest(tmp_path, capsys):
    run_dir = tmp_path / "bbp"
    assert cli.main(_parse("bbp", "--quick", "--seed", "7", "--run-dir", str(run_dir))) == 0
    out = capsys.readouterr().out
    assert "closed form" in out and str(run_dir) in out
    files = sorted(p.name for p in run_dir.iterdir())
    assert files == ["manifest.json", "results.csv", "simulate-bbp.png", "summary.json"]  # no temp files left behind
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["quick"] is True and manifest["experiment"] == "bbp"
    assert manifest["parameters"]["dims"] == [64, 256]
    assert manifest["wall_time_s"] > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == 7 and "deviation_from_closed_form" in summary
    table = pd.read_csv(run_dir / "results.csv")
    assert {"d", "beta", "n_pre", "run", "overlap_sq", "closed_form"} <= set(table.columns)
    assert (run_dir / "simulate-bbp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert oct((run_dir / "results.csv").stat().st_mode & 0o777) == oct(0o644)


@pytest.mark.parametrize("argv, fragment", [
    (("nonsense",), "unknown experiment 'nonsense'"),
    (("bbp", "--seed", "abc"), "--seed must be an integer"),
    (("bbp", "--seed", "1.5"), "--seed must be an integer"),
    (("bbp", "--seed", "-3"), "--seed must be between"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(argv, fragment, capsys, tmp_path):
    assert cli.main(_parse(*argv, "--run-dir", str(tmp_path / "out"))) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and fragment in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_run_dir_that_is_a_file_is_rejected(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert cli.main(_parse("bbp", "--quick", "--run-dir", str(target))) == 2
    assert "not a directory" in capsys.readouterr().err


def test_module_entry_point_reports_errors_without_traceback():
    result = subprocess.run([sys.executable, "-m", "pipeline.simulate", "nonsense"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("w2s simulate: error: unknown experiment")
    assert "Traceback" not in result.stderr


def test_atomic_write_keeps_the_old_file_when_the_move_fails(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"

    def failing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_text(path, "newer")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
