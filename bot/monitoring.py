"""What the running process tells its operator: the heartbeat row it writes to the database
and the metrics it counts, each event fed in from one place.

``Monitor`` is made once per process (by the app factory, or the terminal runner):

- ``start()``: the process's row (host, role, pid, start time), and rows of processes
  gone for a week dropped;
- ``run_pass(ingestor, now=)``: an ingest pass, then (``pass_done``) its metrics and one
  upsert of its figures;
- ``run(stop)``: a beat every ``BEAT_EVERY`` seconds until ``stop``, one upsert with the
  outbox's last confirmed send and depth (not one per send);
- ``check()``: this process's own health verdict (``/healthz``), judged by ``bot.health``;
- ``scrape()``: the metrics text, the outbox gauges read fresh first (``/metrics``).

A database failure costs a beat, never the process: it is logged when the outage starts
and when it ends (``OutageLog``). The health check says so in its line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.health import BEAT_EVERY, HealthLimits, Verdict, judge
from bot.metrics import Metrics
from bot.outage import OutageLog
from db import heartbeat
from db.engine import reading, transaction
from db.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.delivery import Outbox
    from bot.ingest import Ingestor, PassReport

log = logging.getLogger(__name__)
# A heartbeat not written for this long is of a process that is gone (a replaced container).
FORGET_AFTER = timedelta(days=7)


class Monitor:
    """One process's heartbeat and metrics (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        *,
        role: str,
        limits: HealthLimits,
        clock: Callable[[], datetime],
        outbox: Outbox | None = None,
        beat_every: float = BEAT_EVERY,
    ) -> None:
        self._sessions = sessions
        self.metrics = metrics
        self.process = heartbeat.Process(host=socket.gethostname(), role=role, pid=os.getpid())
        self._limits = limits
        self._clock = clock
        self._outbox = outbox
        self._every = beat_every
        self._outage = OutageLog("database (heartbeat)")
        if outbox is not None:
            metrics.watch_outbox(lambda: outbox.stats)

    async def _write(self, what: str, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
        try:
            async with transaction(self._sessions) as session:
                await write(session)
        except StorageError as exc:
            self._outage.failed(exc)
            log.debug("heartbeat (%s) not written: %s", what, exc)
            return
        self._outage.succeeded()

    async def start(self) -> None:
        """The process's first beat; heartbeats of processes gone for a week are dropped."""
        now = self._clock()

        async def write(session: AsyncSession) -> None:
            await heartbeat.forget_before(session, now - FORGET_AFTER)
            await heartbeat.record_start(session, self.process, now=now)

        await self._write("start", write)

    async def pass_done(
        self, report: PassReport, *, started: datetime, finished: datetime, seconds: float
    ) -> None:
        """After an ingest pass (``seconds`` long): its metrics and its heartbeat."""
        self.metrics.observe_pass(report, seconds)
        counts = heartbeat.PassCounts(
            checked=report.checked,
            not_modified=report.not_modified,
            failed=report.failed,
            new=len(report.new_articles),
            routed=report.routed,
            errors=report.storage_errors + report.bugs,
        )
        await self._write(
            "pass",
            lambda s: heartbeat.record_pass(
                s, self.process, started=started, finished=finished, counts=counts
            ),
        )

    async def run_pass(
        self, ingestor: Ingestor, *, now: datetime, batch: int | None = None
    ) -> PassReport:
        """One ingest pass (of at most ``batch`` claimed feeds), then its metrics and
        heartbeat (``pass_done``)."""
        started = time.monotonic()
        report = await ingestor.run_pass(now=now, batch=batch)
        seconds = time.monotonic() - started
        await self.pass_done(report, started=now, finished=self._clock(), seconds=seconds)
        return report

    async def _outbox_gauges(self) -> int | None:
        """Read the outbox depth and update the gauges; the depth (None: not read)."""
        if self._outbox is None:
            return None
        depth: int | None = None
        try:
            async with reading(self._sessions) as session:
                depth = await heartbeat.outbox_depth(session)
        except StorageError as exc:
            self._outage.failed(exc)
        self.metrics.observe_outbox(depth=depth, sent=self._outbox.stats.sent, at=time.monotonic())
        return depth

    async def beat(self) -> None:
        """One periodic beat: the outbox's figures (when this process has an outbox)."""
        depth = await self._outbox_gauges()
        now = self._clock()
        last_sent = self._outbox.last_sent_at if self._outbox is not None else None
        await self._write(
            "beat",
            lambda s: heartbeat.record_outbox(
                s, self.process, now=now, last_sent_at=last_sent, depth=depth
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every ``beat_every`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.beat()
            except Exception:
                log.exception("heartbeat failed (the next beat tries again)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every)

    async def check(self) -> Verdict:
        """This process's health, judged on its own heartbeat row."""
        now = self._clock()
        try:
            async with reading(self._sessions) as session:
                status = await heartbeat.load_status(session, now=now)
        except StorageError as exc:
            return Verdict(False, f"database unreachable: {exc}")
        me = self.process
        own = [b for b in status.beats if (b.host, b.role) == (me.host, me.role)]
        return judge(own, status.backlog, self._limits, now)

    async def scrape(self) -> bytes:
        """The metrics text exposition, the outbox gauges read first."""
        await self._outbox_gauges()
        return self.metrics.render()
