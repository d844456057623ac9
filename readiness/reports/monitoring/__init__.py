"""The monitoring report: a prediction log over time, and the release that changed it.

This module declares the report (light: the driver imports it); the notebook runs
:class:`readiness.reports.monitoring.report.MonitoringReport` (see
:mod:`readiness.reports.monitoring.api` for the public names).
"""

from __future__ import annotations

from typing import Any

from readiness.registry import ReportSpec, SectionSpec
from readiness.reports.monitoring.catalogue import CHECKS


def model_path(config) -> str | None:
    """``monitoring.model`` resolved against the config's folder (a ``module:function`` loader as written).

    Examples
    --------
    >>> from readiness.config import parse_config
    >>> def config(model):
    ...     return parse_config({"predictions": "log/", "monitoring": {"model": model}}, base_dir="/project")
    >>> model_path(config("models/churn.skops")), model_path(config("team_models:load"))
    ('/project/models/churn.skops', 'team_models:load')
    >>> model_path(parse_config({"predictions": "log/"}, base_dir="/project")) is None
    True
    """
    from pathlib import Path

    from readiness.artifacts.trust import is_loader_spec

    model = config.monitoring.model
    if not model:
        return None
    base = Path(getattr(config, "_base_dir", None) or Path.cwd())
    if is_loader_spec(model, base) or Path(model).expanduser().is_absolute():
        return str(Path(model).expanduser()) if not is_loader_spec(model, base) else model
    return str((base / Path(model).expanduser()).resolve())


def parameters(config, context) -> dict[str, Any]:
    """The monitoring notebook's parameters: the log, the reference and labels files, the settings (the model
    path resolved), the trust settings and the releases of the release history.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from readiness.config import parse_config
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"timestamp": pd.date_range("2024-03-01", periods=6, freq="12h"),
    ...               "score": [0.2, 0.3, 0.25, 0.6, 0.7, 0.65]}).to_csv(folder / "log.csv", index=False)
    >>> from readiness.registry import RunContext
    >>> config = parse_config({"predictions": "log.csv", "monitoring": {"prediction": "score", "chunk": "12h"}},
    ...                       base_dir=folder)
    >>> params = parameters(config, RunContext())
    >>> params["log_path"], params["labels_path"], params["releases"]
    ('/.../log.csv', '', [])
    >>> params["settings"]["prediction"], params["settings"]["chunk"], params["settings"]["model"]
    ('score', '12h', None)
    """
    settings = config.monitoring.model_dump(mode="json")
    reference = settings.pop("reference", None)
    settings["model"] = model_path(config)
    return {
        "log_path": str(config.predictions),
        "reference_path": str(reference or ""),
        "labels_path": str(config.labels or ""),
        "settings": settings,
        "trust": config.trust.model_dump(mode="json"),
        "releases": history_releases(config),
    }


def history_releases(config) -> list[dict[str, Any]]:
    """Releases from the release history, when the prediction log has no version column to name them.

    Each ``{"version", "deployed_at", "previous", "source"}`` with versions shortened to 12
    hex digits (the sha256 PredictionLogger writes, as people quote it). Empty when the log
    names its versions, the history is off or empty, or the chunks are rows, not periods.
    A history that cannot be read is said on one line and leaves the report without names.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from readiness.config import parse_config
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"timestamp": pd.date_range("2024-03-01", periods=6, freq="12h"),
    ...               "score": [0.2, 0.3, 0.25, 0.6, 0.7, 0.65]}).to_csv(folder / "log.csv", index=False)
    >>> config = parse_config({"predictions": "log.csv", "monitoring": {"prediction": "score"}}, base_dir=folder)
    >>> history_releases(config)  # no release history yet
    []
    >>> from readiness.history import HistoryStore
    >>> with HistoryStore(config.history.store) as store:  # what `readiness deployed` records
    ...     _ = store.record_deployment("a" * 64, deployed_at="2024-03-01T00:00:00Z")
    ...     _ = store.record_deployment("b" * 64, deployed_at="2024-03-02T12:00:00Z")
    >>> [(release["version"], release["previous"], release["deployed_at"]) for release in history_releases(config)]
    [('aaaaaaaaaaaa', None, '2024-03-01T00:00:00+00:00'), ('bbbbbbbbbbbb', 'aaaaaaaaaaaa', '2024-03-02T12:00:00+00:00')]
    """
    from pathlib import Path

    from readiness.history.record import _short, model_name_for
    from readiness.history.store import describe_store, is_url
    from readiness.reports.monitoring.log import VERSION_NAMES, log_columns, resolve_log

    settings, history = config.monitoring, config.history
    if not history.enabled or settings.chunk.strip().endswith("rows") or settings.version:
        return []
    if not is_url(history.store) and not Path(history.store).is_file():
        return []
    try:
        if settings.version is None and set(VERSION_NAMES) & set(log_columns(resolve_log(str(config.predictions)))):
            return []
        from readiness.history import release_timeline

        releases = release_timeline(history.store, model_name_for(config))
    except Exception as exc:  # the report still runs; only the names are missing
        print(f"warning: releases not read from the release history {describe_store(history.store)} ({_short(exc)})")
        return []
    short = {r["version"]: r["version"][:12] for r in releases}
    return [dict(r, version=short[r["version"]], previous=short.get(r["previous"]) if r["previous"] else None)
            for r in releases]


