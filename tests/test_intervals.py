"""Influence functions and the intervals built on them: exact derivatives, nominal coverage, honest method choice."""

import numpy as np
import pytest
from scipy.stats import norm

from coverage_sim import BINARY, coverage, draw, population_values
from readiness.stats.intervals import ANALYTIC_MIN_ROWS, Statistic, choose_method, estimate_intervals
from readiness.stats.metrics import METRICS, EvalData


def _datasets(n: int = 60, seed: int = 0):
    """Small data of every task, with tied scores (rounded) so the tie handling is exercised."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1), 1)
    yield EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    proba[np.arange(n), y] += 0.5
    proba = np.round(proba / proba.sum(1, keepdims=True), 2)
    proba /= proba.sum(1, keepdims=True)
    yield EvalData("multiclass", y, proba.argmax(1), proba)
    y = rng.normal(5, 1, n)
    yield EvalData("regression", y, y + rng.normal(0, 0.5, n))


@pytest.mark.parametrize("data", list(_datasets()), ids=lambda d: d.task)
def test_every_influence_function_is_the_derivative_of_the_weighted_metric(data):
    """ψ_j = n ∂metric/∂w_j, checked by finite differences of the weighted metric, metric by metric."""
    n = len(data.y)
    for metric in (m for m in METRICS.values() if data.task in m.tasks):
        value, psi = metric.value_and_influence(data)
        assert value == pytest.approx(metric(np.ones(n), data)[0], abs=1e-12), metric.name
        step = 1e-6
        bumped = metric(np.ones((n, n)) + step * np.eye(n), data)
        numeric = (bumped - value) / step * n
        np.testing.assert_allclose(psi, numeric, atol=1e-4, err_msg=metric.name)


def test_roc_auc_standard_error_is_delongs():
    """The analytic ROC AUC variance equals DeLong's, computed the textbook way from placement values."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.normal(y * 0.8, 1), 1)
    data = EvalData("binary", y, (score > 0).astype(int), None, score)
    value, psi = METRICS["roc_auc"].value_and_influence(data)
    pos, neg = score[y == 1], score[y == 0]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    assert value == pytest.approx(kernel.mean())
    delong = v10.var() / len(pos) + v01.var() / len(neg)  # population variances: the plug-in form
    assert float(np.sum(psi**2)) / len(y) ** 2 == pytest.approx(delong, rel=1e-9)


def test_paired_difference_keeps_the_correlation_between_models():
    """Two nearly identical models: the paired Δ interval is far narrower than either model's own."""
    rng = np.random.default_rng(2)
    n = 30_000
    y = rng.integers(0, 2, n)
    base = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    cand = np.clip(base + rng.normal(0, 0.02, n), 0, 1)
    make = lambda p: EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    auc = METRICS["roc_auc"]
    found = estimate_intervals(n, [Statistic("c", auc, make(cand)), Statistic("b", auc, make(base))])
    assert found.method_of("c") == "analytic"
    assert found.difference("c", "b").half_width < found.interval("c").half_width / 3


def test_method_follows_the_rows_of_each_row_set():
    assert choose_method(ANALYTIC_MIN_ROWS - 1) == "bootstrap" and choose_method(ANALYTIC_MIN_ROWS) == "analytic"
    assert choose_method(100, "analytic") == "analytic" and choose_method(10**7, "bootstrap") == "bootstrap"
    rng = np.random.default_rng(0)
    candidate, baseline = draw(ANALYTIC_MIN_ROWS + 2000, rng)
    small, large = np.arange(1500), np.arange(1500, len(candidate.y))
    auc = METRICS["roc_auc"]
    statistics = [Statistic("c", auc, candidate), Statistic("b", auc, baseline)]
    for name, rows in (("small", small), ("large", large)):
        statistics += [Statistic(f"c[{name}]", auc, candidate, rows, name), Statistic(f"b[{name}]", auc, baseline, rows, name)]
    found = estimate_intervals(len(candidate.y), statistics, n_resamples=200, seed=1)
    assert [found.method_of(k) for k in ("c", "c[large]", "c[small]", "b[small]")] == \
        ["analytic", "analytic", "bootstrap", "bootstrap"]
    assert "smaller segments from 200 bootstrap resamples" in found.describe(seed=1)
    for key in ("c[small]", "c[large]"):  # each segment's interval is about its own rows, not the whole set's
        ci = found.interval(key)
        rows = small if key == "c[small]" else large
        own = auc(np.ones(len(rows)), candidate.subset(rows))[0]
        assert ci.low < own < ci.high
    assert found.difference("c[small]", "b[small]") is not None


