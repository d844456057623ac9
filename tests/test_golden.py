"""The golden benchmark's checks on data with known answers (in-process, no kernel)."""

import joblib
import numpy as np
import pandas as pd
import pytest

from helpers import ColumnRegressor, ColumnScoreClassifier, assert_sections_carry_the_report
from readiness.data import sha256_file
from readiness.exceptions import ConfigError, InputError
from readiness.reports.golden.benchmark import GoldenBenchmark

FAST = {"n_bootstrap": 300, "latency": {"single_row_calls": 10}}


def save(model, frame, path):
    model.fit(frame, None)
    joblib.dump(model, path)
    return str(path), sha256_file(path)


def statuses(bench):
    bench.metrics_section(), bench.consistency_section(), bench.segments_section()
    return {c.id: c for c in bench.checks}


@pytest.fixture
def segment_story(tmp_path):
    """Candidate sharper on segment A (85% of rows) but random on B; baseline decent on both."""
    rng = np.random.default_rng(0)
    n = 3000
    segment = np.where(rng.random(n) < 0.85, "A", "B")
    y = rng.integers(0, 2, n)
    base = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.25, n), 0.01, 0.99)
    cand = np.clip(0.5 + (y - 0.5) * 0.8 + rng.normal(0, 0.12, n), 0.01, 0.99)
    cand = np.where(segment == "B", rng.random(n), cand)
    golden = pd.DataFrame({"p_cand": cand, "p_base": base, "segment": segment, "label": y})
    golden.to_csv(tmp_path / "golden.csv", index=False)
    features = golden[["p_cand", "p_base"]]
    cand_path, cand_hash = save(ColumnScoreClassifier("p_cand"), features, tmp_path / "cand.joblib")
    base_path, base_hash = save(ColumnScoreClassifier("p_base"), features, tmp_path / "base.joblib")
    return dict(model_path=cand_path, baseline_path=base_path, golden_path=str(tmp_path / "golden.csv"),
                target="label", segments=["segment"], trust={"sha256": [cand_hash, base_hash]})


def test_segment_regression_fails_although_overall_improves(segment_story):
    settings = {**FAST, "metrics": {"roc_auc": {"max_regression": 0.01}}}
    checks = statuses(GoldenBenchmark(**segment_story, settings=settings))
    assert checks["golden.change.roc_auc"].status == "pass"
    assert checks["golden.change.roc_auc"].value > 0
    assert checks["golden.segment.roc_auc[segment=A]"].status == "pass"
    failed = checks["golden.segment.roc_auc[segment=B]"]
    assert failed.status == "fail" and "across the whole CI" in failed.message
    assert failed.details["rows"] == (pd.read_csv(segment_story["golden_path"]).segment == "B").sum()


def test_without_baseline_change_checks_skip_and_absolute_checks_still_gate(segment_story):
    story = dict(segment_story, baseline_path="")
    settings = {**FAST, "metrics": {"roc_auc": {"min": 0.99, "max_regression": 0.01}}}
    checks = statuses(GoldenBenchmark(**story, settings=settings))
    assert checks["golden.change.roc_auc"].status == "skip"
    assert "no baseline" in checks["golden.change.roc_auc"].message
    assert checks["golden.metric.roc_auc"].status == "fail"
    assert checks["golden.consistency.mean_prediction_ratio"].status == "skip"


def test_small_segments_skip_and_missing_required_segments_fail(segment_story):
    settings = {**FAST, "min_segment_rows": 1000, "required_segments": ["segment=A", "segment=C"]}
    checks = statuses(GoldenBenchmark(**segment_story, settings=settings))
    skipped = checks["golden.segment.roc_auc[segment=B]"]
    assert skipped.status == "skip" and "< min_segment_rows 1000" in skipped.message
    assert checks["golden.segment.required[segment=A]"].status == "pass"
    assert checks["golden.segment.required[segment=C]"].status == "fail"


def test_flip_rates_are_counted_by_hand(tmp_path):
    golden = pd.DataFrame({
        "p_cand": [0.9, 0.9, 0.1, 0.1, 0.9, 0.2, 0.8, 0.3],
        "p_base": [0.9, 0.1, 0.9, 0.1, 0.1, 0.2, 0.8, 0.7],
        "label":  [1,   1,   1,   0,   0,   0,   1,   0],
    })
    golden.to_csv(tmp_path / "g.csv", index=False)
    f = golden[["p_cand", "p_base"]]
    c, hc = save(ColumnScoreClassifier("p_cand"), f, tmp_path / "c.joblib")
    b, hb = save(ColumnScoreClassifier("p_base"), f, tmp_path / "b.joblib")
    bench = GoldenBenchmark(c, str(tmp_path / "g.csv"), "label", baseline_path=b, trust={"sha256": [hc, hb]},
                            settings={**FAST, "n_bootstrap": 100})
    checks = statuses(bench)
    # rows 1, 2, 4, 7 change class; row 2 was right and is now wrong; rows 1 and 7 were wrong and are now right
    flip = checks["golden.consistency.flip_rate"]
    assert flip.value == pytest.approx(4 / 8)
    assert checks["golden.consistency.negative_flip_rate"].value == pytest.approx(2 / 8)  # rows 2 and 4
    assert flip.details["positive_flip_rate"] == pytest.approx(2 / 8)  # rows 1 and 7
    assert "4 of 8 rows change class" in flip.message


