"""Outbox queries: delivery rows (enqueue, pick due, mark), broadcasts and their progress,
and chat deactivation / migration on Telegram's answers.

``settle`` is the row rule book, pure: a row's status and attempts, what Telegram answered
and ``now`` in, the row's next state out (sent; retried later; given up after
``max_attempts``; a 429 flood wait not counted as an attempt; blocked; a row settled
meanwhile, e.g. cancelled, left alone unless the send went through). ``apply_change``
writes it.

Callers own the transaction (``async with sessions() as s, s.begin():``). Set-based work
(a broadcast to every chat, marking a batch sent, moving a chat) is one statement each, so
5,000 chats cost a handful of round trips, not 5,000.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import chatfeeds, routes
from db.errors import BroadcastNotFound
from db.models import Broadcast, Chat, ChatRule, ChatTopic, Delivery, UTCDateTime

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
BLOCKED = "blocked"
CANCELLED = "cancelled"

# Column widths in db.models; PostgreSQL refuses longer strings instead of truncating.
_ERROR_WIDTH = 500
_REASON_WIDTH = 300


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    total: int
    sent: int
    blocked: int
    failed: int
    pending: int
    cancelled: int


Answer = Literal["sent", "flood", "retry", "fail", "blocked"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one send came to, as the outbox classified Telegram's answer."""

    answer: Answer
    detail: str = ""
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class RowChange:
    """A delivery row's next state."""

    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None = None  # None: unchanged
    message_id: int | None = None
    sent_at: datetime | None = None


def settle(
    *,
    status: str,
    attempts: int,
    result: SendResult,
    now: datetime,
    retry_delay: float,
    max_attempts: int,
) -> RowChange | None:
    """The row's next state after a send (pure); None leaves the row as it is.

    ``retry_delay`` is the wait before the next try (the caller's backoff for this
    attempt). A confirmed send is recorded whatever the row's status: a row cancelled or
    blocked while its send was in flight did reach the chat. Anything else changes only a
    pending row. A flood wait (429) is Telegram pacing the bot, not the row's fault: no
    attempt is counted and the row stays due (the wait itself is paced in memory).
    """
    detail = _clip(result.detail, _ERROR_WIDTH) if result.detail else None
    if result.answer == "sent":
        return RowChange(SENT, attempts + 1, None, message_id=result.message_id, sent_at=now)
    if status != PENDING:
        return None
    if result.answer == "flood":
        return RowChange(PENDING, attempts, detail, next_attempt_at=now)
    if result.answer == "blocked":
        return RowChange(BLOCKED, attempts, detail)
    if result.answer == "retry" and attempts + 1 < max_attempts:
        later = now + timedelta(seconds=max(retry_delay, 0.0))
        return RowChange(PENDING, attempts + 1, detail, next_attempt_at=later)
    return RowChange(FAILED, attempts + 1, detail)


async def apply_change(
    session: AsyncSession, delivery_id: int, change: RowChange, *, expected_status: str
) -> bool:
    """Write ``settle``'s answer, if the row still has ``expected_status`` (a cancel or a
    block that came first wins, except over a confirmed send); True if it was written."""
    deliveries = _table("deliveries")
    values: dict[str, object] = {
        "status": change.status,
        "attempts": change.attempts,
        "last_error": change.last_error,
    }
    if change.next_attempt_at is not None:
        values["next_attempt_at"] = sa.bindparam(
            "b_next", change.next_attempt_at, type_=UTCDateTime()
        )
    if change.status == SENT:
        values["message_id"] = change.message_id
        values["sent_at"] = sa.bindparam("b_sent", change.sent_at, type_=UTCDateTime())
    stmt = deliveries.update().where(deliveries.c.id == delivery_id)
    if change.status != SENT:
        stmt = stmt.where(deliveries.c.status == expected_status)
    result = await session.exec(stmt.values(**values))
    return bool(result.rowcount)


def _table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- deliveries


async def enqueue(session: AsyncSession, rows: Sequence[Delivery]) -> None:
    """Add delivery rows (status pending, due at their next_attempt_at)."""
    session.add_all(rows)
    await session.flush()


