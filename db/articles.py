"""Article queries: storing what ingestion found, linking feeds' entries to articles, and the
routing queue (articles stored but not routed yet).

Callers own the transaction (``db.engine.transaction``). Records go in and out as plain
values: no ORM instance leaves a function here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Article, ArticleSource, fit_to_columns
from db.search import index_article, index_articles
from summaries.search import SearchDocument, search_document

# Ids per IN (...) list: well under every backend's bound-parameter limit.
IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """A new article's columns (db.models.Article), as the ingest shell builds them."""

    url: str | None
    title: str
    author: str | None
    published: datetime
    first_seen: datetime
    language: str | None
    text: str
    text_source: str
    content_hash: str
    simhash: int | None
    announce: bool
    summary: list[str] | None = None
    topics: list[str] | None = None
    topic_scores: dict[str, float] | None = None
    event: dict[str, Any] | None = None
    is_event: bool = False
    event_start: date | None = None
    event_end: date | None = None
    summarized_at: datetime | None = None
    summary_error: str | None = None


_DRAFT_COLUMNS = tuple(f.name for f in fields(ArticleDraft))
_WHOLE_URL = frozenset({"url"})  # a cut URL would name another page


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def insert_article(
    session: AsyncSession,
    draft: ArticleDraft,
    *,
    now: datetime,
    search: SearchDocument | None = None,
) -> int:
    """Store a new article and its search words (``search``, made here when not given);
    returns its id. Strings are fitted to their columns (a URL too long for its column is
    not stored: a cut URL would name another page). A backlog article (``announce`` False)
    is stored as routed: there is nothing to route."""
    article_id = await insert_article_row(session, draft, now=now)
    await index_article(session, article_id, search or search_document(draft.title, draft.text))
    return article_id


async def insert_article_row(session: AsyncSession, draft: ArticleDraft, *, now: datetime) -> int:
    """``insert_article`` without the search words: the caller adds them
    (``add_new_rows``)."""
    # One INSERT, not an ORM object flushed through the unit of work (a third of the
    # ingest process's CPU per new article went to that); the columns are the same.
    values = fit_to_columns(
        "articles", {name: getattr(draft, name) for name in _DRAFT_COLUMNS}, whole=_WHOLE_URL
    )
    values["routed_at"] = None if draft.announce else now
    connection = await session.connection()
    result = await connection.execute(SQLModel.metadata.tables["articles"].insert(), values)
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row
    article_id: int = key[0]
    return article_id


@dataclass(frozen=True, slots=True)
class NewSource:
    """The source row of an article stored in this transaction (there is no row of an
    earlier poll to move, as ``link_source`` does)."""

    article_id: int
    feed_id: int
    guid: str
    entry_hash: str | None


async def add_new_rows(
    session: AsyncSession,
    words: Sequence[tuple[int, SearchDocument]],
    sources: Sequence[NewSource],
    *,
    now: datetime,
) -> None:
    """The search words and source rows of articles stored by ``insert_article_row`` in
    this transaction, one statement each (SQLite's write lock is held for a round trip
    per statement)."""
    await index_articles(session, words)
    if not sources:
        return
    table = SQLModel.metadata.tables["article_sources"]
    connection = await session.connection()
    await connection.execute(
        table.insert(),
        [
            {
                "article_id": s.article_id,
                "feed_id": s.feed_id,
                "guid": s.guid,
                "seen_at": now,
                "entry_hash": s.entry_hash,
            }
            for s in sources
        ],
    )


async def known_guids(session: AsyncSession, feed_id: int, guids: Sequence[str]) -> set[str]:
    """Which of ``guids`` this feed already carried."""
    found: set[str] = set()
    for part in _chunks(list(guids)):
        query = select(ArticleSource.guid).where(
            ArticleSource.feed_id == feed_id, col(ArticleSource.guid).in_(list(part))
        )
        found.update((await session.exec(query)).all())
    return found


