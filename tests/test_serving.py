"""PredictionLogger and log_labels: what serving records, under failure and concurrency,
and the monitoring report reading it back."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

import readiness
from readiness.exceptions import InputError, UsageError
from readiness.serving import ParquetSink, PredictionLogger, SQLSink, log_labels

from postgres_server import new_database

DAY = 86_400_000_000_000
START = pd.Timestamp("2026-01-01", tz="UTC").value


def _data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 90, n).astype(float),
                      "ssn": rng.integers(10**8, 10**9, n)})
    y = ((X.income - 50) / 10 + rng.normal(0, 1, n) > 0).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def model():
    X, y = _data(2000)
    return LogisticRegression().fit(X[["income", "age"]], y)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if "_labels" not in p.parts)


def _read(folder: Path) -> pd.DataFrame:
    return pd.concat([pq.read_table(p).to_pandas() for p in _files(folder)], ignore_index=True)


class RaisingSink:
    def __init__(self):
        self.fail, self.frames = True, []

    def write(self, frame):
        if self.fail:
            raise OSError("disk full")
        self.frames.append(frame)


def test_predictions_are_the_models_and_every_row_is_logged(tmp_path, model):
    X, _ = _data(500, seed=1)
    served = PredictionLogger(model, tmp_path / "log", model_version="v7", features=["income", "age"])
    ids = [f"req-{i}" for i in range(500)]
    assert np.array_equal(served.predict_proba(X[["income", "age"]], request_ids=ids),
                          model.predict_proba(X[["income", "age"]]))
    assert np.array_equal(served.predict(X[["income", "age"]].iloc[:3]), model.predict(X[["income", "age"]].iloc[:3]))
    assert list(served.classes_) == [0, 1]  # other attributes pass through to the model
    stats = served.close()
    assert (stats.rows_logged, stats.errors, stats.rows_buffered) == (503, 0, 0)
    logged = _read(tmp_path / "log")
    assert set(logged.columns) >= {"timestamp", "model_version", "method", "request_id", "prediction", "income", "age"}
    proba = logged[logged.method == "predict_proba"].sort_values("request_id", key=lambda s: s.str[4:].astype(int))
    assert np.allclose(proba.prediction, model.predict_proba(X[["income", "age"]])[:, 1])
    assert proba.request_id.tolist() == ids and (logged.model_version == "v7").all()
    assert str(logged.timestamp.dt.tz) == "UTC"


def test_version_defaults_to_the_manifest_sha256(tmp_path, model):
    path = tmp_path / "churn.skops"
    readiness.save_model(model, path)
    manifest = readiness.artifacts.manifest.read_manifest(path)
    with PredictionLogger(model, tmp_path / "log", artifact=path) as served:
        served.predict(np.array([[50.0, 30.0]]))
    assert _read(tmp_path / "log").model_version.tolist() == [manifest["sha256"]]
    with pytest.raises(InputError, match="artifact not found"):
        PredictionLogger(model, tmp_path / "log", artifact=tmp_path / "missing.skops")


def test_columns_that_must_not_be_stored_are_not(tmp_path):
    X, y = _data(300)
    full = LogisticRegression().fit(X, y)
    with PredictionLogger(full, tmp_path / "all", exclude=["ssn"]) as served:
        served.predict(X)
    with PredictionLogger(full, tmp_path / "none", features=False) as served:
        served.predict(X.to_numpy())
    assert "ssn" not in _read(tmp_path / "all").columns and {"income", "age"} <= set(_read(tmp_path / "all").columns)
    assert set(_read(tmp_path / "none").columns) == {"timestamp", "method", "prediction"}
    for path in (tmp_path / "all").rglob("*.parquet"):  # not even in the file's bytes
        assert b"ssn" not in path.read_bytes()


def test_sampling_logs_the_share_asked_for(tmp_path, model):
    X, _ = _data(20_000, seed=2)
    with PredictionLogger(model, tmp_path / "log", sample=0.1, features=["income"], seed=3) as served:
        for part in np.array_split(X[["income", "age"]], 40):
            served.predict(part)
    stats = served.stats
    assert stats.rows_seen == 20_000 and stats.rows_logged + stats.rows_sampled_out == 20_000
    assert abs(stats.rows_logged - 2000) < 4.5 * np.sqrt(20_000 * 0.1 * 0.9)  # binomial: 4.5 sd
    assert len(_read(tmp_path / "log")) == stats.rows_logged
    with pytest.raises(UsageError, match="share of rows"):
        PredictionLogger(model, tmp_path / "x", sample=0)


def test_a_raising_sink_never_breaks_predict_and_memory_stays_bounded(model, caplog):
    X, _ = _data(100, seed=4)
    sink = RaisingSink()
    served = PredictionLogger(model, sink, flush_rows=100, max_buffer_rows=1000, flush_seconds=0.05)
    expected = model.predict(X[["income", "age"]])
    with caplog.at_level("WARNING", logger="readiness.serving"):
        for _ in range(30):
            assert np.array_equal(served.predict(X[["income", "age"]]), expected)
            assert served.flush() == 0
    stats = served.stats
    assert stats.errors >= 30 and "disk full" in stats.last_error
    assert stats.rows_buffered <= 1000 and stats.rows_dropped == 3000 - stats.rows_buffered
    # said once per kind, not once per failure
    assert sum("sink error" in r.getMessage() for r in caplog.records) == 1
    sink.fail = False  # the sink recovers: what the buffer kept is written
    served.close()
    assert sum(len(f) for f in sink.frames) == served.stats.rows_logged == 1000


def test_a_bad_call_is_counted_not_raised(tmp_path, model):
    X, _ = _data(10, seed=5)
    with PredictionLogger(model, tmp_path / "log") as served:
        out = served.predict(X[["income", "age"]], request_ids=["only-one"])
    assert len(out) == 10 and served.stats.errors == 1 and "10 predictions" in served.stats.last_error
    with pytest.raises(UsageError, match="no predict"):
        PredictionLogger(object(), tmp_path / "log")


def test_threads_calling_predict_at_once_lose_no_row(tmp_path, model):
    X, _ = _data(50, seed=6)
    served = PredictionLogger(model, tmp_path / "log", flush_rows=500, flush_seconds=0.01)

    def serve(k):
        for i in range(40):
            served.predict(X[["income", "age"]], request_ids=[f"t{k}-{i}-{j}" for j in range(50)])

    threads = [threading.Thread(target=serve, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    served.close()
    logged = _read(tmp_path / "log")
    assert len(logged) == 8 * 40 * 50 == logged.request_id.nunique() and served.stats.errors == 0


_WRITER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd
    from sklearn.dummy import DummyClassifier
    from readiness.serving import PredictionLogger
    sink, k, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    model = DummyClassifier(strategy="prior").fit(np.zeros((4, 2)), [0, 1, 1, 0])
    served = PredictionLogger(model, sink, flush_rows=300, flush_seconds=0.05, model_version="v1")
    rng = np.random.default_rng(k)
    for i in range(calls):
        n = int(rng.integers(1, 60))
        served.predict_proba(pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)}),
                             request_ids=[f"p{k}-{i}-{j}" for j in range(n)])
    stats = served.close()
    assert stats.errors == 0, stats.last_error
    print(stats.rows_logged)
""")


