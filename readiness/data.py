"""Read tabular inputs (CSV, Parquet) with one-line errors that name the file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from readiness.exceptions import InputError, first_line

if TYPE_CHECKING:  # pandas is imported where a table is read: the CLI starts ~0.5 s sooner without it
    import pandas as pd

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: Path, key: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-2:-1] == [".csv"] and suffixes[-1:] in ([".gz"], [".zip"], [".bz2"], [".xz"]):
        return "csv"
    fmt = TABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r} for {key}; "
            "use .csv or .parquet"
        )
    return fmt


def _require_file(path: Path, key: str) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found; check the {key!r} path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .csv or .parquet file for {key!r}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty; point {key!r} at a file with a header and rows")


def read_columns(path: str | Path, key: str) -> list[str]:
    """Column names of a table without reading its rows (cheap pre-flight)."""
    path = Path(path)
    _require_file(path, key)
    fmt = table_format(path, key)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(
                f"{path}: not a readable Parquet file ({first_line(exc)}); re-export it or use CSV"
            ) from None
        if pq.ParquetFile(path).metadata.num_rows == 0:
            raise InputError(f"{path}: has no rows; {key!r} needs data")
        return list(schema.names)
    frame = _read_csv(path, key, nrows=2)
    return [str(c) for c in frame.columns]


def read_table(path: str | Path, key: str, text_as_categories: bool = False) -> pd.DataFrame:
    """Read a whole CSV or Parquet table.

    Parameters
    ----------
    path : str or Path
        The file to read.
    key : str
        The configuration key the file came from, named in error messages.
    text_as_categories : bool
        Read Parquet text columns dictionary-encoded, as pandas categoricals: about
        half the reading time and memory for repetitive text. Only for callers that
        count values; a model should see the text as the user wrote it.

    Returns
    -------
    pandas.DataFrame
        With at least one row.

    Raises
    ------
    InputError
        The file is missing, empty, corrupt or of an unsupported type.
    """
    import pandas as pd

    path = Path(path)
    _require_file(path, key)
    fmt = table_format(path, key)
    if fmt == "parquet":
        try:
            if text_as_categories:
                import pyarrow.parquet as pq

                table = pq.read_table(path, read_dictionary=parquet_text_columns(pq.read_schema(path)))
                # a block per column and the Arrow buffers released as they convert: less copying, half the peak
                frame = table.to_pandas(split_blocks=True, self_destruct=True)
                del table
            else:
                frame = pd.read_parquet(path)
        except Exception as exc:
            raise InputError(
                f"{path}: not a readable Parquet file ({first_line(exc)}); re-export it or use CSV"
            ) from None
    else:
        frame = _read_csv(path, key)
    if len(frame) == 0:
        raise InputError(f"{path}: has a header but no rows; {key!r} needs data")
    return frame


def parquet_text_columns(schema) -> list[str]:
    """Names of the string columns of an Arrow schema (those worth reading dictionary-encoded)."""
    import pyarrow as pa

    is_string_view = getattr(pa.types, "is_string_view", lambda _: False)  # pyarrow >= 16
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or is_string_view(f.type)]


def _read_csv(path: Path, key: str, nrows: int | None = None) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_csv(path, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no columns to read (empty CSV); point {key!r} at a file with data") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({first_line(exc)}); fix or re-export it") from None
    if nrows is not None and len(frame) == 0:
        raise InputError(f"{path}: has a header but no rows; {key!r} needs data")
    return frame


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()

