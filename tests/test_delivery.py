"""The outbox worker against the fake Bot API (real HTTP through PTB) and a real database.

Telegram's limits are checked at their real values on small cases (1/s per chat); the
500-chat broadcast runs with every limit scaled up on both sides to stay fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.broadcasts import follow_broadcast, progress_text, report_text, resume_broadcasts
from bot.delivery import Backoff, ChatPacer, Outbox, RateLimits, SendBudget, Verdict, classify_error
from db import outbox as queries
from db.models import Broadcast, Chat, Delivery
from db.outbox import BroadcastProgress
from tests.fakebot import FakeTelegram, Limits

# PTB's own RetryAfter warns about its future timedelta type whenever one is made.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

# Worker behaviour does not depend on the engine (tests/test_outbox.py runs every query on
# both); only the restart test runs on PostgreSQL too, to keep the file fast.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Sessions = async_sessionmaker[AsyncSession]
FAST_BACKOFF = Backoff(base=0.05, cap=0.2, max_attempts=4)


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("error", "action", "detail"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), "block", "Forbidden: bot was blocked by the user"),  # noqa: E501 - a table row
        (Forbidden("Forbidden: user is deactivated"), "block", "Forbidden: user is deactivated"),
        (BadRequest("Bad Request: chat not found"), "block", "Chat not found"),
        (BadRequest("Bad Request: message thread not found"), "drop_thread", "Message thread not found"),  # noqa: E501 - a table row
        (BadRequest("Bad Request: can't parse entities: x"), "fail", "Can't parse entities: x"),
        (TimedOut(), "retry", "Timed out"),
        (NetworkError("Internal Server Error"), "retry", "Internal Server Error"),
        (TelegramError("odd"), "retry", "odd"),
        (ValueError("bug"), "retry", "ValueError: bug"),
    ],
)  # fmt: skip
def test_each_telegram_error_decides_the_rows_fate(
    error: Exception, action: str, detail: str
) -> None:
    assert classify_error(error) == Verdict(action, detail)  # type: ignore[arg-type]


def test_flood_and_migration_carry_their_parameters() -> None:
    assert classify_error(RetryAfter(7)).retry_after == 7.0
    assert classify_error(ChatMigrated(-1001)) == Verdict(
        "migrate", "Group migrated to supergroup. New chat id: -1001", new_chat_id=-1001
    )


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 2.0), (2, 4.0), (3, 8.0), (10, 600.0)])
def test_backoff_doubles_up_to_its_cap(attempt: int, seconds: float) -> None:
    assert Backoff().delay(attempt) == seconds


@pytest.mark.parametrize(
    ("chat_id", "sends", "ready"),
    [
        (5, [], float("-inf")),  # a chat never sent to is ready
        (5, [10.0], 11.0),  # private: one per second after the last finished
        (-5, [10.0], 11.0),  # groups too
        (-5, [float(t) for t in range(20)], 60.0),  # the 21st in a group waits for the window
        (5, [float(t) for t in range(20)], 20.0),  # private chats have no minute window
    ],
)
def test_chat_pacer_spaces_sends_per_chat(chat_id: int, sends: list[float], ready: float) -> None:
    pacer = ChatPacer(RateLimits())
    for at in sends:
        pacer.record(chat_id, at)
    assert pacer.ready_at(chat_id) == ready


def test_chat_pacer_holds_a_flooded_chat_and_forgets_idle_ones() -> None:
    pacer = ChatPacer(RateLimits())
    pacer.record(1, 0.0)
    pacer.hold(2, 30.0)
    assert pacer.waiting(0.5) == {1, 2}
    assert pacer.waiting(5.0) == {2}
    assert pacer.next_ready({2}) == 30.0
    assert pacer.waiting(31.0) == set()
    assert pacer.ready_at(1) == float("-inf")


def test_the_outbox_uses_the_whole_documented_rate_by_default() -> None:
    assert RateLimits().outbox_per_second == 30.0


async def test_send_budget_spaces_turns_evenly() -> None:
    budget = SendBudget(200)
    started = time.monotonic()
    for _ in range(21):
        await budget.turn()
    assert time.monotonic() - started >= 20 / 200  # sleeps never end early


async def test_claimed_replies_keep_to_the_overall_rate_and_the_outbox_waits_behind_them() -> None:
    budget = SendBudget(200)
    started = time.monotonic()
    await asyncio.gather(*(budget.claim() for _ in range(21)))  # 21 replies at once...
    assert time.monotonic() - started >= 20 / 200  # ...are spread over 20 slots
    claimed = time.monotonic()
    await budget.turn()  # the outbox's next send comes after them
    assert time.monotonic() - started >= 21 / 200
    assert time.monotonic() >= claimed


async def test_a_charged_reply_takes_the_next_slot_and_the_outbox_yields() -> None:
    budget = SendBudget(200)
    await budget.turn()
    started = time.monotonic()
    for _ in range(10):
        budget.charge()  # ten replies go out at once...
    await budget.turn()  # ...and the outbox's next send waits for their ten slots
    assert time.monotonic() - started >= 10 / 200


@pytest.mark.parametrize(
    ("cancelled", "head", "tail"),
    [(False, "✅ finished", ""), (True, "⏹ cancelled", "\nNot sent (cancelled): 0")],
)
def test_broadcast_texts(cancelled: bool, head: str, tail: str) -> None:
    progress = BroadcastProgress(
        total=1250, sent=1234, blocked=12, failed=4, pending=0, cancelled=0
    )
    assert progress_text(3, progress) == "📣 Broadcast #3: 1,234/1,250 sent · 12 blocked · 4 failed"
    assert report_text(3, progress, cancelled=cancelled) == (
        f"<b>Broadcast #3 {head}</b>\nDelivered: 1,234 of 1,250\n"
        f"Blocked (chat deactivated): 12\nFailed: 4{tail}"
    )


# --------------------------------------------------------------------------- helpers


@asynccontextmanager
async def telegram(
    limits: Limits | None = None, **fake_kw: object
) -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    """A fake Bot API enforcing ``limits`` (when given) and a PTB Bot pointed at it."""
    with FakeTelegram(
        enforce_limits=limits is not None,
        limits=limits or Limits(),
        **fake_kw,  # type: ignore[arg-type]
    ) as fake:
        request = HTTPXRequest(connection_pool_size=32, read_timeout=5.0)
        async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
            yield fake, bot


async def add_chats(sessions: Sessions, ids: list[int], **extra: object) -> None:
    async with sessions() as s, s.begin():
        now = utc_now()
        for chat_id in ids:
            kind = "private" if chat_id > 0 else "group"
            s.add(Chat(id=chat_id, type=kind, created_at=now, **extra))


async def enqueue(sessions: Sessions, *items: tuple[int, str], **extra: object) -> None:
    async with sessions() as s, s.begin():
        now = utc_now()
        await queries.enqueue(
            s,
            [
                Delivery(
                    chat_id=c, kind="notice", text=t, next_attempt_at=now, created_at=now, **extra
                )
                for c, t in items
            ],
        )


async def rows(sessions: Sessions) -> list[Delivery]:
    async with sessions() as s:
        return list((await s.exec(select(Delivery).order_by(col(Delivery.id)))).all())


async def get_chat(sessions: Sessions, chat_id: int) -> Chat | None:
    async with sessions() as s:
        return await s.get(Chat, chat_id)


async def run_until(
    box: Outbox,
    done: Callable[[], Awaitable[bool]],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline on a polling loop, not one await
) -> None:
    """Run the worker until ``done()`` holds, then stop it and wait for it to finish."""
    stop = asyncio.Event()
    task = asyncio.create_task(box.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while not await done():
            assert not task.done(), "the worker ended by itself"
            if time.monotonic() > deadline:
                raise TimeoutError(f"not done within {timeout} s; stats {box.stats}")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def nothing_pending(sessions: Sessions) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with sessions() as s:
            return not (
                await s.exec(select(Delivery.id).where(Delivery.status == "pending"))
            ).first()

    return check


async def start_broadcast(sessions: Sessions, text: str = "<b>Hello</b> all") -> int:
    async with sessions() as s, s.begin():
        broadcast = await queries.create_broadcast(s, admin_id=777, text=text, now=utc_now())
        assert broadcast.id is not None
        await queries.start_broadcast(s, broadcast.id, now=utc_now())
        return broadcast.id


def texts(fake: FakeTelegram, chat_id: int) -> list[str | None]:
    return [m.text for m in fake.messages(chat_id)]


# --------------------------------------------------------------------------- sending


@sqlite_only
async def test_pending_rows_are_sent_once_each_and_marked_with_message_ids(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, [1, 2])
    await add_chats(sessions, [-3], thread_id=9)
    await enqueue(sessions, (1, "<b>one</b>"), (2, "two"), (1, "three"))
    await enqueue(sessions, (-3, "d1"), (-3, "d2"), thread_id=9, disable_preview=True)
    async with telegram(Limits()) as (fake, bot):
        box = Outbox(sessions, bot, clock=utc_now)
        started = time.monotonic()
        assert await box.drain(timeout=10) == 5
        elapsed = time.monotonic() - started
        assert await box.drain(timeout=5) == 0
        assert texts(fake, 1) == ["<b>one</b>", "three"]
        assert texts(fake, 2) == ["two"]
        assert texts(fake, -3) == ["d1", "d2"]
        digest = fake.messages(-3)[0]
        assert (digest.thread_id, digest.link_preview_options) == (9, {"is_disabled": True})
        assert fake.messages(1)[0].parse_mode == "HTML"
        assert fake.messages(1)[0].link_preview_options == {"is_disabled": False}
        sent_ids = {(m.chat_id, m.message_id) for ms in fake.all_messages().values() for m in ms}
        stats = fake.stats()
    stored = await rows(sessions)
    assert {r.status for r in stored} == {"sent"}
    assert {(r.chat_id, r.message_id) for r in stored} == sent_ids
    assert all(r.sent_at is not None and r.attempts == 1 for r in stored)
    assert box.stats.sent == 5
    # Two messages to one chat at Telegram's real per-chat pace: no 429, never 2 within 1 s,
    # in the order they were queued.
    assert (stats.too_many_requests, stats.max_chat_rate) == (0, 1)
    assert elapsed >= 1.0


@pytest.mark.parametrize("kind", ["blocked", "kicked", "not_found"])
@sqlite_only
async def test_a_chat_that_refuses_the_bot_is_deactivated_and_its_rows_blocked(
    sessions: Sessions, kind: str
) -> None:
    await add_chats(sessions, [-5, 6])
    await enqueue(sessions, (-5, "a"), (-5, "b"), (6, "c"))
    async with telegram() as (fake, bot):
        fake.fail_chat(-5, kind)  # type: ignore[arg-type]
        box = Outbox(sessions, bot, clock=utc_now)
        await box.drain(timeout=10)
        assert len([c for c in fake.calls("sendMessage") if c.params["chat_id"] == -5]) == 1
        assert texts(fake, 6) == ["c"]
    chat = await get_chat(sessions, -5)
    assert chat is not None
    assert not chat.active
    assert chat.deactivated_reason
    assert [r.status for r in await rows(sessions)] == ["blocked", "blocked", "sent"]
    assert box.stats.blocked == 2


@sqlite_only
async def test_migrated_group_is_moved_and_served_at_its_new_id(sessions: Sessions) -> None:
    await add_chats(sessions, [-42])
    await enqueue(sessions, (-42, "first"), (-42, "second"))
    async with telegram() as (fake, bot):
        fake.fail_chat(-42, "migrated", migrate_to_chat_id=-10042)
        box = Outbox(sessions, bot, clock=utc_now)
        await box.drain(timeout=10)
        assert texts(fake, -10042) == ["first", "second"]
        assert texts(fake, -42) == []
    assert await get_chat(sessions, -42) is None
    moved = await get_chat(sessions, -10042)
    assert moved is not None
    assert moved.type == "supergroup"
    assert [(r.chat_id, r.status) for r in await rows(sessions)] == [(-10042, "sent")] * 2
    assert box.stats.migrated == 1


@sqlite_only
async def test_server_errors_are_retried_with_backoff(sessions: Sessions) -> None:
    await add_chats(sessions, [1])
    await enqueue(sessions, (1, "hello"))
    async with telegram() as (fake, bot):
        fake.fail_chat(1, "server_error", times=2)
        box = Outbox(sessions, bot, clock=utc_now, backoff=FAST_BACKOFF, idle_poll=0.05)
        await run_until(box, nothing_pending(sessions))
        assert texts(fake, 1) == ["hello"]
        assert len(fake.calls("sendMessage")) == 3
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("sent", 3)
    assert box.stats.retried == 2


@sqlite_only
async def test_errors_that_never_pass_fail_after_max_attempts(sessions: Sessions) -> None:
    await add_chats(sessions, [1])
    await enqueue(sessions, (1, "hello"))
    async with telegram() as (fake, bot):
        fake.fail_chat(1, "server_error", times=100)
        box = Outbox(sessions, bot, clock=utc_now, backoff=FAST_BACKOFF, idle_poll=0.05)
        await run_until(box, nothing_pending(sessions))
        assert len(fake.calls("sendMessage")) == FAST_BACKOFF.max_attempts
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "Internal Server Error")


@sqlite_only
async def test_bad_html_fails_once_and_is_never_retried(sessions: Sessions) -> None:
    await add_chats(sessions, [1])
    await enqueue(sessions, (1, "<b>unclosed"), (1, "fine"))
    async with telegram() as (fake, bot):
        box = Outbox(sessions, bot, clock=utc_now)
        await box.drain(timeout=10)
        assert len(fake.calls("sendMessage")) == 2
        assert texts(fake, 1) == ["fine"]
    bad, good = await rows(sessions)
    assert bad.status == "failed"
    assert bad.last_error is not None
    assert "parse entities" in bad.last_error
    assert good.status == "sent"
    assert box.stats.failed == 1


@sqlite_only
async def test_a_bot_wide_flood_pauses_every_chat_then_resumes(sessions: Sessions) -> None:
    await add_chats(sessions, list(range(1, 21)))
    await enqueue(sessions, *[(c, "x") for c in range(1, 21)])
    async with telegram() as (fake, bot):
        fake.set_global_flood(1, times=3)
        box = Outbox(sessions, bot, clock=utc_now, idle_poll=0.05)
        await run_until(box, nothing_pending(sessions))
        assert all(texts(fake, c) == ["x"] for c in range(1, 21))
    assert box.stats.too_many_requests == 3
    assert box.stats.global_floods >= 1


# --------------------------------------------------------------------------- broadcasts

SCALED = Limits(global_per_second=300, global_burst=10)  # real per-chat limits, 10x global
SCALED_OUTBOX = RateLimits(global_per_second=300, reserve_per_second=20)


@sqlite_only
async def test_broadcast_to_500_chats_reaches_everyone_once_within_limits(
    sessions: Sessions,
) -> None:
    privates, groups = list(range(1, 451)), list(range(-50, 0))
    await add_chats(sessions, privates + groups)
    blocked = privates[::45] + groups[::25]  # 12 chats
    flooded = privates[7::45]  # 10 chats, one 429 each
    broadcast_id = await start_broadcast(sessions)
    async with telegram(SCALED) as (fake, bot):
        for chat_id in blocked:
            fake.fail_chat(chat_id, "kicked" if chat_id < 0 else "blocked")
        for chat_id in flooded:
            fake.fail_chat(chat_id, "retry_after", retry_after=1)
        box = Outbox(sessions, bot, limits=SCALED_OUTBOX, clock=utc_now, concurrency=24)
        await run_until(box, nothing_pending(sessions), timeout=15)
        stats = fake.stats()
        received = {c: texts(fake, c) for c in privates + groups}
    assert {c for c, got in received.items() if got == ["<b>Hello</b> all"]} == set(
        privates + groups
    ) - set(blocked)
    assert all(received[c] == [] for c in blocked)
    assert stats.too_many_requests == len(flooded)  # only the injected ones
    assert stats.max_chat_rate <= 1
    assert stats.max_global_rate <= SCALED.global_per_second
    async with sessions() as s:
        progress = await queries.broadcast_progress(s, broadcast_id)
        inactive = (await s.exec(select(Chat.id).where(col(Chat.active).is_(False)))).all()
    assert progress == BroadcastProgress(
        total=500, sent=488, blocked=12, failed=0, pending=0, cancelled=0
    )
    assert set(inactive) == set(blocked)
    assert (box.stats.sent, box.stats.too_many_requests) == (488, 10)


async def test_restart_mid_broadcast_finishes_without_sending_twice(sessions: Sessions) -> None:
    chats = list(range(1, 81))
    await add_chats(sessions, chats)
    await start_broadcast(sessions)
    limits = RateLimits(global_per_second=60, reserve_per_second=0)
    async with telegram(Limits(global_per_second=60)) as (fake, bot):
        first = Outbox(sessions, bot, limits=limits, clock=utc_now)
        sent_before_stop = lambda: sum(len(texts(fake, c)) for c in chats)  # noqa: E731 - a tiny probe

        async def some_sent() -> bool:
            return sent_before_stop() >= 25

        await run_until(first, some_sent)
        progress_mid = await progress_of(sessions)
        assert 25 <= progress_mid.sent < 80
        assert progress_mid.sent == sent_before_stop()  # everything Telegram took is recorded
        second = Outbox(sessions, bot, limits=limits, clock=utc_now)
        await second.drain(timeout=10)
        assert all(len(texts(fake, c)) == 1 for c in chats)
        assert fake.stats().too_many_requests == 0
    assert (await progress_of(sessions)).sent == 80


async def progress_of(sessions: Sessions) -> BroadcastProgress:
    async with sessions() as s:
        [broadcast] = (await s.exec(select(Broadcast))).all()
        assert broadcast.id is not None
        return await queries.broadcast_progress(s, broadcast.id)


@sqlite_only
async def test_cancel_stops_the_rest_of_a_broadcast(sessions: Sessions) -> None:
    chats = list(range(1, 101))
    await add_chats(sessions, chats)
    broadcast_id = await start_broadcast(sessions)
    async with telegram() as (fake, bot):
        box = Outbox(sessions, bot, limits=RateLimits(global_per_second=40), clock=utc_now)
        stop = asyncio.Event()
        task = asyncio.create_task(box.run(stop))
        await fake.wait_until_async(lambda: len(fake.calls("sendMessage")) >= 10)
        async with sessions() as s, s.begin():
            cancelled = await queries.cancel_broadcast(s, broadcast_id, now=utc_now())
        await asyncio.sleep(0.5)
        after_cancel = len(fake.calls("sendMessage"))
        await asyncio.sleep(0.5)
        assert len(fake.calls("sendMessage")) == after_cancel
        stop.set()
        await task
    progress = await progress_of(sessions)
    assert 10 <= after_cancel < 60
    assert progress.sent == after_cancel  # in-flight sends at the cancel are counted as sent
    assert progress.sent + progress.cancelled == 100
    assert cancelled >= progress.cancelled


@sqlite_only
async def test_progress_is_followed_and_reported_when_the_broadcast_ends(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, list(range(1, 31)))
    broadcast_id = await start_broadcast(sessions)
    async with telegram() as (fake, bot):
        fake.fail_chat(3, "blocked")
        progress_msg = await bot.send_message(777, "📣 Broadcast starting…")
        async with sessions() as s, s.begin():
            await queries.set_progress_message(
                s, broadcast_id, chat_id=777, message_id=progress_msg.message_id
            )
        box = Outbox(sessions, bot, limits=RateLimits(global_per_second=40), clock=utc_now)
        follower = asyncio.create_task(
            follow_broadcast(bot, sessions, broadcast_id, clock=utc_now, interval=0.2)
        )
        await run_until(box, nothing_pending(sessions))
        await asyncio.wait_for(follower, 5)
        edits = [m.plain_text for m in fake.messages(777, include_edits=True) if m.is_edit]
        report = fake.messages(777)[-1].plain_text
    assert edits
    assert edits[-1] == f"📣 Broadcast #{broadcast_id}: 29/30 sent · 1 blocked · 0 failed"
    assert report is not None
    assert report.startswith(f"Broadcast #{broadcast_id} ✅ finished")
    assert "Delivered: 29 of 30" in report
    async with sessions() as s:
        broadcast = await queries.get_broadcast(s, broadcast_id)
    assert broadcast.status == "done"


@sqlite_only
async def test_broadcasts_interrupted_by_a_restart_are_followed_again(
    sessions: Sessions,
) -> None:
    await add_chats(sessions, [1, 2])
    broadcast_id = await start_broadcast(sessions)
    async with telegram() as (fake, bot):
        tasks = await resume_broadcasts(bot, sessions, clock=utc_now, interval=0.1)
        assert len(tasks) == 1
        await Outbox(sessions, bot, clock=utc_now).drain(timeout=10)
        await asyncio.wait_for(tasks[0], 5)
        # No progress message was stored: the admin got one, then the report.
        to_admin = [m.plain_text or "" for m in fake.messages(777)]
    assert to_admin[0].startswith(f"📣 Broadcast #{broadcast_id}:")
    assert to_admin[-1].startswith(f"Broadcast #{broadcast_id} ✅ finished")


@sqlite_only
async def test_the_outbox_fans_routed_articles_out_and_sends_each_chat_its_card(
    sessions: Sessions,
) -> None:
    from bot.routing import route_articles
    from tests.test_routing import NOW as ROUTED_AT
    from tests.test_routing import add_article, add_chat, add_feed

    feed = await add_feed(sessions)
    for chat_id in (1, 2, 3):
        await add_chat(sessions, chat_id, topics=["space"])
    article = await add_article(sessions, "Moon rocks", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=ROUTED_AT)
    async with sessions() as s:
        assert await queries.pending_count(s) == 3  # not rows yet, but waiting all the same

    async with telegram() as (fake, bot):
        box = Outbox(sessions, bot, clock=utc_now)
        assert await box.drain() == 3
        assert sorted(c.params["chat_id"] for c in fake.calls("sendMessage")) == [1, 2, 3]
    assert all("Moon rocks" in c.params["text"] for c in fake.calls("sendMessage"))
    async with sessions() as s:
        assert await queries.pending_count(s) == 0
