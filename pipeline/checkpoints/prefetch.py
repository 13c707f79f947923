"""Fetch the next checkpoint while the current one computes.

Resolving a Hub revision downloads its weights, and a first load reads them from disk: both
are I/O that can overlap the forward passes of the checkpoint before. A background thread
resolves the next checkpoint and reads its weight files once (into the page cache), so the
main loop finds them local and warm. Nothing is loaded into memory twice and nothing is
claimed: a checkpoint another worker takes was merely downloaded, which a later run reuses.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
from concurrent.futures import Future

from .loading import resolve, weight_files
from .suites import Checkpoint

_CHUNK = 16 << 20


def fetch(checkpoint: Checkpoint, needs_work: Callable[[Checkpoint], bool] | None = None) -> Checkpoint:
    """Resolve (download), then read the weights through once if the checkpoint has work left
    (a finished one is not read again on resume); errors surface in `take`."""
    resolved = resolve(checkpoint)
    if needs_work is not None and not needs_work(resolved):
        return resolved
    buffer = bytearray(_CHUNK)
    for path in weight_files(resolved.local_path, resolved.allow_pickle):
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(buffer):
                pass
    return resolved


class Prefetcher:
    """Fetches run in daemon threads, so an interrupted run exits at once instead of waiting for
    a download to finish (huggingface_hub resumes a partial download next time)."""

    def __init__(self, needs_work: Callable[[Checkpoint], bool] | None = None):
        self.needs_work = needs_work
        self._ahead: dict[tuple[str, str], Future] = {}

    def ahead(self, checkpoint: Checkpoint | None) -> None:
        """Start fetching `checkpoint` (the one after the current) in the background."""
        if checkpoint is None:
            return
        key = (checkpoint.suite, checkpoint.revision)
        if key in self._ahead:
            return
        future: Future = Future()
        self._ahead[key] = future

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fetch(checkpoint, self.needs_work))
            except BaseException as exc:  # handed to whoever takes it
                future.set_exception(exc)

        threading.Thread(target=work, name=f"w2s-prefetch-{checkpoint.revision}", daemon=True).start()

    def take(self, checkpoint: Checkpoint) -> Checkpoint:
        """The resolved checkpoint: from the background fetch when one was started, else now."""
        future = self._ahead.pop((checkpoint.suite, checkpoint.revision), None)
        return future.result() if future is not None else resolve(checkpoint)

    def close(self) -> None:
        for future in self._ahead.values():
            future.cancel()
        self._ahead.clear()
