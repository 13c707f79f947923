"""Load any checkpoint (local folder or Hub repo at a pinned commit) through transformers Auto classes."""

from __future__ import annotations

from pathlib import Path

from .suites import Checkpoint

WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]


def resolve(checkpoint: Checkpoint, allow_pickle: bool = False) -> Checkpoint:
    """Pin a Hub revision to its commit and make its files local (honours HF_HUB_OFFLINE and HF_HOME).

    The snapshot folder's name is the commit sha, so resolving and downloading are one step.
    """
    if checkpoint.local_path is not None:
        return checkpoint
    from huggingface_hub import snapshot_download

    patterns = WEIGHT_PATTERNS + (["*.bin"] if allow_pickle else [])
    folder = Path(snapshot_download(checkpoint.repo, revision=checkpoint.commit_sha or checkpoint.revision,
                                    allow_patterns=patterns))
    return Checkpoint(checkpoint.suite, checkpoint.repo, checkpoint.revision, checkpoint.step,
                      checkpoint.tokens, folder.name, folder)


def load_backbone(checkpoint: Checkpoint, dtype=None, trust_remote_code: bool = False,
                  allow_pickle: bool = False):
    """The model without its LM head (its hidden states are the features) and its tokenizer."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    # Loading a base model from a *ForCausalLM checkpoint reports the unused LM head; expected here.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    assert checkpoint.local_path is not None, "resolve() the checkpoint first"
    model = AutoModel.from_pretrained(checkpoint.local_path, dtype=dtype or torch.float32,
                                      use_safetensors=not allow_pickle, trust_remote_code=trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint.local_path, trust_remote_code=trust_remote_code)
    model.eval()
    return model, tokenizer
