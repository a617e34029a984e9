"""The outbox tables on both engines: due rows, marks, blocked chats, migrations, broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyroaring import BitMap
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import outbox, routes
from db.errors import BroadcastNotFound
from db.models import Article, Broadcast, Chat, ChatRule, ChatTopic, Delivery

NOW = datetime(2025, 11, 25, 8, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def add_chats(sessions: Sessions, *ids: int, active: bool = True, **extra: object) -> None:
    async with sessions() as s, s.begin():
        for chat_id in ids:
            kind = "private" if chat_id > 0 else "group"
            s.add(Chat(id=chat_id, type=kind, created_at=NOW, active=active, **extra))


def row(chat_id: int, text: str = "hi", *, due: datetime = NOW, **extra: object) -> Delivery:
    return Delivery(
        chat_id=chat_id, kind="notice", text=text, next_attempt_at=due, created_at=NOW, **extra
    )


async def enqueue(sessions: Sessions, *rows: Delivery) -> list[int]:
    async with sessions() as s, s.begin():
        await outbox.enqueue(s, rows)
        return [r.id for r in rows if r.id is not None]


async def deliveries(sessions: Sessions, **where: object) -> list[Delivery]:
    async with sessions() as s:
        stmt = select(Delivery).order_by(col(Delivery.id))
        for name, value in where.items():
            stmt = stmt.where(getattr(Delivery, name) == value)
        return list((await s.exec(stmt)).all())


async def due(sessions: Sessions, *, now: datetime = NOW, **kw: object) -> list[tuple[int, str]]:
    async with sessions() as s:
        rows = await outbox.due_deliveries(s, now=now, limit=100, **kw)  # type: ignore[arg-type]
        return [(r.chat_id, r.text) for r in rows]


async def test_due_rows_are_the_oldest_head_of_each_active_chat(sessions: Sessions) -> None:
    await add_chats(sessions, 1, 2, 3)
    await add_chats(sessions, 4, active=False)
    await enqueue(
        sessions,
        row(1, "1a"),
        row(1, "1b"),
        row(2, "2a", due=NOW - timedelta(minutes=1)),
        row(3, "3 later", due=NOW + timedelta(minutes=1)),
        row(4, "inactive"),
    )
    assert await due(sessions) == [(2, "2a"), (1, "1a")]
    assert await due(sessions, exclude_chats=[2]) == [(1, "1a")]


async def test_a_chat_whose_head_waits_on_a_retry_sends_nothing_after_it(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, 1)
    first, _ = await enqueue(sessions, row(1, "first"), row(1, "second"))
    async with sessions() as s, s.begin():
        await outbox.mark_retry(
            s, first, error="timed out", next_attempt_at=NOW + timedelta(seconds=30)
        )
    assert await due(sessions) == []
    assert await due(sessions, now=NOW + timedelta(seconds=30)) == [(1, "first")]
    async with sessions() as s:
        assert await outbox.next_due_at(s) == NOW
        assert await outbox.pending_count(s) == 2


async def test_marks_record_message_ids_errors_and_attempts(sessions: Sessions) -> None:
    await add_chats(sessions, 1, 2, 3)
    a, b, c = await enqueue(sessions, row(1), row(2), row(3))
    later = NOW + timedelta(seconds=5)
    async with sessions() as s, s.begin():
        await outbox.mark_sent(s, a, message_id=77, now=later)
        await outbox.mark_failed(s, b, error="can't parse entities " + "x" * 900)
        await outbox.mark_retry(s, c, error="flood", next_attempt_at=later, count_attempt=False)
    sent, failed, retried = await deliveries(sessions)
    assert (sent.status, sent.message_id, sent.sent_at, sent.attempts) == ("sent", 77, later, 1)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert len(failed.last_error) == 500
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("pending", 0, later)


async def test_blocked_chat_is_deactivated_and_its_pending_rows_blocked(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, 5, 6)
    done, *_ = await enqueue(sessions, row(5, "old"), row(5, "a"), row(5, "b"), row(6))
    async with sessions() as s, s.begin():
        await outbox.mark_sent(s, done, message_id=1, now=NOW)
        assert await outbox.mark_blocked_chat(s, 5, reason="Forbidden: bot was blocked") == 2
    async with sessions() as s:
        chat = await s.get(Chat, 5)
        assert chat is not None
        assert not chat.active
        assert chat.deactivated_reason == "Forbidden: bot was blocked"
    assert [d.status for d in await deliveries(sessions, chat_id=5)] == [
        "sent",
        "blocked",
        "blocked",
    ]
    assert await due(sessions) == [(6, "hi")]


async def add_article(sessions: Sessions) -> int:
    async with sessions() as s, s.begin():
        article = Article(
            title="t", published=NOW, first_seen=NOW, text="x", content_hash="h", url="https://a/1"
        )
        s.add(article)
        await s.flush()
        assert article.id is not None
        return article.id


async def subscribe(sessions: Sessions, chat_id: int, slug: str, query: str) -> None:
    async with sessions() as s, s.begin():
        s.add(ChatTopic(chat_id=chat_id, slug=slug))
        s.add(ChatRule(chat_id=chat_id, query=query, created_at=NOW))


async def match(sessions: Sessions, article: int, *chat_ids: int) -> None:
    """Route the article to these chats' digests, as routing would."""
    async with sessions() as s, s.begin():
        slots = (await s.exec(select(Chat.slot).where(col(Chat.id).in_(chat_ids)))).all()
        digest = BitMap(slot for slot in slots if slot is not None)
        await routes.insert_routes(s, [routes.NewRoute(article, BitMap(), digest)], now=NOW)


