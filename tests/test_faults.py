"""Nothing lost under faults: one feed's trouble costs that feed (or entry) only, stored
articles are routed from the database whatever happened to the pass that stored them, no
feed waits for another, and stops, outages and bugs charge no feed. Both engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.ingest import Ingestor, PassReport
from bot.workers import WorkerPool
from db import queries
from db import routes as routes_db
from db.errors import StorageUnavailable
from db.models import Article, ArticleSource, Chat, ChatRule, Delivery, Feed
from summaries.fetch import Fetcher, FetchLimits
from tests.conftest import forums_feed
from tests.feedserver import FeedServer

NOW = datetime(2025, 11, 25, 8, 0, tzinfo=UTC)
LIMITS = FetchLimits(
    connect_timeout=2,
    read_timeout=30,
    total_timeout=60,
    max_bytes=5_000_000,
    allow_private_addresses=True,  # the feed server is on loopback
)
# Matches every item of the fixture feed (each title has one of the words).
RULE = "biotechnology guangming"


@pytest.fixture
def server(article_site: FeedServer) -> FeedServer:
    return article_site


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS) as f:
        yield f


def ingestor(sessions: Any, fetcher: Fetcher, **options: Any) -> Ingestor:
    options.setdefault("max_errors", 3)
    return Ingestor(sessions, fetcher, interval=60, **options)


async def add_feed(sessions: Any, url: str, *, polled: bool = True) -> int:
    """A feed; ``polled`` feeds had a first poll already, so their new entries are announced."""
    async with sessions() as s, s.begin():
        feed = await queries.add_feed(s, url, now=NOW)
        if polled:
            feed.last_success = NOW - timedelta(days=1)
    assert feed.id is not None
    return feed.id


async def add_subscriber(sessions: Any, chat_id: int = 1) -> None:
    async with sessions() as s, s.begin():
        s.add(Chat(id=chat_id, type="private", created_at=NOW))
        s.add(ChatRule(chat_id=chat_id, query=RULE, created_at=NOW))


async def feed_row(sessions: Any, feed_id: int) -> Feed:
    async with sessions() as s:
        feed = await s.get(Feed, feed_id)
    assert feed is not None
    return feed


async def count(sessions: Any, model: Any, *where: Any) -> int:
    async with sessions() as s:
        query = select(sa.func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int((await s.exec(query)).one())


async def delivered_titles(sessions: Any) -> list[str]:
    async with sessions() as s:
        rows = await s.exec(
            select(Article.title)
            .join(Delivery, col(Delivery.article_id) == col(Article.id))
            .order_by(col(Article.title))
        )
        return list(rows.all())


async def test_over_long_values_are_fitted_and_cost_no_feed(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    long_url = server.url("/" + "a" * 2100)
    body = (
        forums_feed(0)
        .replace("<title>Science Forums Newsroom</title>", f"<title>{'T' * 700}</title>")
        .replace("<item>", f"<item><author>{'A' * 600}</author>", 1)
    )
    body = body.replace("<title>Shenzhen", f"<title>{'Long ' * 300}Shenzhen", 1)
    odd = server.add(
        "/odd.rss",
        body.replace(
            "</channel>",
            f"<item><title>Biotechnology link</title><link>{long_url}</link>"
            "<description>Biotechnology text.</description></item></channel>",
        ),
        etag='"' + "e" * 600 + '"',
        headers={"Last-Modified": "Mon, 24 Nov 2025 00:00:00 GMT" + " " * 100 + "x"},
    )
    odd_id = await add_feed(sessions, odd)
    healthy_id = await add_feed(sessions, server.add("/forums.rss", forums_feed(1, 2)))
    await add_subscriber(sessions)

    report = await ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (report.failed, report.bugs, report.storage_errors) == (0, 0, 0)
    odd_feed = await feed_row(sessions, odd_id)
    assert (odd_feed.consecutive_errors, odd_feed.last_error) == (0, None)
    assert (odd_feed.etag, odd_feed.last_modified) == (None, None)  # not cut: dropped
    assert len(odd_feed.title or "") == 500
    async with sessions() as s:
        stored = (await s.exec(select(Article))).all()
    assert len(stored) == 4
    assert all(len(a.title) <= 1000 and len(a.author or "") <= 500 for a in stored)
    assert [a.url for a in stored if a.title == "Biotechnology link"] == [None]
    assert (await feed_row(sessions, healthy_id)).consecutive_errors == 0
    assert len(await delivered_titles(sessions)) == 4  # routed, every feed's


async def test_a_feed_removed_during_its_poll_stops_nobody(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    slow = await add_feed(sessions, server.add("/slow.rss", forums_feed(0, 1), delay=1.0))
    await add_feed(sessions, server.add("/forums.rss", forums_feed(2, 3)))
    await add_subscriber(sessions)
    run = asyncio.create_task(ingestor(sessions, fetcher).run_pass(now=NOW))
    await asyncio.sleep(0.4)
    async with sessions() as s, s.begin():
        await queries.remove_feed(s, str(slow))

    report = await run

    assert (report.bugs, report.failed) == (0, 0)
    assert len(await delivered_titles(sessions)) == 2  # the other feed's, routed
    assert await count(sessions, Feed) == 1


async def test_articles_stored_by_a_pass_that_died_before_routing_are_routed_once(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    await add_feed(sessions, server.add("/forums.rss", forums_feed()))
    await add_subscriber(sessions)
    # As if the process died right after storing: nothing routed the articles.
    stored = await ingestor(sessions, fetcher, route=False).run_pass(now=NOW)
    assert len(stored.new_articles) == 5
    assert await count(sessions, Delivery) == 0

    restarted = ingestor(sessions, fetcher)
    later = NOW + timedelta(seconds=1)  # the feed is not due: routing alone runs
    first = await restarted.run_pass(now=later)
    again = await restarted.run_pass(now=later)

    assert (first.checked, first.routed, again.routed) == (0, 5, 0)
    assert await count(sessions, Delivery) == 5
    async with sessions() as s:
        assert len(await routes_db.matched_pairs(s)) == 5
    assert await count(sessions, Article, col(Article.routed_at).is_(None)) == 0


async def test_a_slow_feed_costs_its_own_pages_and_delays_no_other_feeds_cards(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    # The slow feed's article pages answer after a minute; its deadline is a few seconds.
    slow_body = forums_feed(0, 1).replace("/articles/", "/slow-articles/")
    for name in ("seed-000.html", "seed-001.html"):
        server.add(
            f"/slow-articles/{name}", "<html>late</html>", delay=60, content_type="text/html"
        )
    await add_feed(sessions, server.add("/slow.rss", slow_body))
    await add_feed(sessions, server.add("/forums.rss", forums_feed(2, 3)))
    await add_subscriber(sessions)
    routed_at: list[float] = []
    worker = ingestor(sessions, fetcher, feed_deadline=8)
    worker.on_routed = lambda _n: routed_at.append(time.monotonic())
    started = time.monotonic()

    report = await worker.run_pass(now=NOW)

    ended = time.monotonic()
    assert ended - started < 40  # bounded by the deadline, not by the pages' minute
    assert (report.page_failures, report.failed) == (2, 0)
    assert routed_at
    assert routed_at[0] < ended - 4  # the healthy feed's cards did not wait
    assert len(await delivered_titles(sessions)) == 4  # the slow feed's with the feed text
    async with sessions() as s:
        sources = set((await s.exec(select(Article.text_source))).all())
    assert sources == {"feed", "page"}


async def test_a_feed_that_takes_too_long_as_a_whole_fails_with_the_deadline(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    stuck = await add_feed(sessions, server.add("/stuck.rss", forums_feed(), delay=30))
    healthy = await add_feed(sessions, server.add("/forums.rss", forums_feed(2)))

    report = await ingestor(sessions, fetcher, feed_deadline=2).run_pass(now=NOW)

    assert (report.failed, report.bugs) == (1, 0)
    assert "FEED_DEADLINE" in ((await feed_row(sessions, stuck)).last_error or "")
    assert (await feed_row(sessions, healthy)).last_error is None


def attributes_bomb(count: int) -> str:
    attributes = " ".join(f'a{i}="x"' for i in range(count))
    return forums_feed(0).replace("<item>", f"<item {attributes}>", 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (attributes_bomb(60_000), "attributes"),
        (forums_feed(0).replace("<item>", "<x>" * 5000, 1), "nested more than"),
        ('<?xml version="1.0"?><rss version="2.0"><<<not xml', "no feed structure"),
        ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</ti', "no feed structure"),
    ],
    ids=["60,000 attributes", "5,000 levels deep", "invalid XML", "cut-off XML"],
)
async def test_a_document_that_is_no_usable_feed_is_an_error_of_that_feed_only(
    sessions: Any, server: FeedServer, fetcher: Fetcher, body: str, message: str
) -> None:
    bad = await add_feed(sessions, server.add("/bad.rss", body))
    await add_feed(sessions, server.add("/forums.rss", forums_feed(2)))
    started = time.monotonic()

    report = await ingestor(sessions, fetcher).run_pass(now=NOW)

    assert time.monotonic() - started < 30  # refused before the parser, not after minutes
    assert (report.failed, len(report.new_articles)) == (1, 1)
    feed = await feed_row(sessions, bad)
    assert feed.consecutive_errors == 1
    assert message in (feed.last_error or "")


async def test_a_parse_past_its_time_limit_is_refused_and_the_worker_replaced(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    # Within every structure limit, still more than a second of feedparser's work: a
    # parse limit shorter than that refuses it.
    heavy = forums_feed(0).replace("<item>", "<item>" + "<category>w</category>" * 90_000, 1)
    slow = await add_feed(sessions, server.add("/slow.rss", heavy))
    pool = WorkerPool(1)
    try:
        report = await ingestor(sessions, fetcher, executor=pool, job_timeout=0.2).run_pass(now=NOW)
        assert report.failed == 1
        last_error = (await feed_row(sessions, slow)).last_error or ""
        assert "parsing took longer than 0.2 s" in last_error
        # The stuck worker was replaced: the pool still parses (within the default limit).
        again = await ingestor(sessions, fetcher, executor=pool).run_pass(now=NOW, include_all=True)
        assert (again.checked, again.failed) == (1, 0)
    finally:
        await asyncio.to_thread(pool.close)


def churned(poll: int) -> str:
    """The fixture feed as a poll of a feed whose guids and links change at every poll."""
    return (
        forums_feed()
        .replace('<guid isPermaLink="false">', f'<guid isPermaLink="false">poll-{poll}-')
        .replace("?utm_source=rss", f"?session={poll}&amp;utm_source=rss")
    )


async def test_entries_that_change_guid_and_link_at_every_poll_are_not_stored_again(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    await add_feed(sessions, server.add("/churn.rss", churned(1)))
    worker = ingestor(sessions, fetcher)
    await worker.run_pass(now=NOW)
    sources_before = await count(sessions, ArticleSource)
    pages_before = server.hits("/articles/seed-000.html")

    reports: list[PassReport] = []
    for poll in range(2, 5):
        server.add("/churn.rss", churned(poll))
        reports.append(await worker.run_pass(now=NOW + timedelta(days=poll)))

    assert [(len(r.new_articles), r.duplicates) for r in reports] == [(0, 5)] * 3
    assert await count(sessions, Article) == 5
    assert await count(sessions, ArticleSource) == sources_before  # no row per poll
    assert server.hits("/articles/seed-000.html") == pages_before  # no page fetched again


async def test_a_bug_is_logged_once_and_not_charged_to_the_feed(
    sessions: Any,
    server: FeedServer,
    fetcher: Fetcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    buggy = await add_feed(sessions, server.add("/buggy.rss", forums_feed(0)))
    await add_feed(sessions, server.add("/forums.rss", forums_feed(2)))
    import bot.ingest

    real = bot.ingest.decide

    def decide(state: Any, outcome: Any, **kwargs: Any) -> Any:
        if state.url.endswith("/buggy.rss"):
            raise KeyError("a bug")
        return real(state, outcome, **kwargs)

    monkeypatch.setattr(bot.ingest, "decide", decide)

    report = await ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (report.bugs, report.failed, len(report.new_articles)) == (1, 0, 1)
    feed = await feed_row(sessions, buggy)
    assert (feed.consecutive_errors, feed.enabled) == (0, True)
    assert "internal error" in (feed.last_error or "")
    tracebacks = [r for r in caplog.records if r.exc_info and "buggy" in r.getMessage()]
    assert len(tracebacks) == 1


async def test_a_database_outage_disables_no_feed(
    sessions: Any, server: FeedServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("/down.rss", "oops", status=500, content_type="text/plain")
    feed_id = await add_feed(sessions, server.url("/down.rss"))
    import bot.ingest

    async def unavailable(*_args: Any, **_kwargs: Any) -> bool:
        raise StorageUnavailable("connection refused")

    monkeypatch.setattr(bot.ingest.queries, "update_feed", unavailable)
    monkeypatch.setattr(bot.ingest.queries, "update_feeds", unavailable)
    worker = ingestor(sessions, fetcher, max_errors=2)
    reports = [await worker.run_pass(now=NOW + timedelta(hours=i)) for i in range(4)]

    assert all(r.storage_errors for r in reports)
    feed = await feed_row(sessions, feed_id)
    assert (feed.enabled, feed.consecutive_errors) == (True, 0)


async def test_a_stopped_worker_pool_charges_no_feed(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    feed_ids = [
        await add_feed(sessions, server.add(f"/f{i}.rss", forums_feed(i))) for i in range(3)
    ]
    pool = WorkerPool(1)
    await asyncio.to_thread(pool.close)  # the process is stopping

    report = await ingestor(sessions, fetcher, executor=pool).run_pass(now=NOW)

    assert (report.interrupted, report.failed, report.bugs) == (3, 0, 0)
    for feed_id in feed_ids:
        feed = await feed_row(sessions, feed_id)
        assert (feed.consecutive_errors, feed.last_error) == (0, None)


async def test_a_cancelled_pass_charges_no_feed(
    sessions: Any, server: FeedServer, fetcher: Fetcher
) -> None:
    feed_id = await add_feed(sessions, server.add("/slow.rss", forums_feed(), delay=5))
    run = asyncio.create_task(ingestor(sessions, fetcher).run_pass(now=NOW))
    await asyncio.sleep(0.5)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    feed = await feed_row(sessions, feed_id)
    assert (feed.consecutive_errors, feed.total_errors, feed.last_error) == (0, 0, None)
