"""Monitoring report: chunks, series, changepoints named by the release, realized and estimated performance."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import assert_json_carries_the_html_tables, assert_sections_carry_the_report
from readiness.exceptions import ConfigError, InputError
from readiness.reports.monitoring.api import MonitoringReport, detect_changepoints, simulate_log
from readiness.reports.monitoring.changepoints import noise_scale, penalty
from readiness.reports.monitoring.chunks import BottomK
from readiness.reports.monitoring.performance import binned_auc, estimated_accuracy, estimated_auc
from readiness.reports.monitoring.simulate import write_log_parquet

SETTINGS = {"prediction": "score", "label": "label"}
SENTENCE = re.compile(r"^Mean prediction (\d+(\.\d+)?)× higher from 2017-01-26, when model_version changed from v1 to v2$")


@pytest.fixture(scope="module")
def bug_log(tmp_path_factory) -> Path:
    """40 days × 500 rows; release v2 on day 25 multiplies every score by 100; labels for the first 30 days."""
    folder = tmp_path_factory.mktemp("bug") / "log"
    log = simulate_log(days=40, rows_per_day=500, releases={25: ("v2", 100.0)}, labels_until_day=30, seed=3)
    write_log_parquet(log, folder, rows_per_file=4000, row_group_rows=1500)
    return folder


@pytest.fixture(scope="module")
def bug_report(bug_log) -> MonitoringReport:
    return MonitoringReport(bug_log, SETTINGS)


def checks_of(report: MonitoringReport) -> dict:
    return {c.id: c for section in report.sections() for c in section.checks}


# ------------------------------------------------------------------ the point of the report


def test_planted_100x_shift_is_found_at_the_release_chunk_and_named(bug_report):
    changes = bug_report.get("mean_prediction").changepoints
    assert [c.index for c in changes] == [25]
    assert bug_report.chunk_labels()[25] == "2017-01-26"
    headline = bug_report.headline()
    match = SENTENCE.match(headline)
    assert match, headline
    assert 95 <= float(match.group(1)) <= 105
    check = checks_of(bug_report)["monitoring.mean_prediction"]
    assert check.status == "fail" and check.severity == "critical"
    assert "when model_version changed from v1 to v2" in check.message


@pytest.mark.parametrize("factor, word", [(10.0, "higher"), (100.0, "higher"), (0.1, "lower")])
def test_a_tenfold_or_hundredfold_shift_always_fails(tmp_path, factor, word):
    log = simulate_log(days=20, rows_per_day=300, releases={17: ("v2", factor)}, seed=5)
    log.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": "score"})
    check = checks_of(report)["monitoring.mean_prediction"]
    assert check.status == "fail"
    assert f"× {word} from 2017-01-18, when model_version changed from v1 to v2" in report.headline()


def test_a_healthy_log_passes_the_critical_checks(tmp_path):
    log = simulate_log(days=45, rows_per_day=800, releases={30: ("v2", 1.0)}, seed=11)
    log.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", SETTINGS)
    checks = checks_of(report)
    critical = {k: c.status for k, c in checks.items() if c.severity == "critical"}
    assert critical == {"monitoring.mean_prediction": "pass", "monitoring.performance.roc_auc": "pass"}
    assert not report.get("mean_prediction").changepoints
    assert report.headline().startswith("No level change")
    assert sum(c.status == "warn" for c in checks.values()) <= 1


def test_five_percent_shift_detected_within_three_chunks_with_90_percent_power():
    """5,000 rows per chunk (scores Beta(2, 8): mean 0.2, sd 0.12; a 5% shift = 0.01 = 5.8 standard errors
    of a chunk mean); 20 chunks before the shift, 3 after; detected = a changepoint within one chunk of it."""
    rng = np.random.default_rng(7)
    trials, hits = 200, 0
    for _ in range(trials):
        means = rng.beta(2, 8, size=(23, 5000)).mean(axis=1)
        means[20:] *= 1.05
        found = detect_changepoints(means, 0.05, log=True, reference=7)
        hits += any(abs(c.index - 20) <= 1 for c in found)
    assert hits / trials >= 0.90


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.1])
def test_false_changepoints_on_stationary_series_stay_at_or_under_the_stated_rate(rate):
    rng = np.random.default_rng(int(rate * 1000))
    series = 1000
    for n in (12, 40, 120):
        alarms = sum(bool(detect_changepoints(rng.normal(10, 1, n), rate, reference=min(10, n // 3)))
                     for _ in range(series))
        assert alarms / series <= rate, (n, alarms)


# ------------------------------------------------------------------ performance


def test_realized_metrics_equal_scikit_learn_per_chunk(bug_report, bug_log):
    from sklearn.metrics import accuracy_score, roc_auc_score

    log = pd.concat(pd.read_parquet(p) for p in sorted(bug_log.glob("*.parquet")))
    log["day"] = (log["timestamp"] - pd.Timestamp("2017-01-01")).dt.days
    auc, accuracy = bug_report.get("performance.roc_auc"), bug_report.get("performance.accuracy")
    for day, rows in log.dropna(subset=["label"]).groupby("day"):
        y, p = rows["label"].to_numpy(int), np.clip(rows["score"].to_numpy(), 0, 1)
        expected_auc = roc_auc_score(y, p) if len(set(y)) == 2 else np.nan
        assert auc.values[day] == pytest.approx(expected_auc, abs=1e-12, nan_ok=True)
        assert accuracy.values[day] == pytest.approx(accuracy_score(y, (p >= 0.5).astype(int)), abs=1e-12)
        assert auc.low[day] <= auc.values[day] <= auc.high[day]
    assert np.isnan(auc.values[30:]).all()  # no labels from day 30 on
    assert bug_report.acc.labelled[:30].tolist() == [500] * 30


def test_regression_metrics_equal_scikit_learn_per_chunk(tmp_path):
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    rng = np.random.default_rng(2)
    n = 6000
    frame = pd.DataFrame({"timestamp": pd.Timestamp("2020-03-01") + pd.to_timedelta(np.sort(rng.integers(0, 6 * 86400, n)), unit="s"),
                          "prediction": rng.normal(50, 10, n), "x": rng.normal(size=n)})
    frame["y"] = frame["prediction"] + rng.normal(0, 3, n)
    frame.to_csv(tmp_path / "log.csv", index=False)
    report = MonitoringReport(tmp_path / "log.csv", {"label": "y"})
    assert report.task == "regression" and not report.classifier
    frame["day"] = (pd.to_datetime(frame["timestamp"]) - pd.Timestamp("2020-03-01")).dt.days
    for day, rows in frame.groupby("day"):
        assert report.get("performance.rmse").values[day] == pytest.approx(
            np.sqrt(mean_squared_error(rows["y"], rows["prediction"])), rel=1e-12)
        assert report.get("performance.mae").values[day] == pytest.approx(
            mean_absolute_error(rows["y"], rows["prediction"]), rel=1e-12)
    assert checks_of(report)["monitoring.estimated.calibration"].status == "skip"


def test_estimated_performance_cis_cover_the_realized_value_at_their_nominal_rate():
    """Calibrated scores (labels drawn as Bernoulli(score)): 95% CIs of the estimated accuracy
    and ROC AUC cover the value the labels then show in about 95% of 400 chunks."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(12)
    covered = {"accuracy": 0, "roc_auc": 0}
    chunks, rows = 400, 1500
    for chunk in range(chunks):
        p = 1 / (1 + np.exp(-(rng.normal(-1.0, 1.3, rows))))
        y = (rng.random(rows) < p).astype(int)
        bins = np.minimum((p * 1000).astype(int), 999)
        counts, sums = np.bincount(bins, minlength=1000), np.bincount(bins, weights=p, minlength=1000)
        predicted = p >= 0.5
        confidence = np.where(predicted, p, 1 - p)
        _, low, high = estimated_accuracy(p[predicted].sum(), (1 - p[~predicted]).sum(), rows,
                                          float(np.sum(confidence * (1 - confidence))), 0.95)
        covered["accuracy"] += low <= np.mean(predicted == y) <= high
        _, low, high = estimated_auc(counts.astype(float), sums, 0.95, seed=chunk)
        covered["roc_auc"] += low <= roc_auc_score(y, p) <= high
    for name, count in covered.items():
        assert 0.92 <= count / chunks <= 0.98, (name, count / chunks)


