"""Load any checkpoint (local folder or Hub repo at a pinned commit) through transformers Auto classes.

Hub files live in the standard HF cache, located through `huggingface_hub` itself, so HF_HOME,
HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT and HF_TOKEN mean what they mean everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..errors import UserError
from .suites import Checkpoint

WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]
PICKLE_PATTERNS = ["*.bin"]
COMMIT = re.compile(r"[0-9a-f]{40}")


class RevisionUnavailable(UserError):
    """A revision could not be pinned or made local; the Runner records it as a failed checkpoint."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def cached_commit(repo: str, revision: str) -> str | None:
    """The commit a revision points at in the local HF cache (refs/<revision>), without any network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "config.json", revision=revision)
    if isinstance(found, str):
        return Path(found).parent.name  # snapshots/<commit>/config.json
    return None


def weight_files(folder: Path, allow_pickle: bool) -> list[Path]:
    """The files that hold the weights: safetensors, or pickled .bin only where a suite allows it."""
    found = sorted(p for p in folder.rglob("*.safetensors") if p.is_file())
    if not found and allow_pickle:
        found = sorted(p for p in folder.rglob("*.bin") if p.is_file())
    return found


def resolve(checkpoint: Checkpoint, allow_pickle: bool | None = None) -> Checkpoint:
    """Pin a Hub revision to its commit and make its files local, before any work on it.

    The snapshot folder's name is the commit sha, so resolving and downloading are one step;
    offline, huggingface_hub resolves the name through the cache's refs/. A pinned
    `commit_sha` (from the cached listing) wins over the branch name, so a branch that
    moved since the run started is not silently followed.
    """
    if checkpoint.local_path is not None:
        if not Path(checkpoint.local_path).is_dir():
            raise RevisionUnavailable(f"{checkpoint.label}: its folder {checkpoint.local_path} is gone "
                                      f"(a local suite is rebuilt by `w2s suite build {checkpoint.suite}`)")
        return checkpoint
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    allow_pickle = checkpoint.allow_pickle if allow_pickle is None else allow_pickle
    target = checkpoint.commit_sha or checkpoint.revision
    where = f"{checkpoint.repo}@{checkpoint.revision}" + (
        f" (commit {checkpoint.commit_sha[:12]})" if checkpoint.commit_sha else "")
    patterns = WEIGHT_PATTERNS + (PICKLE_PATTERNS if allow_pickle else [])
    try:
        folder = Path(snapshot_download(checkpoint.repo, revision=target, allow_patterns=patterns))
    except RevisionNotFoundError:
        raise RevisionUnavailable(f"{where}: no such revision on {constants.ENDPOINT}") from None
    except GatedRepoError:
        raise RevisionUnavailable(f"{where}: the repo is gated; accept its terms and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise RevisionUnavailable(f"{where}: no such repo on {constants.ENDPOINT} (private? set HF_TOKEN)") from None
    except LocalEntryNotFoundError as exc:
        if constants.HF_HUB_OFFLINE:
            how = "HF_HUB_OFFLINE is set"
        else:  # huggingface_hub chains the network error that sent it to the cache
            how = f"the Hub could not be reached ({_first_line(exc.__cause__ or exc)})"
        raise RevisionUnavailable(f"{where}: not in the HF cache {constants.HF_HUB_CACHE} and {how}") from None
    except Exception as exc:  # network errors and the like: one line, the Runner records it
        raise RevisionUnavailable(f"{where}: could not be fetched ({_first_line(exc)})") from None
    commit = folder.name
    if not COMMIT.fullmatch(commit) or (checkpoint.commit_sha and commit != checkpoint.commit_sha):
        raise RevisionUnavailable(f"{where}: snapshot folder {folder} is not named by the pinned commit")
    if not (folder / "config.json").exists():
        raise RevisionUnavailable(f"{where}: snapshot {commit[:12]} has no config.json")
    if not weight_files(folder, allow_pickle):
        hint = "" if allow_pickle else " (if it only has pytorch_model.bin, set allow_pickle: true in its suite)"
        raise RevisionUnavailable(f"{where}: snapshot {commit[:12]} has no safetensors weights{hint}")
    return replace(checkpoint, commit_sha=commit, local_path=folder)


# The files that make a tokenizer; identical bytes mean identical token ids for every text.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model",
                   "sentencepiece.bpe.model", "chat_template.jinja")
_TOKENIZERS: dict[str, object] = {}
_FINGERPRINTS: dict[tuple, str] = {}


def tokenizer_fingerprint(folder: Path, trust_remote_code: bool = False) -> str:
    """sha256 over a checkpoint's tokenizer files: every revision of a Pythia or OLMo suite ships
    the same ones, so all of them share one tokenizer object (and its cached token ids).

    Duplicate detection and tokenizer loading both ask; the files are read once per process
    unless their size, mtime or inode changes."""
    import hashlib

    files = [(name, Path(folder) / name) for name in TOKENIZER_FILES if (Path(folder) / name).is_file()]
    stats = tuple((name, st.st_size, st.st_mtime_ns, st.st_ino) for name, st in ((n, p.stat()) for n, p in files))
    key = (str(folder), trust_remote_code, stats)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256(f"remote_code={trust_remote_code}\n".encode())
        for name, path in files:
            digest.update(f"{name}\n".encode())
            digest.update(path.read_bytes())
        _FINGERPRINTS[key] = digest.hexdigest()
    return _FINGERPRINTS[key]


def load_tokenizer(checkpoint: Checkpoint, trust_remote_code: bool | None = None):
    """The checkpoint's tokenizer, loaded once per distinct set of tokenizer files."""
    from transformers import AutoTokenizer

    trust_remote_code = checkpoint.trust_remote_code if trust_remote_code is None else trust_remote_code
    if checkpoint.local_path is None:
        raise RevisionUnavailable(f"{checkpoint.label}: resolve() it before loading")
    key = tokenizer_fingerprint(checkpoint.local_path, trust_remote_code)
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = AutoTokenizer.from_pretrained(checkpoint.local_path, trust_remote_code=trust_remote_code)
    return _TOKENIZERS[key]


def inference_device():
    """Where frozen features are computed: this process's GPU when it has one (each shard rank
    sees only its own), else the CPU."""
    import torch

    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")


def load_backbone(checkpoint: Checkpoint, dtype=None, trust_remote_code: bool | None = None,
                  allow_pickle: bool | None = None, device=None):
    """The model without its LM head (its hidden states are the features) and its tokenizer.

    Pickled weights and repo code run arbitrary code, so both stay off unless the suite opts in.
    The key/value cache is switched off: features need one forward pass, never generation.
    """
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    trust_remote_code = checkpoint.trust_remote_code if trust_remote_code is None else trust_remote_code
    allow_pickle = checkpoint.allow_pickle if allow_pickle is None else allow_pickle
    # Loading a base model from a *ForCausalLM checkpoint reports the unused LM head; expected here.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if checkpoint.local_path is None:
        raise RevisionUnavailable(f"{checkpoint.label}: resolve() it before loading")
    model = AutoModel.from_pretrained(checkpoint.local_path, dtype=dtype or torch.float32,
                                      use_safetensors=None if allow_pickle else True,
                                      trust_remote_code=trust_remote_code)
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False
    if device is not None:
        model.to(device)
    model.eval()
    return model, load_tokenizer(checkpoint, trust_remote_code)
