"""Monitoring report: the model's behaviour over time, and the release that changed it.

:class:`MonitoringReport` reads a prediction log three times at most, each bounded:

1. the timestamp column, to fix the chunk grid (:func:`~readiness.reports.monitoring.log.plan_chunks`);
2. a uniform sample of the reference period (only the pieces that hold it), to fix the
   features' kinds, bin edges and categories (:func:`readiness.profile.fit_reference`) —
   or a reference file or saved profile instead;
3. every row once, into per-chunk statistics (:class:`~readiness.reports.monitoring.chunks.ChunkAccumulator`).

Then every series gets its band from the reference chunks and its changepoints; the
sections (:mod:`readiness.reports.monitoring.sections`) turn them into checks and tables as
plain data, and figures are drawn from that data by :mod:`readiness.figures.monitoring`.
"""

from __future__ import annotations

import collections
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from readiness.exceptions import ConfigError, InputError
from readiness.reports.monitoring.changepoints import detect_changepoints
from readiness.reports.monitoring.chunks import ChunkAccumulator, LogColumns, PartSettings, _as_float, summarize
from readiness.reports.monitoring.grid import MISSING, ChunkKey, ChunkRule, plan_chunks, timestamps_ns
from readiness.reports.monitoring.log import log_columns, prefetch, read_piece, resolve_log
from readiness.reports.monitoring.performance import DEFAULT_METRICS, estimated_accuracy, estimated_auc, eval_data, realized_metrics
from readiness.reports.monitoring.series import ReleaseList, Series, VersionTimeline, change_sentence, learn_band
from readiness.reports.monitoring.sections import QUANTILES, ReportSections
from readiness.reports.monitoring.settings import MonitoringConfig, parse_monitoring_settings
from readiness.stats.profile import ColumnProfile, fit_reference, load_profile, merge_profiles
from readiness.results import now_iso

REPORT = "monitoring_report"
VERSION_NAMES = ("model_version", "version")
#: Pieces summarized at once (numpy, pandas and Parquet decoding release the GIL for large arrays).
WORKERS = 2


