"""`w2s run --mode lora|full --loss ...` end to end on a micro suite (the one test_end_to_end builds)."""

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import load_tasks
from pipeline.store import Store
from pipeline.tasks.registry import load_task

EXPERIMENTS = """
experiments:
  default:
    suite: micro
    select: final
    tasks: [bbc_business_vs_tech]
    seeds: [0]
    max_tokens: 32
    max_examples_per_task: 96
    finetune: {epochs: 1, batch_size: 8, eval_batch_size: 32}
  tuned-weak:
    suite: micro
    select: final
    weak_mode: full
    tasks: [bbc_business_vs_tech]
    seeds: [0]
    max_tokens: 32
    max_examples_per_task: 96
    finetune: {epochs: 1, batch_size: 8, eval_batch_size: 32}
"""


@pytest.fixture(scope="module")
def config(micro_config):
    return micro_config(EXPERIMENTS)


def _check_run(run_dir, mode, losses):
    table = pd.read_csv(run_dir / "pgr_vs_step.csv")
    assert len(table) == len(losses) and set(table.loss) == set(losses)
    assert (table.status == "done").all() and (table["mode"] == mode).all()
    assert table.step.tolist() == [12] * len(losses)
    store = Store(run_dir)
    heads = store.records("head")
    assert len(heads) == len(losses) + 1  # + the ceiling
    weak = store.records("weak")[0]
    y = load_task(load_tasks()["bbc_business_vs_tech"]).labels[store.read_arrays("weak", weak["key"])["test_index"]]
    for h in heads:
        proba = store.read_arrays("head", h["key"])["test_proba"]
        assert proba.shape == y.shape and np.isfinite(proba).all()
        assert h["accuracy"] == pytest.approx(np.mean((proba > 0.5) == y))
    return table, heads


@pytest.mark.parametrize("mode", ["lora", "full"])
def test_finetune_modes_run_and_resume(mode, config, tmp_path, capsys):
    args = ["run", "--run-dir", str(tmp_path), "--mode", mode, "--loss", "xent,logconf", *config]
    assert main(args) == 0
    table, heads = _check_run(tmp_path, mode, ["xent", "logconf"])
    assert all(h["mode"] == mode and h["steps"] >= 1 for h in heads)
    capsys.readouterr()
    assert main(args) == 0
    assert "0 units computed" in capsys.readouterr().out


def test_unit_keys_separate_modes_and_loss_options():
    from pipeline.config import Experiment, LossOptions
    from pipeline.runner import head_key

    exp = Experiment(suite="s", tasks=["t"])
    lora, full = exp.model_copy(update={"mode": "lora"}), exp.model_copy(update={"mode": "full"})
    assert len({head_key("f", "s", "w", "xent", e) for e in (exp, lora, full)}) == 3
    tweaked = exp.model_copy(update={"loss_options": LossOptions(product_alpha=0.5)})
    assert head_key("f", "s", "w", "product", exp) != head_key("f", "s", "w", "product", tweaked)
    assert head_key("f", "s", "w", "logconf", exp) == head_key("f", "s", "w", "logconf", tweaked)
    assert head_key("f", "s", "w", "xent", exp) == head_key("f", "s", "w", "xent", tweaked)


def test_probe_losses_with_bag_of_words_weak(config, tmp_path):
    args = ["run", "--run-dir", str(tmp_path), "--weak", "bow", "--loss", "xent,logconf,product,kl", *config]
    assert main(args) == 0
    table, heads = _check_run(tmp_path, "probe", ["xent", "logconf", "product", "kl"])
    assert table.weak.str.startswith("bow@").all()
    assert len({h["key"] for h in heads}) == 5


def test_weak_supervisor_fine_tuned(config, tmp_path):
    args = ["run", "--preset", "tuned-weak", "--run-dir", str(tmp_path), *config]
    assert main(args) == 0
    _check_run(tmp_path, "probe", ["xent"])
    weak = Store(tmp_path).records("weak")
    assert len(weak) == 1 and weak[0]["mode"] == "full"
