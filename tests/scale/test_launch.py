"""How a rank reads its launcher: shard mode turns it into a stand-alone worker on its own GPU."""

from __future__ import annotations

import os

import pytest

from pipeline.scale.distributed import detect_launch, visible_device_for

TORCHRUN = {"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "3", "LOCAL_WORLD_SIZE": "8", "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": "29500", "GROUP_RANK": "0", "TORCHELASTIC_RUN_ID": "none"}


def test_shard_rank_becomes_a_single_process_on_its_own_gpu(monkeypatch):
    for k, v in {**TORCHRUN, "CUDA_VISIBLE_DEVICES": "0,1,2,5,6,7,8,9"}.items():
        monkeypatch.setenv(k, v)
    launch = detect_launch("shard")
    assert (launch.rank, launch.world_size, launch.local_rank, launch.is_main) == (3, 8, 3, False)
    assert launch.writes and not launch.collective
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    assert not any(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"))


def test_gpu_for_a_rank_without_cuda_visible_devices(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    count = len(os.listdir("/proc/driver/nvidia/gpus")) if os.path.isdir("/proc/driver/nvidia/gpus") else 0
    assert visible_device_for(9) == (str(9 % count) if count else None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_device_for(0) is None


def test_single_process_and_bad_mode(monkeypatch):
    for k in TORCHRUN:
        monkeypatch.delenv(k, raising=False)
    launch = detect_launch("data")
    assert (launch.rank, launch.world_size, launch.is_main, launch.collective) == (0, 1, True, False)
    assert launch.broadcast({"x": 1}) == {"x": 1}
    with pytest.raises(ValueError):
        detect_launch("pipeline")
