"""The summary's transition on tables whose answer is known."""

import numpy as np
import pandas as pd
import pytest
from report_tables import STEPS, TOKENS_PER_STEP, flag_rows, synthetic_table, two_task_table

from pipeline.report.analysis import pgr_grid, transition_sentence, transition_summary


def _only(summary, task):
    rows = summary[summary.task == task]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize("midpoint_step", [1000.0, 5000.0])
def test_known_transition_is_recovered_within_its_ci(midpoint_step):
    fit = _only(transition_summary(synthetic_table(midpoint_step=midpoint_step)), "t_rise")
    assert fit.transition_supported, fit.transition_reason
    assert fit.x_axis == "tokens" and fit.n_seeds == 3 and fit.n_checkpoints == len(STEPS)
    assert fit.transition_step_ci_low <= midpoint_step <= fit.transition_step_ci_high
    tokens = midpoint_step * TOKENS_PER_STEP
    assert fit.transition_tokens_ci_low <= tokens <= fit.transition_tokens_ci_high
    assert fit.transition_tokens == pytest.approx(fit.transition_step * TOKENS_PER_STEP, rel=1e-6)
    assert fit.midpoint_log10 == pytest.approx(np.log10(fit.transition_tokens))
    assert fit.plateau_low == pytest.approx(0.05, abs=0.03) and fit.plateau_high == pytest.approx(0.65, abs=0.03)
    assert fit.plateau_low_ci_low <= fit.plateau_low <= fit.plateau_low_ci_high
    assert fit.r_squared > 0.9 and fit.delta_aicc > 10
    assert fit.changepoint_supported
    assert fit.changepoint_step_before < midpoint_step * 2 and fit.changepoint_step_after > midpoint_step / 2
    assert "switches on at step" in transition_sentence(fit)


def test_midpoint_ci_covers_the_truth_across_noise_draws():
    """Between two checkpoints (300 lies in 256..512), over draws: a 95% CI that covers only by luck fails."""
    covered = [fit.transition_step_ci_low <= 300 <= fit.transition_step_ci_high
               for fit in (_only(transition_summary(synthetic_table(midpoint_step=300.0, rng_seed=r)), "t_rise")
                           for r in range(1, 7))]
    assert sum(covered) >= 5, covered


def test_flat_table_reports_no_transition_and_says_why():
    fit = _only(transition_summary(synthetic_table(flat=True)), "t_rise")
    assert not fit.transition_supported
    assert np.isnan(fit.transition_step) and np.isnan(fit.transition_tokens)
    assert "AICc" in fit.transition_reason
    assert not fit.changepoint_supported and fit.changepoint_reason
    sentence = transition_sentence(fit)
    assert "no supported transition" in sentence and "switches on" not in sentence


def test_steps_axis_gives_the_same_step_as_the_tokens_axis():
    table = synthetic_table()
    by_tokens = _only(transition_summary(table, x_axis="tokens"), "t_rise")
    by_steps = _only(transition_summary(table, x_axis="step"), "t_rise")
    assert by_steps.x_axis == "step"
    assert by_steps.transition_step == pytest.approx(by_tokens.transition_step, rel=0.02)


def test_without_token_counts_the_fit_falls_back_to_steps():
    fit = _only(transition_summary(synthetic_table(tokens=False)), "t_rise")
    assert fit.x_axis == "step" and fit.transition_supported
    assert fit.transition_step_ci_low <= 1000 <= fit.transition_step_ci_high
    assert np.isnan(fit.transition_tokens)


def test_flagged_rows_are_left_out_of_the_fit_however_wild_their_pgr():
    table = flag_rows(synthetic_table(), lambda t: t.step.isin([64, 128]) & (t.seed == 0), pgr=80.0)
    fit = _only(transition_summary(table), "t_rise")
    assert fit.n_excluded == 2 and fit.n_obs == len(table) - 2
    assert fit.transition_supported and fit.transition_step_ci_low <= 1000 <= fit.transition_step_ci_high


def test_gap_metric_fits_accuracy_difference():
    fit = _only(transition_summary(synthetic_table(), metric="gap"), "t_rise")
    assert fit.fit_metric == "gap" and fit.transition_supported
    # PGR 0.05 -> 0.65 on a 0.2 weak-ceiling gap is 0.01 -> 0.13 in accuracy
    assert fit.plateau_high - fit.plateau_low == pytest.approx(0.6 * 0.2, abs=0.01)


def test_a_midpoint_ci_reaching_step_zero_is_not_a_finding():
    """A CI reaching below step 1 would put the switch somewhere in step 0's placeholder decade."""
    fit = _only(transition_summary(synthetic_table(midpoint_step=1.4)), "t_rise")
    assert not fit.transition_supported and np.isnan(fit.transition_step)
    assert "placeholder" in fit.transition_reason
    assert _only(transition_summary(synthetic_table(midpoint_step=3.0)), "t_rise").transition_supported


def test_one_summary_row_per_task_and_failed_rows_do_not_count():
    summary = transition_summary(two_task_table())
    assert list(summary.task) == ["t_flat", "t_rise"]
    flat, rise = _only(summary, "t_flat"), _only(summary, "t_rise")
    assert flat.n_obs == 3 * (len(STEPS) - 1) and flat.n_excluded == 0  # failed checkpoint not a row of the fit
    assert rise.n_excluded == 2 and rise.transition_supported and not flat.transition_supported


def test_grid_cells_are_seed_medians_of_defined_pgr():
    table = pd.concat([synthetic_table(weak=f"toy@step{w}", weak_step=np.nan, rng_seed=w) for w in (16, 2)],
                      ignore_index=True)
    table = flag_rows(table, (table.weak == "toy@step2") & (table.step == 0))  # every seed
    table = flag_rows(table, (table.weak == "toy@step16") & (table.step == 1) & (table.seed == 0))
    grid = pgr_grid(table)
    assert list(grid.weak.unique()) == ["toy@step2", "toy@step16"]  # by the step parsed from the label
    assert grid.weak_step.tolist()[0] == 2
    cell = grid[(grid.weak == "toy@step16") & (grid.step == 1)].iloc[0]
    expected = table[(table.weak == "toy@step16") & (table.step == 1) & (table.seed != 0)].pgr.median()
    assert cell.pgr_median == pytest.approx(expected) and cell.seeds_flagged == 1
    undefined = grid[(grid.weak == "toy@step2") & (grid.step == 0)].iloc[0]
    assert np.isnan(undefined.pgr_median) and undefined.seeds_flagged == undefined.seeds == 3
    assert len(grid) == 2 * len(STEPS)
