"""Pre-train a local Pythia-style suite from scratch and save its revisions as HF folders.

nanoGPT-sized on purpose: the whole loop fits on a screen. The build is deterministic given
the seed and resumable: the optimizer state is saved beside the latest revision, and the data
order is fixed up front, so a killed build continues to the very same weights.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..config import LocalSuite
from ..data.corpus import Document, corpus_digest, pretraining_documents
from ..data.fetch import sha256_of
from ..paths import suites_dir
from ..store import atomic_write_json, stable_hash
from .schedule import local_steps, revision_name

EOS = "<|endoftext|>"
PAD = "<|padding|>"
INDEX = "index.json"


@dataclass(frozen=True)
class BuiltRevision:
    revision: str
    step: int
    tokens: int
    heldout_loss: float
    path: Path
    weights_sha256: str


def suite_key(suite: LocalSuite) -> str:
    return stable_hash({"model": suite.model.model_dump(), "train": suite.train.model_dump(),
                        "corpus": suite.corpus.model_dump(),
                        "torch": torch.__version__.split("+")[0], "format": 2})


def suite_path(name: str, suite: LocalSuite) -> Path:
    return suites_dir() / f"{name}-{suite_key(suite)[:12]}"


def read_index(path: Path) -> list[BuiltRevision] | None:
    try:
        data = json.loads((path / INDEX).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not data.get("complete"):
        return None
    return [BuiltRevision(r["revision"], r["step"], r["tokens"], r["heldout_loss"], path / r["revision"],
                          r["weights_sha256"]) for r in data["revisions"]]


def train_tokenizer(docs: list[Document], vocab_size: int, out: Path):
    """Byte-level BPE as Pythia's, trained deterministically (see bpe.py), saved as a fast
    tokenizer that transformers loads. Cached by corpus and size: suites on the same corpus
    (a strong suite and its weak supervisor) share one tokenizer and train it once."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from .bpe import train_bpe

    cached = suites_dir() / "tokenizers" / f"{corpus_digest(docs)[:16]}-{vocab_size}"
    if not (cached / "tokenizer.json").exists():
        vocab, merges = train_bpe((d.text for d in docs), vocab_size, [EOS, PAD])
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS,
                                       unk_token=EOS, pad_token=PAD)
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        fast.save_pretrained(tmp)
        shutil.rmtree(cached, ignore_errors=True)
        os.replace(tmp, cached)
    shutil.copytree(cached, out, dirs_exist_ok=True)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(out)


def _encode(tokenizer, docs: list[Document]) -> np.ndarray:
    eos = tokenizer.convert_tokens_to_ids(EOS)
    ids: list[int] = []
    for enc in tokenizer([d.text for d in docs], add_special_tokens=False)["input_ids"]:
        ids.extend(enc)
        ids.append(eos)
    return np.asarray(ids, dtype=np.int32)


def _pieces(doc: Document, size: int = 8000) -> list[Document]:
    """Cut a long text at line breaks into ~size-char pieces, so the held-out share is
    granular even when a corpus is a few long plays."""
    out, start, k = [], 0, 0
    while start < len(doc.text):
        end = doc.text.find("\n", start + size)
        end = len(doc.text) if end == -1 else end + 1
        out.append(Document(f"{doc.doc_id}#{k}", doc.text[start:end]))
        start, k = end, k + 1
    return out


def _split_docs(docs: list[Document], heldout_fraction: float) -> tuple[list[Document], list[Document]]:
    """Held-out pieces by a hash of their id; at least one, so the loss is always measured."""
    from ..tasks.splits import unit_hash

    pieces = [p for d in docs for p in _pieces(d)]
    score = {p.doc_id: unit_hash("heldout", p.doc_id) for p in pieces}
    heldout = [p for p in pieces if score[p.doc_id] < heldout_fraction] or [min(pieces, key=lambda p: score[p.doc_id])]
    chosen = {p.doc_id for p in heldout}
    return [p for p in pieces if p.doc_id not in chosen], heldout


def make_model(suite: LocalSuite, vocab_size: int, seed: int):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    shape = suite.model
    config = GPTNeoXConfig(
        vocab_size=vocab_size, hidden_size=shape.hidden, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, intermediate_size=shape.intermediate or 4 * shape.hidden,
        max_position_embeddings=shape.seq_len, rotary_pct=0.25, use_parallel_residual=True,
        hidden_dropout=0.0, attention_dropout=0.0, tie_word_embeddings=False,
        bos_token_id=0, eos_token_id=0, pad_token_id=1,
    )
    torch.manual_seed(seed)
    return GPTNeoXForCausalLM(config)


