"""Release attribution and per-segment guarantees: the golden benchmark's section on what moved.

Owns ``golden.attribution`` (what moved the predictions from baseline to candidate: the
model everywhere, and each source's columns per segment; primary metric and flip rate
too) and ``golden.guarantee.*`` (the release acceptance criteria of ``consistency.segments``,
decided on CIs: pass / fail / inconclusive as a warning). The work is done by
:mod:`readiness.stats.attribution`; the waterfall by :mod:`readiness.figures.attribution`.

:class:`~readiness.reports.golden.benchmark.GoldenBenchmark` calls these with itself
(``bench.attribution_section()``, ``bench.attribution_figure()``); any object with the
benchmark's state (models, golden rows, outputs, settings) will do.

Examples
--------
>>> section = release_attribution_section(bench, sources={"crm_export": ["plan"]},
...                                       guarantees={"region=north": {"max_mean_shift": 0.02}})  # doctest: +SKIP
>>> [c.id for c in section.checks][:2]  # doctest: +SKIP
['golden.attribution', 'golden.guarantee.mean_shift[region=north]']
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from readiness.display import Section, Table
from readiness.escape import visible
from readiness.exceptions import InputError
from readiness.results import Check
from readiness.stats.attribution.checks import table_row, release_attribution_check, segment_consistency_checks
from readiness.stats.attribution.decomposition import Attribution, ReleaseAttribution
from readiness.stats.attribution.settings import SegmentCriterion, unread_source_columns
from readiness.stats.gates import fmt

NAME = "attribution"
TITLE = "What moved, and from where"
#: segments attributed besides the guaranteed ones (largest first): enough to find the one that moved
MAX_EXTRA_SEGMENTS = 12


def _segment_keys(bench, guarantees: Mapping[str, Any]) -> list[str]:
    """Guaranteed segments first (they get metric and flip splits), then the report's segment values."""
    keys = list(guarantees)
    extra = sorted(((len(index), f"{column}={value}") for column, value, index in bench.segments
                    if len(index) >= bench.settings.min_segment_rows), key=lambda item: -item[0])
    keys += [key for _, key in extra if key not in keys][:MAX_EXTRA_SEGMENTS]
    return keys


def compute(bench, sources: Mapping[str, list[str]] | None) -> tuple[ReleaseAttribution | None, str, str]:
    """The release attribution (or None), the reason it is missing, and an error text if it failed.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust,
    ...                         consistency={"segments": {"region=north": {"max_mean_shift": 0.02, "max_flip_rate": 0.1}}})
    >>> result, reason, error = compute(bench, sources=None)  # each column its own source
    >>> split = result.mean_prediction
    >>> round(split.total, 4), list(split.to_dict()["contributions"]), list(result.segments)
    (-0.0088, ['model', 'age', 'visits'], ['region=north', 'region=south'])
    """
    from readiness.stats.attribution.release import release_attribution

    settings = bench.settings
    if bench.baseline is None:
        return None, "no baseline model configured: a release is split against production", ""
    if not settings.attribution.enabled:
        return None, "golden_benchmark.attribution.enabled is false", ""
    # the metric and flip-rate splits cost 2^k metric evaluations per resample: only the guaranteed segments get them
    cost = settings.attribution.model_copy(
        update={"max_metric_segments": min(settings.attribution.max_metric_segments, len(bench.guarantees))})
    try:
        result = release_attribution(
            bench.model, bench.baseline, bench.frame, bench.task, y=bench.y, sources=sources or None,
            segments=_segment_keys(bench, bench.guarantees), candidate_columns=list(bench.X.columns),
            baseline_columns=list(bench.X_baseline.columns), metric=bench.primary.name,
            settings=cost, n_bootstrap=settings.n_bootstrap, confidence=settings.confidence,
            seed=settings.seed, decision_threshold=settings.decision_threshold)
    except InputError as exc:
        return None, "", str(exc)
    return result, "", ""


def _output_labels(bench) -> list[str]:
    classes = [str(c) for c in (bench.classes if bench.classes is not None else [])]
    if bench.task == "regression":
        return ["prediction"]
    if bench.task == "binary":
        return [f"P({classes[1]})" if bench.candidate.data.proba is not None else "score"]
    return [f"P({c})" for c in classes]


def guarantee_checks(bench, guarantees: Mapping[str, Any], result: ReleaseAttribution | None) -> list[Check]:
    """``golden.guarantee.*`` for every configured segment criterion.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust,
    ...                         consistency={"segments": {"region=north": {"max_mean_shift": 0.02, "max_flip_rate": 0.1}}})
    >>> for check in guarantee_checks(bench, bench.guarantees, result=None):
    ...     print(check.status, check.id, "-", check.message)
    warn golden.guarantee.mean_shift[region=north] - region=north: mean prediction moved −0.01831 (95% CI -0.06117 to
    0.02459) on 108 rows; inconclusive against ±0.02000: ...
    fail golden.guarantee.flip_rate[region=north] - region=north: 20 of 108 rows change class (0.1852; 95% exact CI
    0.1169 to 0.2714); above the allowed 0.1000 across the whole CI
    """
    if not guarantees:
        return []
    if bench.reference is None:
        out = []
        for key, criterion in guarantees.items():
            parsed = criterion if isinstance(criterion, SegmentCriterion) else SegmentCriterion.model_validate(criterion)
            for kind, limit in (("mean_shift", parsed.max_mean_shift), ("flip_rate", parsed.max_flip_rate)):
                if limit is not None:
                    out.append(Check(f"golden.guarantee.{kind}[{key}]", f"Release guarantee {kind.replace('_', ' ')} "
                                     f"[{key}]", "skip", "no baseline model configured: a guarantee bounds the change "
                                     "from production", severity="critical", threshold={"max": limit}))
        return out
    classifier = bench.task != "regression"
    settings = bench.settings
    return segment_consistency_checks(
        guarantees, bench.frame, bench.candidate.change_score, bench.reference.change_score,
        candidate_classes=bench.candidate.data.pred if classifier else None,
        baseline_classes=bench.reference.data.pred if classifier else None,
        output_labels=_output_labels(bench), attributions=None if result is None else result.segments,
        prefix="golden.guarantee", n_bootstrap=settings.n_bootstrap, confidence=settings.confidence,
        seed=settings.seed, source=str(bench.golden_path))


