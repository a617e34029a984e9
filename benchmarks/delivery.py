"""Delivery benchmark: one broadcast to N subscribed chats through the fake Bot API, which
enforces Telegram's documented limits (30 msg/s overall, 1/s per chat, 20/min per group).

Prints the broadcast's messages per second against the outbox's configured pace (the global
limit minus the share kept for command replies), the 429s Telegram (the fake) answered, and
p50 / p99 time to answer /ping sent every ~0.5 s from a private chat during the broadcast;
/ping is served by a small PTB Application that replies directly (not via the outbox), as
command replies do, sharing the same 30/s budget.

    .venv/bin/python benchmarks/delivery.py                # 5,000 chats: ~3 minutes
    .venv/bin/python benchmarks/delivery.py --chats 300    # a quick look
    .venv/bin/python benchmarks/delivery.py --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.delivery import Outbox, RateLimits, ReplyBudget, SendBudget
from db import outbox
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.models import Chat, ChatTopic
from tests.fakebot import FakeTelegram, Limits

Sessions = async_sessionmaker[AsyncSession]
App = Application[Any, Any, Any, Any, Any, Any]
# Pings rotate over a few users: one private chat pinged every 0.5 s would itself break
# Telegram's 1 message/s per chat with the replies.
PING_CHATS = tuple(987_654_000 + i for i in range(4))
GROUP_SHARE = 10  # every 10th chat is a group


def utc_now() -> datetime:
    return datetime.now(UTC)


async def seed(sessions: Sessions, chats: int) -> int:
    """N active chats with a topic each, and a started broadcast to all of them."""
    now = utc_now()
    async with sessions() as s, s.begin():
        ids = [-i if i % GROUP_SHARE == 0 else i for i in range(1, chats + 1)]
        s.add_all(Chat(id=i, type="group" if i < 0 else "private", created_at=now) for i in ids)
        s.add_all(ChatTopic(chat_id=i, slug="space") for i in ids)
    async with sessions() as s, s.begin():
        broadcast = await outbox.create_broadcast(
            s, admin_id=1, text="<b>SciForum</b> news: a benchmark broadcast", now=now
        )
        assert broadcast.id is not None
        await outbox.start_broadcast(s, broadcast.id, now=now)
        return broadcast.id


async def pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text("pong")


async def start_app(fake: FakeTelegram, budget: SendBudget) -> App:
    # As bot.app does: replies are charged to the budget the outbox paces itself in.
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .rate_limiter(ReplyBudget(budget))
        .build()
    )
    app.add_handler(CommandHandler("ping", pong))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    return app


async def stop_app(app: App) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def ping_loop(fake: FakeTelegram, done: asyncio.Event, every: float) -> list[float]:
    """Send /ping every ``every`` s until ``done``; returns each answer's latency (inf:
    no answer within 10 s)."""
    latencies: list[float] = []
    turn = 0
    while not done.is_set():
        chat = PING_CHATS[turn % len(PING_CHATS)]
        turn += 1
        before = len(fake.messages(chat))
        started = time.monotonic()
        fake.user_sends(chat, "/ping")
        try:
            await fake.wait_for_messages_async(chat, before + 1, timeout=10)
            latencies.append(time.monotonic() - started)
        except TimeoutError:
            latencies.append(float("inf"))
        await asyncio.sleep(max(every - (time.monotonic() - started), 0.0))
    return latencies


async def wait_finished(sessions: Sessions, broadcast_id: int) -> None:
    while True:
        async with sessions() as s:
            if (await outbox.broadcast_progress(s, broadcast_id)).pending == 0:
                return
        await asyncio.sleep(0.5)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='delivery-bench-')}/b.db"
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    broadcast_id = await seed(sessions, args.chats)
    limits = RateLimits(global_per_second=args.rate, reserve_per_second=args.reserve)
    fake_limits = Limits(global_per_second=int(args.rate))
    budget = SendBudget(limits.outbox_per_second)
    with FakeTelegram(enforce_limits=True, limits=fake_limits) as fake:
        app = await start_app(fake, budget)
        request = HTTPXRequest(connection_pool_size=32, read_timeout=10.0)
        async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
            box = Outbox(sessions, bot, limits=limits, clock=utc_now, budget=budget)
            stop, done = asyncio.Event(), asyncio.Event()
            worker = asyncio.create_task(box.run(stop))
            pinger = asyncio.create_task(ping_loop(fake, done, args.ping_every))
            started = time.monotonic()
            await wait_finished(sessions, broadcast_id)
            wall = time.monotonic() - started
            done.set()
            stop.set()
            await worker
            latencies = await pinger
        await stop_app(app)
        stats = fake.stats()
        everything = fake.all_messages()
        sent = [m for chat, ms in everything.items() if chat not in PING_CHATS for m in ms]
        pongs = [everything.get(chat, []) for chat in PING_CHATS]
    await engine.dispose()
    stamps = sorted(m.timestamp for m in sent)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    rate = (len(stamps) - 1) / span if span else 0.0
    pace = limits.outbox_per_second
    replies = sum(len(fake_messages) for fake_messages in pongs)
    total_rate = (len(stamps) + replies - 1) / span if span else 0.0
    print(f"chats: {args.chats:,} ({args.chats // GROUP_SHARE:,} groups)   database: {url}")
    print(
        f"broadcast: {len(stamps):,} messages in {span:.1f} s (wall {wall:.1f} s) = "
        f"{rate:.2f} msg/s vs configured {pace:.1f} msg/s ({100 * rate / pace:.1f} %; "
        f"Telegram limit {args.rate:.0f}/s)"
    )
    print(
        f"with the {replies} /ping replies in the same span: {total_rate:.2f} msg/s "
        f"({100 * total_rate / args.rate:.1f} % of Telegram's {args.rate:.0f}/s)"
    )
    print(
        f"429s received: {stats.too_many_requests}   busiest second: {stats.max_global_rate} "
        f"sends   busiest chat second: {stats.max_chat_rate}   "
        f"busiest group minute: {stats.max_group_rate_per_minute}"
    )
    finite = [x for x in latencies if x != float("inf")]
    if finite:
        print(
            f"/ping during the broadcast: {len(latencies)} sent, {len(latencies) - len(finite)} "
            f"unanswered; p50 {1000 * statistics.median(finite):.0f} ms, "
            f"p99 {1000 * percentile(finite, 0.99):.0f} ms, max {1000 * max(finite):.0f} ms"
        )
    print(f"outbox stats: {box.stats}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=30.0, help="Telegram's global limit /s")
    parser.add_argument(
        "--reserve", type=float, default=0.0, help="a fixed share kept off the outbox /s"
    )
    parser.add_argument("--ping-every", type=float, default=0.5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
