"""Drift report: does the data the model will see still look like the data it learned from?

The notebook ``drift_report.ipynb`` creates one :class:`DriftReport` and calls one
method per section. Checks:

* ``drift.schema.*`` — columns missing or new in current, dtype changes;
* ``drift.column.<name>`` — one effect size decides per kind (Wasserstein / std for
  numeric, Jensen-Shannon base 2 for categorical; configurable), the others shown;
* ``drift.missing.<name>``, ``drift.unseen.<name>``, ``drift.range.<name>``,
  ``drift.units.<name>`` — data quality shifts as signals of their own;
* ``drift.prediction.*`` — with a model: drift of the scores and the mean-prediction shift;
* ``drift.target`` — when both sets have labels;
* ``drift.multivariate`` — a domain classifier (reference vs current) as 2·AUC − 1;
* ``drift.dataset`` — the share of drifted columns against the gate.

The work is split by role: :mod:`~readiness.reports.drift.core` profiles and scores,
one module per section in :mod:`readiness.reports.drift.sections` decides its checks,
:mod:`readiness.figures.drift` draws.

Examples
--------
>>> drift = DriftReport("train.parquet", "today.parquet", model_path="model.skops")  # doctest: +SKIP
>>> drift.columns_section()  # doctest: +SKIP
<Section Column drift: warn, 13 checks>
>>> drift.finish("drift_report.json")  # doctest: +SKIP
<Section Verdict: pass, 0 checks>
"""

from __future__ import annotations

from typing import Any

from readiness.display import Section
from readiness.figures import drift as figures
from readiness.figures.common import FigurePNG
from readiness.reports.base import ShownSections
from readiness.reports.drift.core import FALSE_FLAGS_PER_REPORT, PREDICTION, DriftCore, iter_batches
from readiness.reports.drift.sections import columns, multivariate, prediction, quality, schema
from readiness.reports.drift.sections.multivariate import row_aucs as _row_aucs
from readiness.reports.drift.sections.quality import share_status as _share_status

REPORT = "drift_report"
#: Importable from here as before the split (tests, benchmarks and notebooks use them).
__all__ = ["DriftReport", "DriftCore", "FALSE_FLAGS_PER_REPORT", "PREDICTION", "iter_batches", "_row_aucs",
           "_share_status"]


class DriftReport(ShownSections, DriftCore):
    """Profiles reference and current data, scores drift and builds each section.

    Parameters
    ----------
    reference_path : str
        Reference data (CSV or Parquet) or a saved profile of it (``.json``).
    current_path : str
        Current data, read in batches.
    model_path : str, optional
        A model: drift of its predictions and the mean-prediction shift.
    target : str, optional
        The label column: target drift when both sets have it.
    trust : dict, optional
        readiness.yaml's ``trust`` section.
    settings : dict, optional
        readiness.yaml's ``drift`` section (validated here with the CLI's messages).

    Examples
    --------
    >>> drift = DriftReport("train.csv", "today.csv")  # doctest: +SKIP
    >>> drift.quality_section().tables[0].to_dict()["columns"][:3]  # doctest: +SKIP
    ['column', 'missing (ref)', 'missing (now)']
    """

    def __init__(self, reference_path: str, current_path: str, model_path: str = "", target: str = "",
                 trust: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                 baseline_path: str = "", sources: dict[str, list[str]] | None = None,
                 consistency: dict[str, Any] | None = None):
        ShownSections.__init__(self)
        DriftCore.__init__(self, reference_path, current_path, model_path=model_path, target=target, trust=trust,
                           settings=settings, baseline_path=baseline_path, sources=sources, consistency=consistency)

    def schema_section(self) -> Section:
        """``drift.schema.*`` and each column's kind with the reason."""
        return self._show(schema.schema_section(self))

    def scores_figure(self) -> FigurePNG | None:
        """Every column's score ÷ threshold, and missing-rate changes."""
        return figures.drift_scores_figure(columns.scores_figure_data(self))

    def columns_section(self) -> Section:
        """``drift.column.*`` and ``drift.dataset``."""
        return self._show(columns.columns_section(self))

    def distributions_figure(self) -> FigurePNG | None:
        """Reference vs current distributions of the most drifted columns."""
        return figures.drift_distributions_figure(columns.distributions_figure_data(self))

    def quality_section(self) -> Section:
        """``drift.missing.*``, ``drift.unseen.*``, ``drift.range.*``, ``drift.units.*``."""
        return self._show(quality.quality_section(self))

    def prediction_section(self) -> Section:
        """``drift.prediction.*`` and ``drift.target``."""
        return self._show(prediction.prediction_section(self))

    def multivariate_section(self) -> Section:
        """``drift.multivariate``: the domain classifier."""
        return self._show(multivariate.multivariate_section(self))

    def attribution_section(self) -> Section:
        """``drift.attribution``: the change in mean prediction split by source (and model, with a baseline)."""
        from readiness.reports.drift.attribution import data_attribution_section

        return self._show(data_attribution_section(self))

    def attribution_figure(self):
        """The attribution waterfall; None without a model."""
        from readiness.reports.drift.attribution import data_attribution_figure

        return data_attribution_figure(self)

    def finish(self, results_path: str) -> Section:
        """Write ``results_path`` (the results JSON, with every section shown) and show the verdict."""
        reference = {"path": str(self.reference_path), "sha256": self._file_hashes["reference"].result(),
                     "rows": next(iter(self.reference.values())).n if self.reference else 0}
        current = {"path": str(self.current_path), "sha256": self._file_hashes["current"].result(),
                   "rows": max((c.n for c in self.current.values()), default=0)}
        return self._write_results(REPORT, results_path, {"reference": reference, "current": current},
                                   parameters={"settings": self.settings.model_dump(mode="json")})
