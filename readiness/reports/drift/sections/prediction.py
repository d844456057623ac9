"""Prediction and target drift: did the model's outputs move, and the labels?

Owns ``drift.prediction.*`` (the distribution of the model's scores and the
mean-prediction shift; skipped without a model) and ``drift.target`` (when both
sets have labels).

Examples
--------
>>> [c.id for c in prediction_section(core).checks]  # doctest: +SKIP
['drift.prediction.distribution', 'drift.prediction.mean_shift']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readiness.display import Section
from readiness.reports.drift.core import PREDICTION
from readiness.results import Check
from readiness.stats.drift_scores import METHODS, column_scores
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "prediction"


def prediction_section(core: "DriftCore") -> Section:
    """Drift of the model's scores and the mean-prediction shift (with a model), target drift (with labels)."""
    checks = []
    if PREDICTION not in core.reference:
        reason = ("no model given" if core.model is None
                  else "the reference is a profile without predictions (profile it with --model)")
        checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "skip", reason, severity="critical"))
    else:
        ref, cur = core.reference[PREDICTION], core.current[PREDICTION]
        scores = core.scores.get(PREDICTION, column_scores(ref, cur))
        method = "wasserstein_norm"
        score = scores[method]
        threshold = core.thresholds.get(PREDICTION, METHODS[method].threshold)
        drift = score >= threshold
        checks.append(Check("drift.prediction.distribution", "Prediction distribution", "warn" if drift else "pass",
                            f"{METHODS[method].title} of the model's scores {fmt(score)} {'≥' if drift else '<'} "
                            f"threshold {fmt(threshold)} (KS {fmt(scores['ks'])})",
                            severity="critical", value=score, threshold={"max": threshold}))
        low, high = core.settings.mean_prediction_ratio
        ratio = cur.mean / ref.mean if ref.mean else float("inf")
        ok = low <= ratio <= high
        checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "pass" if ok else "fail",
                            f"mean prediction {fmt(cur.mean)} now vs {fmt(ref.mean)} on the reference: ratio ×{fmt(ratio)}"
                            + ("" if ok else f", outside [{fmt(low)}, {fmt(high)}]"), severity="critical", value=ratio,
                            threshold={"min": low, "max": high}))
    if core.target and core.target in core.reference and core.target in core.current_columns:
        ref = core.reference[core.target]
        method = core.method_for(ref.kind)
        score = core.scores[core.target][method]
        drift = score >= core.thresholds[core.target]
        checks.append(Check("drift.target", "Target drift", "warn" if drift else "pass",
                            f"{METHODS[method].title_for(ref.kind)} of the labels {fmt(score)} "
                            f"(threshold {fmt(core.thresholds[core.target])})", severity="major", value=score))
    return Section("Prediction and target drift", checks=checks, name=NAME)