def test_small_sets_keep_the_bootstrap_unchanged():
    """Under the analytic threshold the intervals are exactly the paired bootstrap's, as before."""
    from readiness.stats.bootstrap import bootstrap, percentile_interval

    candidate, baseline = draw(800, np.random.default_rng(5))
    auc = METRICS["roc_auc"]
    found = estimate_intervals(800, [Statistic("c", auc, candidate), Statistic("b", auc, baseline)], 300, seed=4)
    samples = bootstrap(800, {"c": lambda w: auc(w, candidate), "b": lambda w: auc(w, baseline)}, 300, seed=4)
    assert found.interval("c") == percentile_interval(samples["c"])
    assert found.difference("c", "b") == percentile_interval(samples["c"] - samples["b"])
    assert found.describe(seed=4) == "from 300 bootstrap resamples (seed 4)"


def test_undefined_metrics_give_no_interval_rather_than_a_wrong_one():
    y = np.zeros(ANALYTIC_MIN_ROWS, dtype=int)  # one class only: ROC AUC is undefined
    p = np.linspace(0.01, 0.99, len(y))
    data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    found = estimate_intervals(len(y), [Statistic("auc", METRICS["roc_auc"], data)])
    ci = found.interval("auc")
    assert np.isnan(ci.low) and np.isnan(ci.high)


def test_intervals_stay_within_the_metric_range():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, ANALYTIC_MIN_ROWS)
    p = np.where(rng.random(len(y)) < 0.9995, y, 1 - y).astype(float)  # nearly perfect
    data = EvalData("binary", y, p.astype(int), np.c_[1 - p, p], p)
    ci = estimate_intervals(len(y), [Statistic("acc", METRICS["accuracy"], data)]).interval("acc")
    assert ci.high <= 1.0 and ci.low < 1.0


def test_population_values_are_exact():
    truth = population_values()
    # ROC AUC of the candidate by brute force over the score cells
    from coverage_sim import CANDIDATE_SCORES as s, CELL_PROBABILITIES as q

    pos, neg = q * s, q * (1 - s)
    wins = sum(pos[i] * neg[j] * (1.0 if s[i] > s[j] else 0.5 if i == j else 0.0)
               for i in range(len(s)) for j in range(len(s)))
    assert truth["candidate:roc_auc"] == pytest.approx(wins / (pos.sum() * neg.sum()), rel=1e-12)
    assert truth["candidate:accuracy"] == pytest.approx(float(np.sum(q * np.maximum(s, 1 - s))), rel=1e-12)


def _assert_nominal(found: dict[str, float], replications: int, confidence: float = 0.95) -> None:
    """Every metric's and paired difference's coverage within 3.5 binomial standard errors of nominal."""
    tolerance = 3.5 * np.sqrt(confidence * (1 - confidence) / replications)
    off = {k: v for k, v in found.items() if abs(v - confidence) > tolerance}
    assert off == {}, f"coverage off nominal {confidence} (± {tolerance:.3f}) over {replications} replications"


def test_bootstrap_coverage_at_1k_rows():
    """1,000 rows: the auto method bootstraps; its percentile CIs cover the population values."""
    replications = 150
    _assert_nominal(coverage(1000, replications, seed=1, n_resamples=400), replications)


def test_analytic_coverage_at_1k_rows():
    """Even at 1,000 rows the influence-function intervals hold their level (forced, for comparison)."""
    replications = 300
    _assert_nominal(coverage(1000, replications, seed=2, method="analytic"), replications)


def test_analytic_coverage_at_100k_rows():
    """100,000 rows, the size the auto method serves analytically."""
    replications = 100
    _assert_nominal(coverage(100_000, replications, seed=3), replications)


def test_normal_quantile_matches_the_confidence():
    """A 90% analytic interval is 1.645/1.960 the width of the 95% one."""
    candidate, _ = draw(ANALYTIC_MIN_ROWS, np.random.default_rng(0))
    widths = [estimate_intervals(len(candidate.y), [Statistic("b", METRICS["brier"], candidate)], confidence=c)
              .interval("b").half_width for c in (0.90, 0.95)]
    assert widths[0] / widths[1] == pytest.approx(norm.ppf(0.95) / norm.ppf(0.975))
    assert set(population_values()) >= {f"candidate:{m.name}" for m in BINARY}
