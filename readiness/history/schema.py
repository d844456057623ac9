"""The tables of the release history, as the newest migration leaves them.

Migrations (``readiness/history/migrations/versions``) create and change them; this
module only describes them for queries. A change here needs a migration there (a test
compares the two).

* ``runs``: one row per ``readiness run``: model name and sha256, baseline sha256,
  golden/reference/current data hashes, git commit and branch, CI job URL, time,
  verdict, output folder, readiness version.
* ``reports``: each report of a run with its status and duration.
* ``checks``: every check of a run: id, status, severity, value, CI, message.
* ``deployments``: when a model version went live (``readiness deployed``), in which
  environment; the monitoring report names the release behind a changepoint from it.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

SHA256 = 64

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200)),
    Column("model_path", Text),
    Column("model_sha256", String(SHA256)),
    Column("baseline_sha256", String(SHA256)),
    Column("golden_sha256", String(SHA256)),
    Column("reference_sha256", String(SHA256)),
    Column("current_sha256", String(SHA256)),
    Column("verdict", String(10), nullable=False),
    Column("git_commit", String(64)),
    Column("git_branch", String(255)),
    Column("ci_job_url", Text),
    Column("output_dir", Text),
    Column("readiness_version", String(32)),
    Column("duration_s", Float),
    Index("ix_runs_model_time", "model_name", "created_at"),
)

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("report", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("duration_s", Float),
    Column("error", Text),
)

checks = Table(
    "checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("report", String(64), nullable=False),
    Column("check_id", String(512), nullable=False),
    Column("status", String(10), nullable=False),
    Column("severity", String(10)),
    Column("value", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("message", Text),
)

deployments = Table(
    "deployments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(200)),
    Column("model_sha256", String(SHA256), nullable=False),
    Column("environment", String(64), nullable=False, server_default="production"),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("git_commit", String(64)),
    Column("ci_job_url", Text),
    Column("note", Text),
    Index("ix_deployments_model_time", "model_name", "deployed_at"),
)
