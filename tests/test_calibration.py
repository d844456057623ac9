"""The eight defects of issue 13, each pinned on the behaviour a user relies on (with its control)."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers import ColumnScoreClassifier
from readiness.data import sha256_file
from readiness.reports.drift.report import DriftReport
from readiness.stats.gates import fmt
from readiness.reports.golden.benchmark import GoldenBenchmark

FAST = {"n_bootstrap": 200, "latency": {"single_row_calls": 10}, "artifact": {"fresh_process": False}}


def checks_of_drift(report):
    sections = [report.schema_section(), report.columns_section(), report.quality_section(),
                report.prediction_section(), report.multivariate_section()]
    return {c.id: c for s in sections for c in s.checks}


@pytest.fixture(scope="module")
def cancer():
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    order = np.random.default_rng(0).permutation(len(frame))
    return frame, order


def _split_files(tmp_path, cancer, fmt="parquet"):
    """The issue's small-n case: a random 284 vs 114 split, current without labels."""
    frame, order = cancer
    reference = frame.iloc[np.sort(order[:284])]
    current = frame.iloc[np.sort(order[284:398])].drop(columns="benign")
    paths = []
    for name, part in (("reference", reference), ("current", current)):
        path = tmp_path / f"{name}.{fmt}"
        part.to_parquet(path) if fmt == "parquet" else part.to_csv(path, index=False)
        paths.append(str(path))
    return paths, reference, current


# 1 ------------------------------------------------------------------ labels absent in current data


def test_current_data_without_labels_is_normal_not_a_schema_failure(tmp_path, cancer):
    paths, _, _ = _split_files(tmp_path, cancer)
    checks = checks_of_drift(DriftReport(*paths, target="benign", settings={"multivariate": False}))
    assert "drift.schema.missing[benign]" not in checks
    assert checks["drift.schema.target"].status == "skip" and "as usual for production" in checks["drift.schema.target"].message
    assert checks["drift.schema.columns"].status == "pass"
    assert "drift.target" not in checks  # target drift only when labels are present


def test_a_missing_feature_column_still_fails(tmp_path, cancer):
    frame, order = cancer
    reference = frame.iloc[order[:284]]
    current = frame.iloc[order[284:]].drop(columns=["benign", "mean radius"])
    reference.to_parquet(tmp_path / "r.parquet"), current.to_parquet(tmp_path / "c.parquet")
    checks = checks_of_drift(DriftReport(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), target="benign",
                                         settings={"multivariate": False}))
    assert checks["drift.schema.missing[mean radius]"].status == "fail"


# 2 ------------------------------------------------------------------ robustness: actionable, grouped


def _golden_for(tmp_path, model, frame, target, name="model"):
    path = tmp_path / f"{name}.joblib"
    joblib.dump(model, path)
    frame.to_parquet(tmp_path / "golden.parquet")
    return str(path), sha256_file(path), str(tmp_path / "golden.parquet")