async def due_deliveries(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    exclude_chats: Collection[int] = (),
) -> Sequence[Delivery]:
    """Pending rows due by ``now`` for active chats, oldest first, at most one per chat.

    Only the head of each chat's queue (its lowest pending id) is eligible, so a chat's
    messages go out in the order they were enqueued even when its head waits on a retry.
    ``exclude_chats`` are chats the caller already has in hand or is pacing.
    """
    earlier = aliased(Delivery)
    earlier_pending = (
        select(earlier.id)
        .where(
            col(earlier.chat_id) == col(Delivery.chat_id),
            col(earlier.status) == PENDING,
            col(earlier.id) < col(Delivery.id),
        )
        .exists()
    )
    stmt = (
        select(Delivery)
        .join(Chat, col(Chat.id) == col(Delivery.chat_id))
        .where(
            col(Delivery.status) == PENDING,
            col(Delivery.next_attempt_at) <= now,
            col(Chat.active),
            ~earlier_pending,
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
    )
    if exclude_chats:
        stmt = stmt.where(col(Delivery.chat_id).not_in(list(exclude_chats)))
    return (await session.exec(stmt)).all()


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending row of an active chat becomes due (None: nothing pending)."""
    stmt = (
        select(sa.func.min(col(Delivery.next_attempt_at)))
        .join(Chat, col(Chat.id) == col(Delivery.chat_id))
        .where(col(Delivery.status) == PENDING, col(Chat.active))
    )
    return (await session.exec(stmt)).one()


async def pending_count(session: AsyncSession) -> int:
    """Pending rows of active chats (due or not), and the instant matches of routes not
    fanned out into rows yet (bot.routing.fan_out)."""
    stmt = (
        select(sa.func.count())
        .select_from(Delivery)
        .join(Chat, col(Chat.id) == col(Delivery.chat_id))
        .where(col(Delivery.status) == PENDING, col(Chat.active))
    )
    return (await session.exec(stmt)).one() + await routes.unfanned_count(session)


async def pending_article_count(session: AsyncSession) -> int:
    """Article cards waiting in the outbox (any chat): what the fan-out keeps topped up."""
    stmt = (
        select(sa.func.count())
        .select_from(Delivery)
        .where(col(Delivery.status) == PENDING, col(Delivery.kind) == "article")
    )
    return (await session.exec(stmt)).one()


async def mark_sent(
    session: AsyncSession, delivery_id: int, *, message_id: int, now: datetime
) -> None:
    """Telegram confirmed the message."""
    await mark_sent_many(session, [(delivery_id, message_id)], now=now)


async def mark_sent_many(
    session: AsyncSession, sent: Sequence[tuple[int, int]], *, now: datetime
) -> None:
    """Mark (delivery_id, message_id) pairs sent in one executemany.

    Whatever the row's status was: a row cancelled or blocked while its send was in flight
    did reach the chat, and the counts must say so.
    """
    if not sent:
        return
    deliveries = _table("deliveries")
    stmt = (
        deliveries.update()
        .where(deliveries.c.id == sa.bindparam("b_id"))
        .values(
            status=SENT,
            message_id=sa.bindparam("b_message_id"),
            sent_at=sa.bindparam("b_now", type_=UTCDateTime()),
            attempts=deliveries.c.attempts + 1,
            last_error=None,
        )
    )
    params = [{"b_id": d, "b_message_id": m, "b_now": now} for d, m in sent]
    await session.exec(stmt, params=params)


async def mark_retry(
    session: AsyncSession,
    delivery_id: int,
    *,
    error: str,
    next_attempt_at: datetime,
    count_attempt: bool = True,
) -> None:
    """Try again at ``next_attempt_at``; a flood wait (429) is not the row's fault and is
    not counted as an attempt. A row cancelled meanwhile stays cancelled."""
    deliveries = _table("deliveries")
    stmt = (
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.status == PENDING)
        .values(
            next_attempt_at=sa.bindparam("b_next", next_attempt_at, type_=UTCDateTime()),
            last_error=_clip(error, _ERROR_WIDTH),
            attempts=deliveries.c.attempts + (1 if count_attempt else 0),
        )
    )
    await session.exec(stmt)


async def mark_failed(session: AsyncSession, delivery_id: int, *, error: str) -> None:
    """Give up on a row (Telegram refused it for good, or it ran out of attempts)."""
    deliveries = _table("deliveries")
    stmt = (
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.status == PENDING)
        .values(
            status=FAILED,
            last_error=_clip(error, _ERROR_WIDTH),
            attempts=deliveries.c.attempts + 1,
        )
    )
    await session.exec(stmt)


async def forget_thread(session: AsyncSession, chat_id: int) -> None:
    """The chat's forum topic is gone: post to the main chat from now on."""
    chats, deliveries = _table("chats"), _table("deliveries")
    await session.exec(chats.update().where(chats.c.id == chat_id).values(thread_id=None))
    await session.exec(
        deliveries.update()
        .where(deliveries.c.chat_id == chat_id, deliveries.c.status == PENDING)
        .values(thread_id=None)
    )


async def mark_blocked_chat(session: AsyncSession, chat_id: int, *, reason: str) -> int:
    """The bot can no longer post there: deactivate the chat and block its pending rows.

    Returns how many rows were blocked.
    """
    chats, deliveries = _table("chats"), _table("deliveries")
    await session.exec(
        chats.update()
        .where(chats.c.id == chat_id)
        .values(active=False, deactivated_reason=_clip(reason, _REASON_WIDTH))
    )
    result = await session.exec(
        deliveries.update()
        .where(deliveries.c.chat_id == chat_id, deliveries.c.status == PENDING)
        .values(status=BLOCKED, last_error=_clip(reason, _ERROR_WIDTH))
    )
    return max(result.rowcount, 0)


async def migrate_chat(session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup with a new id: move its settings, subscriptions,
    matches and outbox rows there.

    The chat foreign keys cascade on update, so renaming the chat moves everything (its
    slot too, so its matches in routes stay its own). When the new id is already a chat
    (someone used the bot in the supergroup first), the old chat's topics, rules and rows
    are merged into it and the old chat deleted; the old chat's matches held in routes
    (instant ones not fanned out yet, digest ones pending) are those of its slot, which
    goes with it: they are lost (the bot used in both the group and its supergroup, and
    matches waiting at the migration: rare; the rows already in the outbox do move).
    """
    if old_id == new_id:
        return
    chats = _table("chats")
    old_exists = (await session.exec(select(Chat.id).where(Chat.id == old_id))).first()
    if old_exists is None:
        return
    new_exists = (await session.exec(select(Chat.id).where(Chat.id == new_id))).first()
    if new_exists is None:
        await session.exec(
            chats.update().where(chats.c.id == old_id).values(id=new_id, type="supergroup")
        )
    else:
        await _merge_chat(session, old_id, new_id)
    # ORM objects loaded earlier in this session still carry the old id.
    session.expire_all()


async def _merge_chat(session: AsyncSession, old_id: int, new_id: int) -> None:
    topics, rules = _table("chat_topics"), _table("chat_rules")
    deliveries, chats = _table("deliveries"), _table("chats")
    new_slugs = select(col(ChatTopic.slug)).where(ChatTopic.chat_id == new_id)
    await session.exec(
        topics.update()
        .where(topics.c.chat_id == old_id, topics.c.slug.not_in(new_slugs))
        .values(chat_id=new_id)
    )
    new_queries = select(col(ChatRule.query)).where(ChatRule.chat_id == new_id)
    await session.exec(
        rules.update()
        .where(rules.c.chat_id == old_id, rules.c.query.not_in(new_queries))
        .values(chat_id=new_id)
    )
    await session.exec(
        deliveries.update().where(deliveries.c.chat_id == old_id).values(chat_id=new_id)
    )
    await chatfeeds.move_links(session, old_id, new_id)
    old_active = (await session.exec(select(Chat.active).where(Chat.id == old_id))).one()
    if old_active:
        await session.exec(
            chats.update()
            .where(chats.c.id == new_id)
            .values(active=True, deactivated_reason=None, type="supergroup")
        )
    # Whatever duplicated the new chat's own rows goes with the old chat (cascade).
    await session.exec(chats.delete().where(chats.c.id == old_id))


# --------------------------------------------------------------------------- broadcasts


async def create_broadcast(
    session: AsyncSession, *, admin_id: int, text: str, now: datetime
) -> Broadcast:
    """A draft broadcast (not sent until start_broadcast)."""
    broadcast = Broadcast(admin_id=admin_id, text=text, created_at=now, status="draft")
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFound(str(broadcast_id))
    return broadcast


async def set_progress_message(
    session: AsyncSession, broadcast_id: int, *, chat_id: int, message_id: int
) -> None:
    """Where follow_broadcast edits the progress line."""
    broadcast = await get_broadcast(session, broadcast_id)
    broadcast.progress_chat_id = chat_id
    broadcast.progress_message_id = message_id
    session.add(broadcast)
    await session.flush()


async def start_broadcast(session: AsyncSession, broadcast_id: int, *, now: datetime) -> int:
    """Turn a draft into one pending delivery per active chat; returns the recipient count.

    Idempotent: only the draft→sending transition inserts rows (the conditional UPDATE is
    the lock), so a second call, even a concurrent one, returns the existing count.
    """
    broadcasts, deliveries = _table("broadcasts"), _table("deliveries")
    won = await session.exec(
        broadcasts.update()
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
        .values(status="sending")
    )
    if won.rowcount != 1:
        await get_broadcast(session, broadcast_id)  # BroadcastNotFound if there is none
        return await _delivery_count(session, broadcast_id)
    text = (await session.exec(select(Broadcast.text).where(Broadcast.id == broadcast_id))).one()
    chats = _table("chats")
    stamp = sa.bindparam("b_now", now, type_=UTCDateTime())
    rows = (
        sa.select(
            chats.c.id,
            sa.literal("broadcast", sa.String),
            sa.literal(broadcast_id, sa.Integer),
            sa.bindparam("b_text", text, type_=sa.Text),
            sa.literal(False, sa.Boolean),
            chats.c.thread_id,
            sa.literal(PENDING, sa.String),
            sa.literal(0, sa.Integer),
            stamp,
            stamp,
        )
        .where(chats.c.active == sa.true())
        .order_by(chats.c.id)
    )
    columns = [
        "chat_id",
        "kind",
        "broadcast_id",
        "text",
        "disable_preview",
        "thread_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    await session.exec(deliveries.insert().from_select(columns, rows))
    return await _delivery_count(session, broadcast_id)


async def _delivery_count(session: AsyncSession, broadcast_id: int) -> int:
    stmt = (
        select(sa.func.count()).select_from(Delivery).where(Delivery.broadcast_id == broadcast_id)
    )
    return (await session.exec(stmt)).one()


async def cancel_broadcast(session: AsyncSession, broadcast_id: int, *, now: datetime) -> int:
    """Cancel the pending deliveries of a broadcast; returns how many were cancelled.

    A draft or sending broadcast becomes cancelled; a finished one keeps its status.
    """
    await get_broadcast(session, broadcast_id)
    broadcasts, deliveries = _table("broadcasts"), _table("deliveries")
    result = await session.exec(
        deliveries.update()
        .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.status == PENDING)
        .values(status=CANCELLED)
    )
    await session.exec(
        broadcasts.update()
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(["draft", "sending"]))
        .values(status="cancelled", finished_at=sa.bindparam("b_now", now, type_=UTCDateTime()))
    )
    session.expire_all()
    return max(result.rowcount, 0)


async def broadcast_progress(session: AsyncSession, broadcast_id: int) -> BroadcastProgress:
    """Counts by status, read from the rows themselves (nothing to keep in sync)."""
    stmt = (
        select(col(Delivery.status), sa.func.count())
        .where(Delivery.broadcast_id == broadcast_id)
        .group_by(col(Delivery.status))
    )
    counts: dict[str, int] = dict((await session.exec(stmt)).all())
    return BroadcastProgress(
        total=sum(counts.values()),
        sent=counts.get(SENT, 0),
        blocked=counts.get(BLOCKED, 0),
        failed=counts.get(FAILED, 0),
        pending=counts.get(PENDING, 0),
        cancelled=counts.get(CANCELLED, 0),
    )


async def finish_broadcast_if_done(
    session: AsyncSession, broadcast_id: int, *, now: datetime
) -> bool:
    """Mark a sending broadcast done once none of its rows is pending.

    Returns True when the broadcast is over (done now or before, or cancelled).
    """
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast.status in ("done", "cancelled"):
        return True
    if broadcast.status != "sending":
        return False
    pending = (
        await session.exec(
            select(sa.func.count())
            .select_from(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.status == PENDING)
        )
    ).one()
    if pending:
        return False
    broadcast.status = "done"
    broadcast.finished_at = now
    session.add(broadcast)
    await session.flush()
    return True


async def sending_broadcasts(session: AsyncSession) -> Sequence[Broadcast]:
    """Broadcasts still being sent (to resume following them after a restart)."""
    stmt = select(Broadcast).where(Broadcast.status == "sending").order_by(col(Broadcast.id))
    return (await session.exec(stmt)).all()


async def active_chat_count(session: AsyncSession) -> int:
    stmt = select(sa.func.count()).select_from(Chat).where(col(Chat.active))
    return (await session.exec(stmt)).one()


async def still_pending(session: AsyncSession, delivery_ids: Collection[int]) -> set[int]:
    """Which of these rows are still pending (a cancel or a block may have settled others)."""
    if not delivery_ids:
        return set()
    stmt = select(Delivery.id).where(
        col(Delivery.id).in_(list(delivery_ids)), Delivery.status == PENDING
    )
    return {i for i in (await session.exec(stmt)).all() if i is not None}
