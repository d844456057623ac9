import numpy as np
import pytest

from readiness.stats.bootstrap import bootstrap, percentile_interval, resample_counts
from readiness.stats.metrics import METRICS, EvalData


def test_counts_are_valid_resamples_and_deterministic():
    chunks = list(resample_counts(50, 120, seed=3, max_cells=50 * 40))
    assert [c.shape for c in chunks] == [(40, 50)] * 3
    counts = np.vstack(chunks)
    assert np.all(counts.sum(axis=1) == 50) and counts.min() >= 0
    again = np.vstack(list(resample_counts(50, 120, seed=3, max_cells=50 * 40)))
    np.testing.assert_array_equal(counts, again)
    other = np.vstack(list(resample_counts(50, 120, seed=4, max_cells=50 * 40)))
    assert not np.array_equal(counts, other)


def test_results_do_not_depend_on_threads():
    values = np.random.default_rng(0).normal(size=300)
    stat = {"mean": lambda w: w @ values / w.sum(1)}
    one = bootstrap(300, stat, 500, seed=1, workers=1, max_cells=300 * 60)["mean"]
    two = bootstrap(300, stat, 500, seed=1, workers=2, max_cells=300 * 60)["mean"]
    np.testing.assert_array_equal(one, two)


def test_percentile_interval_ignores_undefined_resamples():
    samples = np.r_[np.arange(100.0), [np.nan, np.inf]]
    ci = percentile_interval(samples, 0.9)
    assert ci.valid_resamples == 100
    assert ci.low == pytest.approx(np.percentile(np.arange(100.0), 5))
    assert ci.high == pytest.approx(np.percentile(np.arange(100.0), 95))
    assert np.isnan(percentile_interval(np.array([np.nan]), 0.95).low)


def test_ci_coverage_is_close_to_nominal_for_accuracy():
    """Simulate golden sets with a known true accuracy; the 95% CI must cover it ~95% of the time."""
    rng = np.random.default_rng(11)
    true_accuracy, n, repeats = 0.8, 300, 300
    covered = 0
    for r in range(repeats):
        y = rng.integers(0, 2, n)
        correct = rng.random(n) < true_accuracy
        pred = np.where(correct, y, 1 - y)
        data = EvalData("binary", y, pred, None, pred.astype(float))
        samples = bootstrap(n, {"acc": lambda w: METRICS["accuracy"](w, data)}, 400, seed=r)["acc"]
        ci = percentile_interval(samples)
        covered += ci.low <= true_accuracy <= ci.high
    assert 0.90 <= covered / repeats <= 0.99


def test_paired_difference_is_tighter_than_separate_intervals():
    rng = np.random.default_rng(2)
    n = 800
    y = rng.integers(0, 2, n)
    base = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    cand = np.clip(base + rng.normal(0, 0.02, n), 0, 1)  # nearly the same model
    make = lambda p: EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    auc = METRICS["roc_auc"]
    out = bootstrap(n, {"c": lambda w: auc(w, make(cand)), "b": lambda w: auc(w, make(base))}, 500, seed=0)
    paired = percentile_interval(out["c"] - out["b"])
    separate = percentile_interval(out["c"])
    assert paired.half_width < separate.half_width / 3
