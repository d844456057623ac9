"""Mergeable per-column profiles: the reference statistics drift is measured against.

(Just over 400 lines: fitting, binning, merging and saving one profile format belong
together, as in :mod:`readiness.results`.)

A reference profile fixes, per column, its kind (with the reason), the bin edges
(reference quantiles) or the categories (top-K), and counts. Any data — the
reference itself or current data — is then *binned against those edges*, chunk by
chunk, and chunk profiles merge by adding counts, so the profile of a file read in
batches equals the profile of the whole file exactly, and the same code can run as
map/reduce on a cluster engine.

Only the reference decides kinds, edges and categories (current data never moves
them): a category unseen in the reference, a value beyond its range or a missing
value are counted as such, never dropped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

PROFILE_SCHEMA = "readiness-profile/1"
OTHER = "__other__"  # categories beyond the reference's top K
UNSEEN = "__unseen__"  # categories the reference never had (current data only)


@dataclass
class ColumnProfile:
    """Counts of one column, binned against the reference's edges or categories."""

    name: str
    kind: str  # numeric, categorical, boolean, datetime, skipped
    reason: str
    n: int = 0
    missing: int = 0
    edges: list[float] = field(default_factory=list)  # numeric: interior quantile edges of the reference
    counts: list[int] = field(default_factory=list)  # numeric: len(edges)+1 bins; categorical: per category
    categories: list[str] = field(default_factory=list)  # categorical: reference top-K, then OTHER, UNSEEN
    rare: list[str] = field(default_factory=list)  # reference categories pooled into OTHER (up to 10,000)
    below: int = 0  # numeric values under the reference minimum
    above: int = 0  # numeric values over the reference maximum
    below_total: float = 0.0  # their sums: the Wasserstein tails beyond the reference range are then exact
    above_total: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    total: float = 0.0  # sum of non-missing numeric values
    total_squares: float = 0.0
    ref_minimum: float | None = None  # the reference's range (fixed with the edges)
    ref_maximum: float | None = None
    dtype_family: str = ""  # the reference's dtype family (number, boolean, datetime, text); "" in older profiles
    singletons: int = 0  # categorical: reference categories seen exactly once (Good-Turing: the chance of an unseen one)

    @property
    def present(self) -> int:
        return self.n - self.missing

    @property
    def mean(self) -> float:
        return self.total / self.present if self.present else float("nan")

    @property
    def std(self) -> float:
        if self.present < 2:
            return float("nan")
        variance = (self.total_squares - self.total**2 / self.present) / (self.present - 1)
        return float(np.sqrt(max(variance, 0.0)))

    def merge(self, other: "ColumnProfile") -> "ColumnProfile":
        """Add another chunk binned against the same reference."""
        if (self.kind, self.edges, self.categories) != (other.kind, other.edges, other.categories):
            raise ValueError(f"column {self.name!r}: profiles binned against different references cannot merge")
        # a shallow copy: edges, categories and rare are the reference's and never change
        merged = replace(self, counts=[a + b for a, b in zip(self.counts, other.counts)])
        merged.n += other.n
        merged.missing += other.missing
        merged.below += other.below
        merged.above += other.above
        merged.below_total += other.below_total
        merged.above_total += other.above_total
        merged.total += other.total
        merged.total_squares += other.total_squares
        present = [v for v in (self.minimum, other.minimum) if v is not None]
        merged.minimum = min(present) if present else None
        present = [v for v in (self.maximum, other.maximum) if v is not None]
        merged.maximum = max(present) if present else None
        return merged


KIND_SAMPLE = 100_000


