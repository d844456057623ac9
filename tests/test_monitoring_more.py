"""Monitoring report: multiclass logs, a model artifact scoring or checking the log, and the fast binning path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from readiness.exceptions import ConfigError, InputError
from readiness.reports.monitoring.api import MonitoringReport, simulate_log
from readiness.reports.monitoring.simulate import write_log_parquet

CLASSES = ["cat", "dog", "eel"]
PROBABILITIES = [f"proba_{c}" for c in CLASSES]


def multiclass_log(days: int = 30, per_day: int = 400, release_day: int = 20, seed: int = 0,
                   labels: str = "names") -> pd.DataFrame:
    """Three classes; from ``release_day`` version v2 favours eel (its logit +2). Labels drawn from the probabilities."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    day = np.repeat(np.arange(days), per_day)
    x = rng.normal(size=(n, 3))
    logits = np.c_[x[:, 0], x[:, 1], 0.5 * x[:, 2]]
    logits[day >= release_day, 2] += 2.0
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)  # one draw per row from its probabilities
    seconds = np.sort(rng.integers(0, 86_400, size=(days, per_day)), axis=1).ravel()
    frame = pd.DataFrame({"timestamp": pd.Timestamp("2017-01-01") + pd.to_timedelta(day * 86_400 + seconds, unit="s"),
                          "model_version": np.where(day >= release_day, "v2", "v1")})
    for j, name in enumerate(PROBABILITIES):
        frame[name] = proba[:, j]
    frame["label"] = np.array(CLASSES)[y] if labels == "names" else y
    for j in range(3):
        frame[f"f{j}"] = x[:, j]
    return frame


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multiclass") / "log"
    frame = multiclass_log()
    write_log_parquet(frame, folder, rows_per_file=5000, row_group_rows=2000)
    report = MonitoringReport(folder, {"prediction": PROBABILITIES, "label": "label"})
    return frame, report


def test_multiclass_guardrails_per_class_equal_the_per_chunk_means(multiclass):
    frame, report = multiclass
    assert report.task == "multiclass" and report.columns.classes == CLASSES
    day = (frame["timestamp"] - pd.Timestamp("2017-01-01")).dt.days
    proba = frame[PROBABILITIES].to_numpy()
    for j, name in enumerate(CLASSES):
        expected_mean = pd.Series(proba[:, j]).groupby(day).mean().to_numpy()
        np.testing.assert_allclose(report.get(f"mean_probability.{name}").values, expected_mean, rtol=1e-12)
        expected_rate = pd.Series(proba.argmax(axis=1) == j).groupby(day).mean().to_numpy()
        np.testing.assert_allclose(report.get(f"predicted_rate.{name}").values, expected_rate, rtol=1e-12)
    np.testing.assert_allclose(report.get("mean_prediction").values, pd.Series(proba.max(axis=1)).groupby(day).mean(),
                               rtol=1e-12)