def test_realized_metric_cis_cover_the_population_value_also_when_scaled_from_a_subsample():
    """Chunks of 10,000 labelled rows: the bootstrap runs on 1,000 of them and its spread is scaled
    by √(1000/10000); the 95% CIs still cover the population AUC and accuracy about 95% of the time
    (measured with 200 trials of 20,000 rows: 96% and 94%)."""
    from readiness.reports.monitoring.performance import eval_data, realized_metrics

    rng = np.random.default_rng(21)

    def draw(n):
        p = 1 / (1 + np.exp(-rng.normal(-1.0, 1.3, n)))
        return p, (rng.random(n) < p).astype(float)

    p, y = draw(1_000_000)
    population = realized_metrics(["roc_auc", "accuracy"], eval_data("binary", p, y, 0.5), len(y), 0.95, 50, 100, 0)
    covered = {"roc_auc": 0, "accuracy": 0}
    trials = 150
    for trial in range(trials):
        p, y = draw(10_000)
        result = realized_metrics(["roc_auc", "accuracy"], eval_data("binary", p, y, 0.5), len(y), 0.95, 200, 1000, trial)
        for name in covered:
            covered[name] += result[name].low <= population[name].value <= result[name].high
    for name, count in covered.items():
        assert 0.90 <= count / trials <= 0.99, (name, count / trials)


