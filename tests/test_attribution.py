"""Attribution of a change to the model and to data sources: closed forms, exact sums, CIs, planted faults."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.base import BaseEstimator, RegressorMixin

from readiness.exceptions import InputError
from readiness.figures.attribution import literal, waterfall_figure
from readiness.stats.attribution import (MODEL_PLAYER, AttributionSettings, SegmentGuarantees, SourcesConfig,
                                         data_attribution, data_attribution_check, release_attribution,
                                         release_attribution_check, resolve_sources, segment_consistency_checks,
                                         shapley_coefficients, unread_source_columns)
from readiness.stats.attribution.shapley import coupling
from readiness.results import Check, report_document

COLUMNS = ["x0", "x1", "x2", "x3", "x4", "x5"]
SOURCES = {"crm": ["x0", "x1"], "usage": ["x2", "x3"], "billing": ["x4", "x5"]}


class FixedModel(RegressorMixin, BaseEstimator):
    """``c + X @ beta + gamma · x0 · x3``: every contribution is known in closed form."""

    def __init__(self, beta=None, intercept=0.0, gamma=0.0, calls=None):
        self.beta = beta
        self.intercept = intercept
        self.gamma = gamma
        self.calls = calls

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        if self.calls is not None:
            self.calls.append(len(X))
        values = X[COLUMNS].to_numpy(dtype=float)
        return self.intercept + values @ np.asarray(self.beta) + self.gamma * values[:, 0] * values[:, 3]


def fixed(beta, intercept=0.0, gamma=0.0, calls=None):
    return FixedModel(beta, intercept, gamma, calls).fit(pd.DataFrame(columns=COLUMNS))


def frame(n, mean, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, len(COLUMNS))) + np.asarray(mean), columns=COLUMNS)


BETA0 = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0])
BETA1 = BETA0 + np.array([0.3, 0.0, 0.0, -0.5, 1.0, 0.0])
SHIFT = np.array([0.5, 0.0, -1.0, 0.2, 0.0, 0.3])


def group_sum(values, source):
    return float(sum(values[COLUMNS.index(c)] for c in SOURCES[source]))


# --------------------------------------------------------------------------- closed forms


def test_shapley_coefficients_are_the_shapley_weights():
    # three players, v = |S|² : symmetric, so each gets v(N)/3 = 3
    k = 3
    masks = np.arange(2**k)
    v = np.array([bin(m).count("1") ** 2 for m in masks], dtype=float)
    assert np.allclose(shapley_coefficients(k) @ v, 3.0)
    # a dummy player (never changes v) gets zero; the others split the rest
    v = np.array([float(m & 0b011 == 0b011) for m in masks])
    assert np.allclose(shapley_coefficients(k) @ v, [0.5, 0.5, 0.0])


def test_coupling_keeps_both_marginals_exactly():
    rng = np.random.default_rng(0)
    for n_new, n_old in [(7, 7), (5, 13), (13, 5), (1, 9), (1000, 333)]:
        design = coupling(n_new, n_old, rng)
        assert len(design.weight) <= n_new + n_old - 1
        assert np.allclose(np.bincount(design.new_rows, design.weight, n_new), 1 / n_new)
        assert np.allclose(np.bincount(design.old_rows, design.weight, n_old), 1 / n_old)
        assert np.allclose(np.bincount(design.cluster, design.weight), 1 / min(n_new, n_old))


def test_linear_model_matches_the_closed_form_to_1e9():
    """One model, reference → current: source contribution = Σ βⱼ·ΔE[xⱼ] (exact mode, unequal sizes)."""
    reference, current = frame(500, 0.0, 1), frame(333, SHIFT, 2)
    result = data_attribution(fixed(BETA0, 1.0), reference, current, "regression", sources=SOURCES, n_bootstrap=100)
    delta_mean = current.mean().to_numpy() - reference.mean().to_numpy()
    attribution = result.mean_prediction
    assert attribution.method == "exact"
    for source in SOURCES:
        expected = group_sum(BETA0 * delta_mean, source)
        assert abs(attribution.by_name[source].value - expected) < 1e-9
    assert MODEL_PLAYER not in attribution.by_name


def test_two_models_two_data_sets_match_the_order_free_oaxaca_blinder_closed_form():
    reference, current = frame(400, 0.0, 3), frame(450, SHIFT, 4)
    old, new = fixed(BETA0, 1.0), fixed(BETA1, 1.5)
    result = data_attribution(old, reference, current, "regression", sources=SOURCES, new_model=new, n_bootstrap=100)
    mu0, mu1 = reference.mean().to_numpy(), current.mean().to_numpy()
    a = result.mean_prediction
    model_expected = 0.5 + float(((BETA1 - BETA0) * (mu0 + mu1) / 2).sum())
    assert abs(a.by_name["model"].value - model_expected) < 1e-9
    for source in SOURCES:
        assert abs(a.by_name[source].value - group_sum((BETA0 + BETA1) / 2 * (mu1 - mu0), source)) < 1e-9
    total = new.predict(current).mean() - old.predict(reference).mean()
    assert abs(a.total - total) < 1e-12
    assert abs(sum(c.value for c in a.contributions) - total) < 1e-12


def test_permutation_sampling_is_exact_on_an_additive_game_and_within_its_ci_otherwise():
    """One linear model: a source's marginal contribution does not depend on the order, so one order suffices.
    With two models the model interacts with every source, and one order per pair is an estimate."""
    reference, current = frame(300, 0.0, 5), frame(300, SHIFT, 6)
    for new_model in (None, fixed(BETA1, 0.5)):
        kwargs = dict(sources=SOURCES, new_model=new_model, n_bootstrap=200)
        sampled = data_attribution(fixed(BETA0), reference, current, "regression", settings={"max_exact_players": 2},
                                   **kwargs).mean_prediction
        exact = data_attribution(fixed(BETA0), reference, current, "regression", **kwargs).mean_prediction
        assert sampled.method.startswith("permutation")
        for name, c in exact.by_name.items():
            estimate = sampled.by_name[name]
            if new_model is None:
                assert abs(estimate.value - c.value) < 1e-9
            else:
                assert abs(estimate.value - c.value) <= 3 * estimate.standard_error


def test_release_on_the_same_rows_is_the_model_over_all_rows_and_sources_explain_segments():
    X = frame(800, 0.0, 7)
    old, new = fixed(BETA0, 1.0), fixed(BETA1, 1.5)
    north = X["x0"].to_numpy() > 0.5
    result = release_attribution(new, old, X, "regression", sources=SOURCES, segments={"x0>0.5": north},
                                 n_bootstrap=300)
    everywhere = result.mean_prediction
    mean_delta = float((new.predict(X) - old.predict(X)).mean())
    assert abs(everywhere.by_name["model"].value - mean_delta) < 1e-9
    for source in SOURCES:  # same rows, additive difference: no source moves the overall mean
        assert abs(everywhere.by_name[source].value) < 1e-9
    segment = result.segments["x0>0.5"]
    assert abs(segment.total - float((new.predict(X) - old.predict(X))[north].mean())) < 1e-12
    assert abs(sum(c.value for c in segment.contributions) - segment.total) < 1e-12
    # in a segment: Σ Δβⱼ·(E[xⱼ | segment] − E[xⱼ]), up to the random background partners (inside the CI)
    gap = X[north].mean().to_numpy() - X.mean().to_numpy()
    for source in SOURCES:
        c = segment.by_name[source]
        expected = group_sum((BETA1 - BETA0) * gap, source)
        assert abs(c.value - expected) <= 4 * c.standard_error + 1e-9, (source, c.value, expected)
    assert segment.by_name["crm"].value > 0.1  # x0 selects the segment and its coefficient changed


# --------------------------------------------------------------------------- exact sums with interactions


def interaction_truth(mu0, mu1, model_old, model_new, with_model):
    """Shapley values of the population game (independent features): closed form by enumerating coalitions."""
    names = ([MODEL_PLAYER] if with_model else []) + list(SOURCES)
    k = len(names)
    values = np.empty(2**k)
    for mask in range(2**k):
        members = {name for p, name in enumerate(names) if mask >> p & 1}
        model = model_new if MODEL_PLAYER in members else model_old
        new_columns = {c for s in members if s != MODEL_PLAYER for c in SOURCES[s]}
        mu = np.where([c in new_columns for c in COLUMNS], mu1, mu0)
        # x0 and x3 come from different sources and are independent: E[x0·x3] = μ0·μ3
        values[mask] = model.intercept + mu @ np.asarray(model.beta) + model.gamma * mu[0] * mu[3]
    return dict(zip(names, shapley_coefficients(k) @ values))


@pytest.mark.parametrize("settings", [{}, {"max_exact_players": 2}, {"max_evaluations": 1000}])
def test_with_interactions_contributions_sum_exactly_to_the_total(settings):
    reference, current = frame(700, 0.0, 8), frame(520, SHIFT, 9)
    old, new = fixed(BETA0, 1.0, gamma=2.0), fixed(BETA1, 1.5, gamma=-1.0)
    for new_model in (None, new):
        result = data_attribution(old, reference, current, "regression", sources=SOURCES, new_model=new_model,
                                  settings=settings, n_bootstrap=100)
        a = result.mean_prediction
        total = (new_model or old).predict(current).mean() - old.predict(reference).mean()
        assert abs(a.total - total) < 1e-12
        assert abs(sum(c.value for c in a.contributions) - total) < 1e-12
        if settings.get("max_evaluations"):
            assert "pairs" in a.note and a.evaluated_pairs < 520


def test_interaction_model_matches_the_population_shapley_values_within_the_ci():
    reference, current = frame(4000, 0.0, 10), frame(4000, SHIFT, 11)
    old, new = fixed(BETA0, 1.0, gamma=2.0), fixed(BETA1, 1.5, gamma=-1.0)
    result = data_attribution(old, reference, current, "regression", sources=SOURCES, new_model=new, n_bootstrap=300)
    truth = interaction_truth(np.zeros(6), SHIFT, old, new, True)
    for name, value in truth.items():  # unbiased; the bootstrap SE matches the spread over seeds
        c = result.mean_prediction.by_name[name]
        assert abs(c.value - value) <= 3.5 * c.standard_error, (name, c.value, c.standard_error, value)


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("blocks", [20_000, 50])
def test_bootstrap_cis_cover_the_truth_at_about_their_nominal_rate(blocks):
    """Modest simulation (benchmarks/bench_attribution.py --coverage runs 400 replications); with 50
    blocks the 250 clusters are resampled in random groups of five, as 100k rows are by default."""
    old, new = fixed(BETA0, 1.0, gamma=2.0), fixed(BETA1, 1.5, gamma=-1.0)
    truth = interaction_truth(np.zeros(6), SHIFT, old, new, True)
    hits, trials = 0, 0
    for replication in range(40):
        reference, current = frame(300, 0.0, 1000 + replication), frame(250, SHIFT, 5000 + replication)
        result = data_attribution(old, reference, current, "regression", sources=SOURCES, new_model=new,
                                  n_bootstrap=200, seed=replication, settings={"bootstrap_blocks": blocks})
        for name, value in truth.items():
            low, high = result.mean_prediction.by_name[name].ci
            hits += low <= value <= high
            trials += 1
    coverage = hits / trials
    assert 0.88 <= coverage <= 0.995, coverage  # nominal 0.95; 160 intervals


# --------------------------------------------------------------------------- planted faults on real data


def test_a_feed_switched_to_other_units_gets_at_least_90_percent_of_the_attribution():
    """Real data (scikit-learn's diabetes set, raw units), a gradient-boosting model, and the lab feed
    switching from mg/dL to mmol/L for cholesterol (÷38.67) and glucose (÷18)."""
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import HistGradientBoostingRegressor

    data = load_diabetes(as_frame=True, scaled=False)
    X, y = data.frame.drop(columns="target"), data.target
    order = np.random.default_rng(0).permutation(len(X))
    train, later = order[:250], order[250:]
    model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(X.iloc[train], y.iloc[train])
    sources = {"clinic_intake": ["age", "sex", "bmi", "bp"], "lab_feed": ["s1", "s2", "s3", "s4", "s5", "s6"]}
    current = X.iloc[later].copy()
    current[["s1", "s2", "s3"]] /= 38.67
    current["s6"] /= 18
    result = data_attribution(model, X.iloc[train], current, "regression", sources=sources, n_bootstrap=200)
    a = result.mean_prediction
    assert a.total_ci[0] > 0  # the mean prediction moved
    assert a.by_name["lab_feed"].value / a.total >= 0.9, a.summary()
    lab, intake = a.by_name["lab_feed"].ci, a.by_name["clinic_intake"].ci
    assert lab[0] > 0 and intake[0] < 0 < intake[1]  # only the switched feed is distinguishable from zero


def test_a_planted_source_change_dominates_the_full_split_on_real_classification_data():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    sources = {kind: [c for c in X.columns if c.startswith(kind) or (kind == "mean" and c.startswith("mean "))]
               for kind in ("mean", "worst")}
    sources["se"] = [c for c in X.columns if c.endswith(" error")]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(X))
    old_rows, new_rows = order[:280], order[280:]
    old = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(X.iloc[old_rows], y.iloc[old_rows])
    new = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=7,
                                         random_state=0).fit(X.iloc[old_rows], y.iloc[old_rows])
    current = X.iloc[new_rows].copy()
    worst = sources["worst"]
    current[worst] = current[worst] * 1.8  # the "worst" feed now arrives in other units
    result = data_attribution(old, X.iloc[old_rows], current, "binary", sources=sources, new_model=new,
                              n_bootstrap=200)
    a = result.mean_prediction
    assert abs(sum(c.value for c in a.contributions) - a.total) < 1e-12
    assert a.by_name["worst"].value / a.total >= 0.9, a.summary()
    assert abs(a.by_name["model"].value) > 0  # a different model: the model is a real player here


# --------------------------------------------------------------------------- releases: metric and flips


def test_release_metric_and_flip_games_end_exactly_at_the_two_models():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from readiness.demo import make_customers

    golden = make_customers(1500, 3)
    train = make_customers(4000, 4)
    numeric = ["tenure_months", "monthly_spend", "usage_hours", "n_products", "support_calls"]
    baseline = LogisticRegression(max_iter=500).fit(train[numeric[:4]], train["churned"])
    candidate = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(train[numeric], train["churned"])
    sources = {"crm_export": ["tenure_months", "monthly_spend", "n_products"], "usage_feed": ["usage_hours", "support_calls"]}
    y = golden["churned"].to_numpy()
    result = release_attribution(candidate, baseline, golden, "binary", y=y, sources=sources, metric="roc_auc",
                                 segments=["region=north"], n_bootstrap=200)
    p1 = candidate.predict_proba(golden[numeric])[:, 1]
    p0 = baseline.predict_proba(golden[numeric[:4]])[:, 1]
    metric = result.metric
    assert abs(metric.start - roc_auc_score(y, p0)) < 1e-9 and abs(metric.end - roc_auc_score(y, p1)) < 1e-9
    assert abs(sum(c.value for c in metric.contributions) - metric.total) < 1e-12
    flips = result.flips
    assert flips.start == 0 and abs(flips.end - np.mean((p1 >= 0.5) != (p0 >= 0.5))) < 1e-12
    assert abs(sum(c.value for c in flips.contributions) - flips.total) < 1e-12
    assert abs(result.mean_prediction.total - (p1 - p0).mean()) < 1e-12
    # support_calls is only in the candidate: the usage feed carries most of the metric change
    assert metric.by_name["usage_feed"].value > metric.by_name["crm_export"].value
    north = (golden["region"] == "north").to_numpy()
    segment_metric, segment_flips = result.segment_metrics["region=north"], result.segment_flips["region=north"]
    assert abs(segment_metric.start - roc_auc_score(y[north], p0[north])) < 1e-9
    assert abs(segment_metric.end - roc_auc_score(y[north], p1[north])) < 1e-9
    assert abs(sum(c.value for c in segment_metric.contributions) - segment_metric.total) < 1e-12
    assert abs(segment_flips.end - np.mean((p1 >= 0.5)[north] != (p0 >= 0.5)[north])) < 1e-12
    assert abs(sum(c.value for c in segment_flips.contributions) - segment_flips.total) < 1e-12


def test_multiclass_release_with_log_loss_and_a_chosen_class():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    data = load_iris(as_frame=True)
    X, y = data.data, data.target.to_numpy()
    old = LogisticRegression(max_iter=500, C=0.05).fit(X, y)
    new = LogisticRegression(max_iter=500, C=5.0).fit(X, y)
    sources = {"sepal": ["sepal length (cm)", "sepal width (cm)"], "petal": ["petal length (cm)", "petal width (cm)"]}
    result = release_attribution(new, old, X, "multiclass", y=y, sources=sources, metric="log_loss", output=2,
                                 n_bootstrap=100)
    assert result.output == "P(2)"
    assert abs(result.metric.start - log_loss(y, old.predict_proba(X))) < 1e-9
    assert abs(result.metric.end - log_loss(y, new.predict_proba(X))) < 1e-9
    assert abs(sum(c.value for c in result.metric.contributions) - result.metric.total) < 1e-12
    # memory bound: with classes × budget too large, only the followed class is kept and split
    bounded = release_attribution(new, old, X, "multiclass", y=y, sources=sources, metric="log_loss", output=2,
                                  n_bootstrap=100, settings={"max_evaluations": 30_000_000})
    assert bounded.metric is None and "classes" in bounded.skipped["metric and flips"]
    for name, c in result.mean_prediction.by_name.items():
        assert abs(bounded.mean_prediction.by_name[name].value - c.value) < 1e-12


def test_predictions_are_stacked_into_few_calls():
    calls: list[int] = []
    reference, current = frame(400, 0.0, 12), frame(400, SHIFT, 13)
    data_attribution(fixed(BETA0, calls=calls), reference, current, "regression", sources=SOURCES, n_bootstrap=50)
    # the two ends (2 calls) and every mixed coalition of every pair in one more
    assert len(calls) == 3 and calls[-1] == 400 * (2**3 - 2)


# --------------------------------------------------------------------------- categoricals and mixing


def test_categorical_columns_with_a_new_category_mix_and_keep_their_dtype():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from readiness.demo import make_customers

    train = make_customers(3000, 1)
    features = ["tenure_months", "usage_hours", "channel", "plan"]
    encode = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["channel", "plan"])], remainder="passthrough")
    model = Pipeline([("e", encode), ("m", HistGradientBoostingClassifier(max_iter=40, random_state=0))])
    model.fit(train[features], train["churned"])
    reference = train[features].astype({"channel": "category", "plan": "category"})
    current = make_customers(1500, 2)[features]
    current.loc[current.index[:600], "channel"] = "app"  # a channel the model never saw
    current = current.astype({"channel": "category", "plan": "category"})
    result = data_attribution(model, reference, current, "binary",
                              sources={"web_events": ["channel"], "crm": ["tenure_months", "plan"], "usage": ["usage_hours"]},
                              n_bootstrap=100)
    a = result.mean_prediction
    assert abs(sum(c.value for c in a.contributions) - a.total) < 1e-12
    assert set(a.by_name) == {"web_events", "crm", "usage"}


# --------------------------------------------------------------------------- sources and hostile names


def test_sources_config_is_strict_and_names_the_problem():
    with pytest.raises(ValidationError, match="listed in both 'a' and 'b'"):
        SourcesConfig.model_validate({"a": ["x"], "b": ["x"]})
    with pytest.raises(ValidationError, match="reserved"):
        SourcesConfig.model_validate({"model": ["x"]})
    with pytest.raises(ValidationError, match="lists no columns"):
        SourcesConfig.model_validate({"a": []})
    with pytest.raises(ValidationError, match="column=value"):
        SegmentGuarantees.model_validate({"north": {"max_mean_shift": 0.1}})
    with pytest.raises(ValidationError, match="max_mean_shift and/or max_flip_rate"):
        SegmentGuarantees.model_validate({"region=north": {}})
    with pytest.raises(ValidationError, match="extra"):
        SegmentGuarantees.model_validate({"region=north": {"max_mean_shfit": 0.1}})
    with pytest.raises(ValidationError):
        AttributionSettings.model_validate({"max_evaluations": 10})


def test_sources_resolve_against_the_columns_the_models_read():
    assert resolve_sources({"crm": ["a"], "feed": ["z"]}, ["a", "b"]) == {"crm": ["a"], "unassigned": ["b"]}
    assert unread_source_columns({"crm": ["a"], "feed": ["z"]}, ["a", "b"]) == ["z"]
    assert resolve_sources(None, ["model", "unassigned", "x"]) == {
        "model (column)": ["model"], "unassigned (column)": ["unassigned"], "x": ["x"]}
    with pytest.raises(InputError, match="none of the listed columns"):
        resolve_sources({"crm": ["zz"]}, ["a", "b"])


HOSTILE = ["<script>alert(1)</script>", "cost_$usd$", "line\nbreak\x1b[31m", "ünïcødé 🚀", "a" * 300]


def test_hostile_source_names_are_kept_literally_in_results_checks_and_figures():
    reference, current = frame(300, 0.0, 14), frame(300, SHIFT, 15)
    sources = {HOSTILE[0]: ["x0", "x1"], HOSTILE[1]: ["x2", "x3"], HOSTILE[2]: ["x4"], HOSTILE[3]: ["x5"]}
    result = data_attribution(fixed(BETA0), reference, current, "regression", sources=sources, n_bootstrap=50)
    assert list(result.mean_prediction.by_name) == HOSTILE[:4]
    check = data_attribution_check(result)
    assert set(check.details["contributions"]) == set(HOSTILE[:4])
    document = report_document("drift_report", [check], {}, "now", 0.1)
    assert json.loads(json.dumps(document, allow_nan=False))["checks"][0]["details"]["contributions"].keys() == set(HOSTILE[:4])
    png = waterfall_figure(result.mean_prediction)._repr_png_()
    assert png[:4] == b"\x89PNG" and len(png) < 60_000
    assert literal("cost_$usd$") == r"cost_\$usd\$"
    assert "\n" not in literal("line\nbreak\x1b[31m") and "\x1b" not in literal("line\nbreak\x1b[31m")
    assert len(literal("a" * 300)) == 40


def test_waterfall_folds_many_sources_and_keeps_the_sum():
    rng = np.random.default_rng(0)
    values = rng.normal(size=30) / 100
    doc = {"quantity": "mean prediction", "start": 0.2, "end": 0.2 + values.sum(),
           "total": {"value": values.sum(), "ci": None},
           "contributions": {f"column_{i}": {"value": v, "ci": [v - 0.01, v + 0.01], "kind": "source"}
                             for i, v in enumerate(values)}}
    figure = waterfall_figure(doc)
    labels = [t.get_text() for t in figure.figure.axes[0].get_yticklabels()]
    assert labels[-1] == "total" and labels[-2] == "19 more" and len(labels) == 13


# --------------------------------------------------------------------------- failure paths


def test_bad_inputs_get_one_clear_line():
    reference, current = frame(50, 0.0, 16), frame(50, SHIFT, 17)
    with pytest.raises(InputError, match="no rows"):
        data_attribution(fixed(BETA0), reference, current.iloc[:0], "regression")
    with pytest.raises(InputError, match="lacks column"):
        data_attribution(fixed(BETA0), reference, current.drop(columns="x3"), "regression")

    class Fragile(FixedModel):
        def predict(self, X):
            if len(X) > 50:
                raise ValueError("could not convert string to float: 'abc'\nTraceback...")
            return super().predict(X)

    model = Fragile(BETA0).fit(reference)
    with pytest.raises(InputError, match=r"the reference model failed to predict on mixed rows \(ValueError: could not"):
        data_attribution(model, reference, current, "regression", sources=SOURCES)
    with pytest.raises(InputError, match="region"):
        data_attribution(fixed(BETA0), reference, current, "regression", segments=["region=north"])
    with pytest.raises(InputError, match="not one of the model's outputs"):
        release_attribution(fixed(BETA1), fixed(BETA0), reference, "regression", output="P(7)")
    with pytest.raises(InputError, match="unknown metric 'auc'"):
        release_attribution(fixed(BETA1), fixed(BETA0), reference, "regression", y=np.zeros(50), metric="auc")
    with pytest.raises(InputError, match="49 labels for 50 golden rows"):
        release_attribution(fixed(BETA1), fixed(BETA0), reference, "regression", y=np.zeros(49), metric="rmse")


def test_an_empty_segment_is_reported_not_crashed():
    reference, current = frame(100, 0.0, 18), frame(100, SHIFT, 19)
    ref_rows, cur_rows = np.arange(50), np.array([], dtype=int)
    result = data_attribution(fixed(BETA0), reference, current, "regression", segments={"empty": (ref_rows, cur_rows)},
                              n_bootstrap=50)
    assert "empty" in result.skipped and not result.segments


# --------------------------------------------------------------------------- checks


def test_attribution_checks_carry_contributions_and_total_with_cis():
    reference, current = frame(300, 0.0, 20), frame(300, SHIFT, 21)
    result = data_attribution(fixed(BETA0), reference, current, "regression", sources=SOURCES,
                              new_model=fixed(BETA1), segments={"x0>0": (reference["x0"] > 0, current["x0"] > 0)},
                              n_bootstrap=100)
    check = data_attribution_check(result)
    assert check.id == "drift.attribution" and check.status == "pass" and check.severity == "info"
    contributions = check.details["contributions"]
    assert list(contributions) == ["model", "crm", "usage", "billing"]
    assert all(len(c["ci"]) == 2 and c["ci"][0] <= c["value"] <= c["ci"][1] for c in contributions.values())
    assert abs(sum(c["value"] for c in contributions.values()) - check.details["total"]["value"]) < 1e-12
    assert check.details["total"]["ci"][0] <= check.details["total"]["value"] <= check.details["total"]["ci"][1]
    assert "x0>0" in check.details["segments"]
    assert data_attribution_check(None, "no model given").status == "skip"

    X = frame(300, 0.0, 22)
    release = release_attribution(fixed(BETA1), fixed(BETA0), X, "regression", sources=SOURCES, n_bootstrap=100)
    check = release_attribution_check(release)
    assert check.id == "golden.attribution" and list(check.details["contributions"])[0] == "model"
    assert isinstance(check, Check)


def _golden(n_north, n_south, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"region": ["north"] * n_north + ["south"] * n_south})
    baseline = rng.uniform(0.1, 0.9, n_north + n_south)
    return frame, baseline


@pytest.mark.parametrize("shift,noise,status", [
    (0.001, 0.01, "pass"),   # CI well within ±0.02
    (0.06, 0.01, "fail"),    # CI wholly beyond
    (0.02, 0.05, "warn"),    # straddles the limit: inconclusive
    (-0.06, 0.01, "fail"),   # a drop counts as much as a rise
])
def test_segment_mean_shift_is_decided_on_its_ci(shift, noise, status):
    frame, baseline = _golden(300, 300)
    rng = np.random.default_rng(1)
    candidate = baseline + np.r_[shift + rng.normal(0, noise, 300), np.zeros(300)]
    checks = segment_consistency_checks({"region=north": {"max_mean_shift": 0.02}}, frame, candidate, baseline,
                                        n_bootstrap=400)
    assert [c.id for c in checks] == ["golden.guarantee.mean_shift[region=north]"]
    assert checks[0].status == status, checks[0].message
    assert checks[0].severity == "critical" and checks[0].ci[0] <= checks[0].value <= checks[0].ci[1]


@pytest.mark.parametrize("flips,rows,status", [(0, 1000, "pass"), (40, 1000, "fail"), (0, 100, "warn"), (8, 1000, "warn")])
def test_segment_flip_rate_is_decided_on_the_exact_binomial_ci(flips, rows, status):
    from scipy.stats import binomtest

    frame, baseline = _golden(rows, 10)
    base_class = np.zeros(rows + 10, dtype=int)
    cand_class = base_class.copy()
    cand_class[:flips] = 1
    [check] = segment_consistency_checks({"region=north": {"max_flip_rate": 0.01}}, frame, baseline, baseline,
                                         cand_class, base_class, n_bootstrap=100)
    assert check.id == "golden.guarantee.flip_rate[region=north]"
    assert check.status == status, check.message
    expected = binomtest(flips, rows).proportion_ci(0.95, method="exact")
    assert check.ci == pytest.approx([expected.low, expected.high])


def test_segment_guarantees_that_cannot_be_checked_say_why():
    frame, baseline = _golden(100, 100)
    checks = segment_consistency_checks(
        {"region=east": {"max_mean_shift": 0.02}, "plan=premium": {"max_mean_shift": 0.02},
         "region=north": {"max_flip_rate": 0.01}},
        frame, baseline, baseline, n_bootstrap=100)
    by_id = {c.id: c for c in checks}
    assert by_id["golden.guarantee.mean_shift[region=east]"].status == "fail"  # no rows: cannot be shown
    assert "no rows" in by_id["golden.guarantee.mean_shift[region=east]"].message
    missing = by_id["golden.guarantee.mean_shift[plan=premium]"]
    assert missing.status == "error" and "consistency.segments" in missing.message
    assert by_id["golden.guarantee.flip_rate[region=north]"].status == "skip"


def test_segment_guarantees_with_hostile_values_and_multiclass_outputs():
    value = "<img src=x onerror=alert(1)>"
    frame = pd.DataFrame({"region": [value] * 200 + ["b"] * 200})
    rng = np.random.default_rng(2)
    base = rng.dirichlet([1, 1, 1], 400)
    cand = base.copy()
    cand[:200, 0] += 0.1
    cand[:200, 1] -= 0.1
    [check] = segment_consistency_checks({f"region={value}": {"max_mean_shift": 0.05}}, frame, cand, base,
                                         output_labels=["P(a)", "P(b)", "P(c)"], n_bootstrap=200)
    assert check.id == f"golden.guarantee.mean_shift[region={value}]"
    assert check.status == "fail" and ("(P(a))" in check.message or "(P(b))" in check.message)
    assert math.isclose(abs(check.value), 0.1, rel_tol=1e-9)


# --------------------------------------------------------------------------- modes and model kinds


def test_release_with_sampled_rows_or_permutations_still_sums_exactly_and_says_so():
    X = frame(500, 0.0, 23)
    y = X["x0"].to_numpy() + np.random.default_rng(0).normal(size=500)
    old, new = fixed(BETA0, 1.0, gamma=1.0), fixed(BETA1, 1.5, gamma=-1.0)
    truth = (new.predict(X) - old.predict(X)).mean()
    sampled = release_attribution(new, old, X, "regression", y=y, sources=SOURCES, metric="rmse",
                                  settings={"max_evaluations": 1000, "min_exact_pairs": 50}, n_bootstrap=100)
    a = sampled.mean_prediction
    assert a.method == "exact"
    assert "of 500 rows" in a.note and a.evaluated_pairs < 500
    assert abs(a.total - truth) < 1e-12 and abs(sum(c.value for c in a.contributions) - a.total) < 1e-12
    assert sampled.metric.rows["metric rows"] == a.evaluated_pairs and "computed on those rows" in sampled.metric.note
    permuted = release_attribution(new, old, X, "regression", y=y, sources=SOURCES, metric="rmse",
                                   settings={"max_exact_players": 2}, n_bootstrap=100)
    assert permuted.mean_prediction.method.startswith("permutation") and permuted.metric is None
    assert "exact mode" in permuted.skipped["metric and flips"]
    assert abs(sum(c.value for c in permuted.mean_prediction.contributions) - truth) < 1e-12


def test_models_behind_readiness_adapters_and_decision_functions():
    from sklearn.svm import LinearSVC

    from readiness.artifacts.loading import ModelAdapter
    from readiness.stats.attribution import model_outputs

    reference, current = frame(300, 0.0, 24), frame(300, SHIFT, 25)
    y = (reference["x0"] + reference["x2"] > 0).astype(int)
    svc = LinearSVC().fit(reference, y)
    outputs = model_outputs(ModelAdapter(svc, "model"), "binary")
    assert outputs.kind == "decision" and outputs.labels == ["decision function"]
    result = data_attribution(ModelAdapter(svc, "model"), reference, current, "binary", sources=SOURCES, n_bootstrap=50)
    a = result.mean_prediction
    expected = svc.decision_function(current).mean() - svc.decision_function(reference).mean()
    assert abs(a.total - expected) < 1e-12 and a.quantity == "mean decision function"


def test_multiclass_follows_the_class_that_moved_most_by_default():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    reference = frame(600, 0.0, 26)
    y = np.digitize(reference["x0"] + 0.3 * rng.normal(size=600), [-0.5, 0.5])
    model = LogisticRegression(max_iter=500).fit(reference, y)
    current = reference.assign(x0=reference["x0"] + 1.0)  # pushes rows into class 2
    result = data_attribution(model, reference, current, "multiclass", sources=SOURCES, n_bootstrap=50)
    moved = model.predict_proba(current).mean(axis=0) - model.predict_proba(reference).mean(axis=0)
    assert result.output == f"P({int(np.argmax(np.abs(moved)))})"
    assert result.mean_prediction.by_name["crm"].value / result.mean_prediction.total > 0.99


def test_exact_mode_while_the_budget_covers_enough_pairs_permutation_beyond():
    columns = [f"c{j}" for j in range(8)]
    rng = np.random.default_rng(4)
    reference = pd.DataFrame(rng.normal(size=(3000, 8)), columns=columns)
    current = reference + 0.1

    class Sum(RegressorMixin, BaseEstimator):
        def predict(self, X):
            return X.to_numpy().sum(axis=1)

    model = Sum()
    model.feature_names_in_ = np.asarray(columns, dtype=object)
    few = {"a": columns[:4], "b": columns[4:]}
    assert data_attribution(model, reference, current, "regression", sources=few,
                            n_bootstrap=50).mean_prediction.method == "exact"
    # 8 sources: 254 mixed coalitions per pair, 984 pairs in the default budget (< 2,000): one order per pair
    many = data_attribution(model, reference, current, "regression", n_bootstrap=50).mean_prediction
    assert many.method.startswith("permutation") and many.players == 8
    for c in many.contributions:  # additive: exact whatever the order
        assert abs(c.value - 0.1) < 1e-9


@pytest.mark.parametrize("module", [*(f"readiness.stats.attribution.{m}" for m in
                                                ("settings", "outputs", "decomposition", "shapley", "data", "release",
                                                 "checks")), "readiness.figures.attribution",
                                    "readiness.reports.golden.attribution", "readiness.reports.drift.attribution"])
def test_docstring_examples_hold(module):
    import doctest
    import importlib

    # the flags of tests/test_docstrings.py, which runs every module's examples the same way
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_data_segments_may_name_a_column_the_model_does_not_read():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"a": rng.normal(size=400), "region": rng.choice(["north", "south"], 400)})
    current = reference.assign(a=reference["a"] + np.where(reference["region"] == "north", 1.0, 0.0))
    model = LinearRegression().fit(reference[["a"]], 2 * reference["a"])
    result = data_attribution(model, reference, current, "regression", segments=["region=north", "region=south"],
                              n_bootstrap=50)
    assert result.segments["region=north"].by_name["a"].value == pytest.approx(2.0, abs=1e-9)
    assert result.segments["region=south"].by_name["a"].value == pytest.approx(0.0, abs=1e-9)
