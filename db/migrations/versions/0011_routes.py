"""routes: one row per routed article holding its matched chats as Roaring bitmaps of chat
slots, in place of one chat_articles row per (chat, article); chats get a slot, a digest
cursor and a catch-up flag

Every chat gets a slot (by id order); on PostgreSQL new slots come from the chat_slots
sequence. The pending digest matches of chat_articles become routes' digest bitmaps (one
route per article, ``created_at`` its first match's), so nothing pending is lost; an
instant-mode chat with matches pending is flagged for its catch-up digest. Matches already
sent are history: they are not kept. The downgrade turns routes' digest bitmaps back into
pending chat_articles rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from pyroaring import BitMap

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Rows written per executemany while converting.
_BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    # Plain ALTER TABLE ... ADD COLUMN on both engines: on SQLite a batch rebuild of chats
    # would drop the old table, and its ON DELETE CASCADE would empty every chat's topics,
    # rules, feeds and deliveries. SQLite takes a NOT NULL column only with a default.
    if postgresql:  # NOT NULL once every chat has its slot
        op.add_column("chats", sa.Column("slot", sa.BigInteger(), nullable=True))
    else:
        op.add_column(
            "chats", sa.Column("slot", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.add_column(
        "chats", sa.Column("digest_cursor", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "chats", sa.Column("catch_up", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM chats ORDER BY id"))]
    _executemany(
        bind,
        "UPDATE chats SET slot = :slot WHERE id = :id",
        [{"slot": slot, "id": chat_id} for slot, chat_id in enumerate(ids, start=1)],
    )
    if postgresql:
        op.execute("CREATE SEQUENCE chat_slots AS bigint")
        op.execute(f"SELECT setval('chat_slots', {len(ids) + 1}, false)")
        op.alter_column(
            "chats",
            "slot",
            existing_type=sa.BigInteger(),
            nullable=False,
            server_default=sa.text("nextval('chat_slots')"),
        )
    op.create_index("uq_chats_slot", "chats", ["slot"], unique=True)

    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("instant", sa.LargeBinary(), nullable=True),
        sa.Column("instant_count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=True),
        sa.Column("fanned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_routes_created_at", "routes", ["created_at"], unique=False)
    op.create_index(
        "ix_routes_unfanned",
        "routes",
        ["id"],
        unique=False,
        sqlite_where=sa.text("fanned < instant_count"),
        postgresql_where=sa.text("fanned < instant_count"),
    )
    _pending_to_routes(bind)

    op.drop_index("ix_chat_articles_pending", table_name="chat_articles")
    op.drop_index("ix_chat_articles_chat_id", table_name="chat_articles")
    op.drop_index("ix_chat_articles_article_id", table_name="chat_articles")
    op.drop_table("chat_articles")


def _pending_to_routes(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT m.article_id, c.slot, m.created_at, c.mode FROM chat_articles m"
            " JOIN chats c ON c.id = m.chat_id WHERE m.pending_digest"
            " ORDER BY m.article_id"
        )
    )
    routes: dict[int, tuple[BitMap, datetime]] = {}
    catch_up: set[int] = set()
    for article_id, slot, created_at, mode in rows:
        found = routes.get(article_id)
        if found is None:
            routes[article_id] = (BitMap([slot]), created_at)
        else:
            found[0].add(slot)
            routes[article_id] = (found[0], min(found[1], created_at))
        if mode == "instant":
            catch_up.add(slot)
    _executemany(
        bind,
        "INSERT INTO routes (article_id, created_at, instant, instant_count, digest, fanned)"
        " VALUES (:article_id, :created_at, NULL, 0, :digest, 0)",
        [
            {"article_id": a, "created_at": at, "digest": slots.serialize()}
            for a, (slots, at) in sorted(routes.items(), key=lambda item: (item[1][1], item[0]))
        ],
    )
    _executemany(
        bind,
        "UPDATE chats SET catch_up = :on WHERE slot = :slot",
        [{"on": True, "slot": slot} for slot in sorted(catch_up)],
    )


def _executemany(bind: sa.Connection, sql: str, params: list[dict[str, object]]) -> None:
    statement = sa.text(sql)
    for start in range(0, len(params), _BATCH):
        bind.execute(statement, params[start : start + _BATCH])


def downgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "chat_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pending_digest", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], ondelete="CASCADE", onupdate="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "article_id", name="uq_chat_articles_chat_article"),
    )
    op.create_index("ix_chat_articles_article_id", "chat_articles", ["article_id"], unique=False)
    op.create_index("ix_chat_articles_chat_id", "chat_articles", ["chat_id"], unique=False)
    op.create_index(
        "ix_chat_articles_pending", "chat_articles", ["chat_id", "pending_digest"], unique=False
    )
    chats = {
        slot: (chat_id, cursor, created)
        for chat_id, slot, cursor, created in bind.execute(
            sa.text("SELECT id, slot, digest_cursor, created_at FROM chats")
        )
    }
    pending: list[dict[str, object]] = []
    routes = bind.execute(
        sa.text("SELECT id, article_id, created_at, digest FROM routes WHERE digest IS NOT NULL")
    )
    for route_id, article_id, created_at, digest in routes:
        for slot in BitMap.deserialize(bytes(digest)):
            chat = chats.get(slot)
            if chat is not None and route_id > chat[1] and chat[2] <= created_at:
                pending.append(
                    {"chat": chat[0], "article": article_id, "at": created_at, "on": True}
                )
    _executemany(
        bind,
        "INSERT INTO chat_articles (chat_id, article_id, created_at, pending_digest)"
        " VALUES (:chat, :article, :at, :on)",
        pending,
    )
    op.drop_index("ix_routes_unfanned", table_name="routes")
    op.drop_index("ix_routes_created_at", table_name="routes")
    op.drop_table("routes")
    op.drop_index("uq_chats_slot", table_name="chats")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch rebuild: see upgrade().
    for column in ("catch_up", "digest_cursor", "slot"):
        op.execute(f"ALTER TABLE chats DROP COLUMN {column}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE chat_slots")