def family_of(series: pd.Series) -> str:
    """number, boolean, datetime or text: the type a model sees, alike however the file was read
    (text read dictionary-encoded is a pandas categorical of strings)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


def infer_kind(series: pd.Series, max_categories: int = 50, id_share: float = 0.9,
               population: int | None = None) -> tuple[str, str]:
    """A column's kind from the reference only (a seeded sample of at most 100,000 rows),
    with the reason a person can check; ``population`` is the column's length when
    ``series`` is already a sample of it."""
    population = population or len(series)
    if len(series) > KIND_SAMPLE:  # a sample in file order (an id column stays sorted)
        series = series.iloc[np.sort(np.random.default_rng(0).choice(len(series), KIND_SAMPLE, replace=False))]
    sampled = f" in a {len(series):,}-row sample" if population > len(series) else ""
    values = series.dropna()
    unique = int(values.nunique())
    if pd.api.types.is_bool_dtype(series):
        return "boolean", "bool dtype"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime", "datetime dtype: a time column (its span is reported; time always moves on, so it is not scored for drift)"
    if pd.api.types.is_numeric_dtype(series):
        if pd.api.types.is_integer_dtype(series) and unique <= 10:
            return "categorical", f"int with {unique} unique values → categorical"
        if unique <= 2:
            return "categorical", f"numeric with {unique} unique values → categorical"
        if _is_index_like(series, values, unique):
            return "skipped", (f"integers, all {unique:,} unique and {'increasing' if values.is_monotonic_increasing else 'decreasing'}"
                               f"{sampled}: an id or row number, not a feature (excluded from drift)")
        return "numeric", f"{series.dtype} with {unique:,} unique values{sampled}"
    example = _timestamp_text_example(values)
    if example is not None:
        return "datetime", (f"text holding timestamps (e.g. {example!r}): a time column (its span is reported; "
                            "time always moves on, so it is not scored for drift)")
    if len(values) and unique / len(values) >= id_share and unique > max_categories:
        return "skipped", f"text with {unique:,} unique values in {len(values):,} rows{sampled}: id-like, skipped"
    if unique > 10 * max_categories:
        return "skipped", f"text with {unique:,} unique values{sampled}: too many categories, skipped"
    # text read dictionary-encoded is a pandas categorical: the reason reads the same either way
    dtype = "text" if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series) else series.dtype
    return "categorical", f"{dtype} with {unique:,} unique values"


def _is_index_like(series: pd.Series, values: pd.Series, unique: int) -> bool:
    """Integers that are all distinct and sorted (one way or the other): a row number or an id
    handed out in order. Their "drift" is only that new rows get new numbers."""
    if not pd.api.types.is_integer_dtype(series) or unique < 20 or unique != len(values):
        return False
    return bool(values.is_monotonic_increasing or values.is_monotonic_decreasing)


def _timestamp_text_example(values: pd.Series) -> str | None:
    """An example value when text values are timestamps (all of the first 200 parse as dates), else None."""
    if not len(values) or not (pd.api.types.is_string_dtype(values) or values.dtype == object
                               or isinstance(values.dtype, pd.CategoricalDtype)):
        return None
    head = values.head(200).astype(str)
    # dates carry separators; bare numbers or words are never read as dates
    if not head.str.fullmatch(r"\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?").all():
        return None
    if _parse_times(head).isna().any():
        return None
    return str(head.iloc[0])


def _parse_times(series: pd.Series) -> pd.Series:
    """Timestamps (text or datetime) as naive UTC datetimes; unparseable text becomes NaT."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if not pd.api.types.is_datetime64_any_dtype(series):
        text = series
        try:
            series = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        except (ValueError, TypeError):
            series = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        if series.isna().sum() > text.isna().sum():  # not all ISO 8601: read each value on its own (slower)
            series = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


def time_values(series: pd.Series) -> np.ndarray:
    """Timestamps as float nanoseconds since 1970 (NaN where missing or unparseable), whatever the resolution."""
    times = _parse_times(series)
    return times.astype("datetime64[ns]").astype("int64").where(times.notna()).to_numpy(dtype=float)


def _numeric_values(series: pd.Series, kind: str = "numeric") -> np.ndarray:
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(series):
        return time_values(series)
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _sorted_finite(values: np.ndarray) -> np.ndarray:
    """The finite values, sorted, in a new array (the input is left alone)."""
    finite = np.isfinite(values)
    present = values.copy() if finite.all() else values[finite]
    present.sort()
    return present


