"""Test-wide environment: never touch the Hub; keep built suites out of the user's cache.

Set at import, before any fixture of any scope runs. Fetched registry data is shared with the
user's data cache (it is pinned by sha256), so a test run downloads the few MB once.
"""

import os
import shutil
import tempfile
import textwrap

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_SUITES = tempfile.mkdtemp(prefix="w2s-test-suites-")
os.environ["W2S_SUITES_DIR"] = _SUITES


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SUITES, ignore_errors=True)


# The micro suite that end-to-end tests run on: built from the real corpus in seconds, once per
# session (W2S_SUITES_DIR is shared), so every test file reuses the same built checkpoints.
MICRO_SUITES = """
suites:
  micro:
    kind: local
    model: {layers: 1, hidden: 32, heads: 2, vocab_size: 512, seq_len: 64}
    corpus: {max_chars: 150000}
    train: {steps: 12, batch_size: 4, lr: 3.0e-3, log_spaced_until: 8, evenly_spaced: 2}
    weak: micro-weak
  micro-weak:
    kind: local
    model: {layers: 1, hidden: 8, heads: 2, vocab_size: 512, seq_len: 64}
    corpus: {max_chars: 150000}
    train: {steps: 2, batch_size: 4, lr: 3.0e-3, evenly_spaced: 1}
"""


@pytest.fixture(scope="session")
def micro_config(tmp_path_factory):
    """write(experiments_yaml) -> the CLI options that run those experiments on the micro suite."""
    from pipeline.paths import project_root

    def write(experiments: str, suites: str = MICRO_SUITES) -> list[str]:
        root = tmp_path_factory.mktemp("config")
        (root / "checkpoints.yaml").write_text(textwrap.dedent(suites))
        (root / "experiments.yaml").write_text(textwrap.dedent(experiments))
        return ["--checkpoints", str(root / "checkpoints.yaml"), "--experiments", str(root / "experiments.yaml"),
                "--tasks-dir", str(project_root() / "tasks"), "--no-progress"]

    return write
