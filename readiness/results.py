"""The results contract: checks, report status, ``<report>.json`` (schema ``readiness/1``).

(Over 400 lines on purpose: the writer, the reader and the one schema check of one file
format stay side by side so that they cannot drift apart.)

Everything that writes or reads results goes through here: :class:`Check`, the status
order (:data:`STATUS_RANK`, :func:`worst_status`, :func:`is_ready`), :func:`report_document`
and :func:`write_json` to write, :func:`read_results` and :func:`load_results` (one schema
check, :func:`check_results`) to read a report's JSON back.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import stat
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from readiness.catalogue import UncataloguedCheck, record_violation, strict
from readiness.exceptions import InputError, first_line

SCHEMA = "readiness/1"
STATUSES = ("pass", "warn", "fail", "error", "skip")
SEVERITIES = ("critical", "major", "minor", "info")
#: Statuses from least to most in need of attention: the one order every output sorts and
#: combines by. A report's status is its worst check's, where a skip counts as a pass.
STATUS_RANK = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}
#: Statuses that make a run "not ready" (exit code 1).
FAILING = ("fail", "error")

#: Packages whose versions every report records.
TRACKED_PACKAGES = (
    "readiness", "scikit-learn", "numpy", "scipy", "pandas", "pyarrow", "skops", "joblib",
    "matplotlib", "papermill", "nbconvert", "ipykernel",
)


#: What every Check answers to in strict mode; lent by :mod:`readiness.registry` when it loads.
_CATALOGUE: Any = None


def hold_checks_to(catalogue: Any) -> None:
    """Make ``catalogue`` the check catalogue strict mode holds every :class:`Check` to.

    ``catalogue`` has ``validate_check(check)`` and ``validate_section(section, check)``
    (:class:`readiness.registry.Registry` does); this module, below the registry, never
    imports it.

    Examples
    --------
    >>> import readiness.registry  # lends its registry when it loads
    >>> _CATALOGUE is readiness.registry.registry
    True
    """
    global _CATALOGUE
    _CATALOGUE = catalogue


def _catalogue() -> Any:
    if _CATALOGUE is None:
        raise RuntimeError("READINESS_STRICT_CHECK_IDS is set but no check catalogue is loaded; import readiness.registry")
    return _CATALOGUE


@dataclass
class Check:
    """One check: what was checked, the verdict, and a sentence saying why.

    ``value``, ``ci`` and ``threshold`` are optional; ``details`` carries extra
    numbers for tables (never needed to understand the message). Every id is listed
    in the check catalogue (:mod:`readiness.catalogue`); the test suite enforces it.

    Examples
    --------
    >>> Check("golden.leakage", "No single feature gives the label away", "pass", "the best feature explains 0.12",
    ...       severity="info").to_dict()["status"]
    'pass'
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
        if strict():
            try:
                _catalogue().validate_check(self)
            except UncataloguedCheck as error:
                raise record_violation(error) from None

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
        if strict():  # the section's name is its SectionSpec's: its prefixes must own what it records
            for check in checks:
                try:
                    _catalogue().validate_section(section, check)
                except UncataloguedCheck as error:
                    raise record_violation(error) from None
        self._sections[section] = checks
        return checks

    @property
    def checks(self) -> list[Check]:
        return [c for checks in self._sections.values() for c in checks]


def worst_status(statuses) -> str:
    """A report's status is its worst check; a skip counts as a pass; no checks at all is an error.

    Examples
    --------
    >>> worst_status(["pass", "warn", "skip"])
    'warn'
    >>> worst_status(["skip"]), worst_status([])
    ('pass', 'error')
    """
    statuses = list(statuses)
    if not statuses:
        return "error"
    worst = max(statuses, key=STATUS_RANK.__getitem__)
    return "pass" if worst == "skip" else worst


