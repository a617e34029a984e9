"""Route queries: the ``routes`` table, one row per routed article holding the slots
(``chats.slot``) of the chats it matched as serialized Roaring bitmaps (pyroaring), and the
chats behind slots.

Plain records out, no ORM objects kept: routing reads the articles it is to route
(``articles_to_route``) and writes routes, the fan-out reads the oldest
with instant slots left and advances ``fanned``, digests read the digest bitmaps after a
cursor, and ``matched_pairs`` answers "which (chat, article) pairs were matched" for tests,
benchmarks and tools without their decoding bitmaps. A slot resolves to a chat only if the
chat is no newer than the route (a slot may be reused on SQLite after its chat is deleted).

Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pyroaring import BitMap
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Route, UTCDateTime

# Slots and ids per IN (...) list.
IN_CHUNK = 500
# The PostgreSQL advisory lock serializing route inserts (any fixed 64-bit key).
_ROUTES_LOCK = 0x526F75746573


@dataclass(frozen=True, slots=True)
class NewRoute:
    """An article's matches, to be written as its route."""

    article_id: int
    instant: BitMap
    digest: BitMap


@dataclass(frozen=True, slots=True)
class ArticleToRoute:
    """What matching reads of an article."""

    id: int
    title: str
    text: str
    topics: tuple[str, ...]
    is_event: bool


@dataclass(frozen=True, slots=True)
class RouteRecord:
    id: int
    article_id: int
    created_at: datetime
    instant: BitMap
    fanned: int


@dataclass(frozen=True, slots=True)
class DigestRoute:
    id: int
    article_id: int
    created_at: datetime
    digest: BitMap


@dataclass(frozen=True, slots=True)
class SlotChat:
    """A chat behind a slot, with what its instant delivery needs."""

    slot: int
    chat_id: int
    created_at: datetime
    active: bool
    summary_sentences: int
    timezone: str
    thread_id: int | None
    language: str | None


def _routes() -> sa.Table:
    return SQLModel.metadata.tables["routes"]


def _chats() -> sa.Table:
    return SQLModel.metadata.tables["chats"]


def encode(slots: BitMap) -> bytes | None:
    """A bitmap as stored (None when empty)."""
    return bytes(slots.serialize()) if slots else None


def decode(stored: bytes | None) -> BitMap:
    return BitMap.deserialize(bytes(stored)) if stored else BitMap()


async def articles_to_route(
    session: AsyncSession, article_ids: Collection[int]
) -> list[ArticleToRoute]:
    """These articles, those to be announced and with no route yet, oldest first: what
    matching reads of them (plain rows, one query)."""
    articles = SQLModel.metadata.tables["articles"]
    routed = sa.exists().where(_routes().c.article_id == articles.c.id)
    query = (
        sa.select(
            articles.c.id,
            articles.c.title,
            articles.c.text,
            articles.c.topics,
            articles.c.is_event,
        )
        .where(
            articles.c.id.in_(sorted(set(article_ids))),
            articles.c.announce.is_(True),
            ~routed,
        )
        .order_by(articles.c.published, articles.c.id)
    )
    connection = await session.connection()
    return [
        ArticleToRoute(article_id, title, text, tuple(topics or ()), is_event)
        for article_id, title, text, topics, is_event in await connection.execute(query)
    ]


async def insert_routes(
    session: AsyncSession, routes: Sequence[NewRoute], *, now: datetime
) -> None:
    """Write routes (one row each: whatever the number of chats matched), in one
    statement."""
    if not routes:
        return
    rows = [
        {
            "article_id": r.article_id,
            "created_at": now,
            "instant": encode(r.instant),
            "instant_count": len(r.instant),
            "digest": encode(r.digest),
            "fanned": 0,
        }
        for r in routes
    ]
    table = _routes()
    connection = await session.connection()
    if session.get_bind().dialect.name != "postgresql":
        await connection.execute(sa.insert(table), rows)
        return
    # Route ids are digest cursors: they must become visible in id order, so a digest
    # never moves a cursor past a route still being committed by another process. The
    # lock is taken in the INSERT itself (no round trip of its own): its row is selected
    # from the lock's, so it gets no id before the lock is held. Bound parameters, typed
    # (a NULL bitmap is bytea), so the statement is compiled once.
    lock = sa.select(sa.func.pg_advisory_xact_lock(_ROUTES_LOCK).label("held")).cte("lock")
    names = list(rows[0])
    row = sa.select(
        *(sa.cast(sa.bindparam(n, type_=table.c[n].type), table.c[n].type) for n in names)
    )
    await connection.execute(sa.insert(table).from_select(names, row.select_from(lock)), rows)


async def unfanned_routes(session: AsyncSession, *, limit: int) -> list[RouteRecord]:
    """The oldest routes with instant slots that have no delivery row yet."""
    r = _routes()
    query = (
        sa.select(r.c.id, r.c.article_id, r.c.created_at, r.c.instant, r.c.fanned)
        .where(r.c.fanned < r.c.instant_count)
        .order_by(r.c.id)
        .limit(limit)
    )
    connection = await session.connection()
    return [
        RouteRecord(route_id, article_id, created_at, decode(instant), fanned)
        for route_id, article_id, created_at, instant, fanned in await connection.execute(query)
    ]


