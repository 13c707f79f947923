"""Frozen features: a batch too big for the GPU is halved until it fits, and the vectors agree."""

import numpy as np
import pytest
import torch

from pipeline.strong import features
from tests.strong.tiny_models import tiny_backbone, word_tokenizer

WORDS = "markets rallied as technology shares rose and a new phone was unveiled on tuesday".split()


def _texts(n=21):
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 30)))) for _ in range(n)]


def test_out_of_memory_halves_the_batch_and_keeps_the_numbers(monkeypatch):
    model, tokenizer = tiny_backbone("neox"), word_tokenizer(WORDS)
    texts = _texts()
    expected = features.extract_features(model, tokenizer, texts, "mean", 32, batch_size=8, progress=False)

    sizes = []
    real = features.forward_hidden

    def small_gpu(model, ids, mask):
        sizes.append(len(ids))
        if len(ids) > 3:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(model, ids, mask)

    monkeypatch.setattr(features, "forward_hidden", small_gpu)
    got = features.extract_features(model, tokenizer, texts, "mean", 32, batch_size=8, progress=False)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert sizes[:3] == [8, 4, 2] and max(sizes[3:]) == 2  # the smaller size sticks for later batches
    assert sum(s for s in sizes if s <= 3) == len(texts)  # every text computed exactly once


def test_out_of_memory_at_batch_one_is_raised(monkeypatch):
    def no_gpu(model, ids, mask):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(features, "forward_hidden", no_gpu)
    with pytest.raises(torch.OutOfMemoryError):
        features.extract_features(tiny_backbone("neox"), word_tokenizer(WORDS), _texts(3), "mean", 32,
                                  batch_size=4, progress=False)
