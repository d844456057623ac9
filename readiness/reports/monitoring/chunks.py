"""Per-chunk statistics of a prediction log, accumulated batch by batch in bounded memory.

Everything a chunk needs is either an exact mergeable sum (rows, prediction sum and
sum of squares, positives, missing values per feature, rows per model version,
expected confusion counts, a fine histogram of the scores) or a bounded uniform
sample (rows binned into :mod:`readiness.stats.profile` profiles for feature drift, scores
for quantiles, labelled rows for realized metrics: all of them in chunks of up to
``metric_rows`` rows, a uniform sample beyond). Samples are *bottom-k* samples:
every row draws a uniform key and the rows with the smallest keys are kept, so the
sample of a chunk is uniform however its rows are spread over batches, files or
workers, and two partial samples merge by keeping the smallest keys again.

(Somewhat over 400 lines: the accumulator, its bottom-k samples and the per-chunk
summary share one state and one merge rule; split, each half would reach into the other.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from readiness.stats.profile import ColumnProfile, profile_frame

#: Score histogram resolution for classifiers (scores in [0, 1]): estimated AUC and calibration use it.
GRID = 1000
#: Versions tracked by name; more distinct values are pooled (a version column is not an id).
MAX_VERSIONS = 200
OTHER_VERSION = "(other versions)"


@dataclass
class LogColumns:
    """Which column of the log plays which part.

    Examples
    --------
    >>> LogColumns(timestamp="ts", prediction="score", version="model_version", features=["age", "plan"])
    LogColumns(timestamp='ts', prediction='score', version='model_version', label=None, id=None,
               features=['age', 'plan'], probabilities=[], classes=[])
    """

    timestamp: str | None
    prediction: str  # the score column; for multiclass logs the name the top-class probability goes by
    version: str | None = None
    label: str | None = None
    id: str | None = None
    features: list[str] = field(default_factory=list)
    #: Multiclass: the per-class probability columns, in class order, and the class names.
    probabilities: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)


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

    def pop(self, chunk: int) -> tuple[np.ndarray, ...] | None:
        """The kept columns of a finished chunk, released from the sample (None when it has none)."""
        if not self._parts.get(chunk):
            self._parts.pop(chunk, None)
            return None
        columns = self.values(chunk)
        del self._parts[chunk], self._sizes[chunk]
        return columns


@dataclass
class PartSettings:
    """What :func:`summarize` needs to know; shared read-only by the worker threads.

    Examples
    --------
    >>> from readiness.stats.profile import fit_reference
    >>> log = pd.DataFrame({"score": [0.2, 0.7, 0.9, 0.4, 0.1, 0.6],
    ...                     "plan": ["basic", "pro", None, "pro", "basic", "basic"],
    ...                     "version": ["v1", "v1", "v1", "v2", "v2", "v2"], "label": [0, 1, 1, 0, 0, 1]})
    >>> columns = LogColumns(timestamp=None, prediction="score", version="version", label="label", features=["plan"])
    >>> settings = PartSettings(columns, reference=fit_reference(log[["plan"]]), profile_rate=np.ones(2),
    ...                         metric_rate=np.ones(2), classifier=True, threshold=0.5, quantile_rows=100, metric_rows=100)
    >>> parts = summarize(log, np.array([0, 0, 0, 1, 1, 1]), None, log["label"].to_numpy(float),
    ...                   np.random.default_rng(0), settings)  # rows 0-2 in chunk 0, rows 3-5 in chunk 1
    >>> settings.classifier, settings.threshold, list(settings.reference)
    (True, 0.5, ['plan'])
    """

    columns: LogColumns
    reference: dict[str, ColumnProfile]  # kinds, edges and categories sampled rows are binned against
    profile_rate: np.ndarray  # per chunk, the share of rows binned for drift (a uniform Bernoulli sample)
    metric_rate: np.ndarray  # per chunk, the share of rows whose labels are kept for realized metrics
    classifier: bool  # scores in [0, 1]: positive rate, expected confusion counts and the score histogram
    threshold: float
    quantile_rows: int
    metric_rows: int
    n_classes: int = 0  # multiclass: per-class probability columns


@dataclass
class ChunkPart:
    """Everything one piece of the log contributes to one chunk; parts add up exactly.

    Examples
    --------
    >>> from readiness.stats.profile import fit_reference
    >>> log = pd.DataFrame({"score": [0.2, 0.7, 0.9, 0.4, 0.1, 0.6],
    ...                     "plan": ["basic", "pro", None, "pro", "basic", "basic"],
    ...                     "version": ["v1", "v1", "v1", "v2", "v2", "v2"], "label": [0, 1, 1, 0, 0, 1]})
    >>> columns = LogColumns(timestamp=None, prediction="score", version="version", label="label", features=["plan"])
    >>> settings = PartSettings(columns, reference=fit_reference(log[["plan"]]), profile_rate=np.ones(2),
    ...                         metric_rate=np.ones(2), classifier=True, threshold=0.5, quantile_rows=100, metric_rows=100)
    >>> parts = summarize(log, np.array([0, 0, 0, 1, 1, 1]), None, log["label"].to_numpy(float),
    ...                   np.random.default_rng(0), settings)  # rows 0-2 in chunk 0, rows 3-5 in chunk 1
    >>> part = parts[0]
    >>> int(part.rows), round(part.pred_sum, 2), part.positives, part.missing.tolist(), part.versions, part.labelled
    (3, 1.8, 2.0, [1.0], {'v1': 3}, 3.0)
    >>> ChunkPart(5, n_features=2, classifier=False).missing  # an empty part: nothing counted yet
    array([0., 0.])
    """

    chunk: int
    n_features: int
    classifier: bool
    rows: int = 0
    first_ns: int = np.iinfo(np.int64).max
    last_ns: int = np.iinfo(np.int64).min
    pred_n: float = 0.0
    pred_sum: float = 0.0
    pred_sq: float = 0.0
    positives: float = 0.0
    outside_unit: float = 0.0
    labelled: float = 0.0
    expected: np.ndarray = field(default_factory=lambda: np.zeros(5))  # E[TP], E[FP], E[FN], E[TN], Σc(1−c)
    missing: np.ndarray | None = None
    hist: np.ndarray | None = None  # (5, GRID): rows, Σp; labelled rows, Σp, Σy per score bin
    versions: dict[str, int] = field(default_factory=dict)
    profile: dict[str, ColumnProfile] | None = None
    quantile: BottomK | None = None
    metric: BottomK | None = None
    n_classes: int = 0
    class_sum: np.ndarray | None = None  # multiclass: Σ probability per class
    class_predicted: np.ndarray | None = None  # multiclass: rows whose top class is each class

    def __post_init__(self):
        if self.missing is None:
            self.missing = np.zeros(self.n_features)
        if self.n_classes and self.class_sum is None:
            self.class_sum, self.class_predicted = np.zeros(self.n_classes), np.zeros(self.n_classes)
        if self.hist is None and self.classifier:
            self.hist = np.zeros((5, GRID))


def summarize(batch, chunk: np.ndarray, ns: np.ndarray | None, labels: np.ndarray | None,
              rng: np.random.Generator, settings: PartSettings, parts: dict[int, ChunkPart] | None = None
              ) -> dict[int, ChunkPart]:
    """One batch's contribution to each chunk it touches (``chunk``: each row's chunk, -1 = none).

    ``batch`` is a :class:`~readiness.reports.monitoring.batch.Batch` (or a DataFrame).
    Exact counts (missing values, versions) are segment sums over the batch's chunks,
    computed for all chunks at once; only the sampled rows are binned per chunk. Pure
    apart from ``rng`` and ``parts`` (which it adds to), so pieces of a log can be
    summarized on several threads and their parts added up in order afterwards.

    Examples
    --------
    >>> from readiness.stats.profile import fit_reference
    >>> log = pd.DataFrame({"score": [0.2, 0.7, 0.9, 0.4, 0.1, 0.6],
    ...                     "plan": ["basic", "pro", None, "pro", "basic", "basic"],
    ...                     "version": ["v1", "v1", "v1", "v2", "v2", "v2"], "label": [0, 1, 1, 0, 0, 1]})
    >>> columns = LogColumns(timestamp=None, prediction="score", version="version", label="label", features=["plan"])
    >>> settings = PartSettings(columns, reference=fit_reference(log[["plan"]]), profile_rate=np.ones(2),
    ...                         metric_rate=np.ones(2), classifier=True, threshold=0.5, quantile_rows=100, metric_rows=100)
    >>> parts = summarize(log, np.array([0, 0, 0, 1, 1, 1]), None, log["label"].to_numpy(float),
    ...                   np.random.default_rng(0), settings)  # rows 0-2 in chunk 0, rows 3-5 in chunk 1
    >>> [(chunk, int(part.rows), part.positives, part.versions) for chunk, part in parts.items()]
    [(0, 3, 2.0, {'v1': 3}), (1, 3, 1.0, {'v2': 3})]
    >>> parts[1].profile["plan"].counts  # the sampled rows binned on the reference's categories
    [2, 1, 0, 0]
    """
    from readiness.reports.monitoring.batch import Batch

    if isinstance(batch, pd.DataFrame):
        batch = Batch.from_pandas(batch)
    parts = {} if parts is None else parts
    keep = chunk >= 0
    if not keep.all():
        rows = np.flatnonzero(keep)
        batch, chunk = batch.take(rows), chunk[rows]
        ns = None if ns is None else ns[rows]
        labels = None if labels is None else labels[rows]
    if not batch.n:
        return parts
    if np.any(chunk[1:] < chunk[:-1]):  # rows out of time order: group them by chunk first
        order = np.argsort(chunk, kind="stable")
        batch, chunk = batch.take(order), chunk[order]
        ns = None if ns is None else ns[order]
        labels = None if labels is None else labels[order]
    columns = settings.columns
    bounds = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1], True])
    starts = bounds[:-1]
    probabilities = None
    if columns.probabilities:
        probabilities = np.column_stack([batch.floats(name) for name in columns.probabilities])
        # the top-class probability stands for "the prediction" (mean, quantiles); NaN when any class is missing
        prediction = probabilities.max(axis=1)
    else:
        prediction = batch.floats(columns.prediction)
    # exact per-chunk counts as segment sums over the whole batch (no loop over rows or features)
    missing = (np.add.reduceat(np.vstack([batch.missing(name) for name in columns.features]), starts, axis=1,
                               dtype=np.int64) if columns.features else None)
    version_counts = version_names = None
    if columns.version and columns.version in batch.names:
        codes, version_names = batch.codes(columns.version)
        segment = np.repeat(np.arange(starts.size), np.diff(bounds))
        width = len(version_names) + 1  # code -1 (no version) goes to column 0
        version_counts = np.bincount(segment * width + codes + 1,
                                     minlength=starts.size * width).reshape(starts.size, width)[:, 1:]
    rate = settings.profile_rate[chunk]
    draws = rng.random(batch.n)
    sampled = draws < rate
    binner = _SampleBinner(batch, settings.reference)
    for position, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):  # one pass per chunk, not per row
        c = int(chunk[start])
        part = parts.get(c)
        if part is None:
            part = parts[c] = ChunkPart(c, len(columns.features), settings.classifier,
                                        quantile=BottomK(settings.quantile_rows), metric=BottomK(settings.metric_rows),
                                        n_classes=settings.n_classes)
        rows = slice(start, end)
        part.rows += end - start
        if ns is not None:
            part.first_ns = min(part.first_ns, int(ns[rows].min()))
            part.last_ns = max(part.last_ns, int(ns[rows].max()))
        p = prediction[rows]
        _add_prediction(part, p, settings.threshold)
        if probabilities is not None:
            _add_classes(part, probabilities[rows])
        if missing is not None:
            part.missing += missing[:, position]
        if version_counts is not None:
            for k in np.flatnonzero(version_counts[position]):
                part.versions[version_names[k]] = part.versions.get(version_names[k], 0) + int(version_counts[position, k])
        if labels is not None:
            _add_labels(part, p, labels[rows], draws[rows], settings.metric_rate[c],
                        None if probabilities is None else probabilities[rows])
        chosen = np.flatnonzero(sampled[rows]) + start
        if chosen.size:
            part.quantile.add(0, draws[chosen], prediction[chosen])
            counted = binner.profile(chosen)
            part.profile = counted if part.profile is None else {k: part.profile[k].merge(v) for k, v in counted.items()}
    return parts


class _SampleBinner:
    """Bins sampled rows of a batch against the reference profile, straight from the batch's arrays.

    Numbers and text take the fast path (sorted values against the edges; dictionary
    codes through a lookup built once per batch); anything else (datetimes, booleans,
    numbers binned as categories, odd types) goes through
    :func:`readiness.stats.profile.profile_frame` on those columns' sampled rows. The
    fast path gives the same counts as ``profile_frame`` (tested).
    """

    def __init__(self, batch, reference: dict[str, ColumnProfile]):
        import pyarrow as pa

        self.batch = batch
        self.fast: dict[str, ColumnProfile] = {}
        self.slow: dict[str, ColumnProfile] = {}
        self.lookups: dict[str, np.ndarray] = {}
        for name, ref in reference.items():
            if name not in batch.names:
                self.fast[name] = ref  # absent from this batch: an empty profile, as profile_frame gives
                continue
            kind = batch.kind(name)
            schema = batch.table.schema
            dictionary = name in schema.names and pa.types.is_dictionary(schema.field(name).type)
            if ref.kind == "numeric" and kind == "number" and not dictionary:
                self.fast[name] = ref
            elif ref.kind == "categorical" and kind == "text":
                self.fast[name] = ref
                labels = batch.codes(name)[1]
                known = {c: i for i, c in enumerate(ref.categories[:-2])}
                other, unseen = len(ref.categories) - 2, len(ref.categories) - 1
                known.update({c: other for c in ref.rare})
                self.lookups[name] = np.array([known.get(label, unseen) for label in labels], dtype=np.int64)
            else:
                self.slow[name] = ref

    def profile(self, rows: np.ndarray) -> dict[str, ColumnProfile]:
        from readiness.stats.profile import _count_sorted, _sorted_finite

        out = {}
        for name, ref in self.fast.items():
            profile = ColumnProfile(ref.name, ref.kind, ref.reason, edges=list(ref.edges), categories=list(ref.categories),
                                    rare=list(ref.rare), ref_minimum=ref.ref_minimum, ref_maximum=ref.ref_maximum,
                                    dtype_family=ref.dtype_family)
            if name in self.batch.names:
                profile.n = int(rows.size)
                if ref.kind == "numeric":
                    values = self.batch.floats(name)[rows]
                    present = _sorted_finite(values)
                    profile.missing = int(values.size - present.size)
                    _count_sorted(profile, present)
                else:
                    codes = self.batch.codes(name)[0][rows]
                    present = codes[codes >= 0]
                    profile.missing = int(codes.size - present.size)
                    profile.counts = np.bincount(self.lookups[name][present],
                                                 minlength=len(ref.categories)).astype(int).tolist()
            out[name] = profile
        if self.slow:
            out.update(profile_frame(self.batch.frame(list(self.slow), rows), self.slow))
        return out


def _add_prediction(part: ChunkPart, p: np.ndarray, threshold: float) -> None:
    present = p[~np.isnan(p)]
    part.pred_n += present.size
    part.pred_sum += float(present.sum())
    part.pred_sq += float(np.einsum("i,i->", present, present))
    if not part.classifier or not present.size:
        return
    part.outside_unit += np.count_nonzero((present < 0) | (present > 1))
    scores = np.clip(present, 0.0, 1.0)
    predicted = scores >= threshold
    n_positive = int(np.count_nonzero(predicted))
    part.positives += n_positive
    positive_p = float(scores[predicted].sum())
    negative_p = float(scores.sum()) - positive_p
    confidence = np.where(predicted, scores, 1.0 - scores)
    part.expected += (positive_p, n_positive - positive_p, negative_p, (scores.size - n_positive) - negative_p,
                      float(np.einsum("i,i->", confidence, 1.0 - confidence)))
    bins = np.minimum((scores * GRID).astype(np.int64), GRID - 1)
    part.hist[0] += np.bincount(bins, minlength=GRID)
    part.hist[1] += np.bincount(bins, weights=scores, minlength=GRID)


def _add_classes(part: ChunkPart, probabilities: np.ndarray) -> None:
    """Multiclass: Σ probability per class and the rows predicted as each class (rows with every probability)."""
    present = probabilities[~np.isnan(probabilities).any(axis=1)]
    if not present.size:
        return
    part.class_sum += present.sum(axis=0)
    part.class_predicted += np.bincount(present.argmax(axis=1), minlength=part.n_classes)


def _add_labels(part: ChunkPart, p: np.ndarray, y: np.ndarray, keys: np.ndarray, rate: float,
                probabilities: np.ndarray | None = None) -> None:
    """Count the labelled rows; keep those whose key is under ``rate`` (all of them at rate 1) for metrics.

    The keys are the rows' uniform draws, so the rows kept are a uniform sample of the
    labelled rows, and the bottom-k sample over them stays uniform.
    """
    known = ~np.isnan(y) & ~np.isnan(p)
    count = int(np.count_nonzero(known))
    if not count:
        return
    part.labelled += count
    if rate < 1.0:
        known &= keys < rate
    if probabilities is not None:  # multiclass: keep every class's probability and the label's class index
        part.metric.add(0, keys[known], *probabilities[known].T, y[known])
        return
    p, y, keys = p[known], y[known], keys[known]
    part.metric.add(0, keys, p, y)
    if part.classifier:
        scores = np.clip(p, 0.0, 1.0)
        bins = np.minimum((scores * GRID).astype(np.int64), GRID - 1)
        part.hist[2] += np.bincount(bins, minlength=GRID)
        part.hist[3] += np.bincount(bins, weights=scores, minlength=GRID)
        part.hist[4] += np.bincount(bins, weights=y, minlength=GRID)


class ChunkAccumulator:
    """Per-chunk statistics of a whole log: parts from every piece, added up in reading order.

    Examples
    --------
    >>> settings = PartSettings(LogColumns(None, "p"), {}, np.ones(2), np.ones(2), False, 0.5, 10, 10)
    >>> frame = pd.DataFrame({"p": [1.0, 2.0, 3.0]})
    >>> acc = ChunkAccumulator(2, settings)
    >>> acc.absorb(summarize(frame, np.array([0, 0, 1]), None, None, np.random.default_rng(0), settings))
    >>> acc.pred_sum.tolist()
    [3.0, 3.0]
    """

    def __init__(self, n_chunks: int, settings: PartSettings):
        self.n = n_chunks
        self.settings = settings
        zeros = lambda: np.zeros(n_chunks)  # noqa: E731
        self.rows = np.zeros(n_chunks, dtype=np.int64)
        self.first_ns = np.full(n_chunks, np.iinfo(np.int64).max)
        self.last_ns = np.full(n_chunks, np.iinfo(np.int64).min)
        self.pred_n, self.pred_sum, self.pred_sq = zeros(), zeros(), zeros()
        self.positives = zeros()
        self.outside_unit = zeros()  # classifier scores outside [0, 1]: not probabilities
        self.missing = np.zeros((n_chunks, len(settings.columns.features)))
        self.labelled = zeros()
        # expected confusion counts (sums of probabilities) and Σ c(1 − c), the variance of the number correct
        self.exp_tp, self.exp_fp, self.exp_fn, self.exp_tn, self.conf_var = (zeros() for _ in range(5))
        classifier = settings.classifier
        # score histograms: all rows (count, Σp) and labelled rows (count, Σp, Σ label) per score bin
        self.hist_n, self.hist_p, self.hist_ln, self.hist_lp, self.hist_y = (
            (np.zeros((n_chunks, GRID)) if classifier else None) for _ in range(5))
        k = settings.n_classes
        self.class_sum = np.zeros((n_chunks, k)) if k else None
        self.class_predicted = np.zeros((n_chunks, k)) if k else None
        self.versions: dict[str, np.ndarray] = {}
        self.profiles: dict[int, dict[str, ColumnProfile]] = {}
        self.quantile_sample = BottomK(settings.quantile_rows)
        self.metric_sample = BottomK(settings.metric_rows)

    def absorb(self, parts: dict[int, ChunkPart]) -> None:
        """Add one piece's parts."""
        for c, part in parts.items():
            self.rows[c] += part.rows
            self.first_ns[c] = min(self.first_ns[c], part.first_ns)
            self.last_ns[c] = max(self.last_ns[c], part.last_ns)
            self.pred_n[c] += part.pred_n
            self.pred_sum[c] += part.pred_sum
            self.pred_sq[c] += part.pred_sq
            self.positives[c] += part.positives
            self.outside_unit[c] += part.outside_unit
            self.labelled[c] += part.labelled
            self.missing[c] += part.missing
            for target, value in zip((self.exp_tp, self.exp_fp, self.exp_fn, self.exp_tn, self.conf_var), part.expected):
                target[c] += value
            if part.class_sum is not None:
                self.class_sum[c] += part.class_sum
                self.class_predicted[c] += part.class_predicted
            if part.hist is not None:
                for target, row in zip((self.hist_n, self.hist_p, self.hist_ln, self.hist_lp, self.hist_y), part.hist):
                    target[c] += row
            for version, count in part.versions.items():
                if version not in self.versions and len(self.versions) >= MAX_VERSIONS:
                    version = OTHER_VERSION
                self.versions.setdefault(version, np.zeros(self.n, dtype=np.int64))[c] += count
            if part.profile is not None:
                previous = self.profiles.get(c)
                self.profiles[c] = part.profile if previous is None else {
                    k: previous[k].merge(v) for k, v in part.profile.items()}
            for sample, own in ((part.quantile, self.quantile_sample), (part.metric, self.metric_sample)):
                if sample is not None and sample._parts.get(0):
                    keys, columns = sample._joined(0)
                    own.add(c, keys, *columns)


def _as_float(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for missing values; booleans as 0/1, unreadable text as NaN."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
