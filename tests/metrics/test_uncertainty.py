import math
import time

import numpy as np
import pytest

from pipeline.metrics.uncertainty import (
    PGRBootstrap,
    auroc,
    paired_bootstrap_pgr,
    pgr,
    pgr_status,
    seed_summary,
)


# ---------------------------------------------------------------- pgr


def test_pgr_hand_examples():
    assert pgr(0.6, 0.8, 0.7) == pytest.approx(0.5)
    assert pgr(0.6, 0.8, 0.8) == pytest.approx(1.0)
    assert pgr(0.6, 0.8, 0.55) == pytest.approx(-0.25)
    assert math.isnan(pgr(0.7, 0.7, 0.75))
    # ceiling below weak: computed with the negative denominator, not masked
    assert pgr(0.8, 0.7, 0.75) == pytest.approx(0.5)
    assert pgr(0.8, 0.7, 0.9) == pytest.approx(-1.0)


def test_pgr_is_vectorised_and_ulp_gap_is_undefined():
    weak = np.array([0.6, 0.5, 0.7, 0.1 * 7])
    ceiling = np.array([0.8, 0.9, 0.7, 7 / 10])  # last pair differs by one ulp
    w2s = np.array([0.7, 0.6, 0.9, 0.8])
    result = pgr(weak, ceiling, w2s)
    assert isinstance(result, np.ndarray) and result.dtype == float
    np.testing.assert_allclose(result[:2], [0.5, 0.25])
    assert np.isnan(result[2]) and np.isnan(result[3])


def test_pgr_status_reasons():
    assert pgr_status(0.6, 0.8, margin=0.01) == ""
    assert pgr_status(0.6, 0.61, margin=0.01) == ""  # exactly the margin counts as beating
    assert pgr_status(0.6, 0.605, margin=0.01) == "ceiling does not beat weak by margin 0.01 (gap 0.005)"
    assert pgr_status(0.7, 0.7) == "ceiling equals weak: PGR undefined"
    assert "below weak" in pgr_status(0.8, 0.7)
    assert "missing" in pgr_status(float("nan"), 0.7)


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_point_estimate_from_hand_predictions():
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    weak = y.copy()
    weak[[0, 1, 2, 3]] = 1 - y[[0, 1, 2, 3]]  # 6/10 correct
    ceiling = y.copy()
    ceiling[[0, 1]] = 1 - y[[0, 1]]  # 8/10
    w2s = y.copy()
    w2s[[0, 1, 2]] = 1 - y[[0, 1, 2]]  # 7/10
    result = paired_bootstrap_pgr(y, weak, ceiling, w2s, n_boot=500, seed=1)
    assert isinstance(result, PGRBootstrap)
    assert (result.acc_weak, result.acc_ceiling, result.acc_w2s) == (0.6, 0.8, 0.7)
    assert result.point == pytest.approx(0.5)
    assert result.ci_low <= 0.5 <= result.ci_high
    assert result.status == ""
    with pytest.raises(AttributeError):
        result.point = 0.0  # frozen


def test_probabilities_and_hard_labels_agree():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    probs = [rng.random(300) for _ in range(3)]
    hard = [(p > 0.5).astype(int) for p in probs]
    from_probs = paired_bootstrap_pgr(y, *probs, n_boot=200, seed=3)
    from_labels = paired_bootstrap_pgr(y, *hard, n_boot=200, seed=3)
    assert from_probs == from_labels


def test_probability_exactly_half_is_class_zero():
    y = np.array([0, 1, 0, 1])
    result = paired_bootstrap_pgr(y, [0.5, 0.5, 0.5, 0.5], [0.0, 1.0, 0.0, 1.0], [0.5, 1.0, 0.5, 0.5], n_boot=10)
    assert result.acc_weak == 0.5
    assert result.acc_w2s == 0.75


def test_invalid_predictions_raise():
    with pytest.raises(ValueError):
        paired_bootstrap_pgr([0, 1], [0, 2], [0, 1], [0, 1])
    with pytest.raises(ValueError):
        paired_bootstrap_pgr([0, 1], [0, 1, 1], [0, 1], [0, 1])
    with pytest.raises(ValueError):
        paired_bootstrap_pgr([0, 3], [0, 1], [0, 1], [0, 1])


def test_frac_undefined_matches_hand_probability():
    # Weak and ceiling differ on exactly one of 20 examples, so PGR is undefined in
    # every resample that misses it: P = (19/20)^20 = 0.3585.
    n = 20
    y = np.ones(n, dtype=int)
    weak = np.ones(n, dtype=int)
    weak[0] = 0
    ceiling = np.ones(n, dtype=int)
    result = paired_bootstrap_pgr(y, weak, ceiling, ceiling, n_boot=4000, seed=7)
    assert result.frac_undefined == pytest.approx((19 / 20) ** 20, abs=0.025)
    # Where defined the w2s model equals the ceiling, so every defined resample gives PGR 1.
    assert result.ci_low == result.ci_high == 1.0