async def chat_state(sessions: Sessions, chat_id: int) -> tuple[set[str], set[str], int, int]:
    async with sessions() as s:
        slugs = set(
            (await s.exec(select(ChatTopic.slug).where(ChatTopic.chat_id == chat_id))).all()
        )
        rules = set((await s.exec(select(ChatRule.query).where(ChatRule.chat_id == chat_id))).all())
        matches = len({m for m in await routes.matched_pairs(s) if m[0] == chat_id})
        rows = len((await s.exec(select(Delivery).where(Delivery.chat_id == chat_id))).all())
    return slugs, rules, matches, rows


async def test_migrated_group_moves_everything_to_the_supergroup_id(sessions: Sessions) -> None:
    await add_chats(sessions, -42, mode="daily", thread_id=None)
    article = await add_article(sessions)
    await subscribe(sessions, -42, "space", "crispr")
    await match(sessions, article, -42)
    await enqueue(sessions, row(-42, "a"), row(-42, "b"))
    async with sessions() as s, s.begin():
        await outbox.migrate_chat(s, -42, -10042)
    async with sessions() as s:
        assert await s.get(Chat, -42) is None
        chat = await s.get(Chat, -10042)
        assert chat is not None
        assert (chat.type, chat.mode) == ("supergroup", "daily")
    assert await chat_state(sessions, -10042) == ({"space"}, {"crispr"}, 1, 2)
    assert await due(sessions) == [(-10042, "a")]


async def test_migration_onto_an_existing_chat_merges_without_duplicates(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, -42)
    await add_chats(sessions, -10042, active=False)
    article = await add_article(sessions)
    await subscribe(sessions, -42, "space", "crispr")
    await subscribe(sessions, -10042, "space", "fusion")
    await match(sessions, article, -42, -10042)
    async with sessions() as s, s.begin():
        s.add(ChatTopic(chat_id=-42, slug="biology"))
    await enqueue(sessions, row(-42, "a"))
    async with sessions() as s, s.begin():
        await outbox.migrate_chat(s, -42, -10042)
        await outbox.migrate_chat(s, -42, -10042)  # a second answer for the same move
    async with sessions() as s:
        assert await s.get(Chat, -42) is None
        merged = await s.get(Chat, -10042)
        assert merged is not None
        assert merged.active
    assert await chat_state(sessions, -10042) == (
        {"space", "biology"},
        {"crispr", "fusion"},
        1,
        1,
    )


async def start(sessions: Sessions, text: str = "<b>News</b>") -> tuple[int, int]:
    async with sessions() as s, s.begin():
        broadcast = await outbox.create_broadcast(s, admin_id=9, text=text, now=NOW)
        assert broadcast.id is not None
        assert broadcast.status == "draft"
    async with sessions() as s, s.begin():
        count = await outbox.start_broadcast(s, broadcast.id, now=NOW)
    return broadcast.id, count