def test_estimate_is_flagged_untrusted_when_reference_scores_are_not_calibrated(tmp_path):
    log = simulate_log(days=20, rows_per_day=1000, seed=4)
    log["score"] = log["score"] ** 3  # monotone: same ranking, badly calibrated
    log.to_parquet(tmp_path / "log.parquet")
    checks = checks_of(MonitoringReport(tmp_path / "log.parquet", SETTINGS))
    assert checks["monitoring.estimated.calibration"].status == "warn"
    assert "not calibrated" in checks["monitoring.estimated.calibration"].message
    assert checks["monitoring.estimated.accuracy"].status == "skip"


def test_binned_auc_matches_scikit_learn_on_distinct_bins():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    bins = rng.integers(0, 40, 300)
    positives = np.bincount(bins, weights=y, minlength=40)
    negatives = np.bincount(bins, weights=1 - y, minlength=40)
    assert float(binned_auc(positives, negatives)) == pytest.approx(roc_auc_score(y, bins), abs=1e-12)


# ------------------------------------------------------------------ a useful report with less


def test_log_without_labels_still_judges_predictions_and_estimates_performance(tmp_path):
    log = simulate_log(days=20, rows_per_day=400, releases={15: ("v2", 100.0)}, seed=8).drop(columns="label")
    log.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": "score"})
    checks = checks_of(report)
    assert checks["monitoring.labels"].status == "skip"
    assert not any(k.startswith("monitoring.performance.") for k in checks)
    assert checks["monitoring.mean_prediction"].status == "fail"
    assert checks["monitoring.estimated.calibration"].status == "skip"  # nothing to check it against
    assert "monitoring.estimated.roc_auc" in checks


