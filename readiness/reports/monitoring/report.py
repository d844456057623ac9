"""Monitoring report: the model's behaviour over time, and the release that changed it.

(Somewhat over 400 lines: the reading passes and the series built from them share one
state, the chunk accumulator; sections, figures, chunks, grid, series and log reading
already live in their own modules.)

:class:`MonitoringReport` reads a prediction log three times at most, each bounded:

1. the timestamp column, to fix the chunk grid (:func:`~readiness.reports.monitoring.log.plan_chunks`);
2. a uniform sample of the reference period (only the pieces that hold it), to fix the
   features' kinds, bin edges and categories (:func:`readiness.stats.profile.fit_reference`) —
   or a reference file or saved profile instead;
3. every row once, into per-chunk statistics (:class:`~readiness.reports.monitoring.chunks.ChunkAccumulator`).

Then every series gets its band from the reference chunks and its changepoints
(:mod:`~readiness.reports.monitoring.building`); the sections
(:mod:`~readiness.reports.monitoring.sections`) turn them into checks and tables as plain
data, and figures are drawn from that data by :mod:`readiness.figures.monitoring`.
"""

from __future__ import annotations

import collections
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from readiness.exceptions import ConfigError, InputError
from readiness.reports.monitoring.chunks import ChunkAccumulator, LogColumns, PartSettings, _as_float, summarize
from readiness.reports.monitoring.grid import MISSING, ChunkKey, ChunkRule, plan_chunks, timestamps_ns
from readiness.reports.monitoring.batch import Batch, read_batches
from readiness.reports.monitoring.log import VERSION_NAMES, log_columns, prefetch, read_piece, resolve_log
from readiness.reports.monitoring.building import SeriesBuilding
from readiness.reports.monitoring.performance import DEFAULT_METRICS, eval_data, realized_metrics
from readiness.reports.monitoring.series import ReleaseList, VersionTimeline
from readiness.reports.monitoring.sections import QUANTILES, ReportSections
from readiness.reports.monitoring.settings import (MonitoringConfig, monitoring_spark_rows_message,
                                                  parse_monitoring_settings)
from readiness.stats.profile import ColumnProfile, fit_reference, load_profile
from readiness.results import now_iso

REPORT = "monitoring_report"
#: Pieces summarized at once (numpy, pandas and Parquet decoding release the GIL for large arrays).
WORKERS = 2


