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
from readiness.stats.attribution.checks import table_row, data_attribution_check
from readiness.stats.attribution.decomposition import DataAttribution
from readiness.stats.attribution.settings import parse_segment_key, unread_source_columns
from readiness.stats.gates import fmt

NAME = "attribution"
TITLE = "What moved the predictions, and from where"


@dataclass
class AttributionOptions:
    """What the drift report's attribution needs beyond the report: the baseline, sources, key segments.

    Examples
    --------
    >>> AttributionOptions(sources={"crm": ["plan", "tenure"]}, segments=["region=north"])
    AttributionOptions(baseline_path='', sources={'crm': ['plan', 'tenure']}, segments=['region=north'],
                       trust=None, result=None)
    >>> attribution_options("", {"crm": ["plan", "tenure"]}).sources  # validated, as the notebook receives them
    {'crm': ['plan', 'tenure']}
    """

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
    """Rows of the current stream the report must keep for the attribution (0 when it will not run).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from readiness.config import section_settings
    >>> settings = section_settings("drift", {"attribution": {"max_rows": 20_000}}, "settings")
    >>> sample_rows(SimpleNamespace(settings=settings, model=object()))  # with a model
    20000
    >>> sample_rows(SimpleNamespace(settings=settings, model=None))  # no model: no attribution
    0
    """
    settings = report.settings.attribution
    return settings.max_rows if settings.enabled and report.model is not None else 0


def _task(model) -> str:
    classes = model.classes
    return "regression" if classes is None else ("binary" if len(classes) == 2 else "multiclass")


def compute(report) -> tuple[DataAttribution | None, str, str, dict[str, Any]]:
    """(result, reason it is missing, error text, the models it used).

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # older customers now; visits as before
    ...     age, visits = rng.normal(mean, 10, 300).round(), rng.poisson(3, 300)
    ...     churned = (rng.random(300) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    ...     pd.DataFrame({"age": age, "visits": visits, "churned": churned}).to_csv(folder / name, index=False)
    >>> train = pd.read_csv(folder / "train.csv")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "model.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()]}  # load in-process
    >>> report = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"), model_path=str(folder / "model.joblib"),
    ...                    target="churned", trust=trust)
    >>> result, reason, error, models = compute(report)
    >>> split = result.mean_prediction.to_dict()
    >>> round(split["total"]["value"], 3), {name: round(c["value"], 3) for name, c in split["contributions"].items()}
    (0.2, {'age': 0.199, 'visits': 0.001})
    >>> models["new"]["role"], reason, error
    ('model', '', '')
    >>> compute(DriftCore(str(folder / "train.csv"), str(folder / "today.csv")))[1]  # no model, no split
    "no model given: the attribution splits the change in the model's mean prediction"
    """
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
    segments = [key for key in options.segments if parse_segment_key(key, shared)[0] in shared]
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
        rows.append(table_row(label, attribution, {"reference rows": attribution.rows.get("reference", 0), "current rows": attribution.rows.get("current", 0)}))
    return pd.DataFrame(rows)


def data_attribution_section(report) -> Section:
    """``drift.attribution`` as one report section.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # older customers now; visits as before
    ...     age, visits = rng.normal(mean, 10, 300).round(), rng.poisson(3, 300)
    ...     churned = (rng.random(300) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    ...     pd.DataFrame({"age": age, "visits": visits, "churned": churned}).to_csv(folder / name, index=False)
    >>> train = pd.read_csv(folder / "train.csv")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "model.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()]}  # load in-process
    >>> report = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"), model_path=str(folder / "model.joblib"),
    ...                    target="churned", trust=trust)
    >>> section = data_attribution_section(report)
    >>> check = section.checks[0]
    >>> check.id, check.status
    ('drift.attribution', 'pass')
    >>> print(check.message)
    mean P(1) +0.2001 (95% CI 0.1670 to 0.2351) = age +0.1988, visits +0.001254; largest clear share: age +0.1988 (99%
    of the change)
    >>> section.tables[0].to_dict()["columns"]
    ['rows', 'reference rows', 'current rows', 'Δ mean P(1)', 'age', 'visits']
    """
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
    """The waterfall of the whole change, from plain data; None without a result.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # older customers now; visits as before
    ...     age, visits = rng.normal(mean, 10, 300).round(), rng.poisson(3, 300)
    ...     churned = (rng.random(300) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    ...     pd.DataFrame({"age": age, "visits": visits, "churned": churned}).to_csv(folder / name, index=False)
    >>> train = pd.read_csv(folder / "train.csv")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "model.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()]}  # load in-process
    >>> report = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"), model_path=str(folder / "model.joblib"),
    ...                    target="churned", trust=trust)
    >>> data_attribution_figure(report) is None  # the section has not run yet
    True
    >>> _ = data_attribution_section(report)
    >>> data_attribution_figure(report)
    <FigurePNG ...>
    """
    from readiness.figures.attribution import waterfall_figure

    result = report.attribution_options.result
    return None if result is None else waterfall_figure(result.mean_prediction.to_dict())