def test_robustness_groups_a_crash_per_perturbation_and_does_not_warn_on_expected_changes(tmp_path, cancer):
    frame, order = cancer
    features = [c for c in frame.columns if c != "benign"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(frame[features], frame["benign"])
    path, digest, golden = _golden_for(tmp_path, model, frame.iloc[order[:200]], "benign")
    bench = GoldenBenchmark(path, golden, "benign", trust={"sha256": [digest]}, settings=FAST)
    checks = {c.id: c for c in bench.robustness_section().checks}
    warned = [c for c in checks.values() if c.status == "warn"]
    assert [c.id for c in warned] == ["golden.robustness.nan"]  # one finding, not 30
    assert "30 of 30 columns" in warned[0].message and "no imputer" in warned[0].message
    # predictions moved by noise and out-of-range values: expected of a model using its features
    assert checks["golden.robustness.noise"].status == "pass"
    assert checks["golden.robustness.out_of_range"].status == "pass"
    # scikit-learn refusing reordered columns is its name check working, not a fragility
    assert checks["golden.robustness.shuffled_columns"].status == "pass"
    assert "refused" in checks["golden.robustness.shuffled_columns"].message
    # control: the same crash fails when the team declared NaN expected in production
    strict = GoldenBenchmark(path, golden, "benign", trust={"sha256": [digest]},
                             settings={**FAST, "robustness": {"expected": ["nan"]}})
    assert {c.id: c for c in strict.robustness_section().checks}["golden.robustness.nan"].status == "fail"
    # control: a change beyond a declared max_changed_share warns
    gated = GoldenBenchmark(path, golden, "benign", trust={"sha256": [digest]},
                            settings={**FAST, "robustness": {"max_changed_share": 0.0}})
    assert {c.id: c for c in gated.robustness_section().checks}["golden.robustness.out_of_range"].status == "warn"


def test_no_unseen_category_is_injected_into_boolean_or_datetime_columns():
    from readiness.config import RobustnessConfig
    from readiness.artifacts.loading import Scorer
    from readiness.reports.golden.robustness import run_trials

    class Constant:
        has_proba, has_decision_function, classes = True, False, np.array([0, 1])

        def predict_proba(self, X):
            return np.tile([0.4, 0.6], (len(X), 1))

    frame = pd.DataFrame({"flag": [True, False] * 20, "when": pd.date_range("2024-01-01", periods=40),
                          "city": ["a", "b"] * 20})
    result = run_trials(Scorer(Constant(), "binary"), frame, RobustnessConfig(), 0)
    unseen = {t.column for t in result.trials if t.perturbation == "unseen_category"}
    assert unseen == {"city"}


# 3 ------------------------------------------------------------------ determinism with a tolerance


class JitterClassifier(ClassifierMixin, BaseEstimator):
    """P(positive) = column + uniform noise of ± jitter at every call (threads summing in another order)."""

    def __init__(self, jitter: float = 0.0):
        self.jitter = jitter

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        p = X["score"].to_numpy(float) + np.random.default_rng().uniform(-self.jitter, self.jitter, len(X))
        return np.c_[1 - p, p]

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@pytest.mark.parametrize("jitter, status", [(3e-16, "pass"), (1e-3, "fail")])
def test_determinism_tolerates_rounding_and_shows_the_difference(tmp_path, jitter, status):
    rng = np.random.default_rng(1)
    golden = pd.DataFrame({"score": rng.uniform(0.1, 0.9, 300)})
    golden["label"] = (rng.random(300) < golden["score"]).astype(int)
    model = JitterClassifier(jitter).fit(golden[["score"]])
    path, digest, golden_path = _golden_for(tmp_path, model, golden, "label")

    bench = GoldenBenchmark(path, golden_path, "label", trust={"sha256": [digest]}, settings=FAST)
    check = {c.id: c for c in bench.artifact_section().checks}["golden.artifact.determinism"]
    assert check.status == status
    assert "largest difference" in check.message and check.value is not None
    assert 0 < check.value <= 2 * jitter + 1e-15


# 4 ------------------------------------------------------------------ undefined metric on a segment


def test_a_segment_with_one_class_skips_with_the_reason(tmp_path):
    rng = np.random.default_rng(2)
    n = 600
    region = np.where(np.arange(n) < 100, "pure", "mixed")
    label = np.where(region == "pure", 1, rng.integers(0, 2, n))
    score = np.clip(0.5 + (label - 0.5) * 0.6 + rng.normal(0, 0.2, n), 0.01, 0.99)
    golden = pd.DataFrame({"score": score, "region": region, "label": label})
    model = ColumnScoreClassifier("score").fit(golden[["score"]], None)
    path, digest, golden_path = _golden_for(tmp_path, model, golden, "label")
    settings = {**FAST, "metrics": {"roc_auc": {"min": 0.6}}}
    bench = GoldenBenchmark(path, golden_path, "label", segments=["region"], trust={"sha256": [digest]}, settings=settings)
    bench.metrics_section()
    checks = {c.id: c for c in bench.segments_section().checks}
    pure = checks["golden.segment.roc_auc[region=pure]"]
    assert pure.status == "skip" and "only one class (1)" in pure.message and "undefined" in pure.message
    assert checks["golden.segment.roc_auc.bounds[region=mixed]"].status == "pass"  # control: defined, so judged
    assert all(c.status != "error" for c in bench.checks)


# 5 ------------------------------------------------------------------ drift at small n


def test_a_random_split_at_small_n_raises_no_drift_or_range_warnings(tmp_path, cancer):
    paths, _, _ = _split_files(tmp_path, cancer)
    checks = checks_of_drift(DriftReport(*paths, target="benign", settings={"multivariate": False}))
    column = [i for i, c in checks.items() if i.startswith("drift.column.") and c.status != "pass"]
    quality = [i for i, c in checks.items() if i.startswith(("drift.range.", "drift.missing.")) and c.status != "pass"]
    assert len(column) <= 1 and quality == [] and checks["drift.dataset"].status == "pass"
    # the old fixed thresholds flag far more on the same split: what this default fixes
    fixed = checks_of_drift(DriftReport(*paths, target="benign", settings={"multivariate": False, "thresholds": "default"}))
    assert sum(i.startswith("drift.column.") and c.status == "warn" for i, c in fixed.items()) > 5


def test_real_drift_and_out_of_range_values_are_still_found_at_small_n(tmp_path, cancer):
    frame, order = cancer
    reference = frame.iloc[np.sort(order[:284])]
    current = frame.iloc[np.sort(order[284:398])].drop(columns="benign")
    current = current.assign(**{"mean radius": current["mean radius"] + 0.6 * reference["mean radius"].std(),
                                "mean area": current["mean area"] / 100})  # mm² sent as cm²
    reference.to_parquet(tmp_path / "r.parquet"), current.to_parquet(tmp_path / "c.parquet")
    checks = checks_of_drift(DriftReport(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), target="benign",
                                         settings={"multivariate": False}))
    assert checks["drift.column.mean radius"].status == "warn"
    assert checks["drift.range.mean area"].status == "fail" and "other units" in checks["drift.range.mean area"].message


