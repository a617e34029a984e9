"""Heartbeats: what each running process last said about itself (the ``heartbeats`` table),
and the outbox figures a health check reads beside them. Plain records in and out.

A process writes one upsert per beat (``record_start``, ``record_pass``, ``record_outbox``)
and drops the rows of processes long gone (``forget_before``);
``sciforum health`` reads through a plain sync connection (``read_status``), so that command
loads SQLAlchemy's core alone: the tables here are lightweight ``sa.table`` views of
db.models' (no SQLModel import), and times are converted to and from naive UTC by hand as
``db.models.UTCDateTime`` does. The async writers run the same sync code in the session's
connection (``run_sync``), so there is one implementation of each statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlmodel.ext.asyncio.session import AsyncSession

_TIMES = (
    "started_at",
    "updated_at",
    "pass_started_at",
    "pass_finished_at",
    "last_sent_at",
)
_COUNTS = (
    "pid",
    "pass_checked",
    "pass_not_modified",
    "pass_failed",
    "pass_new",
    "pass_routed",
    "pass_errors",
    "outbox_depth",
)
_HEARTBEATS = sa.table(
    "heartbeats",
    sa.column("host", sa.String),
    sa.column("role", sa.String),
    *(sa.column(name, sa.DateTime) for name in _TIMES),
    *(sa.column(name, sa.Integer) for name in _COUNTS),
)
_DELIVERIES = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("chat_id", sa.BigInteger),
    sa.column("status", sa.String),
    sa.column("next_attempt_at", sa.DateTime),
)
_CHATS = sa.table("chats", sa.column("id", sa.BigInteger), sa.column("active", sa.Boolean))
_ROUTES = sa.table(
    "routes", sa.column("instant_count", sa.Integer), sa.column("fanned", sa.Integer)
)
_PENDING = "pending"  # db.outbox.PENDING (not imported: that module loads SQLModel)


@dataclass(frozen=True, slots=True)
class Process:
    """Who beats: a heartbeat row's key (host, role) and the process's id."""

    host: str
    role: str
    pid: int


@dataclass(frozen=True, slots=True)
class HeartbeatRow:
    """One process's heartbeat (times aware UTC; None: not known yet)."""

    host: str
    role: str
    pid: int
    started_at: datetime
    updated_at: datetime
    pass_started_at: datetime | None = None
    pass_finished_at: datetime | None = None
    pass_checked: int | None = None
    pass_not_modified: int | None = None
    pass_failed: int | None = None
    pass_new: int | None = None
    pass_routed: int | None = None
    pass_errors: int | None = None
    last_sent_at: datetime | None = None
    outbox_depth: int | None = None


@dataclass(frozen=True, slots=True)
class PassCounts:
    """What an ingest pass came to, as the heartbeat keeps it."""

    checked: int
    not_modified: int
    failed: int
    new: int
    routed: int
    errors: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """The outbox as a health check sees it: rows pending for active chats, and since when
    the oldest row that could be sent now (the head of its chat's queue, due) has waited."""

    pending: int
    oldest_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class Status:
    beats: tuple[HeartbeatRow, ...]
    backlog: Backlog


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- writing


def _upsert(
    connection: sa.Connection, process: Process, values: dict[str, Any], *, now: datetime
) -> None:
    """Insert the row of ``key`` or update the given columns of it. A row first made by a
    pass or an outbox beat (its start was not recorded) starts now; a send time never
    goes back to None (a new process has not sent yet: the last send still stands)."""
    stored = {
        name: _naive(value) if isinstance(value, datetime) else value
        for name, value in {**values, "pid": process.pid, "updated_at": now}.items()
    }
    # The same upsert in each dialect's words (ON CONFLICT DO UPDATE on both).
    stmt: Any
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        stmt = postgresql.insert(_HEARTBEATS)
    else:
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        stmt = sqlite.insert(_HEARTBEATS)
    stmt = stmt.values(
        host=process.host, role=process.role, **{"started_at": _naive(now), **stored}
    )
    update: dict[str, Any] = {name: stmt.excluded[name] for name in stored}
    if "last_sent_at" in update:
        update["last_sent_at"] = sa.func.coalesce(
            stmt.excluded.last_sent_at, _HEARTBEATS.c.last_sent_at
        )
    connection.execute(stmt.on_conflict_do_update(index_elements=["host", "role"], set_=update))


async def _write(
    session: AsyncSession, process: Process, values: dict[str, Any], *, now: datetime
) -> None:
    def write(sync: Session) -> None:
        _upsert(sync.connection(), process, values, now=now)

    await session.run_sync(write)


