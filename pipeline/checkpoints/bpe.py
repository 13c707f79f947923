"""Byte-level BPE training with a fixed tie-break, so a suite's tokenizer is a function of its corpus.

`tokenizers`' own trainer breaks count ties by hash-map order, which changes from process to
process (huggingface/tokenizers#1794); the same corpus then gives different merges, different
token ids and different weights. Here ties go to the lexicographically smallest pair. Encoding
is still done by `tokenizers` (a plain BPE model built from our vocab and merges).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable


def _pre_tokenize(texts: Iterable[str]) -> Counter:
    from tokenizers import pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    counts: Counter = Counter()
    for text in texts:
        counts.update(word for word, _ in byte_level.pre_tokenize_str(text))
    return counts


def train_bpe(texts: Iterable[str], vocab_size: int, special_tokens: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocab (specials, the 256 byte symbols, then merges in order) and the merge list."""
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(special_tokens)}
    for sym in alphabet:
        vocab.setdefault(sym, len(vocab))
    word_counts = _pre_tokenize(texts)
    words = [list(w) for w in sorted(word_counts)]
    freqs = [word_counts[w] for w in sorted(word_counts)]

    pair_counts: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or -neg <= 0:
            continue  # stale entry: the count changed since it was pushed
        merged = pair[0] + pair[1]
        merges.append(pair)
        vocab[merged] = len(vocab)
        touched: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair, ())):
            symbols, f = words[i], freqs[i]
            for old in zip(symbols, symbols[1:]):
                pair_counts[old] -= f
                touched.add(old)
            out, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and symbols[k] == pair[0] and symbols[k + 1] == pair[1]:
                    out.append(merged)
                    k += 2
                else:
                    out.append(symbols[k])
                    k += 1
            words[i] = out
            for new in zip(out, out[1:]):
                pair_counts[new] += f
                where[new].add(i)
                touched.add(new)
        pair_counts.pop(pair, None)
        for p in touched:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            elif p in pair_counts:
                del pair_counts[p]
    return vocab, merges
