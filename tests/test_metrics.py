"""Every metric equals scikit-learn's, unweighted and with bootstrap-style integer weights."""

import numpy as np
import pytest
import sklearn.metrics as skm

from readiness.stats.metrics import METRICS, PRIMARY_METRIC, EvalData, metrics_for_task, perfect_value


def _binary(seed=0, n=400, ties=True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0.001, 0.999)
    if ties:
        p = np.round(p, 2)  # many tied scores: the hard case for rank metrics
    return EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)


def _multiclass(seed=0, n=500, k=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return EvalData("multiclass", y, proba.argmax(1), proba)


def _regression(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return EvalData("regression", y, y + rng.normal(0, 1.5, n))


BINARY = {
    "roc_auc": lambda d, w: skm.roc_auc_score(d.y, d.score, sample_weight=w),
    "average_precision": lambda d, w: skm.average_precision_score(d.y, d.score, sample_weight=w),
    "log_loss": lambda d, w: skm.log_loss(d.y, d.proba, sample_weight=w),
    "brier": lambda d, w: skm.brier_score_loss(d.y, d.score, sample_weight=w),
    "accuracy": lambda d, w: skm.accuracy_score(d.y, d.pred, sample_weight=w),
    "balanced_accuracy": lambda d, w: skm.balanced_accuracy_score(d.y, d.pred, sample_weight=w),
    "f1": lambda d, w: skm.f1_score(d.y, d.pred, sample_weight=w),
    "precision": lambda d, w: skm.precision_score(d.y, d.pred, sample_weight=w, zero_division=0),
    "recall": lambda d, w: skm.recall_score(d.y, d.pred, sample_weight=w),
}
MULTICLASS = {
    "roc_auc": lambda d, w: skm.roc_auc_score(d.y, d.proba, multi_class="ovr", average="macro", sample_weight=w),
    "average_precision": lambda d, w: skm.average_precision_score(np.eye(d.n_classes)[d.y], d.proba, average="macro", sample_weight=w),
    "log_loss": lambda d, w: skm.log_loss(d.y, d.proba, sample_weight=w),
    "brier": lambda d, w: skm.brier_score_loss(d.y, d.proba, sample_weight=w),
    "accuracy": lambda d, w: skm.accuracy_score(d.y, d.pred, sample_weight=w),
    "balanced_accuracy": lambda d, w: skm.balanced_accuracy_score(d.y, d.pred, sample_weight=w),
    "f1": lambda d, w: skm.f1_score(d.y, d.pred, average="macro", labels=range(d.n_classes), sample_weight=w),
    "precision": lambda d, w: skm.precision_score(d.y, d.pred, average="macro", labels=range(d.n_classes), sample_weight=w, zero_division=0),
    "recall": lambda d, w: skm.recall_score(d.y, d.pred, average="macro", labels=range(d.n_classes), sample_weight=w),
}
REGRESSION = {
    "rmse": lambda d, w: skm.root_mean_squared_error(d.y, d.pred, sample_weight=w),
    "mae": lambda d, w: skm.mean_absolute_error(d.y, d.pred, sample_weight=w),
    "r2": lambda d, w: skm.r2_score(d.y, d.pred, sample_weight=w),
    "mape": lambda d, w: skm.mean_absolute_percentage_error(d.y, d.pred, sample_weight=w),
}
CASES = [("binary", name, fn) for name, fn in BINARY.items()] + \
        [("multiclass", name, fn) for name, fn in MULTICLASS.items()] + \
        [("regression", name, fn) for name, fn in REGRESSION.items()]
MAKERS = {"binary": _binary, "multiclass": _multiclass, "regression": _regression}


@pytest.mark.parametrize("task,name,reference", CASES, ids=[f"{t}-{n}" for t, n, _ in CASES])
def test_metric_matches_scikit_learn(task, name, reference):
    data = MAKERS[task]()
    n = len(data.y)
    assert METRICS[name](np.ones(n), data)[0] == pytest.approx(reference(data, None), rel=1e-10, abs=1e-12)
    weights = np.random.default_rng(5).multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    ours = METRICS[name](weights, data)
    theirs = [reference(data, w) for w in weights]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("task,name,reference", [c for c in CASES if c[0] != "regression"][:9])
def test_float32_resample_weights_stay_accurate(task, name, reference):
    data = _binary(3, n=2000)
    weights = np.random.default_rng(9).multinomial(2000, np.full(2000, 1 / 2000), size=2)
    ours = METRICS[name](weights.astype(np.float32), data)
    np.testing.assert_allclose(ours, [reference(data, w) for w in weights.astype(float)], rtol=2e-5, atol=1e-6)


def test_binary_rank_metrics_work_from_decision_scores_without_probabilities():
    data = _binary(1)
    scores = EvalData("binary", data.y, data.pred, None, data.score * 7 - 3)
    assert METRICS["roc_auc"](np.ones(len(data.y)), scores)[0] == pytest.approx(skm.roc_auc_score(data.y, data.score))
    assert METRICS["log_loss"].available(scores) == "Log loss needs predict_proba, which the model does not have"


def test_mape_is_refused_when_a_target_is_zero():
    data = _regression()
    y = data.y.copy()
    y[[3, 7]] = 0.0
    reason = METRICS["mape"].available(EvalData("regression", y, data.pred))
    assert reason.startswith("MAPE is undefined: 2 golden target value(s) are 0")


def test_registry_is_complete_and_documented():
    for task in ("binary", "multiclass", "regression"):
        assert PRIMARY_METRIC[task] in {m.name for m in metrics_for_task(task)}
    for metric in METRICS.values():
        low, high = metric.bounds
        assert low < high and metric.doc and metric.title
        assert perfect_value(metric) in (low, high)


def test_undefined_auc_is_nan_not_an_exception():
    y = np.zeros(10, dtype=int)
    data = EvalData("binary", y, y, np.c_[np.ones(10) * 0.7, np.ones(10) * 0.3], np.ones(10) * 0.3)
    assert np.isnan(METRICS["roc_auc"](np.ones(10), data)[0])
