"""Metrics: each metric for the candidate, the baseline and a dummy model; the gates on them; leakage.

Owns ``golden.metric.*`` (absolute thresholds), ``golden.change.*`` (candidate vs
baseline), ``golden.dummy.*`` (better than a constant prediction) and
``golden.leakage`` (no single feature gives the label away). :func:`change_checks`
is shared with the segments section, which gates each segment the same way.

Examples
--------
>>> section = metrics_section(core)  # doctest: +SKIP
>>> section.tables[0].to_dict()["columns"][:3]  # doctest: +SKIP
['metric', 'candidate', '95% CI']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from readiness.config import MetricThreshold
from readiness.display import Section, Table, interval, number
from readiness.results import Check
from readiness.stats.gates import absolute_decision, allowed_margin, change_decision, fmt, fmt_ci
from readiness.stats.bootstrap import Interval
from readiness.stats.metrics import Metric, perfect_value

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore

NAME = "metrics"
#: The leakage check scores each feature on at most this many golden rows (a seeded sample).
LEAKAGE_MAX_ROWS = 200_000


def metrics_section(core: "GoldenCore") -> Section:
    """Every metric of the task with CIs, against the baseline and the dummy model, and its gates.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age"]], train["churned"]), folder / "baseline.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / name).read_bytes()).hexdigest()
    ...                     for name in ("candidate.joblib", "baseline.joblib")]}  # trusted: loaded in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned",
    ...                         baseline_path=str(folder / "baseline.joblib"), trust=trust)
    >>> section = metrics_section(bench)
    >>> for check in section.checks[:4]:
    ...     print(check.status, check.id)
    pass golden.metric.roc_auc
    pass golden.change.roc_auc
    pass golden.metric.average_precision
    pass golden.change.average_precision
    >>> print(section.checks[1].message)
    ROC AUC 0.9391 vs baseline 0.8447: Δ 0.09434 (95% CI 0.04696 to 0.1405); worst case within the allowed regression
    (max_regression 0.01000)
    >>> section.tables[0].to_dict()["columns"][:5]
    ['metric', 'candidate', '95% CI', 'baseline', 'Δ vs baseline']
    """
    checks, rows = [], []
    level = f"{core.settings.confidence:.0%}"
    for metric in core.metrics:
        reason = core.available(metric, core.candidate)
        threshold = core.thresholds.get(metric.name, MetricThreshold())
        if reason is not None:
            if metric.name in core.thresholds:
                checks.append(Check(f"golden.metric.{metric.name}", metric.title, "skip", reason))
            rows.append({"metric": metric.title, "candidate": reason})
            continue
        undefined = core.undefined_reason(metric)
        if undefined is not None:
            if metric.name in core.thresholds:
                checks.append(Check(f"golden.metric.{metric.name}", metric.title, "skip", undefined))
            rows.append({"metric": metric.title, "candidate": undefined})
            continue
        value = core.point("candidate", metric)
        ci = core.interval(f"candidate:{metric.name}")
        base = core.point("baseline", metric)
        delta = core.delta_interval(metric)
        dummy = core.point("dummy", metric)
        gain = normalised_gain(metric, value, dummy)
        rows.append({
            "metric": metric.title, "candidate": value, f"{level} CI": ci.as_list() if ci else None,
            "baseline": base, "Δ vs baseline": value - base, f"Δ {level} CI": delta.as_list() if delta else None,
            "dummy": dummy, "gain over dummy": gain, "higher is better": metric.higher_is_better,
        })
        decision = absolute_decision(metric, value, ci, threshold)
        if decision is not None:
            checks.append(Check(f"golden.metric.{metric.name}", metric.title, decision.status, decision.message,
                                severity="critical", value=value, ci=ci.as_list() if ci else None, threshold=decision.threshold))
        else:
            checks.append(Check(f"golden.metric.{metric.name}", metric.title, "pass",
                                f"{metric.title} {fmt(value)} ({level} {fmt_ci(ci)}); reported, no absolute threshold set",
                                severity="info", value=value, ci=ci.as_list() if ci else None))
        checks.extend(change_checks(core, metric, threshold, value, base, delta))
    checks.append(dummy_check(core))
    checks.append(leakage_check(core))
    formats = {"candidate": number(), f"{level} CI": interval(), "baseline": number(), "Δ vs baseline": number(),
               f"Δ {level} CI": interval(missing="–"), "dummy": number(), "gain over dummy": number(),
               "higher is better": lambda value, row: "yes" if value else "no"}
    note = (f"Point estimates on all {len(core.y):,} golden rows; {level} CIs {core.interval_method()}; "
            "Δ CIs are paired on the same rows. Gain over dummy = (model − dummy) / (perfect − dummy).")
    return Section("Metrics", checks=checks, tables=[Table(rows, name="metrics", formats=formats)], note=note, name=NAME)


def change_checks(core: "GoldenCore", metric: Metric, threshold: MetricThreshold, value: float, base: float,
                  delta: Interval | None, suffix: str = "", segment_label: str = "") -> list[Check]:
    """The change gate of one metric (candidate − baseline on the paired CI), overall or on one segment.

    Overall its id is ``golden.change.<metric>``; on a segment (``suffix`` ``[region=north]``)
    ``golden.segment.<metric>[region=north]``. No check when the threshold sets no change gate.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age"]], train["churned"]), folder / "baseline.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / name).read_bytes()).hexdigest()
    ...                     for name in ("candidate.joblib", "baseline.joblib")]}  # trusted: loaded in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned",
    ...                         baseline_path=str(folder / "baseline.joblib"), trust=trust)
    >>> from readiness.config import MetricThreshold
    >>> metric = bench.primary  # ROC AUC
    >>> value, base = bench.point("candidate", metric), bench.point("baseline", metric)
    >>> delta = bench.delta_interval(metric)  # paired CI of candidate − baseline
    >>> [check] = change_checks(bench, metric, MetricThreshold(max_regression=0.01), value, base, delta)
    >>> check.id, check.status, round(check.value, 4), [round(bound, 4) for bound in check.ci]
    ('golden.change.roc_auc', 'pass', 0.0943, [0.047, 0.1405])
    >>> change_checks(bench, metric, MetricThreshold(), value, base, delta)  # no change gate
    []
    """
    check_id = f"golden.change.{metric.name}" if not suffix else f"golden.segment.{metric.name}{suffix}"
    title = f"{metric.title} vs baseline" + (f" [{segment_label}]" if segment_label else "")
    has_gate = (allowed_margin(threshold, 1.0) is not None or threshold.max_improvement is not None
                or threshold.max_relative_improvement is not None)
    if not has_gate:
        return []
    if core.reference is None:
        return [Check(check_id, title, "skip", "no baseline model configured; change gates apply only when one is given",
                      severity="critical")]
    if delta is None:
        return [Check(check_id, title, "skip", f"{metric.title} unavailable for the baseline: {core.available(metric, core.reference)}")]
    decision = change_decision(metric, value, base, delta, threshold, core.settings.confidence)
    return [Check(check_id, title, decision.status, decision.message, severity="critical", value=value - base,
                  ci=delta.as_list(), threshold=decision.threshold,
                  details={"candidate": value, "baseline": base})]


def dummy_check(core: "GoldenCore") -> Check:
    """``golden.dummy.<primary metric>``: the candidate beats scikit-learn's dummy model on the paired CI.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "candidate.joblib").read_bytes()).hexdigest()]}  # in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned", trust=trust)
    >>> check = dummy_check(bench)
    >>> check.id, check.status
    ('golden.dummy.roc_auc', 'pass')
    >>> print(check.message)
    candidate 0.9391 vs dummy 0.5000 (scikit-learn Dummy, fitted on the golden labels): normalised gain 0.8782
    """
    metric = core.primary
    value, dummy = core.point("candidate", metric), core.point("dummy", metric)
    delta = core.delta_interval(metric, other="dummy")
    gain = normalised_gain(metric, value, dummy)
    check_id = f"golden.dummy.{metric.name}"
    title = f"Better than a dummy model ({metric.title})"
    if delta is None:
        return Check(check_id, title, "skip", f"{metric.title} unavailable: {core.available(metric, core.candidate)}")
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


def leakage_check(core: "GoldenCore") -> Check:
    """Too good to be true: a single feature that predicts the label almost perfectly on its own.

    Each feature predicts the label alone, learned on one half of the golden rows and
    scored on the other (and the other way round), so an id column cannot memorise rows
    (:func:`single_feature_power`). The score is the share of what a constant prediction
    leaves unexplained that the feature explains: accuracy gain for classifiers, R² for
    regressions (0 = useless, 1 = the label itself).

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "candidate.joblib").read_bytes()).hexdigest()]}  # in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned", trust=trust)
    >>> check = leakage_check(bench)
    >>> check.status, check.details["scores"]
    ('pass', {'age': 0.489..., 'visits': 0.340...})
    >>> print(check.message)
    the most predictive single features: age 0.4894, visits 0.3404 (share of the label explained on held-out golden
    rows; fails at 0.9500)
    """
    limit = core.settings.leakage_threshold
    title = "No single feature gives the label away"
    if limit is None:
        return Check("golden.leakage", title, "skip", "disabled (golden_benchmark.leakage_threshold: null)")
    X, y = core.X, core.y
    if len(y) > LEAKAGE_MAX_ROWS:  # a seeded sample: a leak that strong shows on 200k rows as on 10M
        rows = np.sort(np.random.default_rng(core.settings.seed).choice(len(y), LEAKAGE_MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    scores = {str(c): single_feature_power(X[c], y, core.task, core.settings.seed) for c in X.columns}
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


def performance_figure_data(core: "GoldenCore") -> dict[str, Any]:
    """The arguments of :func:`readiness.figures.golden.performance_figure` for this benchmark.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age"]], train["churned"]), folder / "baseline.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / name).read_bytes()).hexdigest()
    ...                     for name in ("candidate.joblib", "baseline.joblib")]}  # trusted: loaded in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned",
    ...                         baseline_path=str(folder / "baseline.joblib"), trust=trust)
    >>> data = performance_figure_data(bench)
    >>> data["task"], data["classes"], sorted(data["models"]), sorted(data["models"]["candidate"])
    ('binary', ['0', '1'], ['baseline', 'candidate'], ['pred', 'proba', 'score'])
    """
    models = {"candidate": core.candidate}
    if core.reference is not None:
        models["baseline"] = core.reference
    return {
        "task": core.task, "y": core.y,
        "models": {role: {"pred": o.data.pred, "proba": o.data.proba, "score": o.data.score} for role, o in models.items()},
        "classes": None if core.classes is None else [str(c) for c in core.classes],
        "decision_threshold": core.settings.decision_threshold, "seed": core.settings.seed,
    }


def single_feature_power(column: pd.Series, y: np.ndarray, task: str, seed: int) -> float:
    """How much of the label one column explains on held-out rows (two-fold cross-fitting), in [0, 1].

    Numbers: a small decision tree on the column alone (it finds the exact cut points); text:
    the majority label (or mean) per category, unknown categories getting the overall one.

    Examples
    --------
    >>> y = np.arange(200) % 2
    >>> round(single_feature_power(pd.Series(y * 10.0), y, "binary", 0), 3)
    1.0
    >>> single_feature_power(pd.Series(np.zeros(200)), y, "binary", 0) < 0.1
    True
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


def normalised_gain(metric: Metric, value: float, dummy: float) -> float:
    """(model − dummy) / (perfect − dummy): 0 is no better than the dummy, 1 is perfect; NaN when undefined.

    Examples
    --------
    >>> from readiness.stats.metrics import METRICS
    >>> round(normalised_gain(METRICS["roc_auc"], 0.8, 0.5), 3)  # 60% of the way from the dummy to a perfect model
    0.6
    >>> normalised_gain(METRICS["log_loss"], 0.35, 0.7)  # lower is better: perfect is 0
    0.5
    """
    perfect = perfect_value(metric)
    if not (np.isfinite(value) and np.isfinite(dummy) and np.isfinite(perfect)) or perfect == dummy:
        return float("nan")
    return (value - dummy) / (perfect - dummy)
