"""Where a prediction log goes: a folder of Parquet files, or an SQL table.

* :class:`ParquetSink` — a dataset folder partitioned by date (``date=2026-11-25/``), one
  file per flush named by time, process id and a random suffix, written under a hidden
  name and renamed into place: several serving processes write at once without locks,
  and a reader never sees half a file. Labels go to ``_labels/`` (hidden from readers of
  the predictions, as Hive and Arrow hide ``_``-folders).
* :class:`SQLSink` — a table in any SQLAlchemy database (SQLite file, PostgreSQL); columns
  a later batch brings (a new feature) are added; labels go to ``<table>_labels``.

:func:`open_sink` turns a path or URL into one of them.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from readiness.exceptions import InputError

#: The folder of a Parquet sink that holds late labels.
LABELS_FOLDER = "_labels"
_DAY_NS = 86_400_000_000_000
#: Columns of a labels batch.
LABEL_COLUMNS = ("request_id", "label", "labelled_at")


def is_database_url(spec: str | Path) -> bool:
    """``postgresql+psycopg://…`` or ``sqlite:///…``: an SQLAlchemy URL, not a folder.

    Examples
    --------
    >>> is_database_url("sqlite:///log.sqlite"), is_database_url("logs/predictions")
    (True, False)
    """
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", str(spec)))


def anchored_url(spec: str, base_dir: str | Path) -> str:
    """A database URL whose SQLite file is relative, anchored at ``base_dir``: a notebook kernel
    runs in another folder, where the relative file would be a new, empty database.

    Examples
    --------
    >>> anchored_url("sqlite:///log.sqlite#served", "/project")
    'sqlite:////project/log.sqlite#served'
    >>> anchored_url("postgresql+psycopg://db/log", "/project")
    'postgresql+psycopg://db/log'
    """
    from sqlalchemy.engine import make_url

    url, hash_sign, table = str(spec).partition("#")
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: said where it is opened
        return spec
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:") \
            or Path(database).is_absolute():
        return spec
    anchored = parsed.set(database=str((Path(base_dir) / Path(database).expanduser()).resolve()))
    return anchored.render_as_string(hide_password=False) + hash_sign + table


class ParquetSink:
    """A Parquet dataset folder partitioned by date: ``<folder>/date=YYYY-MM-DD/part-….parquet``.

    Parameters
    ----------
    folder : str or Path
        Created when missing.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> sink = ParquetSink(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"timestamp": pd.to_datetime(["2026-11-25T10:00Z"]), "prediction": [0.3]})
    >>> [p.parent.name for p in sink.write(frame)]
    ['date=2026-11-25']
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            raise InputError(f"{self.folder}: is a file; a prediction log sink is a folder (or a database URL)")

    def __repr__(self) -> str:
        return f"ParquetSink({str(self.folder)!r})"

    def write(self, frame: pd.DataFrame) -> list[Path]:
        """Write one batch: one file per date the batch spans; returns the files."""
        # whole days since the epoch from the int64 nanoseconds (UTC): neither a string nor a Timestamp
        # object per row (floor + to_numpy of a tz-aware column made an object array: 30 ms per 10k rows)
        days = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ns").array.asi8 // _DAY_NS
        first = days[0] if len(days) else 0
        if len(days) and (days == first).all():  # the common case: one day per flush
            return [self._write_file(self._day_folder(first), frame.reset_index(drop=True))]
        return [self._write_file(self._day_folder(day), part.reset_index(drop=True))
                for day, part in frame.groupby(days, sort=True)]

    def _day_folder(self, day: int) -> Path:
        return self.folder / f"date={pd.Timestamp(int(day) * _DAY_NS, tz='UTC'):%Y-%m-%d}"

    def write_labels(self, frame: pd.DataFrame) -> Path:
        return self._write_file(self.folder / LABELS_FOLDER, frame)

    @staticmethod
    def _write_file(folder: Path, frame: pd.DataFrame) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"part-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:12]}.parquet"
        hidden = folder / f".{name}.tmp"  # readers skip dot-files: a crash leaves no half file in the log
        try:
            # one thread: pyarrow converts large frames on a concurrent.futures pool, which refuses work
            # once the interpreter is exiting, when the logger flushes what a service left unclosed
            table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
            # dictionaries for text only: a float column of measurements rarely repeats, and trying
            # costs twice the write time before Parquet falls back to plain encoding
            text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                    or pa.types.is_dictionary(f.type)]
            pq.write_table(table, hidden, compression="zstd", use_dictionary=text or False)
            os.replace(hidden, folder / name)
        finally:
            hidden.unlink(missing_ok=True)
        return folder / name

    def read_labels(self) -> pd.DataFrame | None:
        """Every label logged so far (None when there are none)."""
        folder = self.folder / LABELS_FOLDER
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")) if folder.is_dir() else []
        if not files:
            return None
        import pyarrow.parquet as pq

        return pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)


