"""The long-running process: the bot with ingestion when a token is set; otherwise
ingestion alone, printing each new article's card to the terminal. Ctrl-C stops both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from bot.app import run_bot
from bot.catalog import seed_feeds
from bot.context import AppContext, open_context
from bot.health import health_limits
from bot.ingest import PassReport
from bot.metrics import Metrics
from bot.monitoring import Monitor
from bot.probes import serve_probes
from bot.render import card_from_article, render_card_text
from bot.services import utc_now
from bot.settings import Settings
from db import queries
from db.models import Article

log = logging.getLogger(__name__)
out = Console()

# Never sleep less than this between passes, so a broken clock can't spin the loop.
MIN_SLEEP = 1.0
NO_TOKEN_HINT = (
    "TELEGRAM_BOT_TOKEN is not set: printing new articles here. To connect Telegram, create a "
    "bot with @BotFather and set TELEGRAM_BOT_TOKEN (and ADMIN_IDS) in the environment or .env."
)


async def print_report(ctx: AppContext, report: PassReport) -> None:
    backlog = sum(1 for a in report.new_articles if not a.announce)
    now = datetime.now(UTC)
    async with ctx.sessions() as session:
        for new in report.new_articles:
            if not new.announce:
                continue
            article = await session.get(Article, new.id)
            if article is None:
                continue
            card = card_from_article(article, source=new.source)
            text = render_card_text(card, sentences=2, tz=ZoneInfo("UTC"), now=now)
            out.print(escape(text) + "\n", highlight=False, soft_wrap=True)
    if backlog:
        out.print(
            f"[dim]{backlog} earlier articles stored from newly added feeds (not announced)[/]"
        )
    if report.failed:
        out.print(f"[yellow]{report.failed} feeds failed this pass (sciforum feeds list)[/]")


async def sleep_until_due(ctx: AppContext) -> None:
    async with ctx.sessions() as session:
        due = await queries.next_due_time(session)
    now = datetime.now(UTC)
    interval = ctx.settings.poll_interval
    wait = interval if due is None else (due - now).total_seconds()
    await asyncio.sleep(min(max(wait, MIN_SLEEP), interval))


async def run_terminal(ctx: AppContext) -> None:
    out.print(NO_TOKEN_HINT, highlight=False)
    out.print(f"polling feeds every {ctx.settings.poll_interval:g}s; Ctrl-C stops", highlight=False)
    monitor = terminal_monitor(ctx)
    probes = serve_probes(monitor, ctx.settings)
    await monitor.start()
    stop = asyncio.Event()
    beats = asyncio.create_task(monitor.run(stop), name="heartbeat")
    try:
        while True:
            report = await monitor.run_pass(ctx.ingestor, now=datetime.now(UTC))
            await print_report(ctx, report)
            await sleep_until_due(ctx)
    finally:
        stop.set()
        await beats
        if probes is not None:
            await probes.stop()


def terminal_monitor(ctx: AppContext) -> Monitor:
    """Without Telegram the process only ingests: its heartbeat says so (role ``ingest``)."""
    limits = health_limits(ctx.settings)
    return Monitor(ctx.sessions, Metrics(), role="ingest", limits=limits, clock=utc_now)


async def run_forever(settings: Settings) -> None:
    # SIGTERM (docker stop, systemd) stops as cleanly as Ctrl-C: cancel, then unwind.
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # not on Windows
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    async with open_context(settings) as ctx:
        seeded = await seed_feeds(ctx)
        if seeded:
            out.print(seeded, highlight=False)
        if settings.token:
            await run_bot(ctx, announce=lambda line: out.print(line, highlight=False))
        else:
            await run_terminal(ctx)
