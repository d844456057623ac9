"""The monitoring report's sections, figures and results JSON, built from its series as plain data.

:class:`ReportSections` is mixed into :class:`~readiness.reports.monitoring.report.MonitoringReport`;
every section returns a :class:`SectionData` (checks, tables of raw values, the series it
shows), so the HTML, the results JSON (``sections``, beside ``data``: the series, chunks and
versions) and other tools read the same data.

Examples
--------
>>> report = MonitoringReport("predictions.parquet", {"prediction": "score"})  # doctest: +SKIP
>>> [t.name for t in report.overview_section().tables]  # doctest: +SKIP
['chunks']
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from readiness.display import Section, Table, esc, number, percent
from readiness.reports.monitoring.performance import calibration_check
from readiness.reports.monitoring.series import Series, judge
from readiness.results import Check, report_document, write_json
from readiness.stats.gates import fmt

REPORT = "monitoring_report"
QUANTILES = (0.1, 0.5, 0.9)
#: Per-chunk tables longer than this are shown folded; the figures show the same over time.
FOLD_AFTER = 12


@dataclass(repr=False)
class SectionData(Section):
    """A monitoring section: a :class:`~readiness.display.Section` (checks, tables, note) plus
    the series its figure draws and, for the headline, one sentence shown large.

    Parameters
    ----------
    series : list of Series
        What :meth:`ReportSections.figure` draws for the section (in the results JSON
        under ``data.series``; the section lists their keys).
    lead : str
        The report's point in one sentence, shown above the rest.

    Examples
    --------
    >>> from readiness.display import Table
    >>> section = SectionData("Chunks", tables=[Table([{"chunk": "2024-01-01", "rows": 10}], name="chunks")],
    ...                       name="overview")
    >>> section.to_dict()["tables"][0]["rows"], section.to_dict()["series"]
    ([['2024-01-01', 10]], [])
    """

    series: list = field(default_factory=list)
    lead: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The section as JSON data, with the keys of the series it shows."""
        return {**super().to_dict(), "series": [item.key for item in self.series]}

    def _repr_html_(self) -> str:
        html = super()._repr_html_()
        if self.lead:
            html = f'<p style="font-size:18px;font-weight:600;margin:8px 0">{esc(self.lead)}</p>' + html
        return html


