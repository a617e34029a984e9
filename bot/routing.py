"""Routing: turning new articles into routes, routes into instant deliveries at sending
pace, and due digests into digest deliveries.

``route_pending`` routes what the database says is stored and not routed yet
(``articles.routed_at`` NULL), oldest first: the chats an article is for, found in the live
subscription index (``bot.subscribers``, ``bot.subindex``) as Roaring bitmaps of chat slots,
become one ``routes`` row (``db.routes``) holding the slots of instant-mode chats and those
of digest-mode chats. One row an article whatever the number of chats (100,000 chats made
~26,000 rows an article before: the writes were ~all of routing's time). The route and the
article's ``routed_at`` are written in one transaction, so an article is routed exactly
once whatever stops the process: a crash before the commit leaves it queued, after it
leaves nothing to do. The ingest shell calls it as each feed's articles are stored and at
the start and end of every pass. ``route_articles`` routes given articles (and marks them
routed).

``fan_out`` turns routes' instant slots into delivery rows (the rendered card, the rows
the outbox has always sent) at the pace they are sent: Telegram takes ~30 messages a
second, so the outbox asks for more when few article rows are pending
(``fan_out_below``). It takes the oldest routes with slots left, resolves the next slots
to chats (their settings now; a chat gone, inactive or newer than the route is skipped),
renders each distinct card once, and writes the rows and the route's new ``fanned`` in one
transaction: each slot fanned out once, whatever stops it.

``send_due_digests`` turns the digest slots of the routes after each due chat's
``digest_cursor`` into digest deliveries. All are idempotent; the caller wakes the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from pyroaring import BitMap
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digests import DIGEST_MODES, digest_due, zone
from bot.feedowners import OwnedArticles, owned_articles
from bot.i18n import translator
from bot.render import ArticleCard, card_from_article, render_card, render_digest
from bot.subindex import SubscriptionIndex, matching_slots
from bot.subscribers import Subscribers, subscribers
from db import articles as articles_db
from db import chats as chats_db
from db import outbox
from db import routes as routes_db
from db.bulk import PreparedRows, insert_prepared, prepare_rows
from db.engine import transaction
from db.models import Article, Chat
from db.routes import ArticleToRoute, NewRoute, RouteRecord, SlotChat

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
# Routes read per query for digests.
ROUTE_PAGE = 500
# Routes are kept this long once fanned out: the longest digest period and a day. A chat
# paused longer gets at most the matches of this last stretch.
ROUTE_KEEP = timedelta(days=8)

# Articles routed per transaction, at most; and matches per transaction, roughly (one
# route row an article: the matches only size the work of matching).
ROUTE_BATCH = 200
ROUTE_ROWS = 20_000
# Delivery rows made per fan-out transaction, and the pending article rows below which
# the outbox asks for more (minutes of sending at Telegram's rate).
FAN_OUT_BATCH = 1000
FAN_OUT_WATERMARK = 2000
# Routes looked at per fan-out transaction.
FAN_OUT_ROUTES = 50
# The columns of the rows routing writes.
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
    and articles routed before are skipped.
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
    articles = await routes_db.articles_to_route(session, ids)
    if not articles:
        return 0
    # Chats' own feeds: their owners get their articles, no one else gets an article that
    # only such feeds carried.
    owned = await owned_articles(session, [a.id for a in articles])
    async with subs.lock:
        index = await subs.current(session)
        # Matching is CPU work: off the event loop, so the bot stays responsive.
        planned = await asyncio.to_thread(_plan_routes, articles, index, owned)
    await routes_db.insert_routes(session, planned, now=now)
    count = sum(len(r.instant) + len(r.digest) for r in planned)
    if count:
        log.info("routed %d article(s) to %d chat(s) in all", len(planned), count)
    return count


def _plan_routes(
    articles: Sequence[ArticleToRoute], index: SubscriptionIndex, owned: OwnedArticles
) -> list[NewRoute]:
    """The routes of these articles (those matching no chat left out); no I/O. A chat
    found by its subscriptions and by its own feed is one bit."""
    planned: list[NewRoute] = []
    for article in articles:
        topics = article.topics
        found = BitMap()
        if not owned.is_private(article.id):
            found = matching_slots(
                index,
                title=article.title,
                text=article.text,
                topics=topics,
                is_event=article.is_event,
            )
        instant, digest = found - index.digest, found & index.digest
        for owner in owned.owners_of(article.id, topics):
            if owner.mode in DIGEST_MODES:
                digest.add(owner.slot)
                instant.discard(owner.slot)
            else:
                instant.add(owner.slot)
                digest.discard(owner.slot)
        if instant or digest:
            planned.append(NewRoute(article.id, instant, digest))
    return planned


async def fan_out_below(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    watermark: int = FAN_OUT_WATERMARK,
) -> int:
    """Fan out routes' instant slots while fewer than ``watermark`` article rows are
    pending; returns how many delivery rows were made."""
    async with sessions() as session:
        if not await routes_db.any_unfanned(session):
            return 0
        pending = await outbox.pending_article_count(session)
    if pending >= watermark:
        return 0
    return await fan_out(sessions, now=now, limit=watermark - pending)


async def fan_out(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, limit: int = FAN_OUT_BATCH
) -> int:
    """Write the delivery rows of up to ``limit`` instant slots of the oldest routes (in
    transactions of FAN_OUT_BATCH); returns how many rows were made (a slot whose chat is
    gone, inactive or newer than the route makes none)."""
    made = 0
    while limit > 0:
        budget = min(limit, FAN_OUT_BATCH)
        async with transaction(sessions) as session:
            used, rows = await _fan_out_once(session, budget, now=now)
        made += rows
        if used < budget:
            return made
        limit -= used
    return made


async def _fan_out_once(session: AsyncSession, budget: int, *, now: datetime) -> tuple[int, int]:
    """One fan-out transaction: (slots consumed, rows made)."""
    taken: list[tuple[RouteRecord, BitMap]] = []
    wanted = budget
    for route in await routes_db.unfanned_routes(session, limit=FAN_OUT_ROUTES):
        if wanted <= 0:
            break
        slots = route.instant[route.fanned : route.fanned + wanted]
        taken.append((route, slots))
        wanted -= len(slots)
    # The articles' cards, read together (not one article and its source per route).
    cards: dict[int, ArticleCard] = {}
    await _load_cards(session, {route.article_id for route, _ in taken}, cards)
    used = made = 0
    dialect = session.get_bind().dialect
    for route, slots in taken:
        chats = await routes_db.slot_chats(session, list(slots), routed_at=route.created_at)
        card = cards.get(route.article_id)
        prepared = None
        if card is not None:
            prepared = await asyncio.to_thread(
                _plan_deliveries, dialect, card, route, slots=slots, chats=chats, now=now
            )
        if not await routes_db.advance_fanned(
            session, route.id, old=route.fanned, new=route.fanned + len(slots)
        ):
            break  # another fan-out took these slots first
        await insert_prepared(session, prepared)
        used += len(slots)
        made += len(prepared.params) if prepared else 0
    return used, made


def _plan_deliveries(
    dialect: sa.Dialect,
    card: ArticleCard,
    route: RouteRecord,
    *,
    slots: BitMap,
    chats: dict[int, SlotChat],
    now: datetime,
) -> PreparedRows | None:
    """The delivery rows of these slots of a route, ready for the driver; no I/O. Each
    distinct card (length, time zone, language) is rendered once."""
    rendered: dict[tuple[int, str, str | None], str | None] = {}
    rows: list[tuple[Any, ...]] = []
    for slot in slots:
        chat = chats.get(slot)
        if chat is None or not chat.active:
            continue
        key = (chat.summary_sentences, chat.timezone, chat.language)
        if key not in rendered:
            try:
                rendered[key] = render_card(
                    card,
                    sentences=chat.summary_sentences,
                    tz=zone(chat.timezone),
                    now=route.created_at,
                    tr=translator(chat.language),
                )
            except Exception:
                # Bad data must not hold up every route behind this one: skipped, logged.
                log.exception("card of article %s for settings %s failed", card.id, key)
                rendered[key] = None
        text = rendered[key]
        if text is None:
            continue
        row = _delivery_row(
            chat.chat_id, chat.thread_id, "article", text, now=now, article_id=card.id
        )
        rows.append(row)
    return prepare_rows(dialect, SQLModel.metadata.tables["deliveries"], DELIVERY_COLUMNS, rows)


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
    slot: int
    digest_cursor: int
    created_at: datetime


async def send_due_digests(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    """Enqueue the digests that are due; returns how many delivery rows were created.

    A chat's slot is consumed even when nothing is pending, so an article matched later in
    the same slot waits for the next digest instead of triggering one at once. A chat back
    in instant mode (``catch_up``) with matches still pending gets them once as a catch-up
    digest. A chat's pending matches are the routes after its ``digest_cursor`` whose
    digest bitmap holds its slot.

    Candidate chats are read DIGEST_SCAN at a time (by id) as plain rows; the routes since
    the oldest cursor among the due ones are read once for them, ROUTE_PAGE at a time, and
    ANDed with their slots; digests are written DIGEST_BATCH chats per transaction, and at
    most CARD_CACHE cards are kept: memory stays bounded whatever the number of chats.
    Routes fanned out and older than ROUTE_KEEP are dropped first.
    """
    async with transaction(sessions) as session:
        await routes_db.prune_routes(session, before=now - ROUTE_KEEP)
    cards: dict[int, ArticleCard] = {}
    created = 0
    after: int | None = None
    while True:
        pending: dict[int, list[int]] = {}
        head = 0
        async with sessions() as session:
            candidates = await _digest_candidates(session, after=after)
        if not candidates:
            return created
        after = candidates[-1].id
        due = [chat for chat in candidates if _is_due(chat, now)]
        if due:
            async with sessions() as session:
                pending, head = await _pending_digests(session, due)
        for batch in _chunks(due, DIGEST_BATCH):
            if len(cards) > CARD_CACHE:
                cards.clear()
            async with sessions() as session, session.begin():
                created += await _send_digests(session, batch, pending, head, cards, now=now)
        if len(candidates) < DIGEST_SCAN:
            return created


async def _digest_candidates(session: AsyncSession, *, after: int | None) -> list[_DigestChat]:
    """The next DIGEST_SCAN chats (by id, past ``after``) that may have a digest due."""
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
            Chat.__table__.c.slot,  # type: ignore[attr-defined]  # set by every INSERT: an int
            col(Chat.digest_cursor),
            col(Chat.created_at),
        )
        .where(
            col(Chat.active).is_(True),
            col(Chat.paused).is_(False),
            sa.or_(col(Chat.mode).in_(DIGEST_MODES), col(Chat.catch_up).is_(True)),
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
        return True  # a catch-up: it is a candidate only because matches may be pending
    return digest_due(
        mode=chat.mode,
        digest_hour=chat.digest_hour,
        digest_weekday=chat.digest_weekday,
        timezone=chat.timezone,
        last_digest_at=chat.last_digest_at,
        now=now,
    )


async def _pending_digests(
    session: AsyncSession, chats: Sequence[_DigestChat]
) -> tuple[dict[int, list[int]], int]:
    """The article ids pending for each of these chats (by slot), and the newest route id
    they were read up to (the chats' cursor once their digest is made)."""
    head = await routes_db.newest_route_id(session)
    after = min(chat.digest_cursor for chat in chats)
    wanted = BitMap(chat.slot for chat in chats)
    since = {chat.slot: (chat.digest_cursor, chat.created_at) for chat in chats}
    pending: dict[int, list[int]] = {}
    while after < head:
        page = await routes_db.digest_routes(session, after=after, upto=head, limit=ROUTE_PAGE)
        await asyncio.to_thread(_collect_pending, page, wanted, since, pending)
        if len(page) < ROUTE_PAGE:
            break
        after = page[-1].id
    return pending, head


def _collect_pending(
    routes: Sequence[routes_db.DigestRoute],
    wanted: BitMap,
    since: dict[int, tuple[int, datetime]],
    pending: dict[int, list[int]],
) -> None:
    for route in routes:
        for slot in route.digest & wanted:
            cursor, created_at = since[slot]
            # A slot is a chat's only for routes made since the chat was (slots are reused).
            if route.id > cursor and route.created_at >= created_at:
                pending.setdefault(slot, []).append(route.article_id)


async def _send_digests(
    session: AsyncSession,
    chats: Sequence[_DigestChat],
    pending: dict[int, list[int]],
    head: int,
    cards: dict[int, ArticleCard],
    *,
    now: datetime,
) -> int:
    """One transaction for a batch of due chats; ``cards`` is shared across batches."""
    await _load_cards(session, {a for chat in chats for a in pending.get(chat.slot, ())}, cards)
    # Rendering is most of a digest's cost (100,000 chats: ~20 s of CPU): off the event loop.
    deliveries, done = await asyncio.to_thread(_plan_digests, chats, pending, cards, now=now)

    chats_table = SQLModel.metadata.tables["chats"]
    for part in _chunks(done, IN_CHUNK):
        await session.exec(
            chats_table.update()
            .where(chats_table.c.id.in_(part), chats_table.c.digest_cursor < head)
            .values(digest_cursor=head)
        )
        await session.exec(
            chats_table.update()
            .where(chats_table.c.id.in_(part), chats_table.c.catch_up.is_(True))
            .values(catch_up=False)
        )
    slots = [chat.id for chat in chats if chat.mode in DIGEST_MODES]
    for part in _chunks(slots, IN_CHUNK):
        await session.exec(sa.update(Chat).where(col(Chat.id).in_(part)).values(last_digest_at=now))
    table = SQLModel.metadata.tables["deliveries"]
    dialect = session.get_bind().dialect
    await insert_prepared(session, prepare_rows(dialect, table, DELIVERY_COLUMNS, deliveries))
    return len(deliveries)


def _plan_digests(
    chats: Sequence[_DigestChat],
    pending: dict[int, list[int]],
    cards: dict[int, ArticleCard],
    *,
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The digest deliveries of these chats (DELIVERY_COLUMNS) and the chats they cover;
    no I/O. A chat whose digest fails to render is left out (logged)."""
    deliveries: list[tuple[Any, ...]] = []
    done: list[int] = []
    for chat in chats:
        articles = pending.get(chat.slot, [])
        chosen = sorted(
            (cards[a] for a in articles if a in cards),
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
            # pending (its cursor unmoved) and are retried at its next slot.
            log.exception("digest for chat %s failed", chat.id)
            continue
        deliveries += [
            _delivery_row(chat.id, chat.thread_id, "digest", text, now=now) for text in messages
        ]
        done.append(chat.id)
        if len(articles) > len(chosen):
            log.info("digest for chat %s: the newest %d of %d", chat.id, len(chosen), len(articles))
    return deliveries, done


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
