"""Data-chaos robustness: crash / changed / unchanged, rules, determinism."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from readiness.artifacts.loading import ModelAdapter
from readiness.config import ConfigError, GoldenBenchmarkConfig, RobustnessConfig
from readiness.artifacts.loading import Scorer
from readiness.reports.golden.robustness import column_stats, run_trials, wilson_interval


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                          "colour": rng.choice(["red", "green", "blue"], n)})
    y = (frame.x + (frame.colour == "red") + rng.normal(0, 0.5, n) > 0.5).astype(int)
    return frame, y


def classifier(handle_unknown):
    prep = ColumnTransformer([("num", "passthrough", ["x", "z"]),
                              ("cat", OneHotEncoder(handle_unknown=handle_unknown), ["colour"])])
    return Pipeline([("prep", prep), ("model", LogisticRegression())])


def trials(model, frame, task="binary", **settings):
    result = run_trials(Scorer(ModelAdapter(model, "candidate"), task), frame, RobustnessConfig(**settings), seed=0)
    return result, {(t.column, t.perturbation): t for t in result.trials}


def test_one_hot_encoder_with_handle_unknown_error_crashes_on_an_unseen_category():
    frame, y = data()
    _, found = trials(classifier("error").fit(frame, y), frame)
    trial = found[("colour", "unseen_category")]
    assert trial.outcome == "crash"
    assert trial.error.startswith("ValueError: Found unknown categories ['__readiness_unseen__']")


def test_with_handle_unknown_ignore_the_change_is_computed_exactly():
    frame, y = data()
    model = classifier("ignore").fit(frame, y)
    _, found = trials(model, frame, tolerance=0.05)
    trial = found[("colour", "unseen_category")]
    before = model.predict_proba(frame)
    after = model.predict_proba(frame.assign(colour="__readiness_unseen__"))
    expected = ((before.argmax(1) != after.argmax(1)) | (np.abs(after - before).max(1) > 0.05)).mean()
    assert trial.outcome == ("changed" if expected else "unchanged")
    assert trial.share == pytest.approx(expected)
    assert trial.ci[0] <= trial.share <= trial.ci[1]


def test_dataset_level_perturbations_and_string_numbers():
    frame, y = data()
    _, found = trials(classifier("ignore").fit(frame, y), frame)
    assert found[("(all columns)", "shuffled_columns")].outcome == "unchanged"  # sklearn selects by name
    assert found[("(all columns)", "extra_column")].outcome == "unchanged"
    assert found[("x", "out_of_range")].outcome == "changed"
    assert ("colour", "noise") not in found and ("x", "unseen_category") not in found  # kinds respected


def test_missing_optional_column_only_when_declared():
    frame, y = data()
    model = classifier("ignore").fit(frame, y)
    _, found = trials(model, frame)
    assert not any(p == "missing_column" for _, p in found)
    _, found = trials(model, frame, optional_columns=["z"])
    assert found[("z", "missing_column")].outcome == "crash" and "columns are missing" in found[("z", "missing_column")].error


def regression_frame(n=200, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"area": rng.uniform(20, 200, n), "noise_col": rng.normal(size=n)})
    return frame, 3 * frame.area + rng.normal(0, 5, n)


def test_direction_rules_pass_for_a_monotone_model_and_fail_the_opposite():
    frame, y = regression_frame()
    model = HistGradientBoostingRegressor(max_iter=30, monotonic_cst=[1, 0]).fit(frame, y)
    result, _ = trials(model, frame, "regression", perturbations=[], direction={"area": "increasing"})
    assert result.rules[0]["status"] == "pass" and result.rules[0]["message"].startswith("changed as declared")
    result, _ = trials(model, frame, "regression", perturbations=[], direction={"area": "decreasing"})
    assert result.rules[0]["status"] == "fail" and "the wrong way" in result.rules[0]["message"]


def test_an_invariant_column_that_the_model_uses_is_caught():
    frame, y = regression_frame()
    uses_area_only = Pipeline([("pick", ColumnTransformer([("a", "passthrough", ["area"])])),
                               ("model", LinearRegression())]).fit(frame, y)
    result, _ = trials(uses_area_only, frame, "regression", perturbations=[], invariant=["noise_col", "area"])
    rules = {r["column"]: r for r in result.rules}
    assert rules["noise_col"]["status"] == "pass" and rules["noise_col"]["message"].startswith("unchanged")
    assert rules["area"]["status"] == "fail" and rules["area"]["message"].startswith("changed")


def test_results_are_deterministic():
    frame, y = data()
    model = classifier("ignore").fit(frame, y)
    first, _ = trials(model, frame)
    second, _ = trials(model, frame)
    assert [(t.column, t.perturbation, t.outcome, t.share) for t in first.trials] == \
           [(t.column, t.perturbation, t.outcome, t.share) for t in second.trials]


def test_perturbations_are_scaled_by_the_data():
    stats = column_stats(pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 100], "b": ["x"] * 6}))
    assert stats["a"].kind == "numeric" and stats["a"].iqr == pytest.approx(2.5) and stats["a"].high == 100
    assert stats["b"].kind == "categorical"


def test_wilson_interval_matches_the_formula():
    low, high = wilson_interval(5, 100)
    z = 1.959963984540054
    p, n = 0.05, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half))


def test_config_is_validated():
    with pytest.raises(Exception, match="unknown perturbation 'nans' \\(did you mean 'nan'\\?\\)"):
        GoldenBenchmarkConfig.model_validate({"robustness": {"expected": ["nans"]}})
    with pytest.raises(Exception, match="Input should be 'increasing' or 'decreasing'"):
        GoldenBenchmarkConfig.model_validate({"robustness": {"direction": {"x": "up"}}})


def test_gate_in_the_golden_benchmark(tmp_path):
    """An expected perturbation that crashes fails; an unexpected one warns; words in messages."""
    import skops.io

    from readiness.reports.golden.benchmark import GoldenBenchmark

    frame, y = data(400)
    skops.io.dump(classifier("error").fit(frame, y), tmp_path / "m.skops")
    frame.assign(label=y).to_csv(tmp_path / "g.csv", index=False)
    common = dict(model_path=str(tmp_path / "m.skops"), golden_path=str(tmp_path / "g.csv"), target="label")
    settings = {"n_bootstrap": 100, "robustness": {"expected": ["unseen_category"], "invariant": ["z"]}}
    bench = GoldenBenchmark(**common, settings=settings)
    checks = {c.id: c for c in bench.robustness_section().checks}
    crash = checks["golden.robustness.unseen_category"]  # one finding per perturbation
    assert crash.status == "fail" and crash.message.startswith("crash in 1 of 1 column (colour)")
    assert crash.details["columns"]["colour"]["outcome"] == "crash"
    assert checks["golden.robustness.invariant[z]"].status == "fail"
    for check in checks.values():
        if check.details:
            assert check.message.split(" ")[0].rstrip(":;") in ("crash", "changed", "no", "refused")
    bench = GoldenBenchmark(**common, settings={"n_bootstrap": 100})
    assert {c.id: c for c in bench.robustness_section().checks}["golden.robustness.unseen_category"].status == "warn"
    assert bench.robustness_figure()._repr_png_().startswith(b"\x89PNG")
    with pytest.raises(ConfigError, match="robustness.invariant: 'nope' not among the model's features"):
        GoldenBenchmark(**common, settings={"n_bootstrap": 100, "robustness": {"invariant": ["nope"]}}).robustness_section()
