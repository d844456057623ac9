"""Golden benchmark: the candidate on a fixed labelled dataset, against the baseline.

The notebook ``golden_benchmark.ipynb`` creates one :class:`GoldenBenchmark` and
calls one method per section; each returns a :class:`~readiness.display.Section`
(checks, tables, a note) that renders itself in the notebook, and the figure
methods return PNGs drawn from plain data. ``finish`` writes the results JSON,
with every section's tables.

The work is split by role: :mod:`~readiness.reports.golden.core` loads and scores,
one module per section in :mod:`readiness.reports.golden.sections` decides its
checks, :mod:`readiness.figures.golden` draws.

Examples
--------
>>> bench = GoldenBenchmark("candidate.skops", "golden.parquet", target="churned",
...                         baseline_path="production.skops", segments=["region"])  # doctest: +SKIP
>>> bench.metrics_section()  # doctest: +SKIP
<Section Metrics: fail, 9 checks>
>>> bench.finish("golden_benchmark.json")  # doctest: +SKIP
<Section Verdict: pass, 0 checks>
"""

from __future__ import annotations

from typing import Any

import numpy as np

from readiness.display import Section, Table
from readiness.figures import golden as figures
from readiness.figures.common import FigurePNG
from readiness.reports.base import ShownSections
from readiness.reports.golden.core import (MISSING_SEGMENT, PREDICTION_TOLERANCE, GoldenCore, ModelOutputs,
                                           detect_task, dummy_outputs, encode_labels, feature_frame, model_outputs)
from readiness.reports.golden.sections import artifact, consistency, latency, metrics, robustness, segments
from readiness.stats.gates import fmt

REPORT = "golden_benchmark"


