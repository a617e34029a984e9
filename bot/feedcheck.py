"""Checking a feed before it is stored (/addfeed, /sub): fetched with the fetcher's
safety (SSRF checks, size and time limits), parsed in the worker pool under its time
limit, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.ingest import Ingestor
from summaries.feeds import ParsedFeed
from summaries.fetch import Fetcher, FetchResult


@dataclass(frozen=True, slots=True)
class CheckedFeed:
    url: str  # where to store it: the URL asked for, or where it moved for good
    parsed: ParsedFeed


async def parse_fetched(
    ingestor: Ingestor, result: FetchResult, *, url: str, now: datetime
) -> CheckedFeed:
    """Parse a fetched body as a feed; summaries.errors.FeedParseError if it is none."""
    parsed = await ingestor.parse_feed(
        result.content, url=result.final_url, now=now, content_type=result.content_type
    )
    return CheckedFeed(result.permanent_redirect or url, parsed)


async def check_feed(
    fetcher: Fetcher, ingestor: Ingestor, url: str, *, now: datetime
) -> CheckedFeed:
    """Fetch and parse ``url``; FetchError or FeedParseError (summaries.errors) when it is
    not a reachable, usable feed."""
    result = await fetcher.fetch(url)
    return await parse_fetched(ingestor, result, url=url, now=now)
