"""Fixtures for the Hub checkpoint tests: a real HF cache layout, a tiny model, a local Hub server.

huggingface_hub reads HF_HUB_CACHE, HF_HUB_OFFLINE and HF_ENDPOINT once at import into
`huggingface_hub.constants`, so the fixtures set both the variables and those constants.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.paths import data_dir

# The task data is a download cache: reuse the user's instead of refetching it per test session.
REAL_DATA_DIR = os.environ.get("W2S_DATA_DIR") or str(data_dir())


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHubCache:
    """Writes repos into an HF cache exactly as huggingface_hub lays them out.

    LFS files (weights) become blobs named by their sha256, other files blobs named by their git
    sha1, and snapshots/<commit>/ holds relative symlinks to them; refs/<revision> names the commit.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def repo_dir(self, repo: str) -> Path:
        return self.root / ("models--" + repo.replace("/", "--"))

    def add(self, repo: str, revision: str | None, folder: Path, commit: str | None = None) -> str:
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if commit is None:
            digest = hashlib.sha1(f"{repo}@{revision}".encode())
            for p in files:
                digest.update(p.read_bytes())
            commit = digest.hexdigest()
        base = self.repo_dir(repo)
        snapshot = base / "snapshots" / commit
        for p in files:
            data = p.read_bytes()
            is_lfs = p.suffix in (".safetensors", ".bin")
            blob_name = hashlib.sha256(data).hexdigest() if is_lfs else _git_blob_sha1(data)
            blob = base / "blobs" / blob_name
            blob.parent.mkdir(parents=True, exist_ok=True)
            if not blob.exists():
                blob.write_bytes(data)
            link = snapshot / p.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        if revision is not None:
            self.set_ref(repo, revision, commit)
        return commit

    def set_ref(self, repo: str, revision: str, commit: str) -> None:
        ref = self.repo_dir(repo) / "refs" / revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit)  # no newline, as huggingface_hub writes it


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Project cache and suites in tmp; task data from the shared download cache."""
    monkeypatch.setenv("W2S_CACHE", str(tmp_path / "w2s-cache"))
    monkeypatch.setenv("W2S_SUITES_DIR", str(tmp_path / "w2s-cache" / "suites"))
    monkeypatch.setenv("W2S_DATA_DIR", REAL_DATA_DIR)
    return tmp_path / "w2s-cache"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch, isolated_cache) -> FakeHubCache:
    """An empty HF cache in tmp, offline, as a user with HF_HUB_OFFLINE=1 and HF_HUB_CACHE set has."""
    from huggingface_hub import constants

    root = tmp_path / "hf-hub-cache"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return FakeHubCache(root)


def make_tiny_model(out: Path, seed: int, tokenizer_dir: Path):
    """A 1-layer GPT-NeoX (the Pythia architecture) saved as a Hub repo would hold it."""
    import torch
    from transformers import AutoTokenizer, GPTNeoXConfig, GPTNeoXForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = GPTNeoXConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=64, rotary_pct=0.25,
                           bos_token_id=0, eos_token_id=0, pad_token_id=1)
    torch.manual_seed(seed)
    model = GPTNeoXForCausalLM(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return model


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """Two tiny models with different weights: name -> (saved folder, the in-memory model)."""
    from pipeline.checkpoints.build import train_tokenizer
    from pipeline.data.corpus import Document

    root = tmp_path_factory.mktemp("tiny-models")
    text = ("The quick brown fox jumps over the lazy dog. Markets rallied as technology shares rose. "
            "A new phone was unveiled by the company on Tuesday. ") * 20
    train_tokenizer([Document("doc", text)], 300, root / "tokenizer")
    return {name: (root / name, make_tiny_model(root / name, seed, root / "tokenizer"))
            for name, seed in (("a", 0), ("b", 1))}


class _HubHandler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict, dict]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        if path.startswith("/api/models/"):  # not huggingface_hub's own side requests
            type(self).hits.append(path)
        status, headers, body = type(self).routes.get(path, (404, {"X-Error-Code": "RepoNotFound"},
                                                             {"error": "Repository not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_hub(monkeypatch, isolated_cache, tmp_path):
    """A Hub API on 127.0.0.1 (random port) serving JSON routes the test sets; online mode, pointed at it."""
    from huggingface_hub import constants

    handler = type("Handler", (_HubHandler,), {"routes": {}, "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    # huggingface_hub 2.x also asks the endpoint for an agent registry it caches under HF_HOME.
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"), raising=False)
    yield handler
    server.shutdown()
    server.server_close()