def test_two_values_out_of_range_at_n_114_are_noise_but_most_of_the_rows_fail():
    from readiness.reports.drift.report import _share_status

    assert _share_status(2, 114, 2 / 285, 0.01, 0.25)[0] == "pass"
    assert _share_status(50, 114, 2 / 285, 0.01, 0.25)[0] == "fail"  # 44%: even its 99% lower bound is past 25%
    assert _share_status(12, 114, 2 / 285, 0.01, 0.25)[0] == "warn"


# 6 ------------------------------------------------------------------ ids and time columns


def test_ids_and_timestamps_are_recognised_excluded_and_time_spans_reported(tmp_path):
    rng = np.random.default_rng(3)
    n = 2000
    times = pd.date_range("2024-01-01", periods=n, freq="h")
    frame = pd.DataFrame({"row_id": np.arange(1, n + 1), "when": times,
                          "stamp": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "x": rng.normal(size=n)})
    frame.iloc[:1500].to_csv(tmp_path / "r.csv", index=False)
    frame.iloc[1500:].to_csv(tmp_path / "c.csv", index=False)
    report = DriftReport(str(tmp_path / "r.csv"), str(tmp_path / "c.csv"), settings={"multivariate_rows": 1000})
    kinds = {name: (p.kind, p.reason) for name, p in report.reference.items()}
    assert kinds["row_id"][0] == "skipped" and "id or row number" in kinds["row_id"][1]
    assert kinds["stamp"][0] == "datetime" and "timestamps" in kinds["stamp"][1]
    checks = checks_of_drift(report)
    assert not any(i.startswith(("drift.column.row_id", "drift.column.stamp", "drift.column.when", "drift.range."
                                 "stamp")) for i in checks)
    assert checks["drift.multivariate"].status == "pass"  # the id and times no longer separate the periods
    shown = report.columns_section().tables[-1]._repr_html_()
    assert "Not scored for drift" in shown and "2024-03-03 12:00:00 to" in shown  # current span, as dates


def test_a_text_timestamp_declared_datetime_on_a_csv_does_not_crash(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=300, freq="D").strftime("%d/%m/%Y %H:%M")
    frame = pd.DataFrame({"timestamp": stamps, "x": np.arange(300.0) % 7})
    frame.iloc[:200].to_csv(tmp_path / "r.csv", index=False)
    frame.iloc[200:].to_csv(tmp_path / "c.csv", index=False)
    report = DriftReport(str(tmp_path / "r.csv"), str(tmp_path / "c.csv"),
                         settings={"kinds": {"timestamp": "datetime"}, "multivariate": False})
    checks_of_drift(report)
    assert report.reference["timestamp"].ref_minimum is not None


# 7 ------------------------------------------------------------------ starter files


def test_starter_config_defaults_follow_the_task():
    from readiness.config import parse_config, starter_config_text
    import yaml

    config = parse_config(yaml.safe_load(starter_config_text()))
    assert config.golden_benchmark.metrics is None
    assert set(config.golden_benchmark.thresholds_for("regression")) == {"rmse", "r2"}
    assert "roc_auc" in config.golden_benchmark.thresholds_for("binary")


