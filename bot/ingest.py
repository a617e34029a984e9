"""Ingestion: passes over the due feeds, from HTTP to stored, deduplicated, routed articles.

The decisions live in ``summaries`` (parsing, extraction, ``decisions.decide`` for what a
poll means for its feed, dedup keys); this module is the shell: it fetches, runs CPU work in
the worker pool under time limits, looks up what storage knows, applies the intent and
stores. Storage hands it plain records (``FeedRow``), and every unit of work (a feed's
lookups, a feed's writes, a routing batch) has a fresh session of its own.

Failures and what they cost:

* An expected failure of one feed (network, HTTP status, a document that is not a feed or
  whose structure is pathological, a parse past its time limit, data the database
  refuses) is recorded on that feed by ``decide`` and counted in the pass report. A failed
  article page or summary costs that entry its page or summary; an entry the database
  refuses costs that entry (the others are stored one by one).
* A database that is down or busy, or a concurrent writer, costs nothing: the feed keeps
  its state and is polled again; no feed is disabled by an outage.
* An interrupted pass (a stop: cancellation, the worker pool shut down) charges no feed.
* Anything else is a bug: logged once with its traceback, counted, never charged to the
  feed's error count (the feed is checked again after one interval).

No feed waits for another: each feed's fetch, parse and page fetches run under one deadline
(``feed_deadline``, FEED_DEADLINE); pages still missing then keep the feed's text. What a
feed brings is stored and routed as soon as that feed is done, and routing reads the
database (articles not routed yet), so a crash between storing and routing only delays it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import JobTimeout, PoolStopped, WorkerCrashed
from bot.passlines import pass_lines
from bot.routing import fan_out_below, route_pending
from bot.workers import WorkerPool
from db import articles, leases, queries, wal
from db.articles import ArticleDraft
from db.engine import reading, session_capacity, transaction
from db.errors import StorageConflict, StorageError, StorageRefused, StorageUnavailable
from db.queries import FeedChanges, FeedRow
from db.writes import in_background
from summaries.decisions import (
    Failed,
    FeedIntent,
    FeedState,
    Fetched,
    NotModified,
    Outcome,
    Policy,
    Seen,
    decide,
    entry_fingerprint,
    failure_of,
)
from summaries.dedup import MAX_ITEMS, DedupIndex, dedup_keys
from summaries.enrichment import Enrichment, enrich
from summaries.errors import ExtractError, FeedParseError, FetchError
from summaries.extract import extract_article
from summaries.feeds import ParsedEntry, ParsedFeed, parse_feed
from summaries.fetch import Fetcher, FetchResult
from summaries.pagework import enrich_page, keeps_page_text
from summaries.schedule import host_turns
from summaries.search import SearchDocument, search_document

log = logging.getLogger(__name__)
T = TypeVar("T")

# How far back the in-memory dedup index reaches when a pass starts (at most its
# MAX_ITEMS newest articles; the database still knows every URL).
DEDUP_WINDOW = timedelta(days=14)
DEDUP_RELOAD = timedelta(days=1)
# Fetched article pages at once, across all feeds and per feed (the fetcher also limits
# per host): one feed whose pages drip cannot hold every page slot.
PAGE_CONCURRENCY = 16
PAGES_PER_FEED = 4
# Seconds for one feed: fetch, parse and its article pages (FEED_DEADLINE).
FEED_DEADLINE = 180.0
# Feeds polled at once by a pass, each by one of as many tasks: a task per feed had 10,000
# of them waiting on one host's gate in an all-304 pass, their creation, wake-ups and the
# garbage collector's walks over them a good part of its CPU. Well above what the feeds'
# work can use at once (the fetcher's 50 requests, PAGE_CONCURRENCY, the worker pool), so a
# feed slow to fetch or parse (up to FEED_DEADLINE) holds its own task, not the others.
POLLS_AT_ONCE = 200
# Seconds one CPU job (parsing a document, extracting a page, summarizing) may take.
JOB_TIMEOUT = 30.0
# Feed states without entries (304s, failures) written per transaction.
STATE_BATCH = 200
# Seconds a claim on a feed holds (db.leases), renewed while its pass runs: a worker killed
# mid-pass leaves its feeds to other workers after at most this long (INGEST_LEASE).
INGEST_LEASE = 60.0
# Database sessions a pass holds at once (reads, the one writer, routing), at most the
# pool's capacity: thousands of feeds each opening sessions would wait on the pool past
# its timeout ("QueuePool limit ... reached"), and the rest of the pool is the bot's.
DB_SESSIONS = 6
# Matches per routing transaction, about: each holds SQLite's write lock, which a command's
# write waits for (db.writes). A route is one row an article whatever its matches, so the
# matches size the matching work: ~5,000 are a few ms of CPU (~40 articles at 1,000 chats,
# one at 100,000), against a few ms of fixed cost per transaction.
ROUTE_ROWS = 5000


@dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    title: str
    url: str | None
    source: str
    announce: bool
    feed_id: int = 0


@dataclass
class PassReport:
    checked: int = 0
    fetched: int = 0  # polls that brought a feed document
    not_modified: int = 0
    failed: int = 0
    disabled: int = 0
    moved: int = 0
    duplicates: int = 0  # entries of articles already stored (another feed's, or churn)
    page_fetches: int = 0
    page_failures: int = 0
    enrich_failures: int = 0
    entry_failures: int = 0  # entries the database refused (the feed's others were stored)
    storage_errors: int = 0  # database failures that cost no feed (down, busy, conflicts)
    interrupted: int = 0  # feeds cut short by a stop (not charged)
    bugs: int = 0  # unexpected exceptions (logged with their traceback, not charged)
    routed: int = 0  # new (chat, article) matches made while the pass ran
    claimed: int = 0  # feeds leased for the pass (checked: those whose poll began)
    new_articles: list[NewArticle] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (feed url, message)
    failure_kinds: Counter[str] = field(default_factory=Counter)  # failed feeds by ErrorKind


@dataclass
class _Candidate:
    entry: ParsedEntry
    text: str
    text_source: str
    enrichment: Enrichment | None = None
    enrich_error: str | None = None


def _about(feed: FeedRow) -> dict[str, object]:
    """The fields a log line about one feed carries (LOG_FORMAT=json)."""
    return {"feed_id": feed.id, "feed_url": feed.url}


def _state(feed: FeedRow) -> FeedState:
    return FeedState(
        url=feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        ttl_seconds=feed.ttl_seconds,
        consecutive_errors=feed.consecutive_errors,
        polled_before=feed.last_success is not None,
        title=feed.title,
        site_url=feed.site_url,
    )


def _changes(intent: FeedIntent, feed: FeedRow) -> FeedChanges:
    """The columns the poll changes: its times and error always, the rest when they differ
    from the claimed row. A 304 changes none of the rest, so an all-304 pass's feeds share
    one set of changes, which ``queries.update_feeds`` writes for many feeds at once."""
    changes: FeedChanges = {
        "last_checked": intent.last_checked,
        "next_check": intent.next_check,
        "last_error": intent.last_error,
    }
    if intent.consecutive_errors != feed.consecutive_errors:
        changes["consecutive_errors"] = intent.consecutive_errors
    if intent.etag != feed.etag:
        changes["etag"] = intent.etag
    if intent.last_modified != feed.last_modified:
        changes["last_modified"] = intent.last_modified
    if intent.ttl_seconds != feed.ttl_seconds:
        changes["ttl_seconds"] = intent.ttl_seconds
    if intent.title != feed.title:
        changes["title"] = intent.title
    if intent.site_url != feed.site_url:
        changes["site_url"] = intent.site_url
    if intent.succeeded:
        changes["last_success"] = intent.last_checked
    if intent.url:
        changes["url"] = intent.url
    if intent.disable:
        changes["enabled"] = False
        changes["disabled_reason"] = intent.disable
    return changes


class Ingestor:
    """Runs ingest passes; one per process, sharing the fetcher, the worker pool and a
    write lock (SQLite has one writer, and the dedup index must see each insert before
    the next check)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        *,
        interval: float,
        max_errors: int,
        executor: Executor | WorkerPool | None = None,
        feed_deadline: float = FEED_DEADLINE,
        job_timeout: float = JOB_TIMEOUT,
        route: bool = True,
        lease: float = INGEST_LEASE,
        owner: str | None = None,
        db_sessions: int | None = None,
    ) -> None:
        """``executor`` runs the CPU work: a WorkerPool (production: processes), or an
        executor the caller owns; without one it runs in threads. ``route=False`` leaves
        the stored articles for someone else to route (tests). ``db_sessions`` bounds the
        sessions held at once (default: DB_SESSIONS, or fewer when the pool is smaller)."""
        self._sessions = sessions
        if isinstance(executor, WorkerPool):
            self._pool = executor
        else:
            self._pool = WorkerPool(executor=executor, processes=False)
        self._fetcher = fetcher
        self._policy = Policy(interval=interval, max_errors=max_errors)
        self._deadline = feed_deadline
        self._job_timeout = job_timeout
        self._routing = route
        self._lease = timedelta(seconds=lease)
        self.owner = owner or leases.process_owner()
        self._neighbours_checked = False
        self._write_lock = asyncio.Lock()
        capacity = session_capacity(sessions)
        bound = db_sessions or min(DB_SESSIONS, capacity or DB_SESSIONS)
        self._db_gate = asyncio.Semaphore(max(1, bound))
        self._pages = asyncio.Semaphore(PAGE_CONCURRENCY)
        self._dedup = DedupIndex()
        self._dedup_loaded_at: datetime | None = None
        self._unsaved: list[tuple[FeedRow, FeedChanges, bool]] = []
        self._route_lock = asyncio.Lock()
        self._route_queued = False
        # Called with the number of new matches after routing made some (the outbox's wake).
        self.on_routed: Callable[[int], None] | None = None

    # ----------------------------------------------------------------- sessions

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        async with self._db_gate, reading(self._sessions) as session:
            yield session

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction; the caller holds the write lock (taken before a gate slot,
        so the writer never holds a slot while waiting for the lock)."""
        async with self._db_gate, transaction(self._sessions) as session:
            yield session

    # ----------------------------------------------------------------- the pass

    @in_background  # commands' writes go first (db.writes)
    async def run_pass(
        self,
        *,
        now: datetime,
        include_all: bool = False,
        on_feed_done: Callable[[FeedRow], None] | None = None,
        on_start: Callable[[int], None] | None = None,
        batch: int | None = None,
    ) -> PassReport:
        """Poll the due feeds (every enabled one with ``include_all``) that no other worker
        holds, at most ``batch`` of them (None: all), leased to this worker for the pass."""
        report = PassReport()
        started = asyncio.get_running_loop().time()
        try:
            async with self._write_lock, self._transaction() as session:
                if not self._neighbours_checked:
                    await self._end_dead_neighbours(session, now=now)
                feeds = await leases.claim_feeds(
                    session,
                    owner=self.owner,
                    now=now,
                    lease=self._lease,
                    limit=batch,
                    include_all=include_all,
                )
            report.claimed = len(feeds)
        except StorageError as exc:
            report.storage_errors += 1
            report.errors.append(("(database)", str(exc)))
            log.warning("ingest pass skipped, the database failed: %s", exc)
            return report
        renewing = asyncio.create_task(self._renew(feeds, now=now), name="lease renewal")
        try:
            await self._claimed_pass(feeds, now, report, on_feed_done, on_start)
        finally:
            renewing.cancel()
            await self._release(feeds)
        for level, line in pass_lines(
            checked=report.checked,
            failure_kinds=report.failure_kinds,
            new_articles=len(report.new_articles),
            not_modified=report.not_modified,
            page_failures=report.page_failures,
            seconds=asyncio.get_running_loop().time() - started,
        ):
            log.log(level, line)
        return report

    async def _claimed_pass(
        self,
        feeds: list[FeedRow],
        now: datetime,
        report: PassReport,
        on_feed_done: Callable[[FeedRow], None] | None,
        on_start: Callable[[int], None] | None,
    ) -> None:
        try:
            await self._load_dedup(now)
        except StorageError as exc:
            report.storage_errors += 1
            report.errors.append(("(database)", str(exc)))
            log.warning("ingest pass skipped, the database failed: %s", exc)
            return
        # What an earlier pass (or process) stored and did not route: a crash, a stop.
        await self.route(now=now, report=report)
        if on_start is not None:
            on_start(len(feeds))

        order = host_turns([feed.url for feed in feeds])
        queue = iter([feeds[i] for i in order])

        async def poller() -> None:
            for feed in queue:
                await self._one(feed, now=now, report=report)
                if on_feed_done is not None:
                    on_feed_done(feed)

        try:
            await asyncio.gather(*(poller() for _ in range(min(POLLS_AT_ONCE, len(feeds)))))
        finally:
            await self._save_states(report)
        await self.route(now=now, report=report)
        await self.fan_out(now=now, report=report)

    async def _end_dead_neighbours(self, session: AsyncSession, *, now: datetime) -> None:
        """Once per process: what a crashed predecessor on this host held is free now."""
        ended = await leases.end_dead_neighbours(
            session, me=self.owner, now=now, alive=leases.pid_alive
        )
        self._neighbours_checked = True
        if ended:
            log.info("%d feed leases of a process that died here ended", ended)

    async def _renew(self, feeds: list[FeedRow], *, now: datetime) -> None:
        """Keep the pass's leases alive while it runs (``now`` is the pass's clock, which a
        test may have set in the past: the leases follow it, not the wall clock)."""
        ids = [feed.id for feed in feeds]
        if not ids:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            until = now + timedelta(seconds=loop.time() - started) + self._lease
            try:
                async with self._write_lock, self._transaction() as session:
                    await leases.renew_leases(session, ids, owner=self.owner, until=until)
            except StorageError as exc:
                log.warning("could not renew the leases of %d feeds: %s", len(ids), exc)

    async def _release(self, feeds: list[FeedRow]) -> None:
        """After the pass's feed states are written: the feeds are free for whoever is due
        to poll them next. A lease that cannot be released expires."""
        if not feeds:
            return
        try:
            async with self._write_lock, self._transaction() as session:
                await leases.release_leases(session, [f.id for f in feeds], owner=self.owner)
        except StorageError as exc:
            log.warning("%d feed leases not released (they expire): %s", len(feeds), exc)

    async def _load_dedup(self, now: datetime) -> None:
        loaded = self._dedup_loaded_at
        if loaded is not None and now - loaded <= DEDUP_RELOAD:
            return
        # Rebuilt daily, so a long-running process holds only the window's keys.
        async with self._reading() as session:
            keys = await articles.recent_article_keys(
                session, since=now - DEDUP_WINDOW, limit=MAX_ITEMS
            )
        self._dedup = DedupIndex()
        for article_id, url, content_hash, simhash in keys:
            self._dedup.add(article_id, url=url, content_hash=content_hash, simhash=simhash)
        self._dedup_loaded_at = now

    async def _one(self, feed: FeedRow, *, now: datetime, report: PassReport) -> None:
        """One feed, isolated: whatever happens costs this feed (or nothing) only."""
        report.checked += 1
        try:
            await self._poll(feed, now=now, report=report)
        except PoolStopped:
            report.interrupted += 1
            log.info("feed %s: interrupted by the stop (not charged)", feed.url, extra=_about(feed))
        except (StorageUnavailable, StorageConflict) as exc:
            self._dedup_loaded_at = None  # it may hold rows that were rolled back
            report.storage_errors += 1
            report.errors.append((feed.url, f"not stored, retried later: {exc}"))
            log.warning(
                "feed %s: not stored, retried at its next poll: %s",
                feed.url,
                exc,
                extra=_about(feed),
            )
        except StorageError as exc:
            self._dedup_loaded_at = None
            report.storage_errors += 1
            await self._charge(
                feed, Failed("storage", f"the database refused it: {exc}"), now, report
            )
        except Exception as exc:
            report.bugs += 1
            log.exception(
                "bug while ingesting feed %s (not charged to the feed)",
                feed.url,
                extra=_about(feed),
            )
            await self._note_bug(feed, exc, now=now)

    async def _poll(self, feed: FeedRow, *, now: datetime, report: PassReport) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        try:
            outcome = await self._fetch(feed, now=now, deadline=deadline)
        except TimeoutError:
            outcome = Failed("timeout", f"no feed within FEED_DEADLINE ({self._deadline:g} s)")
        seen = await self._seen(feed, outcome)
        intent = decide(_state(feed), outcome, now=now, policy=self._policy, seen=seen)
        self._count(feed, outcome, intent, report)
        candidates: list[_Candidate] = []
        if intent.new_entries:  # most polls bring nothing new: no semaphore, no gather
            pages = asyncio.Semaphore(PAGES_PER_FEED)
            candidates = await asyncio.gather(
                *(
                    self._prepare(entry, feed, pages, now=now, deadline=deadline, report=report)
                    for entry in intent.new_entries
                )
            )
        await self._store(feed, intent, candidates, now=now, report=report)

    def _count(
        self, feed: FeedRow, outcome: Outcome, intent: FeedIntent, report: PassReport
    ) -> None:
        if isinstance(outcome, Failed):
            report.failed += 1
            report.failure_kinds[outcome.kind] += 1
            report.errors.append((feed.url, outcome.message))
            # One line at the pass's end sums the failures up (bot/passlines.py).
            log.debug(
                "feed %s failed (%s): %s",
                feed.url,
                outcome.kind,
                outcome.message,
                extra=_about(feed),
            )
        elif isinstance(outcome, NotModified):
            report.not_modified += 1
        else:
            report.fetched += 1
            for warning in outcome.feed.warnings:
                log.info("feed %s: %s", feed.url, warning, extra=_about(feed))
        if intent.url:
            report.moved += 1
            log.info("feed %s moved permanently to %s", feed.url, intent.url, extra=_about(feed))
        if intent.disable:
            report.disabled += 1
            log.warning("feed %s disabled: %s", feed.url, intent.disable, extra=_about(feed))
        if intent.relinks:
            report.duplicates += len(intent.relinks)
            churned = sum(1 for r in intent.relinks if r.reason == "content")
            if churned:
                log.info(
                    "feed %s: %d entries came back under new guids",
                    feed.url,
                    churned,
                    extra=_about(feed),
                )

    async def _fetch(self, feed: FeedRow, *, now: datetime, deadline: float) -> Outcome:
        """The poll's outcome; TimeoutError past ``deadline`` (the fetcher's one clock
        covers the fetch: no timer of its own for a 304)."""
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified, deadline=deadline
            )
        except FetchError as exc:
            return failure_of(exc)
        if result.not_modified:
            return NotModified(
                result.etag, result.last_modified, result.max_age, result.permanent_redirect
            )
        try:
            async with asyncio.timeout_at(deadline):
                parsed = await self.parse_feed(
                    result.content, url=result.final_url, now=now, content_type=result.content_type
                )
        except FeedParseError as exc:
            return Failed("parse", f"not a usable feed: {exc}")
        return Fetched(
            parsed, result.etag, result.last_modified, result.max_age, result.permanent_redirect
        )

    async def parse_feed(
        self, content: bytes, *, url: str, now: datetime, content_type: str | None = None
    ) -> ParsedFeed:
        """``summaries.feeds.parse_feed`` in the worker pool, under the job time limit: never
        on the event loop (what /addfeed awaits too).

        FeedParseError for anything that is not a usable feed, a parse past the time limit
        and a parser that crashed its worker included; PoolStopped when the process stops.
        """
        job = partial(parse_feed, content, url=url, now=now, content_type=content_type)
        try:
            return await self._pool.run(job, timeout=self._job_timeout)
        except JobTimeout:
            raise FeedParseError(
                f"parsing took longer than {self._job_timeout:g} s (refused): {url}"
            ) from None
        except WorkerCrashed:
            raise FeedParseError(f"the feed parser crashed on this document: {url}") from None

    async def _seen(self, feed: FeedRow, outcome: Outcome) -> Seen:
        """What storage knows about this poll's URL and entries (read in a fresh session)."""
        if isinstance(outcome, Failed):
            return Seen()
        moved = bool(outcome.moved_to and outcome.moved_to != feed.url)
        if not moved and not (isinstance(outcome, Fetched) and outcome.feed.entries):
            return Seen()  # a 304 that stays put: nothing to ask (no session for 10,000 of them)
        moved_onto: int | None = None
        guids: set[str] = set()
        urls: dict[str, int] = {}
        hashes: dict[str, int] = {}
        async with self._reading() as session:
            if moved and outcome.moved_to:
                other = await queries.feed_id_by_url(session, outcome.moved_to)
                moved_onto = other if other != feed.id else None
            if isinstance(outcome, Fetched) and outcome.feed.entries:
                entries = outcome.feed.entries
                guids = await articles.known_guids(session, feed.id, [e.guid for e in entries])
                fresh = [e for e in entries if e.guid not in guids]
                urls = await articles.article_ids_by_url(session, {e.url for e in fresh if e.url})
                hashes = await articles.entry_hashes(
                    session, feed.id, {entry_fingerprint(e) for e in fresh}
                )
        return Seen(frozenset(guids), hashes, urls, moved_onto)

    # ----------------------------------------------------------------- entries

    async def _prepare(
        self,
        entry: ParsedEntry,
        feed: FeedRow,
        pages: asyncio.Semaphore,
        *,
        now: datetime,
        deadline: float,
        report: PassReport,
    ) -> _Candidate:
        page = await self._page(entry, pages, deadline=deadline, report=report)
        if page is not None:
            # Extraction and enrichment in one job: one round trip through the pool, and
            # the text crosses it once. Failing that, the two steps apart say which failed.
            done = await self._enrich_page(entry, feed, page, now=now, report=report)
            if done is not None:
                return done
            cand = await self._extract(entry, page, now=now, report=report)
        else:
            cand = _Candidate(entry, entry.text, "feed")
        job = partial(
            enrich,
            entry.title,
            cand.text,
            language=entry.language,
            published=entry.published,
            now=now,
            categories=entry.categories,
            # Plain slugs, not a feed object: the job is pickled into the process pool.
            feed_topics=feed.topics,
        )
        try:
            cand.enrichment = await self._pool.run(job, timeout=self._job_timeout)
        except PoolStopped:
            raise
        except (JobTimeout, WorkerCrashed) as exc:
            report.enrich_failures += 1
            cand.enrich_error = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("summarizing %s failed (%s); keeping the feed text", entry.url, exc)
        except Exception as exc:  # a summarizer bug must cost one summary, not the article
            report.enrich_failures += 1
            cand.enrich_error = f"{type(exc).__name__}: {exc}"[:1000]
            log.exception("summarizing %s failed; keeping the feed text", entry.url or entry.guid)
        return cand

    async def _page(
        self,
        entry: ParsedEntry,
        pages: asyncio.Semaphore,
        *,
        deadline: float,
        report: PassReport,
    ) -> FetchResult | None:
        """A teaser's article page; None for a full entry or a page that failed (counted)."""
        if not entry.is_teaser or not entry.url:
            return None
        try:
            # The page counts against the feed's deadline, waiting for a slot included.
            async with asyncio.timeout_at(deadline), pages, self._pages:
                report.page_fetches += 1
                return await self._fetcher.fetch_page(entry.url)
        except (FetchError, TimeoutError) as exc:
            _page_failed(entry, exc, report)
            return None

    async def _enrich_page(
        self,
        entry: ParsedEntry,
        feed: FeedRow,
        page: FetchResult,
        *,
        now: datetime,
        report: PassReport,
    ) -> _Candidate | None:
        """The page extracted and the article enriched in one job; None when the job failed
        (the caller runs the two steps apart)."""
        job = partial(
            enrich_page,
            page.content,
            url=page.final_url,
            content_type=page.content_type,
            title=entry.title,
            feed_text=entry.text,
            language=entry.language,
            published=entry.published,
            now=now,
            categories=entry.categories,
            feed_topics=feed.topics,
        )
        try:
            done = await self._pool.run(job, timeout=self._job_timeout)
        except PoolStopped:
            raise
        except Exception as exc:  # a time-out, a crash, a bug: the steps apart tell which
            log.debug(
                "page work on %s failed (%s); extracting and summarizing apart", entry.url, exc
            )
            return None
        if done.extract_error is not None:
            _page_failed(entry, done.extract_error, report)
        if done.text is None:
            return _Candidate(entry, entry.text, "feed", done.enrichment)
        return _Candidate(entry, done.text, "page", done.enrichment)

    async def _extract(
        self, entry: ParsedEntry, page: FetchResult, *, now: datetime, report: PassReport
    ) -> _Candidate:
        job = partial(
            extract_article,
            page.content,
            url=page.final_url,
            content_type=page.content_type,
            now=now,
        )
        try:
            extracted = await self._pool.run(job, timeout=self._job_timeout)
        except (ExtractError, JobTimeout, WorkerCrashed) as exc:
            _page_failed(entry, exc, report)
            return _Candidate(entry, entry.text, "feed")
        if not keeps_page_text(extracted.text, entry.text):
            return _Candidate(entry, entry.text, "feed")
        return _Candidate(entry, extracted.text, "page")

    # ----------------------------------------------------------------- storing

    async def _store(
        self,
        feed: FeedRow,
        intent: FeedIntent,
        candidates: list[_Candidate],
        *,
        now: datetime,
        report: PassReport,
    ) -> None:
        changes = _changes(intent, feed)
        if not candidates and not intent.relinks:
            # Nothing else to write: saved with a batch (one commit per feed made an
            # all-304 pass commit-bound).
            self._unsaved.append((feed, changes, intent.counts_error))
            if len(self._unsaved) >= STATE_BATCH:
                await self._save_states(report)
            return
        refused_before = report.entry_failures
        async with self._write_lock:
            try:
                added = await self._store_together(feed, intent, candidates, changes, now=now)
            except StorageRefused as exc:
                self._dedup_loaded_at = None
                log.warning(
                    "feed %s: storing its entries failed (%s); one by one",
                    feed.url,
                    exc,
                    extra=_about(feed),
                )
                added = await self._store_each(
                    feed, intent, candidates, changes, now=now, report=report
                )
            except StorageError:
                self._dedup_loaded_at = None
                raise
        if added is None:
            log.info(
                "feed %s was removed during its poll; nothing stored", feed.url, extra=_about(feed)
            )
            return
        source = feed.title or intent.title or feed.url
        report.new_articles.extend(
            NewArticle(article_id, c.entry.title, c.entry.url, source, intent.announce, feed.id)
            for article_id, c in added
        )
        refused = report.entry_failures - refused_before
        report.duplicates += len(candidates) - len(added) - refused
        if added and intent.announce:
            await self.route(now=now, report=report)

    async def _store_together(
        self,
        feed: FeedRow,
        intent: FeedIntent,
        candidates: list[_Candidate],
        changes: FeedChanges,
        *,
        now: datetime,
    ) -> list[tuple[int, _Candidate]] | None:
        """The feed's state, relinks and new entries in one transaction; None when the feed
        was removed meanwhile (nothing is stored for it)."""
        added: list[tuple[int, _Candidate]] = []
        new_rows = _NewRows()
        async with self._transaction() as session:
            # Reads first: SQLite's write lock (db.writes) is taken at the first write.
            known = await _known_urls(session, candidates)
            if not await queries.update_feed(
                session, feed.id, changes, add_error=intent.counts_error
            ):
                return None
            await self._relink(session, feed, intent, now=now)
            for cand in candidates:
                article_id, is_new = await self._add(
                    session,
                    feed,
                    cand,
                    now=now,
                    announce=intent.announce,
                    known=known,
                    new_rows=new_rows,
                )
                if is_new:
                    added.append((article_id, cand))
            await new_rows.write(session, now=now)
        return added

    async def _store_each(
        self,
        feed: FeedRow,
        intent: FeedIntent,
        candidates: list[_Candidate],
        changes: FeedChanges,
        *,
        now: datetime,
        report: PassReport,
    ) -> list[tuple[int, _Candidate]]:
        """After a refused batch: each entry in a transaction of its own, the feed's state
        last (so a crash in between polls the entries again instead of losing them)."""
        added: list[tuple[int, _Candidate]] = []
        for cand in candidates:
            try:
                async with self._transaction() as session:
                    new_rows = _NewRows()
                    article_id, is_new = await self._add(
                        session,
                        feed,
                        cand,
                        now=now,
                        announce=intent.announce,
                        known=await _known_urls(session, [cand]),
                        new_rows=new_rows,
                    )
                    await new_rows.write(session, now=now)
                if is_new:
                    added.append((article_id, cand))
            except StorageRefused as exc:
                self._dedup_loaded_at = None
                report.entry_failures += 1
                report.errors.append((feed.url, f"entry {cand.entry.guid[:100]} refused: {exc}"))
                log.warning(
                    "feed %s: entry %s not stored: %s",
                    feed.url,
                    cand.entry.guid,
                    exc,
                    extra=_about(feed),
                )
        async with self._transaction() as session:
            if await queries.update_feed(session, feed.id, changes, add_error=intent.counts_error):
                await self._relink(session, feed, intent, now=now)
        return added

    async def _relink(
        self, session: AsyncSession, feed: FeedRow, intent: FeedIntent, *, now: datetime
    ) -> None:
        for relink in intent.relinks:
            await articles.link_source(
                session,
                article_id=relink.article_id,
                feed_id=feed.id,
                guid=relink.entry.guid,
                entry_hash=entry_fingerprint(relink.entry),
                now=now,
            )

    async def _add(
        self,
        session: AsyncSession,
        feed: FeedRow,
        cand: _Candidate,
        *,
        now: datetime,
        announce: bool,
        known: dict[str, int],
        new_rows: _NewRows,
    ) -> tuple[int, bool]:
        """Insert the candidate, or link it to the article it duplicates: (article id,
        whether it is new). ``known``: stored articles by URL, read before the
        transaction's first write; a new article's words and source go to ``new_rows``."""
        entry = cand.entry
        found = cand.enrichment
        if found is not None and found.content_hash is not None:
            content_hash, simhash = found.content_hash, found.simhash  # a worker's work
        else:
            content_hash, simhash = dedup_keys(entry.title, cand.text)
        existing = self._dedup.find(url=entry.url, content_hash=content_hash, simhash=simhash)
        if existing is None and entry.url:
            existing = known.get(entry.url)
        source = articles.NewSource(existing or 0, feed.id, entry.guid, entry_fingerprint(entry))
        if existing is None:
            draft = _draft(cand, content_hash, simhash, now=now, announce=announce)
            existing = await articles.insert_article_row(session, draft, now=now)
            # Within this transaction, later entries of the same feed must see this one.
            self._dedup.add(existing, url=entry.url, content_hash=content_hash, simhash=simhash)
            search = found.search if found is not None else None
            new_rows.words.append((existing, search or search_document(draft.title, draft.text)))
            new_rows.sources[existing] = replace(source, article_id=existing)
            return existing, True
        if existing in new_rows.sources:
            # Stored by an earlier entry of this transaction: as link_source would, its row
            # takes this entry's guid.
            earlier = new_rows.sources[existing]
            hashed = source.entry_hash or earlier.entry_hash
            new_rows.sources[existing] = replace(source, entry_hash=hashed)
            return existing, False
        await articles.link_source(
            session,
            article_id=existing,
            feed_id=feed.id,
            guid=entry.guid,
            entry_hash=source.entry_hash,
            now=now,
        )
        return existing, False

    async def _save_states(self, report: PassReport) -> None:
        """Write the batched feed states (checks, 304s, failures) in one transaction."""
        unsaved, self._unsaved = self._unsaved, []
        if not unsaved:
            return
        try:
            async with self._write_lock, self._transaction() as session:
                await queries.update_feeds(
                    session, [(feed.id, changes, add_error) for feed, changes, add_error in unsaved]
                )
        except StorageError as exc:
            # The feeds keep their old state and are polled again: nothing is charged.
            report.storage_errors += 1
            log.warning("%d feed states not saved (polled again): %s", len(unsaved), exc)

    async def _charge(
        self, feed: FeedRow, failure: Failed, now: datetime, report: PassReport
    ) -> None:
        """Record a failure on the feed at once (its poll's own writes were refused)."""
        intent = decide(_state(feed), failure, now=now, policy=self._policy)
        self._count(feed, failure, intent, report)
        try:
            async with self._write_lock, self._transaction() as session:
                await queries.update_feed(session, feed.id, _changes(intent, feed), add_error=True)
        except StorageError as exc:
            log.warning(
                "feed %s: its failure could not be recorded either: %s",
                feed.url,
                exc,
                extra=_about(feed),
            )

    async def _note_bug(self, feed: FeedRow, exc: Exception, *, now: datetime) -> None:
        """After a bug: check the feed again after one interval; its error count is kept."""
        changes: FeedChanges = {
            "last_checked": now,
            "next_check": now + timedelta(seconds=self._policy.interval),
            "last_error": f"internal error (a bug, logged): {type(exc).__name__}: {exc}"[:1000],
        }
        try:
            async with self._write_lock, self._transaction() as session:
                await queries.update_feed(session, feed.id, changes)
        except StorageError as error:
            log.warning(
                "feed %s: could not record the bug either: %s", feed.url, error, extra=_about(feed)
            )

    # ----------------------------------------------------------------- routing

    @in_background
    async def route(self, *, now: datetime, report: PassReport | None = None) -> int:
        """Route what is stored and not routed yet; returns the new matches.

        Calls coalesce: while one routing run waits for the lock, others return at once
        (what they stored is committed, and the waiting run will read it). A failure leaves
        the articles queued for the next run.
        """
        if not self._routing or self._route_queued:
            return 0
        self._route_queued = True
        async with self._route_lock:
            self._route_queued = False
            try:
                # Routing writes: it is the one writer meanwhile (SQLite has one).
                async with self._write_lock, self._db_gate:
                    routed = await route_pending(self._sessions, now=now, rows=ROUTE_ROWS)
                    await wal.truncate_log(self._sessions)
            except StorageError as exc:
                if report is not None:
                    report.storage_errors += 1
                log.warning("routing failed, the articles stay queued: %s", exc)
                return 0
            except Exception:
                if report is not None:
                    report.bugs += 1
                log.exception("bug while routing (the articles stay queued)")
                return 0
        if report is not None:
            report.routed += routed
        if routed and self.on_routed is not None:
            self.on_routed(routed)
        return routed

    async def fan_out(self, *, now: datetime, report: PassReport) -> None:
        """Write the first instant deliveries of what was routed (bot.routing.fan_out_below:
        the outbox writes the rest as it sends them); a failure leaves them to the outbox."""
        if not self._routing:
            return
        try:
            async with self._write_lock, self._db_gate:
                await fan_out_below(self._sessions, now=now)
        except StorageError as exc:
            report.storage_errors += 1
            log.warning("fanning out routed articles failed, the outbox will: %s", exc)
        except Exception:
            report.bugs += 1
            log.exception("bug while fanning out routed articles (the outbox will retry)")


