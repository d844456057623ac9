"""The chunk grid: timestamps to chunk codes, and the plan of a log's chunks.

Chunks are calendar periods in UTC (``12h``, ``1d``, ``1w`` starting on Mondays,
``1M`` calendar months) or runs of ``N`` rows in the order the log is read (files
sorted by name, row groups in order). Empty periods between the first and the last
are chunks too: a day without predictions is a signal. :func:`plan_chunks` fixes the
grid from Parquet statistics where they settle a row group's chunk, and reads the
timestamp column of the other pieces once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from readiness.exceptions import InputError
from readiness.reports.monitoring.log import LogSource, Piece, _parquet_file, log_pieces, read_piece
from readiness.reports.monitoring.settings import parse_chunk

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR

# ------------------------------------------------------------------ timestamps and chunk codes


def timestamps_ns(series: pd.Series, column: str, where: str) -> np.ndarray:
    """UTC nanoseconds since the epoch as int64; missing or unreadable timestamps are ``MISSING``.

    Naive timestamps are taken as UTC; text is parsed (ISO 8601 and the like).

    Examples
    --------
    >>> timestamps_ns(pd.Series(["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", None]), "ts", "log")  # MISSING last
    array([ 1704067200000000000,  1704067200000000000, -9223372036854775808])
    >>> timestamps_ns(pd.Series([1.5, 2.5]), "ts", "log.csv")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: log.csv: column 'ts' holds numbers, not timestamps; store datetimes (or ISO 8601
    text), or chunk by rows (e.g. --chunk 10000rows)
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series
    elif pd.api.types.is_numeric_dtype(series) and not series.isna().all():
        raise InputError(f"{where}: column {column!r} holds numbers, not timestamps; "
                         "store datetimes (or ISO 8601 text), or chunk by rows (e.g. --chunk 10000rows)")
    else:
        values = pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
        if values.isna().all() and series.notna().any():
            example = str(series.dropna().iloc[0])[:40]
            raise InputError(f"{where}: column {column!r} holds text that is not a timestamp (e.g. {example!r}); "
                             "write ISO 8601 timestamps such as 2017-03-01T12:00:00Z")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = values.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT")).view(np.int64)
    return ns


MISSING = np.iinfo(np.int64).min  # NaT as int64


@dataclass(frozen=True)
class ChunkKey:
    """Each row's chunk number from its timestamp, as the report computes it on one machine;
    picklable, so a Spark task runs the same code (-1: no timestamp, or outside the log's chunks).

    Examples
    --------
    >>> key = ChunkKey(ChunkRule.parse("1d"), first_code=19_723, n_chunks=2, timestamp="ts", where="log")
    >>> key(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00", None, "2024-01-05 00:00"])})).tolist()
    [0, 1, -1, -1]
    """

    rule: "ChunkRule"
    first_code: int
    n_chunks: int
    timestamp: str
    where: str

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        ns = timestamps_ns(frame[self.timestamp], self.timestamp, self.where)
        codes = np.where(ns == MISSING, -1, self.rule.codes(ns) - self.first_code)
        return np.where((codes >= 0) & (codes < self.n_chunks), codes, -1)


