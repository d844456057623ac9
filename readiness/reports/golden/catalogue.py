"""The golden benchmark's checks: its part of the check catalogue (:mod:`readiness.catalogue`).

Light (the driver reads it through the report's spec): names come from the metric and
perturbation vocabularies, never from the code that computes them.
"""

from __future__ import annotations

from readiness.catalogue import CheckEntry
from readiness.stats.metrics import METRICS
from readiness.stats.perturbations import PERTURBATIONS

_METRIC = {"metric": tuple(METRICS)}
_GB = "golden_benchmark"

CHECKS = (
    # ------------------------------------------------------------------ artifact
    CheckEntry("golden.artifact.load", "The candidate artifact loaded; records its format, size, sha256, load time and "
               "what allowed it (skops, the pickle allow-list, trust.sha256 or a custom loader)", "info", ("pass",),
               ("trust.sha256", "trust.skops_types", "trust.max_load_bytes")),
    CheckEntry("golden.artifact.sandbox", "The model was loaded and runs only in a confined worker process; lists the "
               "protections in force", "info", ("pass",), ("trust.sha256",)),
    CheckEntry("golden.artifact.scan", "How the artifact's code was vetted: every pickle global judged by the allow-list "
               "while loading (fitted trees validated), the skops types trusted beyond skops' defaults, or trusted by "
               "its sha256 (info)", "critical", ("pass",), ("trust.sha256", "trust.skops_types")),
    CheckEntry("golden.artifact.manifest", "The training-environment manifest beside the artifact (written by "
               "readiness.save_model) matches this runtime: sha256, Python, package versions, feature names; warns "
               "(fails when strict) on a difference, skips without a manifest", "major",
               ("pass", "warn", "fail", "skip"), (f"{_GB}.artifact.strict",)),
    CheckEntry("golden.artifact.version_warnings", "Warnings raised while loading the artifact (e.g. scikit-learn's "
               "InconsistentVersionWarning); emitted only when there are some", "major", ("warn", "fail"),
               (f"{_GB}.artifact.strict",)),
    CheckEntry("golden.artifact.determinism", "Predicting the same rows twice gives the same predictions (up to "
               "floating-point rounding, 1e-9)", "critical", ("pass", "fail"), (f"{_GB}.artifact.sample_rows",)),
    CheckEntry("golden.artifact.batch_vs_single", "Rows predicted one at a time agree with the same rows predicted in one "
               "batch", "critical", ("pass", "fail"), (f"{_GB}.artifact.sample_rows",)),
    CheckEntry("golden.artifact.fresh_process", "A new Python process loads the artifact and reproduces this kernel's "
               "predictions (no hidden state in the kernel)", "critical", ("pass", "fail"),
               (f"{_GB}.artifact.fresh_process", f"{_GB}.artifact.sample_rows")),
    CheckEntry("golden.artifact.hidden_dependencies", "The model's code stays within scikit-learn, numpy, scipy and "
               "pandas; warns naming any other module it needs at prediction time", "major", ("pass", "warn")),
    # ------------------------------------------------------------------ metrics
    CheckEntry("golden.metric.<metric>", "The candidate's metric on the whole golden set (with its bootstrap CI) within "
               "the configured min / max; reported without gating (info) when no bound is set, skipped when the metric "
               "does not apply or is undefined on these rows", "critical", ("pass", "fail", "error", "skip"),
               (f"{_GB}.metrics.<metric>.min", f"{_GB}.metrics.<metric>.max", f"{_GB}.n_bootstrap",
                f"{_GB}.confidence"), values=_METRIC),
    CheckEntry("golden.change.<metric>", "Candidate vs baseline on the paired CI of their difference: fails when the "
               "whole CI is worse than the allowed regression, warns when it probably is, and flags an improvement "
               "too large to be true (leakage?); skipped without a baseline", "critical",
               ("pass", "warn", "fail", "skip"),
               (f"{_GB}.metrics.<metric>.max_regression", f"{_GB}.metrics.<metric>.max_relative_regression",
                f"{_GB}.metrics.<metric>.max_improvement", f"{_GB}.metrics.<metric>.max_relative_improvement",
                f"{_GB}.confidence", "baseline"), values=_METRIC),
    CheckEntry("golden.dummy.<metric>", "The candidate beats scikit-learn's dummy model (fitted on the golden labels) on "
               "the primary metric, on the paired CI: fails when a constant prediction does as well", "critical",
               ("pass", "warn", "fail", "skip"), (f"{_GB}.metrics",), values=_METRIC),
    CheckEntry("golden.leakage", "No single feature predicts the label almost perfectly on its own (held-out golden "
               "rows): too good to be true, usually a feature computed from the label", "critical",
               ("pass", "fail", "skip"), (f"{_GB}.leakage_threshold",)),
    # ------------------------------------------------------------------ release consistency
    CheckEntry("golden.consistency.prediction_bias", "The candidate's mean prediction vs the observed label mean, within "
               "the allowed ratio widened by the label mean's sampling noise", "critical", ("pass", "fail"),
               (f"{_GB}.consistency.mean_prediction_ratio",)),
    CheckEntry("golden.consistency.prediction_bias.baseline", "The baseline's mean prediction vs the observed label "
               "mean, for comparison (never gates)", "info", ("pass",),
               (f"{_GB}.consistency.mean_prediction_ratio",)),
    CheckEntry("golden.consistency.mean_prediction_ratio", "The candidate's mean prediction over the baseline's within "
               "the allowed ratio: a silent shift nothing else raises; skipped without a baseline", "critical",
               ("pass", "fail", "skip"), (f"{_GB}.consistency.mean_prediction_ratio", "baseline")),
    CheckEntry("golden.consistency.flip_rate", "Share of golden rows whose predicted class changes between baseline and "
               "candidate; reported (info) unless a limit is set", "major", ("pass", "fail"),
               (f"{_GB}.consistency.max_flip_rate",)),
    CheckEntry("golden.consistency.negative_flip_rate", "Share of golden rows right before and wrong now; reported (info) "
               "unless a limit is set", "major", ("pass", "fail"), (f"{_GB}.consistency.max_negative_flip_rate",)),
    CheckEntry("golden.consistency.score_change", "How far per-row scores move between baseline and candidate "
               "(p50, p95, max); the most-changed rows are listed", "info", ("pass",),
               (f"{_GB}.consistency.top_changed_rows",)),
    # ------------------------------------------------------------------ segments
    CheckEntry("golden.segment.<metric>[<column>=<value>]", "Candidate vs baseline on one segment's rows, gated like "
               "the whole set; reported (info) when the metric has no gate, skipped below min_segment_rows or when "
               "the metric is undefined there", "critical", ("pass", "warn", "fail", "skip"),
               ("segments", f"{_GB}.metrics.<metric>.max_regression", f"{_GB}.metrics.<metric>.max_relative_regression",
                f"{_GB}.min_segment_rows", f"{_GB}.max_segment_values"), values=_METRIC),
    CheckEntry("golden.segment.<metric>.bounds[<column>=<value>]", "The candidate's metric on one segment within the "
               "configured min / max", "critical", ("pass", "fail", "error"),
               ("segments", f"{_GB}.metrics.<metric>.min", f"{_GB}.metrics.<metric>.max", f"{_GB}.min_segment_rows"),
               values=_METRIC),
    CheckEntry("golden.segment.required[<column>=<value>]", "A segment the golden set must contain is present",
               "critical", ("pass", "fail"), (f"{_GB}.required_segments",)),
    # ------------------------------------------------------------------ robustness
    CheckEntry("golden.robustness.<perturbation>", "One perturbation over every column it applies to: warns on a crash "
               "on input production will plausibly hold (fails when listed in expected), on changes beyond "
               "max_changed_share when set; moved predictions are shown, not warned", "major",
               ("pass", "warn", "fail"),
               (f"{_GB}.robustness.perturbations", f"{_GB}.robustness.expected", f"{_GB}.robustness.max_changed_share",
                f"{_GB}.robustness.tolerance", f"{_GB}.robustness.noise_iqr", f"{_GB}.robustness.optional_columns",
                f"{_GB}.robustness.enabled"), values={"perturbation": tuple(PERTURBATIONS)}),
    CheckEntry("golden.robustness.<rule>[<column>]", "A declared rule holds: predictions do not move when an invariant "
               "column is shuffled, and move only in the declared direction when a column is raised", "critical",
               ("pass", "fail"), (f"{_GB}.robustness.invariant", f"{_GB}.robustness.direction"),
               values={"rule": ("invariant", "direction")}),
    # ------------------------------------------------------------------ inference
    CheckEntry("golden.latency.p95_ms", "95th percentile of warm single-row prediction latency, where the model runs; "
               "reported (info) unless a limit is set", "major", ("pass", "fail"),
               (f"{_GB}.latency.max_p95_ms", f"{_GB}.latency.single_row_calls")),
    CheckEntry("golden.latency.throughput", "Rows per second predicting the whole golden set in one call; reported (info) "
               "unless a minimum is set", "major", ("pass", "fail"), (f"{_GB}.latency.min_rows_per_s",)),
    CheckEntry("golden.artifact.size", "The artifact's size and load time (shown in the inference section)", "info",
               ("pass",)),
    # ------------------------------------------------------------------ attribution (readiness.stats.attribution)
    CheckEntry("golden.attribution", "What moved the predictions, candidate vs baseline on the golden rows: the change "
               "in mean prediction, primary metric and flipped rows split between the model and each source's "
               "features (Shapley values with CIs; never gates)", "info", ("pass", "skip", "error"),
               ("sources", "golden_benchmark.attribution")),
    CheckEntry("golden.guarantee.<kind>[<segment>]", "A key segment's release guarantee: its mean-prediction shift or "
               "flip rate within the limit across the whole CI (warns when the CI straddles it)", "critical",
               ("pass", "warn", "fail", "skip", "error"), ("consistency.segments",),
               values={"kind": ("mean_shift", "flip_rate")}),
)
