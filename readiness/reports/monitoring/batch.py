"""A batch of a prediction log as numpy arrays, converted from Arrow column by column.

The report reads Parquet (and CSV, through pandas) into Arrow record batches and takes
what it needs straight from Arrow: numbers as float64 with NaN for missing values,
text as dictionary codes (-1 = missing) and their labels, timestamps as int64 UTC
nanoseconds. Skipping the Arrow → pandas conversion of every batch (categoricals,
block consolidation, per-column indexing) was the largest per-row cost of the report.
Rows are handed to pandas only where a library needs a DataFrame (a model artifact,
the reference sample, columns of unusual types), and then only the rows asked for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from readiness.exceptions import InputError

MISSING_NS = np.iinfo(np.int64).min  # NaT as int64


class Batch:
    """Columns of one batch of log rows, converted on first use and cached.

    Examples
    --------
    >>> batch = Batch.from_pandas(pd.DataFrame({"p": [0.5, None], "v": ["a", None]}))
    >>> batch.floats("p").tolist(), batch.codes("v")[0].tolist()
    ([0.5, nan], [0, -1])
    """

    def __init__(self, table: pa.RecordBatch | pa.Table):
        self.table = table
        self.n = table.num_rows
        self._floats: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._added: dict[str, np.ndarray] = {}  # columns computed here (a model's predictions), float64

    @classmethod
    def from_pandas(cls, frame: pd.DataFrame) -> "Batch":
        frame = frame.copy()
        for name in frame.columns:
            if frame[name].dtype == object:  # mixed Python objects: Arrow wants one type per column
                kinds = {type(v) for v in frame[name].dropna().head(1000)}
                if len(kinds) > 1:
                    frame[name] = frame[name].map(lambda v: v if v is None or v != v else str(v))
        return cls(pa.Table.from_pandas(frame, preserve_index=False))

    @property
    def names(self) -> list[str]:
        return [*self.table.schema.names, *(n for n in self._added if n not in self.table.schema.names)]

    def add(self, name: str, values: np.ndarray) -> None:
        """A computed float column (e.g. a model's predictions), read like the others."""
        values = np.asarray(values, dtype=np.float64)
        self._added[name] = values
        self._floats[name] = values

    def __len__(self) -> int:
        return self.n

    def column(self, name: str) -> pa.Array:
        if name in self._added:
            return pa.array(self._added[name])
        column = self.table.column(name)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column

    def kind(self, name: str) -> str:
        """"number", "text", "time" or "other" (as the report treats the column)."""
        if name in self._added:
            return "number"
        kind = self.table.schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
            return "number"
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return "text"
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            return "time"
        return "other"

    def floats(self, name: str) -> np.ndarray:
        """The column as float64 (NaN = missing); booleans as 0/1; text parsed as numbers (unreadable: NaN)."""
        found = self._floats.get(name)
        if found is not None:
            return found
        column = self.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        kind = column.type
        if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        else:
            values = pd.to_numeric(pd.Series(column.to_pandas()), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values = np.asarray(values, dtype=np.float64)
        self._floats[name] = values
        return values

    def codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Integer codes (-1 = missing) and the distinct values as text, in one pass."""
        found = self._codes.get(name)
        if found is not None:
            return found
        column = self.column(name)
        if not pa.types.is_dictionary(column.type):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                column = pc.cast(column, pa.string()) if self.kind(name) != "other" else pa.array(
                    [None if v is None else str(v) for v in column.to_pylist()], pa.string())
            column = pc.dictionary_encode(column)
        indices = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        labels = [str(v) for v in column.dictionary.to_pylist()]
        self._codes[name] = (indices, labels)
        return indices, labels

    def missing(self, name: str) -> np.ndarray:
        """Boolean mask of missing values (NaN counts as missing in float columns)."""
        if name in self._added:
            return np.isnan(self._added[name])
        column = self.column(name)
        mask = column.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_floating(column.type):
            mask = mask | np.isnan(self.floats(name))
        return mask

    def timestamps(self, name: str, where: str) -> np.ndarray:
        """UTC nanoseconds (int64; missing or unreadable = ``MISSING_NS``); naive times are UTC."""
        from readiness.reports.monitoring.grid import timestamps_ns

        column = self.column(name)
        kind = column.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            # Arrow stores zoned timestamps as UTC instants already; naive ones are taken as UTC
            as_ns = pc.cast(column, pa.timestamp("ns", tz=getattr(kind, "tz", None)) if pa.types.is_timestamp(kind)
                            else pa.timestamp("ns"), safe=False)
            values = pc.cast(as_ns, pa.int64())
            return pc.fill_null(values, MISSING_NS).to_numpy(zero_copy_only=False).astype(np.int64)
        return timestamps_ns(pd.Series(column.to_pandas()), name, where)

    def frame(self, names: list[str], rows: np.ndarray | None = None) -> pd.DataFrame:
        """Some columns (and rows) as a DataFrame, as written (for a model, or the reference sample)."""
        stored = [n for n in names if n not in self._added]
        table = self.table.select(stored)
        if rows is not None:
            table = table.take(pa.array(np.asarray(rows, dtype=np.int64)))
        frame = table.to_pandas(ignore_metadata=True).reset_index(drop=True)
        for name in names:
            if name in self._added:
                values = self._added[name]
                frame[name] = values if rows is None else values[rows]
        return frame[list(names)] if len(names) != len(stored) else frame

    def take(self, rows: np.ndarray) -> "Batch":
        rows = np.asarray(rows, dtype=np.int64)
        taken = Batch(self.table.take(pa.array(rows)))
        for name, values in self._added.items():
            taken.add(name, values[rows])
        return taken


def batch_of(table, columns: list[str], where: str) -> Batch:
    """A Batch with ``columns`` (absent ones as all-missing).

    Examples
    --------
    >>> batch = batch_of(pa.table({"score": [0.1, 0.9]}), ["score", "label"], "log.parquet")
    >>> batch.names, batch.floats("label").tolist()
    (['score', 'label'], [nan, nan])
    """
    missing = [c for c in columns if c not in table.schema.names]
    if missing:
        arrays = [table.column(i) for i in range(table.num_columns)]
        names = list(table.schema.names)
        for name in missing:
            arrays.append(pa.nulls(table.num_rows, pa.float64()))
            names.append(name)
        table = pa.Table.from_arrays(arrays, names=names) if isinstance(table, pa.Table) else pa.RecordBatch.from_arrays(arrays, names=names)
    return Batch(table)


def read_batches(source, piece, columns: list[str], batch_rows: int):
    """The rows of one piece as :class:`Batch` objects, text columns read as Arrow dictionaries.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.monitoring.simulate import simulate_log, write_log_parquet
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> log = simulate_log(days=3, rows_per_day=10, features=2)
    >>> _ = write_log_parquet(log, folder, rows_per_file=20, row_group_rows=10)
    >>> from readiness.reports.monitoring.log import log_pieces, resolve_log
    >>> source = resolve_log(folder)
    >>> batches = list(read_batches(source, log_pieces(source)[0], ["score", "model_version", "label"], batch_rows=4))
    >>> [len(batch) for batch in batches], batches[0].floats("score").round(3).tolist()
    ([4, 4, 2], [0.137, 0.225, 0.504, 0.558])
    >>> batches[0].codes("model_version")  # text as dictionary codes and their labels
    (array([0, 0, 0, 0]), ['v1'])
    """
    from readiness.reports.monitoring.log import _parquet_file, read_piece

    if source.format == "parquet":
        probe = _parquet_file(piece.file)
        schema = probe.schema_arrow
        present = [c for c in columns if c in schema.names]
        text = [c for c in present if pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type)]
        handle = _parquet_file(piece.file, text) if text else probe
        try:
            for batch in handle.iter_batches(batch_size=batch_rows, row_groups=[piece.row_group], columns=present):
                yield batch_of(batch, columns, str(piece.file))
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{piece.file}: row group {piece.row_group} is not readable "
                             f"({str(exc).splitlines()[0][:150]}); re-export the file") from None
        return
    for frame in read_piece(source, piece, columns, batch_rows):
        yield Batch.from_pandas(frame)
