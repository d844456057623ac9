"""PredictionLogger: the served model's predictions recorded, without ever breaking serving.

Each ``predict``/``predict_proba`` call copies what it logs (time, model version, request
ids, predictions, chosen features) into an in-memory buffer under a lock and returns the
model's answer; a background thread turns the buffer into one batch and writes it to the
sink every ``flush_rows`` rows or ``flush_seconds``. A failing sink costs nothing but the
log: the error is counted and said once on the ``readiness.serving`` logger, the batch is
kept for the next attempt, and the buffer never holds more than ``max_buffer_rows``
(the oldest rows are dropped and counted beyond that).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from readiness.exceptions import InputError, UsageError
from readiness.serving.sinks import LABEL_COLUMNS, open_sink

log = logging.getLogger("readiness.serving")

#: Columns the logger itself writes; a feature of the same name is logged as ``feature.<name>``.
RESERVED = ("timestamp", "model_version", "method", "request_id", "prediction")


@dataclass
class _Call:
    """One call's copy of what is logged (built into a frame by the writer thread, not by predict)."""

    ns: int
    method: str
    predictions: np.ndarray
    #: A copy of the input (a DataFrame, or an array with its column names); columns are chosen at write time.
    features: pd.DataFrame | tuple[np.ndarray, tuple[str, ...]] | None
    ids: np.ndarray | None
    classes: Sequence | None = None

    def group(self) -> tuple:
        """Calls of one group are concatenated column by column."""
        if isinstance(self.features, pd.DataFrame):
            shape: tuple = ("frame", tuple(self.features.columns))
        elif self.features is not None:
            shape = ("array", self.features[1], str(self.features[0].dtype))
        else:
            shape = ("none",)
        return (self.method, self.ids is not None, self.predictions.shape[1:], shape)

    @property
    def rows(self) -> int:
        return len(self.predictions)


@dataclass
class LoggerStats:
    """What the logger did: rows written, dropped (buffer full), sampled out, sink errors.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> with PredictionLogger(model, tempfile.mkdtemp(), model_version="v1", sample=0.5, seed=0) as served:
    ...     _ = served.predict(np.linspace(0, 1, 20).reshape(-1, 1))
    >>> stats = served.stats
    >>> stats.rows_seen, stats.rows_logged, stats.rows_sampled_out, stats.rows_dropped, stats.errors
    (20, 8, 12, 0, 0)
    """

    calls: int = 0
    rows_seen: int = 0
    rows_logged: int = 0
    rows_sampled_out: int = 0
    rows_dropped: int = 0
    rows_buffered: int = 0
    flushes: int = 0
    errors: int = 0
    last_error: str | None = None
    errors_by_kind: dict[str, int] = field(default_factory=dict)


