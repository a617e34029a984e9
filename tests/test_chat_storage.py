"""Chat storage on both engines: the 0004 migration (sound settings, saved searches) and the
queries the chat experience adds (saved searches, paged lookups, concurrent first use)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import chats as chats_db
from db.engine import create_sync_engine
from db.migrate import current_revision, head_revision
from db.models import Article, Chat

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_chat_experience_migration_keeps_stored_chats_and_can_be_undone(
    database_url: str,
) -> None:
    from alembic import command

    from db.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0003")
    engine = create_sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO chats (id, type, created_at, active, mode, digest_hour,"
                " digest_weekday, timezone, summary_sentences, forums_only, paused)"
                " VALUES (42, 'private', :now, :on, 'instant', 8, 0, 'UTC', 2, :off, :off)"
            ),
            {"now": NOW.replace(tzinfo=None), "on": True, "off": False},
        )
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, silent, quiet_start FROM chats")).all()
        searches = connection.execute(sa.text("SELECT count(*) FROM chat_searches")).scalar()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(42, False, None)]
    assert searches == 0
    assert current_revision(database_url) == head_revision()


async def test_a_chats_saved_searches_are_its_own_and_only_the_newest_are_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        for chat_id in (1, 2):
            await chats_db.get_or_create_chat(s, chat_id, chat_type="private", title=None, now=NOW)
        first = await chats_db.save_search(s, 1, "crispr", now=NOW)
        again = await chats_db.save_search(s, 1, "crispr", now=NOW + timedelta(seconds=1))
        others = await chats_db.save_search(s, 2, "crispr", now=NOW)
        ids = [
            await chats_db.save_search(s, 1, f"term{n}", now=NOW + timedelta(minutes=n + 1))
            for n in range(chats_db.KEEP_SEARCHES)
        ]
    async with sessions() as s:
        assert first == again
        assert others != first
        assert await chats_db.saved_search(s, 2, others) == "crispr"
        assert await chats_db.saved_search(s, 2, first) is None  # another chat's
        assert await chats_db.saved_search(s, 1, first) is None  # pushed out by newer ones
        assert await chats_db.saved_search(s, 1, ids[-1]) == f"term{chats_db.KEEP_SEARCHES - 1}"
    async with sessions() as s, s.begin():
        await chats_db.delete_chat(s, 2)
    async with sessions() as s:
        assert await chats_db.saved_search(s, 2, others) is None


async def test_list_pages_see_only_the_articles_there_were_when_the_list_was_made(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        for n in range(5):
            s.add(
                Article(
                    title=f"Fusion {n}",
                    published=NOW + timedelta(hours=n),
                    first_seen=NOW,
                    text="fusion",
                    content_hash=str(n),
                )
            )
    async with sessions() as s:
        anchor = await chats_db.newest_article_id(s)
        assert anchor is not None
    async with sessions() as s, s.begin():
        s.add(
            Article(title="Fusion late", published=NOW, first_seen=NOW, text="x", content_hash="l")
        )
    async with sessions() as s:
        page = await chats_db.search_articles(s, ["fusion"], limit=2, offset=2, max_id=anchor)
        recent = await chats_db.recent_articles(s, max_id=anchor)
    assert [a.title for a in page] == ["Fusion 2", "Fusion 1"]
    assert "Fusion late" not in [a.title for a in recent]
    assert len(recent) == 5


async def test_the_facts_lists_match_by_are_the_recent_articles_in_their_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        for n in range(4):
            s.add(
                Article(
                    title=f"Story {n}",
                    published=NOW + timedelta(hours=n % 2),
                    first_seen=NOW,
                    text=f"text {n}",
                    content_hash=str(n),
                    topics=["physics"] if n % 2 else None,
                    is_event=n == 3,
                )
            )
    async with sessions() as s:
        recent = await chats_db.recent_articles(s, max_id=3)
        facts = await chats_db.recent_article_facts(s, max_id=3)
        bare = await chats_db.recent_article_facts(s, max_id=3, text=False)
    expected = [(a.id, a.title, a.text, a.topics or [], a.is_event) for a in recent]
    assert [(f.id, f.title, f.text, f.topics, f.is_event) for f in facts] == expected
    assert [f.text for f in bare] == ["", "", ""]
    assert [f.id for f in bare] == [f.id for f in facts]


async def test_a_chats_first_messages_handled_at_once_make_one_chat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def first_use() -> bool:
        async with sessions() as s, s.begin():
            _, created = await chats_db.get_or_create_chat(
                s, 77, chat_type="private", title="Ann", now=NOW
            )
            return created

    created = await asyncio.gather(*(first_use() for _ in range(5)))

    assert sorted(created) == [False, False, False, False, True]
    async with sessions() as s:
        chat = await s.get(Chat, 77)
    assert chat is not None
    assert (chat.mode, chat.timezone, chat.silent) == ("instant", "UTC", False)
