"""The ``readiness`` command: init, run, demo, summary, drift, monitor, profile, checks.

Exit codes: 0 ready (pass or warn), 1 not ready (a check failed or errored),
2 bad usage or unreadable input (one line on stderr; ``--debug`` for the traceback).
"""

from __future__ import annotations

import io
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from readiness import __version__
from readiness.config import load_config, starter_config_text
from readiness.registry import registry
from readiness.results import is_ready, worst_first
from readiness.escape import terminal_text
from readiness.exceptions import Terminated, UsageError

EXIT_USAGE = 2


def _echo(line: str) -> None:
    """Every line readiness prints goes through here or :func:`_echo_err`: column names,
    messages and paths come from data, and raw control sequences could rewrite the
    terminal or CI log (erase lines, print a fake verdict)."""
    click.echo(terminal_text(line))


def _echo_err(line: str) -> None:
    click.echo(terminal_text(line), err=True)


def _abs(path: str | None) -> str | None:
    from readiness.artifacts.trust import is_loader_spec

    if path is None or is_loader_spec(path, Path.cwd()):
        return path
    return str(Path(path).expanduser().resolve())


#: One flag for run, drift and monitor.
_NO_HISTORY = click.option("--no-history", "no_history", is_flag=True,
                           help="Do not record this run in the release history.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="readiness")
def cli() -> None:
    """Deployment-readiness reports for machine-learning models.

    \f
    Examples
    --------
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["--help"], prog_name="readiness")
    >>> print(result.output)  # doctest: +ELLIPSIS
    Usage: readiness [OPTIONS] COMMAND [ARGS]...
    <BLANKLINE>
      Deployment-readiness reports for machine-learning models.
    ...
    Commands:
      checks    List every check id readiness can emit: what it checks, its...
    ...
    """


@cli.command()
@click.option("--path", "path", default="readiness.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the starter config.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--ci", type=click.Choice(["gitlab", "github"]), default=None,
              help="Also write a CI job: .gitlab-ci.yml or .github/workflows/readiness.yml.")
def init(path: str, force: bool, ci: str | None) -> None:
    """Write a commented readiness.yaml (and optionally a CI job) to start from.

    \f
    Examples
    --------
    >>> import os, tempfile
    >>> from click.testing import CliRunner
    >>> path = os.path.join(tempfile.mkdtemp(), "readiness.yaml")
    >>> print(CliRunner().invoke(cli, ["init", "--path", path]).output)  # doctest: +ELLIPSIS
    Wrote .../readiness.yaml: edit model, golden and target, then run `readiness run --config .../readiness.yaml`.
    Wrote .../checklist.yaml: your workflow, ML Test Score answers and fears.
    >>> CliRunner().invoke(cli, ["init", "--path", path]).exception  # doctest: +ELLIPSIS
    UsageError('.../readiness.yaml: already exists; pass --force to overwrite it or --path to write elsewhere')
    """
    target = Path(path)
    if target.exists() and not force:
        if ci is None:
            raise UsageError(f"{target}: already exists; pass --force to overwrite it or --path to write elsewhere")
        _echo(f"Kept the existing {target}.")
    else:
        target.write_text(starter_config_text(), encoding="utf-8")
        _echo(f"Wrote {target}: edit model, golden and target, then run `readiness run --config {target}`.")
    checklist = target.parent / "checklist.yaml"
    if not checklist.exists() or force:
        from readiness.resources import templates_dir

        checklist.write_text((templates_dir() / "checklist.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        _echo(f"Wrote {checklist}: your workflow, ML Test Score answers and fears.")
    if ci is not None:
        _write_ci(ci, force)


def _write_ci(ci: str, force: bool) -> None:
    from readiness.resources import templates_dir

    source = templates_dir() / "ci" / ("gitlab-ci.yml" if ci == "gitlab" else "github-workflow.yml")
    if ci == "gitlab":
        target = Path(".gitlab-ci.yml")
        if target.exists() and not force:
            target = Path("readiness.gitlab-ci.yml")
            hint = f"; add `include: {{local: {target}}}` to your .gitlab-ci.yml"
        else:
            hint = ""
    else:
        target, hint = Path(".github/workflows/readiness.yml"), ""
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    # The job's Python should be the training environment's: the interpreter running `init` is the
    # best guess readiness has (the templates ship with 3.12).
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    text = source.read_text(encoding="utf-8").replace('python-version: "3.12"', f'python-version: "{python}"')
    target.write_text(text.replace("image: python:3.12-slim", f"image: python:{python}-slim"), encoding="utf-8")
    _echo(f"Wrote {target}{hint}: it runs Python {python} (this interpreter's; set your training environment's) "
          "and installs requirements.txt (your model's pinned dependencies).")


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="readiness.yaml (default: ./readiness.yaml when it exists).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder (overrides `output`).")
@click.option("--only", "only", multiple=True, type=click.Choice(registry.names()), help="Run only this report (repeatable).")
@click.option("--model", default=None, help="Candidate model: .skops/.joblib/.pkl file, MLflow model folder, or module:function.")
@click.option("--baseline", default=None, help="Production model (same forms as --model).")
@click.option("--golden", type=click.Path(dir_okay=False), default=None, help="Golden dataset (.csv/.parquet).")
@click.option("--target", default=None, help="Label column of the golden dataset.")
@click.option("--task", type=click.Choice(["auto", "binary", "multiclass", "regression"]), default=None)
@click.option("--trust-artifact", "trust_artifact", multiple=True, metavar="SHA256",
              help="Trust a pickle/joblib artifact with this sha256 (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None, help="Wall-clock limit per report, seconds.")
@click.option("--warn-exit-code", type=click.IntRange(0, 255), default=None,
              help="Exit with this code when the verdict is WARN (default 0), e.g. for GitLab allow_failure: exit_codes.")
@_NO_HISTORY
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def run(config_path, out, only, model, baseline, golden, target, task, trust_artifact, timeout, warn_exit_code,
        no_history, debug) -> None:
    """Run the readiness reports and exit 0 (ready), 1 (not ready) or 2 (bad input).

    \f
    Examples
    --------
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["run", "--help"], prog_name="readiness")
    >>> print(result.output)  # doctest: +ELLIPSIS
    Usage: readiness run [OPTIONS]
    <BLANKLINE>
      Run the readiness reports and exit 0 (ready), 1 (not ready) or 2 (bad input).
    <BLANKLINE>
    Options:
      --config FILE ...

    Each report runs in a notebook kernel; on the demo's inputs the verdict is FAIL:

    >>> result = CliRunner().invoke(cli, ["run", "--config", "readiness-demo/inputs/readiness.yaml"])  # doctest: +SKIP
    >>> result.exit_code  # doctest: +SKIP
    1
    """
    from readiness.run.runner import run as run_reports

    if config_path is None and Path("readiness.yaml").is_file():
        config_path = "readiness.yaml"
    overrides: dict = {"history": False} if no_history else {}
    for key, value in (("model", _abs(model)), ("baseline", _abs(baseline)), ("golden", _abs(golden)),
                       ("output", _abs(out)), ("target", target), ("task", task)):
        if value is not None:
            overrides[key] = value
    config = load_config(config_path, overrides)
    if trust_artifact:
        hashes = list(config.trust.sha256) + [h.strip().lower() for h in trust_artifact]
        config = load_config(config_path, {**overrides, "trust": {**config.trust.model_dump(), "sha256": hashes}})
    result = run_reports(config, list(only) or None, timeout_s=timeout, echo=_echo_err, progress=sys.stderr.isatty())
    _print_result(result)
    for outcome in result.outcomes:
        if outcome.usage_error:
            raise UsageError(outcome.usage_error)
    sys.exit(result.exit_code(warn_exit_code))


def _print_result(result) -> None:
    _print_verdict(result.out_dir, [dict(o.document, files=o.files) for o in result.outcomes], result.summary["status"])


def _print_verdict(out_dir: Path, documents: list[dict], status: str) -> None:
    for doc in documents:
        html_file = doc.get("files", {}).get("html", "")
        _echo(f"{doc['report']}: {doc['status'].upper()}  {out_dir / html_file}")
        failing = worst_first(doc.get("checks", []), at_least="fail")
        for check in failing[:10]:
            _echo(f"  ✗ {check['id']}: {check['message']}")
        if len(failing) > 10:
            _echo(f"  … and {len(failing) - 10} more failing checks")
    verdict = "ready" if is_ready(status) else "not ready"
    _echo(f"Verdict: {status.upper()} ({verdict}); overview in {out_dir / 'index.html'}")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--warn-exit-code", type=click.IntRange(0, 255), default=None,
              help="Exit with this code when the verdict is WARN (default 0).")
@click.option("--base-url", default=None, metavar="URL",
              help="Where FOLDER's files are served (e.g. GitLab's \"$CI_JOB_URL/artifacts/file/readiness-report/\"): "
                   "summary.md links to the reports there. Default: names them as text.")
def summary(folder: str, warn_exit_code: int | None, base_url: str | None) -> None:
    """Rebuild index.html, junit.xml, summary.md and summary.json of a run FOLDER from its results JSON.

    \f
    Examples
    --------
    >>> import tempfile
    >>> from click.testing import CliRunner
    >>> from readiness.results import Check, report_document, write_json
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_json(folder / "drift_report.json", report_document(
    ...     "drift_report", [Check("drift.target", "Label drift", "fail", "the churn rate doubled")], {},
    ...     "2024-01-01T00:00:00+00:00", 1.0))
    >>> result = CliRunner().invoke(cli, ["summary", str(folder)])
    >>> print(result.output)  # doctest: +ELLIPSIS
    Rebuilt summary.json, index.html, junit.xml, summary.md in ... from 1 report(s).
    drift_report: FAIL  ...
      ✗ drift.target: the churn rate doubled
    Verdict: FAIL (not ready); overview in .../index.html
    >>> result.exit_code
    1
    """
    from readiness.run.aggregate import RUN_FILES, run_documents, write_run_outputs
    from readiness.run.runner import exit_code_for

    out_dir = Path(folder)
    documents = run_documents(out_dir)
    result = write_run_outputs(out_dir, documents, base_url=base_url)
    _echo_err(f"Rebuilt {', '.join(RUN_FILES)} in {out_dir} from {len(documents)} report(s).")
    _print_verdict(out_dir, documents, result["status"])
    sys.exit(exit_code_for(result["status"], warn_exit_code))


@cli.command()
@click.option("--out", default="readiness-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo inputs (inputs/) and reports (report/).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None, help="Wall-clock limit per report, seconds.")
def demo(out: str, timeout: float | None) -> None:
    """Build the seeded demo scenario and run every report on it.

    Exits 0 when the reports were produced: their FAIL verdict is the story
    (the candidate improves overall but regresses on one region).

    \f
    Examples
    --------
    Building the scenario trains two models and every report runs in a notebook kernel
    (a minute or more), so here is its help:

    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["demo", "--help"], prog_name="readiness")
    >>> print(result.output)  # doctest: +ELLIPSIS
    Usage: readiness demo [OPTIONS]
    <BLANKLINE>
      Build the seeded demo scenario and run every report on it.
    ...
      --out DIRECTORY        Folder for the demo inputs (inputs/) and reports
    ...
    """
    from readiness.demo import build_scenario
    from readiness.run.runner import run as run_reports

    folder = Path(out).resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / "inputs" / "readiness.yaml").is_file():
        raise UsageError(f"{folder}: exists and is not a readiness demo folder; choose another --out")
    _echo_err(f"Building the demo scenario in {folder / 'inputs'} …")
    config_file = build_scenario(folder / "inputs")
    config = load_config(config_file, {"output": str(folder / "report")})
    result = run_reports(config, timeout_s=timeout, echo=_echo_err, progress=sys.stderr.isatty())
    _print_result(result)
    errored = [o.report for o in result.outcomes if o.status == "error"]
    if errored:
        _echo_err(f"Demo reports with errors: {', '.join(errored)}")
        sys.exit(1)
    _echo("The demo's FAIL is the story: the candidate improves overall but regresses on region=north, "
          "whose rows its new training extract silently dropped.")
    from readiness.demo import release_sentence

    sentence = release_sentence(config.output)
    if sentence:
        _echo(sentence)


_ENGINE = click.option("--engine", type=click.Choice(["pandas", "spark"]), default=None,
                       help="pandas (default): read files here; spark: profile files, folders, globs or s3a:// URLs "
                            "where they live (pip install 'ml-readiness[spark]').")
_SPARK_MASTER = click.option("--spark-master", default=None, metavar="URL",
                             help="Spark master for --engine spark (default: Spark's own configuration, else local[*]).")


def _location(value: str) -> str:
    """Local paths absolute; URLs (s3a://…) as given, for Spark."""
    from readiness.config import is_url

    return value if is_url(value) else str(Path(value).expanduser().resolve())


@cli.command()
@click.argument("reference")
@click.argument("current")
@click.option("--model", default=None, help="Optional model: drift of its predictions and the mean-prediction shift.")
@click.option("--target", default=None, help="Optional label column present in both sets (target drift).")
@click.option("--out", default="readiness-drift", show_default=True, type=click.Path(file_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="readiness.yaml for drift settings and trust (optional).")
@click.option("--trust-artifact", "trust_artifact", multiple=True, metavar="SHA256")
@click.option("--warn-exit-code", type=click.IntRange(0, 255), default=None)
@click.option("--timeout", type=click.FloatRange(min=1), default=None)
@_ENGINE
@_SPARK_MASTER
@_NO_HISTORY
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def drift(reference, current, model, target, out, config_path, trust_artifact, warn_exit_code, timeout, engine,
          spark_master, no_history, debug) -> None:
    """Drift of CURRENT data against REFERENCE data (a .csv/.parquet file or a saved profile).

    \f
    Examples
    --------
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["drift", "--help"], prog_name="readiness")
    >>> print(result.output)  # doctest: +ELLIPSIS
    Usage: readiness drift [OPTIONS] REFERENCE CURRENT
    <BLANKLINE>
      Drift of CURRENT data against REFERENCE data (a .csv/.parquet file or a saved
      profile).
    ...
    """
    from readiness.run.runner import run as run_reports

    overrides: dict[str, Any] = {"reference": _location(reference), "current": _location(current), "output": _abs(out)}
    if engine or spark_master:
        overrides["drift"] = {**({"engine": engine} if engine else {}),
                              **({"spark": {"master": spark_master}} if spark_master else {})}
    if no_history:
        overrides["history"] = False
    if model:
        overrides["model"] = _abs(model)
    if target:
        overrides["target"] = target
    config = load_config(config_path, overrides)
    if trust_artifact:
        hashes = list(config.trust.sha256) + [h.strip().lower() for h in trust_artifact]
        config = load_config(config_path, {**overrides, "trust": {**config.trust.model_dump(), "sha256": hashes}})
    result = run_reports(config, ["drift_report"], timeout_s=timeout, echo=_echo_err, progress=sys.stderr.isatty())
    _print_result(result)
    for outcome in result.outcomes:
        if outcome.usage_error:
            raise UsageError(outcome.usage_error)
    sys.exit(result.exit_code(warn_exit_code))


@cli.command()
@click.argument("log")
@click.option("--timestamp", default=None, metavar="COL", help="Timestamp column (default: timestamp).")
@click.option("--prediction", default=None, metavar="COL", help="Prediction column: a score or a probability.")
@click.option("--version", "version_column", default=None, metavar="COL",
              help="Model version column (default: model_version or version when present).")
@click.option("--label", default=None, metavar="COL", help="Label column in the log.")
@click.option("--labels", "labels_file", default=None, type=click.Path(dir_okay=False),
              help="A separate file of late labels, joined on --id.")
@click.option("--id", "id_column", default=None, metavar="COL", help="Id column joining --labels to the log.")
@click.option("--reference", default=None, help="Reference data (.csv/.parquet) or saved profile (.json) for the features.")
@click.option("--chunk", default=None, help="Chunk by period (12h, 1d, 1w, 1M) or rows (e.g. 10000rows). Default 1d.")
@click.option("--model", default=None, metavar="M",
              help="Model artifact: scores a log without predictions, or checks the logged predictions against its own.")
@click.option("--trust-artifact", "trust_artifact", multiple=True, metavar="SHA256",
              help="Load the artifact with this sha256 in-process (others run in the sandboxed worker).")
@click.option("--out", default="readiness-monitoring", show_default=True, type=click.Path(file_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="readiness.yaml for monitoring settings (optional).")
@click.option("--warn-exit-code", type=click.IntRange(0, 255), default=None)
@click.option("--timeout", type=click.FloatRange(min=1), default=None)
@click.option("--engine", type=click.Choice(["pandas", "spark"]), default=None,
              help="Who profiles the features per chunk: pandas (default, a sample per chunk) or spark (every row, "
                   "period chunks only; pip install 'ml-readiness[spark]').")
@_SPARK_MASTER
@_NO_HISTORY
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def monitor(log, timestamp, prediction, version_column, label, labels_file, id_column, reference, chunk, model,
            trust_artifact, out, config_path, warn_exit_code, timeout, engine, spark_master, no_history, debug) -> None:
    """The model's behaviour over time from its prediction LOG (a .csv/.parquet file, a folder, a glob,
    or a database URL such as sqlite:///log.sqlite, the table PredictionLogger writes; #name for another table).

    Chunks the log, learns bands from a reference period, finds changepoints and names the
    model version that went live there, and checks realized (with labels) and estimated
    (without) performance. Exits like `readiness run`. Per-class probabilities of a multiclass
    model: --prediction p_a,p_b,p_c. With --model, a log without predictions is scored by the
    model, and a log with them has a sample of each chunk checked against the model's own.

    \f
    Examples
    --------
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["monitor", "--help"], prog_name="readiness")
    >>> print(result.output)  # doctest: +ELLIPSIS
    Usage: readiness monitor [OPTIONS] LOG
    <BLANKLINE>
      The model's behaviour over time from its prediction LOG (a .csv/.parquet file,
      a folder, a glob, or a database URL such as sqlite:///log.sqlite, the table
      PredictionLogger writes; #name for another table).
    ...
      --chunk TEXT ...
    """
    from readiness.run.runner import run as run_reports

    if labels_file and not id_column:
        raise UsageError("--labels needs --id, the column joining the labels file to the log")
    from readiness.serving.sinks import anchored_url

    overrides: dict = {"predictions": anchored_url(_location(log), Path.cwd()),
                       "output": _abs(out)}
    settings = {key: value for key, value in (("timestamp", timestamp), ("prediction", prediction),
                                              ("version", version_column), ("label", label), ("id", id_column),
                                              ("chunk", chunk), ("reference", _abs(reference)),
                                              ("model", _abs(model)), ("engine", engine)) if value is not None}
    if spark_master:
        settings["spark"] = {"master": spark_master}
    if settings:
        overrides["monitoring"] = settings
    if labels_file:
        overrides["labels"] = _abs(labels_file)
    if no_history:
        overrides["history"] = False
    config = load_config(config_path, overrides)
    if trust_artifact:
        hashes = list(config.trust.sha256) + [h.strip().lower() for h in trust_artifact]
        config = load_config(config_path, {**overrides, "trust": {**config.trust.model_dump(), "sha256": hashes}})
    result = run_reports(config, ["monitoring_report"], timeout_s=timeout, echo=_echo_err, progress=sys.stderr.isatty())
    _print_result(result)
    for outcome in result.outcomes:
        if outcome.usage_error:
            raise UsageError(outcome.usage_error)
    sys.exit(result.exit_code(warn_exit_code))


@cli.command()
@click.argument("reference")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the profile (.json).")
@click.option("--bins", type=click.IntRange(10, 1000), default=100, show_default=True)
@click.option("--max-categories", type=click.IntRange(2, 10_000), default=50, show_default=True)
@_ENGINE
@_SPARK_MASTER
def profile(reference: str, output: str, bins: int, max_categories: int, engine: str | None,
            spark_master: str | None) -> None:
    """Fit reference statistics once: a mergeable per-column profile of REFERENCE.

    \f
    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from click.testing import CliRunner
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"tenure": [1, 5, 12, 30, 2, 48],
    ...               "region": ["north", "south", "east", "west", "north", "south"]}).to_csv(folder / "reference.csv", index=False)
    >>> result = CliRunner().invoke(cli, ["profile", str(folder / "reference.csv"), "-o", str(folder / "reference.json")])
    >>> print(result.output)  # doctest: +ELLIPSIS
    Wrote .../reference.json: 6 rows, 2 columns (2 categorical) in ... s
    """
    import time

    from readiness.data import read_table, sha256_file
    from readiness.stats.profile import fit_reference, save_profile

    started = time.perf_counter()
    if engine == "spark":
        from readiness.engines import spark as spark_engine

        spark = spark_engine.spark_session(spark_master)
        profiles, info = spark_engine.fit_reference_spark(spark_engine.read_data(spark, _location(reference), "reference"),
                                                          bins=bins, max_categories=max_categories, details=True)
        rows, error = info["rows"], info["edge_rank_error"]
        save_profile(profiles, output, {"path": _location(reference), "sha256": spark_engine.sha256_if_file(reference),
                                        "rows": rows, "engine": "spark", "edge_rank_error": error})
        how = f"on Spark, edges {'exact' if not error else f'within {error:.3%} of the rows of their rank'}; "
    else:
        frame = read_table(reference, "reference", text_as_categories=True)  # counts only: no model reads it
        profiles = fit_reference(frame, bins=bins, max_categories=max_categories)
        rows, how = len(frame), ""
        save_profile(profiles, output, {"path": str(Path(reference).resolve()), "sha256": sha256_file(reference),
                                        "rows": rows})
    kinds = {}
    for p in profiles.values():
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    _echo(f"Wrote {output}: {rows:,} rows, {len(profiles)} columns "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) {how}in {time.perf_counter() - started:.1f} s")


@cli.command()
@click.option("--model", "model_name", default=None, help="Only runs of this model name.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest runs shown.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json includes every check of each run.")
@click.option("--history", "history", default=None, metavar="PATH|URL",
              help="History to read (default: the one named in ./readiness.yaml, else ./readiness-history.sqlite).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="readiness.yaml naming the history (default: ./readiness.yaml when it exists).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def history(model_name, limit, output_format, history, config_path, debug) -> None:
    """List the runs recorded in the release history, newest first.

    \f
    Examples
    --------
    >>> import tempfile
    >>> from click.testing import CliRunner
    >>> from readiness.history import HistoryStore
    >>> path = str(Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> with HistoryStore(path) as store:
    ...     _ = store.record({"run_uuid": "a" * 32, "created_at": "2024-05-01T10:00:00+00:00", "model_name": "churn",
    ...                       "model_sha256": "ab" * 32, "verdict": "pass", "git_commit": "0123456789abcdef"},
    ...                      checks=[{"report": "golden_benchmark", "check_id": "golden.metric.roc_auc", "status": "pass"}])
    >>> print(CliRunner().invoke(cli, ["history", "--history", path]).output)
    run  time (UTC)        model  model sha256  verdict  checks pass/warn/fail  commit      branch
      1  2024-05-01 10:00  churn  abababababab  PASS     1/0/0                  0123456789  –
    """
    from readiness.history.listing import format_csv, format_json, format_table, history_source, list_runs

    source = history_source(history, config_path)
    runs = list_runs(source, model_name, limit, with_checks=output_format == "json")
    if output_format == "json":
        click.echo(format_json(runs))  # JSON escapes control characters itself
    elif output_format == "csv":
        text = format_csv(runs)
        if sys.stdout.isatty():  # a file gets the CSV as it is; a terminal no raw control sequence
            for line in text.splitlines():
                _echo(line)
        else:
            click.echo(text, nl=False, color=True)  # as it is: click would strip escape sequences from the data
    elif not runs:
        _echo_err("No runs recorded" + (f" for model {model_name!r}" if model_name else "") + " yet.")
    else:
        for line in format_table(runs).splitlines():
            _echo(line)


@cli.command()
@click.argument("model")
@click.option("--model-name", "model_name", default=None,
              help="Model name (default: history.model_name in readiness.yaml, else the artifact's file name).")
@click.option("--at", "at", default=None, metavar="TIME", help="When it went live, ISO 8601 (default: now; naive times are UTC).")
@click.option("--environment", default="production", show_default=True, help="Where it went live.")
@click.option("--note", default=None, help="Free text kept with the deployment.")
@click.option("--history", "history", default=None, metavar="PATH|URL",
              help="History to write (default: the one named in ./readiness.yaml, else ./readiness-history.sqlite).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def deployed(model, model_name, at, environment, note, history, config_path, debug) -> None:
    """Record that MODEL (an artifact file or its sha256) went live, for the monitoring report's releases.

    \f
    Examples
    --------
    >>> import tempfile
    >>> from click.testing import CliRunner
    >>> path = str(Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> result = CliRunner().invoke(cli, ["deployed", "ab" * 32, "--model-name", "churn", "--at", "2024-05-01T09:00",
    ...                                   "--history", path])
    >>> print(result.output)  # doctest: +ELLIPSIS
    Recorded: churn abababababab live in production since 2024-05-01T09:00:00+00:00 (.../history.sqlite)
    """
    from readiness.history.listing import record_deployment_from_cli

    _echo(record_deployment_from_cli(model, model_name, at, environment, note, history, config_path))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="table to read, json for tools, markdown for docs/checks.md.")
@click.option("--report", "reports", multiple=True, type=click.Choice(registry.names()),
              help="Only this report's checks (repeatable).")
def checks(fmt: str, reports: tuple[str, ...]) -> None:
    """List every check id readiness can emit: what it checks, its severity, what tunes it.

    Ids with <name> parts (a column, a metric, a segment) are patterns; gates, the checklist's
    detected_by and JUnit names use these ids.

    \f
    Examples
    --------
    >>> from click.testing import CliRunner
    >>> print(CliRunner().invoke(cli, ["checks", "--report", "drift_report"]).output)  # doctest: +ELLIPSIS
    id                              severity  statuses                  tuned by
    ------------------------------------------------------------------------------------------
    drift.schema.columns            critical  pass                      -
                                    Every reference column is present in the current data and none is new
    ...
    """
    from readiness.catalogue import RUN_ENTRIES, Catalogue, catalogue_markdown

    specs = [spec for spec in registry.all() if not reports or spec.name in reports]
    if fmt == "markdown":
        text = catalogue_markdown(specs, () if reports else RUN_ENTRIES)
    else:
        everything = registry.catalogue()
        chosen = Catalogue(e for e in everything.entries if (e.report in reports if reports else True))
        text = chosen.as_json() if fmt == "json" else chosen.as_text()
    for line in text.rstrip("\n").split("\n"):
        _echo(line)


def _stop_on_signal(signum: int, frame) -> None:
    """SIGINT and SIGTERM unwind the run through its cleanup (child processes, temp folders)."""
    for number in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the cleanup short
        signal.signal(number, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> None:
    """The ``readiness`` console script: :func:`cli` with one-line errors and the documented exit codes.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    readiness, version ...

    Bad input is one line on stderr and exit code 2:

    >>> import contextlib
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     try:
    ...         main(["run", "--config", "missing.yaml"])
    ...     except SystemExit as exit:
    ...         print("exit code", exit.code)
    readiness: error: missing.yaml: config file not found; create one with `readiness init`
    exit code 2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, _stop_on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        cli.main(args=argv, prog_name="readiness", standalone_mode=False)
    except click.exceptions.Abort:  # click's form of KeyboardInterrupt
        _echo_err("readiness: interrupted")
        sys.exit(128 + signal.SIGINT)
    except click.exceptions.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)
        for line in shown.getvalue().splitlines():
            _echo_err(line)
        sys.exit(exc.exit_code)
    except UsageError as exc:
        if debug:
            raise
        _echo_err(f"readiness: error: {exc}")
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _echo_err("readiness: interrupted")
        sys.exit(128 + signal.SIGINT)
    except Terminated as exc:
        _echo_err("readiness: terminated")
        sys.exit(128 + exc.signum)
    except Exception as exc:
        if debug:
            raise
        _echo_err(f"readiness: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(1)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":  # pragma: no cover
    main()
