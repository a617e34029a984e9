"""operations: a heartbeat for health checks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("pass_started_at", sa.DateTime(), nullable=True),
        sa.Column("pass_finished_at", sa.DateTime(), nullable=True),
        sa.Column("pass_checked", sa.Integer(), nullable=True),
        sa.Column("pass_not_modified", sa.Integer(), nullable=True),
        sa.Column("pass_failed", sa.Integer(), nullable=True),
        sa.Column("pass_new", sa.Integer(), nullable=True),
        sa.Column("pass_routed", sa.Integer(), nullable=True),
        sa.Column("pass_errors", sa.Integer(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.Column("outbox_depth", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("host", "role"),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
