"""Serving-side records: :class:`PredictionLogger` wraps the served model and logs what it
predicted; :func:`log_labels` adds outcomes when they arrive. Both write to a folder of
Parquet files partitioned by date (the default) or an SQL table; the monitoring report
reads the folder, labels joined.
"""

from readiness.serving.logger import LoggerStats, PredictionLogger, log_labels
from readiness.serving.sinks import ParquetSink, SQLSink, open_sink

__all__ = ["LoggerStats", "ParquetSink", "PredictionLogger", "SQLSink", "log_labels", "open_sink"]