_SQL_TYPES = {"f": "DOUBLE PRECISION", "i": "BIGINT", "u": "BIGINT", "b": "BOOLEAN", "M": "TIMESTAMP"}


class SQLSink:
    """A table in an SQLAlchemy database; labels in ``<table>_labels``.

    Parameters
    ----------
    url : str
        ``sqlite:///predictions.sqlite`` or ``postgresql+psycopg://user@host/db``.
    table : str
        Table name (letters, digits, underscores).

    Examples
    --------
    >>> import tempfile, os, pandas as pd
    >>> sink = SQLSink("sqlite:///" + os.path.join(tempfile.mkdtemp(), "log.sqlite"))
    >>> sink.write(pd.DataFrame({"timestamp": pd.to_datetime(["2026-11-25"]), "prediction": [0.3]}))
    1
    >>> len(sink.read())
    1
    """

    def __init__(self, url: str, table: str = "predictions"):
        from sqlalchemy import create_engine, event
        from sqlalchemy.exc import SQLAlchemyError

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", table):
            raise InputError(f"table {table!r}: use letters, digits and underscores (at most 63)")
        self.url, self.table, self.labels_table = url, table, f"{table}_labels"
        try:
            self.engine = create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise InputError(f"prediction log {url.split('@')[-1]}: cannot use this database "
                             f"({str(exc).splitlines()[0][:150]}); install its driver, "
                             "e.g. pip install 'ml-readiness[postgres]'") from None
        if self.engine.dialect.name == "sqlite":
            @event.listens_for(self.engine, "connect")
            def _wait_for_writers(dbapi_connection, _record):  # several processes append to one file
                dbapi_connection.execute("PRAGMA busy_timeout = 30000")
        self._columns: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLSink({self.engine.url.render_as_string(hide_password=True)!r}, table={self.table!r})"

    def write(self, frame: pd.DataFrame) -> int:
        """Append one batch in one transaction (new columns added first); returns the rows written."""
        return self._append(self.table, frame)

    def write_labels(self, frame: pd.DataFrame) -> int:
        return self._append(self.labels_table, frame)

    def _append(self, table: str, frame: pd.DataFrame) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        with self._lock:
            for attempt in range(3):  # another process may create the table or a column first
                try:
                    self._ensure_columns(table, frame)
                    with self.engine.begin() as connection:
                        frame.to_sql(table, connection, if_exists="append", index=False, method="multi",
                                     chunksize=max(1, 30_000 // max(1, frame.shape[1])))
                    return len(frame)
                except (SQLAlchemyError, ValueError):  # pandas says ValueError when the table appeared meanwhile
                    self._columns.pop(table, None)
                    if attempt == 2:
                        raise
        return 0  # pragma: no cover

    def _ensure_columns(self, table: str, frame: pd.DataFrame) -> None:
        from sqlalchemy import inspect, text
        from sqlalchemy.exc import SQLAlchemyError

        known = self._columns.get(table)
        if known is None:
            inspector = inspect(self.engine)
            if not inspector.has_table(table):
                try:
                    with self.engine.begin() as connection:
                        frame.head(0).to_sql(table, connection, if_exists="fail", index=False)
                except (SQLAlchemyError, ValueError):
                    if not inspect(self.engine).has_table(table):  # else another writer created it first
                        raise
            known = {c["name"] for c in inspect(self.engine).get_columns(table)}
            self._columns[table] = known
        missing = [c for c in frame.columns if c not in known]
        if missing:
            quote = self.engine.dialect.identifier_preparer.quote
            with self.engine.begin() as connection:
                for column in missing:
                    kind = _SQL_TYPES.get(frame[column].dtype.kind, "TEXT")
                    connection.execute(text(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(str(column))} {kind}"))
            known.update(missing)

    def read(self, labels: bool = False) -> pd.DataFrame:
        """The whole table (or its labels table): for tests and small logs."""
        return pd.read_sql_table(self.labels_table if labels else self.table, self.engine)

    def has_labels(self) -> bool:
        """Whether any label was logged (the labels table exists)."""
        from sqlalchemy import inspect

        return inspect(self.engine).has_table(self.labels_table)

    def read_labels(self) -> pd.DataFrame | None:
        if not self.has_labels():
            return None
        return self.read(labels=True)


def open_sink(sink: Any) -> ParquetSink | SQLSink | Any:
    """A sink from a folder path or a database URL; any object with ``write(frame)`` is kept.

    Examples
    --------
    >>> open_sink("sqlite:///:memory:").table
    'predictions'
    """
    if isinstance(sink, (str, Path)):
        return SQLSink(str(sink)) if is_database_url(sink) else ParquetSink(sink)
    if not callable(getattr(sink, "write", None)):
        raise InputError(f"{sink!r}: a sink is a folder, a database URL, or an object with write(frame)")
    return sink