class PredictionLogger:
    """Wrap a loaded model so that its predictions are logged to a sink.

    Parameters
    ----------
    model : estimator
        The object the service calls (any ``predict``; ``predict_proba`` when it has one).
        Other attributes pass through.
    sink : str, Path or object
        A folder (Parquet dataset partitioned by date), a database URL (an SQL table), or
        any object with ``write(frame)``.
    artifact : str or Path, optional
        The model file: the version logged is the sha256 in its manifest
        (``<artifact>.meta.json``, written by :func:`readiness.save_model`), else the file's.
    model_version : str, optional
        Overrides the version; without it and without ``artifact`` no version is logged
        (the monitoring report then names releases from the release history).
    features : bool or list of str
        True logs every input column, False none, a list only those.
    exclude : list of str
        Input columns never logged (what must not be stored).
    sample : float
        Share of rows logged, in (0, 1] (each row drawn independently).
    flush_rows, flush_seconds : int, float
        Write a batch when this many rows wait, or this long after the oldest.
    max_buffer_rows : int
        Memory bound: rows held while the sink is slow or failing.
    seed : int, optional
        Seed of the sampling draw.
    clock : callable
        Returns the time logged, in UTC nanoseconds (replays and tests set it).
    encoder : {"thread", "process"}
        Where batches are built and encoded: on the logger's thread in this process, or in a
        helper process (folder or database sinks only) so that the service's own threads never
        wait for the GIL while Parquet is written; the call's cost is then its copy alone.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> folder = tempfile.mkdtemp()
    >>> with PredictionLogger(model, folder, model_version="v1") as served:
    ...     served.predict_proba([[0.2], [0.9]], request_ids=["a", "b"]).shape
    (2, 2)
    >>> served.stats.rows_logged
    2
    """

    def __init__(self, model: Any, sink: Any, *, artifact: str | Path | None = None, model_version: str | None = None,
                 features: bool | Sequence[str] = True, exclude: Iterable[str] = (), sample: float = 1.0,
                 flush_rows: int = 10_000, flush_seconds: float = 5.0, max_buffer_rows: int = 200_000,
                 seed: int | None = None, clock: Callable[[], int] = time.time_ns, encoder: str = "thread"):
        if not callable(getattr(model, "predict", None)):
            raise UsageError(f"{type(model).__name__}: the model has no predict method")
        if not 0 < float(sample) <= 1:
            raise UsageError(f"sample={sample!r}: give the share of rows to log, in (0, 1]")
        if not (flush_rows >= 1 and max_buffer_rows >= flush_rows and flush_seconds > 0):
            raise UsageError("flush_rows >= 1, max_buffer_rows >= flush_rows and flush_seconds > 0 are needed")
        if encoder not in ("thread", "process"):
            raise UsageError(f"encoder={encoder!r}: use 'thread' or 'process'")
        if encoder == "process" and not isinstance(sink, (str, Path)):
            raise UsageError("encoder='process' needs a folder or a database URL as the sink (an object stays in this process)")
        self.model = model
        self.sink = open_sink(sink)
        self.model_version = model_version if model_version is not None else _artifact_version(artifact)
        self.features = features if isinstance(features, bool) else list(features)
        self.exclude = set(exclude)
        self.sample = float(sample)
        self.flush_rows, self.flush_seconds, self.max_buffer_rows = int(flush_rows), float(flush_seconds), int(max_buffer_rows)
        self.stats = LoggerStats()
        self.clock = clock
        self._rng = np.random.default_rng(seed)
        self._buffer: list[_Call] = []
        self._oldest: float | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time: flush() and the thread never interleave
        self._wake = threading.Event()
        self._closed = False
        self._said: set[str] = set()
        self._encoder = _EncoderProcess(str(sink), self.model_version, self.features, sorted(self.exclude)) \
            if encoder == "process" else None
        if self._encoder is not None:
            self._encoder.start()  # now, not at the first flush: its imports take seconds
        self._thread = threading.Thread(target=_writer_loop, args=(weakref.ref(self),), daemon=True,
                                        name="readiness-prediction-logger")
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))

    # ---------------------------------------------------------------- serving

    def predict(self, X, request_ids: Sequence | None = None, **kwargs):
        """The model's ``predict(X)``, logged."""
        predictions = self.model.predict(X, **kwargs)
        self._capture("predict", X, predictions, request_ids)
        return predictions

    def predict_proba(self, X, request_ids: Sequence | None = None, **kwargs):
        """The model's ``predict_proba(X)``, logged (binary: the positive class's probability)."""
        probabilities = self.model.predict_proba(X, **kwargs)
        self._capture("predict_proba", X, probabilities, request_ids)
        return probabilities

    def __getattr__(self, name: str):
        if name == "model":  # during __init__ failures
            raise AttributeError(name)
        return getattr(self.model, name)

    def _capture(self, method: str, X, output, request_ids) -> None:
        try:
            self._capture_unsafe(method, X, output, request_ids)
        except Exception as exc:  # logging must never break the answer the caller is waiting for
            self._error(exc, "capture")

    def _capture_unsafe(self, method: str, X, output, request_ids) -> None:
        ns = int(self.clock())
        output = np.asarray(output)
        n = output.shape[0] if output.ndim else 1
        keep = None
        if self.sample < 1:
            with self._lock:
                keep = self._rng.random(n) < self.sample
            if not keep.any():
                with self._lock:
                    self.stats.calls += 1
                    self.stats.rows_seen += n
                    self.stats.rows_sampled_out += n
                return
        ids = None
        if request_ids is not None:
            ids = np.asarray(request_ids if not np.isscalar(request_ids) else [request_ids])
            if len(ids) != n:
                raise InputError(f"request_ids: {len(ids)} ids for {n} predictions")
        features = self._features(X, n)
        if keep is not None and not keep.all():
            output = output[keep]
            ids = ids[keep] if ids is not None else None
            if isinstance(features, pd.DataFrame):
                features = features.iloc[np.flatnonzero(keep)]
            elif features is not None:
                features = (features[0][keep], features[1])
        else:
            output = output.copy()
            ids = ids.copy() if ids is not None else None
        classes = getattr(self.model, "classes_", None) if method == "predict_proba" else None
        call = _Call(ns, method, output, features, ids, classes)
        with self._lock:
            self.stats.calls += 1
            self.stats.rows_seen += n
            self.stats.rows_sampled_out += n - call.rows
            self._buffer.append(call)
            self.stats.rows_buffered += call.rows
            if self._oldest is None:
                self._oldest = time.monotonic()
            self._drop_beyond_bound()
            full = self.stats.rows_buffered >= self.flush_rows
        if full:
            self._wake.set()

    def _features(self, X, n: int):
        """A copy of the input (the caller may reuse its frame after predict returns): the cheapest
        thing to do on the caller's time; choosing and renaming columns waits for the writer.

        Under pandas' copy-on-write (the default from pandas 3) a shallow copy is that copy: a
        later change to the caller's frame copies the caller's data, never the logged one, and
        the call stays free of a memcpy of the whole batch (1.3 ms for 10,000 rows x 20 floats)."""
        if self.features is False:
            return None
        if isinstance(X, pd.DataFrame):
            return X.copy(deep=not _copy_on_write())
        array = np.array(X, copy=True)
        if array.ndim == 1:
            array = array.reshape(1, -1) if n == 1 else array.reshape(-1, 1)
        given = getattr(self.model, "feature_names_in_", None)
        names = tuple(str(c) for c in given) if given is not None and len(given) == array.shape[1] \
            else tuple(f"x{i}" for i in range(array.shape[1]))
        return array, names

    def _chosen(self, names: Sequence) -> list:
        features = self.features
        return [c for c in names
                if (features is True or (not isinstance(features, bool) and str(c) in features)) and str(c) not in self.exclude]

    def _drop_beyond_bound(self) -> None:
        """Called under the lock: keep at most max_buffer_rows (the oldest calls go first)."""
        while self.stats.rows_buffered > self.max_buffer_rows and len(self._buffer) > 1:
            dropped = self._buffer.pop(0)
            self.stats.rows_buffered -= dropped.rows
            self.stats.rows_dropped += dropped.rows
            self._say("dropped", f"prediction log: buffer full ({self.max_buffer_rows:,} rows) while the sink "
                                 f"{self.sink!r} is slow or failing; the oldest rows are dropped and counted")

    # ---------------------------------------------------------------- writing

    def _due(self) -> bool:
        with self._lock:
            if not self._buffer:
                return False
            return (self.stats.rows_buffered >= self.flush_rows
                    or time.monotonic() - (self._oldest or 0) >= self.flush_seconds)

    def flush(self) -> int:
        """Write what is buffered now; returns the rows written (0 when the sink failed: kept for later)."""
        with self._write_lock:
            with self._lock:
                calls, self._buffer = self._buffer, []
                self._oldest = None
            if not calls:
                return 0
            try:
                if self._encoder is not None:
                    rows = self._encoder.write(calls)
                else:
                    frame = _frame(calls, self.model_version, self._chosen)
                    self.sink.write(frame)
                    rows = len(frame)
            except Exception as exc:
                with self._lock:  # keep the batch for the next attempt, within the memory bound
                    self._buffer[:0] = calls
                    self._oldest = self._oldest or time.monotonic()
                    self._drop_beyond_bound()
                self._error(exc, "sink")
                return 0
            with self._lock:
                self.stats.rows_buffered -= rows
                self.stats.rows_logged += rows
                self.stats.flushes += 1
            return rows

    def close(self) -> LoggerStats:
        """Flush and stop the writer thread; returns the stats (errors said once on the log)."""
        if not self._closed:
            self._closed = True
            self._wake.set()
            self._thread.join(timeout=30)
            self.flush()
            if self._encoder is not None:
                self._encoder.close()
            if self.stats.errors or self.stats.rows_dropped:
                log.warning("prediction log %r: %d sink error(s), %d row(s) dropped, %d logged; last error: %s",
                            self.sink, self.stats.errors, self.stats.rows_dropped, self.stats.rows_logged,
                            self.stats.last_error)
        return self.stats

    def __enter__(self) -> "PredictionLogger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _error(self, exc: BaseException, kind: str) -> None:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        with self._lock:
            self.stats.errors += 1
            self.stats.last_error = text
            self.stats.errors_by_kind[kind] = self.stats.errors_by_kind.get(kind, 0) + 1
        self._say(kind, f"prediction log {self.sink!r}: {kind} error ({text}); predictions are unaffected, "
                        "errors are counted in PredictionLogger.stats")

    def _say(self, key: str, message: str) -> None:
        if key not in self._said:  # once per kind: a failing sink must not flood the service's log
            self._said.add(key)
            log.warning(message)


