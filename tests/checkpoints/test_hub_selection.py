"""Selection expressions over real suite shapes: Pythia's rule and an OLMo-2 style listing."""

from __future__ import annotations

import pytest

from pipeline.checkpoints.revisions import parse_revision
from pipeline.checkpoints.schedule import PYTHIA_TOKENS_PER_STEP, pythia_steps
from pipeline.checkpoints.selection import select_checkpoints
from pipeline.checkpoints.suites import Checkpoint
from pipeline.errors import UserError

PYTHIA = [Checkpoint("p", "EleutherAI/pythia-70m", f"step{s}", s, s * PYTHIA_TOKENS_PER_STEP) for s in pythia_steps()]
OLMO2_NAMES = ["stage1-step0-tokens0B", "stage1-step1000-tokens4B", "stage1-step2000-tokens8B",
               "stage1-step3000-tokens13B", "stage2-ingredient1-step0-tokens0B", "stage2-ingredient1-step1000-tokens5B"]
OLMO2 = [Checkpoint("o", "allenai/OLMo-2-0425-1B", r.name, r.step, r.tokens) for r in map(parse_revision, OLMO2_NAMES)]


def steps(expr: str, checkpoints=PYTHIA) -> list[int]:
    return [c.step for c in select_checkpoints(checkpoints, expr)]


def names(expr: str, checkpoints=OLMO2) -> list[str]:
    return [c.revision for c in select_checkpoints(checkpoints, expr)]


def test_all_every_log_steps_range():
    assert len(steps("all")) == 154
    every = steps("every:50")
    assert every == [0, 40000, 90000, 140000, 143000]  # indices 0, 50, 100, 150 and the final one
    log = steps("log:5")
    assert log[0] == 0 and log[-1] == 143000 and len(log) == 5
    assert steps("steps:512,1000") == [512, 1000]
    assert steps("steps:step512") == [512]
    assert steps("range:100-3000") == [128, 256, 512, 1000, 2000, 3000]
    assert steps("range:142000-") == [142000, 143000]


def test_tokens_ranges_with_suffixes():
    assert steps("tokens:-4.2M") == [0, 1, 2]  # 2,097,152 tokens per step
    assert steps("tokens:2B-4.2B") == [1000, 2000]
    assert steps("tokens:299B-") == [143000]
    assert names("tokens:4B-8B") == ["stage1-step1000-tokens4B", "stage1-step2000-tokens8B",
                                     "stage2-ingredient1-step1000-tokens5B"]
    assert steps("tokens:1000000-2100000") == [1]


def test_final_and_revisions_and_combinations():
    assert steps("final") == [143000]
    assert steps("log:3+final") == steps("log:3")
    assert steps("steps:0+final") == [0, 143000]
    assert names("revisions:stage2-ingredient1-step0-tokens0B,stage1-step0-tokens0B") == [
        "stage1-step0-tokens0B", "stage2-ingredient1-step0-tokens0B"]  # training order, not typed order
    assert names("final+revisions:stage1-step1000-tokens4B") == [
        "stage1-step1000-tokens4B", "stage2-ingredient1-step1000-tokens5B"]
    # A step that recurs after OLMo-2's stage-2 restart selects each occurrence.
    assert names("steps:1000") == ["stage1-step1000-tokens4B", "stage2-ingredient1-step1000-tokens5B"]
    assert steps("every:100 + steps:1") == [0, 1, 90000, 143000]


def test_unknown_revision_lists_the_nearest_names():
    with pytest.raises(UserError) as err:
        select_checkpoints(OLMO2, "revisions:stage1-step1000-tokens5B")
    message = str(err.value)
    assert "stage1-step1000-tokens5B" in message and "nearest" in message
    assert "stage1-step1000-tokens4B" in message and "\n" not in message


def test_unknown_step_lists_the_neighbouring_steps():
    with pytest.raises(UserError, match=r"step 1500 .*nearest: step512, step1000, step2000"):
        select_checkpoints(PYTHIA, "steps:1500")
    with pytest.raises(UserError, match="step 144000 .*step143000"):
        select_checkpoints(PYTHIA, "steps:144000")


@pytest.mark.parametrize("expr, message", [
    ("every:0", "at least 1"),
    ("log:1", "at least 2"),
    ("range:5", "range:A-B"),
    ("tokens:4B", "tokens:A-B"),
    ("tokens:4 billion-5B", "not a token count"),
    ("revisions:", "at least one"),
    ("first", "unknown clause"),
    ("final:3", "unknown clause"),
    ("log:8+", "unknown clause ''"),
    ("range:200000-300000", "matches none"),
])
def test_bad_expressions_are_one_line_user_errors(expr, message):
    with pytest.raises(UserError, match=message) as err:
        select_checkpoints(PYTHIA, expr)
    assert "\n" not in str(err.value)


def test_tokens_clause_needs_token_counts():
    untokened = [Checkpoint("x", "r", f"step{s}", s, None) for s in (0, 10)]
    with pytest.raises(UserError, match="no token counts"):
        select_checkpoints(untokened, "tokens:0-1B")
    assert [c.step for c in select_checkpoints(untokened, "final")] == [10]
