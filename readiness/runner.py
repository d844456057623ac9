"""Run reports: pre-flight, papermill in a child process, HTML, summary, atomic output.

For each report the runner

1. checks the inputs it can check without loading a model (files, trust, columns),
2. writes the notebook parameters to a YAML file and checks their names against
   the parameters the notebook declares (papermill only warns about unknown ones),
3. executes the notebook in a child process with a kernel that runs *this*
   interpreter, whatever ``python3`` kernelspecs the user has, under a
   wall-clock timeout,
4. renders the HTML report (also when the notebook failed: it then says what failed),
5. writes everything into a staging folder that replaces the output folder at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import nbformat
import yaml

from readiness.aggregate import write_run_outputs
from readiness.artifacts import check_artifact, vet_in_child
from readiness.config import REPORTS, Config
from readiness.data import read_columns
from readiness.escape import terminal_text
from readiness.exceptions import USAGE_ERROR_NAMES, InputError, NotebookParameterError, UsageError
from readiness.render import placeholder_notebook, render_html, warm_renderer
from readiness.resources import notebook_path
from readiness.results import SCHEMA, _umask, now_iso, report_document, write_json

KERNEL_NAME = "readiness-python"
TITLES = {"golden_benchmark": "Golden benchmark", "drift_report": "Drift report",
          "workflow_risk_checklist": "Workflow risk checklist"}
EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2
#: Environment variable carrying a per-report token: every process the report starts
#: (papermill's child, the kernel, whatever the model's code starts) inherits it, so
#: all of them are found and ended, even those re-parented or in a session of their own.
RUN_TOKEN_VARIABLE = "READINESS_RUN_TOKEN"
#: Names readiness writes into an output folder; anything else there is the user's.
REPORT_SUFFIXES = (".html", ".json", ".ipynb")
#: How long a run waits for another run finishing into the same folder.
LOCK_WAIT_S = 120.0


@dataclass
class ReportOutcome:
    report: str
    status: str
    duration_s: float
    usage_error: str | None = None  # bad input detected inside the notebook: exit 2
    files: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    out_dir: Path
    outcomes: list[ReportOutcome]
    summary: dict[str, Any]

    def exit_code(self, warn_exit_code: int | None = None) -> int:
        if any(o.usage_error for o in self.outcomes):
            return EXIT_USAGE
        return exit_code_for(self.summary["status"], warn_exit_code)


def exit_code_for(status: str, warn_exit_code: int | None = None) -> int:
    """0 ready, 1 not ready; ``warn_exit_code`` lets CI show warnings in orange
    (GitLab ``allow_failure: exit_codes``)."""
    if status == "warn" and warn_exit_code is not None:
        return warn_exit_code
    return EXIT_READY if status in ("pass", "warn") else EXIT_NOT_READY


# --------------------------------------------------------------------------- parameters


def report_parameters(config: Config, report: str, results_dir: Path | None = None) -> dict[str, Any]:
    if report == "drift_report":
        return {
            "reference_path": str(config.reference),
            "current_path": str(config.current),
            "model_path": str(config.model) if config.model else "",
            "target": config.target or "",
            "trust": config.trust.model_dump(mode="json"),
            "settings": config.drift.model_dump(mode="json"),
        }
    if report == "workflow_risk_checklist":
        return {
            "checklist_path": str(config.checklist),
            "results_dir": str(results_dir or ""),
            "project_dir": str(config.project or config._base_dir or Path(config.checklist).parent),
        }
    if report != "golden_benchmark":
        raise UsageError(f"unknown report {report!r}; available: {', '.join(REPORTS)}")
    return {
        "model_path": str(config.model),
        "baseline_path": str(config.baseline) if config.baseline else "",
        "golden_path": str(config.golden),
        "target": config.target,
        "task": config.task,
        "segments": list(config.segments),
        "trust": config.trust.model_dump(mode="json"),
        "settings": config.golden_benchmark.model_dump(mode="json"),
    }


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    import papermill

    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Raise when a parameter is not declared in the notebook's ``parameters`` cell."""
    declared = declared_parameters(notebook)
    if not declared:
        raise NotebookParameterError(f"{notebook}: has no cell tagged 'parameters'; tag the cell that declares them")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise NotebookParameterError(
            f"{notebook}: does not declare parameter(s) {', '.join(unknown)}; "
            f"it declares {', '.join(sorted(declared))}"
        )


