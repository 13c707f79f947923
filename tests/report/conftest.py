"""Fixtures for the analysis tests; the tables themselves are in report_tables.py."""

import pytest
from report_tables import MANIFEST, two_task_table, write_run


@pytest.fixture
def run_dir(tmp_path):
    """A run directory with the two-task table and a manifest."""
    path = tmp_path / "run"
    path.mkdir()
    return write_run(path, two_task_table(), MANIFEST)
