"""Data attribution: the drift report's section on which source moved the predictions.

Owns ``drift.attribution``: the change in mean prediction from the reference to the
current data split by source (``sources:`` in readiness.yaml; each column alone by
default) through the model; with a baseline model too, the full split: the baseline
scores the reference, the candidate the current data, and ``model`` is a player beside
the sources, all summing exactly to the total. ``details.contributions`` maps each player
to its value and CI, ``details.total`` holds the total change with its CI. The work is
done by :mod:`readiness.stats.attribution`; the waterfall by :mod:`readiness.figures.attribution`.

The current data is streamed; the attribution uses the uniform sample of it the report
keeps (``drift.attribution.max_rows`` rows, as for the reference), so its total is the
change on those samples and its CIs carry their sampling error.

Examples
--------
>>> section = data_attribution_section(drift)  # doctest: +SKIP
>>> section.checks[0].details["total"]  # doctest: +SKIP
{'value': 0.0312, 'ci': [0.027, 0.035]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from readiness.display import Section, Table
from readiness.escape import visible
from readiness.exceptions import InputError
from readiness.results import Check
from readiness.stats.attribution.checks import data_attribution_check
from readiness.stats.attribution.decomposition import DataAttribution
from readiness.stats.attribution.settings import parse_segment_key, unread_source_columns
from readiness.stats.gates import fmt

NAME = "attribution"
TITLE = "What moved the predictions, and from where"


@dataclass
class AttributionOptions:
    """What the drift report's attribution needs beyond the report: the baseline, sources, key segments."""

    baseline_path: str = ""
    sources: dict[str, list[str]] | None = None
    segments: list[str] = field(default_factory=list)
    trust: dict[str, Any] | None = None
    result: DataAttribution | None = None


def attribution_options(baseline_path: str = "", sources: Mapping[str, Any] | None = None,
                        consistency: Mapping[str, Any] | None = None,
                        trust: Mapping[str, Any] | None = None) -> AttributionOptions:
    """The notebook's parameters validated with the CLI's messages (``sources:``, ``consistency:``).

    Examples
    --------
    >>> attribution_options("", {"crm": ["plan"]}, {"segments": {"region=north": {"max_mean_shift": 0.02}}}).segments
    ['region=north']
    """
    from readiness.reports.golden.attribution import attribution_inputs

    checked, guarantees = attribution_inputs(sources, consistency)
    return AttributionOptions(baseline_path or "", checked, list(guarantees), dict(trust or {}))


def sample_rows(report) -> int:
    """Rows of the current stream the report must keep for the attribution (0 when it will not run)."""
    settings = report.settings.attribution
    return settings.max_rows if settings.enabled and report.model is not None else 0


def _task(model) -> str:
    classes = model.classes
    return "regression" if classes is None else ("binary" if len(classes) == 2 else "multiclass")


def compute(report) -> tuple[DataAttribution | None, str, str, dict[str, Any]]:
    """(result, reason it is missing, error text, the models it used)."""
    from readiness.reports.drift.report import PREDICTION
    from readiness.stats.attribution.data import data_attribution

    options: AttributionOptions = report.attribution_options
    settings = report.settings
    if report.model is None:
        return None, "no model given: the attribution splits the change in the model's mean prediction", "", {}
    if not settings.attribution.enabled:
        return None, "drift.attribution.enabled is false", "", {}
    if report.reference_frame is None:
        return None, "the reference is a saved profile: the attribution needs the reference rows", "", {}
    cap = settings.attribution.max_rows
    reference = report.reference_frame.drop(columns=[PREDICTION], errors="ignore")
    if len(reference) > cap:
        reference = reference.sample(cap, random_state=settings.seed)
    current = report.sample.drop(columns=[PREDICTION], errors="ignore").head(cap)
    models = {"new": {"role": "model", "path": str(report.model_info.path), "sha256": report.model_info.sha256}}
    old, new = report.model, None
    if options.baseline_path:
        from readiness.artifacts.loading import ModelAdapter, load_model

        estimator, info = load_model(options.baseline_path, "baseline", options.trust)
        old, new = ModelAdapter(estimator, "baseline"), report.model
        models["old"] = {"role": "baseline", "path": str(info.path), "sha256": info.sha256}
    task = _task(report.model)
    if new is not None and _task(old) != task:
        return None, "", (f"the baseline is a {_task(old)} model and the model a {task} one; the full split needs "
                          "two models of one task"), models
    shared = set(map(str, reference.columns)) & set(map(str, current.columns))
    segments = [key for key in options.segments if parse_segment_key(key)[0] in shared]
    try:
        result = data_attribution(
            old, reference, current, task, sources=options.sources or None, new_model=new, segments=segments,
            settings=settings.attribution, n_bootstrap=settings.n_bootstrap, confidence=settings.confidence,
            seed=settings.seed)
    except InputError as exc:
        return None, "", str(exc), models
    return result, "", "", models


def _table(result: DataAttribution) -> pd.DataFrame:
    rows = []
    for label, attribution in [("all rows", result.mean_prediction), *result.segments.items()]:
        row: dict[str, Any] = {"rows": visible(label), "reference rows": attribution.rows.get("reference", 0),
                               "current rows": attribution.rows.get("current", 0),
                               "Δ " + attribution.quantity: _with_ci(attribution.total, attribution.total_ci)}
        for c in attribution.contributions:
            row[visible(c.name)] = _with_ci(c.value, c.ci)  # names from configs and data: controls written out
        rows.append(row)
    return pd.DataFrame(rows)


def _with_ci(value: float, ci) -> str:
    text = ("+" if value >= 0 else "") + fmt(value)
    return text if ci is None else f"{text} [{fmt(ci[0])}, {fmt(ci[1])}]"


def data_attribution_section(report) -> Section:
    """``drift.attribution`` as one report section."""
    result, reason, error, models = compute(report)
    report.attribution_options.result = result
    if error:
        check = Check("drift.attribution", "What moved the predictions: data sources (and model) from reference to "
                      "current", "error", error, severity="info", details={"models": models})
    else:
        check = data_attribution_check(result, reason)
        if models:
            check.details["models"] = models
    notes, tables = [], []
    if result is not None:
        tables.append(Table(_table(result), name="attribution"))
        model_columns = [c for contribution in result.mean_prediction.contributions for c in contribution.columns]
        unread = unread_source_columns(report.attribution_options.sources, model_columns)
        if unread:
            notes.append(f"Listed in sources but not read by the model: {', '.join(unread[:10])}"
                         + (f" and {len(unread) - 10} more" if len(unread) > 10 else "") + ".")
        two = "old" in models
        notes.append(
            ("The baseline scores the reference rows and the model the current rows; 'model' is the change the new "
             "model makes, each source the change its columns' new values make. " if two else
             "The model scores both; each source is the change its columns' new values make. ")
            + "Shapley values over the players, with the reference rows as background; they sum exactly to the total. "
            f"On uniform samples of at most {report.settings.attribution.max_rows:,} rows of each data set; "
            "CIs in brackets.")
        if result.skipped:
            notes.append("Not split: " + "; ".join(f"{k}: {v}" for k, v in list(result.skipped.items())[:4]) + ".")
    elif not error:
        notes.append(f"Data attribution: {reason}.")
    return Section(TITLE, checks=[check], tables=tables, note=visible(" ".join(notes)), name=NAME)


def data_attribution_figure(report):
    """The waterfall of the whole change, from plain data; None without a result."""
    from readiness.figures.attribution import waterfall_figure

    result = report.attribution_options.result
    return None if result is None else waterfall_figure(result.mean_prediction.to_dict())
