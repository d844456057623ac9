"""The monitoring report's checks: its part of the check catalogue (:mod:`readiness.catalogue`).

Light: the driver reads it through the report's spec. Every series of the report is judged
by one check, ``monitoring.<series key>``: the latest chunk against the band learned on the
reference chunks, and actionable changepoints among the last ``recent_chunks`` chunks.
Series listed in ``monitoring.critical`` fail (severity critical); the others warn (major).
"""

from __future__ import annotations

from readiness.catalogue import CheckEntry
from readiness.stats.metrics import METRICS

_M = "monitoring"
#: What tunes every series' judgement: the band, the changepoints, which series gate.
_JUDGED = (f"{_M}.band_coverage", f"{_M}.false_alarm_rate", f"{_M}.recent_chunks", f"{_M}.reference_chunks",
           f"{_M}.chunk")
_QUANTILES = ("q10", "q50", "q90")

CHECKS = (
    # ------------------------------------------------------------------ chunks and versions
    CheckEntry("monitoring.chunks", "How the log was cut: rows, chunks, the reference period, rows left out (never "
               "gates)", "info", ("pass",), (f"{_M}.chunk", f"{_M}.reference_chunks", f"{_M}.reference")),
    CheckEntry("monitoring.rows", "Rows per period chunk within its band and without a recent changepoint (an outage, "
               "a duplicated feed); a partial last chunk is left out; not judged for chunks of N rows", "major",
               ("pass", "warn", "fail", "skip"), (f"{_M}.critical", f"{_M}.min_relative_change") + _JUDGED,
               config_severities=("critical",)),
    # ------------------------------------------------------------------ predictions over time
    CheckEntry("monitoring.mean_prediction", "The latest chunk's mean prediction within its band, without a recent "
               "changepoint, and within mean_prediction_ratio × the reference mean", "critical",
               ("pass", "warn", "fail", "skip"),
               (f"{_M}.critical", f"{_M}.mean_prediction_ratio", f"{_M}.min_relative_change") + _JUDGED,
               config_severities=("major",)),
    CheckEntry("monitoring.prediction_quantile.<quantile>", "A percentile of the predictions (10th, 50th, 90th) within "
               "its band and without a recent changepoint", "major", ("pass", "warn", "skip"),
               (f"{_M}.quantile_rows", f"{_M}.min_relative_change") + _JUDGED, values={"quantile": _QUANTILES}),
    CheckEntry("monitoring.positive_rate", "Share of scores at or above the decision threshold within its band "
               "(binary classifiers)", "major", ("pass", "warn", "fail", "skip"),
               (f"{_M}.decision_threshold", f"{_M}.critical") + _JUDGED, config_severities=("critical",)),
    CheckEntry("monitoring.mean_probability.<class>", "Multiclass logs: a class's mean probability within its band "
               "and without a recent changepoint (critical with the mean prediction)", "critical",
               ("pass", "warn", "fail", "skip"),
               (f"{_M}.prediction", f"{_M}.classes", f"{_M}.critical", f"{_M}.mean_prediction_ratio",
                f"{_M}.min_relative_change") + _JUDGED, config_severities=("major",)),
    CheckEntry("monitoring.predicted_rate.<class>", "Multiclass logs: the share of rows predicted as a class within its "
               "band", "major", ("pass", "warn", "skip"), (f"{_M}.prediction", f"{_M}.classes") + _JUDGED),
    CheckEntry("monitoring.model_agreement", "With a model artifact: the share of sampled rows whose logged prediction "
               "differs from the model's by more than model_tolerance stays at or under model_mismatch", "critical",
               ("pass", "warn", "fail", "skip"),
               (f"{_M}.model", f"{_M}.model_rows", f"{_M}.model_tolerance", f"{_M}.model_mismatch", f"{_M}.critical")
               + _JUDGED, config_severities=("major",)),
    # ------------------------------------------------------------------ features
    CheckEntry("monitoring.missing.<column>", "A feature's share of missing values in the latest chunk within its band, "
               "never judged on changes smaller than missing_change", "major", ("pass", "warn", "skip"),
               (f"{_M}.features", f"{_M}.missing_change") + _JUDGED),
    CheckEntry("monitoring.drift.<column>", "A feature's drift against the reference (the drift report's method and "
               "threshold) within its band; against a given reference, below the drift report's threshold", "major",
               ("pass", "warn", "skip"),
               (f"{_M}.features", f"{_M}.reference", f"{_M}.profile_rows", f"{_M}.bins", f"{_M}.max_categories")
               + _JUDGED),
    # ------------------------------------------------------------------ realized performance
    CheckEntry("monitoring.labels", "How many logged rows have labels (in the log or joined from the labels file by "
               "id); warns when no id of the labels file matches the log", "major", ("pass", "warn", "skip"),
               ("labels", f"{_M}.label", f"{_M}.id", f"{_M}.metric_rows")),
    CheckEntry("monitoring.performance.<metric>", "A realized metric per chunk (bootstrap CI) within its band and "
               "without a recent changepoint; the first metric gates (critical) when performance is in "
               "monitoring.critical", "critical", ("pass", "warn", "fail", "skip"),
               (f"{_M}.metrics", f"{_M}.critical", f"{_M}.confidence", f"{_M}.n_bootstrap", f"{_M}.ci_rows",
                f"{_M}.metric_rows") + _JUDGED, values={"metric": tuple(METRICS)}, config_severities=("major",)),
    # ------------------------------------------------------------------ estimated performance
    CheckEntry("monitoring.estimated.calibration", "On the labelled reference chunks the scores are calibrated well "
               "enough for performance estimated without labels to be trusted (within estimate_tolerance); skipped "
               "for regression or without labels", "major", ("pass", "warn", "skip"),
               (f"{_M}.estimate_tolerance", f"{_M}.decision_threshold", f"{_M}.confidence")),
    CheckEntry("monitoring.estimated.<metric>", "ROC AUC or accuracy estimated from calibrated scores alone within its "
               "band; warns without an estimate when the scores are not probabilities", "major",
               ("pass", "warn", "skip"), (f"{_M}.decision_threshold", f"{_M}.confidence") + _JUDGED,
               values={"metric": ("roc_auc", "accuracy")}),
)