# --------------------------------------------------------------------------- pre-flight


NEEDS = {
    "golden_benchmark": ("model", "golden", "target"),
    "drift_report": ("reference", "current"),
    "workflow_risk_checklist": ("checklist",),
}


def default_reports(config: Config) -> list[str]:
    """Every report the config has inputs for."""
    reports = [r for r in REPORTS if all(getattr(config, key) is not None for key in NEEDS[r])]
    if not reports:
        raise UsageError("nothing to run: set model, golden and target (golden benchmark), reference and current "
                         "(drift report) or checklist in readiness.yaml; `readiness init` writes a starter")
    return reports


def preflight(config: Config, reports: list[str], timeout_s: float | None = None) -> None:
    """Everything checkable before a report runs; raises UsageError with one line.

    Pickle artifacts are loaded once in a child process by the kernel's own loader
    (never in this process), under the run's timeout.
    """
    for report in reports:
        missing = [key for key in NEEDS[report] if getattr(config, key) is None]
        if missing:
            raise UsageError(f"{report} needs {', '.join(repr(k) for k in missing)} in readiness.yaml or on the command line")
    trust = config.trust.model_dump()
    vet_timeout = timeout_s or config.golden_benchmark.timeout_s

    def vet(path, key: str) -> None:
        info = check_artifact(path, key, trust)
        if info.format != "loader" and info.trusted_by != "trust.sha256":
            vet_in_child(path, key, trust, vet_timeout)

    if "workflow_risk_checklist" in reports:
        from readiness.checklist import load_checklist

        load_checklist(config.checklist)
    if "drift_report" in reports:
        for key in ("reference", "current"):
            location = getattr(config, key)
            path = Path(location)
            if key == "reference" and not isinstance(location, str) and path.suffix.lower() == ".json":
                from readiness.profile import load_profile

                load_profile(path)
            elif config.drift.engine == "spark":  # files, folders, globs and URLs: Spark reads them where they are
                from readiness.spark_engine import check_location

                check_location(location, key)
            elif isinstance(location, str):
                raise InputError(f"{location}: a URL, which only the Spark engine reads; pass --engine spark "
                                 "(drift.engine: spark in readiness.yaml)")
            else:
                read_columns(path, key)
        if config.model is not None:
            vet(config.model, "model")
    if "golden_benchmark" not in reports:
        check_output_folder(config.output)
        return
    if "drift_report" not in reports or config.model is None:
        vet(config.model, "model")
    if config.baseline is not None:
        vet(config.baseline, "baseline")
    columns = read_columns(config.golden, "golden")
    if config.target not in columns:
        raise InputError(f"{config.golden}: target column {config.target!r} not found; set 'target' to one of: {_listing(columns)}")
    for column in config.segments:
        if column not in columns:
            raise InputError(f"{config.golden}: segment column {column!r} not found; fix 'segments' (columns: {_listing(columns)})")
    check_output_folder(config.output)


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def is_readiness_output(folder: Path) -> bool:
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            return json.loads(summary.read_text(encoding="utf-8")).get("schema") == SCHEMA
        except (OSError, ValueError):
            return False
    return folder.is_dir() and not any(folder.iterdir())


def readiness_names() -> set[str]:
    """The file names readiness writes into an output folder."""
    from readiness.aggregate import RUN_FILES

    return set(RUN_FILES) | {f"{report}{suffix}" for report in REPORTS for suffix in REPORT_SUFFIXES}


