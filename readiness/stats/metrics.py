"""Metrics as weighted statistics, so one code path gives point estimates and bootstraps.

Every metric is computed from a weight matrix ``W`` of shape ``(B, n)``: row ``b``
holds how often each of the ``n`` golden rows appears in resample ``b``. The
point estimate uses a single row of ones. A bootstrap resample with counts ``w``
equals the metric with ``sample_weight=w`` in scikit-learn, which is what the
tests check, metric by metric.

Each metric also has an *influence function*: per row, how much the metric moves
when that row's weight grows (``ψ_j = n ∂metric/∂w_j`` at equal weights). Its mean
square gives the metric's sampling variance (the delta method; for ROC AUC this is
DeLong's variance), which is what large golden sets use instead of resampling
(:mod:`readiness.stats.intervals`); the tests check each ψ against finite
differences of the weighted metric.

Each metric is one :class:`Metric` in :data:`METRICS`; adding a metric touches
only that registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Probabilities are clipped to [EPS, 1 - EPS] for log loss, as scikit-learn does.
EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class EvalData:
    """Golden labels and one model's outputs, encoded for the metric functions.

    Attributes
    ----------
    task : {"binary", "multiclass", "regression"}
    y : ndarray of shape (n,)
        Class index (0..K-1) for classification, the target for regression.
    pred : ndarray of shape (n,)
        Predicted class index, or the regression prediction.
    proba : ndarray of shape (n, K) or None
        Class probabilities when the model has ``predict_proba``.
    score : ndarray of shape (n,) or None
        Binary only: the ranking score (probability of the positive class, or
        the decision function when there are no probabilities).

    Examples
    --------
    >>> p = np.array([0.1, 0.6, 0.4, 0.8])
    >>> data = EvalData("binary", np.array([0, 0, 1, 1]), (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    >>> data.n_classes, data.subset(np.array([2, 3])).score
    (2, array([0.4, 0.8]))
    """

    task: str
    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None = None
    score: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return 0 if self.proba is None else self.proba.shape[1]

    def subset(self, index: np.ndarray) -> "EvalData":
        return EvalData(
            task=self.task,
            y=self.y[index],
            pred=self.pred[index],
            proba=None if self.proba is None else self.proba[index],
            score=None if self.score is None else self.score[index],
        )


@dataclass(frozen=True)
class Metric:
    """One metric: its name, scale and how to compute it on weighted rows.

    Examples
    --------
    >>> log_loss = METRICS["log_loss"]
    >>> log_loss.title, log_loss.tasks, log_loss.higher_is_better, log_loss.needs
    ('Log loss', ('binary', 'multiclass'), False, 'proba')
    >>> p = np.array([0.1, 0.6, 0.4, 0.8])
    >>> data = EvalData("binary", np.array([0, 0, 1, 1]), (p >= 0.5).astype(int), np.c_[1 - p, p], p)

    Each row of weights is one evaluation: all ones is the point estimate, other rows are
    resamples (here the last two rows counted twice):

    >>> log_loss(np.array([[1, 1, 1, 1], [0, 0, 2, 2]]), data).round(4)
    array([0.5403, 0.5697])
    >>> METRICS["mape"].available(EvalData("regression", np.array([0.0, 2.0]), np.array([0.5, 2.5])))
    'MAPE is undefined: 1 golden target value(s) are 0; gate on MAE or RMSE instead'
    """

    name: str
    title: str
    tasks: tuple[str, ...]
    higher_is_better: bool
    bounds: tuple[float, float]
    needs: str  # "label", "score" (ranking score) or "proba" (calibrated probabilities)
    compute: Callable[[np.ndarray, EvalData], np.ndarray]
    doc: str
    influence: Callable[[EvalData], tuple[float, np.ndarray]]

    def available(self, data: EvalData) -> str | None:
        """None when the metric can be computed, else the reason it cannot."""
        if data.task not in self.tasks:
            return f"{self.title} is not defined for {data.task} tasks"
        if self.needs == "proba" and data.proba is None:
            return f"{self.title} needs predict_proba, which the model does not have"
        if self.needs == "score" and data.score is None and data.proba is None:
            return f"{self.title} needs scores (predict_proba or decision_function)"
        if self.name == "mape" and np.any(data.y == 0):
            zeros = int(np.sum(data.y == 0))
            return f"MAPE is undefined: {zeros} golden target value(s) are 0; gate on MAE or RMSE instead"
        return None

    def __call__(self, weights: np.ndarray, data: EvalData) -> np.ndarray:
        weights = np.atleast_2d(np.asarray(weights))
        if weights.dtype not in (np.float32, np.float64):
            weights = weights.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.compute(weights, data)

    def value_and_influence(self, data: EvalData) -> tuple[float, np.ndarray]:
        """The metric on all rows (equal weights) and its influence value for every row.

        ``ψ_j = n ∂metric/∂w_j`` at ``w = 1``: to first order, the metric on a resample
        with counts ``c`` is ``value + Σ_j (c_j − 1) ψ_j / n``, so its standard error is
        ``sqrt(Σ ψ² / (n (n − 1)))``. NaN values (and NaN ψ) where the metric is undefined.

        Examples
        --------
        >>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.6, 0.4, 0.9])
        >>> data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
        >>> value, psi = METRICS["roc_auc"].value_and_influence(data)
        >>> float(value), psi.round(2).tolist()
        (0.75, [0.5, -0.5, -0.5, 0.5])
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            value, psi = self.influence(data)
        return float(value), np.asarray(psi, dtype=np.float64)


