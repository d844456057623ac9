"""What a run records: its inputs' hashes, where it ran, its verdict and every check.

:func:`record_run` is the runner's hook, called once the run's outputs are in place; like
:func:`previous_run`, it never fails the run: a history that cannot be written is a
warning on stderr, and the reports stand.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any, Callable

from readiness.history.store import HistoryStore, describe_store

_MODEL_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle", ".onnx", ".gz", ".bz2", ".xz", ".lzma", ".zip")


def model_name_for(config) -> str | None:
    """The name runs of the same model share: ``history.model_name``, else the model's file name.

    ``models/churn.skops`` → ``churn``; an MLflow folder → its folder name; a
    ``module:function`` loader → the spec itself.

    Examples
    --------
    >>> from readiness.config import parse_config
    >>> model_name_for(parse_config({"model": "models/churn.skops"}, base_dir="/p"))
    'churn'
    >>> model_name_for(parse_config({"model": "m.pkl", "history": {"model_name": "churn-eu"}}, base_dir="/p"))
    'churn-eu'
    """
    if config.history.model_name:
        return config.history.model_name
    if config.model is None:
        return None
    text = str(config.model)
    if ":" in text and not Path(text).exists() and "/" not in text.split(":", 1)[0]:
        return text[:200]
    name = Path(text).name
    while name.lower().endswith(_MODEL_SUFFIXES) and "." in name[1:]:
        name = name[: name.rfind(".")]
    return name[:200] or None


def git_info(folder: str | Path | None, environ: dict[str, str] | None = None) -> dict[str, str | None]:
    """The commit and branch of the repository holding ``folder`` (None outside one).

    CI systems check out a detached commit: the branch comes from their variables
    (GitLab ``CI_COMMIT_REF_NAME``, GitHub ``GITHUB_HEAD_REF``/``GITHUB_REF_NAME``,
    Jenkins ``BRANCH_NAME``…) before asking git.

    Examples
    --------
    >>> git_info("/", environ={})["commit"] is None or True
    True
    """
    env = os.environ if environ is None else environ
    commit = _git(folder, "rev-parse", "HEAD")
    branch = next((env[k] for k in ("CI_COMMIT_REF_NAME", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "BRANCH_NAME",
                                    "BUILDKITE_BRANCH", "CIRCLE_BRANCH", "BUILD_SOURCEBRANCHNAME")
                   if env.get(k)), None)
    if branch is None and commit is not None:
        branch = _git(folder, "symbolic-ref", "--short", "-q", "HEAD")
    return {"commit": commit, "branch": branch}


def _git(folder, *args: str) -> str | None:
    if folder is None:
        return None
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text[:255] if done.returncode == 0 and text else None


def ci_job_url(environ: dict[str, str] | None = None) -> str | None:
    """The URL of the CI job this run belongs to (GitLab, GitHub Actions, Jenkins, CircleCI,
    Buildkite, Azure Pipelines), or None outside CI. Only http(s) URLs are kept.

    Examples
    --------
    >>> ci_job_url({"CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/42"})
    'https://gitlab.example.com/g/p/-/jobs/42'
    >>> ci_job_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"})
    'https://github.com/o/r/actions/runs/7'
    >>> ci_job_url({"CI_JOB_URL": "javascript:alert(1)"}) is None
    True
    """
    env = os.environ if environ is None else environ
    url = env.get("CI_JOB_URL") or env.get("BUILD_URL") or env.get("CIRCLE_BUILD_URL") or env.get("BUILDKITE_BUILD_URL")
    if not url and env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        if env.get("GITHUB_RUN_ATTEMPT") and env["GITHUB_RUN_ATTEMPT"] != "1":
            url += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
    if not url and env.get("SYSTEM_COLLECTIONURI") and env.get("BUILD_BUILDID"):
        url = (f"{env['SYSTEM_COLLECTIONURI'].rstrip('/')}/{env.get('SYSTEM_TEAMPROJECT', '')}"
               f"/_build/results?buildId={env['BUILD_BUILDID']}")
    return safe_http_url(url)


def safe_http_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) URL without spaces or control characters, else None.

    Examples
    --------
    >>> safe_http_url("https://ci.example/jobs/1"), safe_http_url("data:text/html,x")
    ('https://ci.example/jobs/1', None)
    """
    if not url or not isinstance(url, str) or len(url) > 2000:
        return None
    url = url.strip()
    if not url.lower().startswith(("https://", "http://")):
        return None
    if any(ord(ch) < 33 or ch in '"<>\\`' or ord(ch) == 127 for ch in url):
        return None
    return url


