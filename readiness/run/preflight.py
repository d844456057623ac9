"""Everything checkable before a report's kernel starts, with one-line errors.

Each report declares its own pre-flight in its :class:`~readiness.registry.ReportSpec`;
this module gives them a :class:`PreflightContext` that hashes and vets each artifact
once per run (loading it in a sandboxed worker under the run's deadline) and reads each
table's columns once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readiness.artifacts.trust import check_artifact, vet_in_child
from readiness.config import Config
from readiness.data import read_columns
from readiness.exceptions import UsageError
from readiness.registry import registry
from readiness.run.folder import check_output_folder


class PreflightContext:
    """What report pre-flights share: artifacts vetted once, columns read once.

    Examples
    --------
    >>> PreflightContext(None, 60).listing(["a", "b"])
    "'a', 'b'"
    """

    def __init__(self, config: Config | None, timeout_s: float):
        self.config = config
        self.timeout_s = timeout_s
        self._vetted: dict[str, Any] = {}
        self._columns: dict[str, list[str]] = {}

    def vet(self, path, key: str):
        """Check an artifact and, unless trusted by hash or a custom loader, load it once in a sandboxed worker."""
        name = str(path)
        if name not in self._vetted:
            trust = self.config.trust.model_dump()
            info = check_artifact(path, key, trust)
            if info.format != "loader" and info.trusted_by != "trust.sha256":
                vet_in_child(path, key, trust, self.timeout_s)
            self._vetted[name] = info
        return self._vetted[name]

    def columns(self, path, key: str) -> list[str]:
        name = str(path)
        if name not in self._columns:
            self._columns[name] = read_columns(Path(path), key)
        return self._columns[name]

    @staticmethod
    def listing(items: list[str], limit: int = 12) -> str:
        shown = ", ".join(repr(i) for i in items[:limit])
        return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def default_reports(config: Config) -> list[str]:
    """Every report the config has inputs for."""
    reports = [spec.name for spec in registry.all() if spec.ready(config)]
    if not reports:
        wanted = "; ".join(f"{', '.join(spec.needs)} ({spec.title.lower()})" for spec in registry.all())
        raise UsageError(f"nothing to run: set {wanted} in readiness.yaml; `readiness init` writes a starter")
    return reports


def preflight(config: Config, reports: list[str], timeout_s: float | None = None) -> PreflightContext:
    """Run each selected report's pre-flight; raises UsageError with one line."""
    specs = [registry.get(report) for report in reports]
    for spec in specs:
        missing = spec.missing(config)
        if missing:
            raise UsageError(f"{spec.name} needs {', '.join(repr(k) for k in missing)} in readiness.yaml "
                             "or on the command line")
    context = PreflightContext(config, timeout_s or max(spec.timeout(config) for spec in specs))
    for spec in specs:
        if spec.preflight is not None:
            spec.preflight(config, context)
    check_output_folder(config.output)
    return context
