"""`w2s` under a launcher, with a trace of what each rank does: which checkpoint it is at and what
was decided there, and which shared files it writes. W2S_TEST_FAIL="RANK:REVISION,..." makes a
unit fail on one rank only; W2S_TEST_SLOW_UNIT=S makes every claimed checkpoint take S seconds
more, so two ranks surely share the work. Used by test_accelerate.py; a test helper, not a test.
"""

import json
import os
import sys
import time
from pathlib import Path

RANK = int(os.environ.get("RANK", "0"))  # read before shard mode removes the launcher's variables
TRACE = Path(os.environ["W2S_TEST_TRACE_DIR"]) / f"rank{RANK}.jsonl"
FAIL = {tuple(x.split(":")) for x in os.environ.get("W2S_TEST_FAIL", "").split(",") if x}
SLOW = float(os.environ.get("W2S_TEST_SLOW_UNIT") or 0)


def trace(event, **info):
    TRACE.parent.mkdir(parents=True, exist_ok=True)
    with open(TRACE, "a") as fh:
        fh.write(json.dumps({"event": event, "rank": RANK, "time": time.time(), **info}) + "\n")


import pipeline.report.table as table_module  # noqa: E402
from pipeline.cli import main  # noqa: E402
from pipeline.runner import Runner  # noqa: E402
from pipeline.scale.coordinator import Coordinator  # noqa: E402

original_work_on, original_manifest, original_write_table = (Coordinator.work_on, Runner._write_manifest,
                                                             table_module.write_table)


def work_on(self, ckpt, compute):
    import torch.distributed as dist

    decision = self._decisions.get((ckpt.suite, ckpt.revision), ("mine", None))[0]
    trace("checkpoint", revision=ckpt.revision, decision=decision, process_group=dist.is_initialized())

    def probed():
        if SLOW:
            time.sleep(SLOW)
        if (str(RANK), ckpt.revision) in FAIL:
            raise RuntimeError(f"injected on rank {RANK}")
        return compute()

    return original_work_on(self, ckpt, probed)


def write_manifest(self, *args):
    trace("manifest")
    return original_manifest(self, *args)


def write_table(*args, **kwargs):
    trace("table")
    return original_write_table(*args, **kwargs)


Coordinator.work_on, Runner._write_manifest, table_module.write_table = work_on, write_manifest, write_table
sys.exit(main(sys.argv[1:]))
