"""Deployments: when a model version went live, for naming the release behind a changepoint.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(200)),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False, server_default="production"),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("ci_job_url", sa.Text),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_deployments_model_time", "deployments", ["model_name", "deployed_at"])


def downgrade() -> None:
    op.drop_table("deployments")