async def record_start(session: AsyncSession, process: Process, *, now: datetime) -> None:
    """A process (re)started: its pid and start time; the last pass and send are kept."""
    await _write(session, process, {"started_at": now}, now=now)


async def forget_before(session: AsyncSession, moment: datetime) -> int:
    """Delete the heartbeats not written since ``moment`` (processes long gone: each new
    container has a new host name); how many."""

    def forget(sync: Session) -> int:
        stmt = _HEARTBEATS.delete().where(_HEARTBEATS.c.updated_at < _naive(moment))
        return int(sync.connection().execute(stmt).rowcount)

    return await session.run_sync(forget)


async def record_pass(
    session: AsyncSession,
    process: Process,
    *,
    started: datetime,
    finished: datetime,
    counts: PassCounts,
) -> None:
    values = {
        "pass_started_at": started,
        "pass_finished_at": finished,
        "pass_checked": counts.checked,
        "pass_not_modified": counts.not_modified,
        "pass_failed": counts.failed,
        "pass_new": counts.new,
        "pass_routed": counts.routed,
        "pass_errors": counts.errors,
    }
    await _write(session, process, values, now=finished)


async def record_outbox(
    session: AsyncSession,
    process: Process,
    *,
    now: datetime,
    last_sent_at: datetime | None,
    depth: int | None,
) -> None:
    """A periodic beat: the process is alive; its outbox's last send and depth when it has one."""
    values: dict[str, Any] = {"last_sent_at": last_sent_at}
    if depth is not None:
        values["outbox_depth"] = depth
    await _write(session, process, values, now=now)


# --------------------------------------------------------------------------- reading


def _row(mapping: sa.RowMapping) -> HeartbeatRow:
    values: dict[str, Any] = dict(mapping)
    for name in _TIMES:
        values[name] = _aware(values[name])
    return HeartbeatRow(**values)


def read_heartbeats(connection: sa.Connection) -> tuple[HeartbeatRow, ...]:
    """Every heartbeat, freshest first."""
    stmt = sa.select(_HEARTBEATS).order_by(_HEARTBEATS.c.updated_at.desc())
    return tuple(_row(row) for row in connection.execute(stmt).mappings())


def read_backlog(connection: sa.Connection, *, now: datetime) -> Backlog:
    """The outbox's pending rows and its oldest sendable one (as ``db.outbox.due_deliveries``
    picks them: a row waiting behind its chat's head, which waits on a retry, is not stuck)."""
    d, c = _DELIVERIES, _CHATS
    earlier = d.alias("earlier")
    earlier_pending = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.chat_id == d.c.chat_id,
            earlier.c.status == _PENDING,
            earlier.c.id < d.c.id,
        )
        .exists()
    )
    oldest = connection.execute(
        sa.select(d.c.next_attempt_at)
        .select_from(d.join(c, c.c.id == d.c.chat_id))
        .where(
            d.c.status == _PENDING,
            d.c.next_attempt_at <= _naive(now),
            c.c.active.is_(True),
            ~earlier_pending,
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(1)
    ).scalar_one_or_none()
    return Backlog(pending=read_depth(connection), oldest_due_at=_aware(oldest))


def read_status(connection: sa.Connection, *, now: datetime) -> Status:
    """The heartbeats and the outbox backlog, for a health check; none of either when the
    schema predates heartbeats (no process of this version has run on the database)."""
    if not sa.inspect(connection).has_table("heartbeats"):
        return Status((), Backlog(pending=0, oldest_due_at=None))
    return Status(read_heartbeats(connection), read_backlog(connection, now=now))


async def load_status(session: AsyncSession, *, now: datetime) -> Status:
    """``read_status`` in an async session (the process's own /healthz)."""

    def read(sync: Session) -> Status:
        return read_status(sync.connection(), now=now)

    return await session.run_sync(read)


async def outbox_depth(session: AsyncSession) -> int:
    """Rows pending for active chats (the metrics gauge and the periodic beat)."""

    def read(sync: Session) -> int:
        return read_depth(sync.connection())

    return await session.run_sync(read)


def read_depth(connection: sa.Connection) -> int:
    """Rows pending for active chats, due or not, and routes' instant matches not fanned
    out into rows yet (bot.routing.fan_out)."""
    d, c, r = _DELIVERIES, _CHATS, _ROUTES
    rows = connection.execute(
        sa.select(sa.func.count())
        .select_from(d.join(c, c.c.id == d.c.chat_id))
        .where(d.c.status == _PENDING, c.c.active.is_(True))
    ).scalar_one()
    unfanned = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(r.c.instant_count - r.c.fanned), 0)).where(
            r.c.fanned < r.c.instant_count
        )
    ).scalar_one()
    return int(rows) + int(unfanned)
