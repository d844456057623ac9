"""Confidence intervals of golden metrics: paired bootstrap on small sets, influence functions on large ones.

A golden benchmark asks for the CI of every metric of every model, of each
candidate − baseline difference (paired on the same rows), on the whole set and
on each segment. Two estimators give them:

* **bootstrap** (:mod:`readiness.stats.bootstrap`): percentile intervals over
  resamples. Its cost grows with rows × resamples × statistics: 1,000 resamples
  of a million rows are 10⁹ weights per statistic.
* **analytic**: each metric's influence function ψ (see
  :meth:`~readiness.stats.metrics.Metric.value_and_influence`) gives its standard
  error ``sqrt(Σ ψ² / (n (n − 1)))`` in one pass over the rows (the delta method;
  for ROC AUC this is DeLong's variance). A paired difference uses ψ_candidate −
  ψ_baseline on the same rows, so the correlation between the models is kept,
  exactly as the paired bootstrap keeps it. Intervals are ``value ± z·se``,
  clipped to the metric's range.

With ``method="auto"`` a set of rows (the whole golden set, or one segment) with
at least :data:`ANALYTIC_MIN_ROWS` rows gets analytic intervals and a smaller one
the bootstrap: the normal approximation behind the delta method is excellent on
tens of thousands of rows (the coverage tests check it at 1k, 100k and 1M rows),
while on a few hundred rows the bootstrap's percentile interval follows skewed
sampling distributions better. Both estimators of a pair always share their rows
and their method.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

import numpy as np
from scipy.stats import norm

from readiness.stats.bootstrap import Interval, bootstrap, percentile_interval
from readiness.stats.metrics import EvalData, Metric

#: Row sets at least this large get analytic (influence-function) intervals under ``method="auto"``.
ANALYTIC_MIN_ROWS = 5_000

Method = Literal["auto", "bootstrap", "analytic"]


@dataclass(frozen=True)
class Statistic:
    """One metric of one model, on the whole golden set (``rows is None``) or on a segment's rows.

    ``key`` names it (e.g. ``"candidate:roc_auc[region=north]"``); statistics with the
    same ``group`` (the same rows) share resamples, so their differences are paired.

    Examples
    --------
    >>> from readiness.stats.metrics import METRICS
    >>> y = np.array([0, 0, 1, 1, 0, 1]); p = np.array([0.2, 0.6, 0.7, 0.9, 0.1, 0.4])
    >>> data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    >>> whole = Statistic("candidate:roc_auc", METRICS["roc_auc"], data)
    >>> north = Statistic("candidate:roc_auc[region=north]", METRICS["roc_auc"], data, rows=np.array([0, 2, 3, 5]),
    ...                   group="region=north")
    >>> whole.rows is None, north.metric.title, len(north.rows)
    (True, 'ROC AUC', 4)
    """

    key: str
    metric: Metric
    data: EvalData
    rows: np.ndarray | None = None
    group: str = ""


@dataclass
class _Analytic:
    """What an interval needs of ψ: its sum of squares over its ``rows`` rows (NaN when ψ is not finite).

    The ψ arrays themselves (8 bytes a row each) are not kept: at a million rows, seventy of
    them would double the kernel's memory.
    """

    value: float
    sum_squares: float
    rows: int
    bounds: tuple[float, float]


@dataclass
class MetricIntervals:
    """Intervals of statistics and of paired differences, whichever estimator made them.

    Examples
    --------
    >>> from readiness.stats.metrics import METRICS
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 30_000); p = np.clip(0.3 * y + 0.7 * rng.random(30_000), 0, 1)
    >>> data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    >>> found = estimate_intervals(len(y), [Statistic("auc", METRICS["roc_auc"], data)])
    >>> found.method_of("auc"), round(found.interval("auc").half_width, 4)
    ('analytic', 0.0042)
    """

    confidence: float = 0.95
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    analytic: dict[str, _Analytic] = field(default_factory=dict)
    #: Σ (ψ_a − ψ_b)² of every pair of statistics of one metric on the same rows
    paired_sum_squares: dict[tuple[str, str], float] = field(default_factory=dict)
    n_resamples: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def __contains__(self, key: str) -> bool:
        return key in self.samples or key in self.analytic

    def method_of(self, key: str) -> str | None:
        return "bootstrap" if key in self.samples else "analytic" if key in self.analytic else None

    @property
    def methods(self) -> set[str]:
        return {m for m, found in (("bootstrap", self.samples), ("analytic", self.analytic)) if found}

    def describe(self, seed: int) -> str:
        """How the intervals were made, for a report's note: 'from 1,000 bootstrap resamples (seed 0)'."""
        resampled = f"{self.n_resamples:,} bootstrap resamples (seed {seed})"
        analytic = "from influence functions (delta method; DeLong's for ROC AUC) with a normal approximation"
        if self.methods == {"analytic", "bootstrap"}:
            return (f"{analytic} on row sets of {ANALYTIC_MIN_ROWS:,} rows or more; smaller segments from "
                    f"{resampled} of their rows")
        if self.methods == {"analytic"}:
            return analytic
        return f"from {resampled}"

    def value(self, key: str) -> float | None:
        """The statistic on all its rows, where the analytic estimator computed it (else None)."""
        found = self.analytic.get(key)
        return None if found is None else found.value

    def interval(self, key: str) -> Interval | None:
        """The CI of one statistic; None when it was not estimated."""
        if key in self.samples:
            return percentile_interval(self.samples[key], self.confidence)
        found = self.analytic.get(key)
        if found is None:
            return None
        low, high = _wald(found.value, found.sum_squares, found.rows, self.confidence)
        return Interval(max(low, found.bounds[0]), min(high, found.bounds[1]), found.rows)

    def difference(self, key: str, other: str) -> Interval | None:
        """The CI of ``key − other``, paired on the same rows; None when either is missing."""
        if key in self.samples and other in self.samples:
            return percentile_interval(self.samples[key] - self.samples[other], self.confidence)
        a, b = self.analytic.get(key), self.analytic.get(other)
        paired = self.paired_sum_squares.get((key, other), self.paired_sum_squares.get((other, key)))
        if a is None or b is None or paired is None:
            return None
        low, high = _wald(a.value - b.value, paired, a.rows, self.confidence)
        return Interval(low, high, a.rows)


