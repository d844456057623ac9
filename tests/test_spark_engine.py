"""Profiles on Spark equal the pandas path's profiles on the same rows (a real local[2] session)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from readiness.engines import spark as spark_engine
from readiness.data import read_table
from readiness.reports.drift.report import DriftReport
from readiness.stats.drift_scores import column_scores
from readiness.exceptions import InputError
from readiness.stats.profile import ColumnProfile, fit_reference, load_profile, profile_frame

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")]


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[test]' installs it)")
    if not (shutil.which("java") or __import__("os").environ.get("JAVA_HOME")):
        pytest.skip("no Java runtime: .ci/run installs Debian's default-jre-headless")
    # one session for the module; no web UI and two shuffle partitions (the data is small)
    session = spark_engine.spark_session("local[2]", {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


def varied(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """NaN and ±inf, nullable integers, text with nulls, booleans with and without nulls,
    datetimes (naive and UTC), timestamps written as text, a row number and a text id (both
    skipped), an all-missing column, counts, a long-tailed category with rare and once-seen
    labels; ``shift`` moves the numbers and the times and brings a new category."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, np.nan]
    small = pd.array(rng.integers(0, 5, n), dtype="Int64")
    small[rng.random(n) < 0.1] = pd.NA
    text = rng.choice(["a", "b", "c", "d"] + (["new"] if shift else []), n).astype(object)
    text[rng.random(n) < 0.03] = None
    maybe = pd.Series(rng.random(n) < 0.5, dtype=object)
    maybe[rng.random(n) < 0.1] = None
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n) + int(shift * 1e5), unit="s")
    stamped = pd.Series((pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 10**7, n) + int(shift * 1e6),
                                                                     unit="s")).strftime("%Y-%m-%d %H:%M:%S"), dtype=object)
    stamped[rng.random(n) < 0.02] = None
    zoned = (pd.Timestamp("2024-03-01", tz="UTC")
             + pd.to_timedelta(rng.integers(0, 10**6, n) + int(shift * 1e5), unit="s"))
    weights = 1 / np.arange(1, 301) ** 1.6
    city = np.array([f"city{i}" for i in range(300)], dtype=object)[rng.choice(300, n, p=weights / weights.sum())]
    return pd.DataFrame({"x": x, "small": small, "text": text, "flag": rng.random(n) < 0.3, "maybe": maybe,
                         "when": when, "amount": rng.exponential(3, n) * 1000 + shift * 500,
                         "ident": [f"id{i}_{seed}" for i in range(n)], "empty": np.full(n, np.nan),
                         "visits": rng.poisson(30, n), "row": np.arange(n) + seed * 100_000, "stamped": stamped,
                         "zoned": zoned, "city": city})


def write_parts(frame: pd.DataFrame, folder, parts: int = 3):
    """The frame as ``parts`` Parquet files of a folder (file order = row order)."""
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def assert_same(expected: dict[str, ColumnProfile], actual: dict[str, ColumnProfile]) -> None:
    """Every field equal; floats to 1e-9 (relative), NaN equal to NaN."""
    assert list(expected) == list(actual)
    for name, want in expected.items():
        got = actual[name]
        for field in want.__dataclass_fields__:
            a, b = getattr(want, field), getattr(got, field)
            if isinstance(a, float) and isinstance(b, float):
                assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(a)), (name, field, a, b)
            else:
                assert a == b, (name, field, str(a)[:200], str(b)[:200])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark")
    reference, current = varied(6_000, 0), varied(5_000, 1, shift=0.5)
    reference.to_parquet(root / "reference.parquet", index=False)
    current.to_parquet(root / "current.parquet", index=False)
    return {"root": root, "reference": reference, "current": current,
            "reference_parts": write_parts(reference, root / "reference_parts"),
            "current_parts": write_parts(current, root / "current_parts")}


