"""The golden benchmark's core: inputs loaded and checked, every model scored once, sampling intervals.

:class:`GoldenCore` reads the golden set, loads the candidate (and baseline), works
out the task, scores each model and a scikit-learn dummy model once, and estimates
the sampling intervals every section reads (:mod:`readiness.stats.intervals`: paired
bootstrap on small row sets, influence functions on large ones). The sections (``readiness.reports.golden.sections``)
turn this state into checks and tables; :class:`~readiness.reports.golden.benchmark.GoldenBenchmark`
puts them together for the notebook.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readiness.artifacts.loading import ModelAdapter, load_model
from readiness.artifacts.trust import ArtifactInfo, TrustPolicy
from readiness.config import ConfigError, check_metrics_for_task, section_settings
from readiness.data import read_table, sha256_file
from readiness.exceptions import InputError
from readiness.progress import ProgressLog
from readiness.stats.bootstrap import Interval
from readiness.stats.intervals import MetricIntervals, Statistic, estimate_intervals
from readiness.stats.metrics import METRICS, PRIMARY_METRIC, EvalData, Metric, metrics_for_task

MISSING_SEGMENT = "(missing)"
#: Predictions that differ by at most this are the same (floating-point summation order).
PREDICTION_TOLERANCE = 1e-9
#: Where the kernel's settings come from, as its error messages name it.
SETTINGS_SOURCE = "settings"


# --------------------------------------------------------------------------- task and contract


def detect_task(model: ModelAdapter, requested: str = "auto") -> tuple[str, str]:
    """Return the task and the reason for it.

    A model with ``classes_`` is a classifier: binary with two classes,
    multiclass with more. Anything else is a regression. An explicit request
    must agree with the model.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> X, y = np.arange(12.0).reshape(6, 2), np.array([0, 0, 1, 0, 1, 1])
    >>> detect_task(ModelAdapter(LogisticRegression().fit(X, y), "candidate"))
    ('binary', 'the model has classes_ with 2 classes → binary')
    >>> detect_task(ModelAdapter(LinearRegression().fit(X, y), "candidate"))
    ('regression', 'the model has no classes_ → regression')
    >>> detect_task(ModelAdapter(LogisticRegression().fit(X, y), "candidate"), "regression")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: task: 'regression' does not fit the model (the model has classes_ with 2 classes →
    binary); set task: auto or binary
    """
    classes = model.classes
    if classes is not None:
        inferred = "binary" if len(classes) == 2 else "multiclass"
        reason = f"the model has classes_ with {len(classes)} classes → {inferred}"
    else:
        inferred, reason = "regression", "the model has no classes_ → regression"
    if requested in ("auto", inferred):
        return inferred, reason if requested == "auto" else f"set in the config ({reason})"
    if requested == "regression" or inferred == "regression":
        raise InputError(f"task: {requested!r} does not fit the model ({reason}); set task: auto or {inferred}")
    return requested, f"set in the config ({reason})"


def feature_frame(frame: pd.DataFrame, model: ModelAdapter, target: str, source: str) -> tuple[pd.DataFrame, list[str]]:
    """The columns the model expects, in its order; raises naming any that are missing.

    Returns the feature frame and the golden columns the model does not use.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> X = pd.DataFrame({"age": [31, 45, 28, 52, 39, 60], "visits": [1, 4, 2, 6, 3, 5]})
    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> model = ModelAdapter(LogisticRegression().fit(X, y), "candidate")
    >>> golden = X.assign(region="north", churned=y)
    >>> features, unused = feature_frame(golden, model, "churned", "golden.csv")
    >>> list(features.columns), unused
    (['age', 'visits'], ['region'])
    >>> feature_frame(golden.drop(columns="visits"), model, "churned", "golden.csv")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: golden.csv: missing feature column(s) the candidate model expects: 'visits'; add
    them to the golden set
    """
    expected = model.feature_names
    if expected is None:
        columns = [c for c in frame.columns if c != target]
        if model.n_features is not None and len(columns) != model.n_features:
            raise InputError(
                f"{source}: the model expects {model.n_features} features (it was fitted without column names) "
                f"but the golden set has {len(columns)} columns besides {target!r}; give it exactly the training columns in order"
            )
        return frame[columns], []
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"{source}: missing feature column(s) the {model.name} model expects: {shown}; add them to the golden set")
    unused = [c for c in frame.columns if c not in expected and c != target]
    return frame[expected], unused


def encode_labels(y: pd.Series, classes: np.ndarray, source: str, target: str) -> np.ndarray:
    """Class indices (0..K-1) of the labels; raises naming labels the model does not know.

    Examples
    --------
    >>> classes = np.array(["churn", "stay"])
    >>> encode_labels(pd.Series(["stay", "churn", "stay"]), classes, "golden.csv", "status")
    array([1, 0, 1])
    >>> encode_labels(pd.Series(["stay", "left"]), classes, "golden.csv", "status")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: golden.csv: column 'status' has label(s) 'left' that the model does not predict
    (its classes: 'churn', 'stay'); fix the labels or the model
    """
    codes = pd.Index(list(classes)).get_indexer(pd.Series(y).to_numpy())
    unknown = pd.unique(pd.Series(y)[codes < 0])
    if len(unknown):
        shown = ", ".join(plain(v) for v in unknown[:5])
        raise InputError(
            f"{source}: column {target!r} has label(s) {shown} that the model does not predict "
            f"(its classes: {', '.join(plain(c) for c in list(classes)[:10])}); fix the labels or the model"
        )
    return codes.astype(np.int64)


# --------------------------------------------------------------------------- predictions


@dataclass
class ModelOutputs:
    """One model's outputs on every golden row: the metric inputs, the mean prediction and the per-row change score.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> X, y = pd.DataFrame({"age": [31, 45, 28, 52, 39, 60]}), np.array([0, 1, 0, 1, 0, 1])
    >>> outputs = model_outputs(ModelAdapter(LogisticRegression().fit(X, y), "candidate"), X, y, "binary", 0.5)
    >>> outputs.name, outputs.data.pred, outputs.mean_prediction.round(2)  # P(0) and P(1) on average
    ('candidate', array([0, 1, 0, 1, 0, 1]), array([0.5, 0.5]))
    >>> outputs.change_score.round(2)  # P(1) per row: what candidate and baseline are compared on
    array([0.  , 0.89, 0.  , 1.  , 0.11, 1.  ])
    """

    name: str
    data: EvalData
    mean_prediction: np.ndarray  # per class for classifiers (probabilities), scalar for regression
    change_score: np.ndarray  # the per-row number compared across models
    #: seconds of the one batch call on all golden rows the latency section reports (predict_proba, or
    #: predict for regressions); None when the outputs took several calls (no predict_proba)
    batch_seconds: float | None = None


def model_outputs(model: ModelAdapter, X: pd.DataFrame, y: np.ndarray, task: str, decision_threshold: float) -> ModelOutputs:
    """Score the golden rows once: labels, probabilities and scores for the metrics, the mean prediction, the
    per-row change score and the seconds of the batch call; a model that fails raises one line.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> X = pd.DataFrame({"age": [31, 45, 28, 52, 39, 60], "visits": [1, 4, 2, 6, 3, 5]})
    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> model = ModelAdapter(LogisticRegression().fit(X, y), "candidate")
    >>> outputs = model_outputs(model, X, y, "binary", decision_threshold=0.5)
    >>> outputs.data.pred, outputs.data.score.round(2)
    (array([0, 1, 0, 1, 0, 1]), array([0.  , 0.89, 0.  , 1.  , 0.11, 1.  ]))
    >>> model_outputs(model, X.assign(visits="many"), y, "binary", 0.5)
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: the candidate model failed to predict on the golden set (ValueError: ...); check
    the golden columns' types against the training data
    """
    try:
        started = time.perf_counter()
        if task == "regression":
            pred = model.predict(X).astype(np.float64).ravel()
            data = EvalData(task, y, pred)
            return ModelOutputs(model.name, data, np.array([pred.mean()]), pred, time.perf_counter() - started)
        proba = model.predict_proba(X) if model.has_proba else None
        seconds = time.perf_counter() - started if proba is not None else None
        if task == "binary":
            if proba is not None:
                score = proba[:, 1]
                pred = (score >= decision_threshold).astype(np.int64)
            else:
                score = model.decision_function(X).ravel() if model.has_decision_function else None
                pred = encode_labels(pd.Series(model.predict(X)), model.classes, model.name, "prediction")
            data = EvalData(task, y, pred, proba, score)
            mean = proba.mean(axis=0) if proba is not None else np.array([np.nan, pred.mean()])
            return ModelOutputs(model.name, data, mean, score if score is not None else pred.astype(float), seconds)
        pred = proba.argmax(axis=1) if proba is not None else encode_labels(
            pd.Series(model.predict(X)), model.classes, model.name, "prediction")
        data = EvalData(task, y, pred, proba)
        mean = proba.mean(axis=0) if proba is not None else np.bincount(pred, minlength=len(model.classes)) / len(pred)
        change = proba if proba is not None else np.eye(len(model.classes))[pred]
        return ModelOutputs(model.name, data, mean, change, seconds)
    except InputError:
        raise
    except Exception as exc:
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InputError(
            f"the {model.name} model failed to predict on the golden set ({type(exc).__name__}: {message}); "
            "check the golden columns' types against the training data"
        ) from None


def dummy_outputs(X: pd.DataFrame, y: np.ndarray, task: str, n_classes: int, decision_threshold: float) -> ModelOutputs:
    """scikit-learn's dummy model fitted on the golden labels: the floor any model must beat.

    Examples
    --------
    >>> X, y = pd.DataFrame({"age": [31, 45, 28, 52, 39, 60]}), np.array([0, 1, 0, 0, 0, 1])
    >>> dummy = dummy_outputs(X, y, "binary", n_classes=2, decision_threshold=0.5)
    >>> dummy.name, dummy.mean_prediction.round(3), dummy.data.pred  # the label shares, for every row
    ('dummy', array([0.667, 0.333]), array([0, 0, 0, 0, 0, 0]))
    >>> dummy_outputs(X, np.array([3.0, 5.0, 4.0, 6.0, 2.0, 4.0]), "regression", 0, 0.5).data.pred
    array([4., 4., 4., 4., 4., 4.])
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    no_features = np.zeros((len(y), 1))  # dummy models ignore X; they predict from the labels alone
    if task == "regression":
        dummy = DummyRegressor(strategy="mean").fit(no_features, y)
        pred = dummy.predict(no_features)
        return ModelOutputs("dummy", EvalData(task, y, pred), np.array([pred.mean()]), pred)
    dummy = DummyClassifier(strategy="prior").fit(no_features, y)
    proba = np.zeros((len(y), n_classes))
    proba[:, dummy.classes_] = dummy.predict_proba(no_features)
    if task == "binary":
        pred = (proba[:, 1] >= decision_threshold).astype(np.int64)
        data = EvalData(task, y, pred, proba, proba[:, 1])
    else:
        data = EvalData(task, y, proba.argmax(axis=1), proba)
    return ModelOutputs("dummy", data, proba.mean(axis=0), proba[:, -1])



