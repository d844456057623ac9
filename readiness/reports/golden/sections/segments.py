"""Segments: the metric gates on every value of each segment column, and the segments that must be there.

Owns ``golden.segment.*``: ``golden.segment.<metric>[column=value]`` (the change gate,
or the metric alone when no gate is set), ``golden.segment.<metric>.bounds[column=value]``
(absolute thresholds) and ``golden.segment.required[column=value]``.

Examples
--------
>>> section = segments_section(core)  # doctest: +SKIP
>>> section.tables[0].to_dict()["columns"][:4]  # doctest: +SKIP
['segment', 'rows', 'metric', 'candidate']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from readiness.config import MetricThreshold
from readiness.display import Section, Table, interval, number
from readiness.reports.golden.sections.metrics import change_checks
from readiness.results import Check
from readiness.stats.gates import absolute_decision, fmt, fmt_ci

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore

NAME = "segments"
_STATUS_ORDER = ["skip", "pass", "warn", "fail", "error"]


def segments_section(core: "GoldenCore") -> Section:
    """Each segment value with enough rows gated like the whole set; required segments present.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust)
    >>> section = segments_section(bench)
    >>> for check in section.checks[:3]:
    ...     print(check.status, check.id)
    pass golden.segment.roc_auc[region=north]
    pass golden.segment.average_precision[region=north]
    pass golden.segment.log_loss[region=north]
    >>> print(section.checks[0].message)
    ROC AUC 0.9373 vs baseline 0.8707: Δ 0.06667 (95% CI 0.007312 to 0.1294); worst case within the allowed regression
    (max_regression 0.01000)
    """
    checks: list[Check] = []
    rows = []
    min_rows = core.settings.min_segment_rows
    for column, value, index in core.segments:
        label = f"{column}={value}"
        for metric in core.gated_metrics:
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
            undefined = core.undefined_reason(metric, index)
            if undefined is not None:
                checks.append(Check(check_id, title, "skip", undefined, details={"rows": len(index)}))
                rows.append({"segment": label, "rows": len(index), "metric": metric.title, "bounds": "skip",
                             "change": "skip"})
                continue
            value_c = core.point("candidate", metric, index)
            value_b = core.point("baseline", metric, index)
            threshold = core.thresholds.get(metric.name, MetricThreshold())
            ci = core.interval(f"candidate:{metric.name}{suffix}")
            delta = core.delta_interval(metric, suffix)
            found = []
            absolute = absolute_decision(metric, value_c, ci, threshold)
            if absolute is not None:
                found.append(Check(f"golden.segment.{metric.name}.bounds[{label}]", title, absolute.status, absolute.message,
                                   severity="critical", value=value_c, ci=ci.as_list() if ci else None,
                                   threshold=absolute.threshold, details={"rows": len(index)}))
            found.extend(change_checks(core, metric, threshold, value_c, value_b, delta, suffix, label))
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
                         "candidate": value_c, "bounds": bounds[0] if bounds else "–",
                         "baseline": value_b, "Δ": value_c - value_b, "Δ CI": delta.as_list() if delta else None,
                         "change": change[0] if change else "–"})
    checks.extend(required_segment_checks(core))
    note = (f"Each segment value with at least {min_rows} rows is gated like the whole set; a segment that regresses "
            "beyond the margin fails even when the overall metric improved.")
    formats = {"candidate": number(), "baseline": number(), "Δ": number(), "Δ CI": interval(missing="–")}
    tables = [Table(rows, name="segments", formats=formats)] if rows else []
    if not core.segment_columns:
        note = "No segment columns configured (readiness.yaml: segments)."
    return Section("Segments", checks=checks, tables=tables, note=note, name=NAME)


def required_segment_checks(core: "GoldenCore") -> list[Check]:
    """``golden.segment.required[column=value]``: each segment the config requires has golden rows.

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
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned",
    ...                         segments=["region"], trust=trust,
    ...                         settings={"required_segments": ["region=north", "region=west"]})
    >>> for check in required_segment_checks(bench):
    ...     print(check.status, check.id, "-", check.message)
    pass golden.segment.required[region=north] - segment region=north present with 108 rows
    fail golden.segment.required[region=west] - segment region=west is absent from the golden set
    """
    out = []
    present = {(c, v): len(i) for c, v, i in core.segments}
    for item in core.settings.required_segments:
        column, value = (part.strip() for part in item.split("=", 1))
        check_id = f"golden.segment.required[{column}={value}]"
        rows = present.get((column, value))
        if column not in core.frame.columns:
            out.append(Check(check_id, f"Required segment {item}", "fail",
                             f"column {column!r} is not in the golden set", severity="critical"))
        elif rows is None:
            count = int((core.frame[column].astype("string") == value).sum())
            status = "fail" if count == 0 else "pass"
            text = "absent from the golden set" if count == 0 else f"present with {count:,} rows (not a configured segment column)"
            out.append(Check(check_id, f"Required segment {item}", status, f"segment {item} is {text}",
                             severity="critical", value=count))
        else:
            out.append(Check(check_id, f"Required segment {item}", "pass", f"segment {item} present with {rows:,} rows",
                             severity="critical", value=rows))
    return out


def segments_figure_data(core: "GoldenCore", checks: list[Check]) -> dict[str, Any] | None:
    """The arguments of :func:`readiness.figures.golden.segments_figure`: candidate − baseline on the
    first gated metric per segment, coloured by the worst of its gates in ``checks``; None without
    segments or a baseline.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust)
    >>> data = segments_figure_data(bench, segments_section(bench).checks)
    >>> data["metric_title"], data["allowed_change"], [(s["label"], s["rows"], s["status"]) for s in data["segments"]]
    ('ROC AUC', -0.01, [('region=north', 108, 'pass'), ('region=south', 92, 'pass')])
    >>> round(data["segments"][0]["delta"], 4), round(data["segments"][0]["low"], 4)  # candidate − baseline and its CI
    (0.0667, 0.0073)
    """
    if not core.segments or core.reference is None:
        return None
    metric = core.gated_metrics[0]
    status_of = {c.id: c.status for c in checks}
    segments = []
    for column, value, index in core.segments:
        label = f"{column}={value}"
        suffix = f"[{label}]"
        delta = core.delta_interval(metric, suffix)
        if delta is None:
            continue
        point = core.point("candidate", metric, index) - core.point("baseline", metric, index)
        statuses = [status_of.get(f"golden.segment.{metric.name}{suffix}"),
                    status_of.get(f"golden.segment.{metric.name}.bounds{suffix}")]
        worst = max((s for s in statuses if s), key=_STATUS_ORDER.index, default="pass")
        segments.append({"label": label, "rows": len(index), "delta": point, "low": delta.low, "high": delta.high,
                         "status": worst})
    if not segments:
        return None
    threshold = core.thresholds.get(metric.name)
    allowed = None
    if threshold is not None and threshold.max_regression is not None:
        allowed = -threshold.max_regression if metric.higher_is_better else threshold.max_regression
    return {"segments": segments, "metric_title": metric.title, "higher_is_better": metric.higher_is_better,
            "allowed_change": allowed}
