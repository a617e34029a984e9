"""chats' own feeds: chat_feeds links a chat to a feed it follows itself (/sub);
feeds.catalogue tells the admin's catalogue from feeds only chats follow

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        # Every feed stored before this revision was added by an admin or the FEEDS file.
        batch_op.add_column(
            sa.Column("catalogue", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "chat_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], ondelete="CASCADE", onupdate="CASCADE"),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "feed_id", name="uq_chat_feeds_chat_feed"),
    )
    op.create_index("ix_chat_feeds_chat_id", "chat_feeds", ["chat_id"], unique=False)
    op.create_index("ix_chat_feeds_feed_id", "chat_feeds", ["feed_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_feeds_feed_id", table_name="chat_feeds")
    op.drop_index("ix_chat_feeds_chat_id", table_name="chat_feeds")
    op.drop_table("chat_feeds")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("catalogue")
