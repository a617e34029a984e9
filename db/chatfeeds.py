"""Chats' own feeds: the feeds a chat follows itself (/sub, OPML import), their links to
chats, and who owns the articles they bring (for routing). Plain records out.

A feed is stored once whoever follows it: a URL already known (the admin's catalogue or
another chat's) is linked, not added again. A feed no chat follows and not in the
catalogue (``feeds.catalogue`` false) is deleted with its last link, so it is no longer
polled; its articles stay.

Callers own the transaction (``async with sessions() as s, s.begin():``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import queries
from db.models import ChatFeed, Feed


@dataclass(frozen=True, slots=True)
class KnownFeed:
    id: int
    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class OwnFeed:
    """One of a chat's own feeds with its health, as /list shows it."""

    feed_id: int
    url: str
    title: str | None
    topics: tuple[str, ...]  # the chat's filter; empty: every article
    created_at: datetime
    last_checked: datetime | None
    last_success: datetime | None
    consecutive_errors: int
    last_error: str | None
    enabled: bool
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class ArticleOwner:
    """An active, unpaused chat that follows a feed which carried the article."""

    article_id: int
    chat_id: int
    topics: tuple[str, ...]  # the chat's filter for that feed; empty: every article
    mode: str
    summary_sentences: int
    timezone: str
    thread_id: int | None
    language: str | None = None  # the chat's interface language (None: English)
    slot: int = 0  # chats.slot


async def known_feed(session: AsyncSession, url: str) -> KnownFeed | None:
    """The stored feed with this URL, catalogue or private."""
    feed = await queries.feed_by_url(session, url)
    if feed is None or feed.id is None:
        return None
    return KnownFeed(feed.id, feed.url, feed.title)


async def add_private_feed(
    session: AsyncSession, url: str, *, title: str | None, now: datetime
) -> KnownFeed:
    """Store a feed only chats follow (due at once); db.errors.FeedExists if the URL is
    stored already."""
    feed = await queries.add_feed(session, url, now=now, title=title, catalogue=False)
    assert feed.id is not None  # flushed
    return KnownFeed(feed.id, feed.url, feed.title)


async def adopt_feed(session: AsyncSession, feed_id: int) -> bool:
    """Put a feed chats follow into the catalogue (an admin added it); True if it was not."""
    result = await session.exec(
        sa.update(Feed)
        .where(col(Feed.id) == feed_id, col(Feed.catalogue).is_(False))
        .values(catalogue=True)
    )
    return bool(result.rowcount)


async def own_feed_count(session: AsyncSession, chat_id: int) -> int:
    query = select(sa.func.count()).select_from(ChatFeed).where(col(ChatFeed.chat_id) == chat_id)
    return int((await session.exec(query)).one())


async def followed_feed_ids(session: AsyncSession, chat_id: int) -> set[int]:
    rows = await session.exec(select(ChatFeed.feed_id).where(ChatFeed.chat_id == chat_id))
    return set(rows.all())


async def own_feeds(session: AsyncSession, chat_id: int) -> list[OwnFeed]:
    """The chat's own feeds, in the order it added them (the numbers /unsub takes)."""
    rows = await session.exec(
        select(ChatFeed, Feed)
        .join(Feed, col(Feed.id) == col(ChatFeed.feed_id))
        .where(col(ChatFeed.chat_id) == chat_id)
        .order_by(col(ChatFeed.id))
    )
    return [
        OwnFeed(
            feed_id=link.feed_id,
            url=feed.url,
            title=feed.title,
            topics=tuple(link.topics or ()),
            created_at=link.created_at,
            last_checked=feed.last_checked,
            last_success=feed.last_success,
            consecutive_errors=feed.consecutive_errors,
            last_error=feed.last_error,
            enabled=feed.enabled,
            disabled_reason=feed.disabled_reason,
        )
        for link, feed in rows.all()
    ]


async def link_feed(
    session: AsyncSession, chat_id: int, feed_id: int, *, topics: Sequence[str], now: datetime
) -> bool:
    """Link the feed to the chat with this topic filter; False (filter unchanged) if the
    chat follows it already."""
    existing = (
        await session.exec(
            select(ChatFeed.id).where(ChatFeed.chat_id == chat_id, ChatFeed.feed_id == feed_id)
        )
    ).first()
    if existing is not None:
        return False
    session.add(
        ChatFeed(chat_id=chat_id, feed_id=feed_id, topics=list(topics) or None, created_at=now)
    )
    await session.flush()
    return True


