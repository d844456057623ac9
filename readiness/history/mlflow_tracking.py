"""Each run recorded into MLflow tracking too, for teams whose model registry is MLflow.

Optional (``mlflow:`` in readiness.yaml; ``pip install 'ml-readiness[mlflow]'``). One MLflow
run per ``readiness run``: the inputs' hashes, git commit and branch as params; every check
with a numeric value as a metric (its id made an MLflow key); the verdict, CI job URL and
release-history run id as tags; the output folder (HTML reports, JSON, JUnit) as artifacts.
Like the release history, it never fails the run: an unreachable tracking server is a warning.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

#: MLflow's limit of metrics per log_batch call.
_BATCH_METRICS = 1000
_PARAM_KEYS = ("model_name", "model_sha256", "baseline_sha256", "golden_sha256", "reference_sha256",
               "current_sha256", "git_commit", "git_branch", "readiness_version")


def metric_key(check_id: str) -> str:
    """A check id as an MLflow metric key (letters, digits, ``_ - . / space`` only; 250 at most).

    Segment brackets become a path: ``golden.segment.roc_auc[region=north]`` →
    ``golden.segment.roc_auc/region-north``.

    Examples
    --------
    >>> metric_key("golden.segment.roc_auc[region=north]")
    'golden.segment.roc_auc/region-north'
    >>> metric_key("drift.column.<script>")
    'drift.column._script_'
    """
    key = check_id.replace("[", "/").replace("]", "").replace("=", "-")
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", key)[:250]


def metrics_of(checks: list[dict[str, Any]]) -> dict[str, float]:
    """Every check with a finite numeric value, keyed by :func:`metric_key` (first one wins).

    Examples
    --------
    >>> metrics_of([{"check_id": "golden.metric.roc_auc", "value": 0.91},
    ...             {"check_id": "drift.schema", "value": None}, {"check_id": "x", "value": True}])
    {'golden.metric.roc_auc': 0.91}
    """
    found: dict[str, float] = {}
    for check in checks:
        value = check.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        found.setdefault(metric_key(str(check["check_id"])), float(value))
    return found


def record_to_mlflow(settings, run: dict[str, Any], reports: list[dict[str, Any]], checks: list[dict[str, Any]],
                     out_dir: str | Path, history_run_id: int | None = None,
                     echo: Callable[[str], None] = print) -> str | None:
    """Log one readiness run as an MLflow run; returns its MLflow run id (None on failure, said once).

    Parameters
    ----------
    settings : readiness.config.MlflowConfig
        Tracking URI, experiment, artifact location, whether to upload the reports.
    run, reports, checks : dict, list, list
        What :func:`readiness.history.record.run_record` made of the run.
    out_dir : str or Path
        The run's output folder, uploaded as the ``readiness-report`` artifact folder.

    Examples
    --------
    >>> import tempfile
    >>> from readiness.config import MlflowConfig
    >>> folder = tempfile.mkdtemp()
    >>> settings = MlflowConfig(tracking_uri=f"sqlite:///{folder}/mlflow.db", artifact_location=folder + "/artifacts")
    >>> run = {"model_name": "churn", "verdict": "pass", "model_sha256": "ab" * 32}
    >>> run_id = record_to_mlflow(settings, run, [], [{"check_id": "golden.metric.roc_auc", "value": 0.9}],
    ...                           folder, echo=lambda line: None)  # doctest: +SKIP
    >>> import mlflow; mlflow.MlflowClient(settings.tracking_uri).get_run(run_id).data.metrics  # doctest: +SKIP
    {'golden.metric.roc_auc': 0.9}
    """
    from readiness.history.store import expand_store

    uri = ""
    try:
        uri = expand_store(settings.tracking_uri)
        # an unreachable server is said after a few seconds, not after MLflow's default minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        try:
            from mlflow.entities import Metric, Param, RunTag
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise RuntimeError("mlflow is not installed: pip install 'ml-readiness[mlflow]'") from None
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(settings.experiment)
        experiment_id = (experiment.experiment_id if experiment is not None else
                         client.create_experiment(settings.experiment, artifact_location=settings.artifact_location))
        name = settings.run_name or f"{run.get('model_name') or 'readiness'} · {str(run.get('verdict', '')).upper()}"
        created = client.create_run(experiment_id, run_name=name[:250])
        run_id = created.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, 0) for key, value in metrics_of(checks).items()]
        counts: dict[str, int] = {}
        for check in checks:
            counts[check["status"]] = counts.get(check["status"], 0) + 1
        metrics += [Metric(f"readiness.checks.{status}", float(n), now, 0) for status, n in sorted(counts.items())]
        metrics.append(Metric("readiness.ready", float(run.get("verdict") in ("pass", "warn")), now, 0))
        params = [Param(key, str(run[key])[:500]) for key in _PARAM_KEYS if run.get(key)]
        params.append(Param("reports", ",".join(r["report"] for r in reports)[:500] or "-"))
        tags = [RunTag("readiness.verdict", str(run.get("verdict"))), RunTag("readiness.tool", "readiness")]
        if run.get("ci_job_url"):
            tags.append(RunTag("readiness.ci_job_url", str(run["ci_job_url"])))
        if run.get("git_commit"):
            tags.append(RunTag("mlflow.source.git.commit", str(run["git_commit"])))
        if history_run_id is not None:
            tags.append(RunTag("readiness.history_run_id", str(history_run_id)))
        # params (10 at most) and tags (6) fit in the first batch; metrics go 1,000 per call
        client.log_batch(run_id, metrics=metrics[:_BATCH_METRICS], params=params, tags=tags)
        for start in range(_BATCH_METRICS, len(metrics), _BATCH_METRICS):
            client.log_batch(run_id, metrics=metrics[start:start + _BATCH_METRICS])
        if settings.artifacts and Path(out_dir).is_dir():
            client.log_artifacts(run_id, str(out_dir), artifact_path="readiness-report")
        client.set_terminated(run_id, "FINISHED")
    except Exception as exc:
        from readiness.history.record import _short, _warn

        shown = settings.tracking_uri if not uri or "${" in settings.tracking_uri else uri.split("@")[-1]
        reason = _short(exc).replace(uri, shown) if uri else _short(exc)  # never a password in a URL
        _warn(echo, f"the run was not recorded in MLflow tracking {shown} ({reason}); the reports stand")
        return None
    echo(f"Recorded the run in MLflow (experiment {settings.experiment!r}, run {run_id})")
    return run_id
