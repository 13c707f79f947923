"""Test-wide environment: never touch the Hub; keep built suites out of the user's cache.

Set at import, before any fixture of any scope runs. Fetched registry data is shared with the
user's data cache (it is pinned by sha256), so a test run downloads the few MB once.
"""

import os
import shutil
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_SUITES = tempfile.mkdtemp(prefix="w2s-test-suites-")
os.environ["W2S_SUITES_DIR"] = _SUITES


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SUITES, ignore_errors=True)