def check_output_folder(out: Path) -> None:
    """Refuse a folder that is not a previous run, or where readiness would replace something not its own."""
    if out.is_symlink() or (out.exists() and not (out.is_dir() and is_readiness_output(out))):
        raise UsageError(f"{out}: exists and is not a readiness output folder; choose another --out or remove it")
    if out.is_dir():
        for name in sorted(readiness_names()):
            entry = out / name
            if entry.is_symlink() or (entry.exists() and not entry.is_file()):
                kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                raise UsageError(f"{entry}: is {kind}, which readiness did not write; move it away or choose another --out")


# --------------------------------------------------------------------------- execution


def _kernelspec(folder: Path, python_path: Path | None = None) -> dict[str, str]:
    """A kernelspec that runs this interpreter, found first via JUPYTER_PATH."""
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        # ERROR log level: the kernel's start-up warnings are noise on the user's terminal.
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"],
        "display_name": "readiness (this interpreter)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(folder), env.get("JUPYTER_PATH", "")) if p)
    # Temporary files of the kernel, of the fresh-process check and of the model's own code,
    # and the kernel's connection file, all live in the work folder: removing it after the
    # report (also after a timeout, SIGINT or SIGTERM) leaves nothing behind.
    for variable, name in (("TMPDIR", "tmp"), ("JUPYTER_RUNTIME_DIR", "runtime")):
        (folder / name).mkdir(exist_ok=True)
        env[variable] = str(folder / name)
    env[RUN_TOKEN_VARIABLE] = uuid.uuid4().hex
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silence a debugger warning on kernel start
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if python_path is not None:  # module:function loaders import from the config's folder
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(python_path), env.get("PYTHONPATH", "")) if p)
    return env


def execute_report(
    report: str,
    parameters: dict[str, Any],
    staging: Path,
    timeout_s: float,
    notebook: Path | None = None,
    progress: bool = False,
    python_path: Path | None = None,
) -> ReportOutcome:
    """Execute one report notebook and render it; never raises for notebook failures."""
    notebook = notebook or notebook_path(report)
    title = TITLES.get(report, report.replace("_", " ").capitalize())
    executed = staging / f"{report}.ipynb"
    results_path = staging / f"{report}.json"
    html_path = staging / f"{report}.html"
    parameters = dict(parameters, results_path=str(results_path))
    check_parameters(notebook, parameters)

    started_at, clock = now_iso(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="readiness-run-") as work:
        work = Path(work)
        params_file = work / "parameters.yaml"
        # sort_keys=False keeps the user's metric order (the first gated metric leads the charts).
        params_file.write_text(yaml.safe_dump(parameters, sort_keys=False, allow_unicode=True), encoding="utf-8")
        status_file = work / "status.json"
        env = _kernelspec(work, python_path)
        command = [sys.executable, "-m", "readiness._execute", str(notebook), str(executed), str(params_file),
                   KERNEL_NAME, str(staging), str(status_file), "1" if progress else "0"]
        process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        timed_out = False
        try:
            warming = warm_renderer()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:  # also on KeyboardInterrupt and SIGTERM: nothing the report started outlives it
            stop_processes(process, env[RUN_TOKEN_VARIABLE])
        status = json.loads(status_file.read_text(encoding="utf-8")) if status_file.is_file() else None

    duration = time.perf_counter() - clock
    error, usage_error = None, None
    if timed_out:
        error = f"timed out after {timeout_s:g} s (golden_benchmark.timeout_s or --timeout); the notebook was stopped"
    elif status is None:
        error = f"the notebook process ended without a status (exit code {process.returncode})"
    elif not status["ok"]:
        cell = f" in cell {status['cell']}" if status.get("cell") else ""
        error = f"{status['ename']}{cell}: {status['evalue']}"
        if status["ename"] in USAGE_ERROR_NAMES:
            usage_error = status["evalue"]
    elif not results_path.is_file():
        error = "the notebook finished without writing its results JSON (its last cell must call finish)"

    if error:
        document = report_document(report, [], {}, started_at, duration, parameters=_public(parameters), error=error)
        write_json(results_path, document)
    else:
        document = json.loads(results_path.read_text(encoding="utf-8"))

    warming.join()
    executed_nb = nbformat.read(executed, as_version=4) if executed.is_file() else placeholder_notebook(title)
    html_path.write_text(render_html(executed_nb, document, title), encoding="utf-8")
    files = {"html": html_path.name, "json": results_path.name}
    if executed.is_file():
        files["notebook"] = executed.name
    return ReportOutcome(report, document["status"], duration, usage_error, files, document)


