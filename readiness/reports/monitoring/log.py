"""Reading a prediction log in bounded memory, and cutting it into chunks.

A log is a CSV or Parquet file, a folder of Parquet (or CSV) files, or a glob of them,
as a serving system writes them, or a table in a database (an SQLAlchemy URL, the SQL sink
of :class:`readiness.PredictionLogger`: ``sqlite:///log.sqlite``, ``postgresql+psycopg://…``;
``#name`` after the URL names a table other than ``predictions``). It is never loaded whole:
Parquet is read one row group at a time (only the columns asked for), CSV in row batches, a
table through a streaming cursor in row batches. A *piece* is the unit of reading (one Parquet
row group, one CSV file, or the whole table); the chunk grid
(:mod:`readiness.reports.monitoring.grid`) records which pieces hold which chunks, so that the
reference period can be read without reading the rest.
"""

from __future__ import annotations

import functools
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from readiness.exceptions import InputError
from readiness.serving.sinks import is_database_url

#: Columns taken as the model version when monitoring.version is not set, first found wins.
VERSION_NAMES = ("model_version", "version")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")


def _kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    return None


@dataclass(frozen=True)
class LogSource:
    """The files of a prediction log, in reading order, and their format.

    A database table has no files: ``url`` and ``table`` name it (``spec`` shows the URL
    without its password), and ``order_by`` is the column its rows are read in order of.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> source = resolve_log(folder)  # two files: rows 0-19 in two row groups, rows 20-29 in one
    >>> [path.name for path in source.files], source.format
    (['part-00000.parquet', 'part-00001.parquet'], 'parquet')
    """

    spec: str
    files: tuple[Path, ...]
    format: str  # "parquet", "csv" or "sql"
    url: str | None = field(default=None, repr=False)
    table: str | None = None
    order_by: str | None = None


#: The table a database log is read from when its URL names none (what the logger writes).
DEFAULT_TABLE = "predictions"


def _resolve_table(text: str, key: str, order_by: str | None) -> LogSource:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from readiness.serving.sinks import SQLSink

    url, _, table = text.partition("#")
    sink = SQLSink(url, table or DEFAULT_TABLE)
    database = sink.engine.url.database
    if sink.engine.dialect.name == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:") and not Path(database).is_file():
        # connecting would create an empty database file where a typo points
        raise InputError(f"{database}: file not found; check the {key!r} URL")  # the logger's own connection rules (driver message, busy timeout)
    shown = sink.engine.url.render_as_string(hide_password=True) + (f"#{sink.table}" if table else "")
    try:
        found = inspect(sink.engine)
        if not found.has_table(sink.table):
            raise InputError(f"{shown}: no table {sink.table!r} in this database; point {key!r} at the prediction "
                             f"log's table (after the URL: #table_name)")
        names = {c["name"] for c in found.get_columns(sink.table)}
    except SQLAlchemyError as exc:
        raise InputError(f"{shown}: cannot read the database ({str(exc).splitlines()[0][:150]}); "
                         f"check the {key!r} URL") from None
    return LogSource(shown, (), "sql", url=url, table=sink.table,
                     order_by=order_by if order_by in names else None)


