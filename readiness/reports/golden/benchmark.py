"""Golden benchmark: the candidate on a fixed labelled dataset, against the baseline.

The notebook ``golden_benchmark.ipynb`` creates one :class:`GoldenBenchmark` and
calls one method per section; each returns a :class:`~readiness.display.Section`
(checks, tables, figures) that renders itself in the notebook. ``finish``
writes the results JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readiness.figures import common as plots
from readiness.artifacts.trust import ArtifactInfo, TrustPolicy
from readiness.artifacts.loading import ModelAdapter, load_model
from readiness.stats.bootstrap import Interval, bootstrap, percentile_interval
from readiness.config import ConfigError, GoldenBenchmarkConfig, MetricThreshold
from readiness.data import read_table, sha256_file
from readiness.display import Section, frame_html
from readiness.exceptions import InputError
from readiness.stats.gates import absolute_decision, allowed_margin, change_decision, fmt, fmt_ci
from readiness.stats.metrics import METRICS, PRIMARY_METRIC, EvalData, Metric, metrics_for_task, perfect_value
from readiness.results import Check, RecordsChecks, now_iso, report_document, write_json

REPORT = "golden_benchmark"
MISSING_SEGMENT = "(missing)"
#: Predictions that differ by at most this are the same (floating-point summation order).
PREDICTION_TOLERANCE = 1e-9


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
        shown = ", ".join(_plain(v) for v in unknown[:5])
        raise InputError(
            f"{source}: column {target!r} has label(s) {shown} that the model does not predict "
            f"(its classes: {', '.join(_plain(c) for c in list(classes)[:10])}); fix the labels or the model"
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


# --------------------------------------------------------------------------- the benchmark


class GoldenBenchmark(RecordsChecks):
    """Loads the inputs, scores every model once, and builds each report section.

    Parameters mirror the notebook's parameters cell; ``settings`` is the
    ``golden_benchmark`` section of readiness.yaml.
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
        self.started_at = now_iso()
        self._clock = time.perf_counter()
        try:
            self.settings = GoldenBenchmarkConfig.model_validate(settings or {})
        except Exception as exc:
            raise ConfigError(f"golden_benchmark settings: {str(exc).splitlines()[-1].strip()}") from None
        self.target = target
        self.segment_columns = list(segments or [])
        self._sections: dict[str, list[Check]] = {}

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
        for name in self.thresholds:
            if self.task not in METRICS[name].tasks:
                raise ConfigError(
                    f"golden_benchmark.metrics.{name}: {METRICS[name].title} does not apply to a {self.task} task; "
                    f"use one of {', '.join(m.name for m in self.metrics)}"
                )
        self.primary = METRICS[PRIMARY_METRIC[self.task]]
        self.segments = self._segment_index()
        self.golden_sha256 = sha256_file(self.golden_path)
        self._samples = self._bootstrap()

    # ---------------------------------------------------------------- bootstrap

    def available(self, metric: Metric, outputs: ModelOutputs | None) -> str | None:
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
        outputs = {"candidate": self.candidate, "baseline": self.reference, "dummy": self.dummy}[role]
        if outputs is None or self.available(metric, outputs) is not None:
            return float("nan")
        data = outputs.data if index is None else outputs.data.subset(index)
        return float(metric(np.ones(len(data.y)), data)[0])

    def interval(self, key: str) -> Interval | None:
        samples = self._samples.get(key)
        return None if samples is None else percentile_interval(samples, self.settings.confidence)

    def delta_interval(self, metric: Metric, suffix: str = "", other: str = "baseline") -> Interval | None:
        a = self._samples.get(f"candidate:{metric.name}{suffix}")
        b = self._samples.get(f"{other}:{metric.name}{suffix}")
        if a is None or b is None:
            return None
        return percentile_interval(a - b, self.settings.confidence)

    # ---------------------------------------------------------------- sections

    def inputs_section(self) -> Section:
        rows = [
            ("Candidate model", self.model_info.path, f"{self.model_info.format}, {self.model_info.size_bytes:,} bytes, sha256 {self.model_info.sha256[:16]}…"),
            ("Baseline model", self.baseline_info.path if self.baseline_info else "none",
             f"{self.baseline_info.format}, sha256 {self.baseline_info.sha256[:16]}…" if self.baseline_info else "change checks are skipped"),
            ("Golden dataset", str(self.golden_path), f"{len(self.frame):,} rows, {self.frame.shape[1]} columns, sha256 {self.golden_sha256[:16]}…"),
            ("Target", self.target, self._target_summary()),
            ("Task", self.task, self.task_reason),
            ("Features", f"{self.X.shape[1]} used by the model",
             "unused golden columns: " + (", ".join(self.unused_columns[:20]) if self.unused_columns else "none")),
            ("Segments", ", ".join(self.segment_columns) or "none", f"{len(self.segments)} segment values checked"),
        ]
        table = pd.DataFrame(rows, columns=["Input", "Value", "Details"])
        return Section("Inputs", tables=[frame_html(table)])

    def _target_summary(self) -> str:
        if self.task == "regression":
            return f"mean {fmt(self.y.mean())}, std {fmt(self.y.std())}, range {fmt(self.y.min())} to {fmt(self.y.max())}"
        counts = np.bincount(self.y, minlength=len(self.classes))
        return ", ".join(f"{c!s}: {n:,}" for c, n in zip(self.classes, counts))

    def metrics_section(self) -> Section:
        checks, rows = [], []
        level = f"{self.settings.confidence:.0%}"
        for metric in self.metrics:
            reason = self.available(metric, self.candidate)
            threshold = self.thresholds.get(metric.name, MetricThreshold())
            if reason is not None:
                if metric.name in self.thresholds:
                    checks.append(Check(f"golden.metric.{metric.name}", metric.title, "skip", reason))
                rows.append({"metric": metric.title, "candidate": reason})
                continue
            undefined = self._undefined_reason(metric)
            if undefined is not None:
                if metric.name in self.thresholds:
                    checks.append(Check(f"golden.metric.{metric.name}", metric.title, "skip", undefined))
                rows.append({"metric": metric.title, "candidate": undefined})
                continue
            value = self.point("candidate", metric)
            ci = self.interval(f"candidate:{metric.name}")
            base = self.point("baseline", metric)
            delta = self.delta_interval(metric)
            dummy = self.point("dummy", metric)
            gain = _normalised_gain(metric, value, dummy)
            rows.append({
                "metric": metric.title, "candidate": fmt(value), f"{level} CI": fmt_ci(ci).removeprefix("CI "),
                "baseline": fmt(base), "Δ vs baseline": fmt(value - base),
                f"Δ {level} CI": fmt_ci(delta).removeprefix("CI ") if delta else "–",
                "dummy": fmt(dummy), "gain over dummy": fmt(gain), "higher is better": "yes" if metric.higher_is_better else "no",
            })
            decision = absolute_decision(metric, value, ci, threshold)
            if decision is not None:
                checks.append(Check(f"golden.metric.{metric.name}", metric.title, decision.status, decision.message,
                                    severity="critical", value=value, ci=ci.as_list() if ci else None, threshold=decision.threshold))
            else:
                checks.append(Check(f"golden.metric.{metric.name}", metric.title, "pass",
                                    f"{metric.title} {fmt(value)} ({level} {fmt_ci(ci)}); reported, no absolute threshold set",
                                    severity="info", value=value, ci=ci.as_list() if ci else None))
            checks.extend(self._change_checks(metric, threshold, value, base, delta))
        checks.append(self._dummy_check())
        checks.append(self._leakage_check())
        table = pd.DataFrame(rows)
        note = (f"Point estimates on all {len(self.y):,} golden rows; {level} CIs from {self.settings.n_bootstrap:,} "
                f"bootstrap resamples (seed {self.settings.seed}); Δ CIs are paired on the same rows. "
                "Gain over dummy = (model − dummy) / (perfect − dummy).")
        return Section("Metrics", checks=self._record("metrics", checks), tables=[frame_html(table)], note=note)

    def _change_checks(self, metric, threshold, value, base, delta, suffix="", segment_label="") -> list[Check]:
        check_id = f"golden.change.{metric.name}" if not suffix else f"golden.segment.{metric.name}{suffix}"
        title = f"{metric.title} vs baseline" + (f" [{segment_label}]" if segment_label else "")
        has_gate = (allowed_margin(threshold, 1.0) is not None or threshold.max_improvement is not None
                    or threshold.max_relative_improvement is not None)
        if not has_gate:
            return []
        if self.reference is None:
            return [Check(check_id, title, "skip", "no baseline model configured; change gates apply only when one is given",
                          severity="critical")]
        if delta is None:
            return [Check(check_id, title, "skip", f"{metric.title} unavailable for the baseline: {self.available(metric, self.reference)}")]
        decision = change_decision(metric, value, base, delta, threshold, self.settings.confidence)
        return [Check(check_id, title, decision.status, decision.message, severity="critical", value=value - base,
                      ci=delta.as_list(), threshold=decision.threshold,
                      details={"candidate": value, "baseline": base})]

    def _dummy_check(self) -> Check:
        metric = self.primary
        value, dummy = self.point("candidate", metric), self.point("dummy", metric)
        delta = self.delta_interval(metric, other="dummy")
        gain = _normalised_gain(metric, value, dummy)
        check_id = f"golden.dummy.{metric.name}"
        title = f"Better than a dummy model ({metric.title})"
        if delta is None:
            return Check(check_id, title, "skip", f"{metric.title} unavailable: {self.available(metric, self.candidate)}")
        better = delta.low > 0 if metric.higher_is_better else delta.high < 0
        worse_or_equal = delta.high <= 0 if metric.higher_is_better else delta.low >= 0
        text = (f"candidate {fmt(value)} vs dummy {fmt(dummy)} (scikit-learn Dummy, fitted on the golden labels): "
                f"normalised gain {fmt(gain)}")
        if better:
            return Check(check_id, title, "pass", text, severity="critical", value=gain, details={"dummy": dummy})
        if worse_or_equal:
            return Check(check_id, title, "fail", text + "; a constant prediction does as well", severity="critical",
                         value=gain, details={"dummy": dummy})
        return Check(check_id, title, "warn", text + "; not clearly better than a constant prediction", severity="critical",
                     value=gain, details={"dummy": dummy})

    def _leakage_check(self) -> Check:
        """Too good to be true: a single feature that predicts the label almost perfectly on its own.

        Each feature is cut into at most 20 quantile bins (text: its categories), and the label
        is predicted from the bin alone, learned on one half of the golden rows and scored on the
        other (and the other way round), so an id column cannot memorise rows. The score is the
        share of what a constant prediction leaves unexplained that the feature explains:
        accuracy gain for classifiers, R² for regressions (0 = useless, 1 = the label itself).
        """
        limit = self.settings.leakage_threshold
        title = "No single feature gives the label away"
        if limit is None:
            return Check("golden.leakage", title, "skip", "disabled (golden_benchmark.leakage_threshold: null)")
        scores = {str(c): _single_feature_power(self.X[c], self.y, self.task, self.settings.seed) for c in self.X.columns}
        scores = {c: v for c, v in scores.items() if np.isfinite(v)}
        if not scores:
            return Check("golden.leakage", title, "skip", "no feature could be scored")
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        top = ", ".join(f"{c} {fmt(v)}" for c, v in ranked[:3])
        leaks = [c for c, v in ranked if v >= limit]
        details = {"scores": dict(ranked[:20])}
        if leaks:
            return Check("golden.leakage", title, "fail",
                         f"{', '.join(leaks[:5])} alone predict{'s' if len(leaks) == 1 else ''} the label on held-out golden "
                         f"rows with a score of {fmt(scores[leaks[0]])} (≥ leakage_threshold {fmt(limit)}; 1 = the label "
                         "itself): too good to be true; check that the feature is known before the label is",
                         severity="critical", value=scores[leaks[0]], threshold={"max": limit}, details=details)
        return Check("golden.leakage", title, "pass",
                     f"the most predictive single features: {top} (share of the label explained on held-out golden "
                     f"rows; fails at {fmt(limit)})", severity="info", value=ranked[0][1], threshold={"max": limit},
                     details=details)

    def performance_figure(self):
        return plots.performance_figure(self)

    # ---------------------------------------------------------------- consistency

    def consistency_section(self) -> Section:
        settings = self.settings.consistency
        low, high = settings.mean_prediction_ratio
        checks: list[Check] = []
        tables: list[str] = []
        label_mean = self._label_mean()
        label_interval = self._label_mean_interval()
        checks.append(self._ratio_check(
            "golden.consistency.prediction_bias", "Candidate mean prediction vs observed label mean",
            self.candidate.mean_prediction, label_mean, "the observed label mean", (low, high), "critical",
            label_interval))
        if self.reference is None:
            checks.append(Check("golden.consistency.mean_prediction_ratio", "Mean prediction: candidate / baseline", "skip",
                                "no baseline model configured", severity="critical"))
            return Section("Release consistency", checks=self._record("consistency", checks),
                           note="Comparisons with the production model need a baseline.")
        checks.append(self._ratio_check(
            "golden.consistency.mean_prediction_ratio", "Mean prediction: candidate / baseline",
            self.candidate.mean_prediction, self.reference.mean_prediction, "the baseline's", (low, high), "critical"))
        checks.append(self._ratio_check(
            "golden.consistency.prediction_bias.baseline", "Baseline mean prediction vs observed label mean",
            self.reference.mean_prediction, label_mean, "the observed label mean", (low, high), "info", label_interval))
        if self.task != "regression":
            checks.extend(self._flip_checks())
        change = np.abs(np.asarray(self.candidate.change_score, float) - np.asarray(self.reference.change_score, float))
        if change.ndim == 2:
            change = change.max(axis=1)
        q50, q95, qmax = np.quantile(change, [0.5, 0.95, 1.0])
        unit = "probability" if self.task != "regression" else "target units"
        checks.append(Check("golden.consistency.score_change", "Per-row |Δ score| (candidate vs baseline)", "pass",
                            f"|Δ score| p50 {fmt(q50)}, p95 {fmt(q95)}, max {fmt(qmax)} ({unit})", severity="info",
                            value=float(q95), details={"p50": q50, "p95": q95, "max": qmax}))
        summary = pd.DataFrame([
            {"quantity": "mean prediction", "candidate": _fmt_vec(self.candidate.mean_prediction, self.task),
             "baseline": _fmt_vec(self.reference.mean_prediction, self.task), "observed labels": _fmt_vec(label_mean, self.task)},
        ])
        tables.append(frame_html(summary))
        top = settings.top_changed_rows
        if top:
            order = np.argsort(-change, kind="stable")[:top]
            shown = self.frame.iloc[order]
            columns = list(dict.fromkeys(self.segment_columns + [self.target] + list(self.X.columns)[:6]))
            listing = shown[columns].copy()
            listing.insert(0, "row", order)
            listing["candidate"] = _row_scores(self.candidate, order)
            listing["baseline"] = _row_scores(self.reference, order)
            listing["|Δ|"] = np.round(change[order], 4)
            tables.append("<h4>Most-changed rows</h4>" + frame_html(listing))
        note = ("A model whose mean prediction moves far from production or from the observed labels changes every "
                f"downstream baseline, even when ranking metrics look fine. Allowed ratio: [{fmt(low)}, {fmt(high)}].")
        return Section("Release consistency", checks=self._record("consistency", checks), tables=tables, note=note)

    def _label_mean(self) -> np.ndarray:
        if self.task == "regression":
            return np.array([self.y.mean()])
        return np.bincount(self.y, minlength=len(self.classes)) / len(self.y)

    def _label_mean_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """99% interval of the observed label mean (per class: Wilson): the golden set's own sampling
        noise, which a rare class or a small set makes wide."""
        z, n = 2.5758, len(self.y)
        if self.task == "regression":
            half = z * float(np.std(self.y, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
            return np.array([self.y.mean() - half]), np.array([self.y.mean() + half])
        p = np.bincount(self.y, minlength=len(self.classes)) / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n * n)) / (1 + z**2 / n)
        return centre - half, centre + half

    def _ratio_check(self, check_id, title, numerator, denominator, what, bounds, severity, interval=None) -> Check:
        """Mean prediction over a reference mean within [low, high]. With ``interval`` (the reference
        mean's sampling interval) the bounds widen by it: low × its lower end to high × its upper end."""
        low, high = bounds
        numerator = np.asarray(numerator, float)
        denominator = np.asarray(denominator, float)
        lower = upper = None
        if interval is not None:
            lower, upper = (np.asarray(v, float) for v in interval)
        if self.task == "binary":
            numerator, denominator = numerator[1:], denominator[1:]
            if interval is not None:
                lower, upper = lower[1:], upper[1:]
        labels = ["mean"] if self.task != "multiclass" else [str(c) for c in self.classes]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = numerator / denominator
        threshold = {"min": low, "max": high}
        if not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
            bad = [labels[i] for i in range(len(ratios)) if not np.isfinite(ratios[i]) or ratios[i] <= 0]
            status = "fail" if severity != "info" else "pass"
            return Check(check_id, title, status,
                         f"ratio undefined or negative for {', '.join(bad)}: candidate {_fmt_vec(numerator, 'x')} vs "
                         f"{what} {_fmt_vec(denominator, 'x')}; the mean prediction changed sign or the reference is 0",
                         severity=severity, threshold=threshold)
        if lower is not None:
            # how far outside the (noise-widened) band each class is, on the log scale
            outside = np.maximum(np.log(np.maximum(low * lower, 1e-300) / numerator), np.log(numerator / (high * upper)))
            worst = int(np.argmax(outside))
            within = bool(np.all(outside <= 0))
        else:
            worst = int(np.argmax(np.abs(np.log(ratios))))
            within = bool(low <= ratios[worst] <= high)
        ratio = float(ratios[worst])
        which = "" if len(ratios) == 1 else f" (class {labels[worst]})"
        text = (f"mean prediction{which} {fmt(numerator[worst])} vs {what} {fmt(denominator[worst])}: ratio ×{fmt(ratio)}")
        noise = ""
        if lower is not None:
            noise = (f" (the label mean's 99% interval on {len(self.y):,} rows is {fmt(lower[worst])} to "
                     f"{fmt(upper[worst])}, so the band is {fmt(low * lower[worst])} to {fmt(high * upper[worst])})")
        if within:
            return Check(check_id, title, "pass", f"{text}, within [{fmt(low)}, {fmt(high)}]{noise}", severity=severity,
                         value=ratio, threshold=threshold)
        factor = ratio if ratio >= 1 else 1 / ratio
        direction = "higher" if ratio > 1 else "lower"
        text = (f"{text}: predictions are {fmt(factor, 3)}× {direction} on average, outside [{fmt(low)}, {fmt(high)}]"
                f"{noise}. Mean prediction shift: a silent failure nothing else raises")
        return Check(check_id, title, "fail" if severity != "info" else "pass", text, severity=severity,
                     value=ratio, threshold=threshold)

    def _flip_checks(self) -> list[Check]:
        settings = self.settings.consistency
        cand, base, y = self.candidate.data.pred, self.reference.data.pred, self.y
        flips = cand != base
        negative = (base == y) & (cand != y)
        positive = (base != y) & (cand == y)
        n = len(y)
        rates = {"flip_rate": flips.mean(), "negative_flip_rate": negative.mean(), "positive_flip_rate": positive.mean()}
        detail = (f"{int(flips.sum()):,} of {n:,} rows change class ({fmt(rates['flip_rate'])}): "
                  f"{int(negative.sum()):,} right before and wrong now (negative flips), "
                  f"{int(positive.sum()):,} wrong before and right now")
        out = []
        for key, limit, title in (("flip_rate", settings.max_flip_rate, "Flip rate vs baseline"),
                                  ("negative_flip_rate", settings.max_negative_flip_rate, "Negative flip rate vs baseline")):
            value = float(rates[key])
            if limit is None:
                out.append(Check(f"golden.consistency.{key}", title, "pass", f"{detail}; reported, no limit set",
                                 severity="info", value=value, details={k: float(v) for k, v in rates.items()}))
            else:
                status = "pass" if value <= limit else "fail"
                relation = "≤" if status == "pass" else ">"
                out.append(Check(f"golden.consistency.{key}", title, status,
                                 f"{key.replace('_', ' ')} {fmt(value)} {relation} limit {fmt(limit)}; {detail}",
                                 severity="major", value=value, threshold={"max": limit}))
        return out

    def scores_figure(self):
        return plots.scores_figure(self) if self.reference is not None else None

    # ---------------------------------------------------------------- segments

    def segments_section(self) -> Section:
        checks: list[Check] = []
        rows = []
        min_rows = self.settings.min_segment_rows
        for column, value, index in self.segments:
            label = f"{column}={value}"
            for metric in self.gated_metrics:
                check_id = f"golden.segment.{metric.name}[{label}]"
                title = f"{metric.title} [{label}]"
                if len(index) < min_rows:
                    checks.append(Check(check_id, title, "skip",
                                        f"only {len(index):,} golden rows (< min_segment_rows {min_rows}); too few to judge",
                                        details={"rows": len(index)}))
                    rows.append({"segment": label, "rows": len(index), "metric": metric.title, "bounds": "skip",
                                 "change": "skip"})
                    continue
                suffix = f"[{label}]"
                undefined = self._undefined_reason(metric, index)
                if undefined is not None:
                    checks.append(Check(check_id, title, "skip", undefined, details={"rows": len(index)}))
                    rows.append({"segment": label, "rows": len(index), "metric": metric.title, "bounds": "skip",
                                 "change": "skip"})
                    continue
                value_c = self.point("candidate", metric, index)
                value_b = self.point("baseline", metric, index)
                threshold = self.thresholds.get(metric.name, MetricThreshold())
                ci = self.interval(f"candidate:{metric.name}{suffix}")
                delta = self.delta_interval(metric, suffix)
                found = []
                absolute = absolute_decision(metric, value_c, ci, threshold)
                if absolute is not None:
                    found.append(Check(f"golden.segment.{metric.name}.bounds[{label}]", title, absolute.status, absolute.message, severity="critical",
                                       value=value_c, ci=ci.as_list() if ci else None, threshold=absolute.threshold,
                                       details={"rows": len(index)}))
                found.extend(self._change_checks(metric, threshold, value_c, value_b, delta, suffix, label))
                if not found:
                    found.append(Check(check_id, title, "pass",
                                       f"{metric.title} {fmt(value_c)} ({fmt_ci(ci)}) on {len(index):,} rows; no threshold set",
                                       severity="info", value=value_c, ci=ci.as_list() if ci else None))
                for check in found:
                    check.details["rows"] = len(index)
                checks.extend(found)
                # each gate's own status beside the numbers it judged (bounds: candidate; change: Δ)
                bounds = [c.status for c in found if ".bounds[" in c.id]
                change = [c.status for c in found if c.id.startswith("golden.segment.") and ".bounds[" not in c.id
                          and c.severity != "info"]
                rows.append({"segment": label, "rows": len(index), "metric": metric.title,
                             "candidate": fmt(value_c), "bounds": bounds[0] if bounds else "–",
                             "baseline": fmt(value_b), "Δ": fmt(value_c - value_b),
                             "Δ CI": fmt_ci(delta).removeprefix("CI ") if delta else "–",
                             "change": change[0] if change else "–"})
        checks.extend(self._required_segment_checks())
        note = (f"Each segment value with at least {min_rows} rows is gated like the whole set; a segment that regresses "
                "beyond the margin fails even when the overall metric improved.")
        tables = [frame_html(pd.DataFrame(rows))] if rows else []
        if not self.segment_columns:
            note = "No segment columns configured (readiness.yaml: segments)."
        return Section("Segments", checks=self._record("segments", checks), tables=tables, note=note)

    def _undefined_reason(self, metric: Metric, index: np.ndarray | None = None) -> str | None:
        """Why a metric cannot be computed on these golden rows (None when it can)."""
        y = self.y if index is None else self.y[index]
        where = "the golden set" if index is None else "this segment"
        if self.task != "regression" and metric.needs == "score" and len(np.unique(y)) < 2:
            only = self.classes[int(y[0])] if len(y) else "none"
            return (f"only one class ({_plain(only)}) among the {len(y):,} rows of {where}: {metric.title} needs both "
                    "positives and negatives, so it is undefined here")
        if self.task == "regression" and metric.name == "r2" and len(y) and np.ptp(y) == 0:
            return f"the target is constant on the {len(y):,} rows of {where}: R² is undefined"
        if self.available(metric, self.candidate) is None and not np.isfinite(self.point("candidate", metric, index)):
            return f"{metric.title} is undefined on the {len(y):,} rows of {where}"
        return None

    def _required_segment_checks(self) -> list[Check]:
        out = []
        present = {(c, v): len(i) for c, v, i in self.segments}
        for item in self.settings.required_segments:
            column, value = (part.strip() for part in item.split("=", 1))
            check_id = f"golden.segment.required[{column}={value}]"
            rows = present.get((column, value))
            if column not in self.frame.columns:
                out.append(Check(check_id, f"Required segment {item}", "fail",
                                 f"column {column!r} is not in the golden set", severity="critical"))
            elif rows is None:
                count = int((self.frame[column].astype("string") == value).sum())
                status = "fail" if count == 0 else "pass"
                text = "absent from the golden set" if count == 0 else f"present with {count:,} rows (not a configured segment column)"
                out.append(Check(check_id, f"Required segment {item}", status, f"segment {item} is {text}",
                                 severity="critical", value=count))
            else:
                out.append(Check(check_id, f"Required segment {item}", "pass", f"segment {item} present with {rows:,} rows",
                                 severity="critical", value=rows))
        return out

    def segments_figure(self):
        return plots.segments_figure(self)

    # ---------------------------------------------------------------- artifact

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

    def artifact_section(self) -> Section:
        settings = self.settings.artifact
        info = self.model_info
        problem = "fail" if settings.strict else "warn"
        checks = []
        described = f"{info.format}, {info.size_bytes:,} bytes, loaded in {fmt((info.load_seconds or 0) * 1000)} ms; allowed by {info.trusted_by}"
        checks.append(Check("golden.artifact.load", "Artifact loaded", "pass", described, severity="info",
                            value=info.size_bytes, details={"sha256": info.sha256, "format": info.format}))
        if info.sandbox:
            checks.append(Check("golden.artifact.sandbox", "Model runs confined", "pass",
                                "loaded and used only in a separate worker process: " + "; ".join(info.sandbox),
                                severity="info", details={"layers": info.sandbox}))
        if info.loaded is not None:
            from readiness.artifacts.safe_pickle import LoadRecord

            record = LoadRecord(**info.loaded)
            checks.append(Check("golden.artifact.scan", "Pickle loaded through the allow-list", "pass",
                                f"every global was judged while loading ({fmt(record.seconds * 1000)} ms): {record.summary()}; "
                                f"{record.trees_checked} fitted tree(s) validated",
                                severity="critical", details={"globals": record.globals}))
        elif info.trusted_by == "trust.sha256":
            checks.append(Check("golden.artifact.scan", "Pickle trusted by hash", "pass",
                                "loaded as it is, without the allow-list, because you listed its sha256 in trust.sha256 "
                                "(loading a pickle runs whatever code it names; readiness.save_model writes skops instead)",
                                severity="info"))
        elif info.format.endswith("skops"):
            extra = ", ".join(info.extra_trusted_types) or "none"
            checks.append(Check("golden.artifact.scan", "skops types", "pass",
                                f"skops loader: no code runs on load; types trusted beyond skops' defaults: {extra}",
                                severity="critical"))
        if self.manifest_findings is None:
            checks.append(Check("golden.artifact.manifest", "Training-environment manifest", "skip",
                                "no manifest beside the artifact; save with readiness.save_model to record the training environment"))
        elif self.manifest_findings:
            checks.append(Check("golden.artifact.manifest", "Training-environment manifest", problem,
                                "differs from this runtime: " + "; ".join(f["message"] for f in self.manifest_findings)
                                + ("" if settings.strict else " (strict mode would fail)"), severity="major"))
        else:
            checks.append(Check("golden.artifact.manifest", "Training-environment manifest", "pass",
                                "sha256, Python, package versions and feature names match this runtime", severity="major"))
        if info.warnings:
            checks.append(Check("golden.artifact.version_warnings", "Warnings while loading", problem,
                                "; ".join(info.warnings), severity="major"))
        checks.extend(self._prediction_checks())
        hidden = self._hidden_dependencies()
        checks.append(Check("golden.artifact.hidden_dependencies", "Code beyond the scientific stack",
                            "warn" if hidden else "pass",
                            ("the model needs modules beyond the scientific stack: " + ", ".join(hidden)
                             + "; ship them with the model and pin their versions") if hidden
                            else "the model uses only scikit-learn, numpy, scipy and pandas code", severity="major",
                            details={"modules": hidden}))
        return Section("Artifact", checks=self._record("artifact", checks))

    def _sample(self, rows: int) -> pd.DataFrame:
        rng = np.random.default_rng(self.settings.seed + 1)
        return self.X.iloc[np.sort(rng.choice(len(self.X), min(rows, len(self.X)), replace=False))]

    def _prediction_checks(self) -> list[Check]:
        from readiness.artifacts.loading import Scorer

        scorer = Scorer(self.model, self.task)
        sample = self._sample(self.settings.artifact.sample_rows)
        first, second = scorer(sample)[0], scorer(sample)[0]
        checks = []
        a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
        difference = float(np.max(np.abs(a - b))) if a.size and a.shape == b.shape else (0.0 if a.shape == b.shape else float("inf"))
        # parallel tree ensembles (n_jobs > 1) sum in varying order: differences of ~1e-16 are rounding
        same = difference <= PREDICTION_TOLERANCE
        checks.append(Check("golden.artifact.determinism", "Same rows, same predictions", "pass" if same else "fail",
                            f"predicting {len(sample)} rows twice: largest difference {difference:.3g}"
                            + (" (identical)" if difference == 0 else f" (≤ {PREDICTION_TOLERANCE:g}: floating-point rounding)"
                               if same else f" > {PREDICTION_TOLERANCE:g}: the model's output is random between calls"),
                            severity="critical", value=difference, threshold={"max": PREDICTION_TOLERANCE}))
        count = min(50, len(sample))
        singles = np.stack([np.asarray(scorer(sample.iloc[[i]])[0], dtype=float)[0] for i in range(count)])
        batch = np.asarray(first, dtype=float)[:count]
        gap = float(np.max(np.abs(singles - batch))) if count else 0.0
        ok = gap <= PREDICTION_TOLERANCE
        checks.append(Check("golden.artifact.batch_vs_single", "Batch and single-row predictions agree",
                            "pass" if ok else "fail",
                            f"{len(singles)} rows predicted one at a time vs in one batch: largest difference {gap:.3g}"
                            + ("" if ok else " (the model's output depends on the other rows in the batch)"),
                            severity="critical", value=gap))
        if self.settings.artifact.fresh_process:
            checks.append(self._fresh_process_check(sample, np.asarray(first, dtype=float)))
        return checks

    def _fresh_process_check(self, sample: pd.DataFrame, expected: np.ndarray) -> Check:
        import json
        import subprocess
        import sys
        import tempfile

        with tempfile.TemporaryDirectory(prefix="readiness-fresh-") as work:
            work = Path(work)
            sample.to_pickle(work / "sample.pkl")
            request = {"path": self.model_info.path, "task": self.task, "sample": str(work / "sample.pkl"),
                       "output": str(work / "scores.npy"), "trust": self.trust.to_mapping()}
            (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
            done = subprocess.run([sys.executable, "-m", "readiness.artifacts._fresh_predict", str(work / "request.json")],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                return Check("golden.artifact.fresh_process", "Reproducible in a fresh process", "fail",
                             f"loading and predicting in a new Python process failed: {last[:300]}", severity="critical")
            fresh = np.load(work / "scores.npy")
        gap = float(np.max(np.abs(fresh - expected))) if fresh.shape == expected.shape else float("inf")
        ok = gap <= PREDICTION_TOLERANCE
        return Check("golden.artifact.fresh_process", "Reproducible in a fresh process", "pass" if ok else "fail",
                     f"a new Python process loaded the artifact and predicted {len(sample)} rows: largest difference "
                     f"{gap:.3g}" + ("" if ok else "; the model depends on state of this kernel (hidden global state)"),
                     severity="critical", value=gap)

    def _hidden_dependencies(self) -> list[str]:
        from readiness.artifacts.loading import hidden_dependencies

        return hidden_dependencies(self.model.estimator)

    # ---------------------------------------------------------------- robustness

    def _robustness(self):
        if getattr(self, "_robustness_result", None) is None:
            from readiness.artifacts.loading import Scorer
            from readiness.reports.golden.robustness import run_trials

            settings = self.settings.robustness
            for key, columns in (("invariant", settings.invariant), ("direction", list(settings.direction)),
                                 ("optional_columns", settings.optional_columns)):
                unknown = [c for c in columns if c not in self.X.columns]
                if unknown:
                    raise ConfigError(f"golden_benchmark.robustness.{key}: {', '.join(map(repr, unknown))} "
                                      f"not among the model's features ({', '.join(map(repr, list(self.X.columns)[:12]))})")
            for column in settings.direction:
                if not pd.api.types.is_numeric_dtype(self.X[column]):
                    raise ConfigError(f"golden_benchmark.robustness.direction: {column!r} is not numeric; "
                                      "direction rules need a number to raise")
            rng = np.random.default_rng(self.settings.seed)
            rows = np.sort(rng.choice(len(self.X), min(settings.max_rows, len(self.X)), replace=False))
            self._robustness_result = run_trials(Scorer(self.model, self.task), self.X.iloc[rows], settings,
                                                 self.settings.seed)
        return self._robustness_result

    def robustness_section(self) -> Section:
        from readiness.reports.golden.robustness import OUTCOME_RANK, PERTURBATIONS

        settings = self.settings.robustness
        if not settings.enabled:
            return Section("Robustness", checks=self._record("robustness", []),
                           note="Disabled (golden_benchmark.robustness.enabled: false).")
        result = self._robustness()
        checks, rows = [], []
        by_perturbation: dict[str, list] = {}
        for trial in result.trials:
            by_perturbation.setdefault(trial.perturbation, []).append(trial)
        for name, trials in by_perturbation.items():
            checks.append(self._robustness_check(name, trials))
            for trial in trials:
                rows.append({"column": trial.column, "perturbation": PERTURBATIONS[name].title, "outcome": trial.outcome,
                             "rows changed": "" if trial.outcome == "crash" else f"{trial.share:.1%}",
                             "95% CI": f"{trial.ci[0]:.1%} to {trial.ci[1]:.1%}" if trial.outcome == "changed" else "",
                             "error": trial.error})
        for rule in result.rules:
            checks.append(Check(f"golden.robustness.{rule['rule']}[{rule['column']}]",
                                f"{rule['rule']} rule on {rule['column']}", rule["status"], rule["message"],
                                severity="critical", value=rule.get("value"), ci=rule.get("ci")))
        rows.sort(key=lambda r: (OUTCOME_RANK[r["outcome"]], -float(r["rows changed"].rstrip("%") or 0)))
        fragile = [f"{r['column']} ({r['outcome']} on {r['perturbation']})" for r in rows if r["outcome"] != "unchanged"][:5]
        note = (f"{result.rows:,} golden rows (seeded sample), one column at a time, scaled by the data: noise "
                f"± {settings.noise_iqr:g}·IQR, values one range beyond the golden min/max. A row counts as changed when "
                f"its class flips or its score moves more than {settings.tolerance:g}"
                + (" × std of the predictions" if self.task == "regression" else "")
                + f". {len(result.trials)} trials in {result.seconds:.1f} s, one finding per perturbation: a crash on "
                "input production will plausibly hold (missing values, new categories, reordered, extra or optional "
                "columns) warns; predictions that move when a feature is replaced are expected and shown. Most fragile: "
                + (", ".join(fragile) if fragile else "none") + ".")
        return Section("Robustness", checks=self._record("robustness", checks),
                       tables=[frame_html(pd.DataFrame(rows))] if rows else [], note=note)

    def _robustness_check(self, name: str, trials: list) -> Check:
        """One finding per perturbation, over every column it was applied to.

        Actionable only: a crash on input the model will plausibly meet (warn; fail when the
        perturbation is listed in ``expected``), or changes beyond ``max_changed_share`` when the
        user declared one. Predictions that move when a feature is replaced are expected (the
        model uses its features) and are shown, not warned.
        """
        from readiness.reports.golden.robustness import ALL_COLUMNS, PERTURBATIONS

        settings = self.settings.robustness
        perturbation = PERTURBATIONS[name]
        expected = name in settings.expected
        crashed = [t for t in trials if t.outcome == "crash"]
        changed = [t for t in trials if t.outcome == "changed"]
        limit = settings.max_changed_share
        beyond = [t for t in changed if limit is not None and t.share > limit]
        whole = trials[0].column == ALL_COLUMNS
        where = "" if whole else f" in {len(crashed)} of {len(trials)} column{'s' if len(trials) > 1 else ''}"

        def listing(items):
            names = [t.column for t in items]
            return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

        details = {"perturbation": name, "expected": expected, "plausible": perturbation.plausible,
                   "columns": {t.column: {"outcome": t.outcome, "share": t.share, "error": t.error} for t in trials}}
        check_id, title = f"golden.robustness.{name}", perturbation.title
        if crashed and name in ("shuffled_columns", "extra_column") and self.model.feature_names is not None:
            # scikit-learn refuses columns that differ from feature_names_in_ by design: a schema
            # check working, not a fragility; serving code selects the declared columns by name
            return Check(check_id, title, "pass",
                         f"refused: {perturbation.doc} → {crashed[0].error}; the model checks its input columns by name, "
                         "so serving code must pass exactly its feature_names_in_, in order", severity="info",
                         value=len(crashed), details=details)
        if crashed:
            errors = list(dict.fromkeys(t.error for t in crashed))
            cause = errors[0] + (f" (and {len(errors) - 1} other error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else "")
            hint = ""
            if name == "nan" and len(crashed) == len(trials) and len(trials) > 1:
                hint = "; the pipeline has no imputer (add one, e.g. SimpleImputer, or a model that accepts missing values)"
            elif name == "unseen_category":
                hint = "; the encoder rejects new categories (e.g. OneHotEncoder(handle_unknown='ignore'))"
            columns = "" if whole else f" ({listing(crashed)})"
            text = f"crash{where}{columns}: {perturbation.doc} → {cause}{hint}"
            if expected:
                return Check(check_id, title, "fail", text + "; listed in robustness.expected, so it fails",
                             severity="major", value=len(crashed), details=details)
            if perturbation.plausible:
                return Check(check_id, title, "warn", text + "; production data will plausibly hold this (list it in "
                             "robustness.expected to fail on it)", severity="major", value=len(crashed), details=details)
            return Check(check_id, title, "pass", text + "; shown, not warned: production input is unlikely to look like "
                         "this (list it in robustness.expected to fail on it)", severity="info", value=len(crashed),
                         details=details)
        if beyond:
            worst = max(beyond, key=lambda t: t.share)
            return Check(check_id, title, "warn",
                         f"changed beyond max_changed_share {limit:.0%} in {len(beyond)} of {len(trials)} column(s) "
                         f"({listing(beyond)}); most: {worst.column}, {worst.share:.1%} of predictions (95% CI "
                         f"{worst.ci[0]:.1%} to {worst.ci[1]:.1%}) beyond the tolerance {settings.tolerance:g}",
                         severity="major", value=worst.share, ci=list(worst.ci), details=details)
        if changed:
            worst = max(changed, key=lambda t: t.share)
            return Check(check_id, title, "pass",
                         f"no crash; predictions moved in {len(changed)} of {len(trials)} column(s), most in {worst.column} "
                         f"({worst.share:.1%} of rows): expected of a model that uses its features"
                         + ("" if limit is None else f", within max_changed_share {limit:.0%}")
                         + "; set robustness.max_changed_share to gate on it", severity="info", value=worst.share,
                         details=details)
        return Check(check_id, title, "pass", f"no crash and no prediction moved beyond the tolerance {settings.tolerance:g}"
                     + ("" if whole else f" in any of {len(trials)} column(s)"), severity="info", value=0.0, details=details)

    def robustness_figure(self):
        if not self.settings.robustness.enabled:
            return None
        return plots.robustness_figure(self._robustness(), self.settings.robustness)

    # ---------------------------------------------------------------- inference

    def latency_section(self) -> Section:
        settings = self.settings.latency
        predict = self.model.predict_proba if self.model.has_proba else self.model.predict
        rng = np.random.default_rng(self.settings.seed)
        rows = rng.integers(0, len(self.X), size=settings.single_row_calls)
        # warm-up: the first calls pay for lazy imports, caches and thread pools; time the first
        # one (the cold call) on its own, then warm up until a call costs no more than the one before
        start = time.perf_counter()
        predict(self.X.iloc[[0]])
        cold_ms = (time.perf_counter() - start) * 1000
        warm_ups, previous = 0, float("inf")
        while warm_ups < 20:
            start = time.perf_counter()
            predict(self.X.iloc[[warm_ups % len(self.X)]])
            took = time.perf_counter() - start
            warm_ups += 1
            if warm_ups >= 3 and took >= 0.9 * previous:
                break
            previous = took
        timings = self.model.single_call_seconds(self.X, rows)
        p50, p95 = np.quantile(timings * 1000, [0.5, 0.95])
        start = time.perf_counter()
        predict(self.X)
        batch_s = time.perf_counter() - start
        throughput = len(self.X) / batch_s if batch_s > 0 else float("inf")
        checks = []
        if settings.max_p95_ms is None:
            checks.append(Check("golden.latency.p95_ms", "Single-row latency p95", "pass",
                                f"p50 {fmt(p50)} ms, p95 {fmt(p95)} ms over {len(rows)} warm single-row calls (the first, "
                                f"cold call took {fmt(cold_ms)} ms); no limit set",
                                severity="info", value=float(p95), details={"p50_ms": p50, "cold_ms": cold_ms}))
        else:
            ok = p95 <= settings.max_p95_ms
            checks.append(Check("golden.latency.p95_ms", "Single-row latency p95", "pass" if ok else "fail",
                                f"p95 {fmt(p95)} ms {'≤' if ok else '>'} limit {fmt(settings.max_p95_ms)} ms (p50 {fmt(p50)} ms)",
                                severity="major", value=float(p95), threshold={"max": settings.max_p95_ms}))
        if settings.min_rows_per_s is None:
            checks.append(Check("golden.latency.throughput", "Batch throughput", "pass",
                                f"{throughput:,.0f} rows/s predicting all {len(self.X):,} golden rows in one call; no limit set",
                                severity="info", value=float(throughput)))
        else:
            ok = throughput >= settings.min_rows_per_s
            checks.append(Check("golden.latency.throughput", "Batch throughput", "pass" if ok else "fail",
                                f"{throughput:,.0f} rows/s {'≥' if ok else '<'} minimum {settings.min_rows_per_s:,.0f} rows/s",
                                severity="major", value=float(throughput), threshold={"min": settings.min_rows_per_s}))
        checks.append(Check("golden.artifact.size", "Artifact size", "pass",
                            f"{self.model_info.size_bytes:,} bytes ({self.model_info.format}); loaded in "
                            f"{fmt((self.model_info.load_seconds or 0) * 1000)} ms", severity="info",
                            value=self.model_info.size_bytes))
        where = ("where the model runs (its sandboxed worker, without the cost of sending rows to it)"
                 if self.model_info.sandbox else "in this kernel")
        note = (f"Timed {where} on this machine after warm-up calls (the first, cold call is shown on its own); "
                "compare runs on the same hardware.")
        table = pd.DataFrame([
            {"measure": "single-row latency p50", "value": f"{fmt(p50)} ms", "how": f"{len(rows)} calls of one row each"},
            {"measure": "single-row latency p95", "value": f"{fmt(p95)} ms", "how": f"{len(rows)} calls of one row each"},
            {"measure": "first (cold) single-row call", "value": f"{fmt(cold_ms)} ms",
             "how": f"before {warm_ups} warm-up calls; lazy imports and caches"},
            {"measure": "batch throughput", "value": f"{throughput:,.0f} rows/s", "how": f"one call on {len(self.X):,} rows"},
            {"measure": "artifact size", "value": f"{self.model_info.size_bytes:,} bytes", "how": self.model_info.format},
            {"measure": "artifact load time", "value": f"{fmt((self.model_info.load_seconds or 0) * 1000)} ms", "how": "starting the sandboxed worker included" if self.model_info.sandbox else "in this kernel"},
        ])
        return Section("Inference", checks=self._record("latency", checks), tables=[frame_html(table)], note=note)

    # ---------------------------------------------------------------- results

    def inputs_document(self) -> dict[str, Any]:
        doc = {
            "model": {"path": self.model_info.path, "sha256": self.model_info.sha256, "format": self.model_info.format,
                      "size_bytes": self.model_info.size_bytes, "trusted_by": self.model_info.trusted_by,
                      **({"loaded": {k: self.model_info.loaded[k] for k in ("globals", "compression", "bytes_read", "trees_checked")}}
                         if self.model_info.loaded else {})},
            "golden": {"path": str(self.golden_path), "sha256": self.golden_sha256, "rows": len(self.frame),
                       "columns": self.frame.shape[1]},
            "task": self.task,
            "target": self.target,
            "segments": self.segment_columns,
        }
        if self.baseline_info is not None:
            doc["baseline"] = {"path": self.baseline_info.path, "sha256": self.baseline_info.sha256,
                               "format": self.baseline_info.format, "size_bytes": self.baseline_info.size_bytes}
        return doc

    def finish(self, results_path: str) -> Section:
        """Write ``results_path`` (the results JSON) and show the verdict."""
        document = report_document(REPORT, self.checks, self.inputs_document(), self.started_at,
                                   time.perf_counter() - self._clock,
                                   parameters={"settings": self.settings.model_dump(mode="json")})
        write_json(results_path, document)
        return Section.verdict(document)


def _single_feature_power(column: pd.Series, y: np.ndarray, task: str, seed: int) -> float:
    """How much of the label one column explains on held-out rows (two-fold cross-fitting), in [0, 1].

    Numbers: a small decision tree on the column alone (it finds the exact cut points); text:
    the majority label (or mean) per category, unknown categories getting the overall one.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    n = len(y)
    if n < 20:
        return float("nan")
    numeric = pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    if numeric:
        values = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
        values = np.where(np.isfinite(values), values, np.nanmin(values) - 1 if np.isfinite(values).any() else 0.0)
    else:
        codes = pd.factorize(column.astype("string").fillna("(missing)"), use_na_sentinel=False)[0]
    half = np.random.default_rng(seed).permutation(n) < n // 2
    predicted = np.empty(n) if task == "regression" else np.empty(n, dtype=np.int64)
    leaf = max(5, n // 200)
    for train in (half, ~half):
        test = ~train
        if numeric:
            tree = (DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier)(
                max_leaf_nodes=32, min_samples_leaf=leaf, random_state=seed)
            predicted[test] = tree.fit(values[train, None], y[train]).predict(values[test, None])
            continue
        frame = pd.DataFrame({"bin": codes[train], "y": y[train]})
        if task == "regression":
            table, fallback = frame.groupby("bin")["y"].mean(), float(y[train].mean())
        else:
            table = frame.groupby("bin")["y"].agg(lambda v: np.bincount(v).argmax())
            fallback = int(np.bincount(y[train]).argmax())
        predicted[test] = pd.Series(codes[test]).map(table).fillna(fallback).to_numpy()
    if task == "regression":
        total = float(np.sum((y - y.mean()) ** 2))
        if total <= 0:
            return float("nan")
        explained = max(0.0, 1 - float(np.sum((y - predicted) ** 2)) / total)
        if numeric and np.std(values) > 0:  # a straight line (one parameter: no held-out rows needed) beats a
            explained = max(explained, float(np.corrcoef(values, y)[0, 1] ** 2))  # coarse tree on a linear leak
        return explained
    accuracy = float(np.mean(predicted == y))
    constant = float(np.bincount(y).max() / n)
    return max(0.0, (accuracy - constant) / (1 - constant)) if constant < 1 else float("nan")


def _plain(value) -> str:
    """repr of a label without numpy's type wrapper: 7, 'yes'."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _normalised_gain(metric: Metric, value: float, dummy: float) -> float:
    perfect = perfect_value(metric)
    if not (np.isfinite(value) and np.isfinite(dummy) and np.isfinite(perfect)) or perfect == dummy:
        return float("nan")
    return (value - dummy) / (perfect - dummy)


def _fmt_vec(values, task: str) -> str:
    values = np.atleast_1d(np.asarray(values, float))
    if task == "binary" and len(values) == 2:
        values = values[1:]
    return ", ".join(fmt(v) for v in values)


def _row_scores(outputs: ModelOutputs, rows: np.ndarray) -> list[str]:
    score = np.asarray(outputs.change_score, float)[rows]
    if score.ndim == 2:
        return [", ".join(f"{v:.3f}" for v in r) for r in score]
    return [fmt(v) for v in score]