def _simulate_predictions(rng, n, accuracies, shared_fraction):
    """Each model's correctness is Bernoulli(accuracy) per example; on a shared fraction of
    examples all models read the same uniform draw (errors overlap), elsewhere they are
    independent. Marginal accuracies, hence the true PGR, are exactly known."""
    y = rng.integers(0, 2, n)
    difficulty = rng.random(n)
    shared = rng.random(n) < shared_fraction
    predictions = []
    for accuracy in accuracies:
        correct = np.where(shared, difficulty < accuracy, rng.random(n) < accuracy)
        predictions.append(np.where(correct, y, 1 - y))
    return y, predictions


def test_bootstrap_ci_coverage_on_simulated_data():
    accuracies = (0.65, 0.85, 0.75)
    true_pgr = (0.75 - 0.65) / (0.85 - 0.65)
    rng = np.random.default_rng(2024)
    n_datasets = 200
    covered = 0
    for dataset in range(n_datasets):
        y, (weak, ceiling, w2s) = _simulate_predictions(rng, 400, accuracies, shared_fraction=0.7)
        result = paired_bootstrap_pgr(y, weak, ceiling, w2s, n_boot=400, seed=dataset)
        covered += result.ci_low <= true_pgr <= result.ci_high
    coverage = covered / n_datasets
    assert 0.90 <= coverage <= 0.98, coverage


def test_pairing_narrows_ci_when_errors_are_correlated():
    rng = np.random.default_rng(5)
    paired_widths, unpaired_widths = [], []
    for dataset in range(10):
        y, preds = _simulate_predictions(rng, 500, (0.65, 0.85, 0.75), shared_fraction=0.8)
        paired = paired_bootstrap_pgr(y, *preds, n_boot=500, seed=dataset)
        unpaired = paired_bootstrap_pgr(y, *preds, n_boot=500, seed=dataset, paired=False)
        assert paired.point == unpaired.point
        paired_widths.append(paired.ci_high - paired.ci_low)
        unpaired_widths.append(unpaired.ci_high - unpaired.ci_low)
    assert np.all(np.array(paired_widths) < np.array(unpaired_widths))
    assert np.mean(paired_widths) < 0.75 * np.mean(unpaired_widths)


def test_bootstrap_is_fast_and_seeded():
    rng = np.random.default_rng(0)
    y, preds = _simulate_predictions(rng, 1000, (0.6, 0.8, 0.7), shared_fraction=0.5)
    start = time.perf_counter()
    first = paired_bootstrap_pgr(y, *preds, n_boot=1000, seed=11)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    assert first == paired_bootstrap_pgr(y, *preds, n_boot=1000, seed=11)
    assert first != paired_bootstrap_pgr(y, *preds, n_boot=1000, seed=12)
    assert first.std > 0 and first.frac_undefined == 0.0


# ---------------------------------------------------------------- auroc


def test_auroc_hand_case_with_ties():
    # positives 0.5, 0.9, 0.3 vs negatives 0.1, 0.5, 0.5:
    # 0.5 -> 1 win + 2 ties = 2; 0.9 -> 3; 0.3 -> 1; total 6 of 9 pairs.
    y = [0, 0, 1, 1, 1, 0]
    scores = [0.1, 0.5, 0.5, 0.9, 0.3, 0.5]
    assert auroc(y, scores) == pytest.approx(6 / 9)


def test_auroc_edge_cases():
    assert auroc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert auroc([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2]) == 0.0
    assert auroc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))


# ---------------------------------------------------------------- seed summary


def test_seed_summary_hand_values_ignore_nan():
    summary = seed_summary([4.0, 1.0, float("nan"), 3.0, 2.0])
    assert summary.n == 4 and summary.n_missing == 1
    assert summary.median == 2.5
    assert summary.q25 == 1.75 and summary.q75 == 3.25 and summary.iqr == 1.5
    assert summary.min == 1.0 and summary.max == 4.0
    assert summary.mean == 2.5
    assert summary.std == pytest.approx(math.sqrt(5 / 3))


def test_seed_summary_degenerate_inputs():
    single = seed_summary([0.3])
    assert single.n == 1 and single.median == 0.3 and single.iqr == 0.0 and math.isnan(single.std)
    empty = seed_summary([float("nan"), float("nan")])
    assert empty.n == 0 and empty.n_missing == 2 and math.isnan(empty.median)