def test_multiclass_realized_metrics_equal_scikit_learn_per_chunk(multiclass):
    from sklearn.metrics import accuracy_score, log_loss

    frame, report = multiclass
    day = (frame["timestamp"] - pd.Timestamp("2017-01-01")).dt.days.to_numpy()
    y = frame["label"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    proba = frame[PROBABILITIES].to_numpy()
    for c in range(report.n):
        rows = day == c
        assert report.realized["accuracy"][0][c] == pytest.approx(accuracy_score(y[rows], proba[rows].argmax(axis=1)), abs=1e-12)
        assert report.realized["log_loss"][0][c] == pytest.approx(log_loss(y[rows], proba[rows], labels=[0, 1, 2]), rel=1e-9)
        low, high = report.realized["accuracy"][1][c], report.realized["accuracy"][2][c]
        assert low <= report.realized["accuracy"][0][c] <= high


def test_multiclass_release_is_found_at_its_chunk_and_named(multiclass):
    _, report = multiclass
    checks = {c.id: c for section in report.sections() for c in section.checks}
    eel = report.get("mean_probability.eel")
    assert [c.index for c in eel.changepoints] == [20]
    assert checks["monitoring.mean_probability.eel"].status == "fail"
    assert checks["monitoring.mean_probability.eel"].severity == "critical"
    assert "when model_version changed from v1 to v2" in checks["monitoring.mean_probability.eel"].message
    assert "when model_version changed from v1 to v2" in report.headline()
    assert checks["monitoring.predicted_rate.eel"].status == "warn"
    assert checks["monitoring.estimated.calibration"].status == "skip"  # estimation: binary classifiers only


def test_a_healthy_multiclass_log_passes(tmp_path):
    frame = multiclass_log(days=24, release_day=100, seed=1)
    frame.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": ",".join(PROBABILITIES), "label": "label"})
    checks = {c.id: c for section in report.sections() for c in section.checks}
    critical = [c for c in checks.values() if c.severity == "critical"]
    assert critical and all(c.status == "pass" for c in critical), [(c.id, c.message) for c in critical if c.status != "pass"]


def test_multiclass_numeric_labels_and_class_names_from_the_columns(tmp_path):
    frame = multiclass_log(days=12, labels="numbers").rename(columns={p: f"p({j})" for j, p in enumerate(PROBABILITIES)})
    frame["label"] = frame["label"].astype(float)  # 0.0, 1.0, 2.0 name the classes 0, 1, 2
    frame.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": ["p(0)", "p(1)", "p(2)"], "label": "label"})
    assert report.columns.classes == ["0", "1", "2"]
    assert np.isfinite(report.realized["accuracy"][0]).all()


def test_multiclass_bad_input_is_one_clear_line(tmp_path):
    frame = multiclass_log(days=6)
    frame.loc[7, "label"] = "emu"
    frame.to_parquet(tmp_path / "log.parquet")
    with pytest.raises(InputError, match="label 'emu' is none of the classes cat, dog, eel.*monitoring.classes"):
        MonitoringReport(tmp_path / "log.parquet", {"prediction": PROBABILITIES, "label": "label"})
    with pytest.raises(ConfigError, match="monitoring.classes: 3 probability columns need 3 distinct class names"):
        MonitoringReport(tmp_path / "log.parquet", {"prediction": PROBABILITIES, "classes": ["a", "b"]})
    with pytest.raises(ConfigError, match="monitoring.prediction"):
        MonitoringReport(tmp_path / "log.parquet", {"prediction": ["proba_cat"]})
    with pytest.raises(ConfigError, match="multiclass log needs its per-class probability columns"):
        MonitoringReport(tmp_path / "log.parquet", {"prediction": "proba_cat", "task": "multiclass"})
    with pytest.raises(InputError, match="no prediction column 'proba_emu'"):
        MonitoringReport(tmp_path / "log.parquet", {"prediction": [*PROBABILITIES[:2], "proba_emu"]})


# ------------------------------------------------------------------ a model artifact


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A logistic regression on f0..f3, saved as skops; a log whose scores are its own until v2 (day 25), then
    a serving bug (features scaled twice) changes them."""
    from sklearn.linear_model import LogisticRegression

    from readiness.artifacts.manifest import save_model

    folder = tmp_path_factory.mktemp("served")
    log = simulate_log(days=32, rows_per_day=300, seed=4)
    features = [f"f{j}" for j in range(4)]
    model = LogisticRegression().fit(log[features], log["label"].astype(int))
    score = model.predict_proba(log[features])[:, 1]
    day = np.repeat(np.arange(32), 300)
    bug = day >= 25
    score[bug] = model.predict_proba(log.loc[bug, features] * 2.0)[:, 1]
    log["score"] = score
    log["model_version"] = np.where(bug, "v2", "v1")
    path = folder / "model.skops"
    save_model(model, path)
    write_log_parquet(log, folder / "log", rows_per_file=3000, row_group_rows=1500)
    write_log_parquet(log.drop(columns="score"), folder / "features-only", rows_per_file=3000, row_group_rows=1500)
    return folder, path, model, log


def test_model_checks_the_logged_predictions_and_names_the_release_where_they_stop_matching(served):
    folder, path, _, _ = served
    report = MonitoringReport(folder / "log", {"prediction": "score", "label": "label"}, model=path)
    assert report.model_mode == "check"
    agreement = report.get("model_agreement")
    assert np.all(agreement.values[:25] == 0.0)
    assert np.all(agreement.values[25:] > 0.9)
    assert [c.index for c in agreement.changepoints] == [25]
    check = {c.id: c for section in report.sections() for c in section.checks}["monitoring.model_agreement"]
    assert check.status == "fail" and check.severity == "critical"
    assert "when model_version changed from v1 to v2" in check.message and "scored" in check.message
    assert report.model_scored.sum() == pytest.approx(32 * 300, rel=0.01)  # fewer than model_rows rows per chunk: all


def test_model_that_matches_the_log_passes_and_samples_at_most_model_rows_per_chunk(served):
    folder, path, _, log = served
    healthy = folder / "healthy"
    write_log_parquet(log[log["model_version"] == "v1"], healthy, rows_per_file=3000, row_group_rows=1500)
    report = MonitoringReport(healthy, {"prediction": "score", "label": "label", "model_rows": 50}, model=path)
    check = {c.id: c for section in report.sections() for c in section.checks}["monitoring.model_agreement"]
    assert check.status == "pass", check.message
    assert 0 < report.model_scored.max() <= 90  # a uniform Bernoulli sample of about 50 rows per chunk


def test_model_scores_a_log_without_predictions(served):
    folder, path, model, log = served
    report = MonitoringReport(folder / "features-only", {"label": "label"}, model=path)
    assert report.model_mode == "score" and report.task == "binary"
    day = np.repeat(np.arange(32), 300)
    expected = pd.Series(model.predict_proba(log[[f"f{j}" for j in range(4)]])[:, 1]).groupby(day).mean()
    np.testing.assert_allclose(report.get("mean_prediction").values, expected.to_numpy(), rtol=1e-9)
    assert report.get("model_agreement") is None
    assert np.isfinite(report.realized["roc_auc"][0]).all()


def test_model_loads_untrusted_pickles_in_the_sandbox_and_missing_features_are_one_line(served, tmp_path):
    import joblib

    from readiness.artifacts.worker import SandboxedModel

    folder, _, model, log = served
    pickled = tmp_path / "model.joblib"
    joblib.dump(model, pickled)
    report = MonitoringReport(folder / "log", {"prediction": "score", "model_rows": 20}, model=pickled)
    assert isinstance(report.model.estimator, SandboxedModel) and report.model_info.sandbox
    assert np.nanmax(report.get("model_agreement").values[:25]) == 0.0
    report.model.estimator.close()
    write_log_parquet(log.drop(columns=["f3", "score"]), tmp_path / "fewer", row_group_rows=3000)
    with pytest.raises(InputError, match=r"the model needs column\(s\) the log does not have: 'f3'"):
        MonitoringReport(tmp_path / "fewer", {"prediction": "score"}, model=folder / "model.skops")
    with pytest.raises(InputError, match="no prediction column 'score'.*--model"):
        MonitoringReport(tmp_path / "fewer", {"prediction": "score"})


def test_a_multiclass_model_scores_a_log_of_features(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from readiness.artifacts.manifest import save_model

    frame = multiclass_log(days=12)
    features = ["f0", "f1", "f2"]
    model = LogisticRegression().fit(frame[features], frame["label"])
    path = tmp_path / "model.skops"
    save_model(model, path)
    frame[features + ["timestamp", "label"]].to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", {"label": "label"}, model=path)
    assert report.task == "multiclass" and report.columns.classes == CLASSES
    day = (frame["timestamp"] - pd.Timestamp("2017-01-01")).dt.days
    expected = pd.Series(model.predict_proba(frame[features])[:, 2]).groupby(day).mean()
    np.testing.assert_allclose(report.get("mean_probability.eel").values, expected.to_numpy(), rtol=1e-9)


def test_readiness_monitor_with_a_model_end_to_end(served, tmp_path):
    folder, path, _, _ = served
    done = subprocess.run([sys.executable, "-m", "readiness.cli", "monitor", str(folder / "log"), "--prediction", "score",
                           "--label", "label", "--model", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "monitoring_report.json").read_text())
    failing = {c["id"] for c in results["checks"] if c["status"] == "fail"}
    assert "monitoring.model_agreement" in failing
    assert (tmp_path / "out" / "monitoring_report.html").stat().st_size < 3_000_000


# ------------------------------------------------------------------ the fast binning path equals profile_frame


def test_sampled_rows_are_binned_as_profile_frame_bins_them():
    import pyarrow as pa

    from readiness.reports.monitoring.batch import Batch
    from readiness.reports.monitoring.chunks import _SampleBinner
    from readiness.stats.profile import fit_reference, profile_frame

    rng = np.random.default_rng(2)
    n = 5000
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n)),
        "count": rng.integers(0, 1000, n),
        "few": rng.integers(0, 4, n),
        "city": pd.Series(rng.choice(["a", "b", "c", "rare", None], n, p=[0.4, 0.3, 0.2, 0.05, 0.05]), dtype=object),
        "flag": rng.random(n) < 0.3,
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
    })
    reference = fit_reference(frame.iloc[:3000], bins=20, max_categories=3)
    current = frame.iloc[3000:].reset_index(drop=True)
    current.loc[:10, "city"] = "unseen"
    rows = np.sort(rng.choice(len(current), 700, replace=False))
    table = pa.Table.from_pandas(current, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("city"), "city", table.column("city").dictionary_encode())
    for batch in (Batch(table), Batch.from_pandas(current)):
        fast = _SampleBinner(batch, reference).profile(rows)
        slow = profile_frame(current.iloc[rows].reset_index(drop=True), reference)
        assert set(fast) == set(slow)
        for name in slow:
            for key, expected in vars(slow[name]).items():
                got = vars(fast[name])[key]
                if isinstance(expected, float) or (isinstance(expected, list) and expected and isinstance(expected[0], float)):
                    assert got == pytest.approx(expected, rel=1e-12, nan_ok=True), (name, key)
                else:
                    assert got == expected, (name, key)


def test_the_direct_point_values_equal_scikit_learn_and_the_weighted_metrics():
    from sklearn.metrics import accuracy_score, roc_auc_score

    from readiness.reports.monitoring.performance import eval_data, point_value
    from readiness.stats.metrics import METRICS

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(2, 3000))
        score = np.round(rng.random(n), int(rng.integers(1, 4)))  # coarse scores: many ties
        y = (rng.random(n) < score).astype(float)
        if y.min() == y.max():
            continue
        data = eval_data("binary", score, y, 0.5)
        assert point_value("roc_auc", data) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert point_value("accuracy", data) == pytest.approx(accuracy_score(y, score >= 0.5), abs=1e-12)
        for name in ("roc_auc", "accuracy"):
            assert point_value(name, data) == pytest.approx(METRICS[name](np.ones((1, n)), data)[0], abs=1e-12)


def test_monitoring_model_in_readiness_yaml_is_resolved_against_the_config_folder(tmp_path):
    from readiness.config import parse_config
    from readiness.reports.monitoring import parameters
    from readiness.registry import RunContext

    config = parse_config({"predictions": "log/", "monitoring": {"model": "models/served.skops"},
                           "trust": {"sha256": ["ab" * 32]}}, base_dir=tmp_path)
    values = parameters(config, RunContext())
    assert values["settings"]["model"] == str((tmp_path / "models" / "served.skops").resolve())
    assert values["trust"]["sha256"] == ["ab" * 32]
    assert parameters(parse_config({"predictions": "log/"}, base_dir=tmp_path), RunContext())["settings"]["model"] is None
