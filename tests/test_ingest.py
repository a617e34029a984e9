"""Ingestion end to end: the local feed server, the real fetcher, parser, extractor and DB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context

import pytest
from sqlmodel import col, select

from bot.ingest import Ingestor
from db import queries
from db.engine import create_engine, session_factory
from db.models import Article, ArticleSource, Feed
from summaries.enrichment import enrich
from summaries.fetch import Fetcher, FetchLimits
from summaries.pagework import enrich_page
from tests.conftest import FIXTURES, forums_feed
from tests.feedserver import FeedServer

# The jobs that summarize: an entry with its full text, and a teaser's fetched page (which
# is extracted in the same job).
SUMMARIZING_JOBS = (enrich, enrich_page)

NOW = datetime(2025, 11, 25, 8, 0, tzinfo=UTC)
INGEST = FIXTURES / "ingest"
LIMITS = FetchLimits(
    connect_timeout=2,
    read_timeout=2,
    total_timeout=5,
    max_bytes=1_000_000,
    allow_private_addresses=True,  # the feed server is on loopback
)


@pytest.fixture
def server(article_site: FeedServer) -> FeedServer:
    return article_site


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS) as f:
        yield f


def make_ingestor(sessions, fetcher: Fetcher, *, max_errors: int = 3) -> Ingestor:
    return Ingestor(sessions, fetcher, interval=60, max_errors=max_errors)


async def add_feed(sessions, url: str) -> int:
    async with sessions() as s, s.begin():
        feed = await queries.add_feed(s, url, now=NOW)
    assert feed.id is not None
    return feed.id


async def get_feed(sessions, feed_id: int) -> Feed:
    async with sessions() as s:
        feed = await s.get(Feed, feed_id)
    assert feed is not None
    return feed


async def all_articles(sessions) -> list[Article]:
    async with sessions() as s:
        return list((await s.exec(select(Article).order_by(col(Article.id)))).all())


async def test_first_poll_stores_the_backlog_with_full_text_and_announces_none(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes(), etag='"v1"')
    feed_id = await add_feed(sessions, url)

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (report.checked, report.failed, len(report.new_articles)) == (1, 0, 5)
    articles = await all_articles(sessions)
    assert [a.announce for a in articles] == [False] * 5
    first = articles[0]
    assert first.url == server.url("/articles/seed-000.html")  # tracking params dropped
    assert first.title.startswith("Shenzhen Symposium Highlights")
    assert first.published == datetime(2025, 11, 24, 0, 0, tzinfo=UTC)
    # The teaser was replaced by the page's main text, without the page furniture.
    assert first.text_source == "page"
    assert "co-hosted by the American Society for Microbiology" in first.text
    assert "Cookie policy" not in first.text
    feed = await get_feed(sessions, feed_id)
    assert feed.title == "Science Forums Newsroom"
    assert feed.etag == '"v1"'
    assert feed.next_check is not None
    assert feed.next_check > NOW


async def test_an_unchanged_feed_costs_a_304_and_stores_nothing(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes(), etag='"v1"')
    await add_feed(sessions, url)
    ingestor = make_ingestor(sessions, fetcher)
    await ingestor.run_pass(now=NOW)
    pages_before = sum(server.hits(f"/articles/seed-{i:03d}.html") for i in range(5))

    report = await ingestor.run_pass(now=NOW + timedelta(hours=1))

    assert (report.checked, report.not_modified, len(report.new_articles)) == (1, 1, 0)
    last_request = [r for r in server.requests if r[1] == "/forums.rss"][-1]
    assert last_request[2].get("if-none-match") == '"v1"'
    assert sum(server.hits(f"/articles/seed-{i:03d}.html") for i in range(5)) == pages_before
    assert len(await all_articles(sessions)) == 5


async def test_entries_that_appear_after_the_first_poll_are_announced(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", forums_feed(0))  # the first poll sees only the first item
    await add_feed(sessions, url)
    ingestor = make_ingestor(sessions, fetcher)
    await ingestor.run_pass(now=NOW)
    server.add("/forums.rss", forums_feed())

    report = await ingestor.run_pass(now=NOW + timedelta(hours=1))

    assert len(report.new_articles) == 4
    assert all(a.announce for a in report.new_articles)


async def test_a_permanently_moved_feed_gets_its_new_url(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    new_url = server.add("/new/forums.rss", (INGEST / "forums.rss").read_bytes())
    old_url = server.add("/old.rss", redirect_to="/new/forums.rss", redirect_status=301)
    feed_id = await add_feed(sessions, old_url)

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert report.moved == 1
    assert (await get_feed(sessions, feed_id)).url == new_url


async def test_a_temporary_redirect_keeps_the_feed_url(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/new/forums.rss", (INGEST / "forums.rss").read_bytes())
    old_url = server.add("/old.rss", redirect_to="/new/forums.rss", redirect_status=302)
    feed_id = await add_feed(sessions, old_url)

    await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (await get_feed(sessions, feed_id)).url == old_url


async def test_a_failing_feed_backs_off_and_is_disabled_after_n_failures(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/down.rss", "oops", status=500, content_type="text/plain")
    feed_id = await add_feed(sessions, url)
    ingestor = make_ingestor(sessions, fetcher, max_errors=3)

    waits = []
    now = NOW
    for _ in range(3):
        report = await ingestor.run_pass(now=now)
        assert report.failed == 1
        feed = await get_feed(sessions, feed_id)
        assert feed.next_check is not None
        waits.append((feed.next_check - now).total_seconds())
        now = feed.next_check

    assert waits[0] < waits[1]  # exponential backoff
    assert feed.consecutive_errors == 3
    assert not feed.enabled
    assert "HTTP 500" in (feed.disabled_reason or "")
    assert (await ingestor.run_pass(now=now + timedelta(days=30))).checked == 0


async def test_a_feed_that_recovers_resets_its_error_count(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/flaky.rss", (INGEST / "forums.rss").read_bytes())
    server.fail("/flaky.rss", 503, times=1, retry_after=120)
    feed_id = await add_feed(sessions, url)
    ingestor = make_ingestor(sessions, fetcher)

    await ingestor.run_pass(now=NOW)
    feed = await get_feed(sessions, feed_id)
    assert feed.consecutive_errors == 1
    assert feed.next_check is not None
    assert feed.next_check >= NOW + timedelta(seconds=120)

    await ingestor.run_pass(now=feed.next_check)
    feed = await get_feed(sessions, feed_id)
    assert (feed.consecutive_errors, feed.total_errors, feed.last_error) == (0, 1, None)


async def test_an_html_page_instead_of_a_feed_is_an_error_on_that_feed_only(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    bad = server.add(
        "/not-a-feed",
        (INGEST / "articles" / "seed-000.html").read_bytes(),
        content_type="text/html",
    )
    good = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    bad_id = await add_feed(sessions, bad)
    await add_feed(sessions, good)

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (report.checked, report.failed, len(report.new_articles)) == (2, 1, 5)
    assert "not a usable feed" in ((await get_feed(sessions, bad_id)).last_error or "")


async def test_the_same_story_in_two_feeds_is_stored_once_and_linked_to_both(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    rss = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    atom = server.add(
        "/wire.atom", (INGEST / "wire.atom").read_bytes(), content_type="application/atom+xml"
    )
    await add_feed(sessions, rss)
    await add_feed(sessions, atom)
    ingestor = make_ingestor(sessions, fetcher)

    report = await ingestor.run_pass(now=NOW)

    # wire.atom repeats story 000 under the same URL and story 004 under another URL.
    articles = await all_articles(sessions)
    assert len(articles) == 5
    assert report.duplicates == 2
    async with sessions() as s:
        links = (await s.exec(select(ArticleSource))).all()
    per_article: dict[int, int] = {}
    for link in links:
        per_article[link.article_id] = per_article.get(link.article_id, 0) + 1
    assert sorted(per_article.values()) == [1, 1, 1, 2, 2]


async def test_an_article_page_that_fails_keeps_the_feed_text(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    server.fail("/articles/seed-001.html", 404, times=None)
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    await add_feed(sessions, url)

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert report.page_failures == 1
    by_url = {a.url: a for a in await all_articles(sessions)}
    failed = by_url[server.url("/articles/seed-001.html")]
    assert failed.text_source == "feed"
    assert failed.text.startswith("The 2021 World Biotechnology Industry Conference")


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:65536/articles/seed-001.html",
        "http://127.0.0.1:0/articles/seed-001.html",
        "http://user:secret@127.0.0.1/articles/seed-001.html",
    ],
)
async def test_a_hostile_article_link_costs_that_entry_its_page_and_nothing_more(
    sessions, server: FeedServer, fetcher: Fetcher, link: str
) -> None:
    # Port 65536 once raised OverflowError inside httpx, and the feed lost every entry.
    body = forums_feed().replace("/articles/seed-001.html?utm_source=rss&amp;utm_medium=feed", link)
    await add_feed(sessions, server.add("/forums.rss", body))

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert (report.failed, report.page_failures, len(report.new_articles)) == (0, 1, 5)
    sources = {a.title[:20]: a.text_source for a in await all_articles(sessions)}
    assert sources.pop("2021 World Biotechno") == "feed"
    assert set(sources.values()) == {"page"}


async def test_articles_are_stored_with_summary_topics_and_forum_facts(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    await add_feed(sessions, url)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, executor=pool)
        report = await ingestor.run_pass(now=NOW)

    assert report.enrich_failures == 0
    by_url = {a.url: a for a in await all_articles(sessions)}
    shenzhen = by_url[server.url("/articles/seed-000.html")]
    assert shenzhen.summary
    assert 1 <= len(shenzhen.summary) <= 5
    assert not shenzhen.summary[0].startswith("Shenzhen Symposium Highlights")  # not the headline
    assert shenzhen.topics
    assert shenzhen.topics[0] == "microbiology"
    assert shenzhen.is_event
    assert shenzhen.event is not None
    assert shenzhen.event_start == date(2025, 11, 18)
    assert shenzhen.event["city"] == "Shenzhen"
    assert shenzhen.summarized_at == NOW


async def test_a_summarizer_failure_keeps_the_article_and_its_feed_text(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    await add_feed(sessions, url)

    class SummarizerCrashes(ThreadPoolExecutor):
        """Runs parsing and extraction; the summarizing job dies as a worker crash would."""

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            if getattr(fn, "func", None) in SUMMARIZING_JOBS:
                raise BrokenProcessPool("worker died")
            return super().submit(fn, *args, **kwargs)

    with SummarizerCrashes(max_workers=2) as pool:
        ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, executor=pool)
        report = await ingestor.run_pass(now=NOW)

    assert (report.failed, report.enrich_failures, len(report.new_articles)) == (0, 5, 5)
    articles = await all_articles(sessions)
    assert all(a.summary is None and a.summary_error for a in articles)
    assert all(a.text for a in articles)


async def test_a_page_job_that_fails_is_done_again_as_two_steps(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/forums.rss", (INGEST / "forums.rss").read_bytes())
    await add_feed(sessions, url)

    class PageJobFails(ThreadPoolExecutor):
        """Extraction and summaries run; the combined page job dies as a worker would."""

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            if getattr(fn, "func", None) is enrich_page:
                raise BrokenProcessPool("worker died")
            return super().submit(fn, *args, **kwargs)

    with PageJobFails(max_workers=2) as pool:
        ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, executor=pool)
        report = await ingestor.run_pass(now=NOW)

    assert (report.page_failures, report.enrich_failures, len(report.new_articles)) == (0, 0, 5)
    articles = await all_articles(sessions)
    assert all(a.summary and a.summary_error is None for a in articles)
    assert {a.text_source for a in articles} == {"page"}


async def test_a_feed_moved_onto_an_already_stored_url_is_disabled_as_a_duplicate(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    new_url = server.add("/new/forums.rss", (INGEST / "forums.rss").read_bytes())
    old_url = server.add("/old.rss", redirect_to="/new/forums.rss", redirect_status=308)
    old_id = await add_feed(sessions, old_url)
    await add_feed(sessions, new_url)

    await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    old = await get_feed(sessions, old_id)
    assert not old.enabled
    assert "already stored as feed" in (old.disabled_reason or "")


GUT_TITLE = "Gut bacteria shape how mice respond to a high-fat diet"
GUT_TEXT = (
    "Researchers fed two groups of mice a high-fat diet and followed the bacteria living in"
    " their gut for twelve weeks. Mice whose gut bacteria included a strain of Bacteroides"
    " gained less weight and kept better control of their blood sugar. When the team"
    " transferred these bacteria into germ-free mice, the newcomers were protected as well."
    " The bacteria break down fibre into short-chain fatty acids that signal to the"
    " intestine, the authors report in the study. They now plan to test whether the same"
    " strain colonises the human gut and whether a probiotic could carry it there."
)
FOOTBALL_TITLE = "Late goal sends United into the cup final"
FOOTBALL_TEXT = (
    "United beat City two goals to one on Saturday evening to reach the cup final. The"
    " visitors took the lead through a header before half time, but United equalised from"
    " the penalty spot after the break. The winner came in the ninetieth minute, when the"
    " substitute striker curled a shot into the top corner. The manager praised the fans and"
    " said the squad would rest before the league match on Wednesday. Tickets for the final"
    " go on sale next week, and the club expects a crowd of eighty thousand at the stadium."
)


def one_entry_feed(slug: str, title: str, text: str, categories: tuple[str, ...] = ()) -> str:
    """An RSS feed with one full-text entry (long enough that no page is fetched)."""
    tags = "".join(f"<category>{c}</category>" for c in categories)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{slug}</title><link>https://{slug}.example.org/</link>"
        f"<item><title>{title}</title><link>https://{slug}.example.org/1</link>"
        f"<guid>{slug}-1</guid><description>{text}</description>{tags}</item>"
        "</channel></rss>"
    )


async def add_feed_with_topics(sessions, url: str, topics: tuple[str, ...]) -> None:
    async with sessions() as s, s.begin():
        await queries.add_feed(s, url, now=NOW, topics=topics)


async def test_entry_categories_and_the_feeds_default_topics_reach_the_tagger(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    body = one_entry_feed("lab", GUT_TITLE, GUT_TEXT, categories=("Microbiology", "Mice"))
    url = server.add("/lab.rss", body)
    await add_feed_with_topics(sessions, url, ("microbiology", "genomics"))
    jobs: list[dict[str, object]] = []

    class RecordsEnrichment(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            if getattr(fn, "func", None) in SUMMARIZING_JOBS:
                jobs.append(fn.keywords)
            return super().submit(fn, *args, **kwargs)

    with RecordsEnrichment(max_workers=2) as pool:
        ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, executor=pool)
        await ingestor.run_pass(now=NOW)

    (job,) = jobs
    assert job["categories"] == ("Microbiology", "Mice")
    assert job["feed_topics"] == ("microbiology", "genomics")


async def test_a_feeds_default_topic_tags_only_articles_that_give_evidence_for_it(
    sessions, server: FeedServer, fetcher: Fetcher
) -> None:
    await add_feed_with_topics(
        sessions,
        server.add("/lab.rss", one_entry_feed("lab", GUT_TITLE, GUT_TEXT)),
        ("microbiology",),
    )
    await add_feed_with_topics(
        sessions,
        server.add("/sport.rss", one_entry_feed("sport", FOOTBALL_TITLE, FOOTBALL_TEXT)),
        ("space",),
    )

    report = await make_ingestor(sessions, fetcher).run_pass(now=NOW)

    assert report.enrich_failures == 0
    by_title = {a.title: a for a in await all_articles(sessions)}
    assert "microbiology" in (by_title[GUT_TITLE].topics or [])
    # The prior is not a blanket label: a football report is not about space.
    assert "space" not in (by_title[FOOTBALL_TITLE].topics or [])


def numbered_feed(number: int) -> str:
    """A feed of one short entry without a link (nothing to fetch but the feed)."""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>Lab {number}</title><item><title>Result number {number}</title>"
        f'<guid isPermaLink="false">lab-{number}</guid>'
        f"<description>Measurement {number} of the lab's long-running series.</description>"
        "</item></channel></rss>"
    )


async def test_a_first_pass_over_more_feeds_than_database_sessions_stores_every_feed(
    database_url: str, server: FeedServer, fetcher: Fetcher
) -> None:
    # Three pooled sessions, one second's wait for one: 300 feeds each reading and writing
    # at once used to wait past the timeout ("QueuePool limit ... reached") and be lost.
    engine = create_engine(database_url, pool_size=3, max_overflow=0, pool_timeout=1)
    sessions = session_factory(engine)
    urls = [server.add(f"/lab{n}.rss", numbered_feed(n)) for n in range(300)]
    async with sessions() as s, s.begin():
        await queries.add_feeds_missing(s, [(url, None) for url in urls], now=NOW)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, executor=pool)
            report = await ingestor.run_pass(now=NOW)
        stored = len(await all_articles(sessions))
    finally:
        await engine.dispose()

    assert (report.checked, report.failed, report.storage_errors, report.bugs) == (300, 0, 0, 0)
    assert len(report.new_articles) == stored == 300