def test_fitted_reference_equals_pandas_fit_exactly(spark, data):
    expected = fit_reference(read_table(data["root"] / "reference.parquet", "reference", text_as_categories=True))
    frame = spark_engine.read_data(spark, str(data["reference_parts"]), "reference")
    assert frame.rdd.getNumPartitions() >= 2
    actual, info = spark_engine.fit_reference_spark(frame, details=True)
    assert_same(expected, actual)
    assert info["rows"] == 6_000 and info["edge_rank_error"] == 0.0
    kinds = {name: p.kind for name, p in actual.items()}
    assert kinds == {"x": "numeric", "small": "categorical", "text": "categorical", "flag": "boolean",
                     "maybe": "categorical", "when": "datetime", "amount": "numeric", "ident": "skipped",
                     "empty": "categorical", "visits": "numeric", "row": "skipped", "stamped": "datetime",
                     "zoned": "datetime", "city": "categorical"}
    assert actual["x"].missing == int(data["reference"]["x"].isna().sum()) + 2  # NaN and ±inf
    city = data["reference"]["city"].value_counts()
    assert actual["city"].singletons == int((city == 1).sum()) > 0 and len(actual["city"].rare) == len(city) - 50
    assert actual["stamped"].missing == int(data["reference"]["stamped"].isna().sum()) > 0
    assert actual["stamped"].ref_minimum == pd.Timestamp(data["reference"]["stamped"].min()).value
    assert actual["zoned"].ref_maximum == data["reference"]["zoned"].max().value
    assert "row number" in actual["row"].reason and "timestamps" in actual["stamped"].reason