def stop_processes(process: subprocess.Popen, token: str, grace_s: float = 3.0) -> None:
    """End ``process`` and every process started under it, then reap ``process``.

    The kernel runs in a session of its own (jupyter_client starts it so) and the
    model's code may start more processes, so neither the process group nor the
    parent links are enough: every process carrying ``token`` in its environment
    is ended too, along with ``process``'s descendants (where the environment
    cannot be read). SIGTERM first, SIGKILL after ``grace_s`` seconds. Harmless
    when everything has already ended.
    """
    import psutil

    def started_here() -> list:
        found = {}
        if process.poll() is None:
            try:
                for child in psutil.Process(process.pid).children(recursive=True):
                    found[child.pid] = child
            except psutil.Error:
                pass
        for candidate in psutil.process_iter():
            if candidate.pid in found or candidate.pid in (os.getpid(), process.pid):
                continue
            try:
                if candidate.environ().get(RUN_TOKEN_VARIABLE) == token:
                    found[candidate.pid] = candidate
            except psutil.Error:  # ended meanwhile, or not ours to read
                continue
        return list(found.values())

    for attempt, send in enumerate((signal.SIGTERM, signal.SIGKILL)):
        others = started_here()
        if process.poll() is not None and not others:
            break
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(send)
        for other in others:
            with contextlib.suppress(psutil.Error):
                other.send_signal(send)
        deadline = time.monotonic() + grace_s
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s if attempt == 0 else None)
        while others and time.monotonic() < deadline:
            others = [other for other in others if _alive(other)]
            time.sleep(0.05)
    process.wait()


def _alive(proc) -> bool:
    """Running and not a zombie (an ended process whose parent has not collected it yet)."""
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _public(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parameters.items() if k != "results_path"}


# --------------------------------------------------------------------------- the run


def _print_to_stderr(line: str) -> None:
    print(terminal_text(line), file=sys.stderr)