class ReportSections:
    """Sections, figures and the results document of a monitoring report (a mixin: it reads the
    report's series, chunks and settings).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.report import MonitoringReport
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> _ = write_log_parquet(simulate_log(days=30, rows_per_day=200, releases={20: ("v2", 100.0)}), folder)
    >>> report = MonitoringReport(folder, {"prediction": "score", "label": "label"})  # v2 scores ×100 from day 20
    >>> report.headline()
    'Mean prediction 94.7× higher from 2017-01-21, when model_version changed from v1 to v2'
    >>> sections = report.sections()
    >>> [section.name for section in sections]
    ['overview', 'predictions', 'features', 'performance', 'estimation', 'changes']
    >>> [(check.id, check.status) for check in report.predictions_section().checks][:2]
    [('monitoring.mean_prediction', 'fail'), ('monitoring.prediction_quantile.q10', 'warn')]
    >>> report.document(sections)["status"], report.releases_marked()
    ('fail', [(20, 'v1 → v2')])
    """

    # ------------------------------------------------------------------ sections (plain data)

    def headline_section(self) -> SectionData:
        """The report's point in one sentence (no checks of its own)."""
        return SectionData("In one sentence", name="headline", lead=self.headline())

    def _judge(self, item: Series, extra: list[str] = ()) -> Check:
        return judge(item, self.n, self.settings.recent_chunks, self.sentences(item), self.k, extra,
                     self.settings.min_relative_change)

    def overview_section(self) -> SectionData:
        acc, labels = self.acc, self.chunk_labels()
        versions = self.timeline.dominant() if self.timeline else [None] * self.n
        rows = []
        for i in range(self.n):
            rows.append({"chunk": labels[i], "rows": int(acc.rows[i]), "version": versions[i],
                         "labelled": acc.labelled[i] / acc.rows[i] if acc.rows[i] else None,
                         "reference": i < self.k})
        plan = self.plan
        facts = [f"{plan.rows:,} rows in {self.n} chunks of {self.rule.describe()}",
                 f"reference: {self.reference_label}" + (f" (bins and baseline from {self.reference_source})"
                                                         if self.reference_source else "")]
        if plan.undated_rows:
            facts.append(f"{plan.undated_rows:,} rows without a readable timestamp left out")
        if not plan.ordered:
            facts.append("rows are not in time order (read in full before any chunk completed)")
        checks = [Check("monitoring.chunks", "Chunks", "pass", "; ".join(facts), severity="info",
                        value=float(self.n), details={"rows": plan.rows, "reference_chunks": self.k})]
        if self.n == 1:
            checks[0].message += "; a single chunk: its statistics are shown, but nothing over time can be judged"
        item = self.get("rows")
        if item is not None:
            checks.append(self._judge(item))
        note = "Each chunk's model version is the one that served most of its rows."
        table = Table(rows, name="chunks", fold_after=FOLD_AFTER, formats={
            "labelled": percent(0, missing="–"), "reference": lambda value, row: "yes" if value else ""})
        return SectionData("Chunks and versions", checks, [table], note, name="overview", series=[item] if item else [])

    def predictions_section(self) -> SectionData:
        checks, shown = [], []
        mean = self.get("mean_prediction")
        extra = []
        reference_mean = self._reference_mean()
        latest = mean.latest_index
        low, high = self.settings.mean_prediction_ratio
        # with one chunk only a given reference (with predictions) can say the level moved
        if latest is not None and reference_mean and np.isfinite(reference_mean) and (self.n > 1 or self.reference_source):
            ratio = mean.values[latest] / reference_mean
            if not (low <= ratio <= high):
                extra.append(f"latest mean ×{fmt(ratio)} the reference mean (outside [{fmt(low)}, {fmt(high)}])")
        checks.append(self._judge(mean, extra))
        shown.append(mean)
        keys = [f"prediction_quantile.q{int(q * 100)}" for q in QUANTILES] + ["positive_rate"]
        keys += [item.key for item in self.series if item.key.startswith(("mean_probability.", "predicted_rate."))]
        for key in keys:
            item = self.get(key)
            if item is not None:
                checks.append(self._judge(item))
                shown.append(item)
        agreement = self.get("model_agreement")
        if agreement is not None:
            check = self._judge(agreement)
            scored = int(self.model_scored.sum())
            check.message = (f"the model artifact scored {scored:,} sampled rows (up to {self.settings.model_rows:,} per "
                             f"chunk); a logged prediction differs when it is more than {self.settings.model_tolerance:g} "
                             f"from the model's; {check.message}")
            checks.append(check)
            shown.append(agreement)
        return SectionData("Predictions over time", checks, [self._change_table(shown, "changes")],
                           "Bands: prediction intervals for one more chunk, learned from the reference chunks.",
                           name="predictions", series=shown)

    def _reference_mean(self) -> float:
        profile = self.fixed.get(self.columns.prediction) if self.reference_source else None
        if profile is not None and profile.present:
            return profile.mean
        acc = self.acc
        n = acc.pred_n[: self.k].sum()
        return float(acc.pred_sum[: self.k].sum() / n) if n else float("nan")

    def features_section(self) -> SectionData:
        checks, shown, rows = [], [], []
        for item in self.series:
            if item.key.startswith(("missing.", "drift.")):
                check = self._judge(item)
                checks.append(check)
                shown.append(item)
                rows.append({"series": item.title, "status": check.status, "latest": item.values[item.latest_index]
                             if item.latest_index is not None else None, "changepoints": len(item.changepoints)})
        # the figure draws every drift series, and missing values only where some chunk has any
        shown = [item for item in shown if item.key.startswith("drift.") or np.nanmax(item.values, initial=0) > 0
                 or any(c.status != "pass" for c in checks if c.id == f"monitoring.{item.key}")]
        table = Table(rows, name="features", fold_after=FOLD_AFTER, formats={"latest": number(missing="–")})
        return SectionData("Features: missing values and drift", checks, [table], name="features", series=shown,
                           note="Drift of each chunk against the reference profile (Wasserstein / reference std for numbers, "
                           "Jensen-Shannon distance for categories), on a uniform sample of each chunk's rows.")

    def performance_section(self) -> SectionData:
        acc, s = self.acc, self.settings
        checks, shown = [], []
        labelled = int(acc.labelled.sum())
        with_labels = int((acc.labelled > 0).sum())
        if labelled:
            checks.append(Check("monitoring.labels", "Label coverage", "pass",
                                f"{labelled:,} labelled rows ({labelled / max(self.plan.rows, 1):.1%}) in {with_labels} of "
                                f"{self.n} chunks; realized metrics use up to {s.metric_rows:,} labelled rows per chunk",
                                severity="info", value=labelled / max(self.plan.rows, 1)))
        elif self.labels is not None:
            example_log = next(iter(self.label_id_examples), None)
            checks.append(Check("monitoring.labels", "Label coverage", "warn",
                                f"none of the {len(self.labels):,} ids in the labels file matched the log's "
                                f"{self.columns.id!r} column (e.g. {example_log!r} in the log, "
                                f"{self.labels.index[0]!r} in the labels file); check that both hold the same ids",
                                severity="major"))
        else:
            checks.append(Check("monitoring.labels", "Label coverage", "skip",
                                "no labels in the log: realized performance cannot be measured"
                                + ("; performance is estimated from the scores below" if self.classifier else ""),
                                severity="info"))
        for item in self.series:
            if item.key.startswith("performance."):
                checks.append(self._judge(item))
                shown.append(item)
        coverage = [{"chunk": label, "rows": int(acc.rows[i]), "labelled rows": int(acc.labelled[i]),
                     "coverage": acc.labelled[i] / acc.rows[i] if acc.rows[i] else None}
                    for i, label in enumerate(self.chunk_labels())]
        table = Table(coverage, name="label_coverage", fold_after=FOLD_AFTER, formats={"coverage": percent(1, missing="–")})
        return SectionData("Realized performance", checks, [table], name="performance", series=shown,
                           note="Metrics equal scikit-learn's on each chunk's labelled rows; CIs are bootstrap percentiles.")

    def estimation_section(self) -> SectionData:
        if not self.classifier:
            return SectionData("Estimated performance", [Check(
                "monitoring.estimated.calibration", "Estimated performance", "skip",
                "performance is estimated without labels for binary classifiers only", severity="info")],
                name="estimation")
        acc, s = self.acc, self.settings
        ref = slice(0, self.k)
        verdict = calibration_check(acc.hist_ln[ref].sum(axis=0), acc.hist_lp[ref].sum(axis=0),
                                    acc.hist_y[ref].sum(axis=0), s.decision_threshold, s.estimate_tolerance, s.confidence)
        status = {True: "pass", False: "warn", None: "skip"}[verdict.trusted]
        checks = [Check("monitoring.estimated.calibration", "Can the estimate be trusted?", status, verdict.message,
                        severity="major", value=verdict.ece, details={"differences": verdict.differences})]
        shown = [item for item in self.series if item.key.startswith("estimated.")]
        last = int(np.flatnonzero(acc.rows)[-1])
        outside = acc.outside_unit[last] / max(acc.pred_n[last], 1)
        for item in shown:
            if outside > 0.001:
                checks.append(Check(f"monitoring.{item.key}", item.title, "warn",
                                    f"no estimate for the latest chunk: {outside:.1%} of its scores lie outside [0, 1], "
                                    "so they are not probabilities", severity="major"))
            elif verdict.trusted is False:
                checks.append(Check(f"monitoring.{item.key}", item.title, "skip",
                                    "not judged: the scores were not calibrated on the reference period", severity="major"))
            else:
                checks.append(self._judge(item))
        return SectionData("Estimated performance (no labels needed)", checks, name="estimation", series=shown,
                           note="Assumes calibrated scores (a score p is right with probability p); a change in how "
                           "features relate to the label (concept shift) breaks it, and only labels show that.")

    def changes_section(self) -> SectionData:
        return SectionData("What changed when", tables=[self._change_table(self.series, "changepoints")],
                           name="changes", note=f"Changepoints: PELT (ruptures) with a penalty calibrated so that {self.settings.false_alarm_rate:.0%} "
                           "of stationary series show any false changepoint.")

    def _change_table(self, series: list[Series], name: str) -> Table:
        """Every changepoint of ``series``, by chunk: what changed, in a sentence, and by how much."""
        labels = self.chunk_labels()
        rows = []
        for item in series:
            for change, sentence in zip(item.changepoints, self.sentences(item)):
                rows.append({"chunk": labels[change.index], "series": item.title, "change": sentence,
                             "size (noise units)": change.size_in_noise})
        rows.sort(key=lambda r: r["chunk"])
        return Table(rows, name=name, fold_after=FOLD_AFTER, formats={"size (noise units)": number()})

    def sections(self) -> list[SectionData]:
        return [self.overview_section(), self.predictions_section(), self.features_section(),
                self.performance_section(), self.estimation_section(), self.changes_section()]

    # ------------------------------------------------------------------ figures

    def releases_marked(self) -> list[tuple[int, str]]:
        """(chunk, "v1 → v2") for every model version that went live."""
        if self.timeline is None:
            return []
        return [(r.chunk, f"{r.previous} → {r.version}") for r in self.timeline.releases]

    def figure(self, section: SectionData):
        """The section's series over time (None when it has none), drawn from their JSON data."""
        from readiness.figures.monitoring import series_figure

        return series_figure([item.to_dict() for item in section.series], self.chunk_labels(), self.k, self.releases_marked())

    def coverage_figure(self):
        from readiness.figures.monitoring import label_coverage_figure

        if not self.acc.labelled.sum():
            return None
        return label_coverage_figure(self.chunk_labels(), self.acc.rows, self.acc.labelled)

    # ------------------------------------------------------------------ results

    def document(self, sections: list[SectionData] | None = None) -> dict[str, Any]:
        """The results JSON (schema readiness/1): the checks, every section with the tables the HTML shows
        (``sections``) and what the figures draw (``data``: series, changepoints, chunks, versions)."""
        sections = sections or self.sections()
        checks = [c for section in sections for c in section.checks]
        inputs = {"log": {"path": self.source.spec, "files": len(self.source.files), "rows": self.plan.rows,
                          "bytes": sum(f.stat().st_size for f in self.source.files) if self.source.files else None}}
        document = report_document(REPORT, checks, inputs, self.started_at, time.perf_counter() - self._clock,
                                   parameters={"settings": self.settings.model_dump(mode="json"), "task": self.task})
        document["data"] = {
            "headline": self.headline(),
            "chunks": {"labels": self.chunk_labels(), "rows": self.acc.rows, "labelled": self.acc.labelled,
                       "reference": self.k, "rule": self.rule.describe()},
            "series": [item.to_dict() for item in self.series],
            "versions": {"column": self.columns.version,
                         "releases": [vars(r) for r in getattr(self.timeline, "releases", [])],
                         "rows": self.acc.versions},
        }
        document["sections"] = [section.to_dict() for section in sections]
        return document

    def finish(self, results_path: str | Path, sections: list[SectionData] | None = None) -> dict[str, Any]:
        """Write the results JSON atomically and return it."""
        document = self.document(sections)
        write_json(results_path, document)
        return document
