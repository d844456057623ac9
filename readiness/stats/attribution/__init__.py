"""What moved the predictions, and from where: Shapley attribution to the model and to data sources.

A *source* is a group of feature columns that arrive together (an upstream feed);
by default every column is its own source. The players of a Shapley game are the
sources and, when two models are compared across two data sets, the model. A
coalition's value is the mean model output on *mixed rows*: the columns of the
sources in the coalition take their values from the new data, every other column
from a row of the old data (interventional values, **the old data as background**),
and the new model predicts when the model is in the coalition. The empty
coalition is the old model on the old data and the grand coalition the new model
on the new data, so the contributions sum exactly to the change in mean output;
with two players {model, data} this is the Kitagawa–Oaxaca–Blinder decomposition
made order-free.

Three uses:

* :func:`~readiness.stats.attribution.data.data_attribution` — reference vs current data through one model (the
  change in mean prediction split by source), or with ``new_model`` the full
  split: model + each source.
* :func:`~readiness.stats.attribution.release.release_attribution` — candidate vs baseline on the same (golden) rows.
  The game is played on the model difference ``Δ = f_candidate − f_baseline``:
  per segment, ``mean Δ = model + Σ sources`` where ``model`` is the mean Δ over
  all rows (the change the release makes at a typical row) and each source says how
  much that segment's values of its columns move Δ away from the average. Over all
  rows the sources sum to zero by construction: on the same rows a change in the
  overall mean is the model's. The primary metric and the flip rate are games on
  mixed predictions ``f_baseline + Δ_coalition`` whose ends are exactly the two
  models' values.

Estimation. Old and new rows are paired by a random coupling that keeps both
marginals exact (north-west corner rule on shuffled rows; one-to-one on the same
rows). Coalitions that mix sources are evaluated on a sample of the pairs
(``max_evaluations`` model rows in all, stacked into a few predict calls): exactly,
all ``2^k`` coalitions per pair, for up to ``max_exact_players`` players; beyond
that one random player order per pair (permutation sampling), whose noise is part
of the bootstrap error. The two ends use every row, so the contributions sum to the
full-data total whatever the sample: ``φ_p = total / k + I_p``, where the
redistribution ``I_p`` sums to zero over the players and is the only estimated part.
CIs: percentile bootstrap over clusters of the coupling (rows of the smaller data
set with their partners), paired over the golden rows in a release.

Modules: ``settings`` (config models, sources, segment keys), ``outputs`` (a model's
rows as numbers), ``decomposition`` (result types), ``shapley`` (the engine),
``data`` and ``release`` (the two estimators), ``checks`` (check ids and segment
guarantees). The waterfall figure is :func:`readiness.figures.attribution.waterfall_figure`.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name → the submodule defining it; loaded on first use, so readiness.config can
#: read the settings models without loading pandas, scipy and the engine
_EXPORTS = {
    "data_attribution_check": "checks", "describe": "checks", "release_attribution_check": "checks",
    "segment_consistency_checks": "checks", "data_attribution": "data", "Attribution": "decomposition",
    "Contribution": "decomposition", "DataAttribution": "decomposition", "ReleaseAttribution": "decomposition",
    "Outputs": "outputs", "model_outputs": "outputs", "release_attribution": "release",
    "MODEL_PLAYER": "settings", "UNASSIGNED_SOURCE": "settings", "AttributionSettings": "settings",
    "SegmentCriterion": "settings", "SegmentGuarantees": "settings", "SourcesConfig": "settings",
    "parse_segment_key": "settings", "resolve_sources": "settings", "segment_rows": "settings",
    "unread_source_columns": "settings", "shapley_coefficients": "shapley",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