def preflight(config, context) -> None:
    """Check the monitoring inputs before a kernel starts: the log readable, its timestamp, prediction, version,
    label and id columns present, the model vetted and the engine usable; raises one line naming what is wrong.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from readiness.config import parse_config
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"timestamp": pd.date_range("2024-03-01", periods=6, freq="12h"),
    ...               "score": [0.2, 0.3, 0.25, 0.6, 0.7, 0.65]}).to_csv(folder / "log.csv", index=False)
    >>> from readiness.run.preflight import PreflightContext
    >>> config = parse_config({"predictions": "log.csv"}, base_dir=folder)
    >>> preflight(config, PreflightContext(config, 60))
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: /.../log.csv: no column 'prediction' for the prediction; set monitoring.prediction
    (or --prediction) to one of: 'timestamp', 'score'
    >>> config = parse_config({"predictions": "log.csv", "monitoring": {"prediction": "score"}}, base_dir=folder)
    >>> preflight(config, PreflightContext(config, 60))  # nothing wrong: returns None
    """
    from readiness.exceptions import InputError
    from readiness.reports.monitoring.log import log_columns, resolve_log

    source = resolve_log(str(config.predictions), "predictions")
    columns = log_columns(source)
    settings = config.monitoring
    model = model_path(config)
    if model:
        context.vet(model, "monitoring.model")
    for role in ("timestamp", "prediction"):
        name = getattr(settings, role)
        if role == "timestamp" and settings.chunk.strip().endswith("rows"):
            continue
        if role == "prediction" and (model or not isinstance(name, str)):
            continue  # a model can score a log without predictions; per-class columns are checked by the report
        if name not in columns:
            raise InputError(f"{source.spec}: no column {name!r} for the {role}; set monitoring.{role} "
                             f"(or --{role}) to one of: {context.listing(columns)}")
    for role in ("version", "label", "id"):
        name = getattr(settings, role)
        if name and name not in columns and not (role in ("label", "id") and config.labels):
            raise InputError(f"{source.spec}: no column {name!r} for the {role}; fix monitoring.{role} "
                             f"(columns: {context.listing(columns)})")
    if config.labels is not None:
        context.columns(config.labels, "labels")
    if settings.engine == "spark":
        from readiness.exceptions import ConfigError

        if settings.chunk.strip().endswith("rows"):
            from readiness.reports.monitoring.settings import monitoring_spark_rows_message

            raise ConfigError(monitoring_spark_rows_message(settings.chunk))
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise ConfigError("monitoring.engine spark needs PySpark: pip install 'ml-readiness[spark]' "
                              "(and a Java runtime, 17+)") from None


SPEC = ReportSpec(
    name="monitoring_report",
    title="Monitoring report",
    needs=("predictions",),
    check_prefix="monitoring",
    parameters=parameters,
    preflight=preflight,
    timeout=lambda config: config.monitoring.timeout_s,
    settings_key="monitoring",
    sections=(
        SectionSpec("overview", "Chunks and versions", ("monitoring.chunks", "monitoring.rows")),
        SectionSpec("predictions", "Predictions over time", ("monitoring.mean_prediction", "monitoring.prediction_quantile",
                                                              "monitoring.positive_rate", "monitoring.mean_probability",
                                                              "monitoring.predicted_rate", "monitoring.model_agreement")),
        SectionSpec("features", "Features", ("monitoring.missing", "monitoring.drift")),
        SectionSpec("performance", "Realized performance", ("monitoring.labels", "monitoring.performance")),
        SectionSpec("estimation", "Estimated performance", ("monitoring.estimated",)),
        SectionSpec("changes", "What changed when", ()),
    ),
    checks=CHECKS,
    evidence={
        "monitor.7": ("monitoring.*", "the monitoring report watched predictions and realized performance over time"),
        "monitor.3": ("monitoring.drift.*", "the monitoring report compared serving inputs with the reference"),
    },
    order=30,
)