@dataclass(frozen=True)
class ChunkRule:
    """How a row gets its chunk: a calendar period or a run of rows.

    Examples
    --------
    >>> rule = ChunkRule.parse("1w")
    >>> rule.start(rule.codes(np.array([0])))  # 1970-01-01 was a Thursday
    array(['1969-12-29T00:00:00.000000000'], dtype='datetime64[ns]')
    """

    every: int
    unit: str  # h, d, w, M, rows

    @classmethod
    def parse(cls, text: str) -> "ChunkRule":
        return cls(*parse_chunk(text))

    @property
    def by_rows(self) -> bool:
        return self.unit == "rows"

    def codes(self, ns: np.ndarray) -> np.ndarray:
        """Period number of each timestamp (UTC); consecutive periods have consecutive codes."""
        if self.unit == "h":
            return np.floor_divide(ns, self.every * NS_PER_HOUR)
        if self.unit == "d":
            return np.floor_divide(ns, self.every * NS_PER_DAY)
        if self.unit == "w":  # weeks start on Monday; day 0 (1970-01-01) was a Thursday
            return np.floor_divide(np.floor_divide(ns, NS_PER_DAY) + 3, 7 * self.every)
        if self.unit == "M":
            months = ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
            return np.floor_divide(months, self.every)
        raise ValueError("row chunks have no period codes")

    def start(self, codes: np.ndarray) -> np.ndarray:
        """The first instant of each period, as datetime64[ns]."""
        codes = np.asarray(codes, dtype=np.int64)
        if self.unit == "h":
            return (codes * self.every * NS_PER_HOUR).view("datetime64[ns]")
        if self.unit == "d":
            return (codes * self.every * NS_PER_DAY).view("datetime64[ns]")
        if self.unit == "w":
            return ((codes * 7 * self.every - 3) * NS_PER_DAY).view("datetime64[ns]")
        if self.unit == "M":
            return (codes * self.every).astype("datetime64[M]").astype("datetime64[ns]")
        raise ValueError("row chunks have no period start")

    def describe(self) -> str:
        names = {"h": "hour", "d": "day", "w": "week (from Monday, UTC)", "M": "calendar month", "rows": "rows"}
        if self.by_rows:
            return f"{self.every:,} rows"
        plural = "s" if self.every > 1 else ""
        return f"{self.every} {names[self.unit]}{plural}" if self.every > 1 else f"1 {names[self.unit]}"


@dataclass
class ChunkPlan:
    """The chunk grid of a log, from one read of its timestamp column.

    Attributes
    ----------
    first_code : int
        Code of chunk 0 (period chunks); chunk ``i`` has code ``first_code + i``.
    n_chunks : int
        Chunks from the first to the last, empty periods included.
    piece_span : list of (int, int)
        Per piece, the first and last chunk index it holds ((-1, -1) when it holds no dated row).
    rows : int
        Rows in the log.
    undated_rows : int
        Rows whose timestamp is missing or unreadable (period chunks leave them out).
    ordered : bool
        True when rows arrive in time order (then chunks complete one after another).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> from readiness.reports.monitoring.log import resolve_log
    >>> source = resolve_log(folder)  # three days of 10 rows, in three row groups
    >>> plan = plan_chunks(source, ChunkRule.parse("1d"), "timestamp", batch_rows=1000, max_chunks=100)
    >>> plan.n_chunks, plan.rows, plan.chunk_rows.tolist(), plan.ordered
    (3, 30, [10, 10, 10], True)
    >>> plan.starts()[1], plan.pieces_for(1, 2)  # the second day starts at midnight UTC; row groups 1 and 2 hold days 2-3
    (np.datetime64('2017-01-02T00:00:00.000000000'), [1, 2])
    """

    rule: ChunkRule
    pieces: list[Piece]
    first_code: int = 0
    n_chunks: int = 0
    piece_span: list[tuple[int, int]] = field(default_factory=list)
    piece_offset: list[int] = field(default_factory=list)
    rows: int = 0
    undated_rows: int = 0
    ordered: bool = True
    time_range: tuple[np.datetime64, np.datetime64] | None = None
    chunk_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def starts(self) -> np.ndarray:
        """Start of each chunk (period chunks), datetime64[ns]."""
        return self.rule.start(self.first_code + np.arange(self.n_chunks))

    def pieces_for(self, first: int, last: int) -> list[int]:
        """Indexes of the pieces that hold any of chunks ``first..last``."""
        return [i for i, (lo, hi) in enumerate(self.piece_span) if lo >= 0 and lo <= last and hi >= first]


@dataclass
class _PieceCodes:
    """What one piece tells the plan: its rows and the chunk codes of its dated rows."""

    rows: int = 0
    low: int | None = None
    high: int | None = None
    counts: dict[int, int] = field(default_factory=dict)
    ordered: bool = True
    undated: int = 0
    first: np.datetime64 | None = None
    last: np.datetime64 | None = None


