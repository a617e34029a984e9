"""Routes on both engines: the 0011 migration turns pending digest matches into routes (and
back), every chat gets a slot of its own however it is created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.routing import send_due_digests
from db import routes as routes_db
from db.engine import create_engine, create_sync_engine, session_factory
from db.models import Article, Chat, Delivery

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


def _old_chat(connection: sa.Connection, chat_id: int, mode: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO chats (id, type, created_at, active, mode, digest_hour, digest_weekday,"
            " timezone, summary_sentences, forums_only, paused, silent, last_digest_at)"
            " VALUES (:id, 'private', :at, :on, :mode, 10, 0, 'UTC', 2, :off, :off, :off, :at)"
        ),
        {"id": chat_id, "at": NOW.replace(tzinfo=None), "on": True, "off": False, "mode": mode},
    )


def _pending(connection: sa.Connection) -> set[tuple[int, int, bool]]:
    rows = connection.execute(
        sa.text("SELECT chat_id, article_id, pending_digest FROM chat_articles")
    )
    return {(c, a, bool(p)) for c, a, p in rows}


async def test_the_routes_migration_keeps_pending_digests_and_can_be_undone(
    database_url: str,
) -> None:
    from alembic import command

    from db.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0010")
    engine = create_sync_engine(database_url)
    with Session(engine) as session:
        article = Article(
            title="Comet flyby",
            published=NOW,
            first_seen=NOW,
            text="A comet passed.",
            content_hash="h",
            summary=["A comet passed by."],
        )
        session.add(article)
        session.commit()
        article_id = article.id
    with engine.begin() as connection:
        _old_chat(connection, 1, "daily")  # its digest is pending
        _old_chat(connection, 2, "instant")  # left digest mode with the match pending
        _old_chat(connection, 3, "daily")  # had it in a digest already
        connection.execute(
            sa.text(
                "INSERT INTO chat_articles (chat_id, article_id, created_at, pending_digest)"
                " VALUES (1, :a, :at, :on), (2, :a, :at, :on), (3, :a, :at, :off)"
            ),
            {"a": article_id, "at": NOW.replace(tzinfo=None), "on": True, "off": False},
        )
        connection.execute(sa.text("INSERT INTO chat_topics (chat_id, slug) VALUES (1, 'space')"))
    upgrade(database_url)
    with engine.connect() as connection:
        slots = connection.execute(sa.text("SELECT id, slot, catch_up FROM chats ORDER BY id"))
        assert [(i, s, bool(c)) for i, s, c in slots] == [
            (1, 1, False),
            (2, 2, True),
            (3, 3, False),
        ]
    command.downgrade(alembic_config(database_url), "0010")
    with engine.connect() as connection:
        assert _pending(connection) == {(1, article_id, True), (2, article_id, True)}
    upgrade(database_url)
    with engine.connect() as connection:  # no table rebuilt: nothing cascaded away
        assert connection.execute(sa.text("SELECT chat_id FROM chat_topics")).all() == [(1,)]
    engine.dispose()

    async_engine = create_engine(database_url)
    sessions = session_factory(async_engine)
    try:
        assert await send_due_digests(sessions, now=NOW + timedelta(days=1)) == 2
        async with sessions() as s:
            sent = (await s.exec(select(Delivery.chat_id, Delivery.text))).all()
            assert await routes_db.matched_pairs(s) == {
                (1, article_id, True),
                (2, article_id, True),
            }
        assert sorted(chat for chat, _ in sent) == [1, 2]
        assert all("Comet flyby" in text for _, text in sent)
        assert await send_due_digests(sessions, now=NOW + timedelta(days=2)) == 0
    finally:
        await async_engine.dispose()


async def test_chats_made_one_by_one_or_together_each_get_a_slot_of_their_own(
    sessions: Sessions,
) -> None:
    from db import chats as chats_db

    async with sessions() as s, s.begin():
        s.add_all(Chat(id=i, type="private", created_at=NOW) for i in (5, 6, 7))
    async with sessions() as s, s.begin():
        await chats_db.get_or_create_chat(s, 8, chat_type="private", title=None, now=NOW)
    async with sessions() as s:
        slots = (await s.exec(select(Chat.slot))).all()
    assert len(set(slots)) == 4
    assert None not in slots
