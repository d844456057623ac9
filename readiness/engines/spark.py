"""Profiles on Spark: the reference or current data is profiled where it lives.

Every partition is profiled by the same code as a file read in batches
(:func:`readiness.stats.profile.profile_frame`) inside ``mapInArrow``; each task sends back
one partial profile (counts, sums, min/max: a few kilobytes, never rows) and the
driver merges the partials in partition order with
:func:`readiness.stats.profile.merge_profiles`. The profile of a Spark DataFrame therefore
equals the profile of the same rows read with pandas: counts exactly, moments up to
the order of floating-point additions.

Fitting a reference (:func:`fit_reference_spark`) takes four passes over the data:

1. rows per file block, in the JVM (cheap: no column is decoded);
2. the seeded 100,000-row sample that decides the column kinds: the same rows, in
   file order, as :func:`readiness.stats.profile.fit_reference` draws from the same file;
3. per partition, category counts and a quantile sketch of each numeric column;
4. the numeric columns binned against the edges (``profile_frame`` again).

Quantile edges come from the sketches merged on the driver: each 250,000-row chunk
keeps every value while the data is small (then the edges are exact and the fitted
profile equals pandas' exactly), or a share of its sorted values, each standing for
the values around it. The rank error of an edge is then at most half the values a
kept value stands for, summed over chunks, and is recorded with the profile (about
0.1% of the rows at 100M rows × 50 columns, typically a hundred times less). The
counts of the reference against those edges are exact.

The same pass serves chunked profiles (:func:`profile_groups`): one profile per value
of a key such as a day or a model version, merged per key on the driver.

Examples
--------
>>> spark = spark_session("local[2]")                                  # doctest: +SKIP
>>> reference = fit_reference_spark(read_data(spark, "s3a://lake/train/"))  # doctest: +SKIP
>>> current = profile_dataframe(read_data(spark, "s3a://lake/today/"), reference)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from readiness.config import is_url
from readiness.exceptions import InputError, UsageError
from readiness.stats.profile import (KIND_SAMPLE, OTHER, UNSEEN, ColumnProfile, _factorize, _numeric_values, _sorted_finite,
                               family_of, infer_kind, merge_profiles, profile_frame)

if TYPE_CHECKING:  # pyspark is an extra: imported where a session is needed
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession

#: Rows converted to pandas and profiled at a time inside a task (like the drift report's batches).
CHUNK_ROWS = 250_000
#: Sorted values kept by all quantile sketches together (values and weights: 16 bytes each on the driver).
SKETCH_ITEMS = 1 << 22
_SEGMENT_FILE, _SEGMENT_BLOCK, _GROUP = "__readiness_file", "__readiness_block", "__readiness_group"
# fields of a partial profile that the data decides (the rest comes from the reference)
_COUNTED = ("n", "missing", "counts", "below", "above", "below_total", "above_total", "minimum", "maximum", "total",
            "total_squares")


# --------------------------------------------------------------------------- session and reading


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> "SparkSession":
    """The active Spark session, or a new one.

    Parameters
    ----------
    master : str, optional
        ``local[2]``, ``yarn``, ``spark://host:7077``, …; without it the active session
        is reused, else Spark's own configuration decides (``spark-defaults.conf``,
        ``PYSPARK_SUBMIT_ARGS``), else ``local[*]``.
    conf : dict, optional
        Spark settings for a new session (e.g. the ``spark.hadoop.fs.s3a.*`` keys of a data lake).

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    UsageError
        PySpark is not installed or no Java runtime is found: one line saying how to get it.

    Examples
    --------
    >>> spark = spark_session("local[2]")  # doctest: +SKIP
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("the Spark engine needs PySpark: pip install 'ml-readiness[spark]'") from None
    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active
    remote = os.environ.get("SPARK_REMOTE") or (conf or {}).get("spark.remote")
    if not remote and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise UsageError("the Spark engine needs a Java runtime (17 or newer): install one (Debian: "
                         "apt-get install default-jre-headless) or set JAVA_HOME")
    configured = os.environ.get("PYSPARK_SUBMIT_ARGS", "") + os.environ.get("SPARK_CONF_DIR", "")
    master = master or (None if remote or configured or os.environ.get("MASTER") else "local[*]")
    if master and master.startswith("local"):
        # local workers must import readiness and pyarrow like the driver does
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # a progress bar on stderr garbles the terminal and the notebook's output
    settings = {"spark.app.name": "readiness", "spark.ui.showConsoleProgress": "false",
                **({"spark.master": master} if master else {}), **{k: str(v) for k, v in (conf or {}).items()}}
    try:
        with _quiet():
            if remote:  # Spark Connect: no JVM here
                builder = SparkSession.builder
                for key, value in settings.items():
                    builder = builder.config(key, value)
                session = builder.getOrCreate()
            else:
                session = _start_jvm_session(settings)
    except Exception as exc:  # the JVM could not start: say why in one line
        raise UsageError(f"could not start Spark ({_first_line(exc)}); check JAVA_HOME and the Spark settings") from None
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


class _GatewayError(RuntimeError):
    """The JVM did not start; the message is the last error it logged."""


def _start_jvm_session(settings: dict[str, str]) -> "SparkSession":
    """A session whose JVM writes its log and stack traces to a file, not to the terminal or
    the report's kernel output: Spark logs at WARN before any setting can lower it, and every
    failed task prints a JVM stack trace, where readiness reports one line. The file is removed
    when Python exits."""
    import atexit
    import tempfile

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    spark_conf = SparkConf()
    for key, value in settings.items():
        spark_conf.set(key, value)
    handle, name = tempfile.mkstemp(prefix="readiness-spark-", suffix=".log")
    log = Path(name)
    atexit.register(lambda: log.unlink(missing_ok=True))
    gateway = None
    try:
        with os.fdopen(handle, "wb") as output:  # the JVM keeps its own copy of the descriptor
            gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": output, "stderr": output})
        SparkContext(conf=spark_conf, gateway=gateway)
        return SparkSession.builder.getOrCreate()
    except Exception as exc:
        if gateway is not None and getattr(gateway, "proc", None) is not None:
            gateway.proc.kill()
        raise _GatewayError(_log_error(log) or _first_line(exc)) from exc