# --------------------------------------------------------------------------- helpers


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float = np.nan) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _dot(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """weights @ values in the weights' precision (float32 resamples stay float32:
    their rounding, ~1e-6 relative, is far below bootstrap noise)."""
    return weights @ np.asarray(values, dtype=weights.dtype)


def _weighted_mean(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    return _ratio(_dot(weights, values), weights.sum(axis=1))


def _grouped_sums(weights_sorted: np.ndarray, positive_sorted: np.ndarray, starts: np.ndarray):
    """Per tied-score group: weight of positives and of negatives, for every resample."""
    pos = weights_sorted * positive_sorted.astype(weights_sorted.dtype)
    if starts.size == weights_sorted.shape[1]:  # no ties: every row is its own group
        return pos, weights_sorted - pos
    pos = np.add.reduceat(pos, starts, axis=1)
    total = np.add.reduceat(weights_sorted, starts, axis=1)
    return pos, total - pos


_SORT_CACHE: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _sorted_groups(score: np.ndarray, descending: bool):
    """Sort order and tied-group starts of a score array, cached across bootstrap chunks."""
    key = (id(score), descending)
    cached = _SORT_CACHE.get(key)
    if cached is not None and cached[0] is score:
        return cached[1], cached[2]
    order = np.argsort(-score if descending else score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    if len(_SORT_CACHE) > 256:
        _SORT_CACHE.clear()
    _SORT_CACHE[key] = (score, order, starts)  # holding `score` keeps its id from being reused
    return order, starts


def _binary_roc_auc(weights: np.ndarray, positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    order, starts = _sorted_groups(score, descending=False)
    if starts.size == len(score):
        # No tied scores: a row is either positive or negative, so the ties term
        # vanishes and AUC·P·N = Σ_i w_i·[i positive]·(negative weight up to i).
        ranked = weights[:, order]
        is_positive = positive[order].astype(ranked.dtype)
        cum_negative = np.cumsum(ranked * (1 - is_positive), axis=1)
        total_positive = ranked @ is_positive
        total_negative = ranked.sum(axis=1) - total_positive
        ranked *= cum_negative
        return _ratio(ranked @ is_positive, total_positive * total_negative)
    pos, neg = _grouped_sums(weights[:, order], positive[order], starts)
    neg_below = np.cumsum(neg, axis=1) - neg
    # Ties count one half, as in the Mann-Whitney statistic scikit-learn matches.
    numerator = np.sum(pos * (neg_below + 0.5 * neg), axis=1)
    return _ratio(numerator, pos.sum(axis=1) * neg.sum(axis=1))


def _binary_average_precision(weights: np.ndarray, positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    order, starts = _sorted_groups(score, descending=True)
    pos, neg = _grouped_sums(weights[:, order], positive[order], starts)
    tp = np.cumsum(pos, axis=1)
    fp = np.cumsum(neg, axis=1)
    precision = _ratio(tp, tp + fp, zero_division=0.0)
    return _ratio(np.sum(pos * precision, axis=1), pos.sum(axis=1))


def _ranking_score(data: EvalData) -> np.ndarray:
    return data.score if data.score is not None else data.proba[:, 1]


def _per_class(metric_fn, weights: np.ndarray, data: EvalData) -> np.ndarray:
    """Macro average of a one-vs-rest binary metric over the model's classes."""
    per_class = [metric_fn(weights, data.y == k, data.proba[:, k]) for k in range(data.n_classes)]
    return np.nanmean(np.vstack(per_class), axis=0) if per_class else np.full(len(weights), np.nan)


def _confusion_counts(weights: np.ndarray, data: EvalData, k: int):
    actual = data.y == k
    predicted = data.pred == k
    tp = _dot(weights, actual & predicted)
    fp = _dot(weights, ~actual & predicted)
    fn = _dot(weights, actual & ~predicted)
    return tp, fp, fn


def _classes(data: EvalData) -> range:
    if data.task == "binary":
        return range(1, 2)  # the positive class only
    return range(max(data.n_classes, int(data.y.max(initial=0)) + 1))


def _prf(kind: str):
    def compute(weights: np.ndarray, data: EvalData) -> np.ndarray:
        scores = []
        for k in _classes(data):
            tp, fp, fn = _confusion_counts(weights, data, k)
            if kind == "precision":
                scores.append(_ratio(tp, tp + fp, 0.0))
            elif kind == "recall":
                scores.append(_ratio(tp, tp + fn, 0.0))
            else:
                scores.append(_ratio(2 * tp, 2 * tp + fp + fn, 0.0))
        return np.mean(np.vstack(scores), axis=0)

    return compute


# --------------------------------------------------------------------------- influence functions
# Each returns (value at equal weights, ψ) with ψ_j = n ∂value/∂w_j; see Metric.value_and_influence.


def _mean_influence(values: np.ndarray) -> tuple[float, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    value = float(values.mean()) if values.size else float("nan")
    return value, values - value


def _ratio_influence(num: np.ndarray, den: np.ndarray, zero_division: float = np.nan) -> tuple[float, np.ndarray]:
    """Σ num / Σ den; ψ_j = n (num_j − value·den_j) / Σ den. A zero denominator stays zero
    under any reweighting, so the value is the constant ``zero_division`` with ψ = 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    total = den.sum()
    if total == 0:
        return zero_division, np.zeros(len(num))
    value = num.sum() / total
    return float(value), len(num) * (num - value * den) / total


_GROUP_CACHE: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}


def _score_groups(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's rank among the distinct score values (ties share one), and how many there are.

    One sort per score array, cached: ROC AUC, average precision, every model's statistics
    and the paired differences reuse it.
    """
    cached = _GROUP_CACHE.get(id(score))
    if cached is not None and cached[0] is score:
        return cached[1], cached[2]
    values, inverse = np.unique(score, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(_GROUP_CACHE) > 64:
        _GROUP_CACHE.clear()
    _GROUP_CACHE[id(score)] = (score, inverse, len(values))  # holding `score` keeps its id from being reused
    return inverse, len(values)


def _group_counts(positive: np.ndarray, score: np.ndarray, descending: bool):
    """Groups of tied scores in ascending (or descending) order: each row's group, positives and rows per group."""
    group, n_groups = _score_groups(score)
    if descending:
        group = n_groups - 1 - group
    pos = np.bincount(group, weights=positive, minlength=n_groups)
    sizes = np.bincount(group, minlength=n_groups).astype(np.float64)
    return group, pos, sizes


def _binary_roc_auc_influence(positive: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray]:
    """DeLong's placement values: a positive's share of negatives ranked below it (ties half),
    a negative's share of positives ranked above it."""
    n = len(score)
    group, pos, sizes = _group_counts(positive, score, descending=False)
    neg = sizes - pos
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan"), np.full(n, np.nan)
    neg_below = np.cumsum(neg) - neg + 0.5 * neg
    pos_above = total_pos - np.cumsum(pos) + 0.5 * pos
    value = float(np.sum(pos * neg_below) / (total_pos * total_neg))
    placement_pos = neg_below / total_neg  # V10 of a positive in each group
    placement_neg = pos_above / total_pos  # V01 of a negative in each group
    psi = np.where(positive, n * (placement_pos[group] - value) / total_pos,
                   n * (placement_neg[group] - value) / total_neg)
    return value, psi


def _binary_average_precision_influence(positive: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray]:
    """AP = Σ_k pos_k·prec_k / P over groups k in descending score; a row in group m moves
    its own group's terms and the precision of every group at or below it."""
    n = len(score)
    group, pos, sizes = _group_counts(positive, score, descending=True)
    total_pos = pos.sum()
    if total_pos == 0:
        return float("nan"), np.full(n, np.nan)
    tp = np.cumsum(pos)
    predicted = np.cumsum(sizes)
    precision = tp / predicted
    value = float(np.sum(pos * precision) / total_pos)
    below = lambda v: np.cumsum(v[::-1])[::-1]  # Σ over groups k ≥ m
    a = below(pos / predicted)
    c = below(pos * precision / predicted)
    y = positive.astype(np.float64)
    d_sum = y * (precision[group] + a[group]) - c[group]
    return value, n * (d_sum - value * y) / total_pos


def _per_class_influence(fn, data: EvalData) -> tuple[float, np.ndarray]:
    """Macro average over classes, skipping those where the binary metric is undefined (nanmean)."""
    parts = [fn(data.y == k, data.proba[:, k]) for k in range(data.n_classes)]
    defined = [(v, psi) for v, psi in parts if np.isfinite(v)]
    if not defined:
        return float("nan"), np.full(len(data.y), np.nan)
    return float(np.mean([v for v, _ in defined])), np.mean([psi for _, psi in defined], axis=0)


def _roc_auc_influence(data):
    if data.task == "binary":
        return _binary_roc_auc_influence(data.y == 1, _ranking_score(data))
    return _per_class_influence(_binary_roc_auc_influence, data)


def _average_precision_influence(data):
    if data.task == "binary":
        return _binary_average_precision_influence(data.y == 1, _ranking_score(data))
    return _per_class_influence(_binary_average_precision_influence, data)


def _log_loss_influence(data):
    if data.task == "binary":
        p = np.clip(data.proba[:, 1], EPS, 1 - EPS)
        return _mean_influence(-np.where(data.y == 1, np.log(p), np.log1p(-p)))
    p = np.clip(data.proba[np.arange(len(data.y)), data.y], EPS, 1 - EPS)
    return _mean_influence(-np.log(p))


def _brier_influence(data):
    if data.task == "binary":
        return _mean_influence((data.proba[:, 1] - (data.y == 1)) ** 2)
    return _mean_influence(np.sum((data.proba - np.eye(data.n_classes)[data.y]) ** 2, axis=1))


def _accuracy_influence(data):
    return _mean_influence(data.pred == data.y)


def _balanced_accuracy_influence(data):
    parts = []
    for k in range(max(data.n_classes, int(data.y.max(initial=0)) + 1)):
        actual = data.y == k
        parts.append(_ratio_influence(actual & (data.pred == k), actual))
    defined = [(v, psi) for v, psi in parts if np.isfinite(v)]
    if not defined:
        return float("nan"), np.full(len(data.y), np.nan)
    return float(np.mean([v for v, _ in defined])), np.mean([psi for _, psi in defined], axis=0)


def _prf_influence(kind: str):
    def influence(data: EvalData):
        parts = []
        for k in _classes(data):
            actual, predicted = data.y == k, data.pred == k
            tp = actual & predicted
            if kind == "precision":
                parts.append(_ratio_influence(tp, predicted, 0.0))
            elif kind == "recall":
                parts.append(_ratio_influence(tp, actual, 0.0))
            else:
                parts.append(_ratio_influence(2.0 * tp, actual.astype(np.float64) + predicted, 0.0))
        return float(np.mean([v for v, _ in parts])), np.mean([psi for _, psi in parts], axis=0)

    return influence


def _rmse_influence(data):
    mse, psi = _mean_influence((data.pred - data.y) ** 2)
    value = np.sqrt(mse)
    return float(value), (psi / (2 * value) if value > 0 else np.zeros_like(psi))


def _mae_influence(data):
    return _mean_influence(np.abs(data.pred - data.y))


def _r2_influence(data):
    y = np.asarray(data.y, dtype=np.float64)
    n = len(y)
    squared_errors = (data.pred - y) ** 2
    sse = squared_errors.sum()
    deviations = (y - y.mean()) ** 2
    sst = deviations.sum()
    if sst == 0:
        return float("nan"), np.full(n, np.nan)
    return float(1 - sse / sst), -n * (squared_errors * sst - sse * deviations) / sst**2


def _mape_influence(data):
    return _mean_influence(np.abs(data.pred - data.y) / np.abs(data.y))


# --------------------------------------------------------------------------- metrics


def _roc_auc(weights, data):
    if data.task == "binary":
        return _binary_roc_auc(weights, data.y == 1, _ranking_score(data))
    return _per_class(_binary_roc_auc, weights, data)


def _average_precision(weights, data):
    if data.task == "binary":
        return _binary_average_precision(weights, data.y == 1, _ranking_score(data))
    return _per_class(_binary_average_precision, weights, data)


def _log_loss(weights, data):
    if data.task == "binary":
        p = np.clip(data.proba[:, 1], EPS, 1 - EPS)
        losses = -np.where(data.y == 1, np.log(p), np.log1p(-p))
    else:
        p = np.clip(data.proba[np.arange(len(data.y)), data.y], EPS, 1 - EPS)
        losses = -np.log(p)
    return _weighted_mean(weights, losses)


def _brier(weights, data):
    if data.task == "binary":
        losses = (data.proba[:, 1] - (data.y == 1)) ** 2
    else:
        onehot = np.eye(data.n_classes)[data.y]
        losses = np.sum((data.proba - onehot) ** 2, axis=1)
    return _weighted_mean(weights, losses)


def _accuracy(weights, data):
    return _weighted_mean(weights, data.pred == data.y)


def _balanced_accuracy(weights, data):
    recalls = []
    for k in range(max(data.n_classes, int(data.y.max(initial=0)) + 1)):
        actual = data.y == k
        recalls.append(_ratio(_dot(weights, actual & (data.pred == k)), _dot(weights, actual)))
    return np.nanmean(np.vstack(recalls), axis=0)


def _rmse(weights, data):
    return np.sqrt(_weighted_mean(weights, (data.pred - data.y) ** 2))


def _mae(weights, data):
    return _weighted_mean(weights, np.abs(data.pred - data.y))


def _r2(weights, data):
    weights = weights.astype(np.float64)  # R² subtracts large sums: keep float64
    total = weights.sum(axis=1)
    sse = weights @ (data.pred - data.y) ** 2
    sst = weights @ data.y**2 - _ratio((weights @ data.y) ** 2, total)
    return 1.0 - _ratio(sse, sst)


def _mape(weights, data):
    return _weighted_mean(weights, np.abs(data.pred - data.y) / np.abs(data.y))


_CLS = ("binary", "multiclass")
_REG = ("regression",)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", "ROC AUC", _CLS, True, (0.0, 1.0), "score", _roc_auc,
               "Probability a random positive outranks a random negative (one-vs-rest macro for multiclass).",
               influence=_roc_auc_influence),
        Metric("average_precision", "Average precision", _CLS, True, (0.0, 1.0), "score", _average_precision,
               "Area under the precision-recall step curve (one-vs-rest macro for multiclass).",
               influence=_average_precision_influence),
        Metric("log_loss", "Log loss", _CLS, False, (0.0, np.inf), "proba", _log_loss,
               "Mean negative log-likelihood of the true class; lower is better.",
               influence=_log_loss_influence),
        Metric("brier", "Brier score", _CLS, False, (0.0, 2.0), "proba", _brier,
               "Mean squared error of the probabilities (summed over classes for multiclass).",
               influence=_brier_influence),
        Metric("accuracy", "Accuracy", _CLS, True, (0.0, 1.0), "label", _accuracy,
               "Share of rows whose predicted class is right.",
               influence=_accuracy_influence),
        Metric("balanced_accuracy", "Balanced accuracy", _CLS, True, (0.0, 1.0), "label", _balanced_accuracy,
               "Mean recall over classes; robust to class imbalance.",
               influence=_balanced_accuracy_influence),
        Metric("f1", "F1", _CLS, True, (0.0, 1.0), "label", _prf("f1"),
               "Harmonic mean of precision and recall (positive class; macro for multiclass).",
               influence=_prf_influence("f1")),
        Metric("precision", "Precision", _CLS, True, (0.0, 1.0), "label", _prf("precision"),
               "Share of predicted positives that are positive (macro for multiclass).",
               influence=_prf_influence("precision")),
        Metric("recall", "Recall", _CLS, True, (0.0, 1.0), "label", _prf("recall"),
               "Share of positives that are predicted positive (macro for multiclass).",
               influence=_prf_influence("recall")),
        Metric("rmse", "RMSE", _REG, False, (0.0, np.inf), "label", _rmse,
               "Root mean squared error, in target units.",
               influence=_rmse_influence),
        Metric("mae", "MAE", _REG, False, (0.0, np.inf), "label", _mae,
               "Mean absolute error, in target units.",
               influence=_mae_influence),
        Metric("r2", "R²", _REG, True, (-np.inf, 1.0), "label", _r2,
               "Share of target variance explained; 0 = predicting the mean, 1 = perfect.",
               influence=_r2_influence),
        Metric("mape", "MAPE", _REG, False, (0.0, np.inf), "label", _mape,
               "Mean absolute percentage error (as a fraction); undefined when a target is 0.",
               influence=_mape_influence),
    ]
}

#: The metric that ranks models and slices when nothing else is configured.
PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def metrics_for_task(task: str) -> list[Metric]:
    """The metrics defined for ``task`` (binary, multiclass or regression), in registry order.

    Examples
    --------
    >>> [metric.name for metric in metrics_for_task("regression")]
    ['rmse', 'mae', 'r2', 'mape']
    """
    return [m for m in METRICS.values() if task in m.tasks]


def perfect_value(metric: Metric) -> float:
    """The best attainable value, used for the normalised gain over the dummy model.

    Examples
    --------
    >>> perfect_value(METRICS["roc_auc"]), perfect_value(METRICS["rmse"]), perfect_value(METRICS["r2"])
    (1.0, 0.0, 1.0)
    """
    return metric.bounds[1] if metric.higher_is_better else metric.bounds[0]