def _input_hash(documents: list[dict], key: str) -> str | None:
    for doc in documents:
        value = (doc.get("inputs") or {}).get(key)
        if isinstance(value, dict) and isinstance(value.get("sha256"), str):
            return value["sha256"]
    return None


def _file_hash(path) -> str | None:
    from readiness.data import sha256_file

    try:
        return sha256_file(path) if path is not None and Path(path).is_file() else None
    except OSError:
        return None


def run_record(config, documents: list[dict[str, Any]], summary: dict[str, Any], out_dir: str | Path,
               duration_s: float | None = None, environ: dict[str, str] | None = None
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows one run adds: (run, reports, checks).

    ``documents`` are the results of the reports that ran (not those carried over from
    an earlier run); ``summary`` is the run's ``summary.json``, whose status is the verdict.

    Examples
    --------
    >>> import tempfile
    >>> from readiness.config import parse_config
    >>> from readiness.results import Check, report_document
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = parse_config({"model": "models/churn.skops"}, base_dir=folder)
    >>> document = report_document("golden_benchmark", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "ROC AUC 0.91",
    ...                            value=0.91, ci=[0.89, 0.93], severity="critical")], {"model": {"sha256": "ab" * 32}},
    ...                            "2024-05-01T10:00:00+00:00", 12.5)
    >>> run, reports, checks = run_record(config, [document], {"status": "pass"}, folder / "report",
    ...                                   environ={"CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/42"})
    >>> run["model_name"], run["model_sha256"][:12], run["verdict"], run["ci_job_url"]
    ('churn', 'abababababab', 'pass', 'https://gitlab.example.com/g/p/-/jobs/42')
    >>> reports
    [{'report': 'golden_benchmark', 'status': 'pass', 'duration_s': 12.5, 'error': None}]
    >>> checks[0]["check_id"], checks[0]["value"], checks[0]["ci_low"], checks[0]["ci_high"]
    ('golden.metric.roc_auc', 0.91, 0.89, 0.93)
    """
    from readiness import __version__
    from readiness.results import now_iso

    git = git_info(config._base_dir, environ)
    run = {
        "run_uuid": uuid.uuid4().hex,
        "created_at": now_iso(),
        "model_name": model_name_for(config),
        "model_path": str(config.model) if config.model is not None else None,
        "model_sha256": _input_hash(documents, "model") or _file_hash(config.model),
        "baseline_sha256": _input_hash(documents, "baseline") or _file_hash(config.baseline),
        "golden_sha256": _input_hash(documents, "golden"),
        "reference_sha256": _input_hash(documents, "reference"),
        "current_sha256": _input_hash(documents, "current"),
        "verdict": summary["status"],
        "git_commit": git["commit"],
        "git_branch": git["branch"],
        "ci_job_url": ci_job_url(environ),
        "output_dir": str(Path(out_dir).resolve()),
        "readiness_version": __version__,
        "duration_s": duration_s,
    }
    reports, checks = [], []
    for doc in documents:
        reports.append({"report": doc["report"], "status": doc["status"], "duration_s": doc.get("duration_s"),
                        "error": doc.get("error")})
        for check in doc.get("checks", []):
            ci = check.get("ci") if isinstance(check.get("ci"), list) and len(check["ci"]) == 2 else [None, None]
            checks.append({"report": doc["report"], "check_id": check["id"], "status": check["status"],
                           "severity": check.get("severity"), "value": check.get("value"),
                           "ci_low": ci[0], "ci_high": ci[1], "message": check.get("message")})
    return run, reports, checks


def _warn(echo: Callable[[str], None], text: str) -> None:
    try:
        echo(f"warning: {text}")
    except Exception:  # an echo that fails must not fail the run either
        pass


def record_run(config, documents: list[dict[str, Any]], summary: dict[str, Any], out_dir: str | Path,
               duration_s: float | None = None, echo: Callable[[str], None] = print) -> int | None:
    """Record a finished run in the release history (and MLflow tracking, with ``mlflow:``); never raises.

    Returns the run's id in the history, or None when history is off or could not be
    written (a warning says why; the run's verdict and exit code are unchanged).

    Examples
    --------
    >>> import tempfile
    >>> from readiness.config import parse_config
    >>> from readiness.results import Check, report_document
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = parse_config({"model": "models/churn.skops"}, base_dir=folder)
    >>> document = report_document("golden_benchmark", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "ROC AUC 0.91",
    ...                            value=0.91, ci=[0.89, 0.93], severity="critical")], {"model": {"sha256": "ab" * 32}},
    ...                            "2024-05-01T10:00:00+00:00", 12.5)
    >>> record_run(config, [document], {"status": "pass"}, folder / "report")  # doctest: +ELLIPSIS
    Recorded run #1 of churn in the release history .../readiness-history.sqlite
    1
    >>> unwritable = parse_config({"model": "models/churn.skops", "history": str(folder)}, base_dir=folder)
    >>> print(record_run(unwritable, [document], {"status": "pass"}, folder / "report"))  # doctest: +ELLIPSIS
    warning: the run was not recorded in the release history ... (InputError: ...: is a folder; history must name an SQLite file or a database URL); the reports stand
    None
    """
    run_id = None
    if not config.history.enabled:  # --no-history: recorded nowhere, MLflow included
        return None
    try:
        run, reports, checks = run_record(config, documents, summary, out_dir, duration_s)
    except Exception as exc:
        _warn(echo, f"the run was not recorded ({_short(exc)}); the reports stand")
        return None
    try:
        with HistoryStore(config.history.store) as store:
            run_id = store.record(run, reports, checks)
        echo(f"Recorded run #{run_id} of {run['model_name'] or 'this project'} in the release history "
             f"{describe_store(config.history.store)}")
    except Exception as exc:
        _warn(echo, f"the run was not recorded in the release history {describe_store(config.history.store)} "
                    f"({_short(exc)}); the reports stand")
    if config.mlflow is not None:
        from readiness.history.mlflow_tracking import record_to_mlflow

        record_to_mlflow(config.mlflow, run, reports, checks, out_dir, run_id, echo)
    return run_id


def previous_run(config, echo: Callable[[str], None] = print) -> dict[str, Any] | None:
    """The latest recorded run of the same model name, for the index page; None when there is none.

    Read before this run is recorded; a history that cannot be read is a warning.

    Examples
    --------
    >>> import tempfile
    >>> from readiness.config import parse_config
    >>> from readiness.results import Check, report_document
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = parse_config({"model": "models/churn.skops"}, base_dir=folder)
    >>> document = report_document("golden_benchmark", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "ROC AUC 0.91",
    ...                            value=0.91, ci=[0.89, 0.93], severity="critical")], {"model": {"sha256": "ab" * 32}},
    ...                            "2024-05-01T10:00:00+00:00", 12.5)
    >>> print(previous_run(config))  # no history yet
    None
    >>> record_run(config, [document], {"status": "pass"}, folder / "report", echo=lambda line: None)
    1
    >>> last = previous_run(config)
    >>> last["id"], last["model_name"], last["verdict"], last["reports"]
    (1, 'churn', 'pass', {'golden_benchmark': 'pass'})
    """
    if not config.history.enabled:
        return None
    store_spec = config.history.store
    from readiness.history.store import is_url

    if not is_url(store_spec) and not Path(store_spec).is_file():
        return None
    name = model_name_for(config)
    try:
        with HistoryStore(store_spec, create=False) as store:
            runs = store.runs(model_name=name, limit=1)
    except Exception as exc:
        _warn(echo, f"could not read the release history {describe_store(store_spec)} ({_short(exc)})")
        return None
    if not runs:
        return None
    run = runs[0]
    # Its reports: the CI job that ran it, else its output folder when that is another one still there
    # (a local run into the same folder replaced them).
    link = safe_http_url(run["ci_job_url"])
    if link is None and run["output_dir"]:
        folder = Path(run["output_dir"])
        if folder.resolve() != Path(config.output).resolve() and (folder / "index.html").is_file():
            link = (folder / "index.html").resolve().as_uri()
    return {"id": run["id"], "created_at": run["created_at"], "model_name": run["model_name"],
            "model_sha256": run["model_sha256"], "verdict": run["verdict"], "git_commit": run["git_commit"],
            "git_branch": run["git_branch"], "link": link, "reports": run["reports"]}


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")