def test_log_without_version_column_names_the_chunk_only(tmp_path):
    log = simulate_log(days=20, rows_per_day=400, releases={12: ("v2", 100.0)}, seed=9).drop(columns="model_version")
    log.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", SETTINGS)
    assert report.columns.version is None
    assert re.match(r"^Mean prediction \d+(\.\d+)?× higher from 2017-01-13$", report.headline())
    assert checks_of(report)["monitoring.mean_prediction"].status == "fail"


def test_a_change_without_a_release_says_so(tmp_path):
    log = simulate_log(days=24, rows_per_day=400, seed=10)
    log.loc[log["timestamp"] >= "2017-01-17", "score"] *= 10
    log.to_parquet(tmp_path / "log.parquet")
    headline = MonitoringReport(tmp_path / "log.parquet", SETTINGS).headline()
    assert headline.endswith("with no change of model_version (v1 served before and after)")


def test_releases_from_a_release_history_name_the_change(tmp_path):
    log = simulate_log(days=20, rows_per_day=400, releases={12: ("v2", 100.0)}, seed=9).drop(columns="model_version")
    log.to_parquet(tmp_path / "log.parquet")
    history = [{"version": "2.0.0", "deployed_at": "2017-01-13T00:00:00Z", "previous": "1.4.2",
                "source": "the release history"}, {"version": "1.4.2", "deployed_at": "2016-12-01"}]
    report = MonitoringReport(tmp_path / "log.parquet", SETTINGS, releases=history)
    assert report.headline().endswith("from 2017-01-13, when the model version changed from 1.4.2 to 2.0.0 "
                                      "(per the release history)")


def test_a_log_ending_mid_day_is_not_an_outage_but_a_missing_day_is(tmp_path):
    log = simulate_log(days=21, rows_per_day=500, seed=12)
    log[log["timestamp"] < "2017-01-21 06:00"].to_parquet(tmp_path / "partial.parquet")
    report = MonitoringReport(tmp_path / "partial.parquet", {"prediction": "score"})
    check = checks_of(report)["monitoring.rows"]
    assert check.status == "pass" and "partial" in check.message and check.details["chunk"] == 19
    log[(log["timestamp"] < "2017-01-20") | (log["timestamp"] >= "2017-01-21")].to_parquet(tmp_path / "gap.parquet")
    check = checks_of(MonitoringReport(tmp_path / "gap.parquet", {"prediction": "score"}))["monitoring.rows"]
    assert check.status == "warn"  # a day without a single prediction, then rows again


def test_single_chunk_log_gives_a_useful_result(tmp_path):
    log = simulate_log(days=1, rows_per_day=3000, seed=1)
    log.to_csv(tmp_path / "log.csv", index=False)
    report = MonitoringReport(tmp_path / "log.csv", SETTINGS)
    document = report.finish(tmp_path / "monitoring_report.json")
    checks = {c["id"]: c for c in document["checks"]}
    assert report.n == 1
    assert "a single chunk" in checks["monitoring.chunks"]["message"]
    mean = checks["monitoring.mean_prediction"]
    assert mean["status"] == "pass" and "no band" in mean["message"]
    assert mean["value"] == pytest.approx(log["score"].mean())
    assert checks["monitoring.performance.roc_auc"]["value"] > 0.6
    assert document["status"] in ("pass", "warn")
    # one chunk, ten times the scores: only a reference with predictions can tell, and it does
    log.assign(score=log["score"] * 10).to_csv(tmp_path / "tenfold.csv", index=False)
    simulate_log(days=3, rows_per_day=3000, seed=2).to_parquet(tmp_path / "training.parquet")
    report = MonitoringReport(tmp_path / "tenfold.csv", SETTINGS, reference=tmp_path / "training.parquet")
    assert checks_of(report)["monitoring.mean_prediction"].status == "fail"