async def any_unfanned(session: AsyncSession) -> bool:
    """Whether some route has instant slots without a delivery row (its partial index
    answers; no bitmap read)."""
    r = _routes()
    query = sa.select(r.c.id).where(r.c.fanned < r.c.instant_count).limit(1)
    connection = await session.connection()
    return (await connection.execute(query)).first() is not None


async def advance_fanned(session: AsyncSession, route_id: int, *, old: int, new: int) -> bool:
    """Mark ``new`` instant slots of the route fanned out, if ``old`` were (another fan-out
    did not come first); True if so."""
    table = SQLModel.metadata.tables["routes"]
    result = await session.exec(
        table.update().where(table.c.id == route_id, table.c.fanned == old).values(fanned=new)
    )
    return bool(result.rowcount)


async def unfanned_count(session: AsyncSession) -> int:
    """Instant slots not fanned out yet (chats that became inactive since included)."""
    query = select(sa.func.coalesce(sa.func.sum(col(Route.instant_count) - col(Route.fanned)), 0))
    query = query.where(col(Route.fanned) < col(Route.instant_count))
    return int((await session.exec(query)).one())


async def slot_chats(
    session: AsyncSession, slots: Sequence[int], *, routed_at: datetime
) -> dict[int, SlotChat]:
    """The chats behind these slots that existed when the route was made, by slot."""
    found: dict[int, SlotChat] = {}
    connection = await session.connection()
    for start in range(0, len(slots), IN_CHUNK):
        c = _chats()
        query = sa.select(
            c.c.slot,
            c.c.id,
            c.c.created_at,
            c.c.active,
            c.c.summary_sentences,
            c.c.timezone,
            c.c.thread_id,
            c.c.language,
        ).where(
            c.c.slot.in_(list(slots[start : start + IN_CHUNK])),
            c.c.created_at <= sa.bindparam("b_at", routed_at, type_=UTCDateTime()),
        )
        for row in await connection.execute(query):
            found[row[0]] = SlotChat(*row)
    return found


async def digest_routes(
    session: AsyncSession, *, after: int, upto: int, limit: int
) -> list[DigestRoute]:
    """The next ``limit`` routes past ``after``, up to ``upto`` (by id), with digest
    slots."""
    r = _routes()
    query = (
        sa.select(r.c.id, r.c.article_id, r.c.created_at, r.c.digest)
        .where(r.c.id > after, r.c.id <= upto, r.c.digest.is_not(None))
        .order_by(r.c.id)
        .limit(limit)
    )
    connection = await session.connection()
    return [
        DigestRoute(route_id, article_id, created_at, decode(digest))
        for route_id, article_id, created_at, digest in await connection.execute(query)
    ]


async def newest_route_id(session: AsyncSession) -> int:
    query = sa.select(sa.func.coalesce(sa.func.max(_routes().c.id), 0))
    return int((await (await session.connection()).execute(query)).scalar_one())


async def prune_routes(session: AsyncSession, *, before: datetime) -> int:
    """Delete routes made before ``before`` whose instant slots are all fanned out; how
    many. A digest match older than that is dropped (a chat paused longer)."""
    table = SQLModel.metadata.tables["routes"]
    result = await session.exec(
        table.delete().where(
            table.c.created_at < sa.bindparam("b_before", before, type_=UTCDateTime()),
            table.c.fanned >= table.c.instant_count,
        )
    )
    return max(result.rowcount, 0)


async def matched_pairs(
    session: AsyncSession, article_ids: Collection[int] | None = None
) -> set[tuple[int, int, bool]]:
    """Every (chat id, article id, digest?) match the routes hold (of these articles), for
    chats that still exist and are no newer than the route."""
    query = sa.select(
        col(Route.article_id), col(Route.created_at), col(Route.instant), col(Route.digest)
    )
    if article_ids is not None:
        query = query.where(col(Route.article_id).in_(sorted(set(article_ids))))
    connection = await session.connection()
    routes = (await connection.execute(query)).all()
    slots = BitMap()
    for _, _, instant, digest in routes:
        slots |= decode(instant) | decode(digest)
    chats: dict[int, tuple[int, datetime]] = {}
    listed = list(slots)
    for start in range(0, len(listed), IN_CHUNK):
        c = _chats()
        rows = await connection.execute(
            sa.select(c.c.slot, c.c.id, c.c.created_at).where(
                c.c.slot.in_(listed[start : start + IN_CHUNK])
            )
        )
        chats.update((slot, (chat_id, created)) for slot, chat_id, created in rows)
    pairs: set[tuple[int, int, bool]] = set()
    for article_id, created_at, instant, digest in routes:
        for bits, is_digest in ((decode(instant), False), (decode(digest), True)):
            for slot in bits:
                chat = chats.get(slot)
                if chat is not None and chat[1] <= created_at:
                    pairs.add((chat[0], article_id, is_digest))
    return pairs