class MonitoringReport(ReportSections):
    """A prediction log judged over time.

    Parameters
    ----------
    log : str or Path
        A CSV/Parquet file, a folder of Parquet files, or a glob.
    settings : dict or MonitoringConfig, optional
        The ``monitoring:`` settings (column names, chunk, reference, gates).
    reference : str or Path, optional
        Reference data (.csv/.parquet) or a saved profile (.json) fixing the features'
        bins and baseline; default: the log's first ``reference_chunks`` chunks.
    labels : str or Path, optional
        A file with ``settings.id`` and ``settings.label`` columns, joined on the id.
    releases : list of dict, optional
        Releases from outside the log (``{"version", "deployed_at", "previous"}``, e.g. from
        readiness's release history); they name changepoints instead of the version column.
    release_lookup : object with ``releases_near(chunk)``, optional
        Any other source of release names (see :class:`~readiness.reports.monitoring.series.ReleaseLookup`).

    Examples
    --------
    >>> report = MonitoringReport("predictions.parquet", {"prediction": "score", "chunk": "1d"})  # doctest: +SKIP
    >>> report.headline()  # doctest: +SKIP
    'Mean prediction 100× higher from 2017-03-01, when model_version changed from v1 to v2'
    """

    def __init__(self, log: str | Path, settings: dict | MonitoringConfig | None = None,
                 reference: str | Path | None = None, labels: str | Path | None = None,
                 releases: list[dict] | None = None, release_lookup=None):
        self.started_at = now_iso()
        self._clock = time.perf_counter()
        self.settings = s = parse_monitoring_settings(settings)
        self.source = resolve_log(log)
        available = log_columns(self.source)
        self.columns = self._roles(available, labels)
        self.rule = ChunkRule.parse(s.chunk)
        if not self.rule.by_rows and not self.columns.timestamp:
            raise InputError(f"{self.source.spec}: no column {s.timestamp!r} for the timestamp; name it with "
                             "--timestamp, or chunk by rows (e.g. --chunk 10000rows)")
        if s.engine == "spark" and self.rule.by_rows:
            raise ConfigError(monitoring_spark_rows_message(s.chunk))
        self.plan = plan_chunks(self.source, self.rule, self.columns.timestamp, s.batch_rows, s.max_chunks)
        self.n = self.plan.n_chunks
        self.k = min(s.reference_chunks or min(10, max(1, self.n // 3)), self.n)
        self.reference_label = "the first " + (f"{self.k} chunks" if self.k > 1 else "chunk")
        self.labels = self._load_labels(labels) if labels else None
        self.label_id_examples: list = []  # a few of the log's ids, named when none matches the labels file
        sample = self._reference_sample()
        self.task = self._task(sample)
        self.classifier = self.task == "binary"
        self.reference_source = str(reference) if reference else None
        self.fixed = self._reference_profile(sample, reference)
        self.metric_names = self._metric_names()
        self.realized = {name: [np.full(self.n, np.nan) for _ in range(3)] for name in self.metric_names}
        self.quantiles = np.full((self.n, len(QUANTILES)), np.nan)
        self._accumulate()
        self.timeline = (VersionTimeline(self.columns.version, self.acc.versions) if self.columns.version else None)
        if releases and not release_lookup:
            if self.rule.by_rows:
                raise ConfigError("releases: release dates need period chunks (e.g. --chunk 1d), not row chunks")
            release_lookup = ReleaseList(releases, lambda ns: self.rule.codes(ns) - self.plan.first_code)
        self.lookup = release_lookup or self.timeline
        self.series = self._build_series()

    # ------------------------------------------------------------------ reading

    def _roles(self, available: list[str], labels) -> LogColumns:
        s = self.settings
        where = self.source.spec
        if s.prediction not in available:
            raise InputError(f"{where}: no prediction column {s.prediction!r} (columns: {', '.join(available[:12])}); "
                             "name it with --prediction")
        version = s.version
        if version is None:
            version = next((v for v in VERSION_NAMES if v in available), "")
        elif version and version not in available:
            raise InputError(f"{where}: no version column {version!r}; name it with --version or leave it out")
        label = s.label
        if label and not labels and label not in available:
            raise InputError(f"{where}: no label column {label!r}; name it with --label, or give --labels FILE --id COL")
        if labels and not (s.id and s.label):
            raise InputError("labels file: name its id and label columns (--id COL --label COL)")
        if s.id and s.id not in available:
            raise InputError(f"{where}: no id column {s.id!r} to join the labels on; name it with --id")
        timestamp = s.timestamp if s.timestamp in available else None
        roles = {timestamp, s.prediction, version or None, label if not labels else None, s.id}
        features = s.features if s.features is not None else [c for c in available if c not in roles]
        unknown = [c for c in features if c not in available]
        if unknown:
            raise InputError(f"{where}: feature column(s) not in the log: {', '.join(map(repr, unknown[:5]))}")
        return LogColumns(timestamp, s.prediction, version or None, label if not labels else None, s.id, features)

    def _load_labels(self, path) -> pd.Series:
        """The separate label file as a Series indexed by id (the last label of a repeated id wins)."""
        from readiness.data import read_table

        frame = read_table(path, "labels")
        s = self.settings
        for column in (s.id, s.label):
            if column not in frame.columns:
                raise InputError(f"{path}: no column {column!r} in the labels file; it needs {s.id!r} and {s.label!r}")
        frame = frame.drop_duplicates(s.id, keep="last")
        return pd.Series(_as_float(frame[s.label]), index=pd.Index(frame[s.id]))

    def _read_columns(self) -> list[str]:
        c = self.columns
        wanted = [c.timestamp, c.prediction, c.version, c.label, c.id, *c.features]
        return list(dict.fromkeys(w for w in wanted if w))

    def _text_columns(self) -> list[str]:
        return [self.columns.version] if self.columns.version else []

    def _piece_batches(self, index: int):
        """(frame, chunk index per row, ns or None, labels or None) for one piece of the log."""
        piece = self.plan.pieces[index]
        offset = self.plan.piece_offset[index]
        for frame in read_piece(self.source, piece, self._read_columns(), self.settings.batch_rows,
                                self._text_columns()):
            ns = None
            if self.columns.timestamp:
                ns = timestamps_ns(frame[self.columns.timestamp], self.columns.timestamp, str(piece.file))
            if self.rule.by_rows:
                chunk = (offset + np.arange(len(frame))) // self.rule.every
            else:
                chunk = np.where(ns == MISSING, -1, self.rule.codes(ns) - self.plan.first_code)
            offset += len(frame)
            yield frame, chunk, ns, self._labels_for(frame)

    def _labels_for(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.labels is not None:
            ids = frame[self.columns.id].to_numpy()
            if len(self.label_id_examples) < 3 and len(ids):
                self.label_id_examples.append(ids[0])
            return self.labels.reindex(ids).to_numpy(dtype=float)
        if self.columns.label:
            return _as_float(frame[self.columns.label])
        return None

    def _reference_sample(self) -> pd.DataFrame:
        """A uniform sample (≤ reference_rows) of the reference chunks' rows."""
        s = self.settings
        rows = int(self.plan.chunk_rows[: self.k].sum())
        rate = min(1.0, s.reference_rows / max(rows, 1))
        rng = np.random.default_rng(s.seed + 1)
        parts = []
        batches = (batch for index in self.plan.pieces_for(0, self.k - 1) for batch in self._piece_batches(index))
        for frame, chunk, _, labels in prefetch(batches):
            keep = (chunk >= 0) & (chunk < self.k) & (rng.random(len(frame)) < rate)
            if keep.any():
                part = frame.loc[keep]
                if labels is not None:
                    part = part.assign(__label__=labels[keep])
                parts.append(part)
        if not parts:
            raise InputError(f"{self.source.spec}: the reference period has no rows")
        return pd.concat(parts, ignore_index=True)

    def _task(self, sample: pd.DataFrame) -> str:
        if self.settings.task != "auto":
            return self.settings.task
        p = _as_float(sample[self.columns.prediction])
        p = p[np.isfinite(p)]
        in_unit = bool(p.size) and p.min() >= 0 and p.max() <= 1
        if "__label__" in sample:
            y = sample["__label__"].to_numpy(dtype=float)
            y = y[np.isfinite(y)]
            if y.size and not np.isin(y, (0.0, 1.0)).all():
                return "regression"
        return "binary" if in_unit else "regression"

    def _metric_names(self) -> list[str]:
        from readiness.stats.metrics import METRICS

        if not (self.labels is not None or self.columns.label):
            return []
        names = self.settings.metrics or DEFAULT_METRICS[self.task]
        for name in names:
            if self.task not in METRICS[name].tasks:
                raise ConfigError(f"monitoring.metrics: {name} is not a {self.task} metric; "
                                  f"use one of {', '.join(m for m, metric in METRICS.items() if self.task in metric.tasks)}")
        return names

    def _reference_profile(self, sample: pd.DataFrame, reference) -> dict[str, ColumnProfile]:
        s = self.settings
        watched = [*self.columns.features, self.columns.prediction]
        if reference is None:
            return fit_reference(sample[watched], s.bins, s.max_categories)
        path = Path(reference)
        if path.suffix.lower() == ".json":
            profile = load_profile(path)
            missing = [c for c in self.columns.features if c not in profile]
            if missing:
                raise InputError(f"{path}: the profile has no column(s) {', '.join(map(repr, missing[:5]))} of the log")
            return {k: v for k, v in profile.items() if k in watched}
        from readiness.data import read_table

        frame = read_table(path, "reference")
        if len(frame) > s.reference_rows:
            frame = frame.sample(s.reference_rows, random_state=s.seed)
        columns = [c for c in watched if c in frame.columns]
        missing = [c for c in self.columns.features if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: the reference data has no column(s) {', '.join(map(repr, missing[:5]))} of the log")
        return fit_reference(frame[columns], s.bins, s.max_categories)

    def _accumulate(self) -> None:
        """Every piece summarized on two threads (map), the parts added up in reading order (reduce).

        Each piece draws its samples from its own generator (seeded by the piece's
        number), so the result does not depend on which thread ran which piece.
        """
        from concurrent.futures import ThreadPoolExecutor

        s = self.settings
        chunk_rows = np.maximum(self.plan.chunk_rows, 1)
        profile_rate = np.minimum(1.0, s.profile_rows / chunk_rows)
        # chunks of up to metric_rows rows keep every labelled row; larger ones a uniform 1.5 × metric_rows
        # of their rows' labels (at least the cap when most rows are labelled), trimmed to the cap after
        metric_rate = np.where(self.plan.chunk_rows <= s.metric_rows, 1.0, np.minimum(1.0, 1.5 * s.metric_rows / chunk_rows))
        spark = s.engine == "spark"  # features profiled per chunk on Spark, every row (below); the rest here
        settings = PartSettings(self.columns, {} if spark else self.fixed, profile_rate, metric_rate, self.classifier,
                                s.decision_threshold, s.quantile_rows, s.metric_rows)
        self.acc = ChunkAccumulator(self.n, settings)

        def summarize_piece(index: int):
            rng = np.random.default_rng([s.seed, index])
            parts = {}
            for frame, chunk, ns, labels in self._piece_batches(index):
                summarize(frame, chunk, ns, labels, rng, settings, parts)
            return parts

        # In a log in time order a chunk is complete once the next piece starts after it: its
        # quantiles and realized metrics are computed then (on the same threads, between pieces)
        # and its samples released, so memory holds the open chunks only.
        pieces = len(self.plan.pieces)
        starts = [lo for lo, _ in self.plan.piece_span]
        complete_before = np.full(pieces, self.n)
        following = self.n
        for index in range(pieces - 1, -1, -1):
            complete_before[index] = following if self.plan.ordered else 0
            if starts[index] >= 0:
                following = min(following, starts[index])
        finished, measured = 0, []
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="readiness-monitor") as pool:
            queue = collections.deque()
            upcoming = iter(range(pieces))
            for index in itertools.islice(upcoming, 2 * WORKERS):  # a few pieces ahead, not the whole log
                queue.append((index, pool.submit(summarize_piece, index)))
            while queue:
                index, future = queue.popleft()
                parts = future.result()
                following_piece = next(upcoming, None)
                if following_piece is not None:
                    queue.append((following_piece, pool.submit(summarize_piece, following_piece)))
                self.acc.absorb(parts)
                while finished < complete_before[index]:
                    measured.append(self._finish_chunk(finished, pool))
                    finished += 1
            while finished < self.n:
                measured.append(self._finish_chunk(finished, pool))
                finished += 1
            for future in measured:
                if future is not None:
                    future.result()
        if spark:
            self.acc.profiles = self._spark_profiles()

    def _spark_profiles(self) -> dict[int, dict[str, ColumnProfile]]:
        """Each chunk's feature profile over every row, computed where the log lives: Spark tasks
        number the rows' chunks with :class:`ChunkKey` and profile them with ``profile_frame``,
        the driver merges the partials per chunk (:func:`readiness.engines.spark.profile_groups`)."""
        from readiness.engines import spark as spark_engine

        s = self.settings
        session = spark_engine.spark_session(s.spark.master, s.spark.conf)
        frame = spark_engine.read_data(session, [str(path) for path in self.source.files], "predictions")
        key = ChunkKey(self.rule, int(self.plan.first_code), self.n, self.columns.timestamp, self.source.spec)
        return spark_engine.profile_groups(frame, self.fixed, key, chunk_rows=s.batch_rows,
                                           key_columns=[self.columns.timestamp])

    def _finish_chunk(self, c: int, pool):
        """Quantiles now; realized metrics on the pool (returns its future); the chunk's samples released."""
        acc, s = self.acc, self.settings
        sample = acc.quantile_sample.pop(c)
        if sample is not None:
            values = sample[0][np.isfinite(sample[0])]
            if values.size:
                self.quantiles[c] = np.quantile(values, QUANTILES)
        labelled = acc.metric_sample.pop(c)
        if labelled is None or not self.metric_names:
            return None
        p, y = labelled

        def measure():
            data = eval_data(self.task, p, y, s.decision_threshold, where=f"labels of chunk {c + 1}")
            results = realized_metrics(self.metric_names, data, int(acc.labelled[c]), s.confidence, s.n_bootstrap,
                                       s.ci_rows, s.seed + c)
            for name, result in results.items():
                values, low, high = self.realized[name]
                values[c], low[c], high[c] = result.value, result.low, result.high

        return pool.submit(measure)

    # ------------------------------------------------------------------ series

    def chunk_labels(self) -> list[str]:
        """How each chunk is named in tables and sentences (its start, or its rows)."""
        if self.rule.by_rows:
            labels = []
            for i in range(self.n):
                first = self.acc.first_ns[i]
                when = (f" ({pd.Timestamp(first).strftime('%Y-%m-%d %H:%M')})"
                        if self.columns.timestamp and first != np.iinfo(np.int64).max else "")
                labels.append(f"row {i * self.rule.every:,}{when}")
            return labels
        form = "%Y-%m-%d %H:%M" if self.rule.unit == "h" else "%Y-%m-%d"
        return [pd.Timestamp(t).strftime(form) for t in self.plan.starts()]

    def last_chunk_partial(self) -> bool:
        """Period chunks: does the log end more than a tenth of a period before its last period does?"""
        if self.rule.by_rows or self.n < 2:
            return False
        start, end = (int(t) for t in self.rule.start(self.plan.first_code + np.array([self.n - 1, self.n])).view(np.int64))
        return end - int(self.acc.last_ns[-1]) > (end - start) / 10

    def _build_series(self) -> list[Series]:
        s, acc = self.settings, self.acc
        ref = slice(0, self.k)
        series = []
        rows = acc.rows.astype(float)
        if not self.rule.by_rows:
            note = ""
            if self.last_chunk_partial():
                # a log that ends mid-period has fewer rows in its last chunk: not an outage
                rows = rows.copy()
                rows[-1] = np.nan
                note = "the last chunk is partial (the log ends before its period does) and is left out"
            series.append(Series("rows", "Rows per chunk", rows, critical="rows" in s.critical, relative=True, note=note))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = acc.pred_sum / acc.pred_n
            var = (acc.pred_sq - acc.pred_sum ** 2 / acc.pred_n) / np.maximum(acc.pred_n - 1, 1)
        half = 1.959963984540054 * np.sqrt(np.maximum(var, 0) / acc.pred_n)
        series.append(Series("mean_prediction", "Mean prediction", mean, mean - half, mean + half,
                             critical="mean_prediction" in s.critical, relative=True))
        quantiles = {q: self.quantiles[:, i] for i, q in enumerate(QUANTILES)}
        for q in QUANTILES:
            series.append(Series(f"prediction_quantile.q{int(q * 100)}", f"Prediction {int(q * 100)}th percentile",
                                 quantiles[q], relative=True))
        if self.classifier:
            with np.errstate(invalid="ignore", divide="ignore"):
                positive = acc.positives / acc.pred_n
            series.append(Series("positive_rate", f"Positive rate (score ≥ {s.decision_threshold:g})", positive,
                                 critical="positive_rate" in s.critical, unit="%"))
        series += self._feature_series()
        series += self._performance_series()
        for item in series:
            item.band = learn_band(item.values, ref, s.band_coverage, log=item.log_band, margin=item.margin)
            if self.reference_source and item.key.startswith("drift."):
                # drift against a given reference is judged against it, not against the first chunks:
                # up to the drift report's threshold for the method
                item.band = (0.0, item.margin)
            if item.band is not None and (item.unit == "%" or item.log_band):
                item.band = (max(item.band[0], 0.0), item.band[1])  # shares and distances are never negative
            # ratio-like series and distances change multiplicatively: detected on log values
            item.changepoints = detect_changepoints(item.values, s.false_alarm_rate, log=item.relative or item.log_band,
                                                    reference=self.k)
        return series

    def _feature_series(self) -> list[Series]:
        from readiness.stats.drift_scores import DEFAULT_METHOD, METHODS

        acc = self.acc
        out = []
        reference_profile = self.reference_profile()
        for j, name in enumerate(self.columns.features):
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(acc.rows > 0, acc.missing[:, j] / acc.rows, np.nan)
            out.append(Series(f"missing.{name}", f"Missing values in {name}", share, direction="up", unit="%",
                              margin=self.settings.missing_change))
            ref = reference_profile.get(name)
            if ref is None or ref.kind == "skipped":
                continue
            method = METHODS[DEFAULT_METHOD[ref.kind]]
            scores = np.full(self.n, np.nan)
            for c, profiles in acc.profiles.items():
                if profiles[name].present:
                    scores[c] = method.compute(ref, profiles[name])
            # the band is learned on log scores (distances are skewed) and never ends below the
            # drift report's threshold for the method: smaller drifts are not worth a warning
            out.append(Series(f"drift.{name}", f"Drift of {name} ({method.symbol})", scores, direction="up",
                              note=method.title, log_band=True, margin=method.threshold))
        return out

    def reference_profile(self) -> dict[str, ColumnProfile]:
        """The profile drift is scored against: the reference chunks binned like every chunk, or the given reference."""
        if self.reference_source:
            return self.fixed
        parts = [self.acc.profiles[c] for c in range(self.k) if c in self.acc.profiles]
        return merge_profiles(parts) if parts else self.fixed

    def _performance_series(self) -> list[Series]:
        s, acc = self.settings, self.acc
        out = []
        if acc.labelled.sum() > 0:
            from readiness.stats.metrics import METRICS

            for position, name in enumerate(self.metric_names):
                metric = METRICS[name]
                values, low, high = self.realized[name]
                out.append(Series(f"performance.{name}", f"{metric.title} (realized)", values, low, high,
                                  critical=position == 0 and "performance" in s.critical,
                                  direction="down" if metric.higher_is_better else "up"))
        if self.classifier:
            accuracy, auc = (np.full(self.n, np.nan) for _ in range(2))
            acc_low, acc_high, auc_low, auc_high = (np.full(self.n, np.nan) for _ in range(4))
            probabilities = (acc.pred_n > 0) & (acc.outside_unit <= 0.001 * acc.pred_n)
            for c in np.flatnonzero(probabilities):
                accuracy[c], acc_low[c], acc_high[c] = estimated_accuracy(acc.exp_tp[c], acc.exp_tn[c], acc.pred_n[c],
                                                                          acc.conf_var[c], s.confidence)
                auc[c], auc_low[c], auc_high[c] = estimated_auc(acc.hist_n[c], acc.hist_p[c], s.confidence,
                                                                seed=s.seed + int(c))
            out.append(Series("estimated.roc_auc", "ROC AUC (estimated without labels)", auc, auc_low, auc_high,
                              direction="down"))
            out.append(Series("estimated.accuracy", "Accuracy (estimated without labels)", accuracy, acc_low, acc_high,
                              direction="down"))
        return out

    def get(self, key: str) -> Series | None:
        return next((item for item in self.series if item.key == key), None)

    def sentences(self, item: Series) -> list[str]:
        labels = self.chunk_labels()
        version = self.columns.version
        return [change_sentence(item, c, labels[c.index], self.lookup, version) for c in item.changepoints]

    def headline(self) -> str:
        """The most important change: of the mean prediction first, else the largest change of any critical series."""
        for key in ("mean_prediction",):
            item = self.get(key)
            if item is not None and item.changepoints:
                biggest = max(item.changepoints, key=lambda c: c.size_in_noise)
                return change_sentence(item, biggest, self.chunk_labels()[biggest.index], self.lookup, self.columns.version)
        changes = [(c.size_in_noise, item, c) for item in self.series if item.critical for c in item.changepoints]
        if changes:
            _, item, change = max(changes, key=lambda entry: entry[0])
            return change_sentence(item, change, self.chunk_labels()[change.index], self.lookup, self.columns.version)
        return "No level change in the mean prediction or the critical series"


def monitoring_spark_rows_message(chunk: str) -> str:
    return (f"monitoring.chunk {chunk!r}: monitoring.engine spark chunks by period (e.g. 1d, 1w), not by rows "
            "(row chunks need the log's global row order, which Spark's partitions do not keep); "
            "chunk by period or use the pandas engine")
