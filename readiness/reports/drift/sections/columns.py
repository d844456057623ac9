"""Column drift: one effect size decides per column, and the share of drifted columns gates the dataset.

Owns ``drift.column.<name>`` and ``drift.dataset``. Builds the data of the two
column figures (scores against thresholds, reference vs current distributions).

Examples
--------
>>> columns_section(core).tables[0].to_dict()["columns"][:5]  # doctest: +SKIP
['column', 'kind', 'method', 'score', 'threshold']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from readiness.display import Section, Table, number
from readiness.reports.drift.core import FALSE_FLAGS_PER_REPORT, PREDICTION
from readiness.results import Check
from readiness.stats.drift_scores import METHODS, quality_shifts
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "columns"


def columns_section(core: "DriftCore") -> Section:
    """One check per scored column (its deciding method against its threshold) and the share of drifted columns.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # age moves by one standard deviation
    ...     pd.DataFrame({"age": rng.normal(mean, 10, 500).round(),
    ...                   "plan": rng.choice(["basic", "pro"], 500)}).to_csv(folder / name, index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> section = columns_section(core)
    >>> [(check.id, check.status) for check in section.checks]
    [('drift.column.age', 'warn'), ('drift.column.plan', 'pass'), ('drift.dataset', 'fail')]
    >>> section.checks[0].message
    'Wasserstein / reference std 0.9512 ≥ threshold 0.1293 (numeric; drift; the sampling noise at 500 rows ...'
    >>> print(section.checks[-1].message)
    1 of 2 columns drifted (50%); the gate fails at 50%; thresholds are ...
    """
    checks, rows = [], []
    drifted = 0
    judged = 0
    for name, scores in core.scores.items():
        if name == PREDICTION or name == core.target:
            continue
        ref = core.reference[name]
        method = core.method_for(ref.kind)
        score, threshold = scores[method], core.thresholds[name]
        judged += 1
        is_drift = bool(np.isfinite(score) and score >= threshold)
        drifted += is_drift
        failing = core.fail_threshold(name, method)
        is_large = bool(is_drift and score >= failing)
        others = ", ".join(f"{METHODS[m].title_for(ref.kind)} {fmt(v)}" for m, v in scores.items() if m != method)
        noise = core.noise_levels.get(name)
        basis = (f"; the sampling noise at {core.current[name].n:,} rows reaches {fmt(noise)}"
                 if noise is not None and np.isfinite(noise) else "")
        large = (f"; at least {fmt(failing)}, a large effect: this column describes another population than "
                 "the one the model learned" if is_large else "")
        checks.append(Check(f"drift.column.{name}", f"Drift of {name}",
                            "fail" if is_large else "warn" if is_drift else "pass",
                            f"{METHODS[method].title_for(ref.kind)} {fmt(score)} {'≥' if is_drift else '<'} threshold "
                            f"{fmt(threshold)} ({ref.kind}; {'drift' if is_drift else 'no drift'}{basis}){large}; "
                            f"also {others}", severity="major", value=score,
                            threshold={"max": threshold, "fail": failing},
                            details={"method": method, "scores": scores, "noise": noise}))
        rows.append({"column": name, "kind": ref.kind, "method": METHODS[method].title_for(ref.kind), "score": score,
                     "threshold": threshold, "verdict": "drift" if is_drift else "ok",
                     **{METHODS[m].title_for(ref.kind): v for m, v in scores.items() if m != method}})
    share = drifted / judged if judged else 0.0
    gate = core.settings.drift_share
    checks.append(Check("drift.dataset", "Share of drifted columns", "fail" if share >= gate else "pass",
                        f"{drifted} of {judged} columns drifted ({share:.0%}); the gate fails at {gate:.0%}"
                        + false_flag_note(core, judged), severity="critical", value=share, threshold={"max": gate}))
    rows.sort(key=lambda r: (r["verdict"] != "drift", r["column"]))
    numbers = {column: number() for row in rows for column, value in row.items() if not isinstance(value, str)}
    tables = [Table(rows, name="column_drift", formats=numbers)] if rows else []
    excluded = excluded_columns(core)
    if excluded:
        tables.append(Table(excluded, name="not_scored", title="Not scored for drift"))
    return Section("Column drift", checks=checks, tables=tables, name=NAME,
                   note="Effect sizes, not p-values: Wasserstein / reference std (numeric), Jensen-Shannon distance "
                        "base 2 in [0, 1] (categorical), KS D in [0, 1], PSI on reference deciles.")


def excluded_columns(core: "DriftCore") -> list[dict[str, str]]:
    """Ids and time columns, with the reason; a time column's span in both sets.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, month in (("train.csv", 1), ("today.csv", 2)):
    ...     pd.DataFrame({"customer_id": range(month * 1000, month * 1000 + 300),
    ...                   "signed_up": pd.date_range(f"2024-0{month}-01", periods=300, freq="h"),
    ...                   "age": np.random.default_rng(month).normal(40, 10, 300).round(),
    ...                   }).to_csv(folder / name, index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> excluded = excluded_columns(core)
    >>> [row["column"] for row in excluded], excluded[0]["why"]
    (['customer_id', 'signed_up'], 'integers, all 300 unique and increasing: an id or row number, ...')
    >>> excluded[1]["reference span"], excluded[1]["current span"]
    ('2024-01-01 00:00:00 to 2024-01-13 11:00:00 (12.5 days)', '2024-02-01 00:00:00 to 2024-02-13 11:00:00 (12.5 days)')
    """
    rows = []
    for name, ref in core.reference.items():
        if name == PREDICTION or ref.kind not in ("skipped", "datetime") or name not in core.current_columns:
            continue
        row = {"column": name, "why": ref.reason, "reference span": "", "current span": ""}
        if ref.kind == "datetime":
            cur = core.current[name]
            row["reference span"] = time_span(ref.ref_minimum, ref.ref_maximum)
            row["current span"] = time_span(cur.minimum, cur.maximum)
        rows.append(row)
    return rows


def false_flag_note(core: "DriftCore", columns: int) -> str:
    """How many false flags the thresholds allow across ``columns`` columns (empty for fixed thresholds).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> print(false_flag_note(SimpleNamespace(settings=SimpleNamespace(thresholds="learned")), 12))
    ; learned thresholds (the sampling noise of each score at this size): about 0.05 false flags expected across all 12 columns
    >>> false_flag_note(SimpleNamespace(settings=SimpleNamespace(thresholds="default"), noise_levels={}), 12)
    ''
    """
    if core.settings.thresholds == "learned":
        return (f"; learned thresholds (the sampling noise of each score at this size): about "
                f"{FALSE_FLAGS_PER_REPORT:g} false flags expected across all {columns} columns")
    if core.settings.thresholds == "auto" and core.noise_levels:
        return (f"; thresholds are each method's documented level, raised to the sampling noise at this size where "
                f"larger: at most {FALSE_FLAGS_PER_REPORT:g} false flags expected across all {columns} columns")
    return ""


def time_span(low: float | None, high: float | None) -> str:
    """A time span as ``start to end (n days)`` from nanosecond timestamps; ``—`` when unknown.

    Examples
    --------
    >>> time_span(pd.Timestamp("2024-03-01").value, pd.Timestamp("2024-03-15 12:00").value)
    '2024-03-01 00:00:00 to 2024-03-15 12:00:00 (14.5 days)'
    >>> time_span(None, None)
    '—'
    """
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "—"
    start, end = pd.Timestamp(int(low)), pd.Timestamp(int(high))
    days = (end - start).total_seconds() / 86400
    return f"{start.isoformat(sep=' ')} to {end.isoformat(sep=' ')} ({days:,.1f} days)"



def scores_figure_data(core: "DriftCore") -> list[dict[str, Any]]:
    """The argument of :func:`readiness.figures.drift.drift_scores_figure`: per scored column its
    score ÷ threshold and the change of its missing-value rate in percentage points.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # age moves by one standard deviation
    ...     pd.DataFrame({"age": rng.normal(mean, 10, 500).round(),
    ...                   "plan": rng.choice(["basic", "pro"], 500)}).to_csv(folder / name, index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> [(d["column"], round(d["ratio"], 2), d["missing_change"]) for d in scores_figure_data(core)]
    [('age', 7.36, 0.0), ('plan', 0.24, 0.0)]
    """
    columns = []
    for name, scores in core.scores.items():
        if name.startswith("__") or name == core.target:  # predictions and labels have their own section
            continue
        method = core.method_for(core.reference[name].kind)
        ratio = scores[method] / core.thresholds[name] if core.thresholds[name] else 0.0
        shifts = quality_shifts(core.reference[name], core.current[name])
        columns.append({"column": name, "ratio": ratio,
                        "missing_change": 100 * (shifts["missing_current"] - shifts["missing_reference"])})
    return columns


def distributions_figure_data(core: "DriftCore") -> list[dict[str, Any]]:
    """The argument of :func:`readiness.figures.drift.drift_distributions_figure`: the most drifted
    columns (``drift.top_plots``), reference vs current drawn from the profiles.

    Numeric columns get densities (share ÷ bin width) on about 30 bins grouped from the
    profile's edges, so unequal bin widths do not distort the shape; values beyond the
    reference range sit in the outer bins.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # age moves by one standard deviation
    ...     pd.DataFrame({"age": rng.normal(mean, 10, 500).round(),
    ...                   "plan": rng.choice(["basic", "pro"], 500)}).to_csv(folder / name, index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> panels = distributions_figure_data(core)  # the most drifted first
    >>> [(panel["column"], panel["symbol"], round(panel["score"], 3)) for panel in panels]
    [('age', 'W/std', 0.951), ('plan', 'JS', 0.024)]
    >>> len(panels[0]["edges"]), panels[1]["categories"]
    (31, ['basic', 'pro', '__other__', '__unseen__'])
    """
    ranked = []
    for name, scores in core.scores.items():
        if name.startswith("__") or name == core.target:  # predictions and labels have their own section
            continue
        method = core.method_for(core.reference[name].kind)
        ranked.append((scores[method] / core.thresholds[name], name))
    panels = []
    for _, name in sorted(ranked, reverse=True)[: core.settings.top_plots]:
        ref, cur = core.reference[name], core.current[name]
        method = core.method_for(ref.kind)
        panel: dict[str, Any] = {"column": name, "symbol": METHODS[method].symbol, "score": core.scores[name][method],
                                 "threshold": core.thresholds[name]}
        if ref.kind in ("numeric", "datetime") and ref.edges:
            knots = np.array([ref.ref_minimum, *ref.edges, ref.ref_maximum])
            groups = np.unique(np.linspace(0, len(knots) - 1, 31).astype(int))
            edges = knots[groups]
            panel["edges"] = edges
            for key, profile in (("reference", ref), ("current", cur)):
                counts = np.add.reduceat(np.asarray(profile.counts, float), groups[:-1])
                panel[key] = counts / max(profile.present, 1) / np.maximum(np.diff(edges), 1e-300)
        else:
            panel["categories"] = list(ref.categories)
            panel["reference"] = np.asarray(ref.counts) / max(ref.present, 1)
            panel["current"] = np.asarray(cur.counts) / max(cur.present, 1)
        panels.append(panel)
    return panels