def run(
    config: Config,
    reports: list[str] | None = None,
    timeout_s: float | None = None,
    echo: Callable[[str], None] = _print_to_stderr,
    progress: bool = False,
) -> RunResult:
    """Run the selected reports into ``config.output``; see the module docstring.

    Interrupted (KeyboardInterrupt, :class:`~readiness.exceptions.Terminated`) or
    failing, it ends every process it started, removes its temporary folders and
    leaves the previous output folder as it was.
    """
    reports = list(reports or default_reports(config))
    for report in reports:
        if report not in REPORTS:
            raise UsageError(f"unknown report {report!r} for --only; available: {', '.join(REPORTS)}")
    preflight(config, reports, timeout_s)
    out = Path(config.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the reports are meant to be shared
        outcomes = []
        for number, report in enumerate(reports, 1):
            echo(f"[{number}/{len(reports)}] {report}: running {notebook_path(report).name} …")
            limit = timeout_s or config.golden_benchmark.timeout_s
            # the checklist reads the other reports of this run, else those of the previous run
            evidence = staging if outcomes else (config.output if Path(config.output).is_dir() else None)
            outcome = execute_report(report, report_parameters(config, report, evidence), staging, limit,
                                     progress=progress, python_path=config._base_dir)
            outcomes.append(outcome)
            tail = f" ({outcome.document.get('error')})" if outcome.document.get("error") else ""
            echo(f"[{number}/{len(reports)}] {report}: {outcome.status.upper()} in {outcome.duration_s:.1f} s{tail}")
        documents = [dict(o.document, files=o.files) for o in outcomes]
        # Another run finishing into the same folder waits here: carrying over, summarising and
        # replacing the folder happen as one step, so concurrent runs behave like consecutive ones.
        with output_lock(out):
            documents += carry_over(out, staging, [r for r in REPORTS if r not in reports], echo)
            summary = write_run_outputs(staging, documents)
            replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunResult(out, outcomes, summary)


def carry_over(out: Path, staging: Path, reports: list[str], echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """Keep the previous run's reports that this run did not redo, so the folder stays complete.

    Only regular files are carried over: a symbolic link planted in the output
    folder (``golden_benchmark.html -> ~/.ssh/id_rsa``) is never followed.
    """
    kept = []
    for report in reports:
        previous = _read_regular_file(out / f"{report}.json")
        if previous is None:
            continue
        try:
            document = json.loads(previous.decode("utf-8"))
        except ValueError:
            continue
        if not isinstance(document, dict) or document.get("schema") != SCHEMA or document.get("report") != report:
            continue
        files = {}
        for kind, suffix in (("html", ".html"), ("json", ".json"), ("notebook", ".ipynb")):
            content = previous if suffix == ".json" else _read_regular_file(out / f"{report}{suffix}")
            if content is not None:
                target = staging / f"{report}{suffix}"
                target.write_bytes(content)
                target.chmod(0o666 & ~_umask())
                files[kind] = target.name
        echo(f"kept {report} ({str(document.get('status', '?')).upper()}) from the previous run of "
             f"{document.get('started_at', '?')}")
        kept.append(dict(document, files=files))
    return kept


def _read_regular_file(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a regular file, never following a symbolic link."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # missing, a symlink (ELOOP), unreadable
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a FIFO or device would block or never end
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def output_lock(out: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of output folder ``out`` (a ``.<name>.lock`` file beside it, removed after).

    Raises
    ------
    UsageError
        Another run held the lock for more than ``wait_s`` seconds.
    """
    import fcntl

    path = out.with_name(f".{out.name}.lock")
    deadline = time.monotonic() + wait_s
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            if time.monotonic() > deadline:
                raise UsageError(f"{out}: another readiness run has been writing into it for {wait_s:g} s "
                                 f"(lock {path}); wait for it to finish or choose another --out") from None
            time.sleep(0.1)
            continue
        try:  # the previous holder removes the file on release: make sure ours is still the one in place
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino == os.fstat(descriptor).st_ino:
            break
        os.close(descriptor)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then act on them as usual.

    Moving a finished run into place takes two renames; an interruption between
    them would lose the previous report and the new one. Only the main thread
    can set handlers; elsewhere the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signum = received[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def replace_folder(staging: Path, out: Path) -> None:
    """Move the finished staging folder into place, keeping whatever readiness did not write.

    Entries of the previous folder that the new run does not write again (the
    user's notes, folders, links, older files) are moved into the new folder
    first, so nothing readiness did not write is ever deleted; only the previous
    versions of the files just rewritten are removed, after the new folder is in place.
    """
    with deferred_signals():
        if not out.exists():
            os.replace(staging, out)
            return
        if out.is_symlink() or not (out.is_dir() and is_readiness_output(out)):  # replaced meanwhile
            raise UsageError(f"{out}: is no longer a readiness output folder; the new reports are not written there")
        for entry in sorted(out.iterdir()):
            target = staging / entry.name
            if target.exists() or target.is_symlink():
                if entry.is_file() and not entry.is_symlink():
                    continue  # the previous version of a file this run wrote again
                target = staging / _free_name(staging, f"{entry.name}.kept")
            os.rename(entry, target)
        retired = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, retired)
        os.replace(staging, out)
        shutil.rmtree(retired, ignore_errors=True)


def _free_name(folder: Path, name: str) -> str:
    candidate, number = name, 1
    while (folder / candidate).exists() or (folder / candidate).is_symlink():
        number += 1
        candidate = f"{name}-{number}"
    return candidate