class GoldenBenchmark(ShownSections, GoldenCore):
    """Loads the inputs, scores every model once, and builds each report section.

    Parameters
    ----------
    model_path : str
        The candidate artifact (``.skops``, pickle, ONNX, MLflow folder or ``module:function``).
    golden_path : str
        The labelled golden dataset (CSV or Parquet).
    target : str
        Its label column.
    baseline_path : str, optional
        The production model to compare with; empty: change checks are skipped.
    task : str
        ``auto``, ``binary``, ``multiclass`` or ``regression``.
    segments : list of str, optional
        Columns whose values are checked one by one.
    trust : dict, optional
        readiness.yaml's ``trust`` section.
    settings : dict, optional
        readiness.yaml's ``golden_benchmark`` section (validated here with the CLI's messages).

    Examples
    --------
    >>> bench = GoldenBenchmark("model.skops", "golden.csv", target="y")  # doctest: +SKIP
    >>> [s.name for s in (bench.metrics_section(), bench.segments_section())]  # doctest: +SKIP
    ['metrics', 'segments']
    """

    def __init__(self, model_path: str, golden_path: str, target: str, baseline_path: str = "", task: str = "auto",
                 segments: list[str] | None = None, trust: dict[str, Any] | None = None,
                 settings: dict[str, Any] | None = None, sources: dict[str, list[str]] | None = None,
                 consistency: dict[str, Any] | None = None):
        from readiness.reports.golden.attribution import attribution_inputs

        ShownSections.__init__(self)
        # readiness.yaml sources:, consistency: (checked before anything is loaded)
        self.sources, self.guarantees = attribution_inputs(sources, consistency)
        GoldenCore.__init__(self, model_path, golden_path, target, baseline_path=baseline_path, task=task,
                            segments=segments, trust=trust, settings=settings)

    # ---------------------------------------------------------------- sections, in report order

    def inputs_section(self) -> Section:
        """What was evaluated: artifacts and golden data with their hashes, the task and why, the columns."""
        info, base, golden = self.model_info, self.baseline_info, self.golden_sha256
        rows = [
            ("Candidate model", info.path, f"{info.format}, {info.size_bytes:,} bytes, sha256 {info.sha256[:16]}…"),
            ("Baseline model", base.path if base else "none",
             f"{base.format}, sha256 {base.sha256[:16]}…" if base else "change checks are skipped"),
            ("Golden dataset", str(self.golden_path), f"{len(self.frame):,} rows, {self.frame.shape[1]} columns, sha256 {golden[:16]}…"),
            ("Target", self.target, self._target_summary()),
            ("Task", self.task, self.task_reason),
            ("Features", f"{self.X.shape[1]} used by the model",
             "unused golden columns: " + (", ".join(self.unused_columns[:20]) if self.unused_columns else "none")),
            ("Segments", ", ".join(self.segment_columns) or "none", f"{len(self.segments)} segment values checked"),
        ]
        table = Table([dict(zip(("Input", "Value", "Details"), row)) for row in rows], name="inputs")
        return self._show(Section("Inputs", tables=[table], name="inputs"))

    def _target_summary(self) -> str:
        if self.task == "regression":
            return f"mean {fmt(self.y.mean())}, std {fmt(self.y.std())}, range {fmt(self.y.min())} to {fmt(self.y.max())}"
        counts = np.bincount(self.y, minlength=len(self.classes))
        return ", ".join(f"{c!s}: {n:,}" for c, n in zip(self.classes, counts))

    def artifact_section(self) -> Section:
        """``golden.artifact.*``: loading, trust, manifest, determinism, fresh process, hidden dependencies."""
        return self._show(artifact.artifact_section(self))

    def metrics_section(self) -> Section:
        """``golden.metric.*``, ``golden.change.*``, ``golden.dummy.*``, ``golden.leakage``."""
        return self._show(metrics.metrics_section(self))

    def performance_figure(self) -> FigurePNG:
        """Curves and confusion matrix (classifiers) or predicted vs actual and residuals (regressions)."""
        return figures.performance_figure(**metrics.performance_figure_data(self))

    def consistency_section(self) -> Section:
        """``golden.consistency.*``: mean-prediction shift, prediction bias, flips, per-row change."""
        return self._show(consistency.consistency_section(self))

    def scores_figure(self) -> FigurePNG | None:
        """Candidate vs baseline per row; None without a baseline."""
        data = consistency.scores_figure_data(self)
        return None if data is None else figures.scores_figure(**data)

    def segments_section(self) -> Section:
        """``golden.segment.*``: the gates on every segment value, and the required segments."""
        return self._show(segments.segments_section(self))

    def segments_figure(self) -> FigurePNG | None:
        """Candidate − baseline per segment, coloured by the status of the segment checks shown so far."""
        data = segments.segments_figure_data(self, self.checks)
        return None if data is None else figures.segments_figure(**data)

    def robustness_section(self) -> Section:
        """``golden.robustness.*``: crash, change or unchanged per perturbation, and the configured rules."""
        return self._show(robustness.robustness_section(self))

    def robustness_figure(self) -> FigurePNG | None:
        """Columns × perturbations; None when robustness is disabled."""
        data = robustness.robustness_figure_data(self)
        return None if data is None else figures.robustness_figure(**data)

    def attribution_section(self) -> Section:
        """``golden.attribution`` (what moved the predictions, from which source) and ``golden.guarantee.*``."""
        from readiness.reports.golden.attribution import release_attribution_section

        return self._show(release_attribution_section(self))

    def attribution_figure(self):
        """The attribution waterfall of the guaranteed segment that moved most (or of all rows)."""
        from readiness.reports.golden.attribution import release_attribution_figure

        return release_attribution_figure(self)

    def latency_section(self) -> Section:
        """``golden.latency.*`` and ``golden.artifact.size``."""
        return self._show(latency.latency_section(self))

    # ---------------------------------------------------------------- results

    def inputs_document(self) -> dict[str, Any]:
        """The ``inputs`` of the results JSON: artifacts and golden set with hashes, task, target, segments."""
        doc = {
            "model": {"path": self.model_info.path, "sha256": self.model_info.sha256, "format": self.model_info.format,
                      "size_bytes": self.model_info.size_bytes, "trusted_by": self.model_info.trusted_by,
                      **({"loaded": {k: self.model_info.loaded[k] for k in ("globals", "compression", "bytes_read", "trees_checked")}}
                         if self.model_info.loaded else {})},
            "golden": {"path": str(self.golden_path), "sha256": self.golden_sha256, "rows": len(self.frame),
                       "columns": self.frame.shape[1]},
            "task": self.task,
            "target": self.target,
            "segments": self.segment_columns,
        }
        if self.baseline_info is not None:
            doc["baseline"] = {"path": self.baseline_info.path, "sha256": self.baseline_info.sha256,
                               "format": self.baseline_info.format, "size_bytes": self.baseline_info.size_bytes}
        return doc

    def finish(self, results_path: str) -> Section:
        """Write ``results_path`` (the results JSON, with every section shown) and show the verdict."""
        return self._write_results(REPORT, results_path, self.inputs_document(),
                                   parameters={"settings": self.settings.model_dump(mode="json")})


#: Importable from here as before the split.
__all__ = ["GoldenBenchmark", "GoldenCore", "MISSING_SEGMENT", "PREDICTION_TOLERANCE", "ModelOutputs", "detect_task",
           "dummy_outputs", "encode_labels", "feature_frame", "model_outputs"]
