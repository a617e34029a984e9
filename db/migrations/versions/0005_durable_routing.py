"""articles.routed_at (routing from the database) and article_sources.entry_hash (churn)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UNROUTED = sa.text("routed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routed_at", sa.DateTime(), nullable=True))
    # Articles stored before this revision were routed at the end of their pass (or lost
    # with it): none is announced again.
    op.execute("UPDATE articles SET routed_at = first_seen")
    op.create_index(
        "ix_articles_unrouted",
        "articles",
        ["id"],
        unique=False,
        sqlite_where=_UNROUTED,
        postgresql_where=_UNROUTED,
    )
    with op.batch_alter_table("article_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_article_sources_feed_entry_hash",
        "article_sources",
        ["feed_id", "entry_hash"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_article_sources_feed_entry_hash", table_name="article_sources")
    with op.batch_alter_table("article_sources", schema=None) as batch_op:
        batch_op.drop_column("entry_hash")
    op.drop_index("ix_articles_unrouted", table_name="articles")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("routed_at")
