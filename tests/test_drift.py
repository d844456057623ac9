"""Drift report: detection, false alarms at every size, streaming, profiles, CLI and HTML."""

import json

import numpy as np
import pandas as pd
import pytest

from helpers import assert_json_carries_the_html_tables, assert_sections_carry_the_report, run_readiness
from readiness.reports.drift.report import DriftReport
from readiness.stats.drift_scores import DEFAULT_METHOD, METHODS
from readiness.exceptions import ConfigError, InputError
from readiness.stats.profile import fit_reference, profile_frame

HOSTILE = "<img src=x onerror=alert(1)>"


def population(n, seed, numeric=15, categorical=5, shift=0.0):
    """Varied shapes: normal, skewed, heavy-tailed, integer counts, imbalanced categories."""
    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(numeric):
        kind = i % 4
        if kind == 0:
            columns[f"n{i}"] = rng.normal(i + shift, 1 + i / 10, n)
        elif kind == 1:
            columns[f"n{i}"] = rng.exponential(1 + i / 5, n) + shift
        elif kind == 2:
            columns[f"n{i}"] = rng.standard_t(3, n) + shift
        else:
            columns[f"n{i}"] = rng.poisson(20 + i, n).astype(float) + shift
    for j in range(categorical):
        k = 3 + j
        p = np.arange(1, k + 1, dtype=float)
        columns[f"c{j}"] = rng.choice([f"v{i}" for i in range(k)], n, p=p / p.sum())
    return pd.DataFrame(columns)


@pytest.fixture(scope="module")
def reference():
    frame = population(50_000, seed=0)
    return frame, fit_reference(frame)


@pytest.mark.parametrize("size", [500, 10_000, 1_000_000])
def test_false_alarms_stay_under_five_percent_of_columns_at_every_size(reference, size):
    frame, profiles = reference
    current = profile_frame(population(size, seed=size), profiles)
    flagged = 0
    for name, ref in profiles.items():
        method = METHODS[DEFAULT_METHOD[ref.kind]]
        flagged += method.compute(ref, current[name]) >= method.threshold
    assert flagged / len(profiles) <= 0.05, f"{flagged} of {len(profiles)} columns flagged at n={size}"


def write(tmp_path, reference, current, fmt="parquet"):
    paths = []
    for name, frame in (("reference", reference), ("current", current)):
        path = tmp_path / f"{name}.{fmt}"
        frame.to_parquet(path) if fmt == "parquet" else frame.to_csv(path, index=False)
        paths.append(str(path))
    return paths


def checks_of(report):
    sections = [report.schema_section(), report.columns_section(), report.quality_section(),
                report.prediction_section(), report.multivariate_section()]
    return {c.id: c for s in sections for c in s.checks}


def test_planted_drift_nan_shift_and_unseen_categories_are_detected(tmp_path):
    ref = population(20_000, seed=1, numeric=4, categorical=2)
    cur = population(5_000, seed=2, numeric=4, categorical=2)
    cur["n0"] += 1.5  # planted: a shift of about 1.5 reference standard deviations
    cur.loc[cur.index[:1000], "n1"] = np.nan  # 20% missing now
    cur.loc[cur.index[:400], "c0"] = "brand-new"
    cur["extra"] = 1.0
    checks = checks_of(DriftReport(*write(tmp_path, ref, cur.drop(columns=["c1"])), settings={"batch_rows": 1000}))
    # a shift of 1.5 standard deviations is a large effect: the column describes another population
    assert checks["drift.column.n0"].status == "fail" and checks["drift.column.n0"].value > 1.0
    assert checks["drift.column.n2"].status == "pass"
    assert checks["drift.missing.n1"].status == "warn" and checks["drift.missing.n1"].value == pytest.approx(0.2)
    assert checks["drift.unseen.c0"].status == "warn" and checks["drift.unseen.c0"].value == pytest.approx(0.08)
    assert checks["drift.schema.missing[c1]"].status == "fail" and checks["drift.schema.new[extra]"].status == "warn"
    assert checks["drift.multivariate"].status == "warn" and "n0" in checks["drift.multivariate"].message
    lost = checks["drift.multivariate"].details["auc_lost_when_shuffled"]
    assert max(lost, key=lost.get) == "n0" and lost["n0"] > 0.05
    assert checks["drift.prediction.mean_shift"].status == "skip"


def test_a_column_whose_type_changed_fails_the_schema(tmp_path):
    ref = population(3_000, seed=11, numeric=2, categorical=1)
    cur = population(2_000, seed=12, numeric=2, categorical=1)
    cur["n0"] = cur["n0"].map("{:.2f} EUR".format)  # numbers exported as text
    checks = checks_of(DriftReport(*write(tmp_path, ref, cur), settings={"multivariate": False}))
    changed = checks["drift.schema.dtype[n0]"]
    assert changed.status == "fail" and changed.severity == "critical"
    assert "holds text now but number in the reference" in changed.message
    assert "drift.schema.dtype[n1]" not in checks and "drift.schema.dtype[c0]" not in checks
    assert checks["drift.missing.n0"].status == "fail"  # unparseable numbers are counted as missing, not dropped: 100% missing is a broken feed
    # a CSV chunk in which a text column is all missing is read as float: it has no type to judge
    cur = population(2_000, seed=12, numeric=2, categorical=1)
    cur.loc[cur.index[:1000], "c0"] = None
    checks = checks_of(DriftReport(*write(tmp_path, ref, cur, fmt="csv"), settings={"batch_rows": 1000, "multivariate": False}))
    assert not any(".dtype[" in c for c in checks) and checks["drift.schema.dtypes"].status == "pass"
    same = checks_of(DriftReport(*write(tmp_path, ref, population(2_000, seed=13, numeric=2, categorical=1)),
                                 settings={"multivariate": False}))
    assert same["drift.schema.dtypes"].status == "pass" and not any(".dtype[" in c for c in same)


