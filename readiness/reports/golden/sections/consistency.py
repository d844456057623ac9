"""Release consistency: does the candidate behave like production and like the observed labels?

Owns ``golden.consistency.*``: the mean-prediction ratio against the baseline (the
classic silent failure), prediction bias against the observed label mean, flips at the
decision threshold and the per-row score change. Its tables: the mean predictions side
by side, and the rows whose prediction changed most.

Examples
--------
>>> section = consistency_section(core)  # doctest: +SKIP
>>> [t.name for t in section.tables]  # doctest: +SKIP
['mean_prediction', 'most_changed_rows']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from readiness.display import Section, Table
from readiness.results import Check
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore, ModelOutputs

NAME = "consistency"


def consistency_section(core: "GoldenCore") -> Section:
    """Mean prediction against the labels and the baseline, flips, per-row change, most-changed rows.

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
    >>> section = consistency_section(bench)
    >>> for check in section.checks:
    ...     print(check.status, check.id)
    pass golden.consistency.prediction_bias
    pass golden.consistency.mean_prediction_ratio
    pass golden.consistency.prediction_bias.baseline
    pass golden.consistency.flip_rate
    pass golden.consistency.negative_flip_rate
    pass golden.consistency.score_change
    >>> print(section.checks[1].message)
    mean prediction 0.5061 vs the baseline's 0.5149: ratio ×0.9829, within [0.8000, 1.250]
    >>> [table.name for table in section.tables]
    ['mean_prediction', 'most_changed_rows']
    """
    settings = core.settings.consistency
    low, high = settings.mean_prediction_ratio
    checks: list[Check] = []
    tables: list[Table] = []
    label_mean = core.label_mean()
    label_interval = label_mean_interval(core)
    checks.append(ratio_check(
        core, "golden.consistency.prediction_bias", "Candidate mean prediction vs observed label mean",
        core.candidate.mean_prediction, label_mean, "the observed label mean", (low, high), "critical",
        label_interval))
    if core.reference is None:
        checks.append(Check("golden.consistency.mean_prediction_ratio", "Mean prediction: candidate / baseline", "skip",
                            "no baseline model configured", severity="critical"))
        return Section("Release consistency", checks=checks, name=NAME,
                       note="Comparisons with the production model need a baseline.")
    checks.append(ratio_check(
        core, "golden.consistency.mean_prediction_ratio", "Mean prediction: candidate / baseline",
        core.candidate.mean_prediction, core.reference.mean_prediction, "the baseline's", (low, high), "critical"))
    checks.append(ratio_check(
        core, "golden.consistency.prediction_bias.baseline", "Baseline mean prediction vs observed label mean",
        core.reference.mean_prediction, label_mean, "the observed label mean", (low, high), "info", label_interval))
    if core.task != "regression":
        checks.extend(flip_checks(core))
    change = score_change(core)
    q50, q95, qmax = np.quantile(change, [0.5, 0.95, 1.0])
    unit = "probability" if core.task != "regression" else "target units"
    checks.append(Check("golden.consistency.score_change", "Per-row |Δ score| (candidate vs baseline)", "pass",
                        f"|Δ score| p50 {fmt(q50)}, p95 {fmt(q95)}, max {fmt(qmax)} ({unit})", severity="info",
                        value=float(q95), details={"p50": q50, "p95": q95, "max": qmax}))
    vector = {"candidate": _vector, "baseline": _vector, "observed labels": _vector}
    tables.append(Table([{"quantity": "mean prediction", "candidate": _shown(core.candidate.mean_prediction, core.task),
                          "baseline": _shown(core.reference.mean_prediction, core.task),
                          "observed labels": _shown(label_mean, core.task)}], name="mean_prediction", formats=vector))
    top = settings.top_changed_rows
    if top:
        order = np.argsort(-change, kind="stable")[:top]
        columns = list(dict.fromkeys(core.segment_columns + [core.target] + list(core.X.columns)[:6]))
        listing = core.frame.iloc[order][columns].copy()
        listing.insert(0, "row", order)
        listing["candidate"] = _row_scores(core.candidate, order)
        listing["baseline"] = _row_scores(core.reference, order)
        listing["|Δ|"] = np.round(change[order], 4)
        tables.append(Table(listing, name="most_changed_rows", title="Most-changed rows",
                            formats={"candidate": _scores, "baseline": _scores}))
    note = ("A model whose mean prediction moves far from production or from the observed labels changes every "
            f"downstream baseline, even when ranking metrics look fine. Allowed ratio: [{fmt(low)}, {fmt(high)}].")
    return Section("Release consistency", checks=checks, tables=tables, note=note, name=NAME)


def score_change(core: "GoldenCore") -> np.ndarray:
    """|candidate − baseline| per row: the score (binary), the largest class probability change
    (multiclass) or the prediction (regression).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> core = SimpleNamespace(candidate=SimpleNamespace(change_score=np.array([0.9, 0.2, 0.55])),
    ...                        reference=SimpleNamespace(change_score=np.array([0.8, 0.2, 0.35])))
    >>> score_change(core).round(3)
    array([0.1, 0. , 0.2])
    """
    change = np.abs(np.asarray(core.candidate.change_score, float) - np.asarray(core.reference.change_score, float))
    return change.max(axis=1) if change.ndim == 2 else change


def label_mean_interval(core: "GoldenCore") -> tuple[np.ndarray, np.ndarray]:
    """99% interval of the observed label mean (per class: Wilson): the golden set's own sampling
    noise, which a rare class or a small set makes wide.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> core = SimpleNamespace(task="binary", y=np.array([0] * 90 + [1] * 10), classes=np.array([0, 1]))
    >>> low, high = label_mean_interval(core)  # per class: the label shares 0.9 and 0.1 on 100 rows
    >>> low.round(3), high.round(3)
    (array([0.796, 0.046]), array([0.954, 0.204]))
    """
    z, n = 2.5758, len(core.y)
    if core.task == "regression":
        half = z * float(np.std(core.y, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
        return np.array([core.y.mean() - half]), np.array([core.y.mean() + half])
    p = np.bincount(core.y, minlength=len(core.classes)) / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n * n)) / (1 + z**2 / n)
    return centre - half, centre + half


def ratio_check(core: "GoldenCore", check_id, title, numerator, denominator, what, bounds, severity,
                interval=None) -> Check:
    """Mean prediction over a reference mean within [low, high]. With ``interval`` (the reference
    mean's sampling interval) the bounds widen by it: low × its lower end to high × its upper end.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> core = SimpleNamespace(task="binary", classes=np.array([0, 1]), y=np.zeros(1000))
    >>> check = ratio_check(core, "golden.consistency.mean_prediction_ratio", "Mean prediction: candidate / baseline",
    ...                     [0.7, 0.3], [0.85, 0.15], "the baseline's", (0.8, 1.25), "critical")
    >>> check.status, check.value
    ('fail', 2.0)
    >>> print(check.message)
    mean prediction 0.3000 vs the baseline's 0.1500: ratio ×2.000: predictions are 2.00× higher on average, outside
    [0.8000, 1.250]. Mean prediction shift: a silent failure nothing else raises
    """
    low, high = bounds
    numerator = np.asarray(numerator, float)
    denominator = np.asarray(denominator, float)
    lower = upper = None
    if interval is not None:
        lower, upper = (np.asarray(v, float) for v in interval)
    if core.task == "binary":
        numerator, denominator = numerator[1:], denominator[1:]
        if interval is not None:
            lower, upper = lower[1:], upper[1:]
    labels = ["mean"] if core.task != "multiclass" else [str(c) for c in core.classes]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = numerator / denominator
    threshold = {"min": low, "max": high}
    if not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
        bad = [labels[i] for i in range(len(ratios)) if not np.isfinite(ratios[i]) or ratios[i] <= 0]
        status = "fail" if severity != "info" else "pass"
        return Check(check_id, title, status,
                     f"ratio undefined or negative for {', '.join(bad)}: candidate {_fmt_vec(numerator)} vs "
                     f"{what} {_fmt_vec(denominator)}; the mean prediction changed sign or the reference is 0",
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
        noise = (f" (the label mean's 99% interval on {len(core.y):,} rows is {fmt(lower[worst])} to "
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


def flip_checks(core: "GoldenCore") -> list[Check]:
    """``golden.consistency.flip_rate`` and ``negative_flip_rate``: rows whose class changed, and those
    that were right before and are wrong now.

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
    ...                         baseline_path=str(folder / "baseline.joblib"), trust=trust,
    ...                         settings={"consistency": {"max_negative_flip_rate": 0.02}})
    >>> for check in flip_checks(bench):
    ...     print(check.status, check.id, "-", check.message)
    pass golden.consistency.flip_rate - 33 of 200 rows change class (0.1650): 8 right before and wrong now (negative
    flips), 25 wrong before and right now; reported, no limit set
    fail golden.consistency.negative_flip_rate - negative flip rate 0.04000 > limit 0.02000; 33 of 200 rows change class
    (0.1650): ...
    """
    settings = core.settings.consistency
    cand, base, y = core.candidate.data.pred, core.reference.data.pred, core.y
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


def scores_figure_data(core: "GoldenCore") -> dict[str, Any] | None:
    """The arguments of :func:`readiness.figures.golden.scores_figure`; None without a baseline.

    Multiclass models are compared on the probability of the true class.

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
    >>> data = scores_figure_data(bench)
    >>> data["candidate"][:3].round(3), data["baseline"][:3].round(3), data["what"]  # P(churned) of the first rows
    (array([0.031, 0.005, 0.334]), array([0.156, 0.094, 0.25 ]), 'score')
    """
    if core.reference is None:
        return None
    cand = np.asarray(core.candidate.change_score, float)
    base = np.asarray(core.reference.change_score, float)
    if cand.ndim == 2:
        index = np.arange(len(core.y))
        cand, base = cand[index, core.y], base[index, core.y]
    return {"candidate": cand, "baseline": base, "what": "prediction" if core.task == "regression" else "score",
            "seed": core.settings.seed}


def _shown(values, task: str) -> list[float]:
    """A mean-prediction vector as shown: the positive class alone for a binary model."""
    values = np.atleast_1d(np.asarray(values, float))
    return list(values[1:] if task == "binary" and len(values) == 2 else values)


def _fmt_vec(values) -> str:
    return ", ".join(fmt(v) for v in np.atleast_1d(np.asarray(values, float)))


def _vector(values, row) -> str:
    return _fmt_vec(values)


def _row_scores(outputs: "ModelOutputs", rows: np.ndarray) -> list:
    """Each row's score (a list of class probabilities for multiclass models)."""
    score = np.asarray(outputs.change_score, float)[rows]
    return [list(r) for r in score] if score.ndim == 2 else list(score)


def _scores(value, row) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(f"{v:.3f}" for v in value)
    return fmt(value)
