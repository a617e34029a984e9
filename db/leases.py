"""Feed leases: which ingest worker polls a feed now, so several workers on one PostgreSQL
never poll a feed twice at once and a dead worker's feeds are taken over.

A worker claims a bounded batch of due feeds (``claim_feeds``): ``SELECT … FOR UPDATE SKIP
LOCKED`` (rows another worker is claiming at that moment are skipped, not waited for), then
``lease_owner``/``lease_until`` are set in the same transaction. While it polls them it
extends the lease (``renew_leases``); when they are done it releases them
(``release_leases``), after their next check was written. A worker killed mid-pass leaves
its leases to expire: then ``lease_state`` says EXPIRED and any worker claims the feed.

On SQLite (one process) the same statements run, SKIP LOCKED aside (SQLite has no row
locks: its dialect leaves the clause out), and the leases are trivially this process's.

``lease_state`` is the pure rule; ``claimable_clause`` is the same rule as SQL, so a claim
can filter and limit in the database. Records out are plain ``FeedRow`` values.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Feed
from db.queries import FeedRow

# Ids per IN (...) list: well under every backend's bound-parameter limit.
IN_CHUNK = 500
OWNER_WIDTH = 100  # feeds.lease_owner


class LeaseState(StrEnum):
    FREE = "free"  # nobody polls the feed
    MINE = "mine"  # this worker polls it, and its lease holds
    HELD = "held"  # another worker polls it, and its lease holds
    EXPIRED = "expired"  # its worker did not finish in time (died, or stuck): free to take


def lease_state(owner: str | None, until: datetime | None, *, me: str, now: datetime) -> LeaseState:
    """What a feed's lease means to worker ``me`` at ``now``. A lease ends at ``until``
    exactly; an expired lease is nobody's, its old owner's included (it may have been
    taken over)."""
    if owner is None or until is None:
        return LeaseState.FREE
    if until <= now:
        return LeaseState.EXPIRED
    return LeaseState.MINE if owner == me else LeaseState.HELD


def is_claimable(state: LeaseState) -> bool:
    """A worker claims only what no live lease covers (its own included: it has it)."""
    return state in (LeaseState.FREE, LeaseState.EXPIRED)


def claimable_clause(now: datetime) -> sa.ColumnElement[bool]:
    """``is_claimable(lease_state(...))`` as SQL, for the claim's WHERE."""
    return sa.or_(
        col(Feed.lease_owner).is_(None),
        col(Feed.lease_until).is_(None),
        col(Feed.lease_until) <= now,
    )


def new_owner() -> str:
    """A fresh name for ``lease_owner``: host and pid (to find it in ``ps``), and a random
    part (a pid is reused after a restart, a lease must not be)."""
    name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    return name[:OWNER_WIDTH]


def process_owner() -> str:
    """This process's name in ``lease_owner``, the same for every ingestor in it (so two
    never take each other's feeds for a dead predecessor's)."""
    return _owner_of(os.getpid())


@cache
def _owner_of(_pid: int) -> str:
    return new_owner()


def is_dead_neighbour(owner: str, *, me: str, alive: Callable[[int], bool]) -> bool:
    """Whether ``owner`` was a process on this worker's host that is gone: its pid is not
    ``alive``, or is this process's own under another name (a restarted container keeps its
    host name and often its pid). Another host's owners, and names not made by
    ``new_owner``, are never judged: their leases expire."""
    host, _, rest = owner.partition(":")
    pid, _, _random = rest.partition(":")
    my_host, _, my_rest = me.partition(":")
    if host != my_host or not pid.isdigit() or owner == me:
        return False
    return pid == my_rest.partition(":")[0] or not alive(int(pid))


