"""`readiness` as a user runs it: exit codes, one-line errors, results JSON and HTML."""

import json
import re
import shutil
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.linear_model import LinearRegression

from helpers import HOSTILE_COLUMN, HOSTILE_IMG_COLUMN, HOSTILE_VALUE, assert_json_carries_the_html_tables, run_readiness
from readiness.cli import main

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def call(args, capsys):
    """The CLI in-process (for errors found before any notebook runs)."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def assert_one_line_usage_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("readiness: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def scenario(tiny_scenario, tmp_path):
    folder = tmp_path / "project"
    shutil.copytree(tiny_scenario, folder)
    return folder


# --------------------------------------------------------------------------- end to end


@pytest.mark.notebooks
def test_run_writes_results_html_and_summary(tiny_run):
    folder, result = tiny_run
    out = folder / "out"
    doc = json.loads((out / "golden_benchmark.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert result.returncode == (0 if doc["status"] in ("pass", "warn") else 1), result.stderr
    assert summary["status"] == doc["status"] and summary["reports"][0]["files"]["html"] == "golden_benchmark.html"
    assert doc["environment"]["executable"] == sys.executable  # the kernel ran this interpreter
    assert doc["inputs"]["golden"]["rows"] == 600
    ids = {c["id"] for c in doc["checks"]}
    assert {"golden.metric.roc_auc", "golden.change.roc_auc", "golden.consistency.mean_prediction_ratio",
            "golden.dummy.roc_auc", "golden.segment.roc_auc[region=EU]"} <= ids
    assert f"golden.segment.roc_auc[region={HOSTILE_VALUE}]" in ids
    assert "[1/1] golden_benchmark: running" in result.stderr
    assert f"Verdict: {doc['status'].upper()}" in result.stdout


@pytest.mark.notebooks
def test_html_is_offline_escaped_and_has_verdict_and_provenance(tiny_run):
    folder, _ = tiny_run
    html = (folder / "out" / "golden_benchmark.html").read_text()
    doc = json.loads((folder / "out" / "golden_benchmark.json").read_text())
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script" not in html.lower()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert f'class="rd-banner rd-{doc["status"]}"' in html
    index = (folder / "out" / "index.html").read_text()
    assert "<script" not in index.lower() and not EXTERNAL.search(index)
    for name in ("junit.xml", "summary.md", "summary.json"):
        assert (folder / "out" / name).is_file()
    for section in ("Inputs", "Metrics", "Release consistency", "Segments", "Inference", "Provenance"):
        assert f">{section}<" in html or f"{section}</" in html, section
    assert doc["inputs"]["golden"]["sha256"] in html and doc["inputs"]["model"]["sha256"] in html
    assert HOSTILE_COLUMN not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_IMG_COLUMN not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert HOSTILE_VALUE not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert html.count("data:image/png;base64") >= 3
    assert "model_path" not in html  # no code or parameter cells in the reader's view
    assert len(html.encode()) < 1_500_000
    assert_json_carries_the_html_tables(html, doc)


@pytest.mark.notebooks
def test_hundredfold_mean_shift_exits_1_naming_it(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"area": rng.uniform(30, 200, 400), "rooms": rng.integers(1, 6, 400).astype(float)})
    price = 3000 * X["area"] + 10000 * X["rooms"] + rng.normal(0, 20000, 400)
    production = LinearRegression().fit(X, price)
    candidate = LinearRegression().fit(X, price)
    candidate.coef_, candidate.intercept_ = candidate.coef_ * 100, candidate.intercept_ * 100  # cents, not euros
    skops.io.dump(production, tmp_path / "production.skops")
    skops.io.dump(candidate, tmp_path / "candidate.skops")
    X.assign(price=price).to_parquet(tmp_path / "golden.parquet")
    result = run_readiness(["run", "--model", "candidate.skops", "--baseline", "production.skops", "--golden",
                            "golden.parquet", "--target", "price", "--out", "report"], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "golden.consistency.mean_prediction_ratio" in result.stdout
    assert "predictions are 100× higher on average" in result.stdout
    doc = json.loads((tmp_path / "report" / "golden_benchmark.json").read_text())
    assert doc["inputs"]["task"] == "regression" and doc["status"] == "fail"


@pytest.mark.notebooks
def test_missing_feature_columns_found_in_the_kernel_exit_2(scenario):
    golden = pd.read_csv(scenario / "golden.csv").drop(columns=["x2"])
    golden.to_csv(scenario / "golden.csv", index=False)
    result = run_readiness(["run"], cwd=scenario)
    assert_one_line_usage_error(result.returncode, result.stderr.splitlines()[-1],
                                "missing feature column(s) the candidate model expects: 'x2'")
    doc = json.loads((scenario / "out" / "golden_benchmark.json").read_text())
    assert doc["status"] == "error"  # the report says what failed; it is not passed off as done
    assert "x2" in (scenario / "out" / "golden_benchmark.html").read_text()


# --------------------------------------------------------------------------- pre-flight errors (no kernel)


def test_missing_model_file(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    code, _, err = call(["run", "--model", "nope.skops"], capsys)
    assert_one_line_usage_error(code, err, "nope.skops: model file not found; check the 'model' path")


def test_missing_target_column(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    code, _, err = call(["run", "--target", "churn"], capsys)
    assert_one_line_usage_error(code, err, "target column 'churn' not found")


def test_empty_csv(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    (scenario / "golden.csv").write_text("")
    code, _, err = call(["run"], capsys)
    assert_one_line_usage_error(code, err, "golden.csv: file is empty")


def test_corrupt_parquet(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    (scenario / "golden.parquet").write_bytes(b"PAR1\x00\x01garbage")
    code, _, err = call(["run", "--golden", "golden.parquet"], capsys)
    assert_one_line_usage_error(code, err, "golden.parquet: not a readable Parquet file")


def test_unknown_config_key(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    config = yaml.safe_load((scenario / "readiness.yaml").read_text())
    config["golden_benchmark"]["thresholds"] = {}
    (scenario / "readiness.yaml").write_text(yaml.safe_dump(config))
    code, _, err = call(["run"], capsys)
    assert_one_line_usage_error(code, err, "unknown key 'golden_benchmark.thresholds'")


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_naming_the_global(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    model = skops.io.load(scenario / "candidate.skops")
    marker = scenario / "pwned"
    joblib.dump({"model": model, "weights": np.arange(1000.0), "x": _Payload(marker)}, scenario / "candidate.joblib",
                compress=3)
    code, _, err = call(["run", "--model", "candidate.joblib"], capsys)
    assert_one_line_usage_error(code, err, "refusing to load this joblib file", "posix.system", "--trust-artifact")
    assert not marker.exists()


@pytest.mark.parametrize("attack,expected", [
    ("nested_object_array_payload", "posix.system"),
    ("joblib_nested_wrapper", "NumpyArrayWrapper: a joblib array header inside a nested stream"),
    ("bz2_multistream_bomb", "decompresses more than 200-fold"),
    ("declared_huge_array", "would take the data read past the limit"),
])
def test_hostile_artifacts_end_the_run_before_any_report(scenario, capsys, monkeypatch, attack, expected):
    import pickle_corpus

    monkeypatch.chdir(scenario)
    marker = scenario / "pwned"
    builder = getattr(pickle_corpus, attack)
    builder(scenario / "evil.joblib", marker) if "payload" in attack or "wrapper" in attack else builder(scenario / "evil.joblib")
    code, _, err = call(["run", "--model", "evil.joblib"], capsys)
    assert_one_line_usage_error(code, err, "evil.joblib: refusing to load this joblib file", expected, "--trust-artifact")
    assert not marker.exists() and not (scenario / "out").exists()


def test_output_folder_that_is_not_ours_is_never_overwritten(scenario, capsys, monkeypatch):
    monkeypatch.chdir(scenario)
    (scenario / "precious").mkdir()
    (scenario / "precious" / "thesis.tex").write_text("years of work")
    code, _, err = call(["run", "--out", "precious"], capsys)
    assert_one_line_usage_error(code, err, "exists and is not a readiness output folder")
    assert (scenario / "precious" / "thesis.tex").read_text() == "years of work"


def test_bad_cli_values_exit_2(capsys):
    code, _, err = call(["run", "--only", "nonsense"], capsys)
    assert code == 2 and "Invalid value for '--only'" in err


def test_init_writes_the_starter_and_refuses_to_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["init"])
    assert "golden_benchmark:" in (tmp_path / "readiness.yaml").read_text()
    code, _, err = call(["init"], capsys)
    assert_one_line_usage_error(code, err, "already exists; pass --force")
    main(["init", "--force"])


def test_debug_shows_the_traceback(scenario, monkeypatch):
    monkeypatch.chdir(scenario)
    from readiness.exceptions import InputError

    with pytest.raises(InputError):
        main(["run", "--model", "nope.skops", "--debug"])


# --------------------------------------------------------------------------- the demo


@pytest.mark.notebooks
def test_demo_fails_on_the_segment_regression_and_exits_0(demo_run):
    demo, result = demo_run
    assert result.returncode == 0, result.stderr
    doc = json.loads((demo / "report" / "golden_benchmark.json").read_text())
    assert doc["status"] == "fail"
    failing = [c for c in doc["checks"] if c["status"] in ("fail", "error")]
    assert failing and all(c["id"].startswith(("golden.segment.", "golden.guarantee.")) and "region=north" in c["id"]
                           for c in failing)
    checks = {c["id"]: c for c in doc["checks"]}
    # the release's explanation: north's predictions moved through the accounts feed (its region), beyond the guarantee
    north = checks["golden.attribution"]["details"]["segments"]["region=north"]["contributions"]
    feeds = {name: c for name, c in north.items() if c["kind"] == "source"}
    assert max(feeds, key=lambda name: abs(feeds[name]["value"])) == "accounts" and feeds["accounts"]["ci"][0] > 0.02
    assert checks["golden.guarantee.mean_shift[region=north]"]["status"] == "fail"
    assert "through the accounts feed's columns (region, plan, channel)" in result.stdout
    assert checks["golden.change.roc_auc"]["status"] == "pass" and checks["golden.change.roc_auc"]["value"] > 0
    assert "Verdict: FAIL" in result.stdout and "region=north" in result.stdout
    assert doc["inputs"]["golden"]["rows"] >= 5000
    robustness = [c for c in doc["checks"] if c["id"].startswith("golden.robustness.")]
    crash = checks["golden.robustness.missing_column"]
    assert crash["status"] == "warn" and crash["message"].startswith("crash in 1 of 1 column (support_calls)")
    # predictions that move when a feature is replaced are shown (in the details), not warned
    for name in ("nan", "unseen_category"):
        assert checks[f"golden.robustness.{name}"]["status"] == "pass"
        assert checks[f"golden.robustness.{name}"]["details"]["columns"]["plan"]["outcome"] == "changed"
    assert sum(c["status"] == "warn" for c in robustness) == 1
    # far fewer warnings than before the calibration (20 in this report): each one a finding
    assert sum(c["status"] == "warn" for c in doc["checks"]) <= 5
    # every report of the demo ran, and every id it emitted is in the check catalogue (readiness checks)
    from readiness.registry import registry

    catalogue = registry.catalogue()
    for name in registry.names():
        report = json.loads((demo / "report" / f"{name}.json").read_text())
        assert "error" not in report and report["checks"], name
        assert [c["id"] for c in report["checks"] if catalogue.find(c["id"]) is None] == [], name
