"""The drift report's checks: its part of the check catalogue (:mod:`readiness.catalogue`).

Light: the driver reads it through the report's spec.
"""

from __future__ import annotations

from readiness.catalogue import CheckEntry

_COLUMN_DRIFT = ("drift.methods", "drift.thresholds", "drift.fail_thresholds", "drift.kinds", "drift.bins",
                 "drift.max_categories", "drift.learned_samples")

CHECKS = (
    # ------------------------------------------------------------------ schema
    CheckEntry("drift.schema.columns", "Every reference column is present in the current data and none is new",
               "critical", ("pass",)),
    CheckEntry("drift.schema.missing[<column>]", "A reference column is missing from the current data", "critical",
               ("fail",)),
    CheckEntry("drift.schema.new[<column>]", "A column of the current data is not in the reference", "minor", ("warn",)),
    CheckEntry("drift.schema.target", "The label column is absent from the current data, as usual for production "
               "data: target drift is checked once current data has labels", "info", ("skip",), ("target",)),
    CheckEntry("drift.schema.dtypes", "Every column present in both holds the same type (number, boolean, datetime or "
               "text)", "critical", ("pass",)),
    CheckEntry("drift.schema.dtype[<column>]", "A column holds another type now than in the reference", "critical",
               ("fail",)),
    # ------------------------------------------------------------------ column drift
    CheckEntry("drift.column.<column>", "Drift of one column: its kind's effect size (Wasserstein distance over the "
               "reference std, Jensen-Shannon distance, ...) against its threshold, never below the sampling noise at "
               "this size; warns at the threshold, fails at a large effect", "major", ("pass", "warn", "fail"),
               _COLUMN_DRIFT),
    CheckEntry("drift.dataset", "Share of drifted columns below the gate", "critical", ("pass", "fail"),
               ("drift.drift_share",) + _COLUMN_DRIFT),
    # ------------------------------------------------------------------ data quality
    CheckEntry("drift.missing.<column>", "Change in a column's share of missing values beyond sampling noise: warns "
               "beyond missing_change, fails when missing values rise by fail_share (the feed broke)", "major",
               ("pass", "warn", "fail"), ("drift.missing_change", "drift.fail_share")),
    CheckEntry("drift.unseen.<column>", "Share of current values that are categories the reference never had (99% lower "
               "bound, beyond what its rare categories explain)", "major", ("pass", "warn", "fail"),
               ("drift.unseen_share", "drift.fail_share", "drift.max_categories")),
    CheckEntry("drift.range.<column>", "Share of current values outside the reference's range (99% lower bound, beyond "
               "what chance explains)", "major", ("pass", "warn", "fail"),
               ("drift.out_of_range_share", "drift.fail_share")),
    CheckEntry("drift.units.<column>", "Current values that look like the reference's in other units (median and spread "
               "scaled by one factor ≥ 1.5, the rescaled values distributed like the reference)", "critical",
               ("pass", "fail")),
    # ------------------------------------------------------------------ predictions and labels
    CheckEntry("drift.prediction.distribution", "Drift of the model's scores between reference and current data (needs "
               "the model)", "critical", ("pass", "warn"), ("model", "drift.thresholds")),
    CheckEntry("drift.prediction.mean_shift", "The model's mean prediction now over the reference's within the allowed "
               "ratio; skipped without a model or with a profile lacking predictions", "critical",
               ("pass", "fail", "skip"), ("model", "drift.mean_prediction_ratio")),
    CheckEntry("drift.target", "Drift of the labels, when both sets have them", "major", ("pass", "warn"),
               ("target", "drift.thresholds")),
    # ------------------------------------------------------------------ multivariate
    CheckEntry("drift.multivariate", "A domain classifier tells reference from current rows beyond chance (2·AUC − 1 on "
               "held-out rows); names the columns that separate them most; skipped when disabled or from a profile",
               "major", ("pass", "warn", "skip"),
               ("drift.multivariate", "drift.multivariate_threshold", "drift.multivariate_rows")),
    # ------------------------------------------------------------------ attribution (readiness.stats.attribution)
    CheckEntry("drift.attribution", "The change in mean prediction from reference to current data split by source "
               "(and the model, with a baseline): Shapley values with CIs summing to the total; never gates", "info",
               ("pass", "skip", "error"), ("sources", "baseline", "drift.attribution")),
)