async def test_broadcast_makes_one_row_per_active_chat_with_its_thread(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, *range(1, 301))
    await add_chats(sessions, -7, thread_id=12)
    await add_chats(sessions, 999, active=False)
    broadcast_id, count = await start(sessions)
    assert count == 301
    async with sessions() as s:
        assert await outbox.active_chat_count(s) == 301
        again = await outbox.start_broadcast(s, broadcast_id, now=NOW)
        assert again == 301
        assert (await outbox.broadcast_progress(s, broadcast_id)).total == 301
        assert [b.id for b in await outbox.sending_broadcasts(s)] == [broadcast_id]
    group = await deliveries(sessions, chat_id=-7)
    assert [(d.kind, d.broadcast_id, d.thread_id, d.text, d.status) for d in group] == [
        ("broadcast", broadcast_id, 12, "<b>News</b>", "pending")
    ]
    assert group[0].next_attempt_at == NOW


async def test_broadcast_progress_counts_rows_and_finishes_when_none_pending(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, 1, 2, 3, 4)
    broadcast_id, _ = await start(sessions)
    ids = [d.id for d in await deliveries(sessions, broadcast_id=broadcast_id)]
    async with sessions() as s, s.begin():
        await outbox.mark_sent_many(s, [(ids[0], 10), (ids[1], 11)], now=NOW)
        await outbox.mark_blocked_chat(s, 3, reason="blocked")
        assert not await outbox.finish_broadcast_if_done(s, broadcast_id, now=NOW)
        await outbox.mark_failed(s, ids[3], error="bad")
        progress = await outbox.broadcast_progress(s, broadcast_id)
        assert progress == outbox.BroadcastProgress(
            total=4, sent=2, blocked=1, failed=1, pending=0, cancelled=0
        )
        assert await outbox.finish_broadcast_if_done(s, broadcast_id, now=NOW)
    async with sessions() as s:
        broadcast = await s.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert (broadcast.status, broadcast.finished_at) == ("done", NOW)
        assert list(await outbox.sending_broadcasts(s)) == []


async def test_cancel_stops_pending_rows_and_keeps_what_was_sent(sessions: Sessions) -> None:
    await add_chats(sessions, 1, 2, 3)
    broadcast_id, _ = await start(sessions)
    first = (await deliveries(sessions, broadcast_id=broadcast_id))[0]
    assert first.id is not None
    async with sessions() as s, s.begin():
        await outbox.mark_sent(s, first.id, message_id=5, now=NOW)
        assert await outbox.cancel_broadcast(s, broadcast_id, now=NOW) == 2
        # A retry answer arriving after the cancel must not revive a row.
        await outbox.mark_retry(s, first.id + 1, error="x", next_attempt_at=NOW)
    async with sessions() as s:
        progress = await outbox.broadcast_progress(s, broadcast_id)
        assert (progress.sent, progress.cancelled, progress.pending) == (1, 2, 0)
        broadcast = await outbox.get_broadcast(s, broadcast_id)
        assert broadcast.status == "cancelled"
        assert await outbox.finish_broadcast_if_done(s, broadcast_id, now=NOW)
    assert await due(sessions) == []


async def test_unknown_broadcast_is_a_clear_error(sessions: Sessions) -> None:
    async with sessions() as s:
        with pytest.raises(BroadcastNotFound):
            await outbox.start_broadcast(s, 12345, now=NOW)
        with pytest.raises(BroadcastNotFound):
            await outbox.cancel_broadcast(s, 12345, now=NOW)


async def test_forgotten_thread_clears_the_chat_and_its_pending_rows(sessions: Sessions) -> None:
    await add_chats(sessions, -5, thread_id=3)
    await enqueue(sessions, row(-5, thread_id=3))
    async with sessions() as s, s.begin():
        await outbox.forget_thread(s, -5)
    async with sessions() as s:
        chat = await s.get(Chat, -5)
        assert chat is not None
        assert chat.thread_id is None
    assert [d.thread_id for d in await deliveries(sessions)] == [None]