def _wald(value: float, sum_squares: float, n: int, confidence: float) -> tuple[float, float]:
    if n < 2 or not math.isfinite(value) or not math.isfinite(sum_squares):
        return float("nan"), float("nan")
    se = math.sqrt(sum_squares / (n * (n - 1)))
    half = float(norm.ppf(0.5 + confidence / 2)) * se
    return value - half, value + half


def _sum_squares(psi: np.ndarray) -> float:
    return float(np.dot(psi, psi)) if np.all(np.isfinite(psi)) else float("nan")


def choose_method(rows: int, method: Method = "auto") -> str:
    """The estimator a set of ``rows`` rows gets: the requested one, or by size under ``auto``.

    Examples
    --------
    >>> choose_method(800), choose_method(50_000), choose_method(50_000, "bootstrap")
    ('bootstrap', 'analytic', 'bootstrap')
    """
    if method != "auto":
        return method
    return "analytic" if rows >= ANALYTIC_MIN_ROWS else "bootstrap"


def estimate_intervals(
    n_rows: int,
    statistics: Sequence[Statistic],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    method: Method = "auto",
    progress: Callable[[str], None] | None = None,
) -> MetricIntervals:
    """Estimate every statistic's sampling distribution with the estimator its rows call for.

    Parameters
    ----------
    n_rows : int
        Rows in the golden set.
    statistics : sequence of Statistic
        Whole-set statistics (``rows=None``) and segment statistics (``rows`` = their row indices).
    n_resamples, seed : int
        Bootstrap resamples and seed, for the row sets the bootstrap handles.
    confidence : float
        Level of the intervals.
    method : {"auto", "bootstrap", "analytic"}
        ``auto`` decides per row set by its size (:data:`ANALYTIC_MIN_ROWS`).
    progress : callable, optional
        Called with a short line after each phase, e.g. ``ProgressLog.step`` (the terminal on long runs).

    Returns
    -------
    MetricIntervals

    Notes
    -----
    When the whole golden set is bootstrapped, every statistic (segments included) is
    evaluated on the same whole-set resamples, a segment seeing its rows' counts. When the
    whole set is analytic, a segment too small for it is bootstrapped on its own rows.

    Examples
    --------
    A candidate and a baseline on 400 golden rows (bootstrapped: under 5,000 rows), their
    paired difference and one segment's interval:

    >>> from readiness.stats.metrics import METRICS
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> def outputs(p):
    ...     return EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    >>> candidate = outputs(np.clip(0.35 * y + 0.65 * rng.random(400), 0, 1))
    >>> baseline = outputs(np.clip(0.25 * y + 0.75 * rng.random(400), 0, 1))
    >>> north = np.flatnonzero(rng.random(400) < 0.25)
    >>> found = estimate_intervals(400, [
    ...     Statistic("candidate:roc_auc", METRICS["roc_auc"], candidate),
    ...     Statistic("baseline:roc_auc", METRICS["roc_auc"], baseline),
    ...     Statistic("candidate:roc_auc[region=north]", METRICS["roc_auc"], candidate, rows=north)],
    ...     n_resamples=500, seed=0)
    >>> found.describe(seed=0)
    'from 500 bootstrap resamples (seed 0)'
    >>> def shown(interval):
    ...     return round(interval.low, 3), round(interval.high, 3)
    >>> shown(found.interval("candidate:roc_auc")), shown(found.difference("candidate:roc_auc", "baseline:roc_auc"))
    ((0.882, 0.932), (0.103, 0.211))
    >>> shown(found.interval("candidate:roc_auc[region=north]"))
    (0.858, 0.956)
    """
    found = MetricIntervals(confidence=confidence, n_resamples=n_resamples)
    whole = choose_method(n_rows, method)
    if whole == "bootstrap":
        # every statistic on the same resamples of the whole set: segments see their rows' counts
        started = time.perf_counter()
        functions = {s.key: _weighted(s) for s in statistics}
        found.samples.update(bootstrap(n_rows, functions, n_resamples, seed))
        found.seconds["bootstrap"] = time.perf_counter() - started
        _say(progress, f"{n_resamples:,} bootstrap resamples of {n_rows:,} rows for {len(functions)} statistics",
             found.seconds["bootstrap"])
        return found

    started = time.perf_counter()
    small: dict[str, list[Statistic]] = {}
    subsets: dict[tuple[int, int], EvalData] = {}  # one subset per model and segment: its scores sort once
    same_rows: dict[tuple[str, int | None], list[Statistic]] = {}  # one metric on one row set: the paired ones
    for statistic in statistics:
        rows = n_rows if statistic.rows is None else len(statistic.rows)
        if statistic.rows is not None and choose_method(rows, method) == "bootstrap":
            small.setdefault(statistic.group or statistic.key, []).append(statistic)
            continue
        rows_id = None if statistic.rows is None else id(statistic.rows)
        same_rows.setdefault((statistic.metric.name, rows_id), []).append(statistic)
    for members in same_rows.values():
        influences = {}
        for statistic in members:
            data = statistic.data
            if statistic.rows is not None:
                key = (id(statistic.data), id(statistic.rows))
                if key not in subsets:
                    subsets[key] = statistic.data.subset(statistic.rows)
                data = subsets[key]
            value, psi = statistic.metric.value_and_influence(data)
            influences[statistic.key] = psi
            found.analytic[statistic.key] = _Analytic(value, _sum_squares(psi), len(psi), statistic.metric.bounds)
        keys = list(influences)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                found.paired_sum_squares[(a, b)] = _sum_squares(influences[a] - influences[b])
    found.seconds["analytic"] = time.perf_counter() - started
    _say(progress, f"influence-function intervals for {len(found.analytic)} statistics on {n_rows:,} rows",
         found.seconds["analytic"])
    if small:
        started = time.perf_counter()
        for members in small.values():
            segment_rows = members[0].rows
            assert segment_rows is not None  # small statistics are segments by construction
            segment_data = {s.key: (s.metric, s.data.subset(segment_rows)) for s in members}
            functions = {key: (lambda w, m=m, d=d: m(w, d)) for key, (m, d) in segment_data.items()}
            found.samples.update(bootstrap(len(segment_rows), functions, n_resamples, seed))
        found.seconds["bootstrap"] = time.perf_counter() - started
        _say(progress, f"{n_resamples:,} bootstrap resamples for {len(small)} small segment(s)", found.seconds["bootstrap"])
    return found


def _weighted(statistic: Statistic):
    metric, data, rows = statistic.metric, statistic.data, statistic.rows
    if rows is None:
        return lambda w: metric(w, data)
    sub = data.subset(rows)
    return lambda w: metric(w[:, rows], sub)


def _say(progress, text: str, seconds: float) -> None:
    del seconds  # the caller's progress log times its own steps
    if progress is not None:
        progress(text)
