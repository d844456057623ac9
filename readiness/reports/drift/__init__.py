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
    from readiness.exceptions import ConfigError

    reference = Path(config.reference)
    if reference.suffix.lower() == ".json":
        from readiness.stats.profile import load_profile

        load_profile(reference)
        if config.drift.thresholds == "learned":
            raise ConfigError(f"drift.thresholds: 'learned' needs reference data, but {reference} is a saved profile; "
                              "use 'auto' or fixed thresholds, or give the reference data")
    else:
        context.columns(reference, "reference")
    context.columns(Path(config.current), "current")
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
