"""The golden benchmark's core: inputs loaded and checked, every model scored once, bootstrap state.

:class:`GoldenCore` reads the golden set, loads the candidate (and baseline), works
out the task, scores each model and a scikit-learn dummy model once, and draws the
bootstrap resamples every section reads. The sections (``readiness.reports.golden.sections``)
turn this state into checks and tables; :class:`~readiness.reports.golden.benchmark.GoldenBenchmark`
puts them together for the notebook.
"""

from __future__ import annotations

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
from readiness.stats.bootstrap import Interval, bootstrap, percentile_interval
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
    """Class indices (0..K-1) of the labels; raises naming labels the model does not know."""
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
    name: str
    data: EvalData
    mean_prediction: np.ndarray  # per class for classifiers (probabilities), scalar for regression
    change_score: np.ndarray  # the per-row number compared across models


def model_outputs(model: ModelAdapter, X: pd.DataFrame, y: np.ndarray, task: str, decision_threshold: float) -> ModelOutputs:
    try:
        if task == "regression":
            pred = model.predict(X).astype(np.float64).ravel()
            data = EvalData(task, y, pred)
            return ModelOutputs(model.name, data, np.array([pred.mean()]), pred)
        proba = model.predict_proba(X) if model.has_proba else None
        if task == "binary":
            if proba is not None:
                score = proba[:, 1]
                pred = (score >= decision_threshold).astype(np.int64)
            else:
                score = model.decision_function(X).ravel() if model.has_decision_function else None
                pred = encode_labels(pd.Series(model.predict(X)), model.classes, model.name, "prediction")
            data = EvalData(task, y, pred, proba, score)
            mean = proba.mean(axis=0) if proba is not None else np.array([np.nan, pred.mean()])
            return ModelOutputs(model.name, data, mean, score if score is not None else pred.astype(float))
        pred = proba.argmax(axis=1) if proba is not None else encode_labels(
            pd.Series(model.predict(X)), model.classes, model.name, "prediction")
        data = EvalData(task, y, pred, proba)
        mean = proba.mean(axis=0) if proba is not None else np.bincount(pred, minlength=len(model.classes)) / len(pred)
        change = proba if proba is not None else np.eye(len(model.classes))[pred]
        return ModelOutputs(model.name, data, mean, change)
    except InputError:
        raise
    except Exception as exc:
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InputError(
            f"the {model.name} model failed to predict on the golden set ({type(exc).__name__}: {message}); "
            "check the golden columns' types against the training data"
        ) from None


def dummy_outputs(X: pd.DataFrame, y: np.ndarray, task: str, n_classes: int, decision_threshold: float) -> ModelOutputs:
    """scikit-learn's dummy model fitted on the golden labels: the floor any model must beat."""
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

        threshold = self.settings.decision_threshold
        self.candidate = model_outputs(self.model, self.X, self.y, self.task, threshold)
        self.reference = None
        if self.baseline is not None:
            self.reference = model_outputs(self.baseline, self.X_baseline, self.y, self.task, threshold)
        n_classes = 0 if self.classes is None else len(self.classes)
        self.dummy = dummy_outputs(self.X, self.y, self.task, n_classes, threshold)

        self.metrics = [m for m in metrics_for_task(self.task)]
        self.thresholds = self.settings.thresholds_for(self.task)
        self.primary = METRICS[PRIMARY_METRIC[self.task]]
        self.segments = self._segment_index()
        self.golden_sha256 = sha256_file(self.golden_path)
        self._samples = self._bootstrap()

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

    # ---------------------------------------------------------------- bootstrap

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
            labels = self.frame[column].astype("string").fillna(MISSING_SEGMENT).to_numpy(dtype=object)
            values, counts = np.unique(labels, return_counts=True)
            keep = values[np.argsort(-counts, kind="stable")][: self.settings.max_segment_values]
            for value in sorted(keep, key=str):
                out.append((column, str(value), np.flatnonzero(labels == value)))
        return out

    def _bootstrap(self) -> dict[str, np.ndarray]:
        statistics = {}
        models = {"candidate": self.candidate, "baseline": self.reference, "dummy": self.dummy}
        for metric in self.metrics:
            for role, outputs in models.items():
                if self.available(metric, outputs) is None:
                    statistics[f"{role}:{metric.name}"] = (lambda w, m=metric, d=outputs.data: m(w, d))
        for column, value, index in self.segments:
            if len(index) < self.settings.min_segment_rows:
                continue
            for metric in self.gated_metrics:
                for role, outputs in (("candidate", self.candidate), ("baseline", self.reference)):
                    if self.available(metric, outputs) is None:
                        sub = outputs.data.subset(index)
                        statistics[f"{role}:{metric.name}[{column}={value}]"] = (
                            lambda w, m=metric, d=sub, i=index: m(w[:, i], d))
        return bootstrap(len(self.y), statistics, self.settings.n_bootstrap, self.settings.seed)

    def point(self, role: str, metric: Metric, index: np.ndarray | None = None) -> float:
        """``metric`` of one model (``candidate``, ``baseline``, ``dummy``) on all rows or ``index``; NaN if unavailable."""
        outputs = {"candidate": self.candidate, "baseline": self.reference, "dummy": self.dummy}[role]
        if outputs is None or self.available(metric, outputs) is not None:
            return float("nan")
        data = outputs.data if index is None else outputs.data.subset(index)
        return float(metric(np.ones(len(data.y)), data)[0])

    def interval(self, key: str) -> Interval | None:
        """Bootstrap interval of a statistic (``candidate:roc_auc``, ``baseline:rmse[region=north]``)."""
        samples = self._samples.get(key)
        return None if samples is None else percentile_interval(samples, self.settings.confidence)

    def delta_interval(self, metric: Metric, suffix: str = "", other: str = "baseline") -> Interval | None:
        """Paired bootstrap interval of candidate − ``other`` on the same resampled rows."""
        a = self._samples.get(f"candidate:{metric.name}{suffix}")
        b = self._samples.get(f"{other}:{metric.name}{suffix}")
        if a is None or b is None:
            return None
        return percentile_interval(a - b, self.settings.confidence)

    def undefined_reason(self, metric: Metric, index: np.ndarray | None = None) -> str | None:
        """Why a metric cannot be computed on these golden rows (None when it can)."""
        y = self.y if index is None else self.y[index]
        where = "the golden set" if index is None else "this segment"
        if self.task != "regression" and metric.needs == "score" and len(np.unique(y)) < 2:
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