def test_row_chunks_and_no_timestamp(tmp_path):
    log = simulate_log(days=10, rows_per_day=1000, releases={6: ("v2", 100.0)}, seed=2).drop(columns="timestamp")
    log.to_parquet(tmp_path / "log.parquet")
    with pytest.raises(InputError, match="chunk by rows"):
        MonitoringReport(tmp_path / "log.parquet", SETTINGS)
    report = MonitoringReport(tmp_path / "log.parquet", {**SETTINGS, "chunk": "500rows"})
    assert report.n == 20 and report.get("rows") is None
    assert [c.index for c in report.get("mean_prediction").changepoints] == [12]
    assert report.headline().endswith("from row 6,000, when model_version changed from v1 to v2")


# ------------------------------------------------------------------ reading


def test_file_folder_glob_and_csv_read_alike(tmp_path, bug_log, bug_report):
    log = pd.concat(pd.read_parquet(p) for p in sorted(bug_log.glob("*.parquet")))
    log.to_parquet(tmp_path / "one.parquet")
    log.to_csv(tmp_path / "one.csv", index=False)
    reports = [MonitoringReport(tmp_path / "one.parquet", SETTINGS), MonitoringReport(tmp_path / "one.csv", SETTINGS),
               MonitoringReport(str(bug_log / "part-*.parquet"), SETTINGS)]
    for report in reports:
        for key in ("rows", "mean_prediction", "positive_rate", "performance.roc_auc", "estimated.accuracy"):
            np.testing.assert_allclose(report.get(key).values, bug_report.get(key).values, rtol=1e-9)
        assert report.headline() == bug_report.headline()


def test_rows_out_of_time_order_give_the_same_exact_series(tmp_path, bug_log, bug_report):
    log = pd.concat(pd.read_parquet(p) for p in sorted(bug_log.glob("*.parquet")))
    shuffled = log.sample(frac=1.0, random_state=0)
    write_log_parquet(shuffled, tmp_path / "shuffled", rows_per_file=7000, row_group_rows=2000)
    report = MonitoringReport(tmp_path / "shuffled", SETTINGS)
    assert not report.plan.ordered
    for key in ("rows", "mean_prediction", "positive_rate", "missing.f0", "estimated.accuracy"):
        np.testing.assert_allclose(report.get(key).values, bug_report.get(key).values, rtol=1e-9)
    assert [c.index for c in report.get("mean_prediction").changepoints] == [25]


def test_timestamps_in_other_units_and_zones_and_missing_ones(tmp_path, bug_log, bug_report):
    import pyarrow as pa
    import pyarrow.parquet as pq

    log = pd.concat(pd.read_parquet(p) for p in sorted(bug_log.glob("*.parquet"))).reset_index(drop=True)
    # the same instants in microseconds, written with a time zone three hours east of UTC
    moved = log.assign(timestamp=log["timestamp"].dt.tz_localize("UTC").dt.tz_convert("Etc/GMT-3").astype("datetime64[us, Etc/GMT-3]"))
    pq.write_table(pa.Table.from_pandas(moved, preserve_index=False), tmp_path / "zoned.parquet", row_group_size=3000)
    report = MonitoringReport(tmp_path / "zoned.parquet", SETTINGS)
    np.testing.assert_allclose(report.get("mean_prediction").values, bug_report.get("mean_prediction").values, rtol=1e-12)
    undated = log.copy()
    undated.loc[::100, "timestamp"] = pd.NaT
    undated.to_parquet(tmp_path / "undated.parquet")
    report = MonitoringReport(tmp_path / "undated.parquet", SETTINGS)
    assert report.plan.undated_rows == len(log[::100]) and report.acc.rows.sum() == len(log) - len(log[::100])
    assert "rows without a readable timestamp left out" in checks_of(report)["monitoring.chunks"].message