def _lr_at(step: int, suite: LocalSuite) -> float:
    t = suite.train
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
    return t.lr * (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def heldout_loss(model, blocks: torch.Tensor, batch_size: int) -> float:
    model.eval()
    losses = [model(input_ids=b, labels=b).loss.item() * len(b) for b in blocks.split(batch_size)]
    model.train()
    return float(sum(losses) / len(blocks))


def build_suite(name: str, suite: LocalSuite, progress: bool = True) -> list[BuiltRevision]:
    """Build (or finish building) the suite; return its revisions. A finished suite is reused."""
    from filelock import FileLock

    out = suite_path(name, suite)
    done = read_index(out)
    if done is not None:
        return done
    out.parent.mkdir(parents=True, exist_ok=True)
    # Two workers that both find the suite missing: one builds, the other waits and reuses it.
    with FileLock(str(out) + ".lock"):
        return read_index(out) or _build(name, suite, out, progress)


def _build(name: str, suite: LocalSuite, out: Path, progress: bool) -> list[BuiltRevision]:
    out.mkdir(parents=True, exist_ok=True)
    t = suite.train
    seq = suite.model.seq_len
    docs = pretraining_documents(suite.corpus.shakespeare, suite.corpus.bbc_pretrain_articles,
                                 suite.corpus.max_chars)
    train_docs, heldout_docs = _split_docs(docs, suite.corpus.heldout_fraction)

    from transformers import AutoTokenizer

    tok_dir = out / "tokenizer"
    if (tok_dir / "tokenizer.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    else:
        tokenizer = train_tokenizer(train_docs, suite.model.vocab_size, tok_dir)
    vocab_size = len(tokenizer)

    train_ids = _encode(tokenizer, train_docs)
    heldout_ids = _encode(tokenizer, heldout_docs)
    n_blocks = (len(train_ids) - 1) // seq
    blocks = torch.from_numpy(train_ids[: n_blocks * seq].astype(np.int64)).view(n_blocks, seq)
    n_heldout = min(256, len(heldout_ids) // seq)
    heldout = torch.from_numpy(heldout_ids[: n_heldout * seq].astype(np.int64)).view(n_heldout, seq)
    # The whole data order, fixed by the seed: epoch-wise permutations of the blocks.
    gen = np.random.default_rng(t.seed)
    needed = t.steps * t.batch_size
    order = np.concatenate([gen.permutation(n_blocks) for _ in range(needed // n_blocks + 1)])[:needed]

    model = make_model(suite, vocab_size, t.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": t.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=t.lr, betas=(0.9, 0.95), eps=1e-8)
    save_at = local_steps(t.steps, t.log_spaced_until, t.evenly_spaced)
    records: list[dict] = []
    step = 0
    state_path = out / "trainer_state.pt"
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, records = state["step"], state["records"]
    tokens_per_step = t.batch_size * seq
    meta = {"suite": name, "suite_key": suite_key(suite), "corpus_sha256": corpus_digest(docs),
            "train_tokens_available": int(len(train_ids)), "heldout_tokens": int(n_heldout * seq),
            "tokens_per_step": tokens_per_step, "n_parameters": sum(p.numel() for p in model.parameters()),
            "config": json.loads(suite.model_dump_json())}

    def save(step: int) -> None:
        rev = revision_name(step)
        tmp = out / f".{rev}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if (out / rev).exists():
            shutil.rmtree(out / rev)
        os.replace(tmp, out / rev)
        records.append({"revision": rev, "step": step, "tokens": step * tokens_per_step,
                        "heldout_loss": heldout_loss(model, heldout, t.batch_size),
                        "weights_sha256": sha256_of(out / rev / "model.safetensors")})
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "step": step, "records": records}, state_path.with_suffix(".tmp"))
        os.replace(state_path.with_suffix(".tmp"), state_path)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model.train()
    bar = tqdm(total=t.steps, initial=step, desc=f"pre-train {name}", unit="step",
               disable=not progress, dynamic_ncols=True)
    if step == 0 and not records:
        save(0)
    while step < t.steps:
        batch = blocks[torch.from_numpy(order[step * t.batch_size:(step + 1) * t.batch_size])]
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, suite)
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if step in save_at:
            save(step)
    bar.close()
    atomic_write_json(out / INDEX, {**meta, "complete": True, "revisions": records})
    state_path.unlink(missing_ok=True)
    return read_index(out)
