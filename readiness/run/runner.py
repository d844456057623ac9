"""Run reports: pre-flight, each report's notebook, the run's outputs, the exit code.

For each report the runner

1. checks what it can before any kernel starts (:mod:`readiness.run.preflight`: files,
   columns, trust; each artifact loaded once in a sandboxed worker),
2. executes the report's notebook in a child process under the report's wall-clock
   limit and renders its HTML, also when it failed (:mod:`readiness.run.notebook`),
3. writes everything into a staging folder that replaces the output folder at the end
   (:mod:`readiness.run.folder`), with the run's summary, index, JUnit and Markdown
   (:mod:`readiness.run.aggregate`).

Which reports exist, what they need and how their parameters come from the config is
declared in :mod:`readiness.registry`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from readiness.config import Config
from readiness.escape import terminal_text
from readiness.registry import RunContext, registry
from readiness.resources import notebook_path
from readiness.results import _umask, is_ready
from readiness.run.aggregate import write_run_outputs
from readiness.run.folder import carry_over, output_lock, replace_folder
from readiness.run.notebook import ReportOutcome, execute_report
from readiness.run.preflight import default_reports, preflight

EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2


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
    return EXIT_READY if is_ready(status) else EXIT_NOT_READY


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
    specs = [registry.get(report) for report in reports]
    preflight(config, reports, timeout_s)
    out = Path(config.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the reports are meant to be shared
        outcomes = []
        for number, spec in enumerate(specs, 1):
            report = spec.name
            echo(f"[{number}/{len(reports)}] {report}: running {notebook_path(report).name} …")
            limit = timeout_s or spec.timeout(config)
            # the checklist reads the other reports of this run, else those of the previous run
            evidence = staging if outcomes else (config.output if Path(config.output).is_dir() else None)
            context = RunContext(evidence_dir=evidence, python_path=config._base_dir)
            outcome = execute_report(report, spec.parameters(config, context), staging, limit,
                                     progress=progress, python_path=config._base_dir)
            outcomes.append(outcome)
            tail = f" ({outcome.document.get('error')})" if outcome.document.get("error") else ""
            echo(f"[{number}/{len(reports)}] {report}: {outcome.status.upper()} in {outcome.duration_s:.1f} s{tail}")
        documents = [dict(o.document, files=o.files) for o in outcomes]
        # Another run finishing into the same folder waits here: carrying over, summarising and
        # replacing the folder happen as one step, so concurrent runs behave like consecutive ones.
        with output_lock(out):
            documents += carry_over(out, staging, [r for r in registry.names() if r not in reports], echo)
            summary = write_run_outputs(staging, documents)
            replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunResult(out, outcomes, summary)


