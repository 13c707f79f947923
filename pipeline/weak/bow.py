"""A bag-of-words weak supervisor: hashed unigram counts under the same logistic head.

It needs no checkpoint at all, so it gives every study a weak baseline that knows nothing of
pre-training; the hash makes the vocabulary independent of which texts a split happens to hold.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_WORD = re.compile(r"[a-z0-9']+")


def _bucket(word: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big") % buckets


def bow_features(texts: list[str], buckets: int) -> np.ndarray:
    """log(1 + count) of each hashed lower-cased word, one row per text."""
    out = np.zeros((len(texts), buckets), dtype=np.float32)
    cache: dict[str, int] = {}
    for i, text in enumerate(texts):
        for word in _WORD.findall(text.lower()):
            b = cache.get(word)
            if b is None:
                b = cache[word] = _bucket(word, buckets)
            out[i, b] += 1
    return np.log1p(out)