def as_files_without_pandas_metadata(frame: pd.DataFrame, folder):
    """The frame as a CSV file and as Parquet written without pandas' metadata (as Spark and
    most lake tools write it): pandas reads integers with nulls as floats from both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    frame.to_csv(folder / "data.csv", index=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None),
                   folder / "data.parquet", row_group_size=1_000)
    return folder / "data.csv", folder / "data.parquet"


def test_csv_and_parquet_without_pandas_metadata_profile_as_pandas_reads_them(spark, tmp_path):
    """Integers with a few nulls (floats to pandas, in every chunk), small integers without nulls
    (int64 from CSV, where Spark infers 32 bits), booleans with nulls and nullable booleans,
    text and timestamps in text (which Spark would parse from CSV, pandas does not)."""
    rng = np.random.default_rng(11)
    n = 4_000
    level = pd.array(rng.integers(0, 5, n), dtype="Int64")
    level[rng.random(n) < 0.01] = pd.NA
    answered = pd.array(rng.random(n) < 0.4, dtype="boolean")
    answered[rng.random(n) < 0.05] = pd.NA
    stamps = pd.Timestamp("2024-05-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    frame = pd.DataFrame({"level": level, "grade": rng.integers(0, 4, n), "count": rng.integers(0, 1_000, n),
                          "answered": answered, "share": rng.random(n), "colour": rng.choice(["red", "blue"], n),
                          "at": stamps.strftime("%Y-%m-%d %H:%M:%S"), "day": stamps.strftime("%Y-%m-%d")})
    csv, parquet = as_files_without_pandas_metadata(frame, tmp_path / "files")
    for path in (csv, parquet):
        expected = fit_reference(read_table(path, "reference", text_as_categories=True))
        assert (expected["level"].kind, expected["grade"].kind, expected["at"].kind) == ("numeric", "categorical",
                                                                                          "datetime"), path
        actual = spark_engine.fit_reference_spark(spark_engine.read_data(spark, str(path)))
        assert_same(expected, actual)
        current = pd.read_csv(csv) if path == csv else pd.read_parquet(path)
        assert_same(profile_frame(current, expected),
                    spark_engine.profile_dataframe(spark_engine.read_data(spark, str(path)), expected))


def test_current_profile_equals_pandas_profile_with_unseen_and_out_of_range(spark, data):
    reference = fit_reference(read_table(data["root"] / "reference.parquet", "reference", text_as_categories=True))
    expected = profile_frame(pd.read_parquet(data["root"] / "current.parquet"), reference)
    actual = spark_engine.profile_dataframe(spark_engine.read_data(spark, str(data["current_parts"])), reference)
    assert_same(expected, actual)
    text = actual["text"]
    assert text.counts[text.categories.index("__unseen__")] == int((data["current"]["text"] == "new").sum()) > 0
    assert actual["when"].above > 0


def test_kind_sample_is_pandas_sample_in_file_order_when_spark_splits_the_file(spark, tmp_path):
    # more rows than the kind sample: which rows are drawn shows in the reasons (unique counts)
    rng = np.random.default_rng(3)
    n = 130_000
    frame = pd.DataFrame({"rounded": np.round(rng.normal(0, 3, n), 2), "code": rng.integers(0, 40_000, n).astype(str),
                          "tiny": rng.integers(0, 3, n), "row": np.arange(n),
                          "day": pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n) // 100, unit="D"))
                          .dt.strftime("%Y-%m-%d")})
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, index=False, row_group_size=10_000)
    expected = fit_reference(read_table(path, "reference", text_as_categories=True))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "200k")
    try:
        data = spark_engine.read_data(spark, str(path))
        assert data.rdd.getNumPartitions() >= 3
        actual = spark_engine.fit_reference_spark(data)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert "100,000-row sample" in expected["rounded"].reason
    assert (expected["row"].kind, expected["day"].kind) == ("skipped", "datetime")  # the sample keeps file order
    assert_same(expected, actual)


def test_profiles_per_key_equal_pandas_profiles_of_each_group(spark, data):
    from pyspark.sql import functions as F

    current = data["current"]
    reference = fit_reference(current.iloc[:2000])
    day = current["when"].dt.floor("D")
    frame = spark_engine.read_data(spark, str(data["current_parts"]))
    groups = spark_engine.profile_groups(frame, reference, F.date_trunc("day", "when"))
    assert len(groups) == day.nunique() > 5
    for key, profiles in groups.items():
        rows = current[day == pd.Timestamp(key)]
        assert_same(profile_frame(rows, reference), profiles)
    by_text = spark_engine.profile_groups(frame, reference, "text")
    assert None in by_text and by_text[None]["x"].n == int(current["text"].isna().sum())


def test_quantile_sketch_is_exact_until_compacted_and_bounded_after():
    rng = np.random.default_rng(0)
    values = np.sort(rng.normal(size=10_001))
    probabilities = np.linspace(0, 1, 101)[1:-1]
    kept, weights = spark_engine.compact_sorted(values, 20_000)
    assert (weights == 1).all()
    assert np.array_equal(spark_engine.weighted_quantiles(kept, weights, probabilities), np.quantile(values, probabilities))
    chunks = np.array_split(rng.permutation(values), 7)
    parts = [spark_engine.compact_sorted(np.sort(c), 50) for c in chunks]
    bound = sum(int(w.max()) // 2 for _, w in parts)
    estimate = spark_engine.weighted_quantiles(np.concatenate([p[0] for p in parts]),
                                               np.concatenate([p[1] for p in parts]), probabilities)
    ranks = np.searchsorted(values, estimate)
    assert np.abs(ranks - probabilities * (values.size - 1)).max() <= bound + 1
    assert bound < 0.02 * values.size


def test_sketched_edges_count_exactly_and_barely_move_the_scores(spark, tmp_path):
    """Edges from compacted sketches: within the stated rank error, the reference counted
    exactly against them, and drift scores within 0.01 of the exact-edge scores."""
    rng = np.random.default_rng(5)
    n = 80_000
    reference = pd.DataFrame({"normal": rng.normal(0, 1, n), "skewed": rng.lognormal(0, 1, n),
                              "counts": rng.poisson(5, n).astype(float), "text": rng.choice(list("abc"), n)})
    current = pd.DataFrame({"normal": rng.normal(0.2, 1.1, n // 2), "skewed": rng.lognormal(0.1, 1, n // 2),
                            "counts": rng.poisson(5.5, n // 2).astype(float), "text": rng.choice(list("abcd"), n // 2)})
    reference.to_parquet(tmp_path / "reference.parquet", index=False, row_group_size=20_000)
    frame = spark_engine.read_data(spark, str(tmp_path / "reference.parquet"))
    sketched, info = spark_engine.fit_reference_spark(frame, chunk_rows=20_000, sketch_items=6_000, details=True)
    exact = fit_reference(reference)
    error = info["edge_rank_error"]
    assert 0 < error < 0.02
    for name in ("normal", "skewed"):
        ordered = np.sort(reference[name].to_numpy())
        quantile_edges = [e for e in sketched[name].edges if e not in exact[name].edges]
        ranks = np.searchsorted(ordered, quantile_edges) / n
        nearest = np.abs(ranks[:, None] - np.linspace(0, 1, 101)[None, 1:-1]).min(axis=1)
        assert nearest.max() <= error + 1 / n
    assert_same(profile_frame(reference, sketched), {k: v for k, v in sketched.items()})
    now = profile_frame(current, exact), profile_frame(current, sketched)
    for name in ("normal", "skewed", "counts"):
        with_exact, with_sketch = column_scores(exact[name], now[0][name]), column_scores(sketched[name], now[1][name])
        for method, value in with_exact.items():
            assert abs(with_sketch[method] - value) <= 0.01, (name, method, value, with_sketch[method])


def test_drift_report_on_spark_scores_and_decides_like_pandas(spark, data):
    """Default settings (learned noise levels under auto thresholds, units checks, the domain
    classifier): the Spark report's reference rows are the fit's kind sample, which holds every
    row of a reference this small, so scores, thresholds and verdicts equal the pandas report's."""
    pandas_report = DriftReport(str(data["root"] / "reference.parquet"), str(data["root"] / "current.parquet"))
    spark_report = DriftReport(str(data["reference_parts"]), str(data["current_parts"]), settings={"engine": "spark"})
    assert spark_report.scores.keys() == pandas_report.scores.keys()
    assert not {"row", "ident", "when", "stamped", "zoned"} & spark_report.scores.keys()  # ids and times not scored
    for name, scores in pandas_report.scores.items():
        for method, value in scores.items():
            # a std from sums of squares cancels digits: moments equal to 1e-15 give scores equal to ~1e-8
            assert spark_report.scores[name][method] == pytest.approx(value, rel=1e-6, abs=1e-12, nan_ok=True)
    assert pandas_report.noise_levels and spark_report.noise_levels.keys() == pandas_report.noise_levels.keys()
    for name, level in pandas_report.noise_levels.items():
        assert spark_report.noise_levels[name] == pytest.approx(level, rel=1e-6, nan_ok=True), name
    assert spark_report.thresholds == pytest.approx(pandas_report.thresholds, rel=1e-6)
    assert spark_report.current_families == pandas_report.current_families
    assert len(spark_report.sample) == len(pandas_report.sample) == 5_000
    for report in (pandas_report, spark_report):
        for section in ("schema_section", "columns_section", "quality_section", "prediction_section",
                        "multivariate_section"):
            getattr(report, section)()
    # the current samples are different uniform draws (per partition on Spark): the sample-based
    # checks (units, the domain classifier) agree on the verdict, the rest on the value too
    decided = {c.id: c for c in pandas_report.checks}
    assert {c.id for c in spark_report.checks} == decided.keys()
    for check in spark_report.checks:
        want = decided[check.id]
        assert check.status == want.status, (check.id, check.message, want.message)
        if not check.id.startswith(("drift.units.", "drift.multivariate")) and isinstance(want.value, float):
            assert check.value == pytest.approx(want.value, rel=1e-6, nan_ok=True), check.id
    assert any(c.id.startswith("drift.units.") for c in spark_report.checks)
    check = next(c for c in spark_report.checks if c.id == "drift.multivariate")
    assert check.status in ("pass", "warn") and check.value > 0.1, check.message


