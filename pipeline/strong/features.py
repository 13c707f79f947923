"""Frozen features: one forward pass per checkpoint over a task's texts, pooled by the attention mask."""

from __future__ import annotations

import hashlib
import weakref

import numpy as np
import torch
from tqdm import tqdm


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Mean over real tokens, or the last real token, read off the mask (never a pad id),
    so left and right padding give the same vectors."""
    mask_f = mask.to(hidden.dtype).unsqueeze(-1)
    if pooling == "mean":
        return (hidden * mask_f).sum(1) / mask_f.sum(1).clamp_min(1.0)
    if pooling == "last":
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask.bool(), positions, -1).max(dim=1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling '{pooling}'")


_TOKEN_IDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_MAX_LISTS_PER_TOKENIZER = 256


def tokenize(tokenizer, texts: list[str], max_tokens: int) -> list[list[int]]:
    """One truncation rule for every tokenizer: the first max_tokens tokens of each text.

    Computed once per tokenizer object and text list: `loading.load_tokenizer` hands every
    checkpoint with identical tokenizer files the same object, so a suite's hundreds of
    revisions tokenize each task once. The lists are shared: callers must not modify them.
    """
    digest = hashlib.sha256(f"{max_tokens}\x00{len(texts)}\x00".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    cached = _TOKEN_IDS.setdefault(tokenizer, {})
    key = digest.hexdigest()
    if key not in cached:
        if len(cached) >= _MAX_LISTS_PER_TOKENIZER:
            cached.pop(next(iter(cached)))
        cached[key] = tokenizer(list(texts), truncation=True, max_length=max_tokens,
                                add_special_tokens=False)["input_ids"]
    return cached[key]


def batches_by_length(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar length (longest first), so padding is small."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(seqs: list[list[int]], pad_id: int, side: str = "right") -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if side == "right":
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        else:
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, width - len(s):] = 1
    return ids, mask


def forward_hidden(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Last hidden state with positions counted over real tokens only (padding side invariant)."""
    position_ids = (mask.cumsum(1) - 1).clamp_min(0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=position_ids)
    return out.last_hidden_state


@torch.inference_mode()
def extract_features(model, tokenizer, texts: list[str], pooling: str, max_tokens: int,
                     batch_size: int, desc: str = "features", progress: bool = True) -> np.ndarray:
    """Pooled last hidden states, longest batches first. `batch_size` is where it starts: a
    batch that runs out of GPU memory is halved (and so is every later one) until it fits,
    so one setting serves a 14M and a 7B model."""
    token_ids = tokenize(tokenizer, texts, max_tokens)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    batches = batches_by_length([len(t) for t in token_ids], batch_size)
    limit = batch_size
    for idx in tqdm(batches, desc=desc, unit="batch", disable=not progress, leave=False, dynamic_ncols=True):
        start = 0
        while start < len(idx):
            part = idx[start:start + limit]
            ids, mask = pad_batch([token_ids[i] for i in part], pad_id)
            ids, mask = ids.to(device), mask.to(device)
            try:
                pooled = pool(forward_hidden(model, ids, mask), mask, pooling)
            except torch.OutOfMemoryError:
                if limit == 1:
                    raise
                del ids, mask
                limit = max(1, limit // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            out[part] = pooled.float().cpu().numpy()
            start += len(part)
    return out
