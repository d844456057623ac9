"""``readiness history``: the recorded runs as a table, JSON or CSV.

Examples
--------
>>> runs = [{"id": 2, "created_at": "2024-05-02T09:00:00+00:00", "model_name": "churn", "model_sha256": "ab" * 32,
...          "verdict": "fail", "git_commit": "0123456789abcdef", "git_branch": "main",
...          "reports": {"golden_benchmark": "fail"}, "check_counts": {"pass": 20, "fail": 2}}]
>>> print(format_table(runs))
run  time (UTC)        model  model sha256  verdict  checks pass/warn/fail  commit      branch
  2  2024-05-02 09:00  churn  abababababab  FAIL     20/0/2                 0123456789  main
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from readiness.exceptions import UsageError
from readiness.history.store import HistoryStore, is_url

RUN_COLUMNS = ("id", "created_at", "model_name", "model_sha256", "baseline_sha256", "golden_sha256",
               "reference_sha256", "current_sha256", "verdict", "git_commit", "git_branch", "ci_job_url",
               "output_dir", "readiness_version", "duration_s")


def history_source(explicit: str | None, config_path: str | None = None, cwd: str | Path | None = None) -> str:
    """The history ``readiness history`` reads: ``--history``, else the one named in the
    config (``--config`` or ``./readiness.yaml``), else ``./readiness-history.sqlite``.

    Examples
    --------
    >>> history_source("team-history.sqlite", cwd="/srv/churn"), history_source("postgresql+psycopg://ci@db/history")
    ('/srv/churn/team-history.sqlite', 'postgresql+psycopg://ci@db/history')
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> history_source(None, cwd=folder) == str(folder / "readiness-history.sqlite")
    True
    >>> _ = (folder / "readiness.yaml").write_text("history: false\\n")
    >>> history_source(None, cwd=folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    readiness.exceptions.UsageError: .../readiness.yaml: history is turned off there (history: false); name one with --history PATH|URL
    """
    from readiness.config import DEFAULT_HISTORY_FILE, load_config
    from readiness.history.store import resolve_store

    folder = Path(cwd or Path.cwd())
    if explicit:
        return explicit if is_url(explicit) else resolve_store(explicit, folder)
    path = Path(config_path) if config_path else folder / "readiness.yaml"
    if config_path or path.is_file():
        config = load_config(path)
        if not config.history.enabled:
            raise UsageError(f"{path}: history is turned off there (history: false); name one with --history PATH|URL")
        return config.history.store
    return str(folder / DEFAULT_HISTORY_FILE)


def list_runs(source: str, model: str | None = None, limit: int | None = 20,
              with_checks: bool = False) -> list[dict[str, Any]]:
    """Runs newest first from the history at ``source`` (which must exist).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "history.sqlite")
    >>> with HistoryStore(path) as store:
    ...     _ = store.record({"run_uuid": "a" * 32, "created_at": "2024-05-01T10:00:00+00:00", "model_name": "churn",
    ...                       "model_sha256": "ab" * 32, "verdict": "pass"},
    ...                      reports=[{"report": "golden_benchmark", "status": "pass"}],
    ...                      checks=[{"report": "golden_benchmark", "check_id": "golden.metric.roc_auc", "status": "pass"}])
    ...     _ = store.record({"run_uuid": "b" * 32, "created_at": "2024-05-02T10:00:00+00:00", "model_name": "churn",
    ...                       "model_sha256": "cd" * 32, "verdict": "fail"})
    >>> [(run["id"], run["verdict"], run["check_counts"]) for run in list_runs(path)]
    [(2, 'fail', {}), (1, 'pass', {'pass': 1})]
    >>> [check["check_id"] for check in list_runs(path, "churn", limit=2, with_checks=True)[1]["checks"]]
    ['golden.metric.roc_auc']
    """
    with HistoryStore(source, create=False) as store:
        runs = store.runs(model_name=model, limit=limit)
        if with_checks and runs:
            checks = store.checks([r["id"] for r in runs])
            for run in runs:
                run["checks"] = checks[run["id"]]
    return runs


def format_table(runs: list[dict[str, Any]]) -> str:
    """Aligned plain-text columns, newest first; every cell shown without control characters.

    Examples
    --------
    >>> runs = [{"id": 7, "created_at": "2024-05-02T09:00:00+00:00", "model_name": "churn", "model_sha256": "ab" * 32,
    ...          "verdict": "warn", "git_commit": None, "git_branch": "main", "check_counts": {"pass": 18, "warn": 1}}]
    >>> print(format_table(runs))
    run  time (UTC)        model  model sha256  verdict  checks pass/warn/fail  commit  branch
      7  2024-05-02 09:00  churn  abababababab  WARN     18/1/0                 –       main
    """
    from readiness.escape import terminal_text

    header = ("run", "time (UTC)", "model", "model sha256", "verdict", "checks pass/warn/fail", "commit", "branch")
    rows: list[tuple[str, ...]] = []
    for run in runs:
        counts = run.get("check_counts") or {}
        fails = counts.get("fail", 0) + counts.get("error", 0)
        when = (run.get("created_at") or "")[:16].replace("T", " ")
        rows.append((str(run["id"]), when, run.get("model_name") or "–", (run.get("model_sha256") or "–")[:12],
                     str(run.get("verdict", "")).upper(), f"{counts.get('pass', 0)}/{counts.get('warn', 0)}/{fails}",
                     (run.get("git_commit") or "–")[:10], run.get("git_branch") or "–"))
        rows[-1] = tuple(terminal_text(cell) for cell in rows[-1])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    for row in rows:
        cells = [row[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_json(runs: list[dict[str, Any]]) -> str:
    """The runs as indented JSON (``readiness history --format json``, each run with its checks).

    Examples
    --------
    >>> print(format_json([{"id": 1, "model_name": "churn", "verdict": "pass", "duration_s": None}]))
    [
      {
        "id": 1,
        "model_name": "churn",
        "verdict": "pass",
        "duration_s": null
      }
    ]
    """
    return json.dumps(runs, indent=2, ensure_ascii=False, default=str, allow_nan=False)


def format_csv(runs: list[dict[str, Any]]) -> str:
    """One row per run: its fields, each report's status, and check counts.

    Examples
    --------
    Text a spreadsheet would run as a formula gets a leading apostrophe:

    >>> text = format_csv([{"id": 1, "model_name": "=HYPERLINK(1)", "verdict": "pass",
    ...                     "reports": {"golden_benchmark": "pass"}, "check_counts": {"pass": 12}}])
    >>> print(text)  # doctest: +ELLIPSIS
    id,created_at,model_name,model_sha256,...,duration_s,report.golden_benchmark,checks.pass,...,checks.skip
    1,,'=HYPERLINK(1),,,,,,pass,,,,,,,pass,12,0,0,0,0
    <BLANKLINE>
    """
    reports = sorted({name for run in runs for name in (run.get("reports") or {})})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*RUN_COLUMNS, *(f"report.{r}" for r in reports), "checks.pass", "checks.warn", "checks.fail",
                     "checks.error", "checks.skip"])
    for run in runs:
        counts = run.get("check_counts") or {}
        writer.writerow([_csv_cell(run.get(c)) for c in RUN_COLUMNS]
                        + [(run.get("reports") or {}).get(r, "") for r in reports]
                        + [counts.get(s, 0) for s in ("pass", "warn", "fail", "error", "skip")])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def record_deployment_from_cli(model: str, model_name: str | None, at: str | None, environment: str,
                               note: str | None, history: str | None, config_path: str | None) -> str:
    """``readiness deployed``: record a deployment; returns the line to print.

    Examples
    --------
    >>> import tempfile
    >>> path = str(Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> record_deployment_from_cli("ab" * 32, "churn", "2024-05-01T09:00Z", "production", None, path, None)  # doctest: +ELLIPSIS
    'Recorded: churn abababababab live in production since 2024-05-01T09:00:00+00:00 (.../history.sqlite)'
    >>> record_deployment_from_cli("v1.5", "churn", None, "production", None, path, None)
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: v1.5: neither an artifact file nor a sha256 hex digest
    """
    import re
    from datetime import datetime

    from readiness.data import sha256_file
    from readiness.exceptions import InputError
    from readiness.history.record import ci_job_url, git_info
    from readiness.history.store import describe_store

    source = history_source(history, config_path)
    path = Path(model).expanduser()
    if re.fullmatch(r"[0-9a-fA-F]{64}", model) and not path.exists():
        sha256 = model.lower()
        default_name = None
    elif path.is_file():
        sha256 = sha256_file(path)
        default_name = path.name.split(".")[0] or None
    else:
        raise InputError(f"{model}: neither an artifact file nor a sha256 hex digest")
    if model_name is None:
        config_file = Path(config_path) if config_path else Path("readiness.yaml")
        if config_file.is_file():
            from readiness.config import load_config
            from readiness.history.record import model_name_for

            model_name = model_name_for(load_config(config_file))
        model_name = model_name or default_name
    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--at {at!r}: not an ISO 8601 time; write e.g. 2024-05-01T09:30:00Z") from None
    with HistoryStore(source) as store:
        number = store.record_deployment(sha256, model_name, when, environment, git_info(Path.cwd())["commit"],
                                         ci_job_url(), note)
        recorded = next(d for d in store.deployments(model_name, environment) if d["id"] == number)
    return (f"Recorded: {model_name or 'model'} {sha256[:12]} live in {environment} since "
            f"{recorded['deployed_at']} ({describe_store(source)})")
