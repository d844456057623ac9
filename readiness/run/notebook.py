"""One report notebook: parameters checked, papermill in a child process under a deadline, HTML rendered.

The notebook runs with a kernel for *this* interpreter (whatever ``python3`` kernelspecs
the user has); every process it starts carries a token, so on a timeout or a signal
all of them are ended, even those re-parented or in a session of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from readiness.exceptions import USAGE_ERROR_NAMES, InputError, NotebookParameterError
from readiness.registry import registry
from readiness.resources import notebook_path
from readiness.results import now_iso, read_results, report_document, write_json
from readiness.run.render import placeholder_notebook, render_html, warm_renderer

KERNEL_NAME = "readiness-python"
#: Environment variable carrying a per-report token: every process the report starts
#: (papermill's child, the kernel, whatever the model's code starts) inherits it, so
#: all of them are found and ended, even those re-parented or in a session of their own.
RUN_TOKEN_VARIABLE = "READINESS_RUN_TOKEN"


@dataclass
class ReportOutcome:
    report: str
    status: str
    duration_s: float
    usage_error: str | None = None  # bad input detected inside the notebook: exit 2
    files: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)


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
    title = registry.title(report)
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
        command = [sys.executable, "-m", "readiness.run._execute", str(notebook), str(executed), str(params_file),
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
    else:
        try:
            document = read_results(results_path, report)
        except InputError as exc:  # a notebook (perhaps the user's own) that wrote something else
            error = str(exc)
        else:
            if document is None:
                error = "the notebook finished without writing its results JSON (its last cell must call finish)"

    if error:
        document = report_document(report, [], {}, started_at, duration, parameters=_public(parameters), error=error)
        write_json(results_path, document)

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


