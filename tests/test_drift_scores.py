"""Profiles merge exactly; drift scores agree with scipy within the binning tolerance."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from readiness.stats.drift_scores import METHODS, column_scores, psi, quality_shifts
from readiness.stats.profile import (OTHER, UNSEEN, ColumnProfile, fit_reference, infer_kind, load_profile,
                               merge_profiles, profile_frame, save_profile)

TOLERANCE = 0.005  # 100 quantile + 100 equal-width bins: measured errors stay under 0.002


def frames(shift=0.0, scale=1.0, n_ref=20_000, n_cur=5_000, seed=0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(0, 1, n_ref), "c": rng.choice(list("abcd"), n_ref, p=[0.4, 0.3, 0.2, 0.1])})
    cur = pd.DataFrame({"x": rng.normal(shift, scale, n_cur), "c": rng.choice(list("abcd"), n_cur, p=[0.25, 0.25, 0.25, 0.25])})
    return ref, cur


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.1, 1.0), (0.5, 1.0), (0.0, 2.0), (2.0, 0.5)])
def test_numeric_scores_match_scipy(shift, scale):
    ref, cur = frames(shift, scale)
    reference = fit_reference(ref)
    current = profile_frame(cur, reference)
    scores = column_scores(reference["x"], current["x"])
    assert scores["ks"] == pytest.approx(ks_2samp(ref.x, cur.x).statistic, abs=TOLERANCE)
    exact = wasserstein_distance(ref.x, cur.x) / ref.x.std(ddof=1)
    assert scores["wasserstein_norm"] == pytest.approx(exact, abs=TOLERANCE)


def test_jensen_shannon_matches_scipy_base_2():
    ref, cur = frames()
    reference = fit_reference(ref)
    score = column_scores(reference["c"], profile_frame(cur, reference)["c"])["jensenshannon"]
    p = ref.c.value_counts(normalize=True).sort_index()
    q = cur.c.value_counts(normalize=True).reindex(p.index)
    assert score == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert 0 <= score <= 1


def test_psi_hand_computed():
    ref = ColumnProfile("c", "categorical", "", n=100, counts=[50, 30, 20, 0, 0], categories=["a", "b", "c", OTHER, UNSEEN])
    cur = ColumnProfile("c", "categorical", "", n=100, counts=[30, 30, 40, 0, 0], categories=ref.categories)
    expected = (0.3 - 0.5) * np.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * np.log(0.4 / 0.2) + 0 + 0
    assert psi(ref, cur) == pytest.approx(expected)
    assert psi(ref, ref) == 0.0


def test_same_distribution_scores_stay_under_default_thresholds():
    ref, cur = frames(seed=3)
    cur = ref.sample(5000, random_state=1)
    reference = fit_reference(ref)
    scores = column_scores(reference["x"], profile_frame(cur, reference)["x"])
    for name, value in scores.items():
        assert value < METHODS[name].threshold, (name, value)


def test_chunk_profiles_merge_to_the_profile_of_the_whole():
    ref, cur = frames()
    cur.loc[cur.sample(300, random_state=2).index, "x"] = np.nan
    reference = fit_reference(ref)
    whole = profile_frame(cur, reference)
    chunks = [cur.iloc[start:start + 700] for start in range(0, len(cur), 700)]
    merged = merge_profiles(profile_frame(chunk, reference) for chunk in chunks)
    for name in whole:
        a, b = whole[name], merged[name]
        assert (a.n, a.missing, a.counts, a.below, a.above, a.minimum, a.maximum) == \
               (b.n, b.missing, b.counts, b.below, b.above, b.minimum, b.maximum)
        assert a.total == pytest.approx(b.total, rel=1e-12) and a.total_squares == pytest.approx(b.total_squares, rel=1e-12)
    chunked_reference = merge_profiles(profile_frame(chunk, {k: ColumnProfile(**{**v.__dict__, "n": 0})
                                                            for k, v in reference.items()})
                                       for chunk in (ref.iloc[:5000], ref.iloc[5000:12000], ref.iloc[12000:]))
    assert chunked_reference["c"].counts == reference["c"].counts and chunked_reference["x"].counts == reference["x"].counts


def test_quality_shifts_are_signals_of_their_own():
    ref, cur = frames()
    cur.loc[:999, "x"] = np.nan
    cur.loc[:99, "c"] = "brand-new"
    cur.loc[1000:1049, "x"] = 99.0
    reference = fit_reference(ref)
    current = profile_frame(cur, reference)
    numeric, categorical = quality_shifts(reference["x"], current["x"]), quality_shifts(reference["c"], current["c"])
    assert numeric["missing_current"] == pytest.approx(1000 / 5000) and numeric["missing_reference"] == 0
    assert numeric["out_of_range_share"] == pytest.approx(50 / 4000)
    assert categorical["unseen_share"] == pytest.approx(100 / 5000)
    assert current["c"].counts[-1] == 100 and current["c"].categories[-1] == UNSEEN


def test_rare_reference_categories_are_other_not_unseen():
    ref = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["rare"] * 2})
    reference = fit_reference(ref, max_categories=2)
    assert reference["c"].categories == ["a", "b", OTHER, UNSEEN] and reference["c"].counts == [50, 30, 2, 0]
    current = profile_frame(pd.DataFrame({"c": ["rare", "new"]}), reference)
    assert current["c"].counts == [0, 0, 1, 1]


@pytest.mark.parametrize("values,kind,reason", [
    (pd.Series([1, 2, 3, 1, 2] * 10), "categorical", "int with 3 unique values → categorical"),
    (pd.Series(np.linspace(0, 1, 100)), "numeric", "float64 with 100 unique values"),
    (pd.Series([f"id-{i}" for i in range(500)]), "skipped", "id-like, skipped"),
    (pd.Series([True, False] * 5), "boolean", "bool dtype"),
])
def test_kinds_are_inferred_with_a_reason(values, kind, reason):
    inferred, why = infer_kind(values)
    assert inferred == kind and reason in why


def test_profiles_round_trip_through_json(tmp_path):
    ref, _ = frames()
    reference = fit_reference(ref)
    save_profile(reference, tmp_path / "p.json", {"rows": len(ref)})
    assert load_profile(tmp_path / "p.json") == reference


def test_reference_fit_counts_ties_at_edges_like_binning_values_among_the_edges():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.integers(0, 40, 5000).astype(float)})  # many values sit exactly on an edge
    ref.loc[:99, "x"] = np.nan
    reference = fit_reference(ref, bins=20)
    edges = np.asarray(reference["x"].edges)
    values = ref.x.dropna().to_numpy()
    expected = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1).tolist()
    assert reference["x"].counts == expected == profile_frame(ref, reference)["x"].counts
    assert reference["x"].missing == 100 and reference["x"].n == 5000
    interior = np.linspace(0, 1, 21)[1:-1]
    assert set(np.quantile(values, interior)) <= set(edges)


def test_sorted_quantiles_equal_numpy_linear_quantiles():
    from readiness.stats.profile import _sorted_quantiles

    values = np.random.default_rng(5).standard_t(3, 10_001)
    probabilities = np.linspace(0, 1, 101)
    assert np.allclose(_sorted_quantiles(np.sort(values), probabilities), np.quantile(values, probabilities), rtol=0, atol=1e-12)


def test_row_aucs_equal_roc_auc_score_with_ties():
    from sklearn.metrics import roc_auc_score

    from readiness.reports.drift.report import _row_aucs

    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 400).astype(bool)
    scores = np.round(rng.random((5, 400)) + 0.3 * np.arange(5)[:, None] * labels, 1)  # rounded: many ties
    expected = [roc_auc_score(labels, row) for row in scores]
    assert np.allclose(_row_aucs(scores, labels), expected, rtol=0, atol=1e-12)


def test_text_read_as_categories_profiles_exactly_like_text(tmp_path):
    from readiness.data import read_table
    from readiness.reports.drift.report import iter_batches

    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"plan": rng.choice(["basic", "pro", "team", None], 3000), "x": rng.normal(size=3000)})
    cur = pd.DataFrame({"plan": rng.choice(["basic", "pro", "enterprise", None], 2500), "x": rng.normal(size=2500)})
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet", row_group_size=600)  # several batches, each its own dictionary
    as_text = fit_reference(read_table(tmp_path / "ref.parquet", "reference"))
    as_categories = fit_reference(read_table(tmp_path / "ref.parquet", "reference", text_as_categories=True))
    assert as_categories == as_text
    assert as_text["plan"].reason == "text with 3 unique values"
    streamed = [merge_profiles(profile_frame(b, as_text) for b in iter_batches(tmp_path / "cur.parquet", "current", 600, flag))
                for flag in (False, True)]
    assert streamed[0] == streamed[1]
    assert streamed[1]["plan"].counts[-1] == (cur.plan == "enterprise").sum() and streamed[1]["plan"].missing == cur.plan.isna().sum()
