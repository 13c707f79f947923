"""lora and full fine-tuning of a BinaryClassifier, through accelerate.

One loop for CPU, one GPU, DDP and FSDP (launch with `accelerate launch`); batches are padded
per batch and grouped by length, so a short text never waits on a long one's padding. The
last batch may be smaller than the rest, and batch size 1 works.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .features import pad_batch, tokenize
from .losses import W2SLoss
from .model import BinaryClassifier, load_classifier, pad_id_of


def training_precision() -> str:
    """bf16 autocast where the GPU supports it; plain fp32 elsewhere (CPU bf16 is slow and lossy)."""
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def weights_dtype(mode: str) -> torch.dtype:
    """LoRA's frozen body can live in bf16; full fine-tuning keeps fp32 master weights."""
    return torch.bfloat16 if mode == "lora" and training_precision() == "bf16" else torch.float32


class LengthGroupedBatches:
    """Shuffled batches of similar-length examples: shuffle, cut into windows of `window`
    batches, sort each window by length, then shuffle the batch order. Reshuffled per epoch."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0, shuffle: bool = True, window: int = 50):
        self.lengths = np.asarray(lengths)
        self.batch_size, self.seed, self.shuffle, self.window = batch_size, seed, shuffle, window
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self):
        n = len(self.lengths)
        if not self.shuffle:  # evaluation: longest first, so memory peaks at once if at all
            order = np.argsort(-self.lengths, kind="stable")
            yield from (order[i:i + self.batch_size].tolist() for i in range(0, n, self.batch_size))
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        span = self.window * self.batch_size
        batches = []
        for start in range(0, n, span):
            chunk = order[start:start + span]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


class PadCollate:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items):
        index, seqs, targets = zip(*items)
        ids, mask = pad_batch([s or [self.pad_id] for s in seqs], self.pad_id)
        return {"index": torch.tensor(index), "input_ids": ids, "attention_mask": mask,
                "targets": torch.tensor(targets, dtype=torch.float32)}


def _loader(token_ids, targets, batch_size, pad_id, seed=0, shuffle=True):
    items = list(zip(range(len(token_ids)), token_ids, targets))
    sampler = LengthGroupedBatches([len(t) for t in token_ids], batch_size, seed, shuffle)
    return DataLoader(items, batch_sampler=sampler, collate_fn=PadCollate(pad_id)), sampler


def _lr_factor(step: int, total: int, warmup_fraction: float) -> float:
    warmup = int(total * warmup_fraction)
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def train_and_predict(model: BinaryClassifier, tokenizer, texts: list[str], targets: np.ndarray,
                      loss_fn: W2SLoss, settings: dict, max_tokens: int, predict_on: dict[str, list[str]],
                      progress: bool = False, desc: str = "train") -> tuple[dict[str, np.ndarray], dict]:
    """Train on (texts, targets) with `loss_fn`, then return P(y=1) for each named text list.

    `settings`: a resolved config.finetune_settings dict. Returns the predictions and a few
    facts about the training (steps, final loss, seconds) for the unit's record.
    """
    from accelerate import Accelerator

    started = time.time()
    accelerator = Accelerator(mixed_precision=training_precision(),
                              gradient_accumulation_steps=settings["grad_accum"])
    pad_id = pad_id_of(tokenizer)
    train_ids = tokenize(tokenizer, texts, max_tokens)
    loader, sampler = _loader(train_ids, np.asarray(targets, dtype=np.float32).tolist(),
                              settings["batch_size"], pad_id, settings["seed"])
    head = [p for p in model.head.parameters()]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    lr = settings["lr"]
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr, "base_lr": lr},
                                   {"params": head, "lr": lr * settings["head_lr_scale"],
                                    "base_lr": lr * settings["head_lr_scale"]}],
                                  weight_decay=settings["weight_decay"])
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    total = settings["epochs"] * math.ceil(len(loader) / settings["grad_accum"])
    step, last_loss = 0, math.nan
    bar = tqdm(total=total, desc=desc, unit="step", disable=not progress, leave=False, dynamic_ncols=True)
    model.train()
    loop_started = time.time()
    for epoch in range(settings["epochs"]):
        sampler.set_epoch(epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                logits = model(batch["input_ids"], batch["attention_mask"])
                loss = loss_fn(logits, batch["targets"], step / total)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    if settings["max_grad_norm"]:
                        accelerator.clip_grad_norm_(model.parameters(), settings["max_grad_norm"])
                    for group in optimizer.param_groups:
                        group["lr"] = group["base_lr"] * _lr_factor(step, total, settings["warmup_fraction"])
                optimizer.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                step += 1
                last_loss = float(loss.detach())
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.3f}")
    bar.close()
    loop_seconds = time.time() - loop_started
    if not math.isfinite(last_loss):
        raise FloatingPointError(f"{desc}: training loss is {last_loss}")
    predictions = {name: predict(accelerator, model, tokenizer, t, settings["eval_batch_size"], max_tokens)
                   for name, t in predict_on.items()}
    accelerator.free_memory()
    return predictions, {"steps": step, "final_loss": last_loss, "train_seconds": time.time() - started,
                         "loop_seconds": loop_seconds,
                         "n_train": len(texts), "precision": training_precision()}


@torch.no_grad()
def predict(accelerator, model, tokenizer, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
    """P(y=1) for each text, in input order, whatever the process count or batch order."""
    ids = tokenize(tokenizer, texts, max_tokens)
    loader, _ = _loader(ids, [0.0] * len(ids), batch_size, pad_id_of(tokenizer), shuffle=False)
    loader = accelerator.prepare(loader)
    model.eval()
    out = np.full(len(texts), np.nan, dtype=np.float64)
    for batch in loader:
        logits = model(batch["input_ids"], batch["attention_mask"])
        index, logits = accelerator.gather_for_metrics((batch["index"], logits))
        out[index.cpu().numpy()] = torch.sigmoid(logits.float()).cpu().numpy()
    model.train()
    if np.isnan(out).any():
        raise RuntimeError("some examples got no prediction")
    return out


def fine_tune(checkpoint, mode: str, pooling: str, lora, settings: dict, max_tokens: int, texts: list[str],
              targets: np.ndarray, loss_fn: W2SLoss, predict_on: dict[str, list[str]], progress: bool = False,
              desc: str = "train") -> tuple[dict[str, np.ndarray], dict]:
    """A fresh model from `checkpoint`, trained and evaluated: one unit of lora/full mode."""
    from accelerate.utils import set_seed

    set_seed(settings["seed"])  # the LoRA init and the batch order
    model, tokenizer = load_classifier(checkpoint, mode, pooling, lora, settings["gradient_checkpointing"],
                                       dtype=weights_dtype(mode))
    try:
        return train_and_predict(model, tokenizer, texts, targets, loss_fn, settings, max_tokens, predict_on,
                                 progress, desc)
    finally:
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
