"""The check catalogue: every check id readiness emits, what it checks, its severity and what tunes it.

Check ids are a public contract: teams gate on them, the checklist's fears name them
(``detected_by``), JUnit shows them as test names, the checklist counts them as evidence.
Each report declares its checks beside its :class:`~readiness.registry.ReportSpec`
(``checks``: a tuple of :class:`CheckEntry`, for the built-in reports from the ``catalogue``
module of the report's package), so a plug-in report brings its own. The registry gathers
them into one :class:`Catalogue` (:meth:`readiness.registry.Registry.catalogue`);
``readiness checks`` and ``docs/checks.md`` show it.

An entry's id may hold placeholders: ``golden.metric.<metric>``, ``drift.column.<column>``.
A placeholder matches any text (even none) unless the entry names its values (``values={"metric":
(...)}``, or a regular expression as a string).

With ``READINESS_STRICT_CHECK_IDS`` set (the test suite sets it to a file, so notebook kernels
started by the tests inherit it and log every violation there: see :func:`record_violation`) every :class:`~readiness.results.Check` is held to the catalogue: an
id no entry lists, a status the entry does not list, or a severity other than the entry's
(or ``info``, for checks that report without gating; skips keep any) raises (``error``,
"could not be computed", is open to every check), and a report
section recording a check whose id its :class:`~readiness.registry.SectionSpec` prefixes
give to another section raises too.

Examples
--------
>>> entry = CheckEntry("golden.metric.<metric>", "the metric on the golden set", "critical",
...                    ("pass", "fail", "skip"), ("golden_benchmark.metrics.<metric>.min",),
...                    values={"metric": ("roc_auc", "accuracy")}, report="golden_benchmark")
>>> bool(entry.matches("golden.metric.roc_auc")), bool(entry.matches("golden.metric.bogus"))
(True, False)
>>> entry.example
'golden.metric.roc_auc'
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

#: Environment variable that makes every Check answer to the catalogue (the test suite sets it).
STRICT_VARIABLE = "READINESS_STRICT_CHECK_IDS"
_PLACEHOLDER = re.compile(r"<([a-z_]+)>")
_STATUSES = ("pass", "warn", "fail", "error", "skip")
_SEVERITIES = ("critical", "major", "minor", "info")


def strict() -> bool:
    """True when checks must answer to the catalogue (``READINESS_STRICT_CHECK_IDS`` set, not 0).

    Examples
    --------
    >>> import os
    >>> os.environ.get(STRICT_VARIABLE, "0") in ("0", "") or strict()
    True
    """
    return os.environ.get(STRICT_VARIABLE, "") not in ("", "0")


class UncataloguedCheck(ValueError):
    """A check that the catalogue does not describe (raised in strict mode only)."""


def record_violation(error: UncataloguedCheck) -> UncataloguedCheck:
    """Log a strict-mode refusal when strict mode names a file; return the error to raise.

    ``READINESS_STRICT_CHECK_IDS=/path/to/file`` appends the error's message as one line
    to that file before the caller raises: a report may catch the error and carry on
    with an ``error`` check, a notebook kernel may die of it, but the test suite still
    reads every violation of every process it started (tests/conftest.py fails the
    session on any). :class:`~readiness.results.Check` calls it; looking an id up
    (:meth:`Catalogue.validate`) never logs.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {STRICT_VARIABLE: "1"}):  # raise only, log nowhere
    ...     error = record_violation(UncataloguedCheck("check id 'x.y' is not in the check catalogue"))
    >>> str(error)
    "check id 'x.y' is not in the check catalogue"
    """
    target = os.environ.get(STRICT_VARIABLE, "")
    if os.sep in target:
        line = str(error).replace("\n", "\\n") + "\n"
        # one O_APPEND write per line: lines from concurrent kernels do not interleave
        descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line.encode("utf-8", "replace"))
        finally:
            os.close(descriptor)
    return error


@dataclass(frozen=True)
class CheckEntry:
    """One check id (or id pattern) of the catalogue.

    Parameters
    ----------
    id : str
        The id, with ``<name>`` placeholders for the parts that come from data or config
        (``golden.segment.<metric>[<column>=<value>]``).
    checks : str
        What the check checks, in one sentence a user reads in ``docs/checks.md``.
    severity : str
        Its severity when it gates (critical, major, minor; info for checks that only report).
    statuses : tuple of str
        Every status it can take.
    config : tuple of str
        The keys that tune it: dotted keys of readiness.yaml, or ``checklist.yaml: key``.
    values : mapping, optional
        Placeholder name -> its possible values (a tuple), or a regular expression (a str);
        other placeholders match any text.
    sample : str, optional
        A concrete id of the entry, for entries whose values are a regular expression
        (``checklist.fear.1``); otherwise :attr:`example` builds one.
    config_severities : tuple of str, optional
        Other severities a setting may give it (``monitoring.critical`` makes a series
        critical or major).
    report : str
        The report that emits it; filled in by the registry from the spec.
    kind : str
        ``check`` (a :class:`~readiness.results.Check`), or ``run`` for the JUnit testcase the
        run outputs add when a report's notebook itself failed.

    Examples
    --------
    >>> entry = CheckEntry("drift.missing.<column>", "missing values changed", "major", ("pass", "warn", "fail"),
    ...                    ("drift.missing_change",))
    >>> entry.example, bool(entry.matches("drift.missing.age")), entry.literal
    ('drift.missing.column', True, 'drift.missing.')
    """

    id: str
    checks: str
    severity: str
    statuses: tuple[str, ...]
    config: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    config_severities: tuple[str, ...] = ()
    sample: str = ""
    report: str = ""
    kind: str = "check"

    def __post_init__(self):
        unknown = [s for s in self.statuses if s not in _STATUSES]
        severities = (self.severity,) + tuple(self.config_severities)
        if any(s not in _SEVERITIES for s in severities) or unknown or not self.statuses:
            raise ValueError(f"catalogue entry {self.id}: severity {self.severity!r} or statuses {self.statuses!r} "
                             f"not among {_SEVERITIES} / {_STATUSES}")
        undeclared = set(self.values) - set(self.placeholders)
        if undeclared:
            raise ValueError(f"catalogue entry {self.id}: values for placeholders it does not have: {sorted(undeclared)}")
        if self.sample and not self.matches(self.sample):
            raise ValueError(f"catalogue entry {self.id}: its sample {self.sample!r} does not match it")

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.id)

    @property
    def literal(self) -> str:
        """The id up to its first placeholder: the part that says where the check belongs."""
        return _PLACEHOLDER.split(self.id, maxsplit=1)[0]

    @property
    def specificity(self) -> int:
        """Characters outside placeholders: the more, the more specific (the best match wins)."""
        return len(_PLACEHOLDER.sub("", self.id))

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.id, tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in self.values.items())))

    def matches(self, check_id: str) -> re.Match | None:
        """The match of ``check_id`` against the entry's id pattern (None: not one of its ids)."""
        return self.pattern.fullmatch(check_id)

    @property
    def example(self) -> str:
        """A concrete id of this entry: its sample, else first listed values, else the placeholders' own names."""
        if self.sample:
            return self.sample

        def fill(match):
            allowed = self.values.get(match.group(1))
            if isinstance(allowed, (tuple, list)) and allowed:
                return str(allowed[0])
            return match.group(1)

        return _PLACEHOLDER.sub(fill, self.id)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data, ``pattern`` the regular expression its ids match."""
        values = {k: (v if isinstance(v, str) else list(v)) for k, v in self.values.items()}
        return {"id": self.id, "report": self.report, "kind": self.kind, "checks": self.checks,
                "severity": self.severity, "config_severities": list(self.config_severities), "statuses": list(self.statuses), "config": list(self.config),
                "values": values, "pattern": self.pattern.pattern}


_PATTERNS: dict[tuple, re.Pattern] = {}


def _compiled(template: str, values: tuple) -> re.Pattern:
    key = (template, values)
    if key not in _PATTERNS:
        allowed = dict(values)
        parts, position = [], 0
        for match in _PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[position:match.start()]))
            choice = allowed.get(match.group(1))
            if choice is None:  # names and values from data: any text, even none (a column named "")
                parts.append("(.*)")
            elif isinstance(choice, str):
                parts.append(f"({choice})")
            else:
                parts.append("(" + "|".join(re.escape(str(v)) for v in sorted(choice, key=len, reverse=True)) + ")")
            position = match.end()
        parts.append(re.escape(template[position:]))
        # DOTALL: column names and segment values come from data and may hold any character
        _PATTERNS[key] = re.compile("".join(parts), re.DOTALL)
    return _PATTERNS[key]


class Catalogue:
    """The entries of every registered report, looked up by check id.

    Examples
    --------
    >>> catalogue = Catalogue([CheckEntry("drift.column.<column>", "drift of one column", "major",
    ...                                   ("pass", "warn", "fail"), ("drift.thresholds",), report="drift_report")])
    >>> catalogue.find("drift.column.age").id
    'drift.column.<column>'
    >>> catalogue.find("drift.columns") is None
    True
    """

    def __init__(self, entries: Iterable[CheckEntry]):
        self.entries = list(entries)
        self._by_head: dict[str, list[CheckEntry]] = {}
        for entry in self.entries:
            if entry.kind == "check":
                self._by_head.setdefault(entry.literal.split(".", 1)[0], []).append(entry)
        for bucket in self._by_head.values():
            bucket.sort(key=lambda e: -e.specificity)

    def find(self, check_id: str) -> CheckEntry | None:
        """The most specific entry whose id matches ``check_id``, None when none does.

        Examples
        --------
        >>> catalogue = Catalogue([CheckEntry("golden.consistency.<name>", "any", "major", ("pass",)),
        ...                        CheckEntry("golden.consistency.flip_rate", "flips", "major", ("pass",))])
        >>> catalogue.find("golden.consistency.flip_rate").checks
        'flips'
        """
        for entry in self._by_head.get(check_id.split(".", 1)[0], ()):
            if entry.matches(check_id):
                return entry
        return None

    def validate(self, check_id: str, status: str, severity: str) -> CheckEntry:
        """The entry of a check; raises :class:`UncataloguedCheck` when the catalogue does not describe it.

        Any check may end ``error``; ``info`` is open to every check (it reports without
        gating), and a ``skip`` may keep any severity.

        Examples
        --------
        >>> catalogue = Catalogue([CheckEntry("drift.target", "label drift", "major", ("pass", "warn"))])
        >>> catalogue.validate("drift.target", "warn", "major").id
        'drift.target'
        >>> catalogue.validate("drift.target", "fail", "major")
        Traceback (most recent call last):
        ...
        readiness.catalogue.UncataloguedCheck: check 'drift.target' has status 'fail', which its catalogue entry drift.target does not list (pass, warn)
        """
        entry = self.find(check_id)
        shown = check_id[:200]
        if entry is None:
            raise UncataloguedCheck(f"check id {shown!r} is not in the check catalogue; add a CheckEntry to its "
                                    "report's catalogue (readiness/reports/<report>/catalogue.py) and regenerate "
                                    "docs/checks.md with `readiness checks --format markdown`")
        if status not in entry.statuses and status != "error":  # any check may end "could not be computed"
            raise UncataloguedCheck(f"check {shown!r} has status {status!r}, which its catalogue entry {entry.id} "
                                    f"does not list ({', '.join(entry.statuses)})")
        if severity not in (entry.severity, "info") + entry.config_severities and status != "skip":
            also = "".join(f", {s}" for s in entry.config_severities)
            raise UncataloguedCheck(f"check {shown!r} has severity {severity!r}; its catalogue entry {entry.id} "
                                    f"says {entry.severity!r} (or info, when it only reports{also})")
        return entry

    # ------------------------------------------------------------------ showing it

    def as_json(self) -> str:
        """The entries as a JSON list (``readiness checks --format json``), each with its regular expression."""
        return json.dumps([entry.as_dict() for entry in self.entries], indent=2, ensure_ascii=False) + "\n"

    def as_text(self) -> str:
        """A plain table: id, severity, statuses, what tunes it; what it checks on the line below."""
        width = max((len(e.id) for e in self.entries), default=2)
        lines = [f"{'id':<{width}}  {'severity':<8}  {'statuses':<24}  tuned by", "-" * (width + 60)]
        for entry in self.entries:
            lines.append(f"{entry.id:<{width}}  {entry.severity:<8}  {', '.join(entry.statuses):<24}  "
                         f"{', '.join(entry.config) or '-'}")
            lines.append(f"{'':<{width}}  {entry.checks}")
        return "\n".join(lines) + "\n"


def with_report(entries: Iterable[CheckEntry], report: str) -> tuple[CheckEntry, ...]:
    """The entries, each marked as emitted by ``report``.

    Examples
    --------
    >>> with_report([CheckEntry("drift.target", "label drift", "major", ("pass",))], "drift_report")[0].report
    'drift_report'
    """
    return tuple(replace(entry, report=report) for entry in entries)


def markdown_cell(text: str) -> str:
    """Text for a Markdown table cell of docs/checks.md: pipes escaped, one line.

    Examples
    --------
    >>> markdown_cell("a | b")
    'a \\\\| b'
    """
    return text.replace("|", "\\|").replace("\n", " ")


def catalogue_markdown(specs: Iterable[Any], run_entries: Iterable[CheckEntry] = ()) -> str:
    """The check catalogue as Markdown: one table per report, then the run's own entries.

    This is ``docs/checks.md`` (``readiness checks --format markdown``); a test keeps the
    committed file equal to it.

    Parameters
    ----------
    specs : iterable of ReportSpec
        The reports, in the order they are shown (anything with ``name``, ``title`` and
        ``checks``).
    run_entries : iterable of CheckEntry
        Ids the run outputs add themselves (:data:`RUN_ENTRIES`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> spec = SimpleNamespace(name="demo_report", title="Demo", checks=(CheckEntry(
    ...     "demo.x.<column>", "x of a column", "major", ("pass", "warn"), ("demo.x_limit",)),))
    >>> print(catalogue_markdown([spec]).splitlines()[-1])
    | `demo.x.<column>` | x of a column | major | pass, warn | `demo.x_limit` |
    """
    lines = ["# Check catalogue", "",
             "<!-- Generated by `readiness checks --format markdown > docs/checks.md`; do not edit by hand. -->", "",
             "Every check id readiness emits, by report. Ids are a public contract: gates, the checklist's "
             "`detected_by` patterns and JUnit test names use them. `<name>` stands for a part that comes from "
             "your data or config (a column, a metric, a segment value); where its values are fixed they are "
             "listed below the table.", "",
             "*Severity* is the check's severity when it gates; a check that only reports (no threshold set) "
             "shows `info`. Any check may end `error` (it could not be computed). *Tuned by* names the "
             "readiness.yaml keys (or `checklist.yaml: key`) that change what the check does.", ""]

    def table(entries: list[CheckEntry]) -> list[str]:
        rows = ["| id | checks | severity | statuses | tuned by |", "|---|---|---|---|---|"]
        for entry in entries:
            severity = entry.severity + "".join(f" (or {s})" for s in entry.config_severities)
            tuned = ", ".join(f"`{key}`" for key in entry.config) or "–"
            rows.append(f"| `{markdown_cell(entry.id)}` | {markdown_cell(entry.checks)} | {severity} | "
                        f"{', '.join(entry.statuses)} | {markdown_cell(tuned)} |")
        fixed = [(entry.id, name, allowed) for entry in entries for name, allowed in entry.values.items()]
        if fixed:
            rows.append("")
            for entry_id, name, allowed in fixed:
                shown = f"`{allowed}` (a regular expression)" if isinstance(allowed, str) else \
                    ", ".join(f"`{value}`" for value in allowed)
                rows.append(f"- `<{name}>` in `{markdown_cell(entry_id)}`: {markdown_cell(shown)}")
        return rows

    for spec in specs:
        lines += [f"## {spec.title} (`{spec.name}`)", ""] + table(list(spec.checks)) + [""]
    run_entries = list(run_entries)
    if run_entries:
        lines += ["## The run itself", ""] + table(run_entries) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


#: The run outputs' own id: JUnit gets one errored testcase when a report's notebook failed.
RUN_ENTRIES = (
    CheckEntry("<report>.run", "The report's notebook ran to its end and wrote its results (JUnit only: an errored "
               "testcase when it timed out, crashed or stopped on bad input; the message says why)", "critical",
               ("error",), ("timeout_s", "golden_benchmark.timeout_s", "drift.timeout_s", "monitoring.timeout_s"),
               values={"report": "[a-z0-9_]+"}, sample="golden_benchmark.run", kind="run"),
)