def resolve_log(spec: str | Path, key: str = "log", order_by: str | None = None) -> LogSource:
    """The files a log argument names: a file, a folder (searched recursively), a glob, or a table.

    Parameters
    ----------
    spec : str or Path
        ``predictions.parquet``, ``logs/``, ``"logs/2017-*/*.parquet"``, or a database URL
        (``sqlite:///log.sqlite``; ``…#table`` for a table other than ``predictions``).
    key : str
        The config key or argument named in error messages.
    order_by : str, optional
        A database table's rows are read in order of this column (the timestamp) when it has it.

    Returns
    -------
    LogSource
        Files sorted by path; all Parquet or all CSV.

    Raises
    ------
    InputError
        Nothing matches, the files mix formats, or a file is empty.

    Examples
    --------
    >>> resolve_log("missing.parquet")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: missing.parquet: file not found; check the 'log' path
    """
    text = str(spec)
    if is_database_url(text):
        return _resolve_table(text, key, order_by)
    path = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
        if not files:
            raise InputError(f"{text}: the pattern matches no file; check the {key!r} path")
    elif path.is_dir():
        # files or folders named . or _ are hidden (Hive, Arrow): half-written files, a logger's _labels/
        found = sorted(p for p in path.rglob("*") if p.is_file() and _kind_of(p)
                       and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
        parquet = [p for p in found if _kind_of(p) == "parquet"]
        files = parquet or found  # a folder of Parquet files may hold a stray CSV export
        if not files:
            raise InputError(f"{path}: folder holds no .parquet or .csv file; point {key!r} at the prediction log")
    elif path.exists():
        files = [path]
    else:
        raise InputError(f"{path}: file not found; check the {key!r} path")
    kinds = {_kind_of(p) for p in files}
    if None in kinds:
        odd = next(p for p in files if _kind_of(p) is None)
        raise InputError(f"{odd}: unsupported file type for {key!r}; use .parquet or .csv")
    if len(kinds) > 1:
        raise InputError(f"{text}: mixes Parquet and CSV files; give {key!r} one format")
    for file in files:
        if file.stat().st_size == 0:
            raise InputError(f"{file}: file is empty; {key!r} needs a header and rows")
    return LogSource(text, tuple(files), kinds.pop())


@dataclass(frozen=True)
class Piece:
    """One unit of reading: a Parquet row group, or a whole CSV file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> source = resolve_log(folder)  # two files: rows 0-19 in two row groups, rows 20-29 in one
    >>> [(piece.file.name, piece.row_group, piece.rows) for piece in log_pieces(source)]
    [('part-00000.parquet', 0, 10), ('part-00000.parquet', 1, 10), ('part-00001.parquet', 0, 10)]
    """

    file: Path
    row_group: int | None
    rows: int


def _parquet_file(path: Path, text_columns: list[str] | None = None):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, read_dictionary=text_columns or None)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0][:150]}); re-export it") from None


def log_columns(source: LogSource) -> list[str]:
    """Column names across the log's files, in first-seen order (files may add columns).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> source = resolve_log(folder)  # two files: rows 0-19 in two row groups, rows 20-29 in one
    >>> log_columns(source)
    ['timestamp', 'model_version', 'score', 'label', 'f0', 'f1']
    """
    names: dict[str, None] = {}
    if source.format == "sql":
        from sqlalchemy import inspect

        return [c["name"] for c in inspect(_engine(source.url)).get_columns(source.table)]
    if source.format == "parquet":
        for file in source.files:
            # a pandas index written along (``__index_level_0__``) is no column of the log
            names.update(dict.fromkeys(n for n in _parquet_file(file).schema_arrow.names
                                       if not (n.startswith("__index_level_") and n.endswith("__"))))
    else:
        for file in source.files:
            try:
                head = pd.read_csv(file, nrows=0)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
                raise InputError(f"{file}: not a readable CSV file ({str(exc).splitlines()[0][:150]})") from None
            names.update(dict.fromkeys(str(c) for c in head.columns))
    return list(names)


def log_pieces(source: LogSource) -> list[Piece]:
    """Every piece of the log in reading order (Parquet metadata only; CSV rows unknown: -1).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> source = resolve_log(folder)  # two files: rows 0-19 in two row groups, rows 20-29 in one
    >>> pieces = log_pieces(source)
    >>> len(pieces), pieces[0].row_group, pieces[0].rows
    (3, 0, 10)
    """
    if source.format == "sql":
        return [Piece(Path(source.spec), None, -1)]
    pieces = []
    for file in source.files:
        if source.format == "parquet":
            metadata = _parquet_file(file).metadata
            pieces.extend(Piece(file, g, metadata.row_group(g).num_rows) for g in range(metadata.num_row_groups))
        else:
            pieces.append(Piece(file, None, -1))
    return pieces


