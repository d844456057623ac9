"""What every report class shares: the sections shown so far and the results JSON built from them.

A report class calls :meth:`ShownSections._show` with each section it builds; the
checks of the report are the checks of its sections, and ``finish`` writes them,
with every section's tables (:meth:`readiness.display.Section.to_dict`), into the
results JSON. Showing a section again (re-running a notebook cell) replaces it
instead of duplicating its checks.

Examples
--------
>>> from readiness.display import Section
>>> from readiness.results import Check
>>> report = ShownSections()
>>> _ = report._show(Section("A", [Check("demo.a", "A", "pass", "ok")], name="a"))
>>> _ = report._show(Section("A", [Check("demo.a", "A", "warn", "again")], name="a"))
>>> [c.status for c in report.checks]
['warn']
"""

from __future__ import annotations

import time
from typing import Any

from readiness.display import Section
from readiness.results import Check, now_iso, report_document, write_json


class ShownSections:
    """The sections a report has shown, in the order first shown, keyed by name.

    Examples
    --------
    A report shows each section through ``_show``; showing one again replaces it in place:

    >>> shown = ShownSections()
    >>> _ = shown._show(Section("Metrics", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.91")], name="metrics"))
    >>> _ = shown._show(Section("Segments", [Check("golden.segment.region", "Segments", "fail", "north regressed")],
    ...                         name="segments"))
    >>> _ = shown._show(Section("Metrics", [Check("golden.metric.roc_auc", "ROC AUC", "warn", "0.85")], name="metrics"))
    >>> [section.name for section in shown.sections], [(check.id, check.status) for check in shown.checks]
    (['metrics', 'segments'], [('golden.metric.roc_auc', 'warn'), ('golden.segment.region', 'fail')])
    """

    def __init__(self) -> None:
        self.started_at = now_iso()
        self._clock = time.perf_counter()
        self._shown: dict[str, Section] = {}

    def _show(self, section: Section) -> Section:
        """Record ``section`` under its name (replacing an earlier one) and return it."""
        self._shown[section.name or section.title] = section
        progress = getattr(self, "progress", None)  # a report that times its steps (readiness.progress)
        if progress is not None:
            progress.step(f"{section.name or section.title} section ({len(section.checks)} checks)")
        return section

    @property
    def checks(self) -> list[Check]:
        """Every check of the sections shown, section by section."""
        return [c for section in self._shown.values() for c in section.checks]

    @property
    def sections(self) -> list[Section]:
        return list(self._shown.values())

    def _write_results(self, report: str, results_path: str, inputs: dict[str, Any],
                       parameters: dict[str, Any] | None = None) -> Section:
        """Write the results JSON (schema ``readiness/1`` plus ``sections``) and return the verdict block."""
        document = report_document(report, self.checks, inputs, self.started_at, time.perf_counter() - self._clock,
                                   parameters=parameters)
        document["sections"] = [section.to_dict() for section in self._shown.values()]
        write_json(results_path, document)
        return Section.verdict_of(document)
