"""How this process was launched, and the little communication `data` mode needs.

Under `accelerate launch` (or torchrun, or srun with several tasks) each process is a rank.
Two ways to use N ranks:

- `shard`: every rank is an independent worker that claims whole checkpoints from the store.
  The launcher's distributed variables are removed from the environment and each rank sees
  only its own GPU, so anything inside a unit (an `accelerate.Accelerator` in a training loop)
  runs as a single process: no rank ever waits for another.
- `data`: the ranks form one worker that runs each unit data-parallel. The main rank takes the
  claims and broadcasts every decision, so all ranks iterate the same units in the same order;
  only the main rank writes. The process group has a timeout (W2S_DIST_TIMEOUT seconds), so a
  rank stuck in a collective another rank never reaches fails instead of waiting forever.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta

DIST_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
             "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME", "TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT")


class RanksDiverged(BaseException):
    """Ranks disagree on which unit they are at: stop the launch rather than pair up wrong collectives.
    A BaseException so no per-unit `except Exception` swallows it."""


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            return int(value)
    return default


@dataclass
class Launch:
    parallel: str          # "shard" or "data"
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def collective(self) -> bool:
        """True when decisions go through the process group (data mode with several ranks)."""
        return self.parallel == "data" and self.world_size > 1

    @property
    def writes(self) -> bool:
        """Whether this process writes anything shared: unit records, failures, manifest, table."""
        return self.parallel == "shard" or self.is_main

    # -- data mode: one decision, every rank -------------------------------------------------
    def broadcast(self, obj):
        """The main rank's `obj` on every rank; the identity when there is no process group."""
        if not self.collective:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def agree_on(self, tag: str, decide):
        """Run `decide()` on the main rank and hand its answer to all; check every rank is at `tag`."""
        answer = decide() if self.is_main or not self.collective else None
        tagged = self.broadcast((tag, answer))
        if tagged[0] != tag:
            raise RanksDiverged(f"rank {self.rank} is at {tag!r}, the main rank at {tagged[0]!r}")
        return tagged[1]

    def wait_together(self, tag: str, ready, poll: float) -> None:
        """Poll `ready()` on the main rank until true; the others follow one broadcast per poll,
        so no rank sits in one collective longer than a poll interval."""
        while not self.agree_on(tag, ready):
            if self.is_main or not self.collective:
                time.sleep(poll)


def visible_device_for(local_rank: int) -> str | None:
    """The CUDA_VISIBLE_DEVICES entry a rank keeps in shard mode; None when there is no GPU to pin.

    GPUs are counted from the driver's /proc entries, not through torch: asking CUDA would
    initialise it, after which CUDA_VISIBLE_DEVICES no longer has any effect in this process.
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        devices = [d for d in listed.split(",") if d.strip()]
        return devices[local_rank % len(devices)] if devices else None
    try:
        count = len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:  # no NVIDIA driver: nothing to pin
        count = 0
    return str(local_rank % count) if count else None


def detect_launch(parallel: str = "shard") -> Launch:
    """Read the launcher's ranks; in shard mode, make this rank a stand-alone single-GPU process."""
    if parallel not in ("shard", "data"):
        raise ValueError(f"parallel must be 'shard' or 'data', not {parallel!r}")
    world = _env_int("WORLD_SIZE", default=1)
    rank = _env_int("RANK", default=0)
    local_rank = _env_int("LOCAL_RANK", default=rank)
    launch = Launch(parallel, rank, world, local_rank)
    if world <= 1:
        return launch
    if parallel == "shard":
        import torch

        if torch.cuda.is_initialized():
            raise RuntimeError("shard mode must pin this rank's GPU before CUDA starts; something used CUDA first")
        device = visible_device_for(local_rank)
        for name in DIST_VARS:
            os.environ.pop(name, None)
        if device is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = device
        return launch
    _init_process_group()
    return launch


def _init_process_group() -> None:
    """Through accelerate's shared state, so a colleague's `Accelerator()` inside a unit reuses
    this very process group (gloo on CPU, nccl on GPUs)."""
    import torch
    from accelerate import PartialState

    timeout = timedelta(seconds=float(os.environ.get("W2S_DIST_TIMEOUT") or 600))
    PartialState(cpu=not torch.cuda.is_available(), timeout=timeout)
