"""Examples and the passage rule, shared by every tokenizer.

Passages are cut by words, not model tokens, so every model sees the very same test texts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Example:
    id: str
    doc_id: str
    text: str
    label: int


@dataclass(frozen=True)
class TaskData:
    """A task's examples in a fixed order; `digest` changes whenever any example does."""

    task_id: str
    version: int
    examples: tuple[Example, ...]
    digest: str

    # Built once: the runner reads them per checkpoint and per unit.
    @cached_property
    def labels(self) -> np.ndarray:
        labels = np.array([e.label for e in self.examples], dtype=np.int64)
        labels.flags.writeable = False
        return labels

    @cached_property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(e.doc_id for e in self.examples)

    @cached_property
    def texts(self) -> tuple[str, ...]:
        return tuple(e.text for e in self.examples)


def make_task_data(task_id: str, version: int, examples: list[Example]) -> TaskData:
    ordered = tuple(sorted(examples, key=lambda e: e.id))
    digest = hashlib.sha256()
    for e in ordered:
        digest.update(f"{e.id}\t{e.label}\t{e.text}\n".encode())
    return TaskData(task_id, version, ordered, digest.hexdigest())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9(£$])")


def sentences(text: str) -> list[str]:
    out = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            out.extend(s for s in _SENTENCE_END.split(paragraph) if s)
    return out


def passages(text: str, min_words: int, max_words: int) -> list[str]:
    """Pack whole sentences into passages of min_words..max_words words.

    A sentence longer than max_words is cut at word boundaries; a trailing remainder shorter
    than min_words is dropped, so no passage is a fragment.
    """
    chunks: list[list[str]] = []
    current: list[str] = []
    for sentence in sentences(text):
        words = sentence.split()
        while len(words) > max_words:
            head, words = words[: max_words - len(current)], words[max_words - len(current):]
            current.extend(head)
            chunks.append(current)
            current = []
        if len(current) + len(words) > max_words:
            chunks.append(current)
            current = []
        current.extend(words)
        if len(current) >= min_words:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return [" ".join(c) for c in chunks if len(c) >= min_words]


def truncate_words(text: str, max_words: int, keep: str = "start") -> str:
    """The one truncation rule for every tokenizer: whole words, the first (or last) max_words.

    `keep="end"` is for texts whose label lives at the end (a dialogue's final reply).
    Whitespace is normalised to single spaces within lines; line breaks are kept.
    """
    lines = [line.split() for line in text.splitlines()]
    total = sum(len(line) for line in lines)
    if total > max_words:
        flat = [(i, w) for i, line in enumerate(lines) for w in line]
        flat = flat[:max_words] if keep == "start" else flat[total - max_words:]
        lines = [[w for j, w in flat if j == i] for i in range(len(lines))]
    return "\n".join(" ".join(line) for line in lines if line)


def word_budget(max_words: int, *other_parts: str, floor: int = 8) -> int:
    """Words left for the long field of a composed text once the short parts are counted."""
    return max(floor, max_words - sum(len(p.split()) for p in other_parts))


def dedupe(examples: list[Example]) -> list[Example]:
    """One example per distinct text (compared without case and spacing); a text that occurs
    with both labels is ambiguous and dropped altogether. The first id is kept."""
    by_text: dict[str, list[Example]] = {}
    for e in examples:
        by_text.setdefault(" ".join(e.text.lower().split()), []).append(e)
    out = []
    for group in by_text.values():
        if len({e.label for e in group}) == 1:
            out.append(min(group, key=lambda e: e.id))
    return out
