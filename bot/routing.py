"""Routing: turning new articles and due digests into outbox rows for subscribed chats.

``route_pending`` routes what the database says is stored and not routed yet
(``articles.routed_at`` NULL), oldest first: every matching chat gets one ChatArticle row
(the guard that an article reaches a chat at most once) and, in instant mode, a delivery of
the rendered card; digest-mode chats get the match marked pending. The matches and the
article's ``routed_at`` are written in one transaction, so an article is routed exactly
once whatever stops the process: a crash before the commit leaves it queued, after it
leaves nothing to do. The ingest shell calls it as each feed's articles are stored and at
the start and end of every pass (what an earlier process stored and did not route).
``route_articles`` routes given articles (and marks them routed). ``send_due_digests``
turns the pending matches of chats whose digest slot has come into digest deliveries. All
are idempotent; the caller wakes the outbox.

The chats an article is for come from the live subscription index (``bot.subscribers``,
``bot.subindex``): found from the article's topics and words, so the cost grows with the
matches, not with the chats. Matching, rendering and preparing the rows run in a thread,
one article at a time (its rows are written before the next one's are made: memory stays
bounded); the rows go to the driver's executemany (``db.bulk``): one article can match
tens of thousands of chats, and row-by-row ORM flushes would hold SQLite's write lock for
many seconds. Digests read the due chats DIGEST_SCAN at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digests import DIGEST_MODES, digest_due, zone
from bot.feedowners import OwnedArticles, owned_articles
from bot.i18n import translator
from bot.render import ArticleCard, card_from_article, render_card, render_digest
from bot.subindex import SubscriptionIndex, Target, matching_chats
from bot.subscribers import Subscribers, subscribers
from db import articles as articles_db
from db import chats as chats_db
from db.bulk import PreparedRows, insert_prepared, prepare_rows
from db.chatfeeds import ArticleOwner
from db.engine import transaction
from db.models import Article, Chat, ChatArticle

log = logging.getLogger(__name__)

# A digest longer than this is a wall of text nobody reads: the newest are kept.
MAX_DIGEST_ARTICLES = 50
# What a leftover digest is called when a chat went back to instant mode.
CATCH_UP_PERIOD = "catch-up"
# Chats handled per digest transaction, and ids per IN (...) list.
DIGEST_BATCH = 200
IN_CHUNK = 500
# Candidate chats read per query, and cards kept across digest batches.
DIGEST_SCAN = 5000
CARD_CACHE = 2000

# Articles routed per transaction, at most; and matches per transaction, roughly: SQLite
# has one writer, and 200 articles at 100,000 chats (~11,000 matches each) held its write
# lock past the 10 s busy timeout of a command that writes ("database is locked";
# benchmarks/burst.py).
ROUTE_BATCH = 200
ROUTE_ROWS = 20_000
# The columns of the rows routing writes.
MATCH_COLUMNS = ("chat_id", "article_id", "created_at", "pending_digest")
DELIVERY_COLUMNS = (
    "chat_id",
    "kind",
    "article_id",
    "text",
    "disable_preview",
    "thread_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)

_T = TypeVar("_T")


async def route_pending(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    batch: int = ROUTE_BATCH,
    rows: int = ROUTE_ROWS,
) -> int:
    """Route every article stored and not routed yet, oldest first, at most ``batch``
    articles and about ``rows`` matches per transaction; returns how many (chat, article)
    matches were new. db.errors.StorageError when the database fails: what was not
    committed stays queued."""
    total = 0
    size = 1  # the first transaction tells how many matches an article makes
    while True:
        made = 0
        async with transaction(sessions) as session:
            ids = await articles_db.unrouted_article_ids(session, limit=size)
            if ids:
                made = await _route(session, ids, subscribers(sessions), now=now)
                await articles_db.mark_routed(session, ids, now=now)
        total += made
        if len(ids) < size:
            return total
        size = next_batch(len(ids), made, most=batch, rows=rows)


def next_batch(articles: int, matches: int, *, most: int, rows: int) -> int:
    """Articles for the next routing transaction: as many as make about ``rows`` matches
    at the last transaction's rate, between 1 and ``most``."""
    if matches <= 0:
        return most
    return max(1, min(most, rows * articles // matches))


async def route_articles(
    sessions: async_sessionmaker[AsyncSession], article_ids: Sequence[int], *, now: datetime
) -> int:
    """Match these articles to subscribed chats and mark them routed; returns how many
    (chat, article) matches were new. Articles not to be announced (a new feed's backlog)
    are skipped.
    """
    ids = sorted(set(article_ids))
    if not ids:
        return 0
    async with transaction(sessions) as session:
        routed = await _route(session, ids, subscribers(sessions), now=now)
        await articles_db.mark_routed(session, ids, now=now)
    return routed


async def _route(
    session: AsyncSession, ids: Sequence[int], subs: Subscribers, *, now: datetime
) -> int:
    """Route the announced articles among ``ids`` in the caller's transaction."""
    articles = (
        await session.exec(
            select(Article)
            .where(col(Article.id).in_(list(ids)), col(Article.announce).is_(True))
            .order_by(col(Article.published), col(Article.id))
        )
    ).all()
    if not articles:
        return 0
    article_ids = [a.id for a in articles if a.id is not None]
    seen = await _routed(session, article_ids)
    sources = await chats_db.article_sources(session, list(ids))
    # Chats' own feeds: their owners get their articles, no one else gets an article that
    # only such feeds carried.
    owned = await owned_articles(session, article_ids)
    dialect = session.get_bind().dialect
    count = sent = 0
    async with subs.lock:
        index = await subs.current(session)
        # One article at a time: its rows (tens of thousands at 100,000 chats) are written
        # before the next one's are made, so memory stays bounded whatever the batch.
        for article in articles:
            # Matching, rendering and preparing the rows are CPU work: off the event loop,
            # so the bot stays responsive while a big pass is routed.
            matched, deliveries = await asyncio.to_thread(
                _plan_rows, dialect, [article], index, seen, sources, now=now, owned=owned
            )
            try:
                await insert_prepared(session, matched)
                await insert_prepared(session, deliveries)
            except Exception:
                subs.invalidate()  # a stale entry (a chat gone) fails every retry until rebuilt
                raise
            count += len(matched.params) if matched else 0
            sent += len(deliveries.params) if deliveries else 0
    if count:
        log.info("routed %d new match(es), %d instant deliveries", count, sent)
    return count


def _plan_rows(
    dialect: sa.Dialect,
    articles: Sequence[Article],
    index: SubscriptionIndex,
    seen: set[tuple[int, int]],
    sources: dict[int, str],
    *,
    now: datetime,
    owned: OwnedArticles,
) -> tuple[PreparedRows | None, PreparedRows | None]:
    """``_plan_routes``, as rows ready for the driver."""
    matched, deliveries = _plan_routes(articles, index, seen, sources, now, owned=owned)
    tables = SQLModel.metadata.tables
    return (
        prepare_rows(dialect, tables["chat_articles"], MATCH_COLUMNS, matched),
        prepare_rows(dialect, tables["deliveries"], DELIVERY_COLUMNS, deliveries),
    )


def _chats_for(index: SubscriptionIndex, article: Article, owned: OwnedArticles) -> list[Target]:
    """The chats an article goes to: those its topics and words match (unless only chats'
    own feeds carried it), and the chats following a feed that carried it (their topic
    filter passing). A chat found both ways is one target (routing skips what it has seen)."""
    assert article.id is not None  # loaded from the database
    topics = article.topics or []
    found: list[Target] = []
    if not owned.is_private(article.id):
        found = matching_chats(
            index, title=article.title, text=article.text, topics=topics, is_event=article.is_event
        )
    return found + [_owner_target(o) for o in owned.owners_of(article.id, topics)]


def _owner_target(owner: ArticleOwner) -> Target:
    return Target(
        owner.chat_id,
        owner.mode in DIGEST_MODES,
        owner.summary_sentences,
        owner.timezone,
        owner.thread_id,
        owner.language,
    )


def _plan_routes(
    articles: Sequence[Article],
    index: SubscriptionIndex,
    seen: set[tuple[int, int]],
    sources: dict[int, str],
    now: datetime,
    *,
    owned: OwnedArticles,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The new (chat, article) matches (MATCH_COLUMNS) and the instant deliveries they make
    (DELIVERY_COLUMNS); no I/O (``seen`` is updated with the new matches). Plain tuples:
    one article can make tens of thousands of rows."""
    rendered: dict[tuple[int, int, str, str | None], str] = {}
    matched: list[tuple[Any, ...]] = []
    deliveries: list[tuple[Any, ...]] = []
    for article in articles:
        assert article.id is not None  # loaded from the database
        article_id = article.id
        card: ArticleCard | None = None
        for target in _chats_for(index, article, owned):
            if (target.chat_id, article_id) in seen:
                continue
            seen.add((target.chat_id, article_id))
            matched.append((target.chat_id, article_id, now, target.digest))
            if target.digest:
                continue
            key = (article_id, target.sentences, target.timezone, target.language)
            if key not in rendered:
                card = card or card_from_article(article, source=sources.get(article_id, ""))
                rendered[key] = render_card(
                    card,
                    sentences=target.sentences,
                    tz=zone(target.timezone),
                    now=now,
                    tr=translator(target.language),
                )
            deliveries.append(
                _delivery_row(
                    target.chat_id,
                    target.thread_id,
                    "article",
                    rendered[key],
                    now=now,
                    article_id=article_id,
                )
            )
    return matched, deliveries


@dataclass(frozen=True, slots=True)
class _DigestChat:
    """What a digest needs of a chat (a plain row, not an ORM object)."""

    id: int
    mode: str
    digest_hour: int
    digest_weekday: int
    timezone: str
    last_digest_at: datetime | None
    summary_sentences: int
    thread_id: int | None
    language: str | None


async def send_due_digests(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    """Enqueue the digests that are due; returns how many delivery rows were created.

    A chat's slot is consumed even when nothing is pending, so an article matched later in
    the same slot waits for the next digest instead of triggering one at once. A chat back
    in instant mode with matches still pending gets them once as a catch-up digest.

    Candidate chats are read DIGEST_SCAN at a time (by id) as plain rows and handled
    DIGEST_BATCH per transaction, and at most CARD_CACHE cards are kept: memory stays
    bounded whatever the number of chats.
    """
    cards: dict[int, ArticleCard] = {}
    created = 0
    after: int | None = None
    while True:
        async with sessions() as session:
            candidates = await _digest_candidates(session, after=after)
        if not candidates:
            return created
        after = candidates[-1].id
        due = [chat for chat in candidates if _is_due(chat, now)]
        for batch in _chunks(due, DIGEST_BATCH):
            if len(cards) > CARD_CACHE:
                cards.clear()
            async with sessions() as session, session.begin():
                created += await _send_digests(session, batch, cards, now=now)
        if len(candidates) < DIGEST_SCAN:
            return created


async def _digest_candidates(session: AsyncSession, *, after: int | None) -> list[_DigestChat]:
    """The next DIGEST_SCAN chats (by id, past ``after``) that may have a digest due."""
    pending_chats = select(ChatArticle.chat_id).where(col(ChatArticle.pending_digest).is_(True))
    query = (
        sa.select(
            col(Chat.id),
            col(Chat.mode),
            col(Chat.digest_hour),
            col(Chat.digest_weekday),
            col(Chat.timezone),
            col(Chat.last_digest_at),
            col(Chat.summary_sentences),
            col(Chat.thread_id),
            col(Chat.language),
        )
        .where(
            col(Chat.active).is_(True),
            col(Chat.paused).is_(False),
            sa.or_(col(Chat.mode).in_(DIGEST_MODES), col(Chat.id).in_(pending_chats)),
        )
        .order_by(col(Chat.id))
        .limit(DIGEST_SCAN)
    )
    if after is not None:
        query = query.where(col(Chat.id) > after)
    connection = await session.connection()
    return [_DigestChat(*row) for row in (await connection.execute(query)).all()]


def _is_due(chat: _DigestChat, now: datetime) -> bool:
    if chat.mode not in DIGEST_MODES:
        return True  # a catch-up: it is a candidate only because matches are pending
    return digest_due(
        mode=chat.mode,
        digest_hour=chat.digest_hour,
        digest_weekday=chat.digest_weekday,
        timezone=chat.timezone,
        last_digest_at=chat.last_digest_at,
        now=now,
    )


async def _send_digests(
    session: AsyncSession,
    chats: Sequence[_DigestChat],
    cards: dict[int, ArticleCard],
    *,
    now: datetime,
) -> int:
    """One transaction for a batch of due chats; ``cards`` is shared across batches."""
    chat_ids = [chat.id for chat in chats]
    pending: dict[int, list[tuple[int, int]]] = {}  # chat -> (ChatArticle.id, article id)
    for chat_ids_part in _chunks(chat_ids, IN_CHUNK):
        result = await session.exec(
            select(ChatArticle.id, ChatArticle.chat_id, ChatArticle.article_id).where(
                col(ChatArticle.chat_id).in_(chat_ids_part),
                col(ChatArticle.pending_digest).is_(True),
            )
        )
        for row_id, chat_id, article_id in result.all():
            assert row_id is not None  # loaded from the database
            pending.setdefault(chat_id, []).append((row_id, article_id))
    await _load_cards(session, {a for rows in pending.values() for _, a in rows}, cards)

    deliveries: list[tuple[Any, ...]] = []
    cleared: list[int] = []
    for chat in chats:
        rows = pending.get(chat.id, [])
        chosen = sorted(
            (cards[a] for _, a in rows if a in cards),
            key=lambda c: (c.published, c.id),
            reverse=True,
        )[:MAX_DIGEST_ARTICLES]
        try:
            messages = render_digest(
                chosen,
                period=chat.mode if chat.mode in DIGEST_MODES else CATCH_UP_PERIOD,
                sentences=chat.summary_sentences,
                tz=zone(chat.timezone),
                now=now,
                tr=translator(chat.language),
            )
        except Exception:
            # One chat's bad data must not stop everyone else's digest; its matches stay
            # pending and are retried at its next slot.
            log.exception("digest for chat %s failed", chat.id)
            continue
        deliveries += [
            _delivery_row(chat.id, chat.thread_id, "digest", text, now=now) for text in messages
        ]
        cleared += [row_id for row_id, _ in rows]
        if len(rows) > len(chosen):
            log.info("digest for chat %s: the newest %d of %d", chat.id, len(chosen), len(rows))

    for part in _chunks(cleared, IN_CHUNK):
        await session.exec(
            sa.update(ChatArticle).where(col(ChatArticle.id).in_(part)).values(pending_digest=False)
        )
    slots = [chat.id for chat in chats if chat.mode in DIGEST_MODES]
    for part in _chunks(slots, IN_CHUNK):
        await session.exec(sa.update(Chat).where(col(Chat.id).in_(part)).values(last_digest_at=now))
    table = SQLModel.metadata.tables["deliveries"]
    dialect = session.get_bind().dialect
    await insert_prepared(session, prepare_rows(dialect, table, DELIVERY_COLUMNS, deliveries))
    return len(deliveries)


async def _load_cards(
    session: AsyncSession, article_ids: set[int], cards: dict[int, ArticleCard]
) -> None:
    missing = sorted(article_ids - cards.keys())
    for part in _chunks(missing, IN_CHUNK):
        articles = (await session.exec(select(Article).where(col(Article.id).in_(part)))).all()
        sources = await chats_db.article_sources(session, part)
        for article in articles:
            assert article.id is not None  # loaded from the database
            cards[article.id] = card_from_article(article, source=sources.get(article.id, ""))
            # The text is only needed once per card: let it go before the next chunk.
            session.expunge(article)


def _delivery_row(
    chat_id: int,
    thread_id: int | None,
    kind: str,
    text: str,
    *,
    now: datetime,
    article_id: int | None = None,
) -> tuple[Any, ...]:
    """A pending delivery, in DELIVERY_COLUMNS order."""
    digest = kind == "digest"
    return (chat_id, kind, article_id, text, digest, thread_id, "pending", 0, now, now)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _routed(session: AsyncSession, article_ids: Sequence[int]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for part in _chunks(article_ids, IN_CHUNK):
        rows = await session.exec(
            select(ChatArticle.chat_id, ChatArticle.article_id).where(
                col(ChatArticle.article_id).in_(part)
            )
        )
        found.update((chat_id, article_id) for chat_id, article_id in rows.all())
    return found
