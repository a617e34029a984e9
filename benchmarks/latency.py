"""Command latency benchmark: how long `/latest 10` and `/search <word>` take to answer,
idle and while an admin broadcast goes out to N chats, through the fake Bot API (which
enforces Telegram's limits: 30 msg/s overall, 1/s per chat).

The whole bot runs as `sciforum run` builds it (bot.app.build_application: handlers, the
per-user throttle, the reply limiter sharing the send budget with the outbox). A command's
latency is the time from its update being queued at the fake server (PTB's long poll is
waiting, so getUpdates returns it at once) to the reply arriving there, both read from the
fake's clock. Commands rotate over several subscribed users, one every ``--every`` s, so no
user meets the throttle or the 1 message/s per chat limit by itself.

    .venv/bin/python benchmarks/latency.py                  # 2,000 chats, ~1.5 minutes
    .venv/bin/python benchmarks/latency.py --chats 300 --seconds 10   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, start_background, stop_background
from bot.context import open_context
from bot.heap import settle_heap
from bot.settings import Settings
from db.articles import ArticleDraft, insert_article
from db.models import Chat, ChatTopic
from tests.fakebot import FakeTelegram, Limits

App = Any
ADMIN = 4242
# Askers: subscribed private chats taking turns.
USERS = tuple(7_000_001 + i for i in range(24))
COMMANDS = ("/latest 10", "/search fusion")
WORDS = ("fusion", "telescope", "genome", "climate", "quantum")


def utc_now() -> datetime:
    return datetime.now(UTC)


async def seed(sessions: Any, *, articles: int, chats: int) -> None:
    """Articles on the askers' topic (a fifth mention fusion), the askers, the broadcast's
    audience."""
    now = utc_now()
    async with sessions() as s, s.begin():
        for n in range(articles):
            word = WORDS[n % len(WORDS)]
            text = f"Researchers report progress in {word} science, item {n}. " * 8
            draft = ArticleDraft(
                url=f"https://news.example/{n}",
                title=f"Advances in {word} research, report {n}",
                author=None,
                published=now - timedelta(minutes=n),
                first_seen=now - timedelta(minutes=n),
                language="en",
                text=text,
                text_source="feed",
                content_hash=f"h{n}",
                simhash=None,
                # Stored as routed: nothing is pushed to the askers while they ask.
                announce=False,
                summary=[text[:200]],
                topics=["space"],
            )
            await insert_article(s, draft, now=now)
        s.add_all(Chat(id=u, type="private", created_at=now) for u in USERS)
        s.add_all(ChatTopic(chat_id=u, slug="space") for u in USERS)
        audience = range(8_000_001, 8_000_001 + chats)
        s.add_all(Chat(id=c, type="private", created_at=now) for c in audience)


@dataclass
class Sample:
    command: str
    seconds: float  # inf: no answer within the timeout
    reply: str = ""


async def ask(
    fake: FakeTelegram,
    stop: asyncio.Event,
    every: float,
    commands: tuple[str, ...] = COMMANDS,
) -> list[Sample]:
    """One command every ``every`` s, rotating over askers and ``commands``, until ``stop``."""
    samples: list[Sample] = []

    async def one(user: int, command: str) -> None:
        before = len(fake.messages(user))
        queued = time.monotonic()  # the fake's clock (FakeTelegram's default)
        fake.user_sends(user, command)
        try:
            await fake.wait_for_messages_async(user, before + 1, timeout=30)
        except TimeoutError:
            samples.append(Sample(command, float("inf")))
            return
        reply = fake.messages(user)[before]
        samples.append(Sample(command, reply.timestamp - queued, reply.plain_text or ""))

    await take_turns(one, stop, every, commands, itertools.count())
    return samples


async def take_turns(
    one: Callable[[int, str], Awaitable[None]],
    stop: asyncio.Event,
    every: float,
    commands: tuple[str, ...],
    turns: Iterator[int],
) -> None:
    """``one(user, command)`` started every ``every`` s, rotating over the askers and
    ``commands`` from the next of ``turns``, until ``stop``; then waits for those in flight."""
    pending: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        started = time.monotonic()
        turn = next(turns)
        user, command = USERS[turn % len(USERS)], commands[turn % len(commands)]
        task = asyncio.create_task(one(user, command))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(max(every - (time.monotonic() - started), 0.0))
    if pending:
        await asyncio.wait(pending)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def row(phase: str, command: str, samples: list[Sample]) -> str:
    mine = [s.seconds for s in samples if s.command == command]
    answered = [x for x in mine if x != float("inf")]
    if not answered:
        return f"{phase:<22} {command:<16} {len(mine):>5} {'-':>8} {'-':>8} {'-':>8}"
    return (
        f"{phase:<22} {command:<16} {len(mine):>5} {1000 * statistics.median(answered):>6.0f}ms "
        f"{1000 * percentile(answered, 0.99):>6.0f}ms {len(mine) - len(answered):>8}"
    )


async def start_broadcast(fake: FakeTelegram) -> None:
    fake.user_sends(ADMIN, "/broadcast <b>SciForum</b> news: a benchmark broadcast")
    await fake.wait_until_async(lambda: any(m.reply_markup for m in fake.messages(ADMIN)), 30)
    confirm = next(m for m in fake.messages(ADMIN) if m.reply_markup)
    assert confirm.reply_markup is not None
    data = next(
        str(button["callback_data"])
        for line in confirm.reply_markup["inline_keyboard"]
        for button in line
        if "Send" in button["text"]
    )
    fake.user_clicks(ADMIN, confirm.message_id, data)


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[App]:
    """``app`` started as ``sciforum run`` starts it (its background work, long polling),
    stopped on exit."""
    async with app:
        await app.start()
        await start_background(app)
        settle_heap()  # as run_bot does
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await stop_background(app)
            await app.stop()


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="latency-bench-"))
    (folder / "none.txt").write_text("")
    fake = FakeTelegram(enforce_limits=True, limits=Limits(global_per_second=30)).start()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{folder / 'b.db'}",
        telegram_bot_token=fake.token,
        telegram_api_url=fake.url,
        admin_ids=frozenset({ADMIN}),
        feeds=folder / "none.txt",
        poll_interval=3600,
    )
    samples: dict[str, list[Sample]] = {}
    audience = range(8_000_001, 8_000_001 + args.chats)
    try:
        async with open_context(settings, processes=False) as ctx:
            await seed(ctx.sessions, articles=args.articles, chats=args.chats)
            async with running(build_application(ctx, ingest_every=3600)):
                for phase in ("idle", "broadcast"):
                    if phase == "broadcast":
                        await start_broadcast(fake)
                        await fake.wait_until_async(
                            lambda: sum(bool(fake.messages(c)) for c in audience[:50]) > 0,
                            30,
                        )
                    stop = asyncio.Event()
                    asker = asyncio.create_task(ask(fake, stop, args.every))
                    await asyncio.sleep(args.seconds)
                    stop.set()
                    samples[phase] = await asker
                reached = sum(1 for c in audience if fake.messages(c))
        stats = fake.stats()
    finally:
        fake.stop()
    print(
        f"{args.articles} articles; one command every {args.every:g} s over {len(USERS)} users "
        f"for {args.seconds:g} s per phase; broadcast to {args.chats:,} chats "
        f"({reached:,} reached while measuring); Telegram limit 30 msg/s"
    )
    print(f"{'phase':<22} {'command':<16} {'n':>5} {'p50':>8} {'p99':>8} {'no reply':>8}")
    for phase, label in (("idle", "idle"), ("broadcast", "broadcast running")):
        for command in COMMANDS:
            print(row(label, command, samples[phase]))
    print(f"429s received: {stats.too_many_requests}   busiest second: {stats.max_global_rate}")
    for command in COMMANDS:
        # What was measured: the list reply, not a usage line or a "slow down".
        example = next((s.reply for s in samples["idle"] if s.command == command), "")
        lines = example.splitlines()
        print(f"{command} answers: {lines[0] if lines else '-'!r} ({len(lines)} lines)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=2000, help="the broadcast's audience")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between commands")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
