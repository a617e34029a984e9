"""What an operator sees of a running bot: /metrics scraped over loopback after real ingest
passes (the loopback feed server) and real deliveries (the fake Bot API, through PTB's HTTP
stack), and /healthz turning from 200 to 503 when ingest stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram.ext import Application

from bot.app import build_application, monitor, start_background, stop_background
from bot.context import open_context
from bot.errors import BotError
from bot.ingest import PassReport
from bot.metrics import Metrics, RateMeter, command_of
from bot.probes import Probes, serve_probes, start_probes
from bot.settings import Settings
from db import queries
from db.chats import add_topic, get_or_create_chat
from tests.conftest import forums_feed
from tests.fakebot import FakeTelegram, Limits
from tests.feedserver import FeedServer

USER = 1001


class Clock:
    """Real time shifted by an offset a test can move."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Bot:
    fake: FakeTelegram
    feeds: FeedServer
    app: Application[Any, Any, Any, Any, Any, Any]
    sessions: Any
    clock: Clock
    probes: Probes
    passes: list[PassReport]
    passed: asyncio.Event

    async def wait_passes(self, count: int) -> None:
        async with asyncio.timeout(20):
            while len(self.passes) < count:
                self.passed.clear()
                await self.passed.wait()

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(f"http://127.0.0.1:{self.probes.port}{path}")

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics by (name, sorted labels)."""
        response = await self.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }


@pytest.fixture
async def bot(tmp_path: Path, article_site: FeedServer) -> AsyncIterator[Bot]:
    fake = FakeTelegram(enforce_limits=True, limits=Limits(global_per_second=300)).start()
    clock = Clock()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'ops.db'}",
        telegram_bot_token=fake.token,
        telegram_api_url=fake.url,
        poll_interval=0.2,
        send_rate=250,
        http_allow_private=True,  # the feed server is on loopback
    )
    passes: list[PassReport] = []
    passed = asyncio.Event()

    def on_report(report: PassReport) -> None:
        passes.append(report)
        passed.set()

    async with open_context(settings, processes=False) as ctx:
        app = build_application(ctx, clock=clock, ingest_every=0.2, on_report=on_report)
        async with app:
            await app.start()
            await start_background(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            probes = start_probes(monitor(app), port=0, address="127.0.0.1")
            try:
                yield Bot(fake, article_site, app, ctx.sessions, clock, probes, passes, passed)
            finally:
                await probes.stop()
                await app.updater.stop()
                await stop_background(app)
                await app.stop()
    fake.stop()


async def test_metrics_count_polls_errors_articles_routing_deliveries_429s_and_commands(
    bot: Bot,
) -> None:
    async with bot.sessions() as s, s.begin():
        await get_or_create_chat(s, USER, chat_type="private", title=None, now=bot.clock())
        await add_topic(s, USER, "microbiology")
        # The first poll of a feed is its backlog (stored, not pushed); one feed is gone.
        good = bot.feeds.add("/forums.rss", forums_feed(1, ttl=False))
        await queries.add_feed(s, good, now=bot.clock())
        missing = bot.feeds.add("/missing.rss", "no such feed", status=404)
        await queries.add_feed(s, missing, now=bot.clock())
    await bot.wait_passes(len(bot.passes) + 2)
    # The next card to the user meets one 429 first, then goes through.
    bot.fake.fail_chat(USER, "retry_after", retry_after=1, times=1, methods=["sendMessage"])
    bot.feeds.add("/forums.rss", forums_feed(0, 1, 2, ttl=False))
    await bot.fake.wait_for_messages_async(USER, 1, timeout=15)
    bot.fake.user_sends(USER, "/help")
    await bot.fake.wait_for_messages_async(USER, 2, timeout=10)

    metrics = await bot.scrape()

    def value(name: str, **labels: str) -> float:
        return metrics[(name, tuple(sorted(labels.items())))]

    assert value("sciforum_feed_polls_total", outcome="fetched") >= 2
    assert value("sciforum_feed_polls_total", outcome="failed") >= 1
    assert value("sciforum_fetch_errors_total", kind="client") >= 1
    assert value("sciforum_new_articles_total") == 3  # the backlog item, then two new ones
    assert value("sciforum_articles_routed_total") == 1  # the microbiology symposium, to USER
    assert value("sciforum_deliveries_total", outcome="sent") == 1
    assert value("sciforum_telegram_429_total") == 1
    assert value("sciforum_outbox_depth") == 0
    assert value("sciforum_ingest_pass_seconds_count") >= 3
    assert value("sciforum_command_seconds_count", command="help") == 1
    assert ("sciforum_send_rate", ()) in metrics


async def test_healthz_is_200_while_ingest_runs_and_503_once_it_stops(bot: Bot) -> None:
    await bot.wait_passes(2)
    await asyncio.sleep(0.3)  # the pass's heartbeat is written after its report
    ok = await bot.get("/healthz")
    assert ok.status_code == 200
    assert ok.text.startswith("ok: all pid ")
    assert "; last pass " in ok.text

    # Ingest stops (its job is gone) while the process keeps beating; an hour passes.
    (job,) = bot.app.job_queue.get_jobs_by_name("ingest")  # type: ignore[union-attr]
    job.schedule_removal()
    await asyncio.sleep(0.5)  # a pass in flight finishes
    bot.clock.offset = timedelta(hours=1)
    await monitor(bot.app).beat()
    stuck = await bot.get("/healthz")
    assert stuck.status_code == 503
    assert stuck.text == "ingest stuck: last pass finished 1h ago (limit 3m)\n"


async def test_no_port_no_endpoints_and_a_taken_port_stops_the_start_in_one_line(
    bot: Bot,
) -> None:
    watcher = monitor(bot.app)
    assert serve_probes(watcher, Settings(_env_file=None)) is None
    taken = Settings(_env_file=None, metrics_port=bot.probes.port, metrics_listen="127.0.0.1")
    with pytest.raises(
        BotError, match=rf"METRICS_PORT: cannot listen on 127.0.0.1:{taken.metrics_port}"
    ):
        serve_probes(watcher, taken)


def test_each_app_counts_in_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.new_articles.inc(3)
    assert b"sciforum_new_articles_total 3.0" in first.render()
    assert b"sciforum_new_articles_total 0.0" in second.render()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("/help", "help"),
        ("/latest 5", "latest"),
        ("/LATEST@SciForumBot", "latest"),
        ("/nonsense", "other"),
        ("/", "other"),
        ("hello", "message"),
    ],
)
def test_command_latency_is_labelled_by_known_command(text: str, label: str) -> None:
    from telegram import Chat, Message, Update

    message = Message(1, datetime.now(UTC), Chat(1, "private"), text=text)
    update = Update(1, message=message)
    assert command_of(update, frozenset({"help", "latest"})) == label
    assert command_of(object(), frozenset()) == "other"


def test_the_send_rate_is_measured_over_the_last_minute() -> None:
    meter = RateMeter(window=60)
    assert meter.sample(0.0, 0) == 0.0
    assert meter.sample(10.0, 50) == 5.0
    assert meter.sample(70.0, 110) == pytest.approx(60 / 60)  # the sample at 0 s is forgotten
    assert meter.sample(200.0, 110) == 0.0