def test_labels_from_a_separate_file_joined_on_the_id(tmp_path, bug_log, bug_report):
    log = pd.concat(pd.read_parquet(p) for p in sorted(bug_log.glob("*.parquet"))).reset_index(drop=True)
    log["request_id"] = [f"r{i:06d}" for i in range(len(log))]
    labels = log.loc[log["label"].notna(), ["request_id", "label"]].sample(frac=1.0, random_state=1)
    log.drop(columns="label").to_parquet(tmp_path / "log.parquet")
    labels.to_csv(tmp_path / "labels.csv", index=False)
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": "score", "label": "label", "id": "request_id"},
                              labels=tmp_path / "labels.csv")
    np.testing.assert_allclose(report.get("performance.roc_auc").values, bug_report.get("performance.roc_auc").values,
                               rtol=1e-12)
    assert "request_id" not in report.columns.features
    labels.assign(request_id=range(len(labels))).to_csv(tmp_path / "numbered.csv", index=False)
    report = MonitoringReport(tmp_path / "log.parquet", {"prediction": "score", "label": "label", "id": "request_id"},
                              labels=tmp_path / "numbered.csv")
    check = checks_of(report)["monitoring.labels"]
    assert check.status == "warn" and "none of the" in check.message and "'r000000'" in check.message


def test_reference_profile_from_other_data(tmp_path, bug_log):
    from readiness.stats.profile import fit_reference, save_profile

    training = simulate_log(days=5, rows_per_day=2000, seed=20)
    training["f1"] += 1.0  # the log's f1 sits one standard deviation below the training data
    save_profile(fit_reference(training[["f0", "f1", "f2", "f3", "score"]]), tmp_path / "reference.json")
    training.to_parquet(tmp_path / "training.parquet")
    for reference in (tmp_path / "reference.json", tmp_path / "training.parquet"):
        report = MonitoringReport(bug_log, SETTINGS, reference=reference)
        drift_f1, drift_f0 = report.get("drift.f1").values, report.get("drift.f0").values
        assert np.nanmin(drift_f1) > 0.5 > np.nanmax(drift_f0)
        assert checks_of(report)["monitoring.drift.f1"].status == "warn"  # judged against the given reference
        assert checks_of(report)["monitoring.drift.f0"].status == "pass"
        assert "bins and baseline from" in checks_of(report)["monitoring.chunks"].message


def test_the_same_log_gives_the_same_report(tmp_path, bug_log, bug_report):
    bug_report.finish(tmp_path / "first.json")
    MonitoringReport(bug_log, SETTINGS).finish(tmp_path / "second.json")
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("first.json", "second.json"))
    assert first["checks"] == second["checks"]
    assert first["data"] == second["data"]


def test_bottom_k_sample_is_uniform_and_independent_of_batching():
    rng = np.random.default_rng(0)
    values = np.arange(100_000, dtype=float)
    keys = rng.random(values.size)
    whole, split = BottomK(1000), BottomK(1000)
    whole.add(0, keys, values)
    for part in np.array_split(np.arange(values.size), 37):
        split.add(0, keys[part], values[part])
    assert np.array_equal(np.sort(whole.values(0)[0]), np.sort(split.values(0)[0]))
    assert abs(whole.values(0)[0].mean() - values.mean()) < 3 * values.std() / np.sqrt(1000)


# ------------------------------------------------------------------ changepoint internals


def test_kernel_cpd_with_linear_kernel_equals_pelt_with_l2_cost():
    import ruptures

    rng = np.random.default_rng(3)
    for n in (15, 40, 90):
        signal = rng.normal(size=n) + np.where(np.arange(n) > n // 2, 2.0, 0.0)
        for pen in (3.0, 10.0, 25.0):
            fast = ruptures.KernelCPD(kernel="linear", min_size=2, jump=1).fit(signal).predict(pen=pen)
            slow = ruptures.Pelt(model="l2", min_size=2, jump=1).fit(signal).predict(pen=pen)
            assert [int(b) for b in fast] == slow


def test_the_compiled_pelt_kernel_loaded_alone_gives_kernel_cpds_breakpoints():
    import ruptures

    from readiness.reports.monitoring.changepoints import pelt_breakpoints

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(4, 120))
        signal = np.cumsum(rng.normal(size=n)) * rng.random() + rng.normal(size=n)
        pen = float(rng.uniform(0.5, 30))
        expected = ruptures.KernelCPD(kernel="linear", min_size=2, jump=1).fit(signal).predict(pen=pen)
        assert pelt_breakpoints(signal, pen) == [int(b) for b in expected]