def is_ready(status: str) -> bool:
    """A run or report is ready to deploy when its status is pass or warn.

    Examples
    --------
    >>> is_ready("warn"), is_ready("error")
    (True, False)
    """
    return not is_failing(status)


def is_failing(status: str) -> bool:
    """A check or report that failed or could not be computed: what makes a run not ready.

    Examples
    --------
    >>> [s for s in STATUSES if is_failing(s)]
    ['fail', 'error']
    """
    return status in FAILING


def worst_first(checks, at_least: str = "skip", status=lambda check: check["status"]) -> list:
    """Checks (dicts, or anything ``status`` reads) most in need of attention first, stable within a status.

    ``at_least`` leaves out the checks ranked below it (``"warn"``: the failing and warning checks).

    Examples
    --------
    >>> checks = [{"id": "a", "status": "warn"}, {"id": "b", "status": "error"}, {"id": "c", "status": "pass"}]
    >>> [c["id"] for c in worst_first(checks)], [c["id"] for c in worst_first(checks, at_least="warn")]
    (['b', 'a', 'c'], ['b', 'a'])
    """
    floor = STATUS_RANK[at_least]
    kept = [check for check in checks if STATUS_RANK[status(check)] >= floor]
    return sorted(kept, key=lambda check: -STATUS_RANK[status(check)])


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


# --------------------------------------------------------------------------- reading results back