def test_batches_give_the_same_scores_as_one_read(tmp_path):
    ref, cur = population(10_000, seed=3, numeric=3, categorical=1), population(7_000, seed=4, numeric=3, categorical=1)
    paths = write(tmp_path, ref, cur)
    small = DriftReport(*paths, settings={"batch_rows": 1000, "multivariate": False})
    large = DriftReport(*paths, settings={"batch_rows": 100_000, "multivariate": False})
    assert small.scores == large.scores
    assert [p.counts for p in small.current.values()] == [p.counts for p in large.current.values()]


def test_a_saved_profile_can_be_the_reference(tmp_path):
    ref, cur = population(10_000, seed=5, numeric=3, categorical=1), population(3_000, seed=6, numeric=3, categorical=1)
    paths = write(tmp_path, ref, cur, fmt="csv")
    result = run_readiness(["profile", paths[0], "-o", str(tmp_path / "reference.profile.json")], cwd=tmp_path)
    assert result.returncode == 0 and "10,000 rows, 4 columns (1 categorical, 3 numeric)" in result.stdout
    from_profile = DriftReport(str(tmp_path / "reference.profile.json"), paths[1], settings={"multivariate": True})
    from_data = DriftReport(*paths, settings={"multivariate": False})
    assert from_profile.scores.keys() == from_data.scores.keys()
    for column, scores in from_data.scores.items():
        assert from_profile.scores[column] == pytest.approx(scores)
    assert checks_of(from_profile)["drift.multivariate"].status == "skip"
    with pytest.raises(ConfigError, match="learned thresholds need the reference data"):
        DriftReport(str(tmp_path / "reference.profile.json"), paths[1], settings={"thresholds": "learned"})


def test_learned_thresholds_follow_the_current_size(tmp_path):
    ref = population(40_000, seed=7, numeric=2, categorical=1)
    small = DriftReport(*write(tmp_path, ref, population(300, seed=8, numeric=2, categorical=1)),
                        settings={"thresholds": "learned", "multivariate": False})
    large = DriftReport(*write(tmp_path, ref, population(15_000, seed=9, numeric=2, categorical=1)),
                        settings={"thresholds": "learned", "multivariate": False})
    assert all(small.thresholds[c] > large.thresholds[c] for c in small.thresholds)
    assert "false flags expected" in checks_of(small)["drift.dataset"].message


def test_empty_current_file_is_one_line_exit_2(tmp_path):
    ref = population(1000, seed=1, numeric=2, categorical=1)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    (tmp_path / "cur.csv").write_text("")
    with pytest.raises(InputError, match="file is empty"):
        DriftReport(str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"))
    result = run_readiness(["drift", "ref.csv", "cur.csv", "--out", "out"], cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "cur.csv: file is empty" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.notebooks
def test_drift_command_end_to_end_with_a_model_and_a_hostile_column(tmp_path):
    import skops.io
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=4000), HOSTILE: rng.choice(["a", "<script>alert(2)</script>"], 4000)})
    cur = pd.DataFrame({"x": rng.normal(1.0, 1, 2000), HOSTILE: rng.choice(["a", "b"], 2000)})
    model = LinearRegression().fit(ref[["x"]], ref.x * 2 + 10)
    skops.io.dump(model, tmp_path / "m.skops")
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    result = run_readiness(["drift", "ref.parquet", "cur.parquet", "--model", "m.skops", "--out", "out"], cwd=tmp_path)
    doc = json.loads((tmp_path / "out" / "drift_report.json").read_text())
    html = (tmp_path / "out" / "drift_report.html").read_text()
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["drift.column.x"]["status"] == "fail"  # moved by a whole standard deviation: a large effect
    assert checks["drift.prediction.mean_shift"]["status"] == "pass" and checks["drift.prediction.mean_shift"]["value"] > 1.1
    assert checks[f"drift.unseen.{HOSTILE}"]["status"] == "fail"  # half the values are a category never seen
    assert result.returncode == (1 if doc["status"] in ("fail", "error") else 0), result.stderr
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "<script>alert" not in html
    assert_sections_carry_the_report(doc)
    assert_json_carries_the_html_tables(html, doc)
    sections = {s["name"]: s for s in doc["sections"]}
    drift = sections["columns"]["tables"][0]
    assert {row[0] for row in drift["rows"]} == {"x", HOSTILE}  # the data's names, verbatim: JSON is data, not HTML
    row = next(dict(zip(drift["columns"], r)) for r in drift["rows"] if r[0] == "x")
    assert row["score"] == checks["drift.column.x"]["value"] and row["verdict"] == "drift"
    quality_table = sections["quality"]["tables"][0]
    quality = next(dict(zip(quality_table["columns"], r)) for r in quality_table["rows"] if r[0] == HOSTILE)
    assert quality["unseen categories"] == checks[f"drift.unseen.{HOSTILE}"]["value"]
    assert 'id="readiness-verdict"' in html and "data:image/png;base64" in html
    assert (tmp_path / "out" / "index.html").is_file()