def test_cli_profile_on_spark_writes_the_pandas_profile(spark, data, tmp_path):
    from readiness.cli import main

    out = tmp_path / "reference.profile.json"
    main(["profile", "--engine", "spark", str(data["reference_parts"]), "-o", str(out)])
    expected = fit_reference(read_table(data["root"] / "reference.parquet", "reference", text_as_categories=True))
    assert_same(expected, load_profile(out))
    source = json.loads(out.read_text())["source"]
    assert source["engine"] == "spark" and source["rows"] == 6_000 and source["edge_rank_error"] == 0.0


@pytest.mark.parametrize("problem", ["missing", "corrupt", "empty"])
def test_unreadable_data_is_one_line_naming_the_location(spark, tmp_path, problem, capsys):
    from readiness.cli import main

    path = tmp_path / "data.parquet"
    if problem == "corrupt":
        path.write_bytes(b"PAR1 this is not parquet")
    elif problem == "empty":
        pd.DataFrame({"x": pd.Series([], dtype=float)}).to_parquet(path)
    with pytest.raises(SystemExit) as done:
        main(["profile", "--engine", "spark", str(path), "-o", str(tmp_path / "p.json")])
    error = capsys.readouterr().err.strip()
    assert done.value.code == 2, error
    assert len(error.splitlines()) == 1 and str(path) in error or "no rows" in error, error
    assert "Traceback" not in error
    with pytest.raises(InputError):
        spark_engine.fit_reference_spark(spark_engine.read_data(spark, str(path))) if problem != "missing" else \
            spark_engine.read_data(spark, str(path))