#: Most bytes readiness reads from one results file; a drift report on 10,000 columns writes ~10 MB.
MAX_RESULTS_BYTES = 256 * 1024 * 1024
#: What a report name may be: it becomes file names and links.
REPORT_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def read_regular_file(path: str | Path, max_bytes: int | None = None) -> bytes | None:
    """The bytes of ``path`` if it is a regular file, never following a symbolic link.

    None when it is missing, a link, unreadable, or not a regular file (a FIFO or a
    device would block or never end). Raises :class:`~readiness.exceptions.InputError`
    when it holds more than ``max_bytes``.

    Examples
    --------
    >>> read_regular_file("/nonexistent/golden_benchmark.json") is None
    True
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # missing, a symlink (ELOOP), unreadable
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return None
        if max_bytes is not None and info.st_size > max_bytes:
            raise InputError(f"{path}: {info.st_size:,} bytes, more than a readiness results file holds "
                             f"({max_bytes:,}); remove it or re-run `readiness run`")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read() if max_bytes is None else handle.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(descriptor)


def is_results_document(document: Any) -> bool:
    """True for what marks a JSON document as a report's results (the run's summary.json is not).

    Examples
    --------
    >>> is_results_document({"schema": SCHEMA, "report": "drift_report", "status": "pass", "checks": []})
    True
    >>> is_results_document({"schema": SCHEMA, "reports": []})
    False
    """
    return isinstance(document, dict) and document.get("schema") == SCHEMA and "report" in document


def _number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_problem(check: Any) -> str | None:
    if not isinstance(check, dict) or not isinstance(check.get("id"), str):
        return "a check lacks a text 'id'"
    name = check["id"][:80]
    if check.get("status") not in STATUSES:
        return f"check {name!r} lacks a valid 'status'"
    if not isinstance(check.get("message", ""), str) or not isinstance(check.get("title", ""), str):
        return f"check {name!r} has a 'message' or 'title' that is not text"
    if check.get("severity", "major") not in SEVERITIES:
        return f"check {name!r} has a 'severity' not in {', '.join(SEVERITIES)}"
    if check.get("value") is not None and not _number(check["value"]):
        return f"check {name!r} has a 'value' that is not a number"
    ci = check.get("ci")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(v is None or _number(v) for v in ci)):
        return f"check {name!r} has a 'ci' that is not two numbers"
    for key in ("threshold", "details"):
        if check.get(key) is not None and not isinstance(check[key], dict):
            return f"check {name!r} has a '{key}' that is not a mapping"
    return None


def check_results(document: Any, source: str | Path) -> dict[str, Any]:
    """Return ``document`` if it is a results document every output can rely on.

    The one schema check of everything that reads results back (the run outputs,
    ``readiness summary``, the checklist's evidence, carrying reports over).

    Raises
    ------
    InputError
        One line naming ``source`` and what is wrong.

    Examples
    --------
    >>> check_results({"schema": SCHEMA, "report": "drift_report", "status": "pass", "checks": []}, "x.json")["report"]
    'drift_report'
    >>> check_results({"schema": SCHEMA, "report": "../x", "status": "pass"}, "x.json")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: x.json: not a valid readiness results file (its 'report' is not a report name); re-run `readiness run`
    """
    problem = None
    if not isinstance(document, dict):
        problem = "it is not a JSON object"
    elif document.get("schema") != SCHEMA:
        problem = f"its schema is {str(document.get('schema'))[:40]!r}, not {SCHEMA!r}"
    elif not isinstance(document.get("report"), str) or not REPORT_NAME.fullmatch(document["report"]):
        problem = "its 'report' is not a report name"
    elif document.get("status") not in STATUSES:
        problem = f"its status {str(document.get('status'))[:20]!r} is not one of {', '.join(STATUSES)}"
    elif not isinstance(document.get("checks", []), list):
        problem = "its 'checks' is not a list"
    elif document.get("error") is not None and not isinstance(document["error"], str):
        problem = "its 'error' is not text"
    else:
        problem = next(filter(None, map(_check_problem, document.get("checks", []))), None)
    if problem:
        raise InputError(f"{source}: not a valid readiness results file ({problem}); re-run `readiness run`")
    return document


def read_results(path: str | Path, report: str | None = None) -> dict[str, Any] | None:
    """The results document in ``path``, checked by :func:`check_results`.

    None when the file is not a report's results at all: missing, a symbolic link
    (never followed), not a regular file, or JSON without the results schema (a file
    the user keeps there, the run's ``summary.json``).

    Raises
    ------
    InputError
        The file is not valid JSON, breaks the schema, is too large, or holds the
        results of another report than ``report``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_json(folder / "drift_report.json", report_document("drift_report", [], {}, now_iso(), 0.5))
    >>> read_results(folder / "drift_report.json", "drift_report")["status"]
    'error'
    """
    data = read_regular_file(path, MAX_RESULTS_BYTES)
    if data is None:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not valid JSON ({first_line(exc, 120)}); re-run `readiness run`") from None
    if not is_results_document(document):
        return None
    check_results(document, path)
    if report is not None and document["report"] != report:
        raise InputError(f"{path}: holds the results of {document['report']!r}, not {report!r}; re-run `readiness run`")
    return document


def load_results(folder: str | Path, exclude: tuple[str, ...] = (), skip_invalid: bool = False) -> list[dict[str, Any]]:
    """Every report's results in ``folder`` (``*.json``, regular files only), in file-name order.

    Parameters
    ----------
    folder : path
        A run's output (or staging) folder.
    exclude : tuple of str
        Reports to leave out (the checklist leaves out its own previous results).
    skip_invalid : bool
        Leave out files that are not valid results instead of raising; for readers that
        only take what evidence they find.

    Raises
    ------
    InputError
        ``folder`` is not a folder, or (unless ``skip_invalid``) a ``*.json`` file in it is
        not valid JSON or a results file breaking the schema.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_json(folder / "drift_report.json", report_document("drift_report", [], {}, now_iso(), 0.5))
    >>> write_json(folder / "notes.json", {"mine": True})
    >>> [doc["report"] for doc in load_results(folder)]
    ['drift_report']
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give the output folder of `readiness run`")
    documents = []
    for path in sorted(folder.glob("*.json")):
        try:
            document = read_results(path)
        except InputError:
            if skip_invalid:
                continue
            raise
        if document is not None and document["report"] not in exclude:
            documents.append(document)
    return documents


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
