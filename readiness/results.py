"""The results contract: checks, report status, ``<report>.json`` (schema ``readiness/1``)."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "readiness/1"
STATUSES = ("pass", "warn", "fail", "error", "skip")
SEVERITIES = ("critical", "major", "minor", "info")
_RANK = {"skip": 0, "pass": 0, "warn": 1, "fail": 2, "error": 3}

#: Packages whose versions every report records.
TRACKED_PACKAGES = (
    "readiness", "scikit-learn", "numpy", "scipy", "pandas", "pyarrow", "skops", "joblib",
    "matplotlib", "papermill", "nbconvert", "ipykernel",
)


@dataclass
class Check:
    """One check: what was checked, the verdict, and a sentence saying why.

    ``value``, ``ci`` and ``threshold`` are optional; ``details`` carries extra
    numbers for tables (never needed to understand the message).
    """

    id: str
    title: str
    status: str
    message: str
    severity: str = "major"
    value: float | None = None
    ci: list[float] | None = None
    threshold: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id}: status {self.status!r} not in {STATUSES}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.id}: severity {self.severity!r} not in {SEVERITIES}")

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}
        out.setdefault("message", self.message)
        return _jsonable(out)


class RecordsChecks:
    """Per-section check bookkeeping shared by the report classes.

    Each section method records its checks under its own name, so re-running a
    notebook cell replaces that section's checks instead of duplicating them.
    """

    _sections: dict[str, list[Check]]

    def _record(self, section: str, checks: list[Check]) -> list[Check]:
        self._sections[section] = checks
        progress = getattr(self, "progress", None)
        if progress is not None:
            progress.step(f"{section} section ({len(checks)} checks)")
        return checks

    @property
    def checks(self) -> list[Check]:
        return [c for checks in self._sections.values() for c in checks]


def worst_status(statuses) -> str:
    """A report's status is its worst check; no checks at all is an error."""
    statuses = list(statuses)
    if not statuses:
        return "error"
    worst = max(statuses, key=lambda s: _RANK[s])
    return "pass" if worst == "skip" else worst


def package_versions(names) -> dict[str, str]:
    """Installed versions of the named distributions (missing ones left out)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, Any]:
    packages = package_versions(TRACKED_PACKAGES)
    return {"python": platform.python_version(), "platform": platform.platform(), "executable": sys.executable,
            "packages": packages}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def report_document(
    report: str,
    checks: list[Check],
    inputs: dict[str, Any],
    started_at: str,
    duration_s: float,
    parameters: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """Assemble the results JSON of one report."""
    status = "error" if error else worst_status(c.status for c in checks)
    doc = {
        "schema": SCHEMA,
        "report": report,
        "status": status,
        "started_at": started_at,
        "duration_s": round(float(duration_s), 3),
        "inputs": inputs,
        "environment": environment(),
        "checks": [c.to_dict() for c in checks],
    }
    if parameters is not None:
        doc["parameters"] = parameters
    if error:
        doc["error"] = error
    return _jsonable(doc)


def write_json(path: str | Path, document: dict[str, Any]) -> None:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_jsonable(document), handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _jsonable(value: Any) -> Any:
    """Plain JSON types only; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value
