"""The whole product end to end: feeds from the loopback feed server, the bot from the
app factory, Telegram played by the fake Bot API — PTB's real HTTP stack throughout."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from telegram.ext import Application

from bot.app import build_application, runtime, start_background, stop_background
from bot.context import open_context
from bot.ingest import PassReport
from bot.settings import Settings
from db import queries
from db.chats import add_topic, chat_topics, get_chat, update_settings
from tests.conftest import forums_feed
from tests.fakebot import FakeTelegram, Limits
from tests.feedserver import FeedServer

ADMIN = 4242
USER = 1001


class Clock:
    """Real time shifted to a chosen moment: feeds fall due as time passes, and a test can
    jump to the hour it needs."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset


@dataclass
class World:
    fake: FakeTelegram
    feeds: FeedServer
    app: Application[Any, Any, Any, Any, Any, Any]
    clock: Clock
    sessions: Any
    passes: list[PassReport]
    passed: asyncio.Event

    async def wait_passes(self, count: int) -> None:
        """Until ``count`` ingest passes have run (at most 20 s)."""
        async with asyncio.timeout(20):
            while len(self.passes) < count:
                self.passed.clear()
                await self.passed.wait()


def _items(*indexes: int) -> str:
    """The fixture feed with only the given items (0-4), polled every POLL_INTERVAL."""
    return forums_feed(*indexes, ttl=False)


@pytest.fixture
def feeds(article_site: FeedServer) -> FeedServer:
    return article_site