class _EncoderProcess:
    """The helper process of ``encoder="process"`` (:mod:`readiness.serving._encoder_main`), started on
    the first flush and again after it died; one batch in flight, answered before the next."""

    #: A batch not answered within this long counts as a sink error (and the process is replaced).
    TIMEOUT_S = 120.0

    def __init__(self, sink: str, model_version: str | None, features, exclude: list[str]):
        self.setup = {"sink": sink, "model_version": model_version, "features": features, "exclude": exclude}
        self.process: Any = None
        self.to_encoder: Any = None
        self.from_encoder: Any = None

    def start(self) -> None:
        import os
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        self.close()
        to_read, to_encoder = os.pipe()
        from_encoder, to_write = os.pipe()
        self.process = subprocess.Popen([sys.executable, "-m", "readiness.serving._encoder_main", str(to_read),
                                         str(to_write)], pass_fds=(to_read, to_write), stdin=subprocess.DEVNULL,
                                        close_fds=True)
        os.close(to_read)
        os.close(to_write)
        self.to_encoder = Connection(to_encoder, readable=False)
        self.from_encoder = Connection(from_encoder, writable=False)
        self.to_encoder.send(self.setup)

    def write(self, calls: list) -> int:
        if self.process is None or self.process.poll() is not None:
            self.start()
        try:
            self.to_encoder.send(calls)
            if not self.from_encoder.poll(self.TIMEOUT_S):
                raise TimeoutError(f"the encoder process answered no batch within {self.TIMEOUT_S:.0f} s")
            kind, value = self.from_encoder.recv()
        except (OSError, EOFError, TimeoutError) as exc:
            self.close()  # started again on the next flush
            raise RuntimeError(f"encoder process: {type(exc).__name__}: {exc}") from None
        if kind != "ok":
            raise RuntimeError(str(value))
        return int(value)

    def close(self) -> None:
        for connection in (self.to_encoder, self.from_encoder):
            if connection is not None:
                try:
                    connection.close()
                except OSError:
                    pass
        self.to_encoder = self.from_encoder = None
        if self.process is not None:
            try:
                self.process.wait(timeout=30)  # its input closed: it ends
            except Exception:
                self.process.kill()
            self.process = None