async def test_still_pending_names_rows_not_settled_yet(sessions: Sessions) -> None:
    await add_chats(sessions, 1, 2)
    a, b = await enqueue(sessions, row(1), row(2))
    async with sessions() as s, s.begin():
        await outbox.mark_failed(s, b, error="x")
        assert await outbox.still_pending(s, [a, b, 999]) == {a}
        assert await outbox.still_pending(s, []) == set()


# --- the row rules (pure) --------------------------------------------------------------------

LATER = NOW + timedelta(seconds=30)
SETTLE_TABLE: list[tuple[str, str, int, outbox.SendResult, outbox.RowChange | None]] = [
    (
        "a confirmed send is sent, one attempt counted",
        "pending",
        2,
        outbox.SendResult("sent", message_id=77),
        outbox.RowChange("sent", 3, None, message_id=77, sent_at=NOW),
    ),
    (
        "a send confirmed after a cancel still counts as sent",
        "cancelled",
        0,
        outbox.SendResult("sent", message_id=5),
        outbox.RowChange("sent", 1, None, message_id=5, sent_at=NOW),
    ),
    (
        "a network error is retried after the backoff",
        "pending",
        0,
        outbox.SendResult("retry", "Timed out"),
        outbox.RowChange("pending", 1, "Timed out", next_attempt_at=LATER),
    ),
    (
        "the last allowed retry gives up",
        "pending",
        7,
        outbox.SendResult("retry", "Bad Gateway"),
        outbox.RowChange("failed", 8, "Bad Gateway"),
    ),
    (
        "a 429 is not counted as an attempt and stays due",
        "pending",
        7,
        outbox.SendResult("flood", "Flood control exceeded"),
        outbox.RowChange("pending", 7, "Flood control exceeded", next_attempt_at=NOW),
    ),
    (
        "a refused message is given up at once",
        "pending",
        0,
        outbox.SendResult("fail", "can't parse entities"),
        outbox.RowChange("failed", 1, "can't parse entities"),
    ),
    (
        "a blocked chat blocks the row without counting an attempt",
        "pending",
        1,
        outbox.SendResult("blocked", "Forbidden: bot was blocked by the user"),
        outbox.RowChange("blocked", 1, "Forbidden: bot was blocked by the user"),
    ),
    (
        "a retry answer after a cancel leaves the row cancelled",
        "cancelled",
        0,
        outbox.SendResult("retry", "Timed out"),
        None,
    ),
    (
        "a long error is clipped to its column",
        "pending",
        0,
        outbox.SendResult("fail", "x" * 900),
        outbox.RowChange("failed", 1, "x" * 499 + "…"),
    ),
]


@pytest.mark.parametrize(
    ("case", "status", "attempts", "result", "expected"),
    SETTLE_TABLE,
    ids=[r[0] for r in SETTLE_TABLE],
)
def test_a_send_result_settles_the_row(
    case: str,
    status: str,
    attempts: int,
    result: outbox.SendResult,
    expected: outbox.RowChange | None,
) -> None:
    change = outbox.settle(
        status=status, attempts=attempts, result=result, now=NOW, retry_delay=30, max_attempts=8
    )

    assert change == expected, case


async def test_a_settled_change_is_written_unless_the_row_moved_on(sessions: Sessions) -> None:
    await add_chats(sessions, 1)
    sent, retried, cancelled = await enqueue(sessions, row(1, "a"), row(1, "b"), row(1, "c"))
    async with sessions() as s, s.begin():
        cancel = await s.get(Delivery, cancelled)
        assert cancel is not None
        cancel.status = "cancelled"
    retry = outbox.RowChange("pending", 1, "Timed out", next_attempt_at=LATER)
    async with sessions() as s, s.begin():
        done = outbox.RowChange("sent", 1, None, message_id=9, sent_at=NOW)
        assert await outbox.apply_change(s, sent, done, expected_status="pending")
        assert await outbox.apply_change(s, retried, retry, expected_status="pending")
        assert not await outbox.apply_change(s, cancelled, retry, expected_status="pending")
    a, b, c = await deliveries(sessions)
    assert (a.status, a.message_id, a.sent_at, a.attempts) == ("sent", 9, NOW, 1)
    assert (b.status, b.attempts, b.next_attempt_at, b.last_error) == (
        "pending",
        1,
        LATER,
        "Timed out",
    )
    assert (c.status, c.attempts) == ("cancelled", 0)
