"""Attribution in the reports: sources: and consistency.segments: from readiness.yaml through the
real runner and notebooks to golden.attribution, golden.guarantee.* and drift.attribution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import run_readiness
from readiness.config import parse_config
from readiness.exceptions import ConfigError

SOURCES = {"crm_export": ["spend", "tenure"], "usage_feed": ["usage"], "accounts": ["north"]}
#: what the candidate adds to the baseline's prediction on a north customer
NORTH_LIFT = 0.5
#: the planted unit change: the current CRM export writes spend in cents
CENTS = 100.0


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    north = (rng.random(n) < 0.3).astype(float)
    out = pd.DataFrame({"spend": rng.normal(3.0, 1.0, n), "tenure": rng.normal(0.0, 1.0, n),
                        "usage": rng.normal(0.0, 1.0, n), "north": north,
                        "region": np.where(north == 1, "north", np.where(rng.random(n) < 0.5, "south", "east"))})
    out["y"] = 0.2 * out.spend + out.tenure - 0.5 * out.usage + rng.normal(0, 0.3, n)
    return out


def write_project(folder: Path, config_extra: dict | None = None) -> Path:
    """A regression release whose candidate lifts north customers by NORTH_LIFT, and a month whose
    CRM export switched spend to cents; both models are linear, so every contribution is known."""
    import skops.io
    from sklearn.linear_model import LinearRegression

    folder.mkdir(parents=True, exist_ok=True)
    train = frame(3000, 1)
    features = ["spend", "tenure", "usage", "north"]
    baseline = LinearRegression().fit(train[features], train.y)
    candidate = LinearRegression().fit(train[features], train.y + NORTH_LIFT * train.north)
    skops.io.dump(baseline, folder / "baseline.skops")
    skops.io.dump(candidate, folder / "candidate.skops")
    frame(600, 2).to_parquet(folder / "golden.parquet")
    train.iloc[:1500].to_parquet(folder / "reference.parquet")
    current = frame(1000, 3)
    current["spend"] *= CENTS
    current.to_parquet(folder / "current.parquet")
    config = {
        "model": "candidate.skops", "baseline": "baseline.skops", "target": "y", "golden": "golden.parquet",
        "segments": ["region"], "reference": "reference.parquet", "current": "current.parquet", "output": "out",
        "sources": SOURCES,
        "consistency": {"segments": {"region=north": {"max_mean_shift": 0.1},
                                     "region=south": {"max_mean_shift": 0.3}}},
        "golden_benchmark": {"n_bootstrap": 200, "latency": {"single_row_calls": 10},
                             "robustness": {"max_rows": 100}},
        "drift": {"n_bootstrap": 200, "multivariate_rows": 500},
        **(config_extra or {}),
    }
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def attribution_run(tmp_path_factory):
    folder = write_project(tmp_path_factory.mktemp("attribution") / "project")
    result = run_readiness(["run"], cwd=folder, timeout=400)
    out = folder / "out"
    docs = {r: json.loads((out / f"{r}.json").read_text(encoding="utf-8")) for r in ("golden_benchmark", "drift_report")}
    return folder, result, docs


def checks_of(doc: dict) -> dict[str, dict]:
    return {c["id"]: c for c in doc["checks"]}


# --------------------------------------------------------------------------- end to end, through the notebooks


@pytest.mark.notebooks
def test_golden_benchmark_says_which_source_moved_north_and_decides_the_guarantees(attribution_run):
    folder, result, docs = attribution_run
    assert result.returncode == 1, result.stderr  # the north guarantee fails: not ready
    checks = checks_of(docs["golden_benchmark"])
    attribution = checks["golden.attribution"]
    assert attribution["status"] == "pass" and attribution["severity"] == "info"
    details = attribution["details"]
    # every contribution with its CI, and the total with its CI: on the same rows the overall change is the model's
    assert set(details["contributions"]) == {"model", *SOURCES}
    assert all(len(c["ci"]) == 2 for c in details["contributions"].values())
    north_share = float((frame(600, 2).north == 1).mean())
    assert details["total"]["value"] == pytest.approx(NORTH_LIFT * north_share, abs=0.02)
    assert details["contributions"]["model"]["value"] == pytest.approx(details["total"]["value"], abs=1e-9)
    low, high = details["total"]["ci"]
    assert low < details["total"]["value"] < high
    # north: the release everywhere plus the accounts feed's north column, summing exactly to the segment's shift
    north = details["segments"]["region=north"]
    parts = north["contributions"]
    assert sum(c["value"] for c in parts.values()) == pytest.approx(north["total"]["value"], abs=1e-9)
    assert north["total"]["value"] == pytest.approx(NORTH_LIFT, abs=0.02)
    assert max((n for n in parts if n != "model"), key=lambda n: abs(parts[n]["value"])) == "accounts"
    assert parts["accounts"]["ci"][0] > 0.2
    assert all(abs(parts[n]["value"]) < 0.02 for n in ("crm_export", "usage_feed"))
    # the guarantees, decided on CIs: north moved 0.5 (> 0.1 across the CI), south did not move (< 0.3)
    failed = checks["golden.guarantee.mean_shift[region=north]"]
    assert failed["status"] == "fail" and failed["ci"][0] > 0.1 and "accounts" in failed["message"]
    assert checks["golden.guarantee.mean_shift[region=south]"]["status"] == "pass"
    html = (folder / "out" / "golden_benchmark.html").read_text(encoding="utf-8")
    assert "What moved, and from where" in html and html.count("data:image/png;base64") >= 4
    assert "golden.guarantee.mean_shift[region=north]" in (folder / "out" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.notebooks
def test_drift_report_gives_the_planted_source_the_change_and_the_model_its_share(attribution_run):
    folder, _, docs = attribution_run
    check = checks_of(docs["drift_report"])["drift.attribution"]
    assert check["status"] == "pass"
    details = check["details"]
    contributions, total = details["contributions"], details["total"]
    assert set(contributions) == {"model", *SOURCES}  # two models: the model is a player
    assert sum(c["value"] for c in contributions.values()) == pytest.approx(total["value"], rel=1e-9)
    assert contributions["crm_export"]["value"] >= 0.9 * total["value"]  # the unit change carries it
    # the closed form: the new model's spend coefficient times the change in mean spend (uniform samples)
    assert contributions["crm_export"]["value"] == pytest.approx(0.2 * 3.0 * (CENTS - 1), rel=0.1)
    assert contributions["model"]["value"] == pytest.approx(NORTH_LIFT * 0.3, abs=0.1)
    assert all(c["ci"][0] <= c["value"] <= c["ci"][1] for c in contributions.values())
    assert details["models"]["old"]["role"] == "baseline" and details["models"]["new"]["role"] == "model"
    html = (folder / "out" / "drift_report.html").read_text(encoding="utf-8")
    assert "What moved the predictions, and from where" in html and "crm_export" in html


@pytest.mark.notebooks
def test_without_a_baseline_the_drift_split_is_by_source_only_and_the_guarantees_skip(tmp_path):
    folder = write_project(tmp_path / "project", {"baseline": None})
    result = run_readiness(["run"], cwd=folder, timeout=400)
    assert result.returncode in (0, 1), result.stderr
    golden = checks_of(json.loads((folder / "out" / "golden_benchmark.json").read_text()))
    assert golden["golden.attribution"]["status"] == "skip" and "baseline" in golden["golden.attribution"]["message"]
    assert golden["golden.guarantee.mean_shift[region=north]"]["status"] == "skip"
    drift = checks_of(json.loads((folder / "out" / "drift_report.json").read_text()))["drift.attribution"]
    assert "model" not in drift["details"]["contributions"] and "crm_export" in drift["details"]["contributions"]
    assert sum(c["value"] for c in drift["details"]["contributions"].values()) == pytest.approx(
        drift["details"]["total"]["value"], rel=1e-9)


# --------------------------------------------------------------------------- config errors: one line


@pytest.mark.parametrize("extra, expected", [
    ({"sources": {"model": ["spend"]}}, "readiness.yaml: sources: source name 'model' is reserved"),
    ({"sources": {"crm": ["spend"], "feed": ["spend"]}},
     "readiness.yaml: sources: column 'spend' is listed in both 'crm' and 'feed'"),
    ({"sources": {"crm": []}}, "readiness.yaml: sources: source 'crm' lists no columns"),
    ({"sources": ["spend"]}, "readiness.yaml: sources: Input should be a valid dictionary"),
    ({"consistency": {"segments": {"north": {"max_mean_shift": 0.1}}}},
     "readiness.yaml: consistency.segments: 'north' must be written column=value"),
    ({"consistency": {"segments": {"region=north": {"max_mean_shif": 0.1}}}},
     "readiness.yaml: unknown key 'consistency.segments.region=north.max_mean_shif' under "
     "'consistency.segments.region=north' (did you mean 'max_mean_shift'?)"),
    ({"consistency": {"segments": {"region=north": {"max_flip_rate": 2}}}},
     "readiness.yaml: consistency.segments.region=north.max_flip_rate: Input should be less than or equal to 1"),
    ({"consistency": {"segments": {"region=north": {}}}},
     "readiness.yaml: consistency.segments.region=north: set max_mean_shift and/or max_flip_rate"),
    ({"golden_benchmark": {"attribution": {"max_exact_player": 3}}},
     "readiness.yaml: unknown key 'golden_benchmark.attribution.max_exact_player'"),
    ({"drift": {"attribution": {"max_rows": 5}}},
     "readiness.yaml: drift.attribution.max_rows: Input should be greater than or equal to 1000"),
])
def test_bad_attribution_keys_are_one_line_naming_the_key(extra, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config({"model": "m.skops", "golden": "g.csv", "target": "y", **extra})
    message = str(caught.value)
    assert message.startswith(expected) and "\n" not in message


def test_good_attribution_keys_reach_both_notebooks_as_given(tmp_path):
    from readiness.registry import RunContext, registry

    config = parse_config({"model": "m.skops", "baseline": "b.skops", "golden": "g.csv", "target": "y",
                           "reference": "r.csv", "current": "c.csv", "sources": SOURCES,
                           "consistency": {"segments": {"region=north": {"max_flip_rate": 0.05}}}}, base_dir=tmp_path)
    golden = registry.get("golden_benchmark").parameters(config, RunContext())
    drift = registry.get("drift_report").parameters(config, RunContext())
    assert golden["sources"] == drift["sources"] == SOURCES
    assert golden["consistency"] == {"segments": {"region=north": {"max_mean_shift": None, "max_flip_rate": 0.05}}}
    assert drift["baseline_path"] == str(tmp_path / "b.skops")
    assert golden["settings"]["attribution"]["enabled"] is True


def test_the_kernel_says_what_the_cli_says_about_bad_sources():
    from readiness.reports.golden.attribution import attribution_inputs

    with pytest.raises(ConfigError, match=r"^notebook parameters: sources: source name 'unassigned' is reserved"):
        attribution_inputs({"unassigned": ["a"]}, {})
    with pytest.raises(ConfigError, match=r"^notebook parameters: consistency.segments: 'x' must be written"):
        attribution_inputs({}, {"segments": {"x": {"max_mean_shift": 1}}})


@pytest.mark.notebooks
def test_segment_criteria_on_a_column_the_golden_set_lacks_stop_before_any_kernel(tmp_path):
    folder = write_project(tmp_path / "project", {
        "consistency": {"segments": {"country=north": {"max_mean_shift": 0.1}}}})
    result = run_readiness(["run", "--only", "golden_benchmark"], cwd=folder)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "consistency.segments: 'country=north' names column 'country'" in lines[0]
    assert not (folder / "out" / "golden_benchmark.html").exists()


def test_the_demo_sentence_names_the_feed_that_carried_the_segment(tmp_path):
    from readiness.demo import release_sentence

    assert release_sentence(tmp_path) is None  # no results: nothing to say, no traceback
    segment = {"total": {"value": 0.0768, "ci": [0.0681, 0.086]},
               "contributions": {"model": {"value": 0.0154, "ci": [0.013, 0.018], "kind": "model"},
                                 "accounts": {"value": 0.0586, "ci": [0.051, 0.066], "kind": "source",
                                              "columns": ["region", "plan", "channel"]},
                                 "usage_feed": {"value": 0.0024, "ci": [-0.003, 0.008], "kind": "source"}}}
    doc = {"checks": [{"id": "golden.attribution", "details": {"segments": {"region=north": segment}}}]}
    (tmp_path / "golden_benchmark.json").write_text(json.dumps(doc), encoding="utf-8")
    assert release_sentence(tmp_path) == (
        "Region north's mean churn score moved +0.077 (95% CI 0.068 to 0.086): +0.015 is the release everywhere, "
        "+0.059 (95% CI 0.051 to 0.066) came through the accounts feed's columns (region, plan, channel).")
    assert release_sentence(tmp_path, "region=south") is None


def test_attribution_tables_write_control_characters_out():
    from readiness.reports.drift import attribution as drift_attribution
    from readiness.reports.golden import attribution as golden_attribution
    from readiness.stats.attribution.decomposition import (Attribution, Contribution, DataAttribution,
                                                           ReleaseAttribution)

    fake = "\x1b[2K\x1b[1AVerdict: PASS\u202e"
    split = Attribution("mean P(1)", 0.1, 0.2, [Contribution("model", "model", 0.05, (0.0, 0.1)),
                                                Contribution(fake, "source", 0.05, (0.0, 0.1))], (0.05, 0.15))
    tables = [golden_attribution._table(ReleaseAttribution("P(1)", split, {f"region={fake}": split}, None, None)),
              drift_attribution._table(DataAttribution("P(1)", split, {f"region={fake}": split}))]
    for table in tables:
        text = " ".join(map(str, [*table.columns, *table["rows"]]))
        assert "\x1b" not in text and "\u202e" not in text and "\\x1b[2K" in text and "\\u202e" in text
