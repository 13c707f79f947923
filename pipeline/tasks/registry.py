"""Task id -> loaded examples, one loader per source kind."""

from __future__ import annotations

from ..config import TaskSpec
from .bbc import load_bbc_task
from .examples import TaskData

LOADERS = {"bbc": load_bbc_task}


def load_task(spec: TaskSpec) -> TaskData:
    return LOADERS[spec.source.kind](spec)
