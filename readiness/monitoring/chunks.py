"""Per-chunk statistics of a prediction log, accumulated batch by batch in bounded memory.

Everything a chunk needs is either an exact mergeable sum (rows, prediction sum and
sum of squares, positives, missing values per feature, rows per model version,
expected confusion counts, a fine histogram of the scores) or a bounded uniform
sample (rows binned into :mod:`readiness.profile` profiles for feature drift, scores
for quantiles, labelled rows for realized metrics). Samples are *bottom-k* samples:
every row draws a uniform key and the rows with the smallest keys are kept, so the
sample of a chunk is uniform however its rows are spread over batches, files or
workers, and two partial samples merge by keeping the smallest keys again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from readiness.profile import ColumnProfile, profile_frame

#: Score histogram resolution for classifiers (scores in [0, 1]): estimated AUC and calibration use it.
GRID = 1000
#: Versions tracked by name; more distinct values are pooled (a version column is not an id).
MAX_VERSIONS = 200
OTHER_VERSION = "(other versions)"


@dataclass
class LogColumns:
    """Which column of the log plays which part."""

    timestamp: str | None
    prediction: str
    version: str | None = None
    label: str | None = None
    id: str | None = None
    features: list[str] = field(default_factory=list)


class BottomK:
    """A uniform sample of at most ``k`` rows per chunk: the rows with the smallest random keys.

    Examples
    --------
    >>> sample = BottomK(k=2)
    >>> sample.add(0, np.array([0.9, 0.1, 0.5]), np.array([1.0, 2.0, 3.0]))
    >>> sorted(sample.values(0)[0].tolist())
    [2.0, 3.0]
    """

    def __init__(self, k: int):
        self.k = k
        self._parts: dict[int, list[tuple[np.ndarray, tuple[np.ndarray, ...]]]] = {}
        self._sizes: dict[int, int] = {}

    def add(self, chunk: int, keys: np.ndarray, *columns: np.ndarray) -> None:
        if not keys.size:
            return
        if keys.size > self.k:
            keep = np.argpartition(keys, self.k)[: self.k]
            keys, columns = keys[keep], tuple(c[keep] for c in columns)
        self._parts.setdefault(chunk, []).append((keys, columns))
        self._sizes[chunk] = self._sizes.get(chunk, 0) + keys.size
        if self._sizes[chunk] > 4 * self.k:
            self._compact(chunk)

    def _compact(self, chunk: int) -> None:
        keys, columns = self._joined(chunk)
        if keys.size > self.k:
            keep = np.argpartition(keys, self.k)[: self.k]
            keys, columns = keys[keep], tuple(c[keep] for c in columns)
        self._parts[chunk] = [(keys, columns)]
        self._sizes[chunk] = keys.size

    def _joined(self, chunk: int):
        parts = self._parts.get(chunk, [])
        if not parts:
            return np.empty(0), ()
        keys = np.concatenate([p[0] for p in parts])
        columns = tuple(np.concatenate([p[1][i] for p in parts]) for i in range(len(parts[0][1])))
        return keys, columns

    def values(self, chunk: int) -> tuple[np.ndarray, ...]:
        """The kept columns of a chunk (at most ``k`` rows; their order carries no meaning)."""
        self._compact(chunk)
        return self._joined(chunk)[1]

    def chunks(self) -> list[int]:
        return sorted(self._parts)


class ChunkAccumulator:
    """Adds batches of a log to per-chunk statistics.

    Parameters
    ----------
    n_chunks : int
        Chunks in the plan; rows carry their chunk index.
    columns : LogColumns
        The parts columns play.
    reference : dict of str to ColumnProfile
        Kinds, edges and categories that sampled rows are binned against (features and prediction).
    profile_rate : ndarray of shape (n_chunks,)
        Per chunk, the share of rows binned for drift (a uniform Bernoulli sample).
    classifier : bool
        Scores in [0, 1]: positive rate, expected confusion counts and the score histogram are kept.
    threshold : float
        Decision threshold of the classifier.
    quantile_rows, metric_rows : int
        Sizes of the per-chunk samples for quantiles and realized metrics.
    seed : int
        The samples' generator seed: the same log gives the same report.
    """

    def __init__(self, n_chunks: int, columns: LogColumns, reference: dict[str, ColumnProfile],
                 profile_rate: np.ndarray, classifier: bool, threshold: float, quantile_rows: int,
                 metric_rows: int, seed: int):
        self.n = n_chunks
        self.columns = columns
        self.reference = reference
        self.profile_rate = profile_rate
        self.classifier = classifier
        self.threshold = threshold
        self.rng = np.random.default_rng(seed)
        zeros = lambda: np.zeros(n_chunks)  # noqa: E731
        self.rows = np.zeros(n_chunks, dtype=np.int64)
        self.first_ns = np.full(n_chunks, np.iinfo(np.int64).max)
        self.last_ns = np.full(n_chunks, np.iinfo(np.int64).min)
        self.pred_n, self.pred_sum, self.pred_sq = zeros(), zeros(), zeros()
        self.positives = zeros()
        self.outside_unit = zeros()  # classifier scores outside [0, 1]: not probabilities
        self.missing = np.zeros((n_chunks, len(columns.features)))
        self.labelled = zeros()
        # expected confusion counts (sums of probabilities) and confidence sums, for estimation
        self.exp_tp, self.exp_fp, self.exp_fn, self.exp_tn = zeros(), zeros(), zeros(), zeros()
        self.conf_var = zeros()  # Σ c(1 − c): variance of the number of correct predictions
        self.hist_n = np.zeros((n_chunks, GRID)) if classifier else None
        self.hist_p = np.zeros((n_chunks, GRID)) if classifier else None
        self.hist_y = np.zeros((n_chunks, GRID)) if classifier else None  # labelled rows: Σ label per bin
        self.hist_ln = np.zeros((n_chunks, GRID)) if classifier else None  # labelled rows per bin
        self.hist_lp = np.zeros((n_chunks, GRID)) if classifier else None  # labelled rows: Σ p per bin
        self.versions: dict[str, np.ndarray] = {}
        self.version_first: dict[str, int] = {}
        self.version_last: dict[str, int] = {}
        self.profiles: dict[int, dict[str, ColumnProfile]] = {}
        self.quantile_sample = BottomK(quantile_rows)
        self.metric_sample = BottomK(metric_rows)

    # ------------------------------------------------------------------ adding

    def add(self, frame: pd.DataFrame, chunk: np.ndarray, ns: np.ndarray | None, labels: np.ndarray | None) -> None:
        """Add one batch: ``chunk`` is each row's chunk index (-1: no chunk, skipped)."""
        keep = chunk >= 0
        if not keep.all():
            frame, chunk = frame.loc[keep].reset_index(drop=True), chunk[keep]
            ns = None if ns is None else ns[keep]
            labels = None if labels is None else labels[keep]
        if not len(frame):
            return
        if np.any(chunk[1:] < chunk[:-1]):  # rows out of time order: group them by chunk first
            order = np.argsort(chunk, kind="stable")
            frame, chunk = frame.take(order).reset_index(drop=True), chunk[order]
            ns = None if ns is None else ns[order]
            labels = None if labels is None else labels[order]
        bounds = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1], True])
        prediction = _as_float(frame[self.columns.prediction])
        label_values = None if labels is None else labels
        missing = self._missing_masks(frame)
        version_codes, version_names = self._version_codes(frame)
        rate = self.profile_rate[chunk]
        draws = self.rng.random(len(frame))
        sampled = draws < rate
        profile_columns = [c for c in self.reference if c in frame.columns]
        for start, end in zip(bounds[:-1], bounds[1:]):
            c = int(chunk[start])
            part = slice(start, end)
            self.rows[c] += end - start
            if ns is not None:
                self.first_ns[c] = min(self.first_ns[c], int(ns[part].min()))
                self.last_ns[c] = max(self.last_ns[c], int(ns[part].max()))
            p = prediction[part]
            self._add_prediction(c, p)
            for j, mask in enumerate(missing):
                self.missing[c, j] += mask[part].sum()
            if version_codes is not None:
                self._add_versions(c, version_codes[part], version_names)
            if label_values is not None:
                self._add_labels(c, p, label_values[part])
            chosen = np.flatnonzero(sampled[part]) + start
            if chosen.size:
                self.quantile_sample.add(c, draws[chosen] / np.maximum(rate[chosen], 1e-300), prediction[chosen])
                counted = profile_frame(frame.iloc[chosen][profile_columns], self.reference)
                previous = self.profiles.get(c)
                self.profiles[c] = counted if previous is None else {k: previous[k].merge(v) for k, v in counted.items()}

    def _missing_masks(self, frame: pd.DataFrame) -> list[np.ndarray]:
        return [frame[name].isna().to_numpy() for name in self.columns.features]

    def _add_prediction(self, c: int, p: np.ndarray) -> None:
        present = p[~np.isnan(p)]
        self.pred_n[c] += present.size
        self.pred_sum[c] += present.sum()
        self.pred_sq[c] += np.einsum("i,i->", present, present)
        if not self.classifier or not present.size:
            return
        self.outside_unit[c] += np.count_nonzero((present < 0) | (present > 1))
        scores = np.clip(present, 0.0, 1.0)
        predicted = scores >= self.threshold
        self.positives[c] += predicted.sum()
        positive_p = scores[predicted].sum()
        negative_p = scores[~predicted].sum()
        self.exp_tp[c] += positive_p
        self.exp_fp[c] += predicted.sum() - positive_p
        self.exp_fn[c] += negative_p
        self.exp_tn[c] += (~predicted).sum() - negative_p
        confidence = np.where(predicted, scores, 1.0 - scores)
        self.conf_var[c] += np.einsum("i,i->", confidence, 1.0 - confidence)
        bins = np.minimum((scores * GRID).astype(np.int64), GRID - 1)
        self.hist_n[c] += np.bincount(bins, minlength=GRID)
        self.hist_p[c] += np.bincount(bins, weights=scores, minlength=GRID)

    def _add_labels(self, c: int, p: np.ndarray, y: np.ndarray) -> None:
        known = ~np.isnan(y) & ~np.isnan(p)
        count = int(known.sum())
        if not count:
            return
        self.labelled[c] += count
        p, y = p[known], y[known]
        self.metric_sample.add(c, self.rng.random(count), p, y)
        if self.classifier:
            scores = np.clip(p, 0.0, 1.0)
            bins = np.minimum((scores * GRID).astype(np.int64), GRID - 1)
            self.hist_ln[c] += np.bincount(bins, minlength=GRID)
            self.hist_lp[c] += np.bincount(bins, weights=scores, minlength=GRID)
            self.hist_y[c] += np.bincount(bins, weights=y, minlength=GRID)

    def _version_codes(self, frame: pd.DataFrame):
        name = self.columns.version
        if not name or name not in frame.columns:
            return None, None
        series = frame[name]
        if not isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype("category")
        names = [str(v) for v in series.cat.categories]
        return series.cat.codes.to_numpy(), names

    def _add_versions(self, c: int, codes: np.ndarray, names: list[str]) -> None:
        counts = np.bincount(codes + 1, minlength=len(names) + 1)[1:]  # code -1 = missing version
        for k in np.flatnonzero(counts):
            version = names[k]
            if version not in self.versions and len(self.versions) >= MAX_VERSIONS:
                version = OTHER_VERSION
            if version not in self.versions:
                self.versions[version] = np.zeros(self.n, dtype=np.int64)
            self.versions[version][c] += counts[k]
            self.version_first[version] = min(self.version_first.get(version, c), c)
            self.version_last[version] = max(self.version_last.get(version, c), c)


def _as_float(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for missing values; booleans as 0/1, unreadable text as NaN."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