def read_piece(source: LogSource, piece: Piece, columns: list[str], batch_rows: int,
               text_columns: list[str] = ()) -> Iterator[pd.DataFrame]:
    """The rows of one piece in batches, with ``columns`` (absent ones filled with missing values).

    Text columns named in ``text_columns`` are read dictionary-encoded (pandas
    categoricals): counting them is then a bincount of codes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> source = resolve_log(folder)  # two files: rows 0-19 in two row groups, rows 20-29 in one
    >>> batches = list(read_piece(source, log_pieces(source)[0], ["timestamp", "score", "region"], batch_rows=4))
    >>> [len(batch) for batch in batches]
    [4, 4, 2]
    >>> batches[0]  # no column "region" in the log: all missing
                timestamp     score  region
    0 2017-01-01 00:23:47  0.136919     NaN
    1 2017-01-01 00:59:00  0.225487     NaN
    2 2017-01-01 01:48:20  0.504202     NaN
    3 2017-01-01 04:12:23  0.558093     NaN
    """
    if source.format == "sql":
        yield from _read_table(source, columns, batch_rows, text_columns)
        return
    if source.format == "parquet":
        handle = _parquet_file(piece.file, [c for c in text_columns if c in columns])
        present = [c for c in columns if c in handle.schema_arrow.names]
        try:
            for batch in handle.iter_batches(batch_size=batch_rows, row_groups=[piece.row_group], columns=present):
                frame = batch.to_pandas(split_blocks=True)
                yield _with_columns(frame, columns)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{piece.file}: row group {piece.row_group} is not readable "
                             f"({str(exc).splitlines()[0][:150]}); re-export the file") from None
        return
    present = [c for c in columns if c in set(log_columns(LogSource(source.spec, (piece.file,), "csv")))]
    try:
        for frame in pd.read_csv(piece.file, usecols=present, chunksize=batch_rows,
                                 dtype={c: "category" for c in text_columns if c in present}):
            yield _with_columns(frame.reset_index(drop=True), columns)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{piece.file}: not a readable CSV file ({str(exc).splitlines()[0][:150]})") from None


@functools.lru_cache(maxsize=8)
def _engine(url: str | None):
    """One engine (and connection pool) per database for the whole report."""
    from readiness.serving.sinks import SQLSink

    return SQLSink(str(url)).engine


def _read_table(source: LogSource, columns: list[str], batch_rows: int, text_columns=()) -> Iterator[pd.DataFrame]:
    """A table's rows in batches through a server-side (streaming) cursor: memory holds one batch."""
    from sqlalchemy import MetaData, Table, select
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(source.url)
    try:
        table = Table(source.table, MetaData(), autoload_with=engine)
        # no column asked for is in the table: read the first one, for the row count only
        present = [table.c[c] for c in columns if c in table.c] or [next(iter(table.c))]
        query = select(*present)
        if source.order_by and source.order_by in table.c:
            query = query.order_by(table.c[source.order_by])
        with engine.connect() as connection:
            streamed = connection.execution_options(stream_results=True, max_row_buffer=batch_rows)
            result = streamed.execute(query)
            names = [column.name for column in present]
            while True:
                rows = result.fetchmany(batch_rows)
                if not rows:
                    break
                frame = pd.DataFrame.from_records(rows, columns=names)[[n for n in names if n in columns]]
                for column in text_columns:
                    if column in frame.columns and frame[column].dtype == object:
                        frame[column] = frame[column].astype("category")
                yield _with_columns(frame, columns)
    except SQLAlchemyError as exc:
        raise InputError(f"{source.spec}: reading table {source.table!r} failed "
                         f"({str(exc).splitlines()[0][:150]})") from None


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: np.nan for c in missing})
    return frame


def prefetch(iterator, depth: int = 2):
    """Run ``iterator`` on a background thread, ``depth`` items ahead of the consumer.

    Parquet decoding and the Arrow → pandas conversion release the GIL, so reading the
    next batch overlaps the work on this one; ``depth`` bounds the batches held. An
    exception in the reader is raised in the consumer; a consumer that stops early stops
    the reader.

    Examples
    --------
    >>> def batches():
    ...     for number in range(5):
    ...         yield [number] * 3  # reading and decoding would happen here, on the reader's thread
    >>> [batch[0] for batch in prefetch(batches(), depth=2)]
    [0, 1, 2, 3, 4]
    >>> def broken():
    ...     yield 1
    ...     raise ValueError("row group 3 is corrupt")
    >>> list(prefetch(broken()))
    Traceback (most recent call last):
    ...
    ValueError: row group 3 is corrupt
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("done", done))
        except BaseException as exc:  # handed to the consumer, which raises it
            items.put(("error", exc))

    thread = threading.Thread(target=produce, name="readiness-log-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)
