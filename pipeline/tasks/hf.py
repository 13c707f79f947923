"""The W2SG tasks of Burns et al. from Hugging Face datasets at a pinned revision.

Each row becomes one binary example the way the w2s repo formats it; where a row offers a
choice (SciQ's distractor, HH's chosen or rejected reply) the draw is a hash of the task and
row, so it is the same on every run and machine. The pipeline pools the declared Hub splits
and makes its own, grouped by `doc_id` so rows sharing a passage or prompt never cross splits.

Unlike the w2s repo, question and answer come before the passage: a model's `max_tokens`
then only ever cuts passage words, never the part the label is about.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import urllib.parse
from pathlib import Path

from ..config import HFSource, TaskSpec
from ..errors import DataUnavailable
from ..paths import data_dir, project_root
from .examples import Example, TaskData, dedupe, make_task_data, truncate_words, word_budget
from .splits import unit_hash


HUB_PROBE_SECONDS = 5


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


def _sciq(row, draw, max_words):
    label = int(draw("label") < 0.5)
    distractors = [row["distractor1"], row["distractor2"], row["distractor3"]]
    answer = row["correct_answer"] if label else distractors[int(draw("distractor") * 3)]
    question = truncate_words(row["question"], word_budget(max_words, answer, "Q: A:"))
    return f"Q: {question} A: {answer}", label, _digest(row["question"])


def _boolq(row, draw, max_words):
    passage = truncate_words(row["passage"], word_budget(max_words, row["question"], "Passage: Question:"))
    return f"Question: {row['question']}\nPassage: {passage}", int(bool(row["answer"])), _digest(row["passage"])


def _cosmos_qa(row, draw, max_words):
    if row["label"] not in (0, 1, 2, 3):  # the Hub's test split is unlabelled
        return None
    answers = [row[f"answer{i}"] for i in range(4)]
    true = answers[row["label"]]
    label = 0 if true.startswith("None of the above choices") else int(draw("label") < 0.5)
    wrong = [a for a in answers if a != true]
    answer = true if label else wrong[int(draw("answer") * len(wrong))]
    context = truncate_words(row["context"], word_budget(max_words, row["question"], answer,
                                                         "Context: Question: Answer:"))
    return (f"Question: {row['question']}\nAnswer: {answer}\nContext: {context}", label,
            _digest(row["context"]))


def _amazon_polarity(row, draw, max_words):
    text = truncate_words(f"{row['title']}\n{row['content']}", max_words)
    return text, int(row["label"]), _digest(text)


def _anthropic_hh(row, draw, max_words):
    if row["chosen"] == row["rejected"]:
        return None
    label = int(draw("label") < 0.5)
    dialogue = row["chosen"] if label else row["rejected"]
    prompt = dialogue.rsplit("\n\nAssistant:", 1)[0]
    # The reply that decides the label is at the end: keep the end of a long dialogue.
    return truncate_words(dialogue.strip(), max_words, keep="end"), label, _digest(prompt)


FORMATS = {"sciq": _sciq, "boolq": _boolq, "cosmos_qa": _cosmos_qa, "amazon_polarity": _amazon_polarity,
           "anthropic_hh": _anthropic_hh}


def _local_files(files: str | list[str]) -> list[str]:
    files = [files] if isinstance(files, str) else files
    return [str(f if Path(f).is_absolute() else project_root() / f) for f in files]


@functools.lru_cache(maxsize=None)
def hub_unreachable(endpoint: str, offline: bool) -> str | None:
    """Why the Hub cannot be reached, found within seconds; None when it can be, when
    HF_HUB_OFFLINE is set (datasets then reads its cache) or when a proxy decides.

    Without it an offline machine waits minutes for `datasets`' retries before the same error.
    """
    if offline or any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urllib.parse.urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as exc:
        return f"{url.hostname}:{port} is unreachable ({exc.strerror or exc})"
    return None


def hf_rows(source: HFSource):
    """(split, row index, row) for each row of the declared splits, in the dataset's order."""
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar
    from huggingface_hub import constants

    disable_progress_bar()
    if not source.data_files:
        why = hub_unreachable(constants.ENDPOINT, constants.HF_HUB_OFFLINE)
        if why:
            raise DataUnavailable(f"{source.repo}@{source.revision}: the Hub {why}; set HF_HUB_OFFLINE=1 to read "
                                  "the HF datasets cache, or point the task's data_files at a local copy")
    for split in source.splits:
        try:
            if source.data_files:
                ds = load_dataset(source.builder, data_files={split: _local_files(source.data_files[split])},
                                  split=split, cache_dir=str(data_dir() / "hf-datasets"))
            else:
                ds = load_dataset(source.repo, source.name, revision=source.revision, split=split)
        except Exception as exc:  # offline, gated, moved: one line the user can act on
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            where = source.data_files[split] if source.data_files else f"{source.repo}@{source.revision}"
            raise DataUnavailable(f"cannot load split '{split}' of {where} ({type(exc).__name__}: {first}); "
                                  "with no Hub access, point the task's data_files at a local copy") from None
        n = len(ds) if source.max_rows_per_split is None else min(len(ds), source.max_rows_per_split)
        for i, row in enumerate(ds.select(range(n))):
            yield split, i, row


def load_hf_task(spec: TaskSpec) -> TaskData:
    source = spec.source
    fmt = FORMATS[source.format]
    examples = []
    for split, i, row in hf_rows(source):
        row_id = f"{split}/{i}"
        made = fmt(row, lambda what: unit_hash(spec.id, row_id, what), spec.max_words)
        if made is not None and made[0].strip():
            text, label, doc = made
            examples.append(Example(row_id, doc, text, label))
    return make_task_data(spec.id, spec.version, dedupe(examples))
