"""Engines that compute readiness statistics where the data lives.

:mod:`readiness.engines.spark` profiles Spark DataFrames (needs ``ml-readiness[spark]``);
this module holds only the light settings both the drift and the monitoring report
accept under ``engine: spark``, so importing it never imports Spark.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SparkConfig(BaseModel):
    """Where ``engine: spark`` runs: the master (default: an active session, Spark's own
    configuration, else ``local[*]``) and settings for a new session (e.g. ``spark.hadoop.fs.s3a.*``).

    Examples
    --------
    >>> SparkConfig(master="local[2]").conf
    {}
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    master: str | None = Field(None, min_length=1)
    conf: dict[str, str] = {}
