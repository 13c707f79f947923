"""One adapter for every architecture: a transformers backbone (Auto classes) with a one-logit
binary head on the mask-pooled last hidden state, for lora and full fine-tuning.

Pooling and positions come from the attention mask (`features.pool`, `features.forward_hidden`),
so left and right padding give the same logits and no pad id is ever trusted.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from torch import nn

from .features import forward_hidden, pool

# The projections LoRA adapts, per architecture (config.model_type).
_ATTN_MLP = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "gpt_neox": ("query_key_value", "dense_h_to_4h", "dense_4h_to_h"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "bert": ("query", "key", "value", "dense"),
    "roberta": ("query", "key", "value", "dense"),
    **{t: _ATTN_MLP for t in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "olmo", "olmo2", "olmo3",
                              "gemma", "gemma2", "phi3", "smollm3")},
}
# Modules off the path from the input to the pooled hidden state: adapting them trains nothing
# (and leaves DDP waiting for gradients that never come).
_OFF_PATH = ("pooler",)


def _adaptable_leaves(model: nn.Module) -> dict[str, str]:
    """Full name -> short name of every Linear-like leaf (GPT-2 uses transformers' Conv1D)."""
    from transformers.pytorch_utils import Conv1D

    out = {}
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, Conv1D)) and not any(p in name.split(".") for p in _OFF_PATH):
            out[name] = name.rsplit(".", 1)[-1]
    return out


def lora_target_names(model: nn.Module, override: list[str] | None = None) -> list[str]:
    """Short module names to adapt: the override, the architecture's entry, or, for an unknown
    architecture, every Linear-like leaf name (loudly general rather than silently empty)."""
    leaves = _adaptable_leaves(model)
    present = set(leaves.values())
    if override:
        missing = sorted(set(override) - present)
        if missing:
            raise ValueError(f"lora target_modules {missing} not in the model (it has: {', '.join(sorted(present))})")
        return list(override)
    known = LORA_TARGETS.get(getattr(model.config, "model_type", ""), ())
    found = [n for n in known if n in present]
    return found or sorted(present)


def lora_target_modules(model: nn.Module, names: list[str]) -> list[str]:
    """Full module paths for `names`, leaving out modules off the forward path (BERT's pooler)."""
    return sorted(full for full, short in _adaptable_leaves(model).items() if short in names)


class BinaryClassifier(nn.Module):
    def __init__(self, backbone: nn.Module, hidden_size: int, pooling: str):
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.head = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.head.weight)  # starts at P=0.5 for every example, whatever the checkpoint
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = forward_hidden(self.backbone, input_ids, attention_mask)
        pooled = pool(hidden, attention_mask, self.pooling)
        return self.head(pooled.to(self.head.weight.dtype)).squeeze(-1).float()


def pad_id_of(tokenizer) -> int:
    """A valid id to fill padding with; its value never matters since the mask hides it."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def count_parameters(folder: Path) -> int:
    """Parameters of a saved checkpoint, read off the safetensors headers (no weights loaded)."""
    total = 0
    for path in sorted(Path(folder).rglob("*.safetensors")):
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, entry in header.items():
            if name != "__metadata__":
                size = 1
                for d in entry["shape"]:
                    size *= d
                total += size
    return total


def _drop_unused_heads(backbone: nn.Module) -> None:
    if getattr(backbone, "pooler", None) is not None:
        backbone.pooler = None  # BERT-style: pooling is ours; an unused pooler breaks DDP


def build_classifier(backbone: nn.Module, mode: str, pooling: str, lora=None,
                     gradient_checkpointing: bool = False) -> BinaryClassifier:
    """Wrap a loaded backbone for `mode` ('lora' or 'full'); `lora` is a config.LoraSpec."""
    _drop_unused_heads(backbone)
    if gradient_checkpointing:
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if hasattr(backbone.config, "use_cache"):
        backbone.config.use_cache = False
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        names = lora_target_names(backbone, lora.target_modules if lora else None)
        config = LoraConfig(r=lora.r if lora else 8, lora_alpha=lora.alpha if lora else 16,
                            lora_dropout=lora.dropout if lora else 0.0,
                            target_modules=lora_target_modules(backbone, names),
                            fan_in_fan_out=getattr(backbone.config, "model_type", "") == "gpt2")
        backbone = get_peft_model(backbone, config)
    elif mode != "full":
        raise ValueError(f"mode '{mode}' is not a fine-tuning mode (lora or full)")
    model = BinaryClassifier(backbone, backbone.config.hidden_size, pooling)
    model.train()
    return model


def load_classifier(checkpoint, mode: str, pooling: str, lora=None, gradient_checkpointing: bool = False,
                    dtype: torch.dtype | None = None):
    """A fresh classifier from a resolved checkpoint, and its tokenizer (`pad_id_of` gives a pad id)."""
    from ..checkpoints.loading import load_backbone

    backbone, tokenizer = load_backbone(checkpoint, dtype=dtype)  # the tokenizer is shared: never mutate it
    return build_classifier(backbone, mode, pooling, lora, gradient_checkpointing), tokenizer