def test_the_report_does_not_import_scipy_stats():
    """Importing ruptures' package (and scipy.stats with it) cost more CPU than a million rows."""
    code = ("import sys; from readiness.reports.monitoring.api import MonitoringReport, simulate_log; "
            "from readiness.reports.monitoring.simulate import write_log_parquet; import tempfile; "
            "d = tempfile.mkdtemp(); write_log_parquet(simulate_log(days=12, rows_per_day=100), d); "
            "MonitoringReport(d, {'prediction': 'score', 'label': 'label'}).sections(); "
            "print(sorted(m for m in ('scipy.stats', 'ruptures') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_noise_scale_ignores_a_level_shift_and_penalty_is_calibrated_per_length():
    rng = np.random.default_rng(0)
    series = rng.normal(0, 1, 200) + np.where(np.arange(200) >= 100, 50.0, 0.0)
    assert 0.8 < noise_scale(series) < 1.2
    assert penalty(10, 0.01) > penalty(10, 0.05) > penalty(10, 0.1)
    with pytest.raises(ValueError):
        penalty(10, 0.2)


def test_a_short_or_flat_series_has_no_changepoint():
    assert detect_changepoints([1.0, 2.0, 3.0]) == []
    assert detect_changepoints(np.ones(30)) == []
    assert [c.index for c in detect_changepoints(np.r_[np.ones(10), np.full(10, 2.0)])] == [10]


# ------------------------------------------------------------------ bad input: one line naming the file or key


def test_bad_input_is_one_clear_line(tmp_path, bug_log):
    good = simulate_log(days=3, rows_per_day=50)
    good.to_parquet(tmp_path / "log.parquet")
    with pytest.raises(InputError, match="no prediction column 'prediction'.*--prediction"):
        MonitoringReport(tmp_path / "log.parquet", {})
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty.csv: file is empty"):
        MonitoringReport(tmp_path / "empty.csv", SETTINGS)
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match="corrupt.parquet: not a readable Parquet file"):
        MonitoringReport(tmp_path / "corrupt.parquet", SETTINGS)
    numeric = good.assign(timestamp=np.arange(len(good)))
    numeric.to_parquet(tmp_path / "numeric.parquet")
    with pytest.raises(InputError, match="holds numbers, not timestamps"):
        MonitoringReport(tmp_path / "numeric.parquet", SETTINGS)
    good.assign(timestamp="yesterday").to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(InputError, match="not a timestamp"):
        MonitoringReport(tmp_path / "text.csv", SETTINGS)
    with pytest.raises(InputError, match="cut the log into 72 chunks.*coarser chunk"):
        MonitoringReport(tmp_path / "log.parquet", {**SETTINGS, "chunk": "1h", "max_chunks": 50})
    with pytest.raises(InputError, match="pattern matches no file"):
        MonitoringReport(str(tmp_path / "nothing-*.parquet"), SETTINGS)
    good.assign(label=good["label"].fillna(0) * 3).to_parquet(tmp_path / "labels3.parquet")
    with pytest.raises(InputError, match="labels 0/1"):
        MonitoringReport(tmp_path / "labels3.parquet", {**SETTINGS, "task": "binary"})
    with pytest.raises(ConfigError, match="monitoring.chunk: chunk '1 fortnight'"):
        MonitoringReport(tmp_path / "log.parquet", {**SETTINGS, "chunk": "1 fortnight"})
    with pytest.raises(ConfigError, match="monitoring.chunks: unknown key"):
        MonitoringReport(tmp_path / "log.parquet", {**SETTINGS, "chunks": "1d"})
    with pytest.raises(InputError, match="no version column 'release'"):
        MonitoringReport(tmp_path / "log.parquet", {**SETTINGS, "version": "release"})