class MonitoringReport(SeriesBuilding, ReportSections):
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
    model : str or Path, optional
        A model artifact (default: ``settings.model``), loaded like every artifact
        (:func:`readiness.artifacts.loading.load_model`: an artifact not trusted by hash
        runs in the confined worker). When the log has no prediction column, the model
        scores every row and the report watches its predictions; when it has one, the
        model scores a uniform sample of ``model_rows`` rows per chunk and
        ``monitoring.model_agreement`` says how many logged predictions differ from the
        model's (a serving system running another model, another preprocessing, or a
        stale artifact).
    trust : dict, optional
        The ``trust:`` settings of readiness.yaml (hashes of artifacts to load in-process).

    Examples
    --------
    >>> report = MonitoringReport("predictions.parquet", {"prediction": "score", "chunk": "1d"})  # doctest: +SKIP
    >>> report.headline()  # doctest: +SKIP
    'Mean prediction 100× higher from 2017-03-01, when model_version changed from v1 to v2'
    """

    def __init__(self, log: str | Path, settings: dict | MonitoringConfig | None = None,
                 reference: str | Path | None = None, labels: str | Path | None = None,
                 releases: list[dict] | None = None, release_lookup=None, model: str | Path | None = None,
                 trust: dict | None = None):
        self.started_at = now_iso()
        self._clock = time.perf_counter()
        self.settings = s = parse_monitoring_settings(settings)
        self.source = resolve_log(log, order_by=self.settings.timestamp)
        available = log_columns(self.source)
        labels = self._logger_folder(log, labels, available)
        s = self.settings
        self.model, self.model_info, self.model_mode = None, None, None
        model = model or s.model
        if model:
            self._load_model(str(model), trust)
        self.columns = self._roles(available, labels)
        if self.model is not None:
            self._model_features(available)
        self.rule = ChunkRule.parse(s.chunk)
        if not self.rule.by_rows and not self.columns.timestamp:
            raise InputError(f"{self.source.spec}: no column {s.timestamp!r} for the timestamp; name it with "
                             "--timestamp, or chunk by rows (e.g. --chunk 10000rows)")
        if s.engine == "spark" and self.rule.by_rows:
            raise ConfigError(monitoring_spark_rows_message(s.chunk))
        if s.engine == "spark" and self.source.format == "sql":
            raise ConfigError(f"monitoring.engine spark reads files (Parquet, CSV); {self.source.spec} is a database "
                              "table: leave monitoring.engine at pandas (the table is streamed in batches)")
        self.plan = plan_chunks(self.source, self.rule, self.columns.timestamp, s.batch_rows, s.max_chunks)
        self.n = self.plan.n_chunks
        self.k = min(s.reference_chunks or min(10, max(1, self.n // 3)), self.n)
        self.reference_label = "the first " + (f"{self.k} chunks" if self.k > 1 else "chunk")
        self.labels = self._load_labels(labels) if labels else None
        self.label_id_examples: list = []  # a few of the log's ids, named when none matches the labels file
        self._reading_reference = False
        sample = self._reference_sample()
        self.task = self._task(sample)
        self.classifier = self.task == "binary"
        self.multiclass = self.task == "multiclass"
        self.reference_source = str(reference) if reference else None
        self.fixed = self._reference_profile(sample, reference)
        self.metric_names = self._metric_names()
        self.realized = {name: [np.full(self.n, np.nan) for _ in range(3)] for name in self.metric_names}
        self.quantiles = np.full((self.n, len(QUANTILES)), np.nan)
        self.model_scored, self.model_mismatched = np.zeros(self.n), np.zeros(self.n)
        self._accumulate()
        self.timeline = (VersionTimeline(self.columns.version, self.acc.versions) if self.columns.version else None)
        if releases and not release_lookup:
            if self.rule.by_rows:
                raise ConfigError("releases: release dates need period chunks (e.g. --chunk 1d), not row chunks")
            release_lookup = ReleaseList(releases, lambda ns: self.rule.codes(ns) - self.plan.first_code)
        self.lookup = release_lookup or self.timeline
        self.series = self._build_series()

    # ------------------------------------------------------------------ reading

    def _logger_folder(self, log, labels, available: list[str]):
        """A folder :class:`readiness.PredictionLogger` wrote: its labels (``_labels/``) are joined
        on ``request_id`` unless a labels file is given, and its bookkeeping columns are no features."""
        from readiness.serving.sinks import LABELS_FOLDER, SQLSink

        if self.source.format == "sql":  # the logger's table: labels in <table>_labels
            sink = SQLSink(str(self.source.url), str(self.source.table))
            logged_labels = sink if sink.has_labels() else None
        else:
            folder = Path(str(log)).expanduser()
            if not (folder.is_dir() and any(p.name.startswith("date=") for p in folder.iterdir() if p.is_dir())):
                return labels
            logged_labels = folder / LABELS_FOLDER if any((folder / LABELS_FOLDER).glob("*.parquet")) else None
        update: dict = {}
        self._bookkeeping = {c for c in available if c == "method" or c.startswith("proba.")}
        probabilities = [c for c in available if c.startswith("proba.")]
        if len(probabilities) > 2 and self.settings.prediction == "prediction":
            # a multiclass model's predict_proba: the logger wrote the top class's name as the prediction
            # and each class's probability as proba.<class>; the probabilities are what is watched
            update["prediction"] = probabilities
            if self.settings.classes is None:
                update["classes"] = [c.removeprefix("proba.") for c in probabilities]
            self._bookkeeping.add("prediction")
        if labels is None and logged_labels is not None and "request_id" in available:
            labels = logged_labels
            update["id"] = self.settings.id or "request_id"
            update["label"] = self.settings.label or "label"
        if update:
            self.settings = self.settings.model_copy(update=update)
        return labels

    def _roles(self, available: list[str], labels) -> LogColumns:
        s = self.settings
        where = self.source.spec
        probabilities, classes = self._prediction_columns(available)
        prediction = s.prediction if isinstance(s.prediction, str) else "top-class probability"
        absent = [c for c in (probabilities or [prediction]) if c not in available]
        if absent and self.model is not None:
            self.model_mode = "score"  # the log holds features only: the model's predictions are the prediction
        elif absent:
            raise InputError(f"{where}: no prediction column {absent[0]!r} (columns: {', '.join(available[:12])}); "
                             "name it with --prediction (per-class probabilities: --prediction p_a,p_b,p_c), "
                             "or give --model to score the features")
        elif self.model is not None:
            self.model_mode = "check"
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
        roles = {timestamp, prediction, *probabilities, version or None, label if not labels else None, s.id}
        bookkeeping = getattr(self, "_bookkeeping", set())
        features = s.features if s.features is not None else [c for c in available
                                                              if c not in roles and c not in bookkeeping]
        unknown = [c for c in features if c not in available]
        if unknown:
            raise InputError(f"{where}: feature column(s) not in the log: {', '.join(map(repr, unknown[:5]))}")
        return LogColumns(timestamp, prediction, version or None, label if not labels else None, s.id, features,
                          probabilities, classes)

    def _prediction_columns(self, available: list[str]) -> tuple[list[str], list[str]]:
        """Multiclass: the per-class probability columns and the class names ([] and [] otherwise)."""
        s = self.settings
        model_classes = ([str(c) for c in self.model.classes] if self.model is not None and self.model.classes is not None
                         else None)
        if isinstance(s.prediction, str):
            if self.model is not None and model_classes and len(model_classes) > 2 and s.prediction not in available:
                # a multiclass model scoring a log without predictions: one probability column per class
                return [f"{s.prediction}[{c}]" for c in model_classes], model_classes
            if s.task == "multiclass":
                raise ConfigError("monitoring.prediction: a multiclass log needs its per-class probability columns, "
                                  "e.g. prediction: [p_a, p_b, p_c] (or --prediction p_a,p_b,p_c)")
            return [], []
        columns = list(s.prediction)
        if s.task not in ("auto", "multiclass"):
            raise ConfigError(f"monitoring.prediction: several probability columns make a multiclass task, not {s.task}")
        classes = s.classes or model_classes or class_names(columns)
        if len(classes) != len(columns) or len(set(map(str, classes))) != len(classes):
            raise ConfigError(f"monitoring.classes: {len(columns)} probability columns need {len(columns)} distinct "
                              f"class names in the same order (got {len(classes)})")
        return columns, [str(c) for c in classes]

    def _load_labels(self, path) -> pd.Series:
        """The separate label file as a Series indexed by id (the last label of a repeated id wins)."""
        from readiness.data import read_table

        from readiness.serving.sinks import SQLSink

        if isinstance(path, SQLSink):  # the labels table of a PredictionLogger's SQL sink
            frame = path.read_labels()
        elif Path(path).is_dir():  # the _labels folder of a PredictionLogger sink
            from readiness.serving.sinks import ParquetSink

            frame = ParquetSink(Path(path).parent).read_labels()
        else:
            frame = read_table(path, "labels")
        s = self.settings
        for column in (s.id, s.label):
            if column not in frame.columns:
                raise InputError(f"{path}: no column {column!r} in the labels file; it needs {s.id!r} and {s.label!r}")
        frame = frame.drop_duplicates(s.id, keep="last")
        if self.columns.probabilities:  # class names: mapped to class indexes as they are joined
            return pd.Series(self._class_codes(frame[s.label].to_numpy(), str(path)), index=pd.Index(frame[s.id]))
        return pd.Series(_as_float(frame[s.label]), index=pd.Index(frame[s.id]))

    def _class_codes(self, values, where: str) -> np.ndarray:
        """Labels (class names, or numbers naming them) as class indexes (NaN = no label).

        Raises
        ------
        InputError
            A label that names no class of the probability columns.
        """
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        index = {normal_class(c): i for i, c in enumerate(self.columns.classes)}
        lookup = np.full(len(uniques) + 1, np.nan)
        for k, value in enumerate(uniques):
            found = index.get(normal_class(value))
            if found is None:
                raise InputError(f"{where}: label {str(value)[:40]!r} is none of the classes "
                                 f"{', '.join(self.columns.classes[:10])} of the probability columns; "
                                 "set monitoring.classes to the class of each column, in order")
            lookup[k] = found
        return lookup[np.where(codes < 0, len(uniques), codes)]

    def _read_columns(self) -> list[str]:
        c = self.columns
        wanted = [c.timestamp, *(c.probabilities or [c.prediction]), c.version, c.label, c.id, *c.features]
        if self.model_mode == "score":  # the model writes those
            wanted = [w for w in wanted if w not in (c.prediction, *c.probabilities)]
        wanted += self.model_features if self.model is not None else []
        return list(dict.fromkeys(w for w in wanted if w))

    def _piece_batches(self, index: int):
        """(batch, chunk index per row, ns or None, labels or None) for one piece of the log."""
        piece = self.plan.pieces[index]
        offset = self.plan.piece_offset[index]
        for batch in read_batches(self.source, piece, self._read_columns(), self.settings.batch_rows):
            ns = None
            if self.columns.timestamp:
                ns = batch.timestamps(self.columns.timestamp, str(piece.file))
            if self.rule.by_rows:
                chunk = (offset + np.arange(batch.n)) // self.rule.every
            else:
                chunk = np.where(ns == MISSING, -1, self.rule.codes(ns) - self.plan.first_code)
            offset += batch.n
            if self.model_mode == "score":
                self._score_batch(batch)
            elif self.model_mode == "check" and not self._reading_reference:
                self._check_batch(batch, chunk, index)
            yield batch, chunk, ns, self._labels_for(batch, str(piece.file))

    def _labels_for(self, batch: Batch, where: str = "log") -> np.ndarray | None:
        if self.labels is not None:
            ids = batch.column(self.columns.id).to_pandas().to_numpy()
            if len(self.label_id_examples) < 3 and len(ids):
                self.label_id_examples.append(ids[0])
            return self.labels.reindex(ids).to_numpy(dtype=float)
        if self.columns.label and self.columns.probabilities:
            return self._class_codes(batch.column(self.columns.label).to_pandas().to_numpy(), where)
        if self.columns.label:
            return batch.floats(self.columns.label)
        return None

    # ------------------------------------------------------------------ a model artifact

    def _load_model(self, path: str, trust) -> None:
        import threading

        from readiness.artifacts.loading import ModelAdapter, load_model

        estimator, self.model_info = load_model(path, "model", trust)
        self.model = ModelAdapter(estimator, "model")
        self._model_lock = threading.Lock()  # one call at a time: the sandboxed worker serves one request at once

    def _model_features(self, available: list[str]) -> None:
        """The columns the model reads: its own feature names, else the log's feature columns."""
        names = self.model.feature_names or self.columns.features
        absent = [c for c in names if c not in available]
        if absent:
            raise InputError(f"{self.source.spec}: the model needs column(s) the log does not have: "
                             f"{', '.join(map(repr, absent[:8]))}; log the model's features, or leave out --model")
        if not names:
            raise InputError(f"{self.source.spec}: the log has no feature column for the model to score")
        self.model_features = list(names)

    def _model_scores(self, batch: Batch, rows: np.ndarray | None = None) -> np.ndarray:
        """The model's prediction per row: P(positive) (binary), class probabilities (multiclass), or predict()."""
        frame = batch.frame(self.model_features, rows)
        with self._model_lock:
            if self.model.classes is None:
                return np.asarray(self.model.predict(frame), dtype=float).ravel()
            if not self.model.has_proba:
                raise InputError("the model has no predict_proba: a classifier's log is judged on its probabilities; "
                                 "save a model with predict_proba")
            proba = self.model.predict_proba(frame)
        return proba if self.columns.probabilities else proba[:, -1]

    def _score_batch(self, batch: Batch) -> None:
        scores = self._model_scores(batch)
        if self.columns.probabilities:
            for j, name in enumerate(self.columns.probabilities):
                batch.add(name, scores[:, j])
        else:
            batch.add(self.columns.prediction, scores)

    def _check_batch(self, batch: Batch, chunk: np.ndarray, index: int) -> None:
        """Score a uniform sample of the batch's rows and count the logged predictions that differ."""
        s = self.settings
        rate = np.minimum(1.0, s.model_rows / np.maximum(self.plan.chunk_rows, 1))
        rng = np.random.default_rng([s.seed, index, batch.n, 17])
        dated = chunk >= 0
        rows = np.flatnonzero(dated & (rng.random(batch.n) < rate[np.where(dated, chunk, 0)]))
        if not rows.size:
            return
        ours = self._model_scores(batch, rows)
        if self.columns.probabilities:
            logged = np.column_stack([batch.floats(name)[rows] for name in self.columns.probabilities])
        else:
            logged = batch.floats(self.columns.prediction)[rows]
        with np.errstate(invalid="ignore"):
            differs = ~(np.abs(logged - ours) <= s.model_tolerance)  # a missing logged value differs too
        if differs.ndim == 2:
            differs = differs.any(axis=1)
        with self._model_lock:
            np.add.at(self.model_scored, chunk[rows], 1)
            np.add.at(self.model_mismatched, chunk[rows], differs)

    def _reference_sample(self) -> pd.DataFrame:
        """A uniform sample (≤ reference_rows) of the reference chunks' rows."""
        s = self.settings
        rows = int(self.plan.chunk_rows[: self.k].sum())
        rate = min(1.0, s.reference_rows / max(rows, 1))
        rng = np.random.default_rng(s.seed + 1)
        parts = []
        batches = (batch for index in self.plan.pieces_for(0, self.k - 1) for batch in self._piece_batches(index))
        self._reading_reference = True
        names = self._read_columns()
        if self.model_mode == "score":  # the model's predictions join the columns read
            names += self.columns.probabilities or [self.columns.prediction]
        for batch, chunk, _, labels in prefetch(batches):
            keep = np.flatnonzero((chunk >= 0) & (chunk < self.k) & (rng.random(batch.n) < rate))
            if keep.size:
                part = batch.frame(names, keep)
                if labels is not None:
                    part = part.assign(__label__=labels[keep])
                parts.append(part)
        self._reading_reference = False
        if not parts:
            raise InputError(f"{self.source.spec}: the reference period has no rows")
        return pd.concat(parts, ignore_index=True)

    def _task(self, sample: pd.DataFrame) -> str:
        if self.columns.probabilities:
            return "multiclass"
        if self.model is not None and self.model_mode == "score" and self.settings.task == "auto":
            return "regression" if self.model.classes is None else "binary"
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
        watched = [*self.columns.features, *([] if self.columns.probabilities else [self.columns.prediction])]
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
                                s.decision_threshold, s.quantile_rows, s.metric_rows, len(self.columns.probabilities))
        self.acc = ChunkAccumulator(self.n, settings)

        def summarize_piece(index: int):
            rng = np.random.default_rng([s.seed, index])
            parts = {}
            for batch, chunk, ns, labels in self._piece_batches(index):
                summarize(batch, chunk, ns, labels, rng, settings, parts)
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
        p, y = (np.column_stack(labelled[:-1]), labelled[-1]) if self.multiclass else labelled

        def measure():
            data = eval_data(self.task, p, y, s.decision_threshold, where=f"labels of chunk {c + 1}")
            results = realized_metrics(self.metric_names, data, int(acc.labelled[c]), s.confidence, s.n_bootstrap,
                                       s.ci_rows, s.seed + c)
            for name, result in results.items():
                values, low, high = self.realized[name]
                values[c], low[c], high[c] = result.value, result.low, result.high

        return pool.submit(measure)


def class_names(columns: list[str]) -> list[str]:
    """Class names from per-class probability columns: their names without the common prefix and suffix.

    Examples
    --------
    >>> class_names(["proba_cat", "proba_dog", "proba_eel"])
    ['cat', 'dog', 'eel']
    >>> class_names(["p(0)", "p(1)", "p(2)"])
    ['0', '1', '2']
    """
    import os

    prefix = os.path.commonprefix(columns)
    suffix = os.path.commonprefix([c[len(prefix):][::-1] for c in columns])[::-1]
    names = [c[len(prefix):len(c) - len(suffix)] for c in columns]
    return names if all(names) and len(set(names)) == len(names) else list(columns)


def normal_class(value) -> str:
    """A class name as text, numbers written alike (``1``, ``1.0``, ``"1"`` → ``"1"``).

    Examples
    --------
    >>> normal_class(2.0), normal_class("2"), normal_class("cat")
    ('2', '2', 'cat')
    """
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    if np.isfinite(number) and number == int(number):
        return str(int(number))
    return str(value).strip()

