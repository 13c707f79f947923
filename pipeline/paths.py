"""Where the project keeps fetched data and built suites on the user's machine.

Everything lives under one cache root so a user can move or wipe it with one variable.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    root = os.environ.get("W2S_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "w2s")
    return Path(root)


def data_dir() -> Path:
    return Path(os.environ.get("W2S_DATA_DIR") or cache_root() / "data")


def suites_dir() -> Path:
    return Path(os.environ.get("W2S_SUITES_DIR") or cache_root() / "suites")


def project_root() -> Path:
    """The folder holding checkpoints.yaml and tasks/ (the repo, or the CWD for an installed package)."""
    env = os.environ.get("W2S_PROJECT")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    if (here / "checkpoints.yaml").exists():
        return here
    return Path.cwd()
