"""The drift report: reference vs current data, per column and as a whole.

This module declares the report (light: the driver imports it); the notebook runs
:class:`readiness.reports.drift.report.DriftReport`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readiness.registry import ReportSpec, SectionSpec
from readiness.reports.drift.catalogue import CHECKS


def parameters(config, context) -> dict[str, Any]:
    """The drift notebook's parameters: both data paths, the model (if any), the label and the settings.

    Examples
    --------
    >>> import tempfile
    >>> from readiness.config import parse_config
    >>> from readiness.registry import RunContext
    >>> config = parse_config({"reference": "train.csv", "current": "today.csv", "target": "churned"},
    ...                       base_dir=Path(tempfile.mkdtemp()))
    >>> params = parameters(config, RunContext())
    >>> params["current_path"], params["model_path"], params["target"], params["settings"]["thresholds"]
    ('/.../today.csv', '', 'churned', 'auto')
    """
    return {
        "reference_path": str(config.reference),
        "current_path": str(config.current),
        "model_path": str(config.model) if config.model else "",
        "target": config.target or "",
        "baseline_path": str(config.baseline) if config.baseline and config.model else "",
        "sources": config.sources or {},
        "consistency": config.consistency.model_dump(mode="json"),
        "trust": config.trust.model_dump(mode="json"),
        "settings": config.drift.model_dump(mode="json"),
    }


def preflight(config, context) -> None:
    """Check the drift inputs before a kernel starts: both data sets readable (or a saved profile), URLs
    only on Spark, and the model (and baseline) vetted; raises one line naming what is wrong.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from readiness.config import parse_config
    >>> from readiness.run.preflight import PreflightContext
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"age": [30, 41], "plan": ["basic", "pro"]}).to_csv(folder / "train.csv", index=False)
    >>> config = parse_config({"reference": "train.csv", "current": "today.csv"}, base_dir=folder)
    >>> preflight(config, PreflightContext(config, 60))
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: /.../today.csv: file not found; check the 'current' path
    >>> pd.DataFrame({"age": [35, 52], "plan": ["pro", "pro"]}).to_csv(folder / "today.csv", index=False)
    >>> preflight(config, PreflightContext(config, 60))  # nothing wrong: returns None
    """
    from readiness.config import is_url
    from readiness.exceptions import ConfigError, InputError

    spark = config.drift.engine == "spark"
    if spark and config.model is not None:
        raise ConfigError("drift.engine spark does not score a model's predictions yet; drop the model or use the "
                          "pandas engine")
    for key in ("reference", "current"):
        location = getattr(config, key)
        if key == "reference" and not is_url(location) and Path(location).suffix.lower() == ".json":
            from readiness.stats.profile import load_profile

            load_profile(Path(location))
            if config.drift.thresholds == "learned":
                raise ConfigError(f"drift.thresholds: 'learned' needs reference data, but {location} is a saved "
                                  "profile; use 'auto' or fixed thresholds, or give the reference data")
        elif spark:  # files, folders, globs and URLs: Spark reads them where they are
            from readiness.engines.spark import check_location

            check_location(location, key)
        elif is_url(location):
            raise InputError(f"{location}: a URL, which only the Spark engine reads; pass --engine spark "
                             "(drift.engine: spark in readiness.yaml)")
        else:
            context.columns(Path(location), key)
    if config.model is not None:
        context.vet(config.model, "model")
        if config.baseline is not None and config.drift.attribution.enabled:
            context.vet(config.baseline, "baseline")


SPEC = ReportSpec(
    name="drift_report",
    title="Drift report",
    needs=("reference", "current"),
    check_prefix="drift",
    parameters=parameters,
    preflight=preflight,
    timeout=lambda config: config.drift.timeout_s,
    settings_key="drift",
    sections=(
        SectionSpec("schema", "Schema", ("drift.schema",)),
        SectionSpec("columns", "Column drift", ("drift.column", "drift.dataset")),
        SectionSpec("quality", "Data quality", ("drift.missing", "drift.unseen", "drift.range", "drift.units")),
        SectionSpec("prediction", "Predictions and labels", ("drift.prediction", "drift.target")),
        SectionSpec("multivariate", "Multivariate", ("drift.multivariate",)),
        SectionSpec("attribution", "What moved the predictions, and from where", ("drift.attribution",)),
    ),
    checks=CHECKS,
    evidence={
        "data.1": ("drift.schema.*", "the drift report checked the schema against the reference"),
        "monitor.2": ("drift.*", "the drift report checked data invariants against the reference"),
    },
    order=20,
)