def test_starter_checklist_is_unanswered_and_warns_instead_of_failing(tmp_path):
    from readiness.reports.checklist.report import WorkflowChecklist
    from readiness.resources import templates_dir

    path = tmp_path / "checklist.yaml"
    path.write_text((templates_dir() / "checklist.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    review = WorkflowChecklist(str(path), project_dir=str(tmp_path))
    checks = {c.id: c for c in review.rubric_section().checks}
    assert checks["checklist.unanswered"].status == "warn" and "28 of 28" in checks["checklist.unanswered"].message
    assert checks["checklist.score"].status == "warn"
    assert checks["checklist.item.infra.4"].status == "warn"
    assert all(c.status != "fail" for c in checks.values())
    # control: an explicit "no" still fails the gate that forbids it
    path.write_text(path.read_text().replace("infra.4: {answer: unanswered}", "infra.4: {answer: no}"))
    again = {c.id: c for c in WorkflowChecklist(str(path), project_dir=str(tmp_path)).rubric_section().checks}
    assert again["checklist.item.infra.4"].status == "fail"


# 8 ------------------------------------------------------------------ numbers that read right


def test_a_floating_point_residue_reads_as_zero():
    assert fmt(2.220446049250313e-16) == "0" and fmt(-1e-13) == "0"
    assert fmt(3e-5) == "3.000e-05"  # control: small but real numbers keep their value


def test_categorical_psi_is_not_called_deciles():
    from readiness.stats.drift_scores import METHODS

    assert METHODS["psi"].title_for("categorical") == "PSI (reference categories)"
    assert METHODS["psi"].title_for("numeric") == "PSI (reference deciles)"


def test_domain_classifier_names_no_column_when_the_sets_are_alike(tmp_path, cancer):
    paths, _, _ = _split_files(tmp_path, cancer)
    check = checks_of_drift(DriftReport(*paths, target="benign"))["drift.multivariate"]
    assert check.status == "pass" and "no column is named" in check.message and "(−" not in check.message
    assert all(v == v for v in check.details["auc_lost_when_shuffled"].values())


def test_fears_register_counts_checks_by_status(tmp_path):
    import json

    from readiness.reports.checklist.report import WorkflowChecklist

    results = tmp_path / "results"
    results.mkdir()
    checks = [{"id": f"golden.segment.roc_auc[s={i}]", "status": "fail" if i < 2 else "pass", "title": "t",
               "message": "m", "severity": "critical"} for i in range(32)]
    (results / "golden_benchmark.json").write_text(json.dumps(
        {"schema": "readiness/1", "report": "golden_benchmark", "status": "fail", "checks": checks}))
    (tmp_path / "checklist.yaml").write_text(
        "workflow:\n  - {name: train, mode: automated, owner: me}\n"
        "fears:\n  - {fear: a segment regresses, severity: 8, likelihood: 4, detected_by: ['golden.segment.*']}\n")
    review = WorkflowChecklist(str(tmp_path / "checklist.yaml"), results_dir=str(results), project_dir=str(tmp_path))
    message = review.fears_section().checks[0].message
    assert "fail (2 fail, 30 pass of 32 checks)" in message


def test_latency_reports_the_cold_call_apart_from_warm_percentiles(tmp_path):
    rng = np.random.default_rng(4)
    golden = pd.DataFrame({"score": rng.uniform(0.1, 0.9, 200)})
    golden["label"] = (rng.random(200) < golden["score"]).astype(int)
    path, digest, golden_path = _golden_for(tmp_path, ColumnScoreClassifier("score").fit(golden[["score"]], None),
                                            golden, "label")
    bench = GoldenBenchmark(path, golden_path, "label", trust={"sha256": [digest]}, settings=FAST)
    check = {c.id: c for c in bench.latency_section().checks}["golden.latency.p95_ms"]
    assert "warm single-row calls" in check.message and "cold call" in check.message
    assert "cold_ms" in check.details


def test_segment_table_shows_each_gate_beside_what_it_judged(tmp_path):
    rng = np.random.default_rng(5)
    n = 1200
    segment = np.where(rng.random(n) < 0.5, "A", "B")
    y = rng.integers(0, 2, n)
    base = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.25, n), 0.01, 0.99)
    golden = pd.DataFrame({"p_cand": base, "p_base": base, "segment": segment, "label": y})
    golden.to_csv(tmp_path / "golden.csv", index=False)
    for name, column in (("cand", "p_cand"), ("base", "p_base")):
        joblib.dump(ColumnScoreClassifier(column).fit(golden[["p_cand", "p_base"]], None), tmp_path / f"{name}.joblib")
    digests = [sha256_file(tmp_path / f"{n}.joblib") for n in ("cand", "base")]
    bench = GoldenBenchmark(str(tmp_path / "cand.joblib"), str(tmp_path / "golden.csv"), "label",
                            baseline_path=str(tmp_path / "base.joblib"), segments=["segment"], trust={"sha256": digests},
                            settings={**FAST, "metrics": {"roc_auc": {"min": 0.99, "max_regression": 0.01}}})
    bench.metrics_section()
    table = bench.segments_section().tables[0]._repr_html_()
    assert "<th>bounds</th>" in table and "<th>change</th>" in table and "<th>status</th>" not in table