def _writer_loop(ref) -> None:
    while True:
        logger = ref()
        if logger is None:
            return
        wake, interval, closed = logger._wake, min(logger.flush_seconds, 1.0), logger._closed
        if closed:
            return
        if logger._due():
            logger.flush()
        del logger  # hold no reference while waiting: the logger can be collected
        wake.wait(interval)
        wake.clear()


def _copy_on_write() -> bool:
    if _PANDAS_MAJOR >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


def _close_at_exit(ref) -> None:
    logger = ref()
    if logger is not None:
        logger.close()


def _frame(calls: list[_Call], model_version: str | None, chosen) -> pd.DataFrame:
    """One batch from the buffered calls: calls of one shape concatenated column by column
    (thousands of single-row calls cost a few array concatenations, not a frame each)."""
    groups: dict[tuple, list[_Call]] = {}
    for call in calls:
        groups.setdefault(call.group(), []).append(call)
    parts = []
    for members in groups.values():
        first = members[0]
        rows = np.fromiter((c.rows for c in members), dtype=np.int64, count=len(members))
        ns = np.repeat(np.fromiter((c.ns for c in members), dtype=np.int64, count=len(members)), rows)
        data: dict[str, Any] = {"timestamp": pd.to_datetime(ns, utc=True)}
        if model_version is not None:
            data["model_version"] = model_version
        data["method"] = first.method
        if first.ids is not None:
            data["request_id"] = pd.array(np.concatenate([c.ids for c in members]).astype(str), dtype="string")
        predictions = np.concatenate([c.predictions for c in members]) if len(members) > 1 else first.predictions
        data.update(_prediction_columns(first.method, predictions, first.classes))
        part = pd.DataFrame(data)
        if isinstance(first.features, pd.DataFrame):
            names = chosen(first.features.columns)
            features = pd.concat([m.features for m in members], ignore_index=True) if len(members) > 1 \
                else first.features
            features = features[names] if list(names) != list(features.columns) else features
        elif first.features is not None:
            all_names = first.features[1]
            names = chosen(all_names)
            index = [all_names.index(c) for c in names]
            arrays = [c.features[0][:, index] for c in members if isinstance(c.features, tuple)]
            features = pd.DataFrame(np.concatenate(arrays), columns=names)
        else:
            features = None
        if features is not None:
            features.columns = [f"feature.{c}" if str(c) in RESERVED else str(c) for c in features.columns]
            part = pd.concat([part, features.reset_index(drop=True)], axis=1)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return frame.sort_values("timestamp", kind="stable", ignore_index=True) if len(parts) > 1 else frame


