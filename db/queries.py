"""Queries: every read and write the bot and the CLI make, as async functions over a session.

Callers own the transaction (``async with sessions() as s, s.begin():``) unless a
function says it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.errors import FeedExists, FeedNotFound
from db.models import Article, ArticleSource, Feed


async def add_feed(
    session: AsyncSession,
    url: str,
    *,
    now: datetime,
    title: str | None = None,
    topics: Sequence[str] = (),
) -> Feed:
    """Store a new feed, due at once; FeedExists when the URL is already there.

    ``topics`` are the feed's default topic slugs (checked by the caller).
    """
    if await feed_by_url(session, url) is not None:
        raise FeedExists(url)
    feed = Feed(url=url, title=title, created_at=now, next_check=now, topics=list(topics) or None)
    session.add(feed)
    await session.flush()
    return feed


async def add_feeds_missing(
    session: AsyncSession, urls: Iterable[tuple[str, str | None]], *, now: datetime
) -> list[Feed]:
    """Add the (url, title) pairs not stored yet; existing feeds are kept as they are."""
    wanted = dict(urls)
    if not wanted:
        return []
    existing = set(
        (await session.exec(select(Feed.url).where(col(Feed.url).in_(list(wanted))))).all()
    )
    added = [
        Feed(url=url, title=title, created_at=now, next_check=now)
        for url, title in wanted.items()
        if url not in existing
    ]
    session.add_all(added)
    await session.flush()
    return added


async def feed_by_url(session: AsyncSession, url: str) -> Feed | None:
    return (await session.exec(select(Feed).where(Feed.url == url))).first()


async def find_feed(session: AsyncSession, ref: str) -> Feed:
    """A feed by id ("12") or URL; FeedNotFound otherwise."""
    feed = await session.get(Feed, int(ref)) if ref.isdigit() else await feed_by_url(session, ref)
    if feed is None:
        raise FeedNotFound(ref)
    return feed


async def list_feeds(session: AsyncSession) -> Sequence[Feed]:
    return (await session.exec(select(Feed).order_by(col(Feed.id)))).all()


async def count_feeds(session: AsyncSession) -> int:
    return (await session.exec(select(sa.func.count()).select_from(Feed))).one()


async def set_feed_topics(session: AsyncSession, ref: str, topics: Sequence[str]) -> Feed:
    """Replace the default topics of the feed with this id or URL (none clears them)."""
    feed = await find_feed(session, ref)
    feed.topics = list(topics) or None
    session.add(feed)
    await session.flush()
    return feed


async def remove_feed(session: AsyncSession, ref: str) -> Feed:
    feed = await find_feed(session, ref)
    await session.delete(feed)
    await session.flush()
    return feed


async def due_feeds(
    session: AsyncSession, *, now: datetime, include_all: bool = False
) -> Sequence[Feed]:
    """Enabled feeds whose next check has come (every enabled feed with ``include_all``)."""
    query = select(Feed).where(col(Feed.enabled).is_(True))
    if not include_all:
        query = query.where(sa.or_(col(Feed.next_check).is_(None), col(Feed.next_check) <= now))
    return (await session.exec(query.order_by(col(Feed.next_check), col(Feed.id)))).all()


async def next_due_time(session: AsyncSession) -> datetime | None:
    query = select(sa.func.min(Feed.next_check)).where(col(Feed.enabled).is_(True))
    result: datetime | None = (await session.exec(query)).one()
    # func.min bypasses the column type on some backends: normalise to aware UTC.
    if result is not None and result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result


async def known_guids(session: AsyncSession, feed_id: int, guids: Sequence[str]) -> set[str]:
    if not guids:
        return set()
    query = select(ArticleSource.guid).where(
        ArticleSource.feed_id == feed_id, col(ArticleSource.guid).in_(list(guids))
    )
    return set((await session.exec(query)).all())


async def recent_article_keys(
    session: AsyncSession, *, since: datetime
) -> Sequence[tuple[int, str | None, str, int | None]]:
    """(id, url, content_hash, simhash) of articles first seen since ``since``."""
    query = select(Article.id, Article.url, Article.content_hash, Article.simhash).where(
        col(Article.first_seen) >= since
    )
    rows = (await session.exec(query)).all()
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows if r[0] is not None]


async def article_id_by_url(session: AsyncSession, url: str) -> int | None:
    return (await session.exec(select(Article.id).where(Article.url == url))).first()


async def link_source(
    session: AsyncSession, *, article_id: int, feed_id: int, guid: str, now: datetime
) -> None:
    session.add(ArticleSource(article_id=article_id, feed_id=feed_id, guid=guid, seen_at=now))


async def article_count(session: AsyncSession) -> int:
    return (await session.exec(select(sa.func.count()).select_from(Article))).one()


async def articles_since(session: AsyncSession, since: datetime) -> Sequence[Article]:
    query = select(Article).where(col(Article.first_seen) >= since).order_by(col(Article.id))
    return (await session.exec(query)).all()


async def article_feeds(session: AsyncSession, article_id: int) -> Sequence[Feed]:
    query = (
        select(Feed)
        .join(ArticleSource, col(ArticleSource.feed_id) == col(Feed.id))
        .where(ArticleSource.article_id == article_id)
        .order_by(col(ArticleSource.id))
    )
    return (await session.exec(query)).all()
