"""Feed queries: feeds as the admin commands and the CLI see them (ORM rows), and as the
ingest shell sees them (``FeedRow`` records in, ``FeedChanges`` out). Article queries are
in ``db.articles``.

Callers own the transaction (``async with sessions() as s, s.begin():``, or
``db.engine.transaction``) unless a function says it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, TypedDict

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.errors import FeedExists, FeedNotFound
from db.models import Feed, fit_to_columns


async def add_feed(
    session: AsyncSession,
    url: str,
    *,
    now: datetime,
    title: str | None = None,
    topics: Sequence[str] = (),
    catalogue: bool = True,
) -> Feed:
    """Store a new feed, due at once; FeedExists when the URL is already there.

    ``topics`` are the feed's default topic slugs (checked by the caller); ``catalogue``
    False for a feed only chats follow (db.chatfeeds).
    """
    if await feed_by_url(session, url) is not None:
        raise FeedExists(url)
    feed = Feed(
        url=url,
        title=title,
        created_at=now,
        next_check=now,
        topics=list(topics) or None,
        catalogue=catalogue,
    )
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


class FeedRow(NamedTuple):
    """A feed as the ingest shell needs it: plain values, safe to keep across awaits (a
    tuple: an all-304 pass claims 10,000 of them, and a frozen dataclass's ``__init__``
    costs several times a tuple's)."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    ttl_seconds: int | None
    consecutive_errors: int
    last_success: datetime | None
    title: str | None
    site_url: str | None
    topics: tuple[str, ...]


class FeedChanges(TypedDict, total=False):
    """Feed columns an ingest pass writes (db.models.Feed)."""

    url: str
    title: str | None
    site_url: str | None
    etag: str | None
    last_modified: str | None
    ttl_seconds: int | None
    last_checked: datetime
    last_success: datetime
    next_check: datetime
    consecutive_errors: int
    last_error: str | None
    enabled: bool
    disabled_reason: str | None


# Ids per IN (...) list: well under every backend's bound-parameter limit.
IN_CHUNK = 500
# Columns whose value is used whole or not at all: a cut ETag, date or URL is a wrong one.
_WHOLE_VALUES = frozenset({"url", "site_url", "etag", "last_modified"})


def feed_row(feed: Feed) -> FeedRow:
    """The plain record of a loaded feed."""
    assert feed.id is not None  # loaded from the database
    return FeedRow(
        id=feed.id,
        url=feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        ttl_seconds=feed.ttl_seconds,
        consecutive_errors=feed.consecutive_errors,
        last_success=feed.last_success,
        title=feed.title,
        site_url=feed.site_url,
        topics=tuple(feed.topics or ()),
    )


async def due_feeds(
    session: AsyncSession, *, now: datetime, include_all: bool = False
) -> list[FeedRow]:
    """Enabled feeds whose next check has come (every enabled feed with ``include_all``)."""
    query = select(Feed).where(col(Feed.enabled).is_(True))
    if not include_all:
        query = query.where(sa.or_(col(Feed.next_check).is_(None), col(Feed.next_check) <= now))
    feeds = (await session.exec(query.order_by(col(Feed.next_check), col(Feed.id)))).all()
    return [feed_row(feed) for feed in feeds]


async def feed_id_by_url(session: AsyncSession, url: str) -> int | None:
    return (await session.exec(select(Feed.id).where(Feed.url == url))).first()


async def update_feed(
    session: AsyncSession, feed_id: int, changes: FeedChanges, *, add_error: bool = False
) -> bool:
    """Write a poll's outcome to the feed (one UPDATE); ``add_error`` counts one more error
    in its total. Strings are fitted to their columns (``fit_to_columns``): an over-long
    ETag, Last-Modified or URL is not stored (a new URL that long is not followed), an
    over-long title is cut. False when the feed is gone (removed meanwhile): nothing to do.
    """
    values = fit_to_columns("feeds", dict(changes), whole=_WHOLE_VALUES)
    if "url" in values and values["url"] is None:
        del values["url"]
    table = SQLModel.metadata.tables["feeds"]
    if add_error:
        values["total_errors"] = table.c.total_errors + 1
    if not values:
        return True
    result = await session.exec(table.update().where(table.c.id == feed_id).values(**values))
    return bool(result.rowcount)


async def update_feeds(
    session: AsyncSession, updates: Sequence[tuple[int, FeedChanges, bool]]
) -> None:
    """``update_feed`` for many feeds (id, changes, add_error). Feeds given the same
    changes (an all-304 pass's: the same check times) are written by one
    ``UPDATE … WHERE id IN (…)`` per ``IN_CHUNK`` ids; the others by one executemany
    UPDATE per set of changed columns. Feeds removed meanwhile are skipped."""
    table = SQLModel.metadata.tables["feeds"]
    alike: dict[tuple[tuple[tuple[str, object], ...], bool], list[int]] = {}
    for feed_id, changes, add_error in updates:
        alike.setdefault((tuple(sorted(changes.items())), add_error), []).append(feed_id)
    groups: dict[tuple[tuple[str, ...], bool], list[dict[str, object]]] = {}
    connection = await session.connection()
    for (items, add_error), ids in alike.items():
        values = fit_to_columns("feeds", dict(items), whole=_WHOLE_VALUES)
        if "url" in values and values["url"] is None:
            del values["url"]
        if len(ids) > 1:
            assignments: dict[str, object] = dict(values)
            if add_error:
                assignments["total_errors"] = table.c.total_errors + 1
            if not assignments:
                continue
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                await connection.execute(
                    table.update().where(table.c.id.in_(chunk)).values(assignments)
                )
            continue
        row = {f"b_{name}": value for name, value in values.items()}
        row["b_feed_id"] = ids[0]
        groups.setdefault((tuple(sorted(values)), add_error), []).append(row)
    for (columns, add_error), rows in groups.items():
        assignments = {
            name: sa.bindparam(f"b_{name}", type_=table.c[name].type) for name in columns
        }
        if add_error:
            assignments["total_errors"] = table.c.total_errors + 1
        if not assignments:
            continue
        statement = (
            table.update().where(table.c.id == sa.bindparam("b_feed_id")).values(assignments)
        )
        await connection.execute(statement, rows)


async def next_due_time(session: AsyncSession) -> datetime | None:
    query = select(sa.func.min(Feed.next_check)).where(col(Feed.enabled).is_(True))
    result: datetime | None = (await session.exec(query)).one()
    # func.min bypasses the column type on some backends: normalise to aware UTC.
    if result is not None and result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result