async def entry_hashes(
    session: AsyncSession, feed_id: int, hashes: Collection[str]
) -> dict[str, int]:
    """Entry hash -> article id, for the hashes among ``hashes`` this feed already carried."""
    found: dict[str, int] = {}
    for part in _chunks(sorted(hashes)):
        query = select(ArticleSource.entry_hash, ArticleSource.article_id).where(
            ArticleSource.feed_id == feed_id, col(ArticleSource.entry_hash).in_(list(part))
        )
        for entry_hash, article_id in (await session.exec(query)).all():
            if entry_hash is not None:
                found[entry_hash] = article_id
    return found


async def article_ids_by_url(session: AsyncSession, urls: Collection[str]) -> dict[str, int]:
    """URL -> article id, for the stored articles among ``urls``."""
    found: dict[str, int] = {}
    for part in _chunks(sorted(urls)):
        query = select(Article.url, Article.id).where(col(Article.url).in_(list(part)))
        for url, article_id in (await session.exec(query)).all():
            if url is not None and article_id is not None:
                found[url] = article_id
    return found


async def article_id_by_url(session: AsyncSession, url: str) -> int | None:
    return (await session.exec(select(Article.id).where(Article.url == url))).first()


async def recent_article_keys(
    session: AsyncSession, *, since: datetime, limit: int | None = None
) -> Sequence[tuple[int, str | None, str, int | None]]:
    """(id, url, content_hash, simhash) of articles first seen since ``since``, oldest
    first; with ``limit``, only the newest ``limit`` of them."""
    query = select(Article.id, Article.url, Article.content_hash, Article.simhash).where(
        col(Article.first_seen) >= since
    )
    if limit is not None:
        query = query.order_by(col(Article.id).desc()).limit(limit)
    rows = (await session.exec(query)).all()
    keys = [(int(r[0]), r[1], r[2], r[3]) for r in rows if r[0] is not None]
    return sorted(keys)


async def link_source(
    session: AsyncSession,
    *,
    article_id: int,
    feed_id: int,
    guid: str,
    now: datetime,
    entry_hash: str | None = None,
) -> None:
    """Record that the feed carried the article under ``guid``.

    A feed has one row per article: when it already carried the article under another
    guid (an entry whose guid changes at every poll), that row takes the new guid, so the
    table does not grow with every poll of a churning feed.
    """
    sources = SQLModel.metadata.tables["article_sources"]
    moved = await session.exec(
        sources.update()
        .where(sources.c.feed_id == feed_id, sources.c.article_id == article_id)
        .values(
            guid=guid,
            seen_at=sa.bindparam("b_now", now, type_=sources.c.seen_at.type),
            entry_hash=sa.func.coalesce(sa.literal(entry_hash, sa.String), sources.c.entry_hash),
        )
    )
    if moved.rowcount:
        return
    session.add(
        ArticleSource(
            article_id=article_id, feed_id=feed_id, guid=guid, seen_at=now, entry_hash=entry_hash
        )
    )
    await session.flush()


async def article_count(session: AsyncSession) -> int:
    return (await session.exec(select(sa.func.count()).select_from(Article))).one()


async def unrouted_article_ids(session: AsyncSession, *, limit: int) -> list[int]:
    """The oldest ``limit`` articles stored but not routed yet."""
    query = (
        select(Article.id)
        .where(col(Article.routed_at).is_(None))
        .order_by(col(Article.id))
        .limit(limit)
    )
    return [i for i in (await session.exec(query)).all() if i is not None]


async def mark_routed(session: AsyncSession, article_ids: Sequence[int], *, now: datetime) -> None:
    """Routing matched these articles to the chats: never route them again."""
    articles = SQLModel.metadata.tables["articles"]
    stamp = sa.bindparam("b_now", now, type_=articles.c.routed_at.type)
    connection = await session.connection()  # a Core statement: no ORM work per call
    for part in _chunks(list(article_ids)):
        await connection.execute(
            articles.update()
            .where(articles.c.id.in_(list(part)), articles.c.routed_at.is_(None))
            .values(routed_at=stamp)
        )
