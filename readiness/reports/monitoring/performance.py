"""Realized performance where labels exist, and estimated performance where they do not.

Realized metrics use :mod:`readiness.stats.metrics`, whose values equal scikit-learn's (tested
metric by metric), on a chunk's labelled rows, or on a uniform sample of
``metric_rows`` of them when there are more (the report says so). Confidence intervals
are percentile bootstraps; on chunks with more labelled rows than ``ci_rows`` the
bootstrap runs on a uniform subsample of ``ci_rows`` rows and its deviations from the
subsample's value are scaled by √(ci_rows / n) (these metrics are asymptotically
normal, so their spread shrinks as 1/√n): the CI then costs the same for any chunk size.

Estimated performance (binary classifiers, no labels needed) assumes calibrated
scores: a row with score p is positive with probability p. Then

* accuracy: the number of correct predictions is a sum of independent Bernoulli
  variables with the rows' confidences c = max(p, 1 − p) (a Poisson-binomial variable):
  its mean is Σc and its variance Σc(1 − c), which give the estimate and a normal CI
  (the average-confidence estimator, Kivimäki et al., arXiv 2407.08649);
* ROC AUC: as CBPE does, the expected positives and negatives in each of 1,000 score
  bins give the expected ROC curve and its area; its CI draws the positives of every
  bin from Binomial(rows, mean score) and takes the percentiles of the resulting AUCs.

Both intervals are for the value the labels *will* show (they cover the realized value
at their nominal rate on calibrated data: tested). They are only as good as the
calibration: :func:`calibration_check` compares estimate and truth on the labelled
reference period and says when the estimate cannot be trusted. A change in P(y | x)
(concept shift) breaks the estimate silently; only labels reveal it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri  # the normal quantile; scipy.stats costs a second of imports

from readiness.stats.bootstrap import bootstrap, percentile_interval
from readiness.exceptions import InputError
from readiness.stats.metrics import METRICS, EvalData

DEFAULT_METRICS = {"binary": ["roc_auc", "accuracy"], "multiclass": ["accuracy", "log_loss"], "regression": ["rmse", "mae"]}
ESTIMATED_METRICS = ("roc_auc", "accuracy")


@dataclass(frozen=True)
class MetricValue:
    """A metric on one chunk: value, CI and how many labelled rows it used.

    Examples
    --------
    >>> data = eval_data("binary", np.array([0.1, 0.4, 0.35, 0.8] * 50), np.array([0.0, 0.0, 1.0, 1.0] * 50), 0.5)
    >>> auc = realized_metrics(["roc_auc"], data, labelled=400, confidence=0.95, n_bootstrap=200, ci_rows=1000,
    ...                        seed=0)["roc_auc"]
    >>> auc.value, auc.low < 0.75 < auc.high, auc.rows, auc.labelled  # 200 of the chunk's 400 labelled rows used
    (0.75, True, 200, 400)
    """

    value: float
    low: float
    high: float
    rows: int  # labelled rows used
    labelled: int  # labelled rows in the chunk


def eval_data(task: str, prediction: np.ndarray, label: np.ndarray, threshold: float, where: str = "labels") -> EvalData:
    """Encode one chunk's predictions and labels for :mod:`readiness.stats.metrics`.

    Raises
    ------
    InputError
        A binary task whose labels are not 0/1.

    Examples
    --------
    >>> eval_data("binary", np.array([0.2, 0.9]), np.array([0.0, 1.0]), 0.5).pred.tolist()
    [0, 1]

    Multiclass: ``prediction`` holds one probability column per class and ``label`` the
    class index; the predicted class is the most probable one.

    >>> eval_data("multiclass", np.array([[0.2, 0.8, 0.0], [0.5, 0.3, 0.2]]), np.array([1.0, 2.0]), 0.5).pred.tolist()
    [1, 0]
    """
    if task == "multiclass":
        proba = np.clip(np.asarray(prediction, dtype=float), 0.0, 1.0)
        return EvalData("multiclass", label.astype(np.int64), proba.argmax(axis=1), proba=proba)
    if task == "binary":
        odd = ~np.isin(label, (0.0, 1.0))
        if odd.any():
            raise InputError(f"{where}: a binary task needs labels 0/1 (or true/false); found {label[odd][0]!r}")
        y = label.astype(np.int64)
        p = np.clip(prediction, 0.0, 1.0)
        return EvalData("binary", y, (p >= threshold).astype(np.int64), proba=np.c_[1 - p, p], score=p)
    return EvalData("regression", label.astype(float), prediction.astype(float))


def realized_metrics(names: list[str], data: EvalData, labelled: int, confidence: float, n_bootstrap: int,
                     ci_rows: int, seed: int) -> dict[str, MetricValue]:
    """Metrics on one chunk's labelled rows, with bootstrap CIs on shared resamples (see the module docstring).

    Examples
    --------
    >>> data = eval_data("binary", np.array([0.1, 0.4, 0.35, 0.8] * 50), np.array([0.0, 0.0, 1.0, 1.0] * 50), 0.5)
    >>> round(realized_metrics(["roc_auc"], data, 200, 0.95, 200, 20_000, 0)["roc_auc"].value, 4)
    0.75
    """
    n = len(data.y)
    nan = MetricValue(float("nan"), float("nan"), float("nan"), n, labelled)
    usable = [name for name in names if n >= 2 and not METRICS[name].available(data)]
    out = {name: nan for name in names}
    if not usable:
        return out
    values = {name: point_value(name, data) for name in usable}
    rows = np.arange(n)
    if n > ci_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n, ci_rows, replace=False))
    sub = data.subset(rows) if rows.size < n else data
    centres = values if rows.size == n else {name: float(METRICS[name](np.ones((1, rows.size)), sub)[0]) for name in usable}
    statistics = {name: (lambda w, metric=METRICS[name]: metric(w, sub)) for name in usable}
    samples = bootstrap(rows.size, statistics, n_resamples=n_bootstrap, seed=seed, workers=1)
    factor = np.sqrt(rows.size / n)
    for name in usable:
        metric = METRICS[name]
        interval = percentile_interval(samples[name], confidence)
        low = values[name] + (interval.low - centres[name]) * factor
        high = values[name] + (interval.high - centres[name]) * factor
        out[name] = MetricValue(values[name], float(max(low, metric.bounds[0])), float(min(high, metric.bounds[1])),
                                n, labelled)
    return out


def point_value(name: str, data: EvalData) -> float:
    """A metric on every row, unweighted: ROC AUC (binary) and accuracy directly, others by :mod:`readiness.stats.metrics`.

    The metric module computes on a weight matrix (bootstrap resamples); for the single
    unweighted value of a chunk of 100,000 labelled rows the direct forms below are
    several times cheaper and give the same number (tested against scikit-learn).

    Examples
    --------
    >>> data = eval_data("binary", np.array([0.1, 0.4, 0.35, 0.8]), np.array([0.0, 0.0, 1.0, 1.0]), 0.5)
    >>> point_value("roc_auc", data)
    0.75
    """
    if name == "accuracy":
        return float(np.mean(data.pred == data.y))
    if name == "roc_auc" and data.task == "binary" and data.score is not None:
        return binary_auc(data.score, data.y)
    return float(METRICS[name](np.ones((1, len(data.y))), data)[0])


def binary_auc(score: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) form, tied scores sharing their average rank.

    Examples
    --------
    >>> binary_auc(np.array([0.2, 0.2, 0.9]), np.array([0, 1, 1]))
    0.75
    """
    positive = np.asarray(y) == 1
    n_positive = int(positive.sum())
    n_negative = positive.size - n_positive
    if not n_positive or not n_negative:
        return float("nan")
    order = np.argsort(score, kind="stable")
    ordered = np.asarray(score)[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    average = (starts + ends + 1) / 2.0  # ranks start + 1 … end, averaged over the tie group
    ranks = np.repeat(average, ends - starts)
    rank_sum = float(ranks[positive[order]].sum())
    return (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


# ------------------------------------------------------------------ estimation (binary)


def estimated_accuracy(tp: float, tn: float, rows: float, variance: float, confidence: float):
    """Expected accuracy and its normal CI from expected counts and Σc(1 − c).

    Examples
    --------
    >>> value, low, high = estimated_accuracy(40.0, 40.0, 100.0, 16.0, 0.95)
    >>> round(float(value), 2), round(float(high - value), 3)
    (0.8, 0.078)
    """
    if rows <= 0:
        return float("nan"), float("nan"), float("nan")
    value = (tp + tn) / rows
    half = ndtri(0.5 + confidence / 2) * np.sqrt(variance) / rows
    return value, max(value - half, 0.0), min(value + half, 1.0)


def binned_auc(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """ROC AUC from positives and negatives per ascending score bin (ties within a bin count one half).

    ``positives`` and ``negatives`` may be 2-D (one row per draw).

    Examples
    --------
    >>> float(binned_auc(np.array([0.0, 1.0]), np.array([1.0, 0.0])))
    1.0
    """
    negatives_below = np.cumsum(negatives, axis=-1) - negatives
    numerator = np.sum(positives * (negatives_below + 0.5 * negatives), axis=-1)
    denominator = positives.sum(axis=-1) * negatives.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def estimated_auc(counts: np.ndarray, score_sums: np.ndarray, confidence: float, draws: int = 200, seed: int = 0):
    """CBPE ROC AUC from a score histogram (rows and Σ score per bin), with a CI for the realized AUC.

    The CI draws each bin's positives around their expectation with the binomial
    variance (normal approximation, clipped to the bin's rows; exact binomial draws for
    bins of fewer than 30 rows), and takes percentiles of the AUCs of the draws.

    Examples
    --------
    >>> counts = np.array([100.0, 100.0]); sums = np.array([10.0, 90.0])  # scores 0.1 and 0.9
    >>> round(estimated_auc(counts, sums, 0.95)[0], 3)
    0.9
    """
    rows = counts.sum()
    if rows < 2:
        return float("nan"), float("nan"), float("nan")
    expected_positive = score_sums
    value = float(binned_auc(expected_positive, counts - expected_positive))
    # The CI simulates labels on at most 200 groups of adjacent bins (each ≥ rows/200): the
    # spread of the AUC comes from the labels, and grouping keeps the draws cheap.
    cumulative = np.cumsum(counts)
    cuts = np.unique(np.searchsorted(cumulative, np.linspace(0, rows, 201)[1:-1], side="right"))
    starts = np.unique(np.r_[0, cuts[cuts < counts.size]])
    n = np.add.reduceat(counts, starts)
    sums = np.add.reduceat(score_sums, starts)
    used = n > 0
    n, sums = n[used].astype(np.int64), sums[used]
    p = np.clip(sums / n, 0.0, 1.0)
    centre = float(binned_auc(sums, n - sums))
    # normal draws with the binomial variance for groups of 30 rows or more (clipped to the group), exact
    # binomial draws for smaller ones: a tenth of the cost of binomial draws everywhere
    rng = np.random.default_rng(seed)
    drawn = np.clip(n * p + np.sqrt(n * p * (1 - p)) * rng.standard_normal((draws, n.size)), 0, n)
    small = n < 30
    if small.any():
        drawn[:, small] = rng.binomial(n[small], p[small], size=(draws, int(small.sum())))
    aucs = value + binned_auc(drawn, n - drawn) - centre
    interval = percentile_interval(aucs, confidence)
    return value, interval.low, interval.high


@dataclass(frozen=True)
class CalibrationVerdict:
    """Estimate vs truth on the labelled reference: can the estimate be trusted?

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> score = rng.beta(2, 5, 5000)
    >>> label = (rng.random(5000) < score).astype(float)  # calibrated: a row with score p is positive with probability p
    >>> def histogram(p):  # rows, Σ score and Σ label per score bin, as the report keeps them
    ...     bins = np.minimum((p * 1000).astype(int), 999)
    ...     return [np.bincount(bins, weights=w, minlength=1000) for w in (np.ones_like(p), p, label)]
    >>> verdict = calibration_check(*histogram(score), threshold=0.5, tolerance=0.02, confidence=0.95)
    >>> verdict.trusted, {name: round(d, 4) for name, d in verdict.differences.items()}, round(verdict.ece, 4)
    (True, {'accuracy': -0.0008, 'roc_auc': 0.0006}, 0.0085)
    """

    trusted: bool | None  # None: no labelled reference rows to judge by
    message: str
    differences: dict[str, float]
    ece: float


def calibration_check(hist_n: np.ndarray, hist_p: np.ndarray, hist_y: np.ndarray, threshold: float,
                      tolerance: float, confidence: float) -> CalibrationVerdict:
    """Compare estimated and realized accuracy and ROC AUC on the labelled reference rows.

    ``hist_*`` are the labelled reference rows' score histogram: rows, Σ score and Σ label
    per bin. The estimate is trusted when, for each metric, estimate − truth is within
    ``tolerance`` or within the estimate's own CI (small reference periods). The
    expected calibration error (10 equal-width bins) is reported alongside.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> score = rng.beta(2, 5, 5000)
    >>> label = (rng.random(5000) < score).astype(float)  # calibrated: a row with score p is positive with probability p
    >>> def histogram(p):  # rows, Σ score and Σ label per score bin, as the report keeps them
    ...     bins = np.minimum((p * 1000).astype(int), 999)
    ...     return [np.bincount(bins, weights=w, minlength=1000) for w in (np.ones_like(p), p, label)]
    >>> calibration_check(*histogram(score), threshold=0.5, tolerance=0.02, confidence=0.95).trusted
    True
    >>> verdict = calibration_check(*histogram(np.clip(1.6 * score, 0, 1)), 0.5, 0.02, 0.95)  # overconfident scores
    >>> verdict.trusted, round(verdict.ece, 3)
    (False, 0.172)
    >>> print(verdict.message)
    on 5,000 labelled reference rows the estimate was +0.0380 off in accuracy and +0.0637 in ROC AUC (expected
    calibration error 0.1718): beyond ±0.02, so the scores are not calibrated enough to estimate performance without
    labels; recalibrate the model or rely on labels
    """
    rows = hist_n.sum()
    if rows < 50 or hist_y.sum() == 0 or hist_y.sum() == rows:
        return CalibrationVerdict(None, "the reference period has too few labelled rows (or one class only) to check "
                                  "the calibration; the estimate is shown but not judged", {}, float("nan"))
    grid = hist_n.size
    cut = int(round(threshold * grid))
    positive_bins = np.arange(grid) >= cut
    exp_tp, exp_tn = hist_p[positive_bins].sum(), (hist_n - hist_p)[~positive_bins].sum()
    confidence_bins = np.where(positive_bins, hist_p, hist_n - hist_p)
    per_row = np.where(hist_n > 0, confidence_bins / np.maximum(hist_n, 1), 0)
    variance = float(np.sum(confidence_bins * (1 - per_row)))
    estimated, low, high = estimated_accuracy(exp_tp, exp_tn, rows, variance, confidence)
    realized_accuracy = (hist_y[positive_bins].sum() + (hist_n - hist_y)[~positive_bins].sum()) / rows
    auc, auc_low, auc_high = estimated_auc(hist_n, hist_p, confidence)
    realized_auc = float(binned_auc(hist_y, hist_n - hist_y))
    differences = {"accuracy": float(estimated - realized_accuracy), "roc_auc": float(auc - realized_auc)}
    allowed = {"accuracy": max(tolerance, (high - low) / 2), "roc_auc": max(tolerance, (auc_high - auc_low) / 2)}
    ten = np.add.reduceat(np.c_[hist_n, hist_p, hist_y], np.arange(0, grid, grid // 10), axis=0)
    ece = float(np.sum(np.abs(ten[:, 2] - ten[:, 1])) / rows)
    off = [k for k, d in differences.items() if abs(d) > allowed[k]]
    detail = (f"on {int(rows):,} labelled reference rows the estimate was {differences['accuracy']:+.4f} off in accuracy "
              f"and {differences['roc_auc']:+.4f} in ROC AUC (expected calibration error {ece:.4f})")
    if off:
        return CalibrationVerdict(False, f"{detail}: beyond ±{tolerance:g}, so the scores are not calibrated enough "
                                  "to estimate performance without labels; recalibrate the model or rely on labels",
                                  differences, ece)
    return CalibrationVerdict(True, f"{detail}: within ±{tolerance:g}, so the estimate can be trusted while the "
                              "relation between features and label does not change", differences, ece)
