"""Enrichment: what the summaries stage adds to one article — summary, topics, forum facts,
search words and its dedup keys.

``enrich`` is pure and picklable end to end (plain data in, plain data out), so the
ingest shell can run it in a process pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from summaries.dedup import dedup_keys
from summaries.events import extract_event
from summaries.furniture import strip_furniture
from summaries.language import detect_language
from summaries.search import SearchDocument, search_document
from summaries.sentences import language_code
from summaries.summarize import summarize
from summaries.topics import tag_topics

# Stored sentences: chats choose 1-5 at display time, so keep the most anyone can ask for.
STORED_SENTENCES = 5
# A sentence longer than this is page furniture or a run-on: cut at a word boundary.
MAX_SUMMARY_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Enrichment:
    summary: list[str]
    language: str | None
    topics: list[str]  # slugs, best first
    topic_scores: dict[str, float]
    event: dict[str, Any] | None = None  # EventFacts.to_dict(now)
    event_start: date | None = None
    event_end: date | None = None
    warnings: list[str] = field(default_factory=list)
    # The article's search words (title and stored text): made here, in the worker, since
    # segmenting Chinese is CPU work.
    search: SearchDocument | None = None
    # The dedup keys of (title, text) (``dedup_keys``), computed here because this runs in
    # a worker: hashing every shingle of the text is CPU the ingest process need not spend.
    content_hash: str | None = None
    simhash: int | None = None


def enrich(
    title: str,
    text: str,
    *,
    language: str | None,
    published: datetime | None,
    now: datetime,
    categories: Sequence[str] = (),
    feed_topics: Sequence[str] = (),
) -> Enrichment:
    """Summarize, tag and look for forum facts in one article (title + plain text).

    Page furniture (bylines, share widgets, captions, "related" lists …) is stripped first,
    once, so the summary, the topics and the forum facts all read the same clean text.
    ``categories`` are the entry's own category tags, ``feed_topics`` the default topics an
    admin gave its feed: both are priors for the topics (see ``tag_topics``).
    """
    body = _without_title(title, strip_furniture(text))
    # The language summarize() would settle on, known before it runs: forum facts need it,
    # and the summary needs the forum report's lead sentence.
    lang = detect_language(body, hint=language) or language_code(language) or language
    event = extract_event(title, body, published=published, language=lang)
    # EventFacts.lead_sentence: the report's who/what/where sentence. Read with getattr
    # because events.py is being rewritten alongside; facts without one give no lead.
    lead: str | None = getattr(event, "lead_sentence", None) if event else None
    summary = summarize(
        body,
        language=lang,
        max_sentences=STORED_SENTENCES,
        max_chars=MAX_SUMMARY_CHARS * 3,
        title=title,
        lead=lead,
    )
    scores = tag_topics(title, body, language=lang, categories=categories, feed_topics=feed_topics)
    content_hash, simhash = dedup_keys(title, text)
    return Enrichment(
        summary=summary.sentences,
        language=lang,
        topics=[s.slug for s in scores],
        topic_scores={s.slug: round(s.score, 3) for s in scores},
        event=event.to_dict(now) if event else None,
        event_start=event.start if event else None,
        event_end=(event.end or event.start) if event else None,
        search=search_document(title, text),
        content_hash=content_hash,
        simhash=simhash,
    )


def _without_title(title: str, text: str) -> str:
    """Drop a first line that repeats the title: extracted pages often start with the headline."""
    first, sep, rest = text.lstrip().partition("\n")
    if sep and title and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest.lstrip()
    return text