_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _codes_from_statistics(source: LogSource, piece: Piece, rule: ChunkRule, timestamp: str) -> _PieceCodes | None:
    """A row group whose timestamp statistics put all of it in one chunk needs no reading (None otherwise)."""
    import pyarrow as pa

    if source.format != "parquet" or rule.by_rows:
        return None
    handle = _parquet_file(piece.file)
    names = handle.schema_arrow.names
    if timestamp not in names:
        return None
    kind = handle.schema_arrow.field(timestamp).type
    column = handle.metadata.row_group(piece.row_group).column(names.index(timestamp))
    statistics = column.statistics
    if (not pa.types.is_timestamp(kind) or column.physical_type != "INT64" or statistics is None
            or not statistics.has_min_max or statistics.null_count != 0):
        return None
    unit = _UNIT_NS[kind.unit]
    low_ns, high_ns = int(statistics.min_raw) * unit, int(statistics.max_raw) * unit
    low, high = (int(c) for c in rule.codes(np.array([low_ns, high_ns], dtype=np.int64)))
    if low != high:
        return None
    rows = handle.metadata.row_group(piece.row_group).num_rows
    return _PieceCodes(rows, low, high, {low: rows} if rows else {}, True, 0,
                       np.int64(low_ns).view("datetime64[ns]"), np.int64(high_ns).view("datetime64[ns]"))


def _piece_codes(source: LogSource, piece: Piece, rule: ChunkRule, timestamp: str | None, batch_rows: int,
                 offset: int | None) -> _PieceCodes:
    """Read one piece's timestamps (or use its statistics) into chunk codes.

    ``offset`` is the piece's first row number (row chunks need it; None when unknown yet).
    """
    if timestamp:
        known = _codes_from_statistics(source, piece, rule, timestamp)
        if known is not None:
            return known
    if rule.by_rows and piece.rows >= 0 and offset is not None:  # row chunks of Parquet: metadata only
        found = _PieceCodes(piece.rows)
        if piece.rows:
            codes = np.array([offset, offset + piece.rows - 1]) // rule.every
            found.low, found.high = int(codes[0]), int(codes[1])
            for code in range(found.low, found.high + 1):
                first, last = max(offset, code * rule.every), min(offset + piece.rows, (code + 1) * rule.every)
                found.counts[code] = last - first
        return found
    found = _PieceCodes()
    columns = [timestamp] if timestamp else []
    for frame in read_piece(source, piece, columns, batch_rows):
        n = len(frame)
        if rule.by_rows:
            dated = (offset + found.rows + np.arange(n)) // rule.every if n else np.empty(0, np.int64)
        else:
            ns = timestamps_ns(frame[timestamp], timestamp, str(piece.file))
            valid = ns != MISSING
            found.undated += int(n - valid.sum())
            ns = ns[valid]
            if ns.size:
                first, last = ns.min().view("datetime64[ns]"), ns.max().view("datetime64[ns]")
                found.first = first if found.first is None else min(found.first, first)
                found.last = last if found.last is None else max(found.last, last)
            dated = rule.codes(ns)
        found.rows += n
        if dated.size:
            _count_codes(found.counts, dated)
            if np.any(np.diff(dated) < 0) or (found.high is not None and int(dated.min()) < found.high):
                found.ordered = False
            found.low = int(dated.min()) if found.low is None else min(found.low, int(dated.min()))
            found.high = int(dated.max()) if found.high is None else max(found.high, int(dated.max()))
    return found