async def claim_feeds(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int | None = None,
    include_all: bool = False,
) -> list[FeedRow]:
    """Lease up to ``limit`` (None: every) enabled feeds that are due (every enabled one
    with ``include_all``) and claimable, oldest next check first, to ``owner`` until
    ``now + lease``. The caller commits: the rows stay locked until then."""
    # The columns a poll needs as plain rows, not ORM objects: an all-304 pass claims
    # 10,000 feeds, and building (and tracking) a Feed each was a visible part of its CPU.
    t = SQLModel.metadata.tables["feeds"]
    query = sa.select(
        t.c.id,
        t.c.url,
        t.c.etag,
        t.c.last_modified,
        t.c.ttl_seconds,
        t.c.consecutive_errors,
        t.c.last_success,
        t.c.title,
        t.c.site_url,
        t.c.topics,
        t.c.lease_owner,
        t.c.lease_until,
    ).where(t.c.enabled.is_(True), claimable_clause(now))
    if not include_all:
        query = query.where(sa.or_(t.c.next_check.is_(None), t.c.next_check <= now))
    query = query.order_by(t.c.next_check, t.c.id).limit(limit)
    connection = await session.connection()
    found = (await connection.execute(query.with_for_update(skip_locked=True))).all()
    rows = [
        FeedRow(*row[:9], tuple(row[9] or ()))  # the columns above, in FeedRow's order
        for row in found
        if is_claimable(lease_state(row[10], row[11], me=owner, now=now))
    ]
    await _set_lease(session, [r.id for r in rows], owner=owner, until=now + lease)
    return rows


async def renew_leases(
    session: AsyncSession, feed_ids: Sequence[int], *, owner: str, until: datetime
) -> int:
    """Extend ``owner``'s leases on these feeds to ``until``; returns how many it still had
    (a lease that expired and was taken over is not taken back)."""
    return await _set_lease(session, feed_ids, owner=owner, until=until, only_owner=owner)


async def release_leases(session: AsyncSession, feed_ids: Sequence[int], *, owner: str) -> int:
    """End ``owner``'s leases on these feeds (their next check is written by then)."""
    return await _set_lease(session, feed_ids, owner=None, until=None, only_owner=owner)


async def end_dead_neighbours(
    session: AsyncSession, *, me: str, now: datetime, alive: Callable[[int], bool]
) -> int:
    """End the live leases of this host's dead processes (``is_dead_neighbour``), so a
    worker restarted after a crash (``kill -9``, the OOM killer) polls their feeds at once
    instead of after the leases expire; returns how many leases ended."""
    held = select(Feed.lease_owner).where(col(Feed.lease_until) > now).distinct()
    owners = [o for o in (await session.exec(held)).all() if o is not None]
    dead = [o for o in owners if is_dead_neighbour(o, me=me, alive=alive)]
    if not dead:
        return 0
    feeds = SQLModel.metadata.tables["feeds"]
    result = await session.exec(
        feeds.update()
        .where(feeds.c.lease_owner.in_(dead))
        .values(lease_owner=None, lease_until=None)
    )
    return int(result.rowcount)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


async def next_claim_time(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the next enabled feed can be claimed: its next check, or for a feed another
    worker holds, the end of that lease (whichever it turns out to be, a worker waking then
    finds out). None without enabled feeds."""
    leased = sa.and_(col(Feed.lease_until).is_not(None), col(Feed.lease_until) > now)
    when = sa.case((leased, col(Feed.lease_until)), else_=col(Feed.next_check))
    query = select(sa.func.min(when)).where(col(Feed.enabled).is_(True))
    result: datetime | None = (await session.exec(query)).one()
    # func.min over a CASE loses the column type on some backends: normalise to aware UTC.
    if isinstance(result, str):
        result = datetime.fromisoformat(result)
    if result is not None and result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result


async def _set_lease(
    session: AsyncSession,
    feed_ids: Sequence[int],
    *,
    owner: str | None,
    until: datetime | None,
    only_owner: str | None = None,
) -> int:
    feeds = SQLModel.metadata.tables["feeds"]
    stamp = sa.bindparam("b_until", until, type_=feeds.c.lease_until.type)
    changed = 0
    ids = list(feed_ids)
    for start in range(0, len(ids), IN_CHUNK):
        update = feeds.update().where(feeds.c.id.in_(ids[start : start + IN_CHUNK]))
        if only_owner is not None:
            update = update.where(feeds.c.lease_owner == only_owner)
        result = await session.exec(update.values(lease_owner=owner, lease_until=stamp))
        changed += result.rowcount
    return changed
