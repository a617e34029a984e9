"""What one ``sciforum run`` process does: ``--role all`` (the bot and ingestion, the
default), ``bot`` (commands, routing, digests, the outbox; no feed polling) or ``ingest``
(feed polling only: no token, nothing sent, nothing routed).

Several processes share one PostgreSQL: ingest workers claim feeds with leases
(``db.leases``), and one process per bot token sends (``db.locks.SenderLock``), so
Telegram's limits for the bot hold however many processes run. A second bot process waits
for the lock and takes over when the first dies.

SQLite runs one process: ``check_role`` refuses the split roles on it. SQLite has one
writer for the whole file and no row or advisory locks, so separate processes would queue
on its write lock (each write waits out the others' busy time), and nothing would keep two
bot processes from both sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from bot.context import AppContext
from bot.errors import RoleError
from bot.ingest import PassReport
from bot.monitoring import Monitor
from db import leases
from db.engine import is_sqlite, reading
from db.errors import StorageError
from db.locks import SenderLock, bot_id_of, sender_lock_key

log = logging.getLogger(__name__)

Role = Literal["all", "bot", "ingest"]
ROLES: tuple[str, ...] = get_args(Role)
# Feeds one ingest worker claims at a time: a dead worker strands no more than these until
# their leases expire, and the other workers share a long list batch by batch.
CLAIM_BATCH = 100
# Never sleep less than this between passes, so a broken clock can't spin the loop.
MIN_SLEEP = 1.0


def check_role(role: Role, *, database_url: str, token: str | None) -> None:
    """RoleError when ``role`` cannot run with these settings (see the module docstring)."""
    if role == "all":
        return
    if is_sqlite(database_url):
        raise RoleError(
            f"--role {role} needs PostgreSQL (DATABASE_URL=postgresql://...): SQLite has one "
            "writer and no locks between processes, so run a single `sciforum run` on it"
        )
    if role == "bot" and not token:
        raise RoleError("--role bot needs TELEGRAM_BOT_TOKEN")
    if token:
        try:
            bot_id_of(token)
        except ValueError as exc:
            raise RoleError(f"TELEGRAM_BOT_TOKEN: {exc}") from None


def sleep_seconds(next_claim: datetime | None, *, now: datetime, interval: float) -> float:
    """How long an ingest worker waits before it tries to claim again: until the next
    claim time, at least MIN_SLEEP and at most one poll interval."""
    wait = interval if next_claim is None else (next_claim - now).total_seconds()
    return min(max(wait, MIN_SLEEP), interval)


async def run_ingest_worker(
    ctx: AppContext,
    *,
    batch: int = CLAIM_BATCH,
    on_report: Callable[[PassReport], None] | None = None,
    monitor: Monitor | None = None,
) -> None:
    """Claim and poll due feeds until cancelled: at once again while the batches come back
    full, otherwise after a sleep until the next feed can be claimed. With a ``monitor``,
    each pass also makes its metrics and heartbeat (the pass logs its own summary line)."""
    ingestor = ctx.ingestor
    log.info("ingest worker %s: polling feeds (batches of %d)", ingestor.owner, batch)
    while True:
        now = datetime.now(UTC)
        if monitor is None:
            report = await ingestor.run_pass(now=now, batch=batch)
        else:
            report = await monitor.run_pass(ingestor, now=now, batch=batch)
        if on_report is not None:
            on_report(report)
        if report.claimed >= batch:
            continue
        now = datetime.now(UTC)
        try:
            async with reading(ctx.sessions) as session:
                due = await leases.next_claim_time(session, now=now)
        except StorageError as exc:
            log.warning("could not read when the next feed is due: %s", exc)
            due = None
        await asyncio.sleep(sleep_seconds(due, now=now, interval=ctx.settings.poll_interval))


async def send_alone(ctx: AppContext, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``run()`` (the bot) once this process holds the bot's sender lock, and stop it if
    the lock is lost (db.errors.SenderLostError). On SQLite (one process) it just runs."""
    settings = ctx.settings
    token = settings.token
    if token is None or is_sqlite(settings.database_url):
        await run()
        return
    lock = SenderLock(ctx.engine, sender_lock_key(token))
    bot_id = bot_id_of(token)
    await lock.acquire(
        on_wait=lambda: log.warning(
            "another process sends for bot %s (it holds the PostgreSQL advisory lock): "
            "waiting to take over when it stops",
            bot_id,
        )
    )
    log.info("this process sends for bot %s", bot_id)
    bot = asyncio.create_task(run(), name="bot")
    watch = asyncio.create_task(lock.watch(), name="sender lock")
    try:
        await asyncio.wait({bot, watch}, return_when=asyncio.FIRST_COMPLETED)
        if watch.done():
            watch.result()  # raises: the lock is gone
        bot.result()
    finally:
        # The bot stops cleanly (its sends in flight recorded), then the lock goes.
        watch.cancel()
        bot.cancel()
        await asyncio.gather(watch, bot, return_exceptions=True)
        await lock.release()
