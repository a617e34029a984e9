"""Page work: what a teaser's fetched article page needs, as one job for a worker process.

A teaser's page is extracted, its main text kept when it says more than the feed's, and the
article (page text or feed text) enriched. Done as two jobs, the article's text went to the
worker, back to the ingest process and out to a worker again, and each job waited for its
own round trip through the pool; ``enrich_page`` does both in one, and sends back the page
text only when it is the one kept (plain data in, plain data out, so it pickles).

A page that holds no main text (``ExtractError``) leaves the feed text in place, as before;
any other failure propagates, and the shell then runs the two steps apart, so a page whose
extraction fails keeps its enrichment of the feed text and a summarizer that fails keeps the
page text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from summaries.enrichment import Enrichment, enrich
from summaries.errors import ExtractError
from summaries.extract import extract_article


@dataclass(frozen=True, slots=True)
class EnrichedPage:
    text: str | None  # the page's main text when it replaces the feed's; None: the feed's stays
    enrichment: Enrichment  # of the text kept
    extract_error: str | None = None  # why the page gave no text, when it gave none


def keeps_page_text(page_text: str, feed_text: str) -> bool:
    """Whether an article page's main text replaces the feed's (it says more)."""
    return len(page_text) > len(feed_text)


def enrich_page(
    page: bytes,
    *,
    url: str,
    content_type: str | None,
    title: str,
    feed_text: str,
    language: str | None,
    published: datetime | None,
    now: datetime,
    categories: Sequence[str] = (),
    feed_topics: Sequence[str] = (),
) -> EnrichedPage:
    """Extract ``page`` (fetched from ``url``) and enrich the text kept: the page's main
    text when it is longer than ``feed_text``, else ``feed_text`` (see ``enrich``)."""
    kept: str | None = None
    error: str | None = None
    try:
        extracted = extract_article(page, url=url, content_type=content_type, now=now)
    except ExtractError as exc:
        error = str(exc)
    else:
        if keeps_page_text(extracted.text, feed_text):
            kept = extracted.text
    enrichment = enrich(
        title,
        feed_text if kept is None else kept,
        language=language,
        published=published,
        now=now,
        categories=categories,
        feed_topics=feed_topics,
    )
    return EnrichedPage(kept, enrichment, error)