def _factorize(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and the distinct labels as text, in one hashing pass."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, [str(u) for u in uniques]


def fit_reference(frame: pd.DataFrame, bins: int = 100, max_categories: int = 50,
                  kinds: dict[str, str] | None = None) -> dict[str, ColumnProfile]:
    """Fix kinds, edges and categories from the reference and count it.

    Parameters
    ----------
    frame : DataFrame
        The reference data (training data).
    bins : int
        Quantile bins per numeric column, plus as many equal-width bins (fine
        bins keep KS and Wasserstein within about 1/bins of their exact values).
    max_categories : int
        Categories kept per column; rarer ones are pooled as ``__other__``.
    kinds : dict, optional
        Overrides ``{column: kind}`` of the inferred kinds.

    Returns
    -------
    dict of str to ColumnProfile
        One profile per column, counted; binning the same frame against it with
        :func:`profile_frame` gives the same counts.
    """
    sample_rows = (np.sort(np.random.default_rng(0).choice(len(frame), KIND_SAMPLE, replace=False))
                   if len(frame) > KIND_SAMPLE else None)  # sorted: the sample keeps the file's order

    def fit_column(name) -> ColumnProfile:
        series = frame[name]
        kind, reason = infer_kind(series if sample_rows is None else series.iloc[sample_rows], max_categories,
                                  population=len(series))
        if kinds and name in kinds:
            kind, reason = kinds[name], f"set in the config (inferred: {reason})"
        profile = ColumnProfile(str(name), kind, reason, n=int(len(series)), dtype_family=family_of(series))
        if kind in ("numeric", "datetime"):
            values = _numeric_values(series, kind)
            present = _sorted_finite(values)  # one sort gives the quantiles and the counts
            profile.missing = int(values.size - present.size)
            if present.size:
                # quantile edges resolve the bulk; equal-width edges keep the sparse tails
                # narrow too, where a shifted current distribution may pile up
                quantiles = _sorted_quantiles(present, np.linspace(0, 1, bins + 1)[1:-1])
                spaced = np.linspace(present[0], present[-1], bins + 1)[1:-1]
                profile.edges = [float(e) for e in np.unique(np.r_[quantiles, spaced])]
                profile.ref_minimum, profile.ref_maximum = float(present[0]), float(present[-1])
            _count_sorted(profile, present)
        elif kind in ("categorical", "boolean"):
            codes, labels = _factorize(series)
            present = codes[codes >= 0]
            profile.missing = int(len(codes) - len(present))
            frequency = np.bincount(present, minlength=len(labels))
            counts = pd.Series(frequency, index=labels).groupby(level=0).sum().sort_values(ascending=False, kind="stable")
            profile.categories = [str(c) for c in counts.index[:max_categories]] + [OTHER, UNSEEN]
            profile.rare = [str(c) for c in counts.index[max_categories:max_categories + 10_000]]
            profile.counts = [int(c) for c in counts.iloc[:max_categories]] + [int(counts.iloc[max_categories:].sum()), 0]
            profile.singletons = int((counts == 1).sum())
        else:
            profile.missing = int(series.isna().sum())
        return profile

    return {p.name: p for p in _per_column(fit_column, list(frame.columns))}


def _sorted_quantiles(ordered: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(values, probabilities)`` (linear method) of already sorted values, without re-partitioning."""
    position = probabilities * (ordered.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ordered.size - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def _count_sorted(profile: ColumnProfile, present: np.ndarray) -> None:
    """Fill a numeric profile's counts and moments from its sorted finite values.

    Sorting (a SIMD kernel in numpy) and then locating the ~200 edges in the sorted
    values is about three times faster than locating a million values among the edges.
    A value equal to an edge falls in the bin below it, as ``searchsorted(edges, v, "left")``.
    """
    edges = np.asarray(profile.edges, dtype=float)
    at_or_below = np.searchsorted(present, edges, side="right")
    profile.counts = np.diff(np.r_[0, at_or_below, present.size]).astype(int).tolist()
    if not present.size:
        return
    profile.minimum, profile.maximum = float(present[0]), float(present[-1])
    # einsum, not np.dot: a BLAS call wakes OpenBLAS's thread pool, whose spinning threads
    # took a core from the other columns' sorts (2.5 s of CPU over 70 columns on 2 cores)
    profile.total, profile.total_squares = float(present.sum()), float(np.einsum("i,i->", present, present))
    if profile.ref_minimum is not None:
        below = int(np.searchsorted(present, profile.ref_minimum, side="left"))
        above = int(present.size - np.searchsorted(present, profile.ref_maximum, side="right"))
        profile.below, profile.above = below, above
        profile.below_total = float(present[:below].sum())
        profile.above_total = float(present[present.size - above:].sum())


def _per_column(function, items: list) -> list:
    """Map over columns on a few threads: the heavy numpy/pandas kernels release the GIL."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    workers = min(4, os.cpu_count() or 1, max(len(items), 1))
    if workers == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def profile_frame(frame: pd.DataFrame, reference: dict[str, ColumnProfile]) -> dict[str, ColumnProfile]:
    """Count a chunk of data against the reference's edges and categories (vectorised per column).

    Parameters
    ----------
    frame : DataFrame
        A chunk of data; columns the reference does not know are ignored.
    reference : dict of str to ColumnProfile
        The reference profile (from :func:`fit_reference` or :func:`load_profile`).

    Returns
    -------
    dict of str to ColumnProfile
        Counts of this chunk; chunks merge with :func:`merge_profiles`.
    """
    def count_column(item) -> ColumnProfile:
        name, ref = item
        profile = ColumnProfile(ref.name, ref.kind, ref.reason, edges=list(ref.edges), categories=list(ref.categories),
                                rare=list(ref.rare), ref_minimum=ref.ref_minimum, ref_maximum=ref.ref_maximum,
                                dtype_family=ref.dtype_family)
        if name not in frame.columns:
            return profile
        series = frame[name]
        profile.n = int(len(series))
        if ref.kind in ("numeric", "datetime"):
            values = _numeric_values(series, ref.kind)
            present = _sorted_finite(values)
            profile.missing = int(values.size - present.size)
            _count_sorted(profile, present)
        elif ref.kind in ("categorical", "boolean"):
            codes, labels = _factorize(series)
            present = codes[codes >= 0]
            profile.missing = int(len(codes) - len(present))
            known = {c: i for i, c in enumerate(ref.categories[:-2])}
            other, unseen = len(ref.categories) - 2, len(ref.categories) - 1
            known.update({c: other for c in ref.rare})
            lookup = np.array([known.get(label, unseen) for label in labels], dtype=np.int64)  # one entry per distinct value
            profile.counts = np.bincount(lookup[present], minlength=len(ref.categories)).astype(int).tolist()
        else:
            profile.missing = int(series.isna().sum())
        return profile

    return {p.name: p for p in _per_column(count_column, list(reference.items()))}


def reference_bins(series: pd.Series, ref: ColumnProfile) -> np.ndarray:
    """The bin (numeric) or category index (categorical, rare ones as "other") of every value of
    the column the reference was fitted on; -1 where missing. Counting any subset of its rows is
    then one ``np.bincount``, the same counts :func:`profile_frame` gives for those rows.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, None]})
    >>> ref = fit_reference(frame, bins=10)["x"]
    >>> int(np.bincount(reference_bins(frame["x"], ref)[:3]).sum())
    3
    """
    if ref.kind in ("numeric", "datetime"):
        values = _numeric_values(series, ref.kind)
        finite = np.isfinite(values)
        # a value equal to an edge belongs to the bin below it, as in _count_sorted
        codes = np.searchsorted(np.asarray(ref.edges, dtype=float), np.where(finite, values, 0.0), side="left")
        return np.where(finite, codes, -1).astype(np.int64)
    codes, labels = _factorize(series)
    known = {c: i for i, c in enumerate(ref.categories[:-2])}
    other, unseen = len(ref.categories) - 2, len(ref.categories) - 1
    known.update({c: other for c in ref.rare})
    lookup = np.array([known.get(label, unseen) for label in labels] + [-1], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the trailing -1


def merge_profiles(parts: Iterable[dict[str, ColumnProfile]]) -> dict[str, ColumnProfile]:
    merged: dict[str, ColumnProfile] | None = None
    for part in parts:
        merged = dict(part) if merged is None else {k: merged[k].merge(v) for k, v in part.items()}
    if merged is None:
        raise ValueError("no chunks to merge")
    return merged


def save_profile(profiles: dict[str, ColumnProfile], path: str | Path, source: dict[str, Any] | None = None) -> None:
    document = {"schema": PROFILE_SCHEMA, "source": source or {}, "columns": [asdict(p) for p in profiles.values()]}
    Path(path).write_text(json.dumps(document), encoding="utf-8")


def load_profile(path: str | Path) -> dict[str, ColumnProfile]:
    from readiness.exceptions import InputError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable profile ({exc}); make one with `readiness profile`") from None
    if not isinstance(document, dict) or document.get("schema") != PROFILE_SCHEMA:
        raise InputError(f"{path}: not a readiness profile (schema {PROFILE_SCHEMA}); make one with `readiness profile`")
    return {c["name"]: ColumnProfile(**c) for c in document["columns"]}
