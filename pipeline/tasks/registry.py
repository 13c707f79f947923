"""Task id -> loaded examples, one loader per source kind."""

from __future__ import annotations

from ..config import TaskSpec
from .bbc import load_bbc_task
from .examples import TaskData
from .hf import load_hf_task
from .registry_sources import load_fine_foods_task, load_spam_assassin_task, load_wordnet_task

LOADERS = {"bbc": load_bbc_task, "hf": load_hf_task, "fine_foods": load_fine_foods_task,
           "spam_assassin": load_spam_assassin_task, "wordnet": load_wordnet_task}


def load_task(spec: TaskSpec) -> TaskData:
    return LOADERS[spec.source.kind](spec)
