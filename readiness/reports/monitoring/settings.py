"""Settings of the monitoring report (the ``monitoring:`` key of readiness.yaml).

A strict pydantic model, like the rest of readiness.yaml: unknown keys and bad values
are errors naming the key. :func:`parse_monitoring_settings` turns a validation error
into one :class:`~readiness.exceptions.ConfigError` line for callers outside the
config module.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from readiness.engines import SparkConfig
from readiness.exceptions import ConfigError

#: ``1d``, ``12h``, ``1w``, ``1M`` (calendar months), or ``<N>rows``.
CHUNK_PATTERN = re.compile(r"^\s*(\d+)\s*(h|d|w|M|rows)\s*$")


def parse_chunk(text: str) -> tuple[int, str]:
    """``"1w"`` → ``(1, "w")``; raises ValueError with the accepted forms.

    Examples
    --------
    >>> parse_chunk("10000rows")
    (10000, 'rows')
    """
    match = CHUNK_PATTERN.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"chunk {text!r} is not a period or a row count; use 1d, 12h, 1w, 1M or e.g. 10000rows")
    return int(match.group(1)), match.group(2)


class MonitoringConfig(BaseModel):
    """How a prediction log is read, chunked and judged.

    Column names (``timestamp``, ``prediction``, ``version``, ``label``, ``id``) name the
    log's columns; ``labels`` is a separate file of ``id`` and ``label`` joined on the id
    (labels often arrive weeks later). The reference period is the first
    ``reference_chunks`` chunks (default: a third of the chunks, at most 10), unless a
    reference file or profile is given to :class:`~readiness.reports.monitoring.MonitoringReport`.

    Examples
    --------
    >>> MonitoringConfig(prediction="score", chunk="1w").chunk
    '1w'
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    timestamp: str = "timestamp"
    #: The prediction: one column (a score, a probability or a regression output), or a multiclass
    #: model's per-class probability columns, in class order (a list, or names separated by commas).
    prediction: str | list[str] = "prediction"
    #: Class names of the per-class probability columns, in the same order; None: the column names
    #: without their common prefix (``proba_cat, proba_dog`` -> ``cat, dog``), or a model's classes.
    classes: list[str] | None = None
    #: Model version column; None looks for ``model_version`` or ``version``; "" means none.
    version: str | None = None
    label: str | None = None
    id: str | None = None
    #: Feature columns to watch; None = every other column of the log.
    features: list[str] | None = None
    chunk: str = "1d"
    reference_chunks: int | None = Field(None, ge=1, le=10_000)
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    decision_threshold: float = Field(0.5, gt=0, lt=1)
    #: Realized metrics (names from readiness.stats.metrics); None = per task defaults.
    metrics: list[str] | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1)
    #: Bands are prediction intervals for one more chunk at this coverage.
    band_coverage: float = Field(0.997, gt=0.5, lt=1)
    #: Changepoint false-alarm rate per series (stationary series with any false changepoint).
    false_alarm_rate: Literal[0.01, 0.05, 0.1] = 0.05
    #: A changepoint this many chunks from the end (or nearer) counts as recent.
    recent_chunks: int = Field(3, ge=1, le=100)
    #: Series that fail (others warn): mean_prediction and the realized primary metric by default.
    critical: list[Literal["mean_prediction", "performance", "positive_rate", "rows", "model_agreement"]] = [
        "mean_prediction", "performance", "model_agreement"]
    #: A recent changepoint of a ratio-like series (mean prediction, quantiles, rows) gates only beyond this relative size.
    min_relative_change: float = Field(0.02, ge=0, le=10)
    #: Mean prediction outside [low, high] × the reference mean always fails, however wide the band.
    mean_prediction_ratio: tuple[float, float] = (0.5, 2.0)
    #: Missing-value shares closer than this to the reference's never leave their band (1 percentage point).
    missing_change: float = Field(0.01, ge=0, le=1)
    #: Estimated performance is trusted when, on the labelled reference, it is within this of the realized value.
    estimate_tolerance: float = Field(0.02, gt=0, le=1)
    #: Rows per chunk binned for feature drift (a uniform sample; counts of missing values use every row).
    profile_rows: int = Field(20_000, ge=1000)
    #: Rows per chunk kept for prediction quantiles (uniform sample).
    quantile_rows: int = Field(20_000, ge=100)
    #: Realized metrics use every labelled row of chunks up to this many rows, a uniform sample of at most this many beyond.
    metric_rows: int = Field(200_000, ge=100)
    #: Rows the bootstrap resamples per chunk (its spread is scaled to the chunk's labelled rows).
    ci_rows: int = Field(1000, ge=100)
    n_bootstrap: int = Field(200, ge=50, le=10_000)
    #: Reference rows sampled to fix kinds, bin edges and categories.
    reference_rows: int = Field(200_000, ge=1000)
    bins: int = Field(100, ge=10, le=1000)
    max_categories: int = Field(50, ge=2, le=10_000)
    batch_rows: int = Field(1_000_000, ge=1000)
    max_chunks: int = Field(5000, ge=1, le=100_000)
    seed: int = 0
    #: Reference data (.csv/.parquet) or a saved profile (.json) for the features; None: the first chunks.
    reference: str | None = None
    #: A model artifact (loaded like every artifact: untrusted ones in the sandboxed worker). A log without
    #: its prediction column is scored by it, every row; a log with one has a uniform sample of each
    #: chunk's rows scored and compared with what was logged (``monitoring.model_agreement``).
    model: str | None = None
    #: Rows per chunk the model scores to check the logged predictions (a uniform sample).
    model_rows: int = Field(2000, ge=10)
    #: A logged prediction differs from the model's when they are further apart than this (absolute).
    model_tolerance: float = Field(1e-4, ge=0)
    #: Share of rows whose logged prediction may differ from the model's before the check fails.
    model_mismatch: float = Field(0.01, ge=0, lt=1)
    #: Wall-clock limit of the report, in seconds.
    timeout_s: float = Field(900, gt=0)
    #: Who profiles the features per chunk: pandas (a uniform sample of ``profile_rows`` per chunk, here)
    #: or spark (every row, where the log lives; period chunks only). The other chunk statistics are read here.
    engine: Literal["pandas", "spark"] = "pandas"
    #: Where ``engine: spark`` runs (master, session settings).
    spark: SparkConfig = SparkConfig()

    @field_validator("chunk")
    @classmethod
    def _chunk(cls, value):
        parse_chunk(value)
        return value.strip()

    @field_validator("prediction")
    @classmethod
    def _prediction(cls, value):
        if isinstance(value, str) and "," in value:
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list):
            if len(value) < 2 or any(not name for name in value) or len(set(value)) < len(value):
                raise ValueError("per-class probability columns must be two or more distinct names, e.g. [p_a, p_b, p_c]")
        elif not value.strip():
            raise ValueError("name the prediction column")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value):
        from readiness.stats.metrics import METRICS

        for name in value or []:
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
        return value

    @field_validator("mean_prediction_ratio")
    @classmethod
    def _ratio(cls, value):
        low, high = value
        if not (0 < low < 1 < high):
            raise ValueError("must be [low, high] with 0 < low < 1 < high, e.g. [0.5, 2.0]")
        return value


def parse_monitoring_settings(settings: dict | MonitoringConfig | None, source: str = "monitoring") -> MonitoringConfig:
    """Validate the monitoring settings; one :class:`ConfigError` line naming the key on error.

    Examples
    --------
    >>> parse_monitoring_settings({"chunk": "1w"}).chunk
    '1w'
    """
    if isinstance(settings, MonitoringConfig):
        return settings
    try:
        return MonitoringConfig.model_validate(settings or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"{source}.{key}: unknown key; remove or rename it") from None
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{source}.{key}: {message}") from None


def monitoring_spark_rows_message(chunk: str) -> str:
    """The one line that refuses row chunks on the Spark engine (pre-flight and report say the same).

    Examples
    --------
    >>> print(monitoring_spark_rows_message("10000rows"))
    monitoring.chunk '10000rows': monitoring.engine spark chunks by period (e.g. 1d, 1w), not by rows (row chunks need
    the log's global row order, which Spark's partitions do not keep); chunk by period or use the pandas engine
    """
    return (f"monitoring.chunk {chunk!r}: monitoring.engine spark chunks by period (e.g. 1d, 1w), not by rows "
            "(row chunks need the log's global row order, which Spark's partitions do not keep); "
            "chunk by period or use the pandas engine")