def _prediction_columns(method: str, output: np.ndarray, classes) -> dict[str, Any]:
    if method != "predict_proba" or output.ndim != 2:
        return {"prediction": output if output.ndim == 1 else output.reshape(len(output), -1)[:, 0]}
    if output.shape[1] == 2:  # binary: the positive class's probability is what is monitored
        return {"prediction": output[:, 1]}
    names = [str(c) for c in classes] if classes is not None and len(classes) == output.shape[1] \
        else [str(i) for i in range(output.shape[1])]
    columns = {f"proba.{name}": output[:, i] for i, name in enumerate(names)}
    return {"prediction": np.asarray(names, dtype=object)[output.argmax(axis=1)], **columns}


def _artifact_version(artifact: str | Path | None) -> str | None:
    if artifact is None:
        return None
    from readiness.artifacts.manifest import read_manifest
    from readiness.data import sha256_file

    path = Path(artifact)
    if not path.exists():
        raise InputError(f"{path}: artifact not found; give the model file the service loaded (or model_version=)")
    manifest = read_manifest(path)
    if manifest and manifest.get("sha256"):
        return str(manifest["sha256"])
    return sha256_file(path) if path.is_file() else None


def log_labels(sink: Any, ids: Sequence | np.ndarray, labels: Sequence | np.ndarray) -> int:
    """Append labels, when they arrive, to the log of ``sink`` (joined on the request id).

    Parameters
    ----------
    sink : str, Path or sink object
        The folder or database URL the :class:`PredictionLogger` writes to.
    ids : sequence
        Request ids, as given to ``predict(..., request_ids=...)``.
    labels : sequence
        The outcomes, one per id.

    Returns
    -------
    int
        Rows written.

    Examples
    --------
    >>> import tempfile
    >>> log_labels(tempfile.mkdtemp(), ["a", "b"], [1, 0])
    2
    """
    id_array, label_array = np.asarray(ids), np.asarray(labels)
    if id_array.ndim != 1 or id_array.shape != label_array.shape:
        raise InputError(f"log_labels: {id_array.size} ids and {label_array.size} labels; give one label per id")
    if len(id_array) == 0:
        return 0
    frame = pd.DataFrame(dict(zip(LABEL_COLUMNS, (pd.array(id_array.astype(str), dtype="string"), label_array,
                                                  pd.Timestamp.now(tz="UTC")))))
    target = open_sink(sink)
    if not callable(getattr(target, "write_labels", None)):
        raise InputError(f"{target!r}: this sink keeps no labels (use a folder or a database URL)")
    target.write_labels(frame)
    return len(frame)
