"""The golden benchmark: the candidate on a fixed, labelled golden dataset, gated.

This module declares the report (light: the driver imports it); the notebook runs
:class:`readiness.reports.golden.benchmark.GoldenBenchmark`.
"""

from __future__ import annotations

from typing import Any

from readiness.registry import ReportSpec, SectionSpec
from readiness.reports.golden.catalogue import CHECKS


def parameters(config, context) -> dict[str, Any]:
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
    }


def preflight(config, context) -> None:
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