@dataclass
class _NewRows:
    """The search words and source rows of a transaction's new articles, written at its
    end in one statement each (not one round trip each under SQLite's write lock)."""

    words: list[tuple[int, SearchDocument]] = field(default_factory=list)
    sources: dict[int, articles.NewSource] = field(default_factory=dict)

    async def write(self, session: AsyncSession, *, now: datetime) -> None:
        await articles.add_new_rows(session, self.words, list(self.sources.values()), now=now)


async def _known_urls(session: AsyncSession, candidates: list[_Candidate]) -> dict[str, int]:
    """Stored articles by URL, for the candidates' URLs: one query."""
    urls = {c.entry.url for c in candidates if c.entry.url}
    return await articles.article_ids_by_url(session, urls) if urls else {}


def _page_failed(entry: ParsedEntry, reason: object, report: PassReport) -> None:
    """A teaser keeps its feed text: counted, and summed up in one line at the pass's end."""
    report.page_failures += 1
    if isinstance(reason, TimeoutError):
        reason = "past the feed's deadline"
    log.debug("full text of %s unavailable (%s); keeping the feed text", entry.url, reason)


def _draft(
    cand: _Candidate, content_hash: str, simhash: int | None, *, now: datetime, announce: bool
) -> ArticleDraft:
    entry, found = cand.entry, cand.enrichment
    base = ArticleDraft(
        url=entry.url,
        title=entry.title,
        author=entry.author,
        published=entry.published,
        first_seen=now,
        language=entry.language,
        text=cand.text,
        text_source=cand.text_source,
        content_hash=content_hash,
        simhash=simhash,
        announce=announce,
        summary_error=cand.enrich_error,
    )
    if found is None:
        return base
    return replace(
        base,
        summary=found.summary,
        language=found.language or entry.language,
        topics=found.topics,
        topic_scores=found.topic_scores,
        event=found.event,
        is_event=found.event is not None,
        event_start=found.event_start,
        event_end=found.event_end,
        summarized_at=now,
    )
