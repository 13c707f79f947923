"""Tiny randomly initialised models of each architecture family, built from configs (no downloads)."""

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoModel, PreTrainedTokenizerFast

VOCAB = 64


def tiny_backbone(family: str):
    from transformers import BertConfig, GPT2Config, GPTNeoXConfig, LlamaConfig

    torch.manual_seed(0)
    config = {
        "neox": lambda: GPTNeoXConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=64),
        "gpt2": lambda: GPT2Config(vocab_size=VOCAB, n_embd=16, n_layer=2, n_head=2, n_positions=64),
        "llama": lambda: LlamaConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     num_key_value_heads=1, intermediate_size=32, max_position_embeddings=64),
        "bert": lambda: BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=32, max_position_embeddings=64),
    }[family]()
    return AutoModel.from_config(config).eval()


def word_tokenizer(words: list[str], pad: bool = True) -> PreTrainedTokenizerFast:
    """Whitespace words -> ids; `pad=False` mimics GPT-2, which ships without a pad token."""
    vocab = {"<unk>": 0, "<eos>": 1, **({"<pad>": 2} if pad else {})}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>",
                                   **({"pad_token": "<pad>"} if pad else {}))
