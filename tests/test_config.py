"""Bad configuration fails at once: one line naming the file and the field, exit code 2."""

import textwrap

import pytest

from pipeline.cli import main

GOOD_SUITES = """
suites:
  tiny:
    kind: local
    model: {layers: 1, hidden: 16, heads: 2, vocab_size: 512, seq_len: 64}
    train: {steps: 4, batch_size: 2, lr: 1.0e-3}
    weak: tiny
"""
GOOD_TASK = """
id: t1
version: 1
source: {kind: bbc, negative: business, positive: tech}
"""
GOOD_EXP = """
experiments:
  default:
    suite: tiny
    tasks: [t1]
"""


def _write(tmp_path, suites=GOOD_SUITES, task=GOOD_TASK, exp=GOOD_EXP):
    (tmp_path / "tasks").mkdir(exist_ok=True)
    (tmp_path / "checkpoints.yaml").write_text(textwrap.dedent(suites))
    (tmp_path / "tasks" / "t1.yaml").write_text(textwrap.dedent(task))
    (tmp_path / "experiments.yaml").write_text(textwrap.dedent(exp))
    return ["--checkpoints", str(tmp_path / "checkpoints.yaml"), "--tasks-dir", str(tmp_path / "tasks"),
            "--experiments", str(tmp_path / "experiments.yaml")]


@pytest.mark.parametrize("suites,task,exp,expected", [
    (GOOD_SUITES.replace("layers: 1", "layrs: 1"), GOOD_TASK, GOOD_EXP,
     "checkpoints.yaml: suites.tiny.model.layrs: unknown key"),
    (GOOD_SUITES.replace("hidden: 16", "hidden: sixteen"), GOOD_TASK, GOOD_EXP,
     "checkpoints.yaml: suites.tiny.model.hidden: Input should be a valid integer"),
    (GOOD_SUITES.replace("kind: local", "kind: cloud"), GOOD_TASK, GOOD_EXP,
     "checkpoints.yaml: suites.tiny.kind: must be 'local' or 'hub'"),
    (GOOD_SUITES.replace("weak: tiny", "weak: nope"), GOOD_TASK, GOOD_EXP,
     "checkpoints.yaml: suites.tiny.weak: unknown suite 'nope'"),
    (GOOD_SUITES, GOOD_TASK.replace("positive: tech", "positive: cooking"), GOOD_EXP,
     "t1.yaml: source.positive: Input should be"),
    (GOOD_SUITES, GOOD_TASK, GOOD_EXP.replace("suite: tiny", "suite: pythia-9t"),
     "experiments.yaml: experiments.default.suite: unknown suite 'pythia-9t'"),
    (GOOD_SUITES, GOOD_TASK, GOOD_EXP.replace("[t1]", "[t2]"),
     "experiments.yaml: experiments.default.tasks: unknown task 't2'"),
    (GOOD_SUITES, GOOD_TASK, GOOD_EXP + "    seeds: zero\n",
     "experiments.yaml: experiments.default.seeds: Input should be a valid list"),
    (GOOD_SUITES + "  : [\n", GOOD_TASK, GOOD_EXP, "checkpoints.yaml: line"),
    (GOOD_SUITES.replace("lr: 1.0e-3", "lr: 1.0e-3, seed: -1"), GOOD_TASK, GOOD_EXP,
     "checkpoints.yaml: suites.tiny.train.seed: Input should be greater than or equal to 0"),
    (GOOD_SUITES, GOOD_TASK, GOOD_EXP + "  default:\n    suite: tiny\n    tasks: [t1]\n",
     "experiments.yaml: line 6 not valid YAML (key 'default' appears twice)"),
])
def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys, suites, task, exp, expected):
    args = _write(tmp_path, suites, task, exp)
    assert main(["run", "--run-dir", str(tmp_path / "run"), "--no-progress", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert expected in err
    assert not (tmp_path / "run" / "units").exists()


def test_unknown_preset_and_bad_flag(tmp_path, capsys):
    args = _write(tmp_path)
    assert main(["run", "--preset", "nope", "--no-progress", *args]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert main(["run", "--seeds", "1,x", "--no-progress", *args]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_shipped_configs_are_valid():
    from pipeline.config import check_experiment, load_experiments, load_suites, load_tasks
    from pipeline.paths import project_root

    suites, tasks, exps = load_suites(), load_tasks(), load_experiments()
    for name, exp in exps.items():
        check_experiment(name, exp, suites, tasks, project_root() / "experiments.yaml")
    assert {"default", "quick"} <= set(exps)
    assert sum(1 for s in suites.values() if s.kind == "hub" and "pythia" in s.repo) >= 10


@pytest.mark.parametrize("extra,expected", [
    ("    seeds: [-1]\n", "experiments.default.seeds.0: Input should be greater than or equal to 0"),
    ("    seeds: [0, 0]\n", "seeds must not repeat"),
    ("    seeds: [true]\n", "experiments.default.seeds.0: Input should be a valid integer"),
    ("    finetune: {seed: -5}\n", "experiments.default.finetune.seed: Input should be greater than or equal to 0"),
    ("    max_examples_per_task: 4\n", "experiments.default.max_examples_per_task: Input should be greater than or equal to 20"),
])
def test_bad_experiment_values(tmp_path, capsys, extra, expected):
    args = _write(tmp_path, exp=GOOD_EXP + extra)
    assert main(["run", "--run-dir", str(tmp_path / "run"), "--no-progress", *args]) == 2
    assert expected in capsys.readouterr().err


def test_unreadable_files_are_one_line(tmp_path, capsys):
    args = _write(tmp_path)
    (tmp_path / "afile").write_text("x")
    assert main(["run", "--run-dir", str(tmp_path / "afile" / "sub"), "--no-progress", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "afile" in err
    bad = ["--experiments", str(tmp_path)] + args[:2]
    assert main(["run", "--no-progress", *bad]) == 2
    assert "not a readable YAML file" in capsys.readouterr().err
