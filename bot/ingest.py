"""Ingestion: one pass over the due feeds, from HTTP to stored, deduplicated articles.

The decisions live in ``summaries`` (parsing, extraction, scheduling, dedup keys); this
module is the shell that fetches, runs CPU work off the event loop and writes to the DB.
A failure is recorded on its feed and counted in the pass report; it never stops the pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import queries
from db.models import Article, Feed
from summaries import schedule
from summaries.dedup import DedupIndex, simhash_of
from summaries.enrichment import Enrichment, enrich
from summaries.errors import ExtractError, FeedParseError, FetchError
from summaries.extract import extract_article
from summaries.feeds import ParsedEntry, ParsedFeed, parse_feed
from summaries.fetch import Fetcher
from summaries.text import content_fingerprint

log = logging.getLogger(__name__)
T = TypeVar("T")

# How far back the in-memory dedup index reaches when a pass starts.
DEDUP_WINDOW = timedelta(days=14)
DEDUP_RELOAD = timedelta(days=1)
# Fetched article pages at once, across all feeds (the fetcher also limits per host).
PAGE_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    title: str
    url: str | None
    source: str
    announce: bool


@dataclass
class PassReport:
    checked: int = 0
    not_modified: int = 0
    failed: int = 0
    disabled: int = 0
    moved: int = 0
    duplicates: int = 0
    page_fetches: int = 0
    page_failures: int = 0
    enrich_failures: int = 0
    new_articles: list[NewArticle] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (feed url, message)


@dataclass
class _Candidate:
    entry: ParsedEntry
    text: str
    text_source: str
    enrichment: Enrichment | None = None
    enrich_error: str | None = None


class Ingestor:
    """Runs ingest passes; one per process, sharing the fetcher and a write lock."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        *,
        interval: float,
        max_errors: int,
        executor: Executor | None = None,
    ) -> None:
        """``executor`` runs the CPU-heavy enrichment (a process pool in production);
        without one it runs in a worker thread."""
        self._sessions = sessions
        self._executor = executor
        self._fetcher = fetcher
        self._interval = interval
        self._max_errors = max_errors
        # SQLite has one writer; the dedup index must see each insert before the next check.
        self._write_lock = asyncio.Lock()
        self._pages = asyncio.Semaphore(PAGE_CONCURRENCY)
        self._dedup = DedupIndex()
        self._dedup_loaded_at: datetime | None = None
        self._unsaved: list[Feed] = []

    async def run_pass(
        self,
        *,
        now: datetime,
        include_all: bool = False,
        on_feed_done: Callable[[Feed], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> PassReport:
        async with self._sessions() as session:
            feeds = list(await queries.due_feeds(session, now=now, include_all=include_all))
            loaded = self._dedup_loaded_at
            if loaded is None or now - loaded > DEDUP_RELOAD:
                # Rebuilt daily, so a long-running process holds only the window's keys.
                self._dedup = DedupIndex()
                for article_id, url, content_hash, simhash in await queries.recent_article_keys(
                    session, since=now - DEDUP_WINDOW
                ):
                    self._dedup.add(article_id, url=url, content_hash=content_hash, simhash=simhash)
                self._dedup_loaded_at = now
        report = PassReport()
        if on_start is not None:
            on_start(len(feeds))

        async def one(feed: Feed) -> None:
            try:
                await self._ingest_feed(feed, now=now, report=report)
            except Exception as exc:  # one broken feed must not stop the others
                log.exception("unexpected error ingesting %s", feed.url)
                await self._record_failure(feed, f"internal error: {exc!r}", now=now, report=report)
            if on_feed_done is not None:
                on_feed_done(feed)

        self._unsaved = []
        try:
            await asyncio.gather(*(one(feed) for feed in feeds))
        finally:
            await self._save_feeds()
        return report

    async def _save_feeds(self) -> None:
        """Write the feed states (checks, 304s, failures) of the pass in one transaction:
        one commit per feed made an all-304 pass commit-bound."""
        unsaved, self._unsaved = self._unsaved, []
        if unsaved:
            async with self._write_lock, self._sessions() as session, session.begin():
                session.add_all(unsaved)

    async def _ingest_feed(self, feed: Feed, *, now: datetime, report: PassReport) -> None:
        report.checked += 1
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            await self._record_failure(
                feed,
                str(exc),
                now=now,
                report=report,
                status=exc.status,
                retry_after=exc.retry_after,
            )
            return
        feed.etag = result.etag or feed.etag
        feed.last_modified = result.last_modified or feed.last_modified
        if result.permanent_redirect:
            await self._move_feed(feed, result.permanent_redirect, report=report)
        if result.not_modified:
            report.not_modified += 1
            await self._record_success(feed, None, now=now, max_age=result.max_age, new=[])
            return
        try:
            parsed = await self._cpu(
                partial(
                    parse_feed,
                    result.content,
                    url=result.final_url,
                    now=now,
                    content_type=result.content_type,
                )
            )
        except FeedParseError as exc:
            await self._record_failure(feed, f"not a usable feed: {exc}", now=now, report=report)
            return
        for warning in parsed.warnings:
            log.info("feed %s: %s", feed.url, warning)
        candidates = await self._new_candidates(feed, parsed, now=now, report=report)
        await self._record_success(
            feed, parsed, now=now, max_age=result.max_age, new=candidates, report=report
        )

    async def _new_candidates(
        self, feed: Feed, parsed: ParsedFeed, *, now: datetime, report: PassReport
    ) -> list[_Candidate]:
        assert feed.id is not None
        async with self._sessions() as session:
            known = await queries.known_guids(session, feed.id, [e.guid for e in parsed.entries])
        seen: set[str] = set()
        fresh = []
        for entry in parsed.entries:
            if entry.guid in known or entry.guid in seen:
                continue
            seen.add(entry.guid)
            fresh.append(entry)
        # Plain slugs, not the Feed: the enrichment job is pickled into the process pool.
        feed_topics = tuple(feed.topics or ())
        return list(
            await asyncio.gather(
                *(self._prepare(e, feed_topics, now=now, report=report) for e in fresh)
            )
        )

    async def _prepare(
        self,
        entry: ParsedEntry,
        feed_topics: tuple[str, ...],
        *,
        now: datetime,
        report: PassReport,
    ) -> _Candidate:
        cand = await self._full_text(entry, now=now, report=report)
        job = partial(
            enrich,
            entry.title,
            cand.text,
            language=entry.language,
            published=entry.published,
            now=now,
            categories=entry.categories,
            feed_topics=feed_topics,
        )
        try:
            cand.enrichment = await self._cpu(job)
        except Exception as exc:  # a summarizer bug must cost one summary, not the article
            report.enrich_failures += 1
            cand.enrich_error = f"{type(exc).__name__}: {exc}"[:1000]
            log.exception("summarizing %s failed; keeping the feed text", entry.url or entry.guid)
        return cand

    async def _cpu(self, job: Callable[[], T]) -> T:
        """Run CPU-heavy pure work off the event loop: in the process pool when there is one."""
        if self._executor is None:
            return await asyncio.to_thread(job)
        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    async def _full_text(
        self, entry: ParsedEntry, *, now: datetime, report: PassReport
    ) -> _Candidate:
        if not entry.is_teaser or not entry.url:
            return _Candidate(entry, entry.text, "feed")
        async with self._pages:
            report.page_fetches += 1
            try:
                page = await self._fetcher.fetch_page(entry.url)
                extracted = await self._cpu(
                    partial(
                        extract_article,
                        page.content,
                        url=page.final_url,
                        content_type=page.content_type,
                        now=now,
                    )
                )
            except (FetchError, ExtractError) as exc:
                report.page_failures += 1
                log.info("full text of %s unavailable (%s); keeping the feed text", entry.url, exc)
                return _Candidate(entry, entry.text, "feed")
        if len(extracted.text) <= len(entry.text):
            return _Candidate(entry, entry.text, "feed")
        return _Candidate(entry, extracted.text, "page")

    async def _record_success(
        self,
        feed: Feed,
        parsed: ParsedFeed | None,
        *,
        now: datetime,
        max_age: int | None,
        new: list[_Candidate],
        report: PassReport | None = None,
    ) -> None:
        first_poll = feed.last_success is None
        if parsed is not None:
            feed.title = parsed.title or feed.title
            feed.site_url = parsed.site_url or feed.site_url
            feed.ttl_seconds = parsed.ttl_seconds
        feed.last_checked = now
        feed.last_success = now
        feed.consecutive_errors = 0
        feed.last_error = None
        feed.next_check = schedule.next_check(
            now=now, interval=self._interval, ttl_seconds=feed.ttl_seconds, max_age=max_age
        )
        if not new:
            self._unsaved.append(feed)  # nothing else to write: saved with the pass's batch
            return
        async with self._write_lock:
            added: list[Article] = []
            duplicates = 0
            try:
                async with self._sessions() as session, session.begin():
                    session.add(feed)
                    await session.flush()
                    assert feed.id is not None
                    for cand in new:
                        article_id, article = await self._store(
                            session, cand, now=now, announce=not first_poll
                        )
                        if article is None:
                            duplicates += 1
                        else:
                            added.append(article)
                        await queries.link_source(
                            session,
                            article_id=article_id,
                            feed_id=feed.id,
                            guid=cand.entry.guid,
                            now=now,
                        )
            except IntegrityError as exc:
                # Another process stored the same story first: this feed's entries are
                # retried on its next poll, and the dedup index (which saw the rolled-back
                # rows) is rebuilt from the database.
                self._dedup_loaded_at = None
                log.warning("feed %s: concurrent write conflict, retrying later: %s", feed.url, exc)
                if report is not None:
                    report.errors.append((feed.url, "write conflict"))
                return
        source = feed.title or feed.url
        if report is not None:
            report.new_articles.extend(
                NewArticle(a.id or 0, a.title, a.url, source, a.announce) for a in added
            )
            report.duplicates += duplicates

    async def _store(
        self, session: AsyncSession, cand: _Candidate, *, now: datetime, announce: bool
    ) -> tuple[int, Article | None]:
        """Insert the candidate, or find the article it duplicates: (article id, new article)."""
        entry = cand.entry
        content_hash = content_fingerprint(f"{entry.title}\n{cand.text}")
        simhash = simhash_of(cand.text)
        existing = self._dedup.find(url=entry.url, content_hash=content_hash, simhash=simhash)
        if existing is None and entry.url:
            existing = await queries.article_id_by_url(session, entry.url)
        if existing is not None:
            return existing, None
        article = Article(
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
        )
        _apply_enrichment(article, cand, now=now)
        session.add(article)
        await session.flush()
        assert article.id is not None
        # Within this transaction, later entries of the same feed must see this one.
        self._dedup.add(article.id, url=article.url, content_hash=content_hash, simhash=simhash)
        return article.id, article

    async def _record_failure(
        self,
        feed: Feed,
        message: str,
        *,
        now: datetime,
        report: PassReport,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        report.failed += 1
        report.errors.append((feed.url, message))
        log.warning("feed %s failed: %s", feed.url, message)
        feed.last_checked = now
        feed.consecutive_errors += 1
        feed.total_errors += 1
        feed.last_error = message[:1000]
        feed.next_check = schedule.next_check(
            now=now,
            interval=self._interval,
            ttl_seconds=feed.ttl_seconds,
            retry_after=retry_after,
            consecutive_errors=feed.consecutive_errors,
        )
        permanent = status is not None and schedule.is_permanent_failure(status)
        if permanent or schedule.should_disable(
            feed.consecutive_errors, max_errors=self._max_errors
        ):
            feed.enabled = False
            feed.disabled_reason = (
                f"disabled after {feed.consecutive_errors} consecutive errors; last: {message}"
            )[:1000]
            report.disabled += 1
            log.warning("feed %s disabled: %s", feed.url, feed.disabled_reason)
        self._unsaved.append(feed)

    async def _move_feed(self, feed: Feed, new_url: str, *, report: PassReport) -> None:
        async with self._sessions() as session:
            other = await queries.feed_by_url(session, new_url)
        if other is not None and other.id != feed.id:
            # Both URLs now serve one feed: keep the one stored under the new URL.
            feed.enabled = False
            feed.disabled_reason = (
                f"moved permanently to {new_url}, already stored as feed {other.id}"
            )
            report.disabled += 1
            log.warning("feed %s disabled: %s", feed.url, feed.disabled_reason)
            return
        log.info("feed %s moved permanently to %s", feed.url, new_url)
        feed.url = new_url
        report.moved += 1


def _apply_enrichment(article: Article, cand: _Candidate, *, now: datetime) -> None:
    found = cand.enrichment
    if found is None:
        article.summary_error = cand.enrich_error
        return
    article.summary = found.summary
    article.language = found.language or article.language
    article.topics = found.topics
    article.topic_scores = found.topic_scores
    article.event = found.event
    article.is_event = found.event is not None
    article.event_start = found.event_start
    article.event_end = found.event_end
    article.summarized_at = now
