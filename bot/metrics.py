"""Prometheus metrics of one running process: a registry of its own and the figures in it.

``Metrics`` builds a fresh ``CollectorRegistry`` (never the library's global one: tests run
several apps in one process, and each app's figures are its own) with:

- ingest: feed polls by outcome, fetch errors by kind, new articles, articles routed and
  pass durations, fed once per pass from its ``PassReport`` (``observe_pass``);
- delivery: deliveries by outcome, 429s and bot-wide flood pauses, read from the outbox's
  own counters when scraped (``watch_outbox``: nothing is counted twice); the outbox depth
  and the send rate, set by ``bot.monitoring`` at each beat and each scrape;
- command latency by command: ``CommandTimer``, the app's update processor, times the
  whole handling of each update (its reply included), so no handler is touched.

``render`` is the text exposition a scrape gets.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from telegram import Update
from telegram.ext import SimpleUpdateProcessor

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from bot.delivery import OutboxStats
    from bot.ingest import PassReport

POLL_OUTCOMES = ("fetched", "not_modified", "failed", "interrupted")
DELIVERY_OUTCOMES = ("sent", "retried", "failed", "blocked", "migrated")
PASS_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# A reply waits its chat's turn: a group's next slot can be most of a minute away.
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds of send history the send rate is measured over.
RATE_WINDOW = 60.0


def command_of(update: object, known: frozenset[str]) -> str:
    """The label an update's latency is counted under: its command when it is one of
    ``known`` (other text after a slash is "other": labels stay few), "button" for a
    callback query, "message" for other messages, "other" for the rest."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    if message is None:
        return "other"
    text = message.text or message.caption or ""
    if not text.startswith("/"):
        return "message"
    name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
    return name if name in known else "other"


class RateMeter:
    """Events per second over the last ``window`` seconds, from samples of a running total."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, at: float, total: int) -> float:
        """Record ``total`` at ``at`` (monotonic seconds); the rate since the oldest sample
        within the window (0 until there are two)."""
        self._samples.append((at, total))
        while len(self._samples) > 2 and self._samples[1][0] <= at - self._window:
            self._samples.popleft()
        first_at, first = self._samples[0]
        return (total - first) / (at - first_at) if at > first_at else 0.0


class _OutboxCollector(Collector):
    def __init__(self, stats: Callable[[], OutboxStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        deliveries = CounterMetricFamily(
            "sciforum_deliveries", "Outbox send outcomes.", labels=["outcome"]
        )
        for outcome in DELIVERY_OUTCOMES:
            deliveries.add_metric([outcome], getattr(stats, outcome))
        yield deliveries
        yield CounterMetricFamily(
            "sciforum_telegram_429",
            "Sends Telegram refused with 429 (retried after its wait).",
            value=stats.too_many_requests,
        )
        yield CounterMetricFamily(
            "sciforum_flood_pauses",
            "Times the whole outbox paused for a bot-wide flood limit.",
            value=stats.global_floods,
        )


class Metrics:
    """One process's metrics (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.feed_polls = Counter(
            "sciforum_feed_polls", "Feed polls by outcome.", ["outcome"], registry=r
        )
        self.fetch_errors = Counter(
            "sciforum_fetch_errors", "Failed feed polls by kind of failure.", ["kind"], registry=r
        )
        self.new_articles = Counter(
            "sciforum_new_articles", "Articles stored for the first time.", registry=r
        )
        self.articles_routed = Counter(
            "sciforum_articles_routed",
            "Articles matched to a chat by routing (one per chat and article).",
            registry=r,
        )
        self.pass_seconds = Histogram(
            "sciforum_ingest_pass_seconds",
            "Duration of ingest passes.",
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "sciforum_outbox_depth",
            "Outbox rows pending for active chats, and routed instant matches not yet rows.",
            registry=r,
        )
        self.send_rate = Gauge(
            "sciforum_send_rate",
            f"Messages the outbox sent per second over the last {RATE_WINDOW:g} s.",
            registry=r,
        )
        self.command_seconds = Histogram(
            "sciforum_command_seconds",
            "Time from receiving an update to the end of its handling (reply included), "
            "by command.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        for outcome in POLL_OUTCOMES:
            self.feed_polls.labels(outcome)  # shown at 0 before the first of each
        self._rate = RateMeter()

    def observe_pass(self, report: PassReport, seconds: float) -> None:
        polls = {
            "fetched": report.fetched,
            "not_modified": report.not_modified,
            "failed": report.failed,
            "interrupted": report.interrupted,
        }
        for outcome, count in polls.items():
            self.feed_polls.labels(outcome).inc(count)
        for kind, count in report.failure_kinds.items():
            self.fetch_errors.labels(kind).inc(count)
        self.new_articles.inc(len(report.new_articles))
        self.articles_routed.inc(report.routed)
        self.pass_seconds.observe(seconds)

    def watch_outbox(self, stats: Callable[[], OutboxStats]) -> None:
        """Expose the outbox's counters (``Outbox.stats``) as they are when scraped."""
        self.registry.register(_OutboxCollector(stats))

    def observe_outbox(self, *, depth: int | None, sent: int, at: float) -> None:
        """The outbox's depth (None: not read) and its running total of sends at ``at``
        (monotonic seconds)."""
        if depth is not None:
            self.outbox_depth.set(depth)
        self.send_rate.set(self._rate.sample(at, sent))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CommandTimer(SimpleUpdateProcessor):
    """PTB's update processor (up to ``max_concurrent_updates`` at once), timing each
    update's handling into ``sciforum_command_seconds``."""

    def __init__(self, max_concurrent_updates: int, metrics: Metrics, *, known: frozenset[str]):
        super().__init__(max_concurrent_updates)
        self._seconds = metrics.command_seconds
        self._known = known

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        try:
            await coroutine
        finally:
            label = command_of(update, self._known)
            self._seconds.labels(label).observe(time.perf_counter() - started)
