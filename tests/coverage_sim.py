"""Golden sets drawn from a population whose metrics are known exactly, for CI coverage checks.

Scores take one of a few values; the label is drawn with the candidate's score as its
probability (a calibrated model); the baseline scores the same rows with a coarser,
shrunken version of the candidate's score. Every metric is a weighted statistic, so
its population value is the metric on the (score value, label) cells weighted by
their probabilities: exact, with no simulation error in the truth.

Used by tests/test_intervals.py (1k and 100k rows) and benchmarks/coverage_golden.py (1M rows).
"""

from __future__ import annotations

import numpy as np

from readiness.stats.intervals import Statistic, estimate_intervals
from readiness.stats.metrics import METRICS, EvalData

CANDIDATE_SCORES = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9])
CELL_PROBABILITIES = np.array([0.25, 0.2, 0.15, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04])
BINARY = [m for m in METRICS.values() if "binary" in m.tasks]


def _baseline(score: np.ndarray) -> np.ndarray:
    return np.round(0.25 + 0.5 * score, 1)  # coarser and shrunk towards 0.5: worse, tied, not calibrated


def _data(y: np.ndarray, score: np.ndarray) -> EvalData:
    return EvalData("binary", y, (score >= 0.5).astype(np.int64), np.c_[1 - score, score], score)


def population_values() -> dict[str, float]:
    """Exact population value of every binary metric, candidate and baseline: ``{"candidate:auc": …}``."""
    score = np.repeat(CANDIDATE_SCORES, 2)
    y = np.tile([0, 1], len(CANDIDATE_SCORES))
    mass = np.repeat(CELL_PROBABILITIES, 2) * np.where(y == 1, score, 1 - score)
    out = {}
    for role, s in (("candidate", score), ("baseline", _baseline(score))):
        for metric in BINARY:
            out[f"{role}:{metric.name}"] = float(metric(mass[None, :], _data(y, s))[0])
    return out


def draw(n: int, rng: np.random.Generator) -> tuple[EvalData, EvalData]:
    """A golden set of ``n`` rows: the candidate's and the baseline's outputs on the same rows."""
    cell = rng.choice(len(CANDIDATE_SCORES), n, p=CELL_PROBABILITIES)
    score = CANDIDATE_SCORES[cell]
    y = (rng.random(n) < score).astype(np.int64)
    return _data(y, score), _data(y, _baseline(score))


def coverage(n: int, replications: int, seed: int = 0, method: str = "auto", n_resamples: int = 1000,
             confidence: float = 0.95) -> dict[str, float]:
    """Share of replications whose CI covers the population value, per metric and per paired difference."""
    truth = population_values()
    rng = np.random.default_rng(seed)
    hits: dict[str, int] = {}
    for replication in range(replications):
        candidate, baseline = draw(n, rng)
        statistics = [Statistic(f"{role}:{m.name}", m, data) for m in BINARY
                      for role, data in (("candidate", candidate), ("baseline", baseline))]
        found = estimate_intervals(n, statistics, n_resamples, seed=replication, confidence=confidence, method=method)
        for metric in BINARY:
            key = f"candidate:{metric.name}"
            ci = found.interval(key)
            hits[key] = hits.get(key, 0) + int(ci.low <= truth[key] <= ci.high)
            delta = found.difference(key, f"baseline:{metric.name}")
            true_delta = truth[key] - truth[f"baseline:{metric.name}"]
            name = f"Δ {metric.name}"
            hits[name] = hits.get(name, 0) + int(delta.low <= true_delta <= delta.high)
    return {key: count / replications for key, count in hits.items()}