# --------------------------------------------------------------------------- the core


class GoldenCore:
    """The golden set, the models and their scores: everything the sections read.

    Parameters mirror the notebook's parameters cell; ``settings`` is the
    ``golden_benchmark`` section of readiness.yaml, validated again here with the
    same messages as the CLI (a notebook can be run by hand).

    Attributes
    ----------
    task : str
        ``binary``, ``multiclass`` or ``regression`` (``task_reason`` says why).
    X, y : DataFrame, ndarray
        The features the model expects, in its order, and the labels (class indices
        for classifiers).
    candidate, reference, dummy : ModelOutputs
        Each model's predictions on every golden row (``reference`` is the baseline, or None).
    segments : list of (column, value, row indices)
        The segment values checked one by one.

    Examples
    --------
    >>> core = GoldenCore("model.skops", "golden.csv", target="churned")  # doctest: +SKIP
    >>> core.point("candidate", core.primary), core.interval(f"candidate:{core.primary.name}")  # doctest: +SKIP
    (0.871, Interval(low=0.862, high=0.88, valid_resamples=1000))
    """

    def __init__(
        self,
        model_path: str,
        golden_path: str,
        target: str,
        baseline_path: str = "",
        task: str = "auto",
        segments: list[str] | None = None,
        trust: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ):
        self.progress = ProgressLog()
        self.settings = section_settings("golden_benchmark", settings, SETTINGS_SOURCE)
        self.target = target
        self.segment_columns = list(segments or [])

        self.golden_path = Path(golden_path)
        self.frame = read_table(self.golden_path, "golden")
        source = str(self.golden_path)
        if target not in self.frame.columns:
            raise InputError(f"{source}: target column {target!r} not found; set 'target' to one of its columns")
        for column in self.segment_columns:
            if column not in self.frame.columns:
                raise InputError(f"{source}: segment column {column!r} not found; fix 'segments' in readiness.yaml")
        unlabeled = int(self.frame[target].isna().sum())
        if unlabeled:
            raise InputError(f"{source}: {unlabeled} row(s) have no value in target column {target!r}; the golden set must be fully labelled")

        self.progress.step(f"read the golden set ({len(self.frame):,} rows)")
        self.trust = TrustPolicy.from_mapping(trust)
        estimator, self.model_info = load_model(model_path, "model", self.trust)
        self.model = ModelAdapter(estimator, "candidate")
        self.manifest_findings = self._check_manifest(model_path)
        self.baseline: ModelAdapter | None = None
        self.baseline_info: ArtifactInfo | None = None
        if baseline_path:
            estimator, self.baseline_info = load_model(baseline_path, "baseline", self.trust)
            self.baseline = ModelAdapter(estimator, "baseline")

        self.task, self.task_reason = detect_task(self.model, task)
        try:  # task: auto is known only now; say what the CLI says when the task is set in the config
            check_metrics_for_task(self.settings.metrics, self.task)
        except ValueError as exc:
            raise ConfigError(f"{SETTINGS_SOURCE}: {exc}") from None
        self.X, self.unused_columns = feature_frame(self.frame, self.model, target, source)
        self.X_baseline = None
        if self.baseline is not None:
            self.X_baseline, _ = feature_frame(self.frame, self.baseline, target, source)
            if self.task != "regression":
                if self.baseline.classes is None or list(self.baseline.classes) != list(self.model.classes):
                    raise InputError(
                        f"the baseline's classes {None if self.baseline.classes is None else list(self.baseline.classes)} "
                        f"differ from the candidate's {list(self.model.classes)}; they must predict the same labels"
                    )

        y_raw = self.frame[target]
        if self.task == "regression":
            if not pd.api.types.is_numeric_dtype(y_raw):
                raise InputError(f"{source}: target column {target!r} is {y_raw.dtype}, not numeric, but the task is regression")
            self.y = y_raw.to_numpy(dtype=np.float64)
            self.classes = None
        else:
            self.classes = self.model.classes
            self.y = encode_labels(y_raw, self.classes, source, target)

        self.progress.step("loaded the model" + ("s" if self.baseline is not None else ""))
        threshold = self.settings.decision_threshold
        self.candidate = model_outputs(self.model, self.X, self.y, self.task, threshold)
        self.reference = None
        if self.baseline is not None:
            self.reference = model_outputs(self.baseline, self.X_baseline, self.y, self.task, threshold)
        n_classes = 0 if self.classes is None else len(self.classes)
        self.dummy = dummy_outputs(self.X, self.y, self.task, n_classes, threshold)
        self.progress.step("scored the golden rows")

        self.metrics = [m for m in metrics_for_task(self.task)]
        self.thresholds = self.settings.thresholds_for(self.task)
        self.primary = METRICS[PRIMARY_METRIC[self.task]]
        self.segments = self._segment_index()
        self.golden_sha256 = sha256_file(self.golden_path)
        self._points: dict[tuple[str, str, int | None], float] = {}
        self._intervals = self._estimate_intervals()

    def _check_manifest(self, model_path: str):
        from readiness.artifacts.manifest import compare_manifest, manifest_path, read_manifest

        if self.model_info.format == "loader" or Path(model_path).is_dir():
            return None
        manifest = read_manifest(model_path)
        if manifest is None:
            return None
        findings = compare_manifest(manifest, self.model_info.sha256, self.model.feature_names)
        errors = [f for f in findings if f["status"] == "error"]
        if errors:
            raise InputError(f"{model_path}: {errors[0]['message']} ({manifest_path(model_path).name})")
        return findings

    # ---------------------------------------------------------------- intervals

    def available(self, metric: Metric, outputs: ModelOutputs | None) -> str | None:
        """Why ``metric`` cannot be computed from ``outputs`` (None when it can)."""
        if outputs is None:
            return "no baseline model"
        return metric.available(outputs.data)

    @property
    def gated_metrics(self) -> list[Metric]:
        """Metrics with a threshold, else the primary metric: these are checked per segment."""
        named = [METRICS[n] for n in self.thresholds if not self.thresholds[n].is_empty()]
        return named or [self.primary]

    def _segment_index(self) -> list[tuple[str, str, np.ndarray]]:
        """(column, value label, row indices) for every segment value kept for checking."""
        out = []
        for column in self.segment_columns:
            # factorize first: the text labels are made per distinct value, not per row
            codes, uniques = pd.factorize(self.frame[column], use_na_sentinel=True)
            texts = pd.Series(uniques).astype("string").to_numpy(dtype=object)
            texts = np.append(texts, MISSING_SEGMENT)  # code -1 (missing) reads the last entry
            values, label_of_code = np.unique(texts.astype(str), return_inverse=True)
            labels = label_of_code.reshape(-1)[codes]  # distinct raw values may share a text ("1" and 1)
            counts = np.bincount(labels, minlength=len(values))
            present = np.flatnonzero(counts)
            order = present[np.argsort(-counts[present], kind="stable")][: self.settings.max_segment_values]
            for k in sorted(order, key=lambda k: str(values[k])):
                out.append((column, str(values[k]), np.flatnonzero(labels == k)))
        return out

    def _estimate_intervals(self) -> MetricIntervals:
        """Sampling intervals of every metric of every model, whole set and gated segments
        (readiness.stats.intervals: paired bootstrap on small row sets, influence functions on large)."""
        statistics = []
        models = {"candidate": self.candidate, "baseline": self.reference, "dummy": self.dummy}
        for metric in self.metrics:
            for role, outputs in models.items():
                if self.available(metric, outputs) is None:
                    statistics.append(Statistic(f"{role}:{metric.name}", metric, outputs.data))
        for column, value, index in self.segments:
            if len(index) < self.settings.min_segment_rows:
                continue
            for metric in self.gated_metrics:
                for role, outputs in (("candidate", self.candidate), ("baseline", self.reference)):
                    if self.available(metric, outputs) is None:
                        statistics.append(Statistic(f"{role}:{metric.name}[{column}={value}]", metric, outputs.data,
                                                    index, group=f"{column}={value}"))
        found = estimate_intervals(len(self.y), statistics, self.settings.n_bootstrap, self.settings.seed,
                                   self.settings.confidence, self.settings.ci_method, progress=self.progress.step)
        # the analytic estimator computed each point estimate on the way: reuse them (same formula)
        for statistic in statistics:
            value = found.value(statistic.key)
            if value is not None:
                role = statistic.key.split(":", 1)[0]
                rows = None if statistic.rows is None else id(statistic.rows)
                self._points[(role, statistic.metric.name, rows)] = value
        return found

    def point(self, role: str, metric: Metric, index: np.ndarray | None = None) -> float:
        """``metric`` of one model (``candidate``, ``baseline``, ``dummy``) on all rows or ``index``; NaN if unavailable."""
        # sections, checks and figures ask for the same values again: compute each once
        # (the segment indices live as long as the benchmark, so their ids are stable keys)
        key = (role, metric.name, None if index is None else id(index))
        if key not in self._points:
            self._points[key] = self._compute_point(role, metric, index)
        return self._points[key]

    def _compute_point(self, role: str, metric: Metric, index: np.ndarray | None) -> float:
        outputs = {"candidate": self.candidate, "baseline": self.reference, "dummy": self.dummy}[role]
        if outputs is None or self.available(metric, outputs) is not None:
            return float("nan")
        data = outputs.data if index is None else outputs.data.subset(index)
        return float(metric(np.ones(len(data.y)), data)[0])

    def interval(self, key: str) -> Interval | None:
        """Sampling interval of a statistic (``candidate:roc_auc``, ``baseline:rmse[region=north]``)."""
        return self._intervals.interval(key)

    def delta_interval(self, metric: Metric, suffix: str = "", other: str = "baseline") -> Interval | None:
        """Paired interval of candidate − ``other`` on the same rows."""
        return self._intervals.difference(f"candidate:{metric.name}{suffix}", f"{other}:{metric.name}{suffix}")

    def interval_method(self) -> str:
        """How the intervals were estimated, for the metrics section's note."""
        return self._intervals.describe(self.settings.seed)

    def undefined_reason(self, metric: Metric, index: np.ndarray | None = None) -> str | None:
        """Why a metric cannot be computed on these golden rows (None when it can)."""
        y = self.y if index is None else self.y[index]
        where = "the golden set" if index is None else "this segment"
        if self.task != "regression" and metric.needs == "score" and (len(y) == 0 or y.min() == y.max()):
            only = self.classes[int(y[0])] if len(y) else "none"
            return (f"only one class ({plain(only)}) among the {len(y):,} rows of {where}: {metric.title} needs both "
                    "positives and negatives, so it is undefined here")
        if self.task == "regression" and metric.name == "r2" and len(y) and np.ptp(y) == 0:
            return f"the target is constant on the {len(y):,} rows of {where}: R² is undefined"
        if self.available(metric, self.candidate) is None and not np.isfinite(self.point("candidate", metric, index)):
            return f"{metric.title} is undefined on the {len(y):,} rows of {where}"
        return None

    def label_mean(self) -> np.ndarray:
        """The observed label mean (per class: the label shares)."""
        if self.task == "regression":
            return np.array([self.y.mean()])
        return np.bincount(self.y, minlength=len(self.classes)) / len(self.y)


def plain(value) -> str:
    """repr of a label without numpy's type wrapper: 7, 'yes'.

    Examples
    --------
    >>> plain(np.int64(7)), plain("yes")
    ('7', "'yes'")
    """
    return repr(value.item() if isinstance(value, np.generic) else value)