def _four_writers(sink: str, calls: int = 60) -> int:
    processes = [subprocess.Popen([sys.executable, "-c", _WRITER, sink, str(k), str(calls)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for k in range(4)]
    total = 0
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-800:]
        total += int(out.split()[-1])
    return total


def test_four_processes_logging_to_one_folder_lose_no_row(tmp_path):
    folder = tmp_path / "log"
    total = _four_writers(str(folder))
    files = _files(folder)
    assert len(files) > 4  # several flushes per process, all side by side
    logged = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)  # every file readable
    assert len(logged) == total == logged.request_id.nunique()
    assert not list(folder.rglob(".*"))  # no half-written file left behind


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_processes_logging_to_one_table_lose_no_row(tmp_path, backend):
    url = f"sqlite:///{tmp_path / 'log.sqlite'}" if backend == "sqlite" else new_database()
    total = _four_writers(url, calls=40)
    logged = SQLSink(url).read()
    assert len(logged) == total == logged.request_id.nunique()
    log_labels(url, logged.request_id[:10], np.ones(10))
    assert len(SQLSink(url).read(labels=True)) == 10


def test_sql_sink_adds_a_column_a_later_batch_brings(tmp_path):
    sink = SQLSink(f"sqlite:///{tmp_path / 'log.sqlite'}")
    sink.write(pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-01"]), "prediction": [0.1]}))
    sink.write(pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-02"]), "prediction": [0.2], "tenure": [3.0]}))
    logged = sink.read()
    assert len(logged) == 2 and logged.tenure.isna().tolist() == [True, False]
    with pytest.raises(InputError, match="letters, digits"):
        SQLSink(f"sqlite:///{tmp_path / 'log.sqlite'}", table="x; drop table y")


def test_log_labels_checks_its_input(tmp_path):
    with pytest.raises(InputError, match="one label per id"):
        log_labels(tmp_path / "log", ["a", "b"], [1])
    assert log_labels(tmp_path / "log", [], []) == 0
    assert log_labels(tmp_path / "log", ["a"], [1]) == 1
    assert ParquetSink(tmp_path / "log").read_labels().request_id.tolist() == ["a"]
    with pytest.raises(InputError, match="keeps no labels"):
        log_labels(RaisingSink(), ["a"], [1])


def _planted_log(folder: Path | str, model, with_version: bool = True) -> tuple[list[str], list[int]]:
    """60 days served by v1, then v2 whose scores are ten times v1's (capped at 1)."""
    class Broken:
        classes_ = model.classes_

        def predict_proba(self, X):
            p = model.predict_proba(X)[:, 1]
            p = np.minimum(p * 10, 1.0)
            return np.column_stack([1 - p, p])

        predict = model.predict

    day = [0]
    clock = lambda: START + day[0] * DAY + 3_600_000_000_000  # noqa: E731
    ids, labels = [], []
    for version, served_model, days in (("v1", model, range(0, 40)), ("v2", Broken(), range(40, 60))):
        with PredictionLogger(served_model, folder, model_version=version if with_version else None,
                              clock=clock) as served:
            for d in days:
                day[0] = d
                X, y = _data(400, seed=100 + d)
                batch = [f"{d}-{i}" for i in range(400)]
                served.predict_proba(X[["income", "age"]], request_ids=batch)
                ids += batch
                labels += y.tolist()
    return ids, labels


def _sink_of(backend: str, tmp_path: Path) -> str:
    if backend == "folder":
        return str(tmp_path / "log")
    return f"sqlite:///{tmp_path / 'log.sqlite'}" if backend == "sqlite" else new_database()


@pytest.mark.parametrize("backend", ["folder", "sqlite", "postgresql"])
def test_monitoring_report_reads_what_the_logger_wrote_labels_joined(tmp_path, model, backend):
    from readiness.reports.monitoring.api import MonitoringReport

    sink = _sink_of(backend, tmp_path)
    ids, labels = _planted_log(sink, model)
    log_labels(sink, ids[: 400 * 50], labels[: 400 * 50])  # labels arrive for the first 50 days
    report = MonitoringReport(sink, {"chunk": "1d"})
    assert report.columns.version == "model_version" and report.columns.id == "request_id"
    assert sorted(report.columns.features) == ["age", "income"]  # no bookkeeping column watched as a feature
    assert len(report.labels) == 400 * 50
    series = {s.key: s for s in report.series}
    realized = series["performance.roc_auc"].values
    assert np.isfinite(realized[:50]).all() and np.isnan(realized[50:]).all()
    mean = series["mean_prediction"].values
    assert mean[45] > 1.5 * mean[10]
    assert "model_version changed from v1 to v2" in report.headline(), report.headline()


def test_without_a_version_column_the_release_history_names_the_change(tmp_path, model):
    from readiness.config import parse_config
    from readiness.history import HistoryStore
    from readiness.reports.monitoring import history_releases
    from readiness.reports.monitoring.api import MonitoringReport

    folder = tmp_path / "log"
    _planted_log(folder, model, with_version=False)
    config = parse_config({"predictions": "log", "model": "churn.skops"}, base_dir=tmp_path)
    assert history_releases(config) == []  # no history file yet: no names, no error
    with HistoryStore(config.history.store) as store:
        store.record_deployment("a" * 64, "churn", "2026-01-01T00:00:00Z")
        store.record_deployment("b" * 64, "churn", "2026-02-10T00:00:00Z")
        store.record_deployment("c" * 64, "other-model", "2026-01-20T00:00:00Z")
    releases = history_releases(config)
    assert [(r["version"], r["previous"]) for r in releases] == [("a" * 12, None), ("b" * 12, "a" * 12)]
    report = MonitoringReport(folder, {"chunk": "1d"}, releases=releases)
    assert report.columns.version is None
    lead = report.headline()
    assert f"from {'a' * 12} to {'b' * 12}" in lead and "release history" in lead, lead
    versioned = parse_config({"predictions": "log", "model": "churn.skops", "monitoring": {"version": "model_version"}},
                             base_dir=tmp_path)
    assert history_releases(versioned) == []  # a log that names its versions names them itself


def test_the_log_reader_skips_labels_and_half_written_files(tmp_path):
    from readiness.reports.monitoring.log import resolve_log

    folder = tmp_path / "log"
    ParquetSink(folder).write(pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-01"], utc=True), "prediction": [0.1]}))
    log_labels(folder, ["a"], [1])
    (folder / "date=2026-01-01" / ".part-x.parquet.tmp").write_bytes(b"PAR1 half")
    assert [p.parent.name for p in resolve_log(folder).files] == ["date=2026-01-01"]


def test_a_database_log_is_read_in_batches_in_timestamp_order_and_named_without_its_password(tmp_path, model):
    from readiness.reports.monitoring.log import log_columns, log_pieces, read_piece, resolve_log

    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    day = [3]
    with PredictionLogger(model, url, model_version="v1", clock=lambda: START + day[0] * DAY) as served:
        for d in (3, 1, 2):  # written out of order
            day[0] = d
            served.predict_proba(_data(50, seed=d)[0][["income", "age"]], request_ids=[f"{d}-{i}" for i in range(50)])
    source = resolve_log(url, order_by="timestamp")
    assert source.format == "sql" and source.table == "predictions" and source.files == ()
    assert {"timestamp", "model_version", "request_id", "prediction", "income", "age"} <= set(log_columns(source))
    batches = list(read_piece(source, log_pieces(source)[0], ["timestamp", "income", "no_such_column"], 40))
    assert [len(b) for b in batches] == [40, 40, 40, 30]  # streamed, never the whole table at once
    stamps = pd.to_datetime(pd.concat([b.timestamp for b in batches]), utc=True)
    assert stamps.is_monotonic_increasing and batches[0].no_such_column.isna().all()
    with pytest.raises(InputError, match=r"no table 'served' in this database.*#table_name"):
        resolve_log(url + "#served")
    with pytest.raises(InputError, match="typo.sqlite: file not found"):
        resolve_log(f"sqlite:///{tmp_path / 'typo.sqlite'}")
    assert not (tmp_path / "typo.sqlite").exists()  # reading never creates a database
    hidden = "postgresql+psycopg://reader:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(InputError) as refused:
        resolve_log(hidden, "predictions")
    assert "s3cret" not in str(refused.value) and "predictions" in str(refused.value)


def test_monitoring_config_keeps_a_database_url_and_spark_refuses_it(tmp_path, model):
    from readiness.config import parse_config
    from readiness.exceptions import ConfigError
    from readiness.reports.monitoring.api import MonitoringReport

    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    assert parse_config({"predictions": url}, base_dir=tmp_path).predictions == url  # not made a path
    relative = parse_config({"predictions": "sqlite:///log.sqlite#served"}, base_dir=tmp_path).predictions
    assert relative == f"sqlite:///{tmp_path / 'log.sqlite'}#served"  # the kernel runs elsewhere
    with PredictionLogger(model, url, model_version="v1", clock=lambda: START) as served:
        served.predict_proba(_data(20, seed=0)[0][["income", "age"]])
    with pytest.raises(ConfigError, match="database table"):
        MonitoringReport(url, {"chunk": "1d", "engine": "spark"})


@pytest.mark.notebooks
def test_readiness_monitor_reads_the_loggers_table_by_a_relative_sqlite_url(tmp_path, model):
    import json

    ids, labels = _planted_log(f"sqlite:///{tmp_path / 'log.sqlite'}", model)
    log_labels(f"sqlite:///{tmp_path / 'log.sqlite'}", ids, labels)
    done = subprocess.run([sys.executable, "-m", "readiness.cli", "monitor", "sqlite:///log.sqlite", "--chunk", "1d",
                           "--out", "out", "--no-history"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # v2's scores are ten times v1's
    results = json.loads((tmp_path / "out" / "monitoring_report.json").read_text())
    assert results["inputs"]["log"]["path"] == f"sqlite:///{tmp_path / 'log.sqlite'}"
    assert results["inputs"]["log"]["rows"] == len(ids)
    realized = next(s for s in results["data"]["series"] if s["key"] == "performance.roc_auc")
    assert sum(v is not None for v in realized["values"]) == 60  # the labels table joined, every day
    assert "model_version changed from v1 to v2" in results["data"]["headline"]


def test_a_multiclass_models_log_is_monitored_without_naming_its_probability_columns(tmp_path):
    from sklearn.datasets import load_iris

    from readiness.reports.monitoring.api import MonitoringReport

    iris = load_iris(as_frame=True)
    X, y = iris.data, iris.target_names[iris.target]
    model = LogisticRegression(max_iter=500).fit(X, y)
    day, ids, labels = [0], [], []
    rng = np.random.default_rng(3)
    with PredictionLogger(model, tmp_path / "log", model_version="v1", clock=lambda: START + day[0] * DAY) as served:
        for d in range(12):
            day[0] = d
            rows = rng.integers(0, len(X), 60)
            batch = [f"{d}-{i}" for i in range(60)]
            served.predict_proba(X.iloc[rows], request_ids=batch)
            ids += batch
            labels += y[rows].tolist()
    log_labels(tmp_path / "log", ids, labels)  # labels as class names, as they arrive
    report = MonitoringReport(tmp_path / "log", {"chunk": "1d"})
    assert report.task == "multiclass"
    assert report.columns.classes == ["setosa", "versicolor", "virginica"]
    assert "prediction" not in report.columns.features and sorted(report.columns.features) == sorted(X.columns)
    accuracy = next(s for s in report.series if s.key.startswith("performance.")).values
    assert np.isfinite(accuracy).all() and accuracy.min() > 0.8  # labels joined and mapped to the classes


_EXITS_WITHOUT_CLOSE = textwrap.dedent("""
    import sys, numpy as np, pandas as pd
    from sklearn.dummy import DummyClassifier
    from readiness.serving import PredictionLogger
    model = DummyClassifier(strategy="prior").fit(np.zeros((4, 20)), [0, 1, 1, 0])
    served = PredictionLogger(model, sys.argv[1], model_version="v1", flush_rows=100_000, flush_seconds=1e6,
                              encoder=sys.argv[2])
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(10_000, 20)), columns=[f"f{i}" for i in range(20)])
    for i in range(3):
        served.predict_proba(X, request_ids=np.arange(i * 10_000, (i + 1) * 10_000))
    # the service exits without close(): what is buffered is written at exit
""")


@pytest.mark.parametrize("encoder", ["thread", "process"])
def test_a_service_that_exits_without_closing_loses_no_row(tmp_path, encoder):
    # 10,000 rows x 20 columns: large enough that pyarrow would convert on a thread pool, which
    # refuses work while the interpreter exits (every row was lost that way before)
    done = subprocess.run([sys.executable, "-c", _EXITS_WITHOUT_CLOSE, str(tmp_path / "log"), encoder],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "sink error" not in done.stderr, done.stderr[-1000:]
    logged = _read(tmp_path / "log")
    assert len(logged) == 30_000 == logged.request_id.nunique()


@pytest.mark.parametrize("change", ["assign", "iloc", "column"])
def test_the_logged_features_are_what_predict_saw_when_the_caller_reuses_its_frame(tmp_path, model, change):
    X = _data(5, seed=11)[0][["income", "age"]].copy()
    before = X.copy()
    with PredictionLogger(model, tmp_path / "log", model_version="v1", flush_seconds=60) as served:
        served.predict_proba(X)
        if change == "assign":  # the caller refills its frame for the next request
            X["income"] = -1.0
        elif change == "iloc":
            X.iloc[0, 0] = 1e9
        else:
            X["age"] += 100
        served.predict_proba(X)
    logged = _read(tmp_path / "log")
    np.testing.assert_array_equal(logged.income[:5], before.income)
    np.testing.assert_array_equal(logged.age[:5], before.age)
    np.testing.assert_array_equal(logged.income[5:], X.income)


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
def test_a_batch_spanning_days_goes_to_one_file_per_day_whatever_the_time_unit(tmp_path, unit):
    stamps = pd.to_datetime(["2026-01-01T23:59:59", "2026-01-02T00:00:00", "2026-01-02T12:00:00"], utc=True)
    frame = pd.DataFrame({"timestamp": stamps.as_unit(unit), "prediction": [0.1, 0.2, 0.3]})
    written = ParquetSink(tmp_path / "log").write(frame)
    assert [p.parent.name for p in written] == ["date=2026-01-01", "date=2026-01-02"]
    assert [len(pq.read_table(p)) for p in written] == [1, 2]


def test_the_encoder_process_writes_what_the_thread_would(tmp_path, model):
    X, _ = _data(300, seed=5)
    for encoder in ("thread", "process"):
        with PredictionLogger(model, tmp_path / encoder, model_version="v1", encoder=encoder, flush_rows=100,
                              clock=lambda: START) as served:
            for i in range(3):
                served.predict_proba(X.iloc[i * 100:(i + 1) * 100][["income", "age"]],
                                     request_ids=[f"r{i}-{j}" for j in range(100)])
        assert served.stats.errors == 0 and served.stats.rows_logged == 300
    by_thread, by_process = (_read(tmp_path / e).sort_values("request_id", ignore_index=True) for e in ("thread", "process"))
    pd.testing.assert_frame_equal(by_thread, by_process)
    with pytest.raises(UsageError, match="folder or a database URL"):
        PredictionLogger(model, RaisingSink(), encoder="process")
    with pytest.raises(UsageError, match="'thread' or 'process'"):
        PredictionLogger(model, tmp_path / "x", encoder="fork")


def test_an_encoder_process_that_fails_or_dies_never_breaks_predict(tmp_path, model):
    X = _data(50, seed=6)[0][["income", "age"]]
    broken = f"sqlite:///{tmp_path / 'no-such-folder' / 'log.sqlite'}"  # the encoder cannot open it
    with PredictionLogger(model, broken, model_version="v1", encoder="process", flush_rows=50) as served:
        assert served.predict_proba(X).shape == (50, 2)
        served.flush()
    assert served.stats.errors >= 1 and "OperationalError" in served.stats.last_error
    with PredictionLogger(model, tmp_path / "log", model_version="v1", encoder="process", flush_rows=100_000,
                          flush_seconds=60) as served:
        served.predict_proba(X, request_ids=[f"a{i}" for i in range(50)])
        assert served.flush() == 50
        served._encoder.process.kill()  # killed between flushes: started again by the next one
        served._encoder.process.wait()
        served.predict_proba(X, request_ids=[f"b{i}" for i in range(50)])
    assert served.stats.rows_logged == 100 and served.stats.errors == 0
    assert sorted(_read(tmp_path / "log").request_id) == sorted([f"a{i}" for i in range(50)] + [f"b{i}" for i in range(50)])
