"""Runs, their reports and every check.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(200)),
        sa.Column("model_path", sa.Text),
        sa.Column("model_sha256", sa.String(64)),
        sa.Column("baseline_sha256", sa.String(64)),
        sa.Column("golden_sha256", sa.String(64)),
        sa.Column("reference_sha256", sa.String(64)),
        sa.Column("current_sha256", sa.String(64)),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_branch", sa.String(255)),
        sa.Column("ci_job_url", sa.Text),
        sa.Column("output_dir", sa.Text),
        sa.Column("readiness_version", sa.String(32)),
        sa.Column("duration_s", sa.Float),
    )
    op.create_index("ix_runs_model_time", "runs", ["model_name", "created_at"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_reports_run_id", "reports", ["run_id"])
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("check_id", sa.String(512), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10)),
        sa.Column("value", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("message", sa.Text),
    )
    op.create_index("ix_checks_run_id", "checks", ["run_id"])


def downgrade() -> None:
    op.drop_table("checks")
    op.drop_table("reports")
    op.drop_table("runs")