async def unlink_feed(session: AsyncSession, chat_id: int, feed_id: int) -> bool:
    """Stop the chat following the feed (the feed goes too when nothing else follows it);
    False if it did not."""
    result = await session.exec(
        delete(ChatFeed).where(col(ChatFeed.chat_id) == chat_id, col(ChatFeed.feed_id) == feed_id)
    )
    if not result.rowcount:
        return False
    await _drop_unfollowed(session, [feed_id])
    return True


async def unlink_chat(session: AsyncSession, chat_id: int) -> int:
    """Remove every own feed of a chat (it is being deleted); returns how many it had."""
    feed_ids = list(
        (await session.exec(select(ChatFeed.feed_id).where(ChatFeed.chat_id == chat_id))).all()
    )
    await session.exec(delete(ChatFeed).where(col(ChatFeed.chat_id) == chat_id))
    await _drop_unfollowed(session, feed_ids)
    return len(feed_ids)


async def move_links(session: AsyncSession, old_id: int, new_id: int) -> None:
    """Give the old chat's feeds to the new one (a group became a supergroup that already
    had a row); the links the new chat has already stay with the old chat."""
    new_feeds = select(col(ChatFeed.feed_id)).where(ChatFeed.chat_id == new_id)
    await session.exec(
        sa.update(ChatFeed)
        .where(col(ChatFeed.chat_id) == old_id, col(ChatFeed.feed_id).not_in(new_feeds))
        .values(chat_id=new_id)
    )


async def _drop_unfollowed(session: AsyncSession, feed_ids: Sequence[int]) -> None:
    """Delete the private feeds among these that no chat follows any more."""
    if not feed_ids:
        return
    followed = select(ChatFeed.feed_id).where(col(ChatFeed.feed_id).in_(list(feed_ids)))
    await session.exec(
        delete(Feed).where(
            col(Feed.id).in_(list(feed_ids)),
            col(Feed.catalogue).is_(False),
            col(Feed.id).not_in(followed),
        )
    )


async def article_feeds(
    session: AsyncSession, article_ids: Sequence[int]
) -> tuple[list[ArticleOwner], set[int]]:
    """Who owns these articles, in one query (routing reads it for every article): the
    active, unpaused chats following a feed that carried any of them, and the articles
    that only private feeds carried (no catalogue feed did): those reach only the chats
    that follow those feeds."""
    if not article_ids:
        return [], set()
    tables = SQLModel.metadata.tables
    sources, feeds = tables["article_sources"], tables["feeds"]
    links, chats = tables["chat_feeds"], tables["chats"]
    # A feed's links to chats are outer-joined: a feed with none still tells its
    # catalogue flag; a link to an inactive or paused chat makes a row with no chat.
    query = (
        sa.select(
            sources.c.article_id,
            feeds.c.catalogue,
            links.c.topics,
            chats.c.id,
            chats.c.mode,
            chats.c.summary_sentences,
            chats.c.timezone,
            chats.c.thread_id,
            chats.c.language,
            chats.c.slot,
        )
        .select_from(
            sources.join(feeds, feeds.c.id == sources.c.feed_id)
            .outerjoin(links, links.c.feed_id == sources.c.feed_id)
            .outerjoin(
                chats,
                sa.and_(
                    chats.c.id == links.c.chat_id,
                    chats.c.active.is_(True),
                    chats.c.paused.is_(False),
                ),
            )
        )
        .where(sources.c.article_id.in_(list(article_ids)))
        .order_by(sources.c.article_id, chats.c.id)
    )
    owners: list[ArticleOwner] = []
    carried: dict[int, bool] = {}
    connection = await session.connection()
    for row in await connection.execute(query):
        article_id, catalogue, topics, chat_id = row[:4]
        carried[article_id] = carried.get(article_id, False) or catalogue
        if chat_id is not None:
            mode, sentences, timezone, thread_id, language, slot = row[4:]
            owner = ArticleOwner(
                article_id,
                chat_id,
                tuple(topics or ()),
                mode,
                sentences,
                timezone,
                thread_id,
                language,
                slot or 0,
            )
            owners.append(owner)
    return owners, {article_id for article_id, public in carried.items() if not public}
