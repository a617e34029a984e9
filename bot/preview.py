"""Preview: what a subscriber would get for a feed, an article page or a text file.

Used by ``sciforum preview``; runs the same fetch → parse → full text → enrich path as
ingestion, without storing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.render import ArticleCard
from summaries.enrichment import Enrichment, enrich
from summaries.errors import ExtractError, FeedParseError, FetchError, SummariesError
from summaries.events import EventFacts
from summaries.extract import extract_article
from summaries.feeds import ParsedEntry, parse_feed
from summaries.fetch import Fetcher
from summaries.furniture import split_headline, strip_furniture
from summaries.text import first_words
from summaries.urls import host_of


@dataclass(frozen=True, slots=True)
class PreviewItem:
    title: str
    url: str | None
    source: str
    published: datetime | None
    language: str | None
    enrichment: Enrichment

    def card(self) -> ArticleCard:
        found = self.enrichment
        event = None
        if found.event:
            with contextlib.suppress(SummariesError):
                event = EventFacts.from_dict(found.event)
        return ArticleCard(
            id=0,
            title=self.title,
            url=self.url,
            source=self.source,
            published=self.published or datetime.now(UTC),
            summary=tuple(found.summary),
            topics=tuple(found.topics),
            event=event,
            language=found.language or self.language,
        )

    def to_json(self) -> dict[str, Any]:
        found = self.enrichment
        event = dict(found.event) if found.event else None
        if event is not None:
            event.pop("kind", None)
        return {
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published.isoformat() if self.published else None,
            "language": found.language or self.language,
            "summary": found.summary,
            "topics": found.topics,
            "event": event,
        }


def _looks_like_html(content: bytes) -> bool:
    head = content.lstrip()[:1000].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


async def _entry_item(
    entry: ParsedEntry, source: str, fetcher: Fetcher | None, now: datetime
) -> PreviewItem:
    text = entry.text
    if entry.is_teaser and entry.url and fetcher is not None:
        try:
            page = await fetcher.fetch_page(entry.url)
            extracted = await asyncio.to_thread(
                extract_article,
                page.content,
                url=page.final_url,
                content_type=page.content_type,
            )
            if len(extracted.text) > len(text):
                text = extracted.text
        except (FetchError, ExtractError):
            pass  # the feed's own text is what a subscriber would get then
    # The entry's own categories count as in ingestion; a previewed URL has no stored feed,
    # so no admin's default topics.
    found = await asyncio.to_thread(
        enrich,
        entry.title,
        text,
        language=entry.language,
        published=entry.published,
        now=now,
        categories=entry.categories,
    )
    return PreviewItem(entry.title, entry.url, source, entry.published, entry.language, found)


async def _page_item(content: bytes, url: str | None, source: str, now: datetime) -> PreviewItem:
    page = await asyncio.to_thread(extract_article, content, url=url)
    title = page.title or _headline(page.text)
    found = await asyncio.to_thread(
        enrich,
        title,
        page.text,
        language=page.language,
        # Without a publication date, only dates that state their year (or the event name's
        # year) are trusted: guessing against today misdates old reports.
        published=page.published,
        now=now,
    )
    return PreviewItem(title, url, source, page.published, page.language, found)


def _headline(text: str) -> str:
    """The headline a text starts with, past its furniture, else the first words of its
    first real line ("中文 |", "Share" and bylines are no title)."""
    headline, _ = split_headline(text)
    return headline or first_words(strip_furniture(text))


async def _text_item(text: str, source: str, now: datetime) -> PreviewItem:
    headline, below = split_headline(text)
    # A report that opens with its lead sentence has no headline: the lead stays in the body.
    title = headline or first_words(strip_furniture(text))
    body = below if headline and below else text
    found = await asyncio.to_thread(enrich, title, body, language=None, published=None, now=now)
    return PreviewItem(title, None, source, None, None, found)


async def preview_bytes(
    content: bytes,
    *,
    url: str | None,
    source: str,
    now: datetime,
    fetcher: Fetcher | None = None,
    content_type: str | None = None,
) -> list[PreviewItem]:
    """A feed's entries, else one article page, else one plain-text article."""
    try:
        feed = await asyncio.to_thread(
            parse_feed, content, url=url or "file:///", now=now, content_type=content_type
        )
    except FeedParseError:
        feed = None
    if feed is not None:
        name = feed.title or source
        return [await _entry_item(e, name, fetcher, now) for e in feed.entries]
    if _looks_like_html(content):
        return [await _page_item(content, url, source, now)]
    return [await _text_item(content.decode("utf-8", errors="replace"), source, now)]


async def preview_target(target: str, *, fetcher: Fetcher, now: datetime) -> list[PreviewItem]:
    """Preview a URL (fetched) or a local file; FetchError / ExtractError / OSError on failure."""
    if target.startswith(("http://", "https://")):
        result = await fetcher.fetch(target)
        return await preview_bytes(
            result.content,
            url=result.final_url,
            source=host_of(result.final_url),
            now=now,
            fetcher=fetcher,
            content_type=result.content_type,
        )
    path = Path(target)
    return await preview_bytes(
        await asyncio.to_thread(path.read_bytes),
        url=None,
        source=path.name,
        now=now,
        fetcher=fetcher,
    )