def test_a_jvm_that_cannot_start_is_one_line_with_its_cause(tmp_path):
    """No session is running in the child: JAVA_HOME points nowhere, the line says so."""
    import os
    import subprocess
    import sys

    pytest.importorskip("pyspark")
    (tmp_path / "data.csv").write_text("x\n1\n2\n")
    result = subprocess.run([sys.executable, "-m", "readiness.cli", "profile", "--engine", "spark", "data.csv",
                             "-o", "p.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "JAVA_HOME": str(tmp_path / "no-java")})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert "could not start Spark" in result.stderr and "no-java/bin/java" in result.stderr
    assert not list(tmp_path.glob("p.json"))


def test_pandas_engine_refuses_urls_with_the_fix(tmp_path, capsys):
    from readiness.cli import main

    with pytest.raises(SystemExit) as done:
        main(["drift", "s3a://lake/reference/", "s3a://lake/current/", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert done.value.code == 2 and "--engine spark" in error and "s3a://lake/reference/" in error


def test_urls_reach_spark_as_given(spark, tmp_path, capsys):
    """An s3a:// location is handed to Spark untouched (no connector here: one line naming it)."""
    from readiness.cli import main
    from readiness.config import parse_config

    config = parse_config({"reference": "s3a://lake/reference/", "current": "current.parquet"}, base_dir=tmp_path)
    assert config.reference == "s3a://lake/reference/" and config.current == tmp_path / "current.parquet"
    with pytest.raises(SystemExit) as done:
        main(["profile", "--engine", "spark", "s3a://lake/reference/", "-o", str(tmp_path / "p.json")])
    error = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(error.splitlines()) == 1 and "s3a://lake/reference/" in error, error


@pytest.mark.notebooks
def test_drift_command_runs_on_spark_end_to_end(spark, data, tmp_path):
    """`readiness drift PROFILE FOLDER --engine spark`: the report's kernel starts its own session."""
    from helpers import run_readiness
    from readiness.stats.profile import save_profile

    profile = tmp_path / "reference.profile.json"
    save_profile(fit_reference(read_table(data["root"] / "reference.parquet", "reference", text_as_categories=True)),
                 profile)
    out = tmp_path / "drift"
    result = run_readiness(["drift", str(profile), str(data["current_parts"]), "--engine", "spark",
                            "--spark-master", "local[2]", "--out", str(out)], cwd=tmp_path,
                           timeout=900)  # a kernel and a second JVM: starting a session took 243 s on a busy machine
    assert result.returncode == 0, result.stderr  # drift warns (a moved column, a new category): ready
    # the terminal shows readiness's progress only: Spark's log and stack traces go to a file
    ours = ("[1/1] drift_report", "Recorded run #")  # progress, and the release history's one line
    assert all(line.startswith(ours) for line in result.stderr.splitlines()), result.stderr
    document = json.loads((out / "drift_report.json").read_text())
    assert document["status"] == "warn"
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["drift.unseen.text"]["status"] == "warn" and checks["drift.column.x"]["status"] == "warn"
    assert document["inputs"]["current"]["rows"] == 5_000 and document["inputs"]["current"]["sha256"] is None
    assert not {f"drift.column.{n}" for n in ("row", "ident", "when", "stamped", "zoned")} & checks.keys()
    pandas_report = DriftReport(str(profile), str(data["root"] / "current.parquet"))
    for name in pandas_report.scores:
        check = checks[f"drift.column.{name}"]
        expected = pandas_report.scores[name][check["details"]["method"]]
        if math.isnan(expected):  # the all-missing column: no score, written as null
            assert check["value"] is None, name
        else:
            assert check["value"] == pytest.approx(expected, rel=1e-6), name
    html = (out / "drift_report.html").read_text()
    assert "Not scored for drift" in html and "text holding timestamps" in html


# --------------------------------------------------------------------------- the monitoring report's chunks


def monitoring_log(folder):
    """Eight days of a prediction log in three Parquet files of 1,000-row groups: numbers with
    NaN, a category that gains a new label and drifts from day 6, a boolean, text versions."""
    from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet

    log = simulate_log(days=8, rows_per_day=1_500, features=3, releases={6: ("v2", 1.0)}, seed=5)
    rng = np.random.default_rng(5)
    day = (log["timestamp"] - log["timestamp"].min()).dt.days.to_numpy()
    log.loc[rng.random(len(log)) < 0.05, "f1"] = np.nan
    log["f2"] = log["f2"] + np.where(day >= 6, 1.5, 0.0)  # drift the monitoring report must see
    log["channel"] = np.where(day >= 6, rng.choice(["web", "app", "kiosk"], len(log)), rng.choice(["web", "app"], len(log)))
    log["member"] = rng.random(len(log)) < 0.3
    write_log_parquet(log, folder, rows_per_file=4_000, row_group_rows=1_000)
    return folder


def test_monitoring_chunk_profiles_on_spark_equal_the_pandas_engine(spark, tmp_path):
    """With every row of a chunk profiled (profile_rows ≥ rows per chunk) both engines count the
    same rows: each day's profile equal field by field, and every series and verdict alike."""
    from readiness.reports.monitoring.report import MonitoringReport

    folder = monitoring_log(tmp_path / "log")
    settings = {"prediction": "score", "label": "label", "chunk": "1d", "profile_rows": 2_000, "reference_chunks": 4}
    local = MonitoringReport(folder, settings)
    remote = MonitoringReport(folder, {**settings, "engine": "spark", "spark": {"master": "local[2]"}})
    assert sorted(remote.acc.profiles) == sorted(local.acc.profiles) == list(range(8))
    for chunk, expected in local.acc.profiles.items():
        # the pandas engine's sample binner lists fast-path columns first; series look columns up by name
        actual = remote.acc.profiles[chunk]
        assert sorted(actual) == sorted(expected)
        assert_same(expected, {name: actual[name] for name in expected})
        assert remote.acc.profiles[chunk]["f0"].n == 1_500
    assert [s.key for s in remote.series] == [s.key for s in local.series]
    for mine, theirs in zip(remote.series, local.series):
        assert np.allclose(mine.values, theirs.values, equal_nan=True, rtol=1e-9, atol=0), mine.key
    drift = remote.get("drift.f2")
    assert drift is not None and drift.outside(7)  # the planted drift is seen on Spark's profiles
    assert remote.headline() == local.headline()


def test_monitoring_on_spark_refuses_row_chunks_with_the_fix(tmp_path):
    from readiness.config import load_config
    from readiness.exceptions import ConfigError
    from readiness.reports.monitoring import preflight
    from readiness.run.preflight import PreflightContext

    folder = monitoring_log(tmp_path / "log")
    config = load_config(None, {"predictions": str(folder), "output": str(tmp_path / "out"),
                                "monitoring": {"prediction": "score", "chunk": "1000rows", "engine": "spark"}})
    with pytest.raises(ConfigError, match="chunks by period .* not by rows"):
        preflight(config, PreflightContext(config, 60))
