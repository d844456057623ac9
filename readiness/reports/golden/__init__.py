"""The golden benchmark: the candidate on a fixed, labelled golden dataset, gated.

This module declares the report (light: the driver imports it); the notebook runs
:class:`readiness.reports.golden.benchmark.GoldenBenchmark`.
"""

from __future__ import annotations

from typing import Any

from readiness.registry import ReportSpec, SectionSpec
from readiness.reports.golden.catalogue import CHECKS


def parameters(config, context) -> dict[str, Any]:
    """The golden notebook's parameters: the models, the golden set, its label and segments, the settings,
    and the earlier releases of the release history (for the trend).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.config import parse_config
    >>> from readiness.registry import RunContext
    >>> config = parse_config({"model": "model.skops", "golden": "golden.csv", "target": "churned",
    ...                        "segments": ["region"]}, base_dir=Path(tempfile.mkdtemp()))
    >>> params = parameters(config, RunContext())
    >>> params["model_path"], params["baseline_path"], params["target"], params["segments"]
    ('/.../model.skops', '', 'churned', ['region'])
    >>> params["settings"]["decision_threshold"], params["history"]["releases"]
    (0.5, [])
    """
    return {
        "model_path": str(config.model),
        "baseline_path": str(config.baseline) if config.baseline else "",
        "golden_path": str(config.golden),
        "target": config.target,
        "task": config.task,
        "segments": list(config.segments),
        "sources": config.sources or {},
        "consistency": config.consistency.model_dump(mode="json"),
        "trust": config.trust.model_dump(mode="json"),
        "settings": config.golden_benchmark.model_dump(mode="json"),
        "history": _trend_parameters(config),
    }


def _trend_parameters(config) -> dict[str, Any]:
    from readiness.history.trend import trend_parameters  # earlier releases, read by the driver

    return trend_parameters(config)


def preflight(config, context) -> None:
    """Check the golden inputs before a kernel starts: the models vetted, and the target, segment, guarantee,
    source and robustness columns present in the golden set; raises one line naming what is wrong.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.config import parse_config
    >>> from readiness.run.preflight import PreflightContext
    >>> folder = Path(tempfile.mkdtemp())
    >>> golden = pd.DataFrame({"age": [31, 45, 28, 52, 39, 60], "region": ["north", "south"] * 3,
    ...                        "churned": [0, 1, 0, 1, 0, 1]})
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(golden[["age"]], golden["churned"]), folder / "model.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()]}  # no sandbox
    >>> settings = {"model": "model.joblib", "golden": "golden.csv", "target": "churned", "trust": trust}
    >>> config = parse_config({**settings, "segments": ["country"]}, base_dir=folder)
    >>> preflight(config, PreflightContext(config, 60))
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: /.../golden.csv: segment column 'country' not found; fix 'segments' (columns:
    'age', 'region', 'churned')
    >>> config = parse_config({**settings, "segments": ["region"]}, base_dir=folder)
    >>> preflight(config, PreflightContext(config, 60))  # nothing wrong: returns None
    """
    from readiness.exceptions import ConfigError, InputError

    context.vet(config.model, "model")
    if config.baseline is not None:
        context.vet(config.baseline, "baseline")
    columns = context.columns(config.golden, "golden")
    if config.target not in columns:
        raise InputError(f"{config.golden}: target column {config.target!r} not found; "
                         f"set 'target' to one of: {context.listing(columns)}")
    for column in config.segments:
        if column not in columns:
            raise InputError(f"{config.golden}: segment column {column!r} not found; "
                             f"fix 'segments' (columns: {context.listing(columns)})")
    for key in config.consistency.segments:
        column = key.split("=", 1)[0].strip()
        if column not in columns:
            raise ConfigError(f"consistency.segments: {key!r} names column {column!r}, which is not among "
                              f"{config.golden}'s columns ({context.listing(columns)}); fix the key")
    listed = [c for cols in (config.sources or {}).values() for c in cols]
    if listed and not any(c in columns for c in listed):
        raise ConfigError(f"sources: none of the listed columns ({', '.join(map(repr, listed[:5]))}) is in "
                          f"{config.golden} ({context.listing(columns)}); list the golden set's feature columns")
    robustness = config.golden_benchmark.robustness
    for key, named in (("invariant", robustness.invariant), ("direction", list(robustness.direction)),
                       ("optional_columns", robustness.optional_columns)):
        unknown = [c for c in named if c not in columns]
        if unknown:
            raise ConfigError(f"golden_benchmark.robustness.{key}: {', '.join(map(repr, unknown))} not among "
                              f"{config.golden}'s columns ({context.listing(columns)})")


SPEC = ReportSpec(
    name="golden_benchmark",
    title="Golden benchmark",
    needs=("model", "golden", "target"),
    check_prefix="golden",
    parameters=parameters,
    preflight=preflight,
    timeout=lambda config: config.golden_benchmark.timeout_s,
    settings_key="golden_benchmark",
    sections=(
        SectionSpec("inputs", "Inputs", ()),
        SectionSpec("artifact", "Artifact", ("golden.artifact",)),
        SectionSpec("metrics", "Metrics", ("golden.metric", "golden.change", "golden.dummy", "golden.leakage")),
        SectionSpec("trend", "Release trend", ("golden.trend",)),
        SectionSpec("consistency", "Release consistency", ("golden.consistency",)),
        SectionSpec("segments", "Segments", ("golden.segment",)),
        SectionSpec("attribution", "What moved, and from where", ("golden.attribution", "golden.guarantee")),
        SectionSpec("robustness", "Robustness", ("golden.robustness",)),
        SectionSpec("latency", "Inference", ("golden.latency", "golden.artifact.size")),
    ),
    checks=CHECKS,
    evidence={
        "infra.4": ("golden.metric.*", "a golden benchmark with thresholds validated model quality before serving"),
        "model.5": ("golden.dummy.*", "the golden benchmark compared the model with a scikit-learn dummy model"),
        "model.6": ("golden.segment.*", "the golden benchmark gated quality on every configured segment"),
        "model.7": ("golden.segment.*", "per-segment quality was measured (inclusion needs the right segments)"),
        "monitor.6": ("golden.latency.*", "the golden benchmark measured latency and throughput"),
        "infra.1": ("golden.artifact.fresh_process", "predictions were reproduced in a fresh process"),
    },
    order=10,
)