def test_learned_thresholds_count_subsamples_exactly_as_profiling_does():
    from readiness.stats.profile import fit_reference, profile_frame, reference_bins

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": np.r_[rng.normal(size=1000), [np.nan] * 5], "c": rng.choice(list("abcdefg"), 1005),
                          "i": rng.integers(0, 5, 1005)})
    reference = fit_reference(frame, bins=100, max_categories=3)  # c: 3 kept, 4 pooled as "other"
    rows = np.sort(rng.choice(len(frame), 300, replace=False))
    profiled = profile_frame(frame.iloc[rows], reference)
    for column in frame.columns:
        codes = reference_bins(frame[column], reference[column])[rows]
        counts = np.bincount(codes[codes >= 0], minlength=len(reference[column].counts)).tolist()
        assert counts == profiled[column].counts and int((codes < 0).sum()) == profiled[column].missing


@pytest.mark.parametrize("data, message", [
    ({"drift": {"fail_thresholds": {"wasserstien_norm": 1.0}}}, "drift.fail_thresholds: unknown drift method 'wasserstien_norm' (did you mean 'wasserstein_norm'?)"),
    ({"drift": {"unseen_share": 0.3}}, "unseen_share (0.3) must be below fail_share (0.25)"),
    ({"drift": {"fail_share": 0}}, "drift.fail_share"),
    ({"golden_benchmark": {"leakage_threshold": 1.5}}, "golden_benchmark.leakage_threshold"),
    ({"golden_benchmark": {"metrics": {"rmse": {"max_relative_improvement": -1}}}}, "max_relative_improvement"),
    ({"golden_benchmark": {"robustness": {"max_changed_share": 2}}}, "golden_benchmark.robustness.max_changed_share"),
])
def test_new_calibration_keys_are_validated_with_the_key_named(data, message):
    from readiness.config import parse_config
    from readiness.exceptions import ConfigError

    with pytest.raises(ConfigError, match=None) as err:
        parse_config(data)
    assert message in str(err.value)


@pytest.mark.parametrize("method", ["wasserstein_norm", "ks", "psi", "jensenshannon"])
def test_null_scores_of_many_draws_equal_scoring_each_draw(method):

    from readiness.stats.drift_scores import METHODS, null_scores
    from readiness.stats.profile import fit_reference, profile_frame

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.gamma(2.0, 3.0, 3000), "c": rng.choice(list("abcdefghij"), 3000)})
    reference = fit_reference(frame, bins=100, max_categories=5)
    column = "x" if method in ("wasserstein_norm", "ks") else ("c" if method == "jensenshannon" else "x")
    ref = reference[column]
    draws = [np.sort(rng.choice(len(frame), 400, replace=False)) for _ in range(5)]
    profiles = [profile_frame(frame.iloc[rows], reference)[column] for rows in draws]
    expected = [METHODS[method].compute(ref, p) for p in profiles]
    together = null_scores(method, ref, np.array([p.counts for p in profiles]))
    np.testing.assert_allclose(together, expected, rtol=1e-9, atol=1e-12)
    if method == "psi":  # and on categories
        profiles = [profile_frame(frame.iloc[rows], reference)["c"] for rows in draws]
        np.testing.assert_allclose(null_scores("psi", reference["c"], np.array([p.counts for p in profiles])),
                                   [METHODS["psi"].compute(reference["c"], p) for p in profiles], rtol=1e-9)
