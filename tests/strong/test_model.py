"""The classifier adapter on tiny models of each family: LoRA targets, padding invariance, training."""

import numpy as np
import pytest
import torch

from pipeline.config import FinetuneSpec, LoraSpec, finetune_settings
from pipeline.strong.features import pad_batch
from pipeline.strong.finetune import LengthGroupedBatches, train_and_predict
from pipeline.strong.losses import make_loss
from pipeline.strong.model import build_classifier, lora_target_modules, lora_target_names, pad_id_of

from .tiny_models import tiny_backbone, word_tokenizer

FAMILIES = ["neox", "gpt2", "llama", "bert"]


@pytest.mark.parametrize("family, expected", [
    ("neox", ["query_key_value", "dense_h_to_4h", "dense_4h_to_h"]),
    ("gpt2", ["c_attn", "c_proj", "c_fc"]),
    ("llama", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    ("bert", ["query", "key", "value", "dense"]),
])
def test_lora_targets_found_from_the_architecture(family, expected):
    model = tiny_backbone(family)
    assert lora_target_names(model) == expected
    full = lora_target_modules(model, expected)
    assert full and all(m.rsplit(".", 1)[-1] in expected for m in full)
    assert not any("pooler" in m for m in full)  # BERT's pooler is off the pooled path
    if family == "neox":
        assert "layers.0.attention.dense" not in full  # 'dense' alone is not a NeoX target


def test_lora_targets_override_is_checked():
    model = tiny_backbone("neox")
    assert lora_target_names(model, ["dense"]) == ["dense"]
    with pytest.raises(ValueError, match="not in the model"):
        lora_target_names(model, ["q_proj"])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("mode, pooling", [("full", "last"), ("lora", "mean")])
def test_left_and_right_padding_give_the_same_logits(family, mode, pooling):
    model = build_classifier(tiny_backbone(family), mode, pooling, LoraSpec(r=2)).eval()
    torch.nn.init.normal_(model.head.weight)  # a zero head would hide any difference
    seqs = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16]]
    with torch.no_grad():
        right = model(*pad_batch(seqs, 0, "right"))
        left = model(*pad_batch(seqs, 3, "left"))  # a different pad id too: it must not matter
        alone = torch.cat([model(*pad_batch([s], 0)) for s in seqs])
    assert torch.allclose(right, left, atol=1e-5)
    assert torch.allclose(right, alone, atol=1e-5)


def test_lora_trains_only_adapters_and_head():
    model = build_classifier(tiny_backbone("gpt2"), "lora", "last", LoraSpec(r=2))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert {"head.weight", "head.bias"} <= trainable


def test_gpt2_tokenizer_without_pad_gets_one():
    tok = word_tokenizer(["a", "b"], pad=False)
    assert tok.pad_token_id is None and pad_id_of(tok) == tok.eos_token_id


def test_length_grouped_batches_cover_every_example_once():
    lengths = list(np.random.default_rng(0).integers(1, 50, size=103))
    sampler = LengthGroupedBatches(lengths, batch_size=8, seed=1, window=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13
    assert sorted(i for b in batches for i in b) == list(range(103))
    sampler.set_epoch(1)
    assert list(sampler) != batches  # reshuffled per epoch
    spreads = [np.ptp([lengths[i] for i in b]) for b in batches if len(b) == 8]
    assert np.mean(spreads) < 20  # grouped: far below the ~45 spread of random batches


WORDS = [f"good{i}" for i in range(10)] + [f"bad{i}" for i in range(10)] + [f"filler{i}" for i in range(20)]


def _toy_task(n, seed):
    """Label 1 iff the text holds a 'good' word; texts of varied length."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(2))
        key = f"{'good' if y else 'bad'}{rng.integers(3)}"
        filler = [f"filler{j}" for j in rng.integers(20, size=rng.integers(0, 8))]
        words = filler + [key]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.array(labels, dtype=np.float64)


@pytest.mark.parametrize("mode, batch_size, accum, checkpointing, min_accuracy", [
    ("full", 4, 1, False, 0.8),
    ("lora", 7, 2, True, 0.7),    # uneven last batch, accumulation, gradient checkpointing
])
def test_training_learns_a_toy_task(mode, batch_size, accum, checkpointing, min_accuracy):
    tok = word_tokenizer(WORDS)
    texts, labels = _toy_task(60, seed=0)
    test_texts, test_labels = _toy_task(40, seed=1)
    settings = finetune_settings(FinetuneSpec(lr=3e-3, batch_size=batch_size, epochs=4,
                                              eval_batch_size=16, grad_accum=accum,
                                              gradient_checkpointing=checkpointing), mode, 10_000)
    torch.manual_seed(0)
    model = build_classifier(tiny_backbone("neox"), mode, "mean", LoraSpec(r=4), checkpointing)
    preds, info = train_and_predict(model, tok, texts, labels, make_loss("xent"), settings, 16,
                                    {"test": test_texts, "one": test_texts[:1]})
    assert info["steps"] == 4 * int(np.ceil(np.ceil(60 / batch_size) / accum))
    assert preds["test"].shape == (40,) and np.isfinite(preds["test"]).all()
    assert preds["one"][0] == pytest.approx(preds["test"][0], abs=1e-5)  # order kept, batch-independent
    assert np.mean((preds["test"] > 0.5) == test_labels) >= min_accuracy  # chance is 0.5


def test_logconf_students_do_not_collapse_in_minibatches():
    """With a quarter of the weak labels wrong, logconf must still learn the task (a threshold
    from stale predictions once hardened whole batches to one class and left it at chance)."""
    tok = word_tokenizer(WORDS)
    texts, labels = _toy_task(120, seed=0)
    test_texts, test_labels = _toy_task(60, seed=1)
    flipped = np.random.default_rng(0).random(120) < 0.25
    weak = np.where(flipped, 1 - labels, labels) * 0.8 + 0.1
    settings = finetune_settings(FinetuneSpec(lr=3e-3, batch_size=8, epochs=4, eval_batch_size=32), "full", 10_000)
    torch.manual_seed(0)
    model = build_classifier(tiny_backbone("neox"), "full", "mean")
    preds, _ = train_and_predict(model, tok, texts, weak, make_loss("logconf"), settings, 16,
                                 {"test": test_texts, "train": texts})
    assert np.mean((preds["test"] > 0.5) == test_labels) >= 0.7
    assert np.mean((preds["train"] > 0.5) == labels) > np.mean((preds["train"] > 0.5) == (weak > 0.5))


def test_batch_size_one_trains():
    tok = word_tokenizer(WORDS)
    texts, labels = _toy_task(9, seed=2)
    settings = finetune_settings(FinetuneSpec(lr=1e-2, batch_size=1, epochs=1, eval_batch_size=1), "full", 10_000)
    model = build_classifier(tiny_backbone("gpt2"), "full", "last")
    preds, info = train_and_predict(model, tok, texts, labels, make_loss("logconf"), settings, 16, {"train": texts})
    assert info["steps"] == 9 and np.isfinite(info["final_loss"])
    assert np.ptp(preds["train"]) > 0  # the head moved off its all-0.5 start


def test_per_size_defaults_and_overrides():
    small = finetune_settings(FinetuneSpec(), "lora", 2_000_000)
    big = finetune_settings(FinetuneSpec(), "full", 7_000_000_000)
    assert small["lr"] > big["lr"] and small["epochs"] >= big["epochs"]
    assert finetune_settings(FinetuneSpec(lr=0.1, epochs=9), "full", 7_000_000_000)["lr"] == 0.1
