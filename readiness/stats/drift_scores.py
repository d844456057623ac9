"""Drift scores computed from two profiles binned on the reference's edges.

Each method is one :class:`DriftMethod` (name, kinds, scale, default threshold,
function) in :data:`METHODS`; adding a method touches only this registry. All are
effect sizes with documented bounds, never p-values:

* ``wasserstein_norm`` — Wasserstein-1 distance divided by the reference standard
  deviation (0 = identical; 0.1 ≈ a shift of a tenth of a standard deviation);
* ``ks`` — Kolmogorov-Smirnov statistic D in [0, 1], the largest gap between the CDFs;
* ``psi`` — population stability index on reference deciles (0 = identical;
  0.1-0.25 moderate, > 0.25 large, by the usual convention);
* ``jensenshannon`` — Jensen-Shannon distance in base 2, bounded in [0, 1].

Numeric scores use the reference's 100 quantile plus 100 equal-width bins, and the
parts beyond the reference range exactly: KS and Wasserstein stay within 0.005 of
scipy's values on the raw data (tests; measured errors under 0.002).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # annotations only: the registry loads without pandas (config validation uses it)
    from readiness.stats.profile import ColumnProfile

PSI_FLOOR = 1e-4  # proportions floored so an empty bin gives a large but finite PSI


def _numeric_cdfs(ref: ColumnProfile, cur: ColumnProfile):
    """Knots over the reference range and both CDFs there (piecewise linear in between).

    Current values below the reference minimum or above its maximum are not in the
    reference's bins: the current CDF starts at their share below and ends short of
    one by their share above.
    """
    knots = np.array([ref.ref_minimum, *ref.edges, ref.ref_maximum], dtype=float)
    ref_counts = np.asarray(ref.counts, float)
    inner = np.asarray(cur.counts, float).copy()
    inner[0] -= cur.below
    inner[-1] -= cur.above
    present = max(cur.present, 1)
    ref_cdf = np.r_[0.0, np.cumsum(ref_counts) / max(ref_counts.sum(), 1)]
    cur_cdf = cur.below / present + np.r_[0.0, np.cumsum(inner) / present]
    return knots, ref_cdf, cur_cdf


def ks_statistic(ref: ColumnProfile, cur: ColumnProfile) -> float:
    if ref.ref_minimum is None or not cur.present:
        return float("nan")
    _, ref_cdf, cur_cdf = _numeric_cdfs(ref, cur)
    return float(np.max(np.abs(ref_cdf - cur_cdf)))


def wasserstein_normalised(ref: ColumnProfile, cur: ColumnProfile) -> float:
    if ref.ref_minimum is None or not cur.present:
        return float("nan")
    knots, ref_cdf, cur_cdf = _numeric_cdfs(ref, cur)
    widths = np.diff(knots)
    a, b = (ref_cdf - cur_cdf)[:-1], (ref_cdf - cur_cdf)[1:]
    same_sign = a * b >= 0
    # |linear function| integrated over each segment; where the sign flips, two triangles
    inside = np.where(same_sign, np.abs(a + b) / 2, (a**2 + b**2) / (2 * (np.abs(a) + np.abs(b) + 1e-300))) * widths
    # beyond the reference range F_ref is 0 (below) or 1 (above): those parts are exact
    tails = ((cur.below * ref.ref_minimum - cur.below_total) + (cur.above_total - cur.above * ref.ref_maximum)) / cur.present
    spread = ref.std if np.isfinite(ref.std) and ref.std > 0 else 1.0
    return float((inside.sum() + tails) / spread)


def _category_counts(profile: ColumnProfile) -> np.ndarray:
    """Counts per reference category with unseen values pooled into "other": a value the reference
    never had is, for the distribution, one more rare value (unseen values are their own check,
    judged against how many the reference's rare categories predict)."""
    counts = np.asarray(profile.counts, float)
    if counts.size >= 2:
        counts = np.r_[counts[:-2], counts[-2] + counts[-1]]
    return counts


def psi(ref: ColumnProfile, cur: ColumnProfile, groups: int = 10) -> float:
    if ref.kind in ("categorical", "boolean"):
        ref_counts, cur_counts = _category_counts(ref), _category_counts(cur)
    else:
        ref_counts, cur_counts = np.asarray(ref.counts, float), np.asarray(cur.counts, float)
    if not ref_counts.size or ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return float("nan")  # nothing to compare (e.g. a column with no parseable value in the reference)
    if ref.kind in ("numeric", "datetime"):
        # group the fine quantile bins into ~deciles of the reference
        cut = np.searchsorted(np.cumsum(ref_counts) / max(ref_counts.sum(), 1), np.linspace(0, 1, groups + 1)[1:-1])
        bounds = np.unique(np.r_[0, cut + 1, len(ref_counts)])
        ref_counts = np.add.reduceat(ref_counts, bounds[:-1])
        cur_counts = np.add.reduceat(cur_counts, bounds[:-1])
    p = np.maximum(ref_counts / max(ref_counts.sum(), 1), PSI_FLOOR)
    q = np.maximum(cur_counts / max(cur_counts.sum(), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def jensenshannon_distance(ref: ColumnProfile, cur: ColumnProfile) -> float:
    from scipy.spatial.distance import jensenshannon

    p, q = _category_counts(ref), _category_counts(cur)
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    return float(jensenshannon(p / p.sum(), q / q.sum(), base=2))


@dataclass(frozen=True)
class DriftMethod:
    name: str
    title: str
    kinds: tuple[str, ...]
    threshold: float
    scale: str
    compute: Callable[[ColumnProfile, ColumnProfile], float]
    symbol: str  # short label for chart titles
    # how the score's sampling noise shrinks with n: distances (KS, Wasserstein, JS distance)
    # as 1/sqrt(n), power 1; divergences (PSI) as 1/n, power 2
    noise_power: int = 1
    # a large effect by the method's own scale: the column describes another population
    fail_threshold: float = float("inf")

    def title_for(self, kind: str) -> str:
        """The title naming how this column was binned (categories are not deciles)."""
        if self.name == "psi" and kind in ("categorical", "boolean"):
            return "PSI (reference categories)"
        return self.title


METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in [
        DriftMethod("wasserstein_norm", "Wasserstein / reference std", ("numeric", "datetime"), 0.1,
                    "≥ 0; in reference standard deviations", wasserstein_normalised, "W/std", fail_threshold=1.0),
        DriftMethod("ks", "Kolmogorov-Smirnov D", ("numeric", "datetime"), 0.1, "[0, 1]", ks_statistic, "KS D",
                    fail_threshold=0.5),
        DriftMethod("psi", "PSI (reference deciles)", ("numeric", "datetime", "categorical", "boolean"), 0.2,
                    "≥ 0; < 0.1 small, > 0.25 large", psi, "PSI", noise_power=2, fail_threshold=1.0),
        DriftMethod("jensenshannon", "Jensen-Shannon distance (base 2)", ("categorical", "boolean"), 0.1, "[0, 1]",
                    jensenshannon_distance, "JS", fail_threshold=0.5),
    ]
}
#: The method that decides per kind (the others are shown).
DEFAULT_METHOD = {"numeric": "wasserstein_norm", "datetime": "wasserstein_norm",
                  "categorical": "jensenshannon", "boolean": "jensenshannon"}


def null_scores(method: str, ref: ColumnProfile, counts: np.ndarray) -> np.ndarray:
    """One method's score for many subsamples of the reference at once.

    ``counts`` is a ``(draws, bins)`` matrix of each subsample's counts on the reference's
    bins or categories. A subsample of the reference lies within its range (nothing below or
    above), which is what lets every draw be scored in a few array operations; the result
    equals scoring each draw's profile with :data:`METHODS` (the tests check it).
    """
    counts = np.asarray(counts, float)
    present = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    if method in ("wasserstein_norm", "ks"):
        knots = np.array([ref.ref_minimum, *ref.edges, ref.ref_maximum], dtype=float)
        ref_counts = np.asarray(ref.counts, float)
        ref_cdf = np.r_[0.0, np.cumsum(ref_counts) / max(ref_counts.sum(), 1)]
        cur_cdf = np.c_[np.zeros(len(counts)), np.cumsum(counts, axis=1) / present]
        gap = ref_cdf[None, :] - cur_cdf
        if method == "ks":
            return np.max(np.abs(gap), axis=1)
        a, b = gap[:, :-1], gap[:, 1:]
        inside = np.where(a * b >= 0, np.abs(a + b) / 2, (a**2 + b**2) / (2 * (np.abs(a) + np.abs(b) + 1e-300)))
        spread = ref.std if np.isfinite(ref.std) and ref.std > 0 else 1.0
        return (inside * np.diff(knots)[None, :]).sum(axis=1) / spread
    if ref.kind in ("categorical", "boolean"):
        ref_counts = _category_counts(ref)
        counts = np.c_[counts[:, :-2], counts[:, -2] + counts[:, -1]] if counts.shape[1] >= 2 else counts
    else:
        ref_counts = np.asarray(ref.counts, float)
    if method == "jensenshannon":
        from scipy.spatial.distance import jensenshannon

        p = ref_counts / max(ref_counts.sum(), 1)
        return np.asarray(jensenshannon(np.broadcast_to(p, counts.shape), counts / present, base=2, axis=1), float)
    if method == "psi":
        if ref.kind in ("numeric", "datetime"):
            cut = np.searchsorted(np.cumsum(ref_counts) / max(ref_counts.sum(), 1), np.linspace(0, 1, 11)[1:-1])
            bounds = np.unique(np.r_[0, cut + 1, len(ref_counts)])
            ref_counts = np.add.reduceat(ref_counts, bounds[:-1])
            counts = np.add.reduceat(counts, bounds[:-1], axis=1)
        p = np.maximum(ref_counts / max(ref_counts.sum(), 1), PSI_FLOOR)
        q = np.maximum(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1), PSI_FLOOR)
        return np.sum((q - p) * np.log(q / p), axis=1)
    raise ValueError(f"unknown drift method {method!r}")


def column_scores(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, float]:
    """Every applicable method's score for one column."""
    return {name: m.compute(ref, cur) for name, m in METHODS.items() if ref.kind in m.kinds}


def quality_shifts(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, float]:
    """Missing-rate change, unseen-category share and out-of-range share (signals of their own)."""
    out = {"missing_reference": ref.missing / ref.n if ref.n else float("nan"),
           "missing_current": cur.missing / cur.n if cur.n else float("nan")}
    if ref.kind in ("categorical", "boolean") and cur.present:
        out["unseen_share"] = cur.counts[-1] / cur.present
        out["unseen_count"] = cur.counts[-1]
        # Good-Turing: the chance that a new draw from the reference's own distribution is a
        # category the reference never saw is about (categories seen once) / rows
        out["unseen_expected"] = ref.singletons / ref.present if ref.present else 0.0
    if ref.kind == "numeric" and cur.present:
        out["out_of_range_share"] = (cur.below + cur.above) / cur.present
        out["out_of_range_count"] = cur.below + cur.above
        # a new draw from the same continuous distribution falls below the minimum or above the
        # maximum of n reference values with probability 2 / (n + 1)
        out["out_of_range_expected"] = 2 / (ref.present + 1) if ref.present else 0.0
    return out
