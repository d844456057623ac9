"""Profiles merge exactly; drift scores agree with scipy within the binning tolerance."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from readiness.drift_scores import METHODS, column_scores, psi, quality_shifts
from readiness.profile import (OTHER, UNSEEN, ColumnProfile, fit_reference, infer_kind, load_profile,
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