def plan_chunks(source: LogSource, rule: ChunkRule, timestamp: str | None, batch_rows: int, max_chunks: int,
                workers: int = 2) -> ChunkPlan:
    """Fix the chunk grid from the timestamps (Parquet statistics where they settle it, else one read).

    A row group whose timestamp statistics (min and max) fall in one chunk is counted
    from its metadata; others are read, timestamp column only, on ``workers`` threads.

    Raises
    ------
    InputError
        No rows, no dated row, or more chunks than ``max_chunks`` (a coarser chunk is named).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> from readiness.reports.monitoring.log import resolve_log
    >>> source = resolve_log(folder)  # three days of 10 rows, in three row groups
    >>> plan = plan_chunks(source, ChunkRule.parse("12h"), "timestamp", batch_rows=1000, max_chunks=100)
    >>> plan.n_chunks, plan.chunk_rows.tolist()  # a half-day without predictions is a chunk too
    (6, [6, 4, 0, 10, 4, 6])
    >>> plan_chunks(source, ChunkRule.parse("1h"), "timestamp", batch_rows=1000, max_chunks=24)
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: ...: chunks of 1 hour cut the log into 69 chunks (more than 24); choose a coarser
    chunk (e.g. --chunk 1w) or raise monitoring.max_chunks
    """
    from concurrent.futures import ThreadPoolExecutor

    pieces = log_pieces(source)
    plan = ChunkPlan(rule, pieces)
    # row chunks need each piece's first row: known from the metadata for Parquet, after reading for CSV
    offsets = np.r_[0, np.cumsum([max(p.rows, 0) for p in pieces])][:-1]
    known_offsets = all(p.rows >= 0 for p in pieces)

    def codes_of(index: int) -> _PieceCodes:
        return _piece_codes(source, pieces[index], rule, timestamp, batch_rows,
                            int(offsets[index]) if known_offsets else None)

    if known_offsets or not rule.by_rows:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(codes_of, range(len(pieces))))
    else:  # CSV row chunks: each file's first row is known once the files before it are read
        found, offset = [], 0
        for piece in pieces:
            found.append(_piece_codes(source, piece, rule, timestamp, batch_rows, offset))
            offset += found[-1].rows
    low, high, previous_high = None, None, None
    counts: dict[int, int] = {}
    offset = 0
    for item in found:
        plan.undated_rows += item.undated
        if item.first is not None:
            plan.time_range = ((item.first, item.last) if plan.time_range is None else
                               (min(plan.time_range[0], item.first), max(plan.time_range[1], item.last)))
        if item.low is not None:
            plan.ordered &= item.ordered and (previous_high is None or item.low >= previous_high)
            previous_high = item.high if previous_high is None else max(previous_high, item.high)
            low = item.low if low is None else min(low, item.low)
            high = item.high if high is None else max(high, item.high)
            for code, count in item.counts.items():
                counts[code] = counts.get(code, 0) + count
        plan.piece_span.append((item.low, item.high) if item.low is not None else None)
        plan.piece_offset.append(offset)
        offset += item.rows
    plan.rows = offset
    plan.pieces = [Piece(p.file, p.row_group, item.rows) for p, item in zip(pieces, found)]
    if offset == 0:
        raise InputError(f"{source.spec}: the log has no rows; it needs predictions")
    if low is None:
        raise InputError(f"{source.spec}: no row has a readable timestamp in column {timestamp!r}; "
                         "fix the column or chunk by rows (e.g. --chunk 10000rows)")
    plan.first_code = low
    plan.n_chunks = high - low + 1
    if plan.n_chunks > max_chunks:
        raise InputError(f"{source.spec}: chunks of {rule.describe()} cut the log into {plan.n_chunks:,} chunks "
                         f"(more than {max_chunks:,}); choose a coarser chunk (e.g. --chunk 1w) or raise monitoring.max_chunks")
    plan.piece_span = [(span[0] - low, span[1] - low) if span else (-1, -1) for span in plan.piece_span]
    plan.chunk_rows = np.zeros(plan.n_chunks, dtype=np.int64)
    for code, count in counts.items():
        plan.chunk_rows[code - low] += count
    return plan


def _count_codes(counts: dict[int, int], codes: np.ndarray) -> None:
    low, high = int(codes.min()), int(codes.max())
    if high - low < 1_000_000:
        per = np.bincount(codes - low)
        for i in np.flatnonzero(per):
            counts[low + int(i)] = counts.get(low + int(i), 0) + int(per[i])
    else:
        values, per = np.unique(codes, return_counts=True)
        for v, c in zip(values.tolist(), per.tolist()):
            counts[v] = counts.get(v, 0) + c