@pytest.fixture
async def world(tmp_path: Path, feeds: FeedServer) -> AsyncIterator[World]:
    fake = FakeTelegram(enforce_limits=True, limits=Limits(global_per_second=300)).start()
    clock = Clock(datetime(2025, 11, 25, 6, 0, tzinfo=UTC))
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        telegram_bot_token=fake.token,
        telegram_api_url=fake.url,
        admin_ids=frozenset({ADMIN}),
        poll_interval=0.2,
        send_rate=250,
        http_allow_private=True,  # the feed server is on loopback
    )
    async with open_context(settings, processes=False) as ctx:
        passes: list[PassReport] = []
        passed = asyncio.Event()

        def on_report(report: PassReport) -> None:
            passes.append(report)
            passed.set()

        app = build_application(
            ctx, clock=clock, ingest_every=0.2, digest_every=0.2, on_report=on_report
        )
        async with app:
            await app.start()
            await start_background(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield World(fake, feeds, app, clock, ctx.sessions, passes, passed)
            finally:
                await app.updater.stop()
                await stop_background(app)
                await app.stop()
    fake.stop()


def _button(message: Any, label: str) -> str:
    for row in message.reply_markup["inline_keyboard"]:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {message.reply_markup}")


def _has_button(message: Any, label: str) -> bool:
    rows = message.reply_markup["inline_keyboard"] if message.reply_markup else []
    return any(label in button["text"] for row in rows for button in row)


async def _subscribe_to(world: World, chat_id: int, topic_label: str) -> None:
    world.fake.user_sends(chat_id, "/start")
    (welcome,) = await world.fake.wait_for_messages_async(chat_id, 1)
    # The picker shows 8 topics a page: page forward (▶) until the topic is on it.
    for _ in range(5):
        if _has_button(welcome, topic_label):
            break
        edits = len(world.fake.messages(chat_id, include_edits=True))
        world.fake.user_clicks(chat_id, welcome.message_id, _button(welcome, "▶"))
        await world.fake.wait_until_async(
            lambda edits=edits: len(world.fake.messages(chat_id, include_edits=True)) > edits,
            timeout=10,
        )
        welcome = world.fake.messages(chat_id, include_edits=True)[-1]
    world.fake.user_clicks(chat_id, welcome.message_id, _button(welcome, topic_label))
    await world.fake.wait_until_async(
        lambda: any(
            "✅" in b["text"]
            for m in world.fake.messages(chat_id, include_edits=True)
            if m.reply_markup
            for row in m.reply_markup["inline_keyboard"]
            for b in row
        ),
        timeout=10,
    )


async def _add_feed(world: World, body: str) -> None:
    url = world.feeds.add("/forums.rss", body)
    async with world.sessions() as s, s.begin():
        await queries.add_feed(s, url, now=world.clock())


async def test_a_subscriber_gets_the_card_of_a_matching_new_article_saying_why_and_nothing_else(
    world: World,
) -> None:
    await _subscribe_to(world, USER, "Microbiology")
    before = len(world.fake.messages(USER))
    # The feed's first poll is backlog (the Qingdao conference): stored, not pushed.
    await _add_feed(world, _items(1))
    start = len(world.passes)
    await world.wait_passes(start + 2)

    # New: the Shenzhen microbiology symposium (matches) and the Guangming infrastructure
    # forum (science policy: does not match).
    world.feeds.add("/forums.rss", _items(0, 1, 2))
    await world.wait_passes(len(world.passes) + 3)
    await world.fake.wait_for_messages_async(USER, before + 1, timeout=10)
    await asyncio.sleep(0.5)  # anything else would have arrived by now

    pushed = world.fake.messages(USER)[before:]
    assert len(pushed) == 1
    card = pushed[0]
    assert "Shenzhen Symposium Highlights" in card.plain_text
    assert card.parse_mode == "HTML"
    assert "#microbiology" in card.plain_text
    assert "Guangming" not in card.plain_text
    assert "Qingdao" not in card.plain_text
    # Why it came, and what to do about it: the forum into a calendar, or less of its topic.
    assert card.plain_text.endswith("💡 because: #microbiology")
    labels = [b["text"] for row in card.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["📅 Add to calendar", "🔕 Mute #microbiology"]
    assert card.params.get("disable_notification") is not True


async def test_a_daily_digest_arrives_at_the_chosen_local_hour(world: World) -> None:
    world.clock.set(datetime(2025, 11, 25, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    await _subscribe_to(world, USER, "Microbiology")
    async with world.sessions() as s, s.begin():
        # As /settings does when a chat switches to a digest: the next slot is the first.
        await update_settings(
            s,
            USER,
            mode="daily",
            digest_hour=9,
            timezone="Asia/Shanghai",
            last_digest_at=world.clock(),
        )
    await _add_feed(world, _items(1))
    await world.wait_passes(len(world.passes) + 2)
    before = len(world.fake.messages(USER))

    world.feeds.add("/forums.rss", _items(0, 1))
    await world.wait_passes(len(world.passes) + 3)
    await asyncio.sleep(0.6)
    assert len(world.fake.messages(USER)) == before  # matched, held for the 09:00 digest

    world.clock.set(datetime(2025, 11, 25, 1, 1, tzinfo=UTC))  # 09:01 in Shanghai
    (digest,) = (await world.fake.wait_for_messages_async(USER, before + 1, timeout=10))[before:]
    assert "digest" in digest.plain_text.lower()
    assert "Shenzhen Symposium Highlights" in digest.plain_text
    assert (digest.link_preview_options or {}).get("is_disabled") is True
    assert digest.params.get("disable_notification") is True  # digests never ring
    await asyncio.sleep(0.6)
    assert len(world.fake.messages(USER)) == before + 1  # once per slot


async def test_an_admin_broadcast_reaches_every_reachable_chat_once_within_the_limits(
    world: World,
) -> None:
    chats = list(range(2_000_001, 2_000_501))
    blocked = chats[:10]
    flooded = chats[10:20]
    async with world.sessions() as s, s.begin():
        from db.models import Chat

        s.add_all(Chat(id=c, type="private", created_at=world.clock()) for c in chats)
    for chat in blocked:
        world.fake.fail_chat(chat, "blocked")
    for chat in flooded:
        world.fake.fail_chat(chat, "retry_after", retry_after=1, times=1)

    world.fake.user_sends(ADMIN, "/broadcast <b>SciForum</b> news: new forums feed")
    await world.fake.wait_until_async(
        lambda: any(m.reply_markup for m in world.fake.messages(ADMIN)), timeout=10
    )
    confirm = next(m for m in world.fake.messages(ADMIN) if m.reply_markup)
    assert "500" in confirm.plain_text or "500" in world.fake.messages(ADMIN)[0].plain_text
    world.fake.user_clicks(ADMIN, confirm.message_id, _button(confirm, "Send"))

    reachable = [c for c in chats if c not in blocked]
    await world.fake.wait_until_async(
        lambda: all(world.fake.messages(c) for c in reachable), timeout=30
    )
    await asyncio.sleep(0.5)
    assert all(len(world.fake.messages(c)) == 1 for c in reachable)
    assert all(world.fake.messages(c)[0].text.startswith("<b>SciForum</b>") for c in reachable)
    assert not any(world.fake.messages(c) for c in blocked)
    async with world.sessions() as s:
        states = [(await get_chat(s, c)) for c in blocked]
    assert all(chat is not None and not chat.active for chat in states)
    stats = world.fake.stats()
    assert stats.too_many_requests == len(flooded)  # only the injected ones
    assert stats.max_chat_rate <= 2


async def test_a_user_flooding_commands_gets_a_few_answers_one_slow_down_and_no_429(
    world: World,
) -> None:
    for n in range(50):
        world.fake.user_sends(USER, ("/help", "/latest", "/mysubs", "/start")[n % 4])

    await world.fake.wait_for_messages_async(USER, 5, timeout=15)
    await asyncio.sleep(1.5)  # one more answer, paced at 1/s, would have come by now

    answers = [m.plain_text for m in world.fake.messages(USER)]
    assert sum("Slow down" in text for text in answers) == 1
    # Four commands a burst and the one slow down (a fifth command if a token came back
    # while the burst was being handled, which takes 3 s).
    assert 5 <= len(answers) <= 6
    stats = world.fake.stats()
    assert (stats.too_many_requests, stats.max_chat_rate) == (0, 1)


async def _chat_row(world: World, chat_id: int) -> Any:
    async with world.sessions() as s:
        return await get_chat(s, chat_id)


async def _exists(world: World, chat_id: int) -> bool:
    return await _chat_row(world, chat_id) is not None


async def _until(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    """Poll the database (which the fake cannot signal) until ``check`` holds."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not true within {seconds} s")


async def test_a_user_who_blocks_the_bot_is_deactivated_at_once(world: World) -> None:
    await _subscribe_to(world, USER, "Microbiology")
    world.fake.add_chat_member_update(USER, "kicked")
    await world.fake.wait_until_async(lambda: world.fake.pending_updates() == 0, timeout=5)

    async def deactivated() -> bool:
        chat = await _chat_row(world, USER)
        return chat is not None and not chat.active

    await _until(deactivated)
    assert "kicked" in ((await _chat_row(world, USER)).deactivated_reason or "")


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscriptions(world: World) -> None:
    group, supergroup = -4001, -1004001
    world.fake.add_chat_member_update(group, "member", chat_type="group")
    await _until(lambda: _exists(world, group))
    async with world.sessions() as s, s.begin():
        await add_topic(s, group, "microbiology")

    world.fake.group_migrates(group, supergroup)

    await _until(lambda: _exists(world, supergroup))
    assert await _chat_row(world, group) is None
    async with world.sessions() as s:
        assert await chat_topics(s, supergroup) == ["microbiology"]


def _run_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
    )


def test_a_broadcast_killed_mid_way_finishes_after_a_restart(tmp_path: Path) -> None:
    chats = list(range(3_000_001, 3_000_301))
    with FakeTelegram(enforce_limits=True) as fake:
        db_path = tmp_path / "bot.db"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.url,
            "ADMIN_IDS": str(ADMIN),
            "FEEDS": str(tmp_path / "feeds.txt"),
            "SEND_RATE": "25",
            "SUMMARY_WORKERS": "1",
            "LOG_LEVEL": "WARNING",
        }
        (tmp_path / "feeds.txt").write_text("# no feeds in this test\n")
        subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=60,
        )
        with sqlite3.connect(db_path) as conn:
            conn.executemany(
                "INSERT INTO chats (id, type, created_at, active, mode, digest_hour, "
                "digest_weekday, timezone, summary_sentences, forums_only, paused, slot) "
                "VALUES (?, 'private', '2025-11-25 00:00:00', 1, 'instant', 8, 0, 'UTC', 2, 0, 0,"
                " (SELECT coalesce(max(slot), 0) + 1 FROM chats))",
                [(c,) for c in chats],
            )
        bot = _run_bot(env, tmp_path)
        try:
            fake.wait_until(lambda: bool(fake.commands()), timeout=30)  # started
            fake.user_sends(ADMIN, "/broadcast Restart-proof <i>hello</i>")
            fake.wait_until(lambda: any(m.reply_markup for m in fake.messages(ADMIN)), timeout=20)
            confirm = next(m for m in fake.messages(ADMIN) if m.reply_markup)
            fake.user_clicks(ADMIN, confirm.message_id, _button(confirm, "Send"))
            fake.wait_until(lambda: sum(1 for c in chats if fake.messages(c)) >= 60, timeout=30)
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            delivered_before = sum(1 for c in chats if fake.messages(c))
            assert delivered_before < len(chats)
            # Still pending in the outbox at the kill: not sent yet, or sent with the outcome
            # not committed (in flight, or waiting for the recorder's batch).
            with sqlite3.connect(db_path) as conn:
                pending = {
                    chat_id
                    for (chat_id,) in conn.execute(
                        "SELECT chat_id FROM deliveries WHERE status = 'pending'"
                    )
                }

            bot = _run_bot(env, tmp_path)
            fake.wait_until(lambda: all(fake.messages(c) for c in chats), timeout=60)
            time.sleep(0.5)
        finally:
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
        counts = {c: len(fake.messages(c)) for c in chats}
        # At-least-once: only a send whose outcome was not committed at the kill repeats,
        # once (one recorded as sent is never sent again).
        repeated = {c for c, n in counts.items() if n > 1}
        assert repeated <= pending
        assert max(counts.values()) <= 2
        assert fake.stats().too_many_requests == 0


async def test_an_unexpected_failure_is_logged_counted_and_answered_politely(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with world.sessions() as s, s.begin():
        await s.exec(sa.text("DROP TABLE chat_rules"))  # a broken database: a bug, not input

    world.fake.user_sends(USER, "/subscribe crispr")

    (reply,) = await world.fake.wait_for_messages_async(USER, 1, timeout=10)
    assert "something went wrong" in reply.plain_text.lower()
    assert runtime(world.app).errors == 1
    assert any("unexpected error" in r.message for r in caplog.records)