def _table(result: ReleaseAttribution) -> pd.DataFrame:
    """One row per analysis (all rows, then segments): the total and each player's value with its CI."""
    rows = []
    analyses: list[tuple[str, Attribution]] = [("all golden rows", result.mean_prediction),
                                               *sorted(result.segments.items(), key=lambda kv: -abs(kv[1].total))]
    for label, attribution in analyses:
        rows.append(table_row(label, attribution, {"n": attribution.rows.get("golden", 0)}))
    return pd.DataFrame(rows)


def release_attribution_section(bench) -> Section:
    """``golden.attribution`` and ``golden.guarantee.*`` as one report section.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust,
    ...                         consistency={"segments": {"region=north": {"max_mean_shift": 0.02, "max_flip_rate": 0.1}}})
    >>> section = release_attribution_section(bench)
    >>> [(check.id, check.status) for check in section.checks]  # doctest: +NORMALIZE_WHITESPACE
    [('golden.attribution', 'pass'), ('golden.guarantee.mean_shift[region=north]', 'warn'),
     ('golden.guarantee.flip_rate[region=north]', 'fail')]
    >>> print(section.checks[0].message)
    mean P(1) −0.008789 (95% CI -0.04075 to 0.02395) = model −0.008789, age −0.0006362, visits +0.0006362; [region=north] ...
    >>> section.tables[0].to_dict()["columns"]
    ['rows', 'n', 'Δ mean P(1)', 'model', 'age', 'visits']
    """
    result, reason, error = compute(bench, bench.sources)
    bench._attribution = result
    if error:
        check = Check("golden.attribution", "What moved the predictions: model and sources (candidate vs baseline)",
                      "error", error, severity="info")
    else:
        check = release_attribution_check(result, reason)
    checks = [check, *guarantee_checks(bench, bench.guarantees, result)]
    tables = []
    notes = []
    if result is not None:
        tables.append(Table(_table(result), name="attribution"))
        used = list(dict.fromkeys([*bench.X.columns, *bench.X_baseline.columns]))
        unread = unread_source_columns(bench.sources, used)
        if unread:
            notes.append(f"Listed in sources but read by neither model: {', '.join(unread[:10])}"
                         + (f" and {len(unread) - 10} more" if len(unread) > 10 else "") + ".")
        notes.append(
            "Each row splits the change in mean prediction on those golden rows: 'model' is the release's change at "
            "a typical row (the mean over all rows); each source says how much that segment's values of its columns "
            "move the change away from it (over all rows the sources sum to zero). Values with their CIs in brackets.")
        # other segment values get the mean split only, by design (max_metric_segments is set from the key segments)
        skipped = {k: v for k, v in result.skipped.items() if not k.startswith("metric and flips [")}
        if result.metric is not None or result.flips is not None:
            notes.append("The primary metric and the flip rate are split for all rows"
                         + (" and the key segments of consistency.segments." if bench.guarantees else "."))
        if skipped:
            notes.append("Not split: " + "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:4]) + ".")
    elif not error:
        notes.append(f"Release attribution: {reason}.")
    return Section(TITLE, checks=checks, tables=tables, note=visible(" ".join(notes)), name=NAME)


def release_attribution_figure(bench):
    """The waterfall of the segment that moved most (or all rows), from plain data; None without a result.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), segments=["region"], trust=trust,
    ...                         consistency={"segments": {"region=north": {"max_mean_shift": 0.02, "max_flip_rate": 0.1}}})
    >>> release_attribution_figure(bench) is None  # the section has not run yet
    True
    >>> _ = release_attribution_section(bench)
    >>> release_attribution_figure(bench)  # region=north: the guaranteed segment, which moved more than all rows
    <FigurePNG ...>
    """
    from readiness.figures.attribution import waterfall_figure

    result = getattr(bench, "_attribution", None)
    if result is None:
        return None
    guaranteed = [result.segments[k] for k in bench.guarantees if k in result.segments]
    candidates = guaranteed or list(result.segments.values())
    if candidates:
        moved = max(candidates, key=lambda a: abs(a.total))
        if abs(moved.total) > abs(result.mean_prediction.total):
            return waterfall_figure(moved.to_dict())
    return waterfall_figure(result.mean_prediction.to_dict())


def attribution_inputs(sources: Mapping[str, Any] | None, consistency: Mapping[str, Any] | None
                       ) -> tuple[dict[str, list[str]] | None, dict[str, SegmentCriterion]]:
    """readiness.yaml's ``sources`` and ``consistency`` as the kernel receives them, validated with the CLI's messages.

    Examples
    --------
    >>> attribution_inputs({"crm": ["plan"]}, {"segments": {"region=north": {"max_mean_shift": 0.02}}})[1]
    {'region=north': SegmentCriterion(max_mean_shift=0.02, max_flip_rate=None)}
    """
    from readiness.config import section_settings

    checked = section_settings("sources", sources, "notebook parameters") if sources else None
    guarantees = section_settings("consistency", consistency, "notebook parameters")
    return (None if checked is None else dict(checked)), dict(guarantees.segments)