@pytest.fixture
def regression_story(tmp_path):
    rng = np.random.default_rng(1)
    n = 500
    truth = rng.gamma(2.0, 50.0, n)
    golden = pd.DataFrame({"pred": truth + rng.normal(0, 5, n), "region": rng.choice(["EU", "US"], n), "price": truth})
    golden.to_csv(tmp_path / "g.csv", index=False)
    f = golden[["pred"]]
    base, hb = save(ColumnRegressor("pred", 1.0), f, tmp_path / "base.joblib")
    cand, hc = save(ColumnRegressor("pred", 100.0), f, tmp_path / "cand.joblib")
    return dict(model_path=cand, baseline_path=base, golden_path=str(tmp_path / "g.csv"), target="price",
                trust={"sha256": [hb, hc]}, segments=["region"])


def test_a_hundredfold_mean_shift_fails_even_if_ranking_is_perfect(regression_story):
    bench = GoldenBenchmark(**regression_story, settings=FAST)
    assert bench.task == "regression"
    checks = statuses(bench)
    shift = checks["golden.consistency.mean_prediction_ratio"]
    assert shift.status == "fail" and shift.severity == "critical"
    assert shift.value == pytest.approx(100.0)
    assert "predictions are 100× higher on average" in shift.message and "Mean prediction shift" in shift.message
    assert checks["golden.consistency.prediction_bias"].status == "fail"
    # R² collapses too, but the ratio check is what names the failure
    assert checks["golden.change.rmse"].status == "fail"


def test_mean_ratio_within_bounds_passes(regression_story):
    story = dict(regression_story, model_path=regression_story["baseline_path"])
    checks = statuses(GoldenBenchmark(**story, settings=FAST))
    assert checks["golden.consistency.mean_prediction_ratio"].value == pytest.approx(1.0)
    assert checks["golden.consistency.mean_prediction_ratio"].status == "pass"


def test_same_inputs_give_the_same_checks(segment_story):
    def run():
        checks = statuses(GoldenBenchmark(**segment_story, settings=FAST))
        return [(c.id, c.status, c.value, c.ci, c.message) for c in checks.values()]
    assert run() == run()


@pytest.mark.parametrize("change,expected", [
    (lambda g: g.drop(columns=["p_base"]), "missing feature column(s) the candidate model expects: 'p_base'"),
    (lambda g: g.drop(columns=["label"]), "target column 'label' not found"),
    (lambda g: g.assign(label=g.label.astype(float).where(g.index > 3)), "4 row(s) have no value in target column 'label'"),
    (lambda g: g.assign(label=np.where(g.index == 0, 7, g.label)), "label(s) 7 that the model does not predict"),
    (lambda g: g.drop(columns=["segment"]), "segment column 'segment' not found"),
])
def test_bad_golden_data_is_a_one_line_input_error(segment_story, tmp_path, change, expected):
    golden = change(pd.read_csv(segment_story["golden_path"]))
    path = tmp_path / "bad.csv"
    golden.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        GoldenBenchmark(**dict(segment_story, golden_path=str(path)), settings=FAST)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_task_must_fit_the_model(segment_story):
    with pytest.raises(InputError, match="'regression' does not fit the model"):
        GoldenBenchmark(**segment_story, task="regression", settings=FAST)


def test_settings_are_validated_in_the_kernel_too_with_the_cli_messages(segment_story):
    from readiness.config import parse_config

    for settings, task in (({"n_bootstrap": 1}, "auto"), ({**FAST, "metrics": {"rmse": {"max": 1}}}, "binary")):
        with pytest.raises(ConfigError) as in_kernel:
            GoldenBenchmark(**segment_story, settings=settings)  # task: auto, resolved to binary from the model
        with pytest.raises(ConfigError) as at_config_time:
            parse_config({"task": task, "golden_benchmark": settings}, source="settings")
        assert str(in_kernel.value) == str(at_config_time.value)
    assert str(in_kernel.value).startswith("settings: golden_benchmark.metrics.rmse: does not apply to binary models")


def test_results_document_follows_the_contract(segment_story, tmp_path):
    import json

    bench = GoldenBenchmark(**segment_story, settings=FAST)
    bench.inputs_section(), bench.metrics_section(), bench.consistency_section(), bench.segments_section(), bench.latency_section()
    bench.finish(str(tmp_path / "r.json"))
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == "readiness/1" and doc["report"] == "golden_benchmark"
    assert doc["inputs"]["golden"]["rows"] == 3000 and len(doc["inputs"]["golden"]["sha256"]) == 64
    assert doc["inputs"]["model"]["format"] == "joblib"
    ids = [c["id"] for c in doc["checks"]]
    assert len(ids) == len(set(ids)), "check ids must be unique"
    for check in doc["checks"]:
        assert check["status"] in {"pass", "warn", "fail", "error", "skip"} and check["message"]
    assert doc["status"] == "fail"
    assert {"golden.latency.p95_ms", "golden.latency.throughput", "golden.artifact.size"} <= set(ids)
    # the JSON carries what the HTML shows: every section with its tables, numbers as numbers
    assert_sections_carry_the_report(doc)
    sections = {s["name"]: s for s in doc["sections"]}
    assert list(sections) == ["inputs", "metrics", "consistency", "segments", "latency"]
    metrics = sections["metrics"]["tables"][0]
    rows = {row[0]: dict(zip(metrics["columns"], row)) for row in metrics["rows"]}
    auc = next(c for c in doc["checks"] if c["id"] == "golden.metric.roc_auc")
    assert rows["ROC AUC"]["candidate"] == auc["value"] and rows["ROC AUC"]["95% CI"] == auc["ci"]
    assert rows["ROC AUC"]["higher is better"] is True and rows["Log loss"]["higher is better"] is False
    segments = sections["segments"]["tables"][0]
    assert list(dict.fromkeys(row[0] for row in segments["rows"])) == ["segment=A", "segment=B"]  # a row per metric
    inference = {row[0]: row for row in sections["latency"]["tables"][0]["rows"]}
    assert inference["artifact size"][1:3] == [doc["inputs"]["model"]["size_bytes"], "bytes"]