def test_hostile_names_and_versions_are_escaped(tmp_path):
    hostile = "<script>alert(1)</script> $x$"
    log = simulate_log(days=14, rows_per_day=300, releases={10: ("<img src=x onerror=alert(1)> $v2$", 100.0)}, seed=6)
    log = log.rename(columns={"f0": hostile})
    log.to_parquet(tmp_path / "log.parquet")
    report = MonitoringReport(tmp_path / "log.parquet", SETTINGS)
    sections = report.sections()
    html = "".join(section._repr_html_() for section in sections)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert_json_carries_the_html_tables(html, {"sections": [section.to_dict() for section in sections]})
    assert any(hostile in row[0] for s in sections if s.name == "features" for row in s.to_dict()["tables"][0]["rows"])
    for section in sections:
        figure = report.figure(section)
        if figure is not None:
            assert figure._repr_png_().startswith(b"\x89PNG")  # "$x$" drawn as text, not mathtext
    assert "changed from v1 to <img src=x onerror=alert(1)> $v2$" in report.headline()


def test_results_json_follows_the_schema_and_carries_the_series(tmp_path, bug_report):
    document = bug_report.finish(tmp_path / "monitoring_report.json", bug_report.sections())
    written = json.loads((tmp_path / "monitoring_report.json").read_text())
    assert written["schema"] == "readiness/1" and written["report"] == "monitoring_report"
    assert written["status"] == "fail" == document["status"]
    assert all(c["id"].startswith("monitoring.") for c in written["checks"])
    assert len({c["id"] for c in written["checks"]}) == len(written["checks"])
    data = written["data"]
    assert SENTENCE.match(data["headline"])
    assert len(data["chunks"]["labels"]) == 40 and data["chunks"]["reference"] == bug_report.k
    mean = next(s for s in data["series"] if s["key"] == "mean_prediction")
    assert mean["changepoints"][0]["index"] == 25 and len(mean["values"]) == 40
    assert data["versions"]["releases"] == [{"version": "v2", "previous": "v1", "chunk": 25, "share": 1.0,
                                             "source": "version column"}]
    assert_sections_carry_the_report(written)
    sections = {s["name"]: s for s in written["sections"]}
    assert list(sections) == ["overview", "predictions", "features", "performance", "estimation", "changes"]
    chunks = sections["overview"]["tables"][0]
    assert chunks["name"] == "chunks" and len(chunks["rows"]) == 40
    first = dict(zip(chunks["columns"], chunks["rows"][0]))
    assert first == {"chunk": "2017-01-01", "rows": 500, "version": "v1", "labelled": 1.0, "reference": True}
    assert "mean_prediction" in sections["predictions"]["series"]  # the series its figure draws, in data.series
    changes = sections["changes"]["tables"][0]
    assert any(row[0] == "2017-01-26" and row[1] == "Mean prediction" for row in changes["rows"])


@pytest.mark.notebooks
def test_notebook_runs_on_the_simulated_log(tmp_path):
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "monitoring_report.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    assert [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
    from readiness.run.notebook import execute_report

    outcome = execute_report("monitoring_report", {}, tmp_path, timeout_s=300)  # executed and rendered as `run` does
    document = json.loads((tmp_path / "monitoring_report.json").read_text())
    assert outcome.usage_error is None and document["status"] == "fail", document.get("error")
    assert document["data"]["headline"].startswith("Mean prediction 100× higher from 2017-02-10")
    html = (tmp_path / "monitoring_report.html").read_text()
    assert_json_carries_the_html_tables(html, document)
    assert "Mean prediction 100× higher from 2017-02-10" in html and "data:image/png;base64" in html
