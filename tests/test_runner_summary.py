"""The run's closing summary: its final PGR leaves out seeds whose PGR the table flags."""

import math

import pandas as pd

from pipeline.runner import RunOutcome, RunStats


def _row(seed, step, acc_weak, acc_ceiling, acc_w2s, flag=""):
    pgr = (acc_w2s - acc_weak) / (acc_ceiling - acc_weak) if acc_ceiling != acc_weak else math.nan
    return {"task": "t", "loss": "xent", "seed": seed, "step": step, "status": "done", "acc_weak": acc_weak,
            "acc_ceiling": acc_ceiling, "acc_w2s": acc_w2s, "pgr": pgr, "pgr_flag": flag}


def _summary(rows) -> str:
    outcome = RunOutcome(pd.DataFrame(rows), RunStats(computed=3), ["table.csv"], 1.0, None, {})
    return outcome.summary_text()


def test_flagged_seeds_stay_out_of_the_final_mean():
    text = _summary([_row(0, 0, 0.6, 0.6, 0.7, "ceiling not above weak"), _row(0, 10, 0.6, 0.8, 0.7),
                     _row(1, 10, 0.6, 0.9, 0.75), _row(2, 10, 0.6, 0.605, 0.9, "ceiling within margin")])
    assert "final PGR 0.50 (mean of 2 of 3 seed(s); 1 flagged, see pgr_flag)" in text
    assert "final ceiling 0.768" in text  # accuracies still average every seed


def test_every_seed_flagged_says_undefined():
    text = _summary([_row(0, 10, 0.6, 0.6, 0.7, "ceiling not above weak")])
    assert "final PGR undefined (mean of 0 of 1 seed(s); 1 flagged" in text
    assert "warning: t: the weak supervisor is not below the final ceiling" in text
