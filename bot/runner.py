"""The long-running process: the bot with ingestion when a token is set; otherwise
ingestion alone, printing to the terminal each new article's card, a new feed's newest
cards, and when the next check is (the lines: ``bot.terminal``). Ctrl-C or SIGTERM stops
both."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from bot.app import run_bot
from bot.catalog import seed_feeds
from bot.context import AppContext, open_context
from bot.health import health_limits
from bot.heap import settle_heap
from bot.ingest import PassReport
from bot.metrics import Metrics
from bot.monitoring import Monitor
from bot.probes import serve_probes
from bot.render import card_from_article, render_card_text
from bot.roles import Role, check_role, run_ingest_worker, send_alone
from bot.services import utc_now
from bot.settings import Settings
from bot.terminal import (
    Stored,
    local_zone,
    make_console,
    new_feed_heading,
    newest_per_feed,
    next_check_line,
    seconds_until_next_pass,
)
from db import queries
from db.models import Article

NO_TOKEN_HINT = (
    "TELEGRAM_BOT_TOKEN is not set: printing new articles here. To connect Telegram, create a "
    "bot with @BotFather and set TELEGRAM_BOT_TOKEN (and ADMIN_IDS) in the environment or .env."
)


def _print_card(out: Console, article: Article, source: str, now: datetime) -> None:
    card = card_from_article(article, source=source)
    text = render_card_text(card, sentences=2, tz=local_zone(now), now=now)
    out.print(escape(text) + "\n", highlight=False)


async def print_report(ctx: AppContext, report: PassReport, out: Console) -> None:
    """The new articles' cards; for a feed seen for the first time (its backlog is stored,
    not announced), its newest cards: what its subscribers would have got."""
    now = datetime.now(UTC)
    async with ctx.sessions() as session:
        backlog: list[Stored] = []
        loaded: dict[int, Article] = {}
        for new in report.new_articles:
            article = await session.get(Article, new.id)
            if article is None:
                continue
            if new.announce:
                _print_card(out, article, new.source, now)
                continue
            loaded[new.id] = article
            backlog.append(
                Stored(new.id, new.feed_id, new.source, article.published, article.first_seen)
            )
    for source, stored, newest in newest_per_feed(backlog):
        out.print(new_feed_heading(source, stored, len(newest)), style="bold", highlight=False)
        for item in newest:
            _print_card(out, loaded[item.id], source, now)


async def seconds_to_sleep(ctx: AppContext, now: datetime) -> float:
    async with ctx.sessions() as session:
        due = await queries.next_due_time(session)
    return seconds_until_next_pass(due, now=now, interval=ctx.settings.poll_interval)


async def run_terminal(ctx: AppContext, out: Console) -> None:
    out.print(NO_TOKEN_HINT, highlight=False)
    out.print(f"polling feeds every {ctx.settings.poll_interval:g}s; Ctrl-C stops", highlight=False)
    async with monitoring(ctx) as monitor:
        while True:
            report = await monitor.run_pass(ctx.ingestor, now=datetime.now(UTC))
            await print_report(ctx, report, out)
            now = datetime.now(UTC)
            wait = await seconds_to_sleep(ctx, now)
            out.print(next_check_line(now, wait, local_zone(now)), style="dim", highlight=False)
            await asyncio.sleep(wait)


@contextlib.asynccontextmanager
async def monitoring(ctx: AppContext) -> AsyncIterator[Monitor]:
    """A process that only ingests (terminal mode, ``--role ingest``): its heartbeat, beaten
    while it runs, and /healthz and /metrics when METRICS_PORT is set."""
    monitor = terminal_monitor(ctx)
    probes = serve_probes(monitor, ctx.settings)
    await monitor.start()
    stop = asyncio.Event()
    beats = asyncio.create_task(monitor.run(stop), name="heartbeat")
    try:
        yield monitor
    finally:
        stop.set()
        await beats
        if probes is not None:
            await probes.stop()


def terminal_monitor(ctx: AppContext) -> Monitor:
    """Without Telegram the process only ingests: its heartbeat says so (role ``ingest``)."""
    limits = health_limits(ctx.settings)
    return Monitor(ctx.sessions, Metrics(), role="ingest", limits=limits, clock=utc_now)


async def run_forever(settings: Settings, role: Role = "all") -> None:
    check_role(role, database_url=settings.database_url, token=settings.token)
    # SIGTERM (docker stop, systemd) stops as cleanly as Ctrl-C: cancel, then unwind.
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # not on Windows
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    out = make_console()
    async with open_context(settings, routing=role != "ingest") as ctx:
        settle_heap()  # what start-up made lives as long as the process (bot/heap.py)
        if role == "ingest":  # the bot process seeds the feeds, routes and sends
            out.print(f"ingest worker {ctx.ingestor.owner}; Ctrl-C stops", highlight=False)
            async with monitoring(ctx) as monitor:
                await run_ingest_worker(ctx, monitor=monitor)
            return
        seeded = await seed_feeds(ctx)
        if seeded:
            out.print(seeded, highlight=False)
        if settings.token:
            await send_alone(
                ctx,
                lambda: run_bot(
                    ctx,
                    announce=lambda line: out.print(line, highlight=False),
                    ingest=role == "all",
                ),
            )
        else:
            await run_terminal(ctx, out)