def _log_error(log: Path) -> str | None:
    """Why the JVM did not start: the first line of its log naming an error (``… ERROR …``,
    ``…Exception: …``, ``… No such file or directory``), if any."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        line = line.strip()
        if not line.startswith("at ") and any(word in line for word in ("ERROR", "Error", "Exception", "No such file",
                                                                         "not found", "denied")):
            return line[:240]
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if "Traceback (most recent call last)" in text:  # a task's Python error: its last line says what
        python = text.split("Traceback (most recent call last)")[-1].split("JVM stacktrace:")[0]
        lines = [line.strip() for line in python.splitlines() if line.strip() and not line.startswith(" ")]
        if lines:
            return lines[-1][:240]
    # Spark errors carry the JVM stack trace; the line after py4j's "An error occurred while
    # calling o28.parquet." says what happened
    for line in text.splitlines():
        line = line.strip().lstrip(": ").strip()
        if not line or line.startswith(("Traceback", "at ", "py4j", "An error occurred while calling", "JVM stacktrace")):
            continue
        for prefix in ("org.apache.spark.SparkException: ", "java.lang.RuntimeException: ",
                       "org.apache.spark.sql.AnalysisException: "):
            line = line.removeprefix(prefix)
        return line[:240]
    return type(exc).__name__


def data_format(location: str) -> str:
    """``parquet`` or ``csv`` from a location's suffix; a local folder is judged by its files,
    any other location without a suffix is taken as Parquet (the lake's usual format).

    Examples
    --------
    >>> data_format("s3a://lake/train/part-0001.csv.gz"), data_format("reference.parquet"), data_format("s3a://lake/train/")
    ('csv', 'parquet', 'parquet')
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "_SUCCESS").touch()
    >>> _ = (folder / "part-00000.csv").write_text("tenure\\n12\\n")
    >>> data_format(str(folder))  # by its first data file, not Spark's marker files
    'csv'
    """
    name = location.rstrip("/").lower()
    for suffix, fmt in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"), (".csv.gz", "csv"),
                        (".csv.bz2", "csv")):
        if name.endswith(suffix) or name.endswith(suffix + "*"):
            return fmt
    if not is_url(location) and Path(location).is_dir():
        for path in sorted(Path(location).rglob("*")):
            if path.is_file() and not path.name.startswith(("_", ".")):
                return data_format(str(path))
    return "parquet"


def check_location(location: str | Path, key: str) -> None:
    """Pre-flight of a location for Spark: a local path or glob must match something (URLs are
    left to Spark, which knows the credentials).

    Examples
    --------
    >>> check_location("s3a://lake/train/", "reference")  # a URL: Spark will say
    >>> check_location("no-such-folder/*.parquet", "reference")
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: no-such-folder/*.parquet: no file or folder matches; check the 'reference' path
    """
    location = str(location)
    if is_url(location):
        return
    import glob

    if not glob.glob(location):
        raise InputError(f"{location}: no file or folder matches; check the {key!r} path")


def read_data(spark: "SparkSession", location: "str | Path | list[str]", key: str = "data") -> "DataFrame":
    """A CSV or Parquet file, folder or glob as a Spark DataFrame (read lazily).

    Parameters
    ----------
    spark : SparkSession
    location : str, Path or list of str
        ``data.parquet``, ``lake/reference/``, ``exports/*.csv`` or ``s3a://bucket/prefix/``
        (s3a needs the hadoop-aws connector on the session); a list reads those files
        together (all Parquet or all CSV, as the first one).
    key : str
        The name of the input in messages (``reference``, ``current``).

    Raises
    ------
    InputError
        Nothing there, or not readable as the format: one line naming the location.

    Examples
    --------
    >>> frame = read_data(spark_session(), "reference.parquet", "reference")  # doctest: +SKIP
    """
    locations = [str(item) for item in location] if isinstance(location, (list, tuple)) else [str(location)]
    if not locations:
        raise InputError(f"no {key!r} files to read")
    for item in locations:
        check_location(item, key)
    fmt = data_format(locations[0])
    location = locations[0] if len(locations) == 1 else f"{locations[0]} and {len(locations) - 1} more"
    try:
        with _quiet():
            reader = spark.read
            frame = _read_csv_as_pandas_types(spark, locations) if fmt == "csv" else reader.parquet(*locations)
    except Exception as exc:
        raise InputError(f"{location}: not readable as {fmt} by Spark ({_first_line(exc)}); check the {key!r} "
                         "path") from None
    if not frame.columns:
        raise InputError(f"{location}: has no columns; {key!r} needs data")
    return frame


def _read_csv_as_pandas_types(spark: "SparkSession", locations: list[str]) -> "DataFrame":
    """CSV typed as ``pandas.read_csv`` types it: Spark's inferred schema, with integers as 64
    bits (Spark infers 32 where they fit) and dates and timestamps kept as text (pandas does
    not parse them; the profile recognises timestamps written as text itself)."""
    from pyspark.sql.types import (ByteType, DateType, IntegerType, LongType, ShortType, StringType, StructField,
                                   StructType, TimestampNTZType, TimestampType)

    reader = spark.read.option("header", "true")
    inferred = reader.option("inferSchema", "true").csv(locations).schema

    def as_pandas(kind):
        if isinstance(kind, (ByteType, ShortType, IntegerType)):
            return LongType()
        if isinstance(kind, (DateType, TimestampType, TimestampNTZType)):
            return StringType()
        return kind

    schema = StructType([StructField(f.name, as_pandas(f.dataType), True) for f in inferred.fields])
    return reader.schema(schema).csv(locations)


@contextlib.contextmanager
def _quiet():
    # pyspark warns on pandas >= 3 at every Arrow UDF although mapInArrow hands over Arrow only
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
        yield


def _run(frame: "DataFrame", what: str) -> list:
    """Collect a small result (partial profiles, sketches) with one-line errors."""
    try:
        with _quiet():
            return frame.collect()
    except Exception as exc:
        raise InputError(f"Spark could not {what} ({_first_line(exc)})") from None


def _col(name: str) -> "Column":
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


# --------------------------------------------------------------------------- inside the tasks


def _integer_columns(frame: "DataFrame") -> list[str]:
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

    return [f.name for f in frame.schema.fields if isinstance(f.dataType, (ByteType, ShortType, IntegerType, LongType))]


def _pandas_nullable_integers(frame: "DataFrame") -> set[str]:
    """Columns a Parquet file written by pandas declares as nullable integers (``Int64``...).

    pandas restores that dtype from its metadata; from a CSV file or a Parquet file without
    pandas' metadata (as Spark and most lake tools write them) it reads integers with nulls
    as floats, and so does Arrow's default conversion here. Only local files are inspected
    (a footer each); elsewhere the lake's usual metadata-free files are assumed.
    """
    try:
        files = frame.inputFiles()
    except Exception:  # noqa: BLE001 - Spark Connect or an unusual source: no metadata to read
        return set()
    local = [f.removeprefix("file://") for f in files if f.startswith("file:") or not is_url(f)]
    local = [f.removeprefix("file:") for f in local]
    if not local or len(local) != len(files) or not local[0].lower().endswith((".parquet", ".pq")):
        return set()
    import pyarrow.parquet as pq

    declared = set()
    for path in local[:1] + local[-1:]:  # files written alike: the first and the last suffice
        try:
            metadata = pq.read_schema(path).pandas_metadata or {}
        except Exception:  # noqa: BLE001 - Spark reads it or says why
            continue
        declared |= {c.get("name") for c in metadata.get("columns", [])
                     if str(c.get("numpy_type", "")).startswith(("Int", "UInt"))}
    return declared


def _integer_columns_with_nulls(frame: "DataFrame") -> list[str]:
    """Integer columns with a missing value anywhere. pandas reads such a column as one float
    (or nullable integer) column; a chunk without nulls would come out as int64 and count
    the category "3" where the others count "3.0". Every chunk converts them alike."""
    from pyspark.sql import functions as F

    declared = _pandas_nullable_integers(frame)
    integers = [c for c in _integer_columns(frame) if c in declared]
    if not integers:
        return []
    row = _run(frame.agg(*[F.count(F.when(_col(c).isNull(), 1)).alias(str(i)) for i, c in enumerate(integers)]),
               "count the missing values")[0]
    return [c for i, c in enumerate(integers) if row[str(i)]]


def _to_pandas(table: "pa.Table", nullable_integers: Iterable[str]) -> pd.DataFrame:
    """A chunk as pandas, converted as pyarrow converts a file (integers with nulls somewhere in
    the data as pandas' nullable integers, as pandas reads them back from its own Parquet)."""
    import pyarrow as pa

    frame = table.to_pandas(split_blocks=True)
    mapping = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
               pa.int64(): pd.Int64Dtype()}
    for name in nullable_integers:
        if name in frame.columns:
            frame[name] = table.column(name).to_pandas(types_mapper=mapping.get)
    return frame


def _chunks(batches: Iterator["pa.RecordBatch"], rows: int) -> Iterator["pa.Table"]:
    """Arrow batches (10,000 rows each by default) joined into chunks of about ``rows`` rows."""
    import pyarrow as pa

    pending, size = [], 0
    for batch in batches:
        if batch.num_rows:
            pending.append(batch)
            size += batch.num_rows
        if size >= rows:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _partition_index() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def _encode(profiles: dict[str, ColumnProfile]) -> bytes:
    """The counted fields of a partial profile as JSON (exact for floats; the reference's
    edges and categories stay on the driver)."""
    return json.dumps({name: [getattr(p, f) for f in _COUNTED] for name, p in profiles.items()}).encode()


def _decode(payload: bytes, reference: dict[str, ColumnProfile]) -> dict[str, ColumnProfile]:
    counted = json.loads(payload)
    out = {}
    for name, ref in reference.items():
        # what profile_frame carries over from the reference; the reference's own counts (and
        # fit-only fields such as singletons) stay behind
        blank = ColumnProfile(ref.name, ref.kind, ref.reason, edges=list(ref.edges), categories=list(ref.categories),
                              rare=list(ref.rare), ref_minimum=ref.ref_minimum, ref_maximum=ref.ref_maximum,
                              dtype_family=ref.dtype_family)
        out[name] = replace(blank, **dict(zip(_COUNTED, counted[name]))) if name in counted else blank
    return out


def _profile_task(reference: dict[str, ColumnProfile], chunk_rows: int, nullable: list[str], group: bool,
                  sample_rows: int, seed: int, key_function: "Callable[[pd.DataFrame], np.ndarray] | None" = None):
    """The function each task runs: profile its chunks with ``profile_frame`` and yield one
    partial per group (and, for the drift report, column types and a uniform sample).
    ``key_function`` computes each row's group in Python (an int64 array, negative: no group)."""
    import pyarrow as pa

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        partials: dict[Any, list] = {}
        keys: dict[Any, pa.Array] = {}
        families: dict[str, set[str]] = {}
        sample: list[pd.DataFrame] = []
        rng = np.random.default_rng([seed, _partition_index()])
        for table in _chunks(batches, chunk_rows):
            if group:
                key_column = table.column(_GROUP).combine_chunks()
                table = table.drop_columns([_GROUP])
            frame = _to_pandas(table, nullable)
            if key_function is not None:
                codes = np.asarray(key_function(frame), dtype=np.int64)
                order = np.argsort(codes, kind="stable")
                ordered = codes[order]
                starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                for start, rows in zip(starts, np.split(order, starts[1:])):
                    code = int(ordered[start])
                    if code >= 0:
                        keys.setdefault(code, pa.array([code], pa.int64()))
                        partials.setdefault(code, []).append(profile_frame(frame.iloc[rows], reference))
            elif group:
                codes, _ = pd.factorize(pd.Series(key_column.to_pandas()), use_na_sentinel=False)
                order = np.argsort(codes, kind="stable")
                starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
                for rows in np.split(order, starts[1:]):
                    value = key_column.take([int(rows[0])])
                    token = json.dumps(value.to_pylist()[0], default=str)
                    keys.setdefault(token, value)
                    partials.setdefault(token, []).append(profile_frame(frame.iloc[rows], reference))
            else:
                partials.setdefault(None, []).append(profile_frame(frame, reference))
            if sample_rows:
                for name in frame.columns:
                    # an all-missing chunk has no type to speak of (as in DriftReport._profile_current)
                    if name not in reference or frame[name].notna().any():
                        families.setdefault(name, set()).add(family_of(frame[name]))
                draw = rng.random(len(frame))
                keep = np.argpartition(draw, sample_rows)[:sample_rows] if len(frame) > sample_rows else np.arange(len(frame))
                sample.append(frame.iloc[keep].assign(__readiness_key=draw[keep]))
                if sum(len(s) for s in sample) > 4 * sample_rows:
                    sample = [pd.concat(sample).nsmallest(sample_rows, "__readiness_key")]
        if not partials:
            return
        extra = b""
        if sample_rows:
            rows = pd.concat(sample).nsmallest(sample_rows, "__readiness_key")
            extra = json.dumps({"families": {k: sorted(v) for k, v in families.items()}}).encode()
            extra += b"\n" + _ipc(pa.Table.from_pandas(rows, preserve_index=False))
        tokens = list(partials)
        columns = {"partition": pa.array([_partition_index()] * len(tokens), pa.int32()),
                   "payload": pa.array([_encode(merge_profiles(partials[t])) for t in tokens], pa.binary()),
                   "extra": pa.array([extra] + [b""] * (len(tokens) - 1), pa.binary())}
        if group or key_function is not None:
            columns["key"] = pa.concat_arrays([keys[t] for t in tokens])
        yield pa.RecordBatch.from_pydict(columns)

    return run


def _ipc(table: "pa.Table") -> bytes:
    import pyarrow as pa

    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _read_ipc(data: bytes) -> "pa.Table":
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all()


# --------------------------------------------------------------------------- profiling


def _profile_job(frame: "DataFrame", reference: dict[str, ColumnProfile], chunk_rows: int, by: "Column | str | None",
                 sample_rows: int = 0, seed: int = 0, nullable: list[str] | None = None,
                 key_function: "Callable[[pd.DataFrame], np.ndarray] | None" = None, key_columns: Iterable[str] = ()
                 ) -> list:
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, IntegerType, LongType, StructField, StructType

    columns = [c for c in frame.columns if c in reference]
    if nullable is None:
        nullable = _integer_columns_with_nulls(frame.select(*[_col(c) for c in columns])) if columns else []
    if not sample_rows:  # the drift report's sample and column types need every column
        missing = [c for c in key_columns if c not in frame.columns]
        if missing:
            raise InputError(f"the data has no column(s) {', '.join(map(repr, missing))} to group by")
        frame = frame.select(*[_col(c) for c in dict.fromkeys([*columns, *key_columns])])
    fields = [StructField("partition", IntegerType()), StructField("payload", BinaryType()),
              StructField("extra", BinaryType())]
    if by is not None:
        key = F.col(by) if isinstance(by, str) else by
        frame = frame.withColumn(_GROUP, key)
        fields.append(StructField("key", frame.schema[_GROUP].dataType))
    elif key_function is not None:
        fields.append(StructField("key", LongType()))
    task = _profile_task(reference, chunk_rows, nullable, by is not None, sample_rows, seed, key_function)
    with _quiet():
        mapped = frame.mapInArrow(task, StructType(fields))
    return sorted(_run(mapped, "profile the data"), key=lambda row: row["partition"])


def profile_dataframe(frame: "DataFrame", reference: dict[str, ColumnProfile],
                      chunk_rows: int = CHUNK_ROWS) -> dict[str, ColumnProfile]:
    """Count a Spark DataFrame against a reference profile, each partition in its task.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        Current data (or any data); columns the reference does not know are not read.
    reference : dict of str to ColumnProfile
        From :func:`fit_reference_spark`, :func:`readiness.stats.profile.fit_reference` or
        :func:`readiness.stats.profile.load_profile`.
    chunk_rows : int
        Rows a task converts to pandas and counts at a time (its memory is about
        ``chunk_rows`` × columns × 8 bytes).

    Returns
    -------
    dict of str to ColumnProfile
        Equal to ``profile_frame`` of the same rows in pandas (counts exactly).

    Raises
    ------
    InputError
        The data has no rows or Spark cannot read it.

    Examples
    --------
    >>> current = profile_dataframe(read_data(spark, "today.parquet"), load_profile("ref.json"))  # doctest: +SKIP
    """
    rows = _profile_job(frame, reference, chunk_rows, None)
    if not rows:
        raise InputError("the data has no rows to profile")
    return merge_profiles(_decode(row["payload"], reference) for row in rows)


def profile_groups(frame: "DataFrame", reference: dict[str, ColumnProfile],
                   by: "Column | str | Callable[[pd.DataFrame], np.ndarray]", chunk_rows: int = CHUNK_ROWS,
                   key_columns: Iterable[str] = ()) -> dict[Any, dict[str, ColumnProfile]]:
    """One profile per value of a key (a day, a chunk number, a model version), in one pass.

    Each task profiles the rows of each key it holds; the driver merges the partials of a
    key in partition order. The monitoring report's chunks are such keys.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    reference : dict of str to ColumnProfile
    by : str, pyspark.sql.Column or callable
        A column name, an expression such as ``F.date_trunc("day", "ts")``, or a picklable
        function of a task's pandas chunk returning each row's group as integers (negative:
        the row belongs to no group) — the monitoring report's chunk numbers, computed by the
        same Python code as on one machine.
    chunk_rows : int
        Rows a task converts to pandas at a time.
    key_columns : iterable of str
        Columns a callable ``by`` reads besides the profiled ones (e.g. the timestamp).

    Returns
    -------
    dict
        Key value (as Spark returns it: ``datetime``, ``str``, ``int``, ``None`` for a
        missing key) → its profile, in key order.

    Examples
    --------
    >>> from pyspark.sql import functions as F                          # doctest: +SKIP
    >>> daily = profile_groups(frame, reference, F.to_date("timestamp"))  # doctest: +SKIP
    >>> sorted(daily)[:1]                                                # doctest: +SKIP
    [datetime.date(2024, 5, 1)]
    """
    parts: dict[str, tuple[Any, list]] = {}
    function = by if callable(by) and not isinstance(by, str) and not _is_column(by) else None
    rows = (_profile_job(frame, reference, chunk_rows, None, key_function=function, key_columns=list(key_columns))
            if function is not None else _profile_job(frame, reference, chunk_rows, by))  # type: ignore[arg-type]
    for row in rows:
        token = json.dumps(row["key"], default=str)
        parts.setdefault(token, (row["key"], []))[1].append(_decode(row["payload"], reference))
    merged = {key: merge_profiles(partials) for key, partials in parts.values()}
    return dict(sorted(merged.items(), key=lambda item: (item[0] is None, str(type(item[0])), item[0] if item[0] is not None else 0)))


def _is_column(value) -> bool:
    try:
        from pyspark.sql import Column
    except ImportError:  # pragma: no cover - pyspark is needed to get here
        return False
    return isinstance(value, Column)


def profile_current(frame: "DataFrame", reference: dict[str, ColumnProfile], sample_rows: int, seed: int = 0,
                    chunk_rows: int = CHUNK_ROWS):
    """What the drift report needs of the current data, in one pass.

    Returns
    -------
    tuple
        ``(profiles, columns, families, sample)``: the merged profile, the current columns,
        each column's types (number, boolean, datetime, text) and a uniform sample of at
        most ``sample_rows`` rows for the domain classifier.

    Examples
    --------
    On 100 current rows of a numeric ``tenure`` and a text ``region`` (it needs a Spark session):

    >>> from readiness.stats.profile import fit_reference
    >>> reference = fit_reference(pd.read_parquet("reference.parquet"))  # doctest: +SKIP
    >>> frame = read_data(spark_session(), "current.parquet", "current")  # doctest: +SKIP
    >>> profiles, columns, families, sample = profile_current(frame, reference, sample_rows=50)  # doctest: +SKIP
    >>> columns, families, sample.shape  # doctest: +SKIP
    (['tenure', 'region'], {'tenure': {'number'}, 'region': {'text'}}, (50, 2))
    """
    rows = _profile_job(frame, reference, chunk_rows, None, sample_rows=sample_rows, seed=seed)
    if not rows:
        raise InputError("the current data has no rows")
    families: dict[str, set[str]] = {}
    samples = []
    for row in rows:
        if row["extra"]:
            head, _, body = bytes(row["extra"]).partition(b"\n")
            for name, kinds in json.loads(head)["families"].items():
                families.setdefault(name, set()).update(kinds)
            samples.append(_read_ipc(body).to_pandas())
    sample = pd.concat(samples, ignore_index=True).nsmallest(sample_rows, "__readiness_key").drop(columns="__readiness_key")
    profiles = merge_profiles(_decode(row["payload"], reference) for row in rows)
    return profiles, [str(c) for c in frame.columns], families, sample.reset_index(drop=True)


# --------------------------------------------------------------------------- fitting a reference


def _segments(frame: "DataFrame") -> tuple["DataFrame", pd.DataFrame, dict[str, int]]:
    """Rows per file block in file order, and each column's missing values (null, or NaN in a
    float column), in one JVM job that decodes no value into Python.

    The returned frame gets two columns naming each row's block; a source without files
    (a table of another engine) falls back to Spark's partitions, in their order."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    missing = []
    for i, field in enumerate(frame.schema.fields):
        absent = _col(field.name).isNull()
        if isinstance(field.dataType, (DoubleType, FloatType)):
            absent = absent | F.isnan(_col(field.name))
        missing.append(F.count(F.when(absent, 1)).alias(f"missing_{i}"))
    try:
        tagged = frame.select("*", F.col("_metadata.file_path").alias("__readiness_path"),
                              F.xxhash64(F.col("_metadata.file_path")).alias(_SEGMENT_FILE),
                              F.col("_metadata.file_block_start").alias(_SEGMENT_BLOCK))
    except Exception:  # no _metadata: partitions in their order
        tagged = frame.select("*", F.spark_partition_id().cast("string").alias("__readiness_path"),
                              F.spark_partition_id().cast("long").alias(_SEGMENT_FILE),
                              F.lit(0).cast("long").alias(_SEGMENT_BLOCK))
    counts = tagged.groupBy(F.col("__readiness_path").alias("path"), _SEGMENT_FILE, _SEGMENT_BLOCK).agg(
        F.count(F.lit(1)).alias("count"), *missing)
    table = pd.DataFrame([r.asDict() for r in _run(counts, "count the rows")],
                         columns=["path", _SEGMENT_FILE, _SEGMENT_BLOCK, "count"]
                         + [f"missing_{i}" for i in range(len(frame.columns))])
    table = table.sort_values(["path", _SEGMENT_BLOCK], kind="stable").reset_index(drop=True)
    if table.duplicated([_SEGMENT_FILE, _SEGMENT_BLOCK]).any():
        raise InputError("two files of the data have the same path hash; profile them separately")
    table["start"] = np.r_[0, np.cumsum(table["count"].to_numpy())[:-1]].astype(np.int64)
    nulls = {name: int(table[f"missing_{i}"].sum()) for i, name in enumerate(frame.columns)}
    return tagged.drop("__readiness_path"), table, nulls


def _sample_task(starts: dict[tuple[int, int], int], wanted: np.ndarray):
    """Each task keeps the rows at the wanted positions of the whole data (file order)."""
    import pyarrow as pa

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        seen: dict[tuple[int, int], int] = {}
        kept = []
        for batch in batches:
            if not batch.num_rows:
                continue
            files = batch.column(_SEGMENT_FILE).to_numpy(zero_copy_only=False)
            blocks = batch.column(_SEGMENT_BLOCK).to_numpy(zero_copy_only=False)
            change = np.flatnonzero(np.r_[True, (files[1:] != files[:-1]) | (blocks[1:] != blocks[:-1]), True])
            positions = np.empty(batch.num_rows, np.int64)
            for begin, end in zip(change[:-1], change[1:]):
                segment = (int(files[begin]), int(blocks[begin]))
                offset = seen.get(segment, 0)
                positions[begin:end] = starts[segment] + offset + np.arange(end - begin)
                seen[segment] = offset + end - begin
            found = np.searchsorted(wanted, positions)
            hit = np.flatnonzero((found < wanted.size) & (wanted[np.minimum(found, wanted.size - 1)] == positions))
            if hit.size:
                rows = batch.take(pa.array(hit)).drop_columns([_SEGMENT_FILE, _SEGMENT_BLOCK])
                kept.append(rows.append_column("__readiness_position", pa.array(positions[hit])))
        if kept:
            yield pa.RecordBatch.from_pydict({"payload": [_ipc(pa.Table.from_batches(kept))]})

    return run


def _kind_sample(frame: "DataFrame") -> tuple["pa.Table", int, dict[str, int]]:
    """The rows :func:`readiness.stats.profile.fit_reference` infers kinds from (Arrow, in file order),
    the row count and each column's missing values."""
    tagged, segments, nulls = _segments(frame)
    total = int(segments["count"].sum())
    if total == 0:
        raise InputError("the data has no rows")
    wanted = (np.sort(np.random.default_rng(0).choice(total, KIND_SAMPLE, replace=False)) if total > KIND_SAMPLE
              else np.arange(total))
    starts = {(int(f), int(b)): int(s) for f, b, s in
              zip(segments[_SEGMENT_FILE], segments[_SEGMENT_BLOCK], segments["start"])}
    with _quiet():
        mapped = tagged.mapInArrow(_sample_task(starts, wanted), "payload binary")
    import pyarrow as pa

    tables = [_read_ipc(r["payload"]) for r in _run(mapped, "sample the rows")]
    table = pa.concat_tables(tables).sort_by("__readiness_position").drop_columns(["__readiness_position"])
    return table, total, nulls


def _sketch_task(numeric: dict[str, str], categorical: list[str], chunk_rows: int, keep_share: float,
                 nullable: list[str]):
    """Per task: category counts, and per numeric column (name → kind: numeric or datetime, which
    reads text timestamps as time) its sorted finite values, compacted."""
    import pyarrow as pa

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        labels: dict[str, dict[str, int]] = {c: {} for c in categorical}
        missing = {c: 0 for c in [*numeric, *categorical]}
        values: dict[str, list[np.ndarray]] = {c: [] for c in numeric}
        weights: dict[str, list[np.ndarray]] = {c: [] for c in numeric}
        error = {c: 0 for c in numeric}
        extremes = {c: (np.inf, -np.inf) for c in numeric}
        rows = 0
        for table in _chunks(batches, chunk_rows):
            frame = _to_pandas(table, nullable)
            rows += len(frame)
            for name in categorical:
                codes, names = _factorize(frame[name])
                present = codes[codes >= 0]
                missing[name] += int(len(codes) - len(present))
                counted = labels[name]
                for label, count in zip(names, np.bincount(present, minlength=len(names)).tolist()):
                    counted[label] = counted.get(label, 0) + count
            for name, kind in numeric.items():
                raw = _numeric_values(frame[name], kind)
                ordered = _sorted_finite(raw)
                missing[name] += int(raw.size - ordered.size)
                if not ordered.size:
                    continue
                kept, weight = compact_sorted(ordered, int(np.ceil(ordered.size * keep_share)))
                values[name].append(kept)
                weights[name].append(weight)
                # a kept value stands for a run of values: a rank read from it is off by half a run at most
                error[name] += int(weight.max()) // 2
                extremes[name] = (min(extremes[name][0], ordered[0]), max(extremes[name][1], ordered[-1]))
        if not rows:
            return
        out: dict[str, list[Any]] = {"column": [], "missing": [], "labels": [], "values": [], "weights": [], "error": [], "lowest": [],
               "highest": [], "partition": []}
        value: Any
        for name in categorical:
            for field, value in (("column", name), ("missing", missing[name]), ("labels", json.dumps(labels[name])),
                                 ("values", b""), ("weights", b""), ("error", 0), ("lowest", None), ("highest", None)):
                out[field].append(value)
        for name in numeric:
            seen = bool(values[name])
            for field, value in (("column", name), ("missing", missing[name]), ("labels", ""),
                                 ("values", np.concatenate(values[name]).astype("<f8").tobytes() if seen else b""),
                                 ("weights", np.concatenate(weights[name]).astype("<i8").tobytes() if seen else b""),
                                 ("error", error[name]), ("lowest", float(extremes[name][0]) if seen else None),
                                 ("highest", float(extremes[name][1]) if seen else None)):
                out[field].append(value)
        out["partition"] = [_partition_index()] * len(out["column"])
        yield pa.RecordBatch.from_pydict(out, schema=_sketch_schema())

    return run


def _sketch_schema() -> "pa.Schema":
    import pyarrow as pa

    return pa.schema([("column", pa.string()), ("missing", pa.int64()), ("labels", pa.string()), ("values", pa.binary()),
                      ("weights", pa.binary()), ("error", pa.int64()), ("lowest", pa.float64()),
                      ("highest", pa.float64()), ("partition", pa.int32())])


def compact_sorted(ordered: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``keep`` values standing for sorted values, with how many each stands for.

    The sorted values are cut into ``keep`` runs of (almost) equal length; each run is
    represented by its middle value. A rank read from the kept values is then off by at
    most half a run. With ``keep`` ≥ the number of values, every value is kept (weight 1).

    Examples
    --------
    >>> compact_sorted(np.arange(10.0), 3)
    (array([1., 4., 7.]), array([3, 3, 4]))
    """
    if keep >= ordered.size:
        return ordered, np.ones(ordered.size, np.int64)
    keep = max(keep, 1)
    bounds = (np.arange(keep + 1, dtype=np.int64) * ordered.size) // keep
    return ordered[(bounds[:-1] + bounds[1:] - 1) // 2], np.diff(bounds)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(…, method="linear")`` of the values each repeated ``weights`` times.

    With all weights 1 the result is bit-for-bit :func:`numpy.quantile` of the values
    (the same interpolation between the same order statistics).

    Examples
    --------
    >>> weighted_quantiles(np.array([3.0, 1.0, 2.0]), np.array([1, 1, 2]), np.array([0.5]))
    array([2.])
    """
    order = np.argsort(values, kind="stable")
    ordered, cumulative = values[order], np.cumsum(weights[order])
    position = probabilities * (cumulative[-1] - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, cumulative[-1] - 1)
    at_low = ordered[np.searchsorted(cumulative, low, side="right")]
    at_high = ordered[np.searchsorted(cumulative, high, side="right")]
    return at_low + (position - low) * (at_high - at_low)


def fit_reference_spark(frame: "DataFrame", bins: int = 100, max_categories: int = 50, kinds: dict[str, str] | None = None,
                        chunk_rows: int = CHUNK_ROWS, sketch_items: int = SKETCH_ITEMS,
                        details: bool = False):
    """:func:`readiness.stats.profile.fit_reference` of a Spark DataFrame, without collecting its rows.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        The reference data.
    bins, max_categories, kinds
        As in :func:`readiness.stats.profile.fit_reference`.
    chunk_rows : int
        Rows a task converts to pandas at a time.
    sketch_items : int
        Sorted values all quantile sketches keep together. While the numeric values of the
        data fit (rows × numeric columns ≤ ``sketch_items``), every value is kept and the
        edges are exact.
    details : bool
        Also return ``{"rows", "partitions", "edge_rank_error", "sample"}``: the largest
        error of an edge's rank as a share of the rows (0.0 when exact) and the seeded
        kind sample (at most 100,000 rows, pandas).

    Returns
    -------
    dict of str to ColumnProfile
        Equal to ``fit_reference`` of the same rows read with pandas (kinds from the same
        seeded sample in file order, categories, counts, moments), with exact edges up to
        ``sketch_items``, and edges within ``edge_rank_error`` of their rank beyond.

    Examples
    --------
    >>> reference = fit_reference_spark(read_data(spark, "train/"))  # doctest: +SKIP
    """
    from pyspark.sql.types import BooleanType

    table, total, nulls = _kind_sample(frame)
    types = {f.name: f.dataType for f in frame.schema.fields}
    declared = _pandas_nullable_integers(frame)
    integers_with_nulls = [c for c in _integer_columns(frame) if nulls[c] and c in declared]
    sample = _to_pandas(table, integers_with_nulls)
    for name in frame.columns:  # pandas reads a bool column with nulls as objects (True, False, None)
        if isinstance(types[name], BooleanType) and nulls[name]:
            sample[name] = sample[name].astype(object)
    profiles: dict[str, ColumnProfile] = {}
    for name in frame.columns:
        kind, reason = infer_kind(sample[name], max_categories, population=total)
        if kinds and name in kinds:
            kind, reason = kinds[name], f"set in the config (inferred: {reason})"
        profiles[name] = ColumnProfile(str(name), kind, reason, n=total, dtype_family=family_of(sample[name]))
    numeric = {n: p.kind for n, p in profiles.items() if p.kind in ("numeric", "datetime")}
    categorical = [n for n, p in profiles.items() if p.kind in ("categorical", "boolean")]
    for name, profile in profiles.items():
        if profile.kind == "skipped":
            profile.missing = nulls[name]
    error = 0.0
    if numeric or categorical:
        keep_share = min(1.0, sketch_items / max(total * max(len(numeric), 1), 1))
        task = _sketch_task(numeric, categorical, chunk_rows, keep_share, integers_with_nulls)
        selected = frame.select(*[_col(c) for c in [*numeric, *categorical]])
        with _quiet():
            mapped = selected.mapInArrow(task, "column string, missing long, labels string, values binary, "
                                               "weights binary, error long, lowest double, highest double, "
                                               "partition int")
        rows = sorted(_run(mapped, "sketch the reference"), key=lambda r: r["partition"])
        by_column: dict[str, list] = {}
        for row in rows:
            by_column.setdefault(row["column"], []).append(row)
        for name in categorical:
            _fit_categories(profiles[name], by_column.get(name, []), max_categories)
        for name in numeric:
            error = max(error, _fit_edges(profiles[name], by_column.get(name, []), bins) / max(total, 1))
    if numeric:  # bin the reference against its own edges: profile_frame, as for any data
        skeleton = {name: profiles[name] for name in numeric}
        rows = _profile_job(frame, skeleton, chunk_rows, None, nullable=integers_with_nulls)
        counted = merge_profiles(_decode(row["payload"], skeleton) for row in rows)
        for name in numeric:
            profiles[name] = replace(counted[name], n=total)
    if details:
        try:
            partitions = frame.rdd.getNumPartitions()
        except Exception:  # Spark Connect has no RDDs
            partitions = None
        return profiles, {"rows": total, "partitions": partitions, "edge_rank_error": error, "sample": sample}
    return profiles


def _fit_categories(profile: ColumnProfile, rows: list, max_categories: int) -> None:
    """Categories, rare ones and counts as :func:`readiness.stats.profile.fit_reference` sets them."""
    totals: dict[str, int] = {}
    for row in rows:
        profile.missing += int(row["missing"])
        for label, count in json.loads(row["labels"]).items():
            totals[label] = totals.get(label, 0) + count
    counts = (pd.Series(totals, dtype="int64").groupby(level=0).sum().sort_values(ascending=False, kind="stable")
              if totals else pd.Series([], dtype="int64"))
    profile.categories = [str(c) for c in counts.index[:max_categories]] + [OTHER, UNSEEN]
    profile.rare = [str(c) for c in counts.index[max_categories:max_categories + 10_000]]
    profile.counts = [int(c) for c in counts.iloc[:max_categories]] + [int(counts.iloc[max_categories:].sum()), 0]
    profile.singletons = int((counts == 1).sum())


def _fit_edges(profile: ColumnProfile, rows: list, bins: int) -> int:
    """Quantile and equal-width edges from the merged sketches, as ``fit_reference`` sets them;
    returns the bound on an edge's rank error (0 when every value was kept)."""
    profile.missing = sum(int(r["missing"]) for r in rows)
    present = [r for r in rows if r["lowest"] is not None]
    if not present:
        return 0
    values = np.concatenate([np.frombuffer(r["values"], "<f8") for r in present])
    weights = np.concatenate([np.frombuffer(r["weights"], "<i8") for r in present])
    # the extremes come from the data: a compacted sketch keeps the middles of its runs
    lowest, highest = min(r["lowest"] for r in present), max(r["highest"] for r in present)
    quantiles = weighted_quantiles(values, weights, np.linspace(0, 1, bins + 1)[1:-1])
    spaced = np.linspace(lowest, highest, bins + 1)[1:-1]
    profile.edges = [float(e) for e in np.unique(np.r_[quantiles, spaced])]
    profile.ref_minimum, profile.ref_maximum = float(lowest), float(highest)
    return sum(int(r["error"]) for r in present)


# --------------------------------------------------------------------------- the drift report's inputs


def sha256_if_file(location: str | Path) -> str | None:
    """The SHA-256 of a local file; None for a folder, a glob or a URL (too large to hash here).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "reference.csv").write_bytes(b"abc")
    >>> sha256_if_file(folder / "reference.csv")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    >>> sha256_if_file(folder), sha256_if_file("s3a://lake/train/")
    (None, None)
    """
    from readiness.data import sha256_file

    if is_url(location) or not Path(location).is_file():
        return None
    return sha256_file(location)


def drift_reference(location: str, settings) -> tuple[dict[str, ColumnProfile], pd.DataFrame]:
    """The drift report's reference fitted on Spark, and the seeded kind sample of its rows
    (at most 100,000, for the domain classifier). ``settings`` is a ``DriftConfig``.

    Examples
    --------
    On 200 reference rows of a numeric ``tenure`` and a text ``region`` (it starts a Spark session):

    >>> from readiness.config import DriftConfig
    >>> settings = DriftConfig(engine="spark", spark={"master": "local[1]"})
    >>> profiles, sample = drift_reference("reference.parquet", settings)  # doctest: +SKIP
    >>> {name: profile.kind for name, profile in profiles.items()}, sample.shape  # doctest: +SKIP
    ({'tenure': 'numeric', 'region': 'categorical'}, (200, 2))
    """
    spark = spark_session(settings.spark.master, settings.spark.conf)
    profiles, info = fit_reference_spark(read_data(spark, location, "reference"), settings.bins,
                                         settings.max_categories, settings.kinds, chunk_rows=settings.batch_rows,
                                         details=True)
    return profiles, info["sample"]


def drift_current(location: str, reference: dict[str, ColumnProfile], settings):
    """The drift report's current data profiled on Spark: ``(profiles, columns, families, sample)``.

    Examples
    --------
    100 current rows against the reference of :func:`drift_reference` (it starts a Spark session):

    >>> from readiness.config import DriftConfig
    >>> settings = DriftConfig(engine="spark", spark={"master": "local[1]"})
    >>> reference, _ = drift_reference("reference.parquet", settings)  # doctest: +SKIP
    >>> profiles, columns, families, sample = drift_current("current.parquet", reference, settings)  # doctest: +SKIP
    >>> columns, profiles["region"].n, sample.shape  # doctest: +SKIP
    (['tenure', 'region'], 100, (100, 2))
    """
    spark = spark_session(settings.spark.master, settings.spark.conf)
    return profile_current(read_data(spark, location, "current"), reference, settings.multivariate_rows,
                           settings.seed, settings.batch_rows)
