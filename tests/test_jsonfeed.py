"""JSON Feed (summaries.jsonfeed through summaries.feeds.parse_feed): real feeds from
tests/fixtures/feeds/jsonfeed (see SOURCES.md there) and small ones written for one rule
each, read into the same entries as RSS and Atom; and a JSON Feed ingested end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot.ingest import Ingestor
from db import queries
from db import search as search_db
from db.models import Article
from summaries.errors import FeedParseError
from summaries.feeds import MAX_ENTRIES, parse_feed
from summaries.fetch import Fetcher, FetchLimits
from summaries.jsonfeed import is_json_feed, read_json_feed
from tests.conftest import FIXTURES
from tests.feedserver import FeedServer

JSONFEED = FIXTURES / "feeds" / "jsonfeed"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FEED_URL = "https://pxlnv.com/feed/json/"


def parse(document: bytes | dict[str, Any], content_type: str | None = None) -> Any:
    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    return parse_feed(content, url=FEED_URL, now=NOW, content_type=content_type)


def feed_of(*items: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": list(items)} | top


def test_a_real_json_feed_1_reads_like_an_rss_feed() -> None:
    parsed = parse((JSONFEED / "pxlnv.json").read_bytes(), "application/feed+json")

    assert (parsed.title, parsed.site_url, parsed.format) == (
        "Pixel Envy",
        "https://pxlnv.com/",
        "json1",
    )
    assert parsed.warnings == []
    assert [(e.guid, e.url, e.title, e.author) for e in parsed.entries] == [
        (
            "https://pxlnv.com/linklog/uber-losses-2017/",
            "https://pxlnv.com/linklog/uber-losses-2017/",
            "Uber Lost $4.5 Billion in 2017",
            "Nick Heer",
        ),
        (
            "https://pxlnv.com/linklog/autocorrect-contacts-apps/",
            "https://pxlnv.com/linklog/autocorrect-contacts-apps/",
            "Autocorrect Based on Contacts and Apps",
            "Nick Heer",
        ),
    ]
    first = parsed.entries[0]
    assert first.published == datetime(2018, 2, 13, 23, 23, 12, tzinfo=UTC)
    assert first.language == "en"
    assert first.text.startswith("Eric Newcomer, Bloomberg:\n\nAdjusted net revenue")
    assert "<" not in first.text  # HTML made text, as for XML feeds


def test_item_authors_come_from_1_1_authors_then_the_legacy_author_then_the_feeds() -> None:
    raw = read_json_feed((JSONFEED / "authors.json").read_bytes(), url=FEED_URL)

    assert raw.version == "json11"
    assert [(e["id"], e["author"]) for e in raw.entries] == [
        ("Item without authors", "Root Author 1, Root Author 2"),
        ("Item with legacy author", "Legacy Item Author"),
        ("Item with modern authors", "Item Author 1, Item Author 2"),
        ("Item with both", "Item Author 1, Item Author 2"),
    ]


ENTRY_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "plain content text",
        {"id": "1", "url": "https://e.org/a", "title": "A", "content_text": "Line one.\nTwo."},
        {"text": "Line one. Two.", "is_teaser": True},
    ),
    (
        "html wins over a shorter summary",
        {"id": "1", "title": "A", "content_html": "<p>Body <b>x</b></p>", "summary": "S"},
        {"text": "Body x"},
    ),
    (
        "summary when there is no content",
        {"id": "1", "title": "A", "summary": "Only a summary."},
        {"text": "Only a summary."},
    ),
    (
        "external_url when there is no url",
        {"id": "1", "title": "A", "external_url": "https://e.org/b?utm_source=x#c"},
        {"url": "https://e.org/b"},
    ),
    (
        "relative url against the feed",
        {"id": "1", "title": "A", "url": "/post/1"},
        {"url": "https://pxlnv.com/post/1"},
    ),
    (
        "number id",
        {"id": 42, "title": "A"},
        {"guid": "42"},
    ),
    (
        "no id: the url",
        {"title": "A", "url": "https://e.org/a"},
        {"guid": "https://e.org/a"},
    ),
    (
        "modified date when none published",
        {"id": "1", "title": "A", "date_modified": "2025-05-06T07:08:09Z"},
        {"published": datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)},
    ),
    (
        "offset date made UTC",
        {"id": "1", "title": "A", "date_published": "2025-05-06T09:08:09+02:00"},
        {"published": datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)},
    ),
    (
        "RFC 822 date given anyway",
        {"id": "1", "title": "A", "date_published": "Tue, 06 May 2025 07:08:09 GMT"},
        {"published": datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)},
    ),
    (
        "bad or future date: first seen",
        {"id": "1", "title": "A", "date_published": "soon", "date_modified": "2099-01-01"},
        {"published": NOW},
    ),
    (
        "tags as categories, each once",
        {"id": "1", "title": "A", "tags": ["Space", "space", 3, "Biology"]},
        {"categories": ("Space", "Biology")},
    ),
    (
        "the item's language",
        {"id": "1", "title": "Le titre", "language": "fr-FR", "content_text": "Le texte."},
        {"language": "fr"},
    ),
    (
        "title entities and tags cleaned",
        {"id": "1", "title": "<b>R&amp;D</b> &#8220;news&#8221;"},
        {"title": "R&D “news”"},
    ),
    (
        "no title: the first words",
        {"id": "1", "content_text": "Untitled note about comets."},
        {"title": "Untitled note about comets."},
    ),
]


@pytest.mark.parametrize(
    ("item", "expected"), [pytest.param(i, e, id=name) for name, i, e in ENTRY_CASES]
)
def test_json_feed_items_become_entries(item: dict[str, Any], expected: dict[str, Any]) -> None:
    (entry,) = parse(feed_of(item)).entries
    assert {key: getattr(entry, key) for key in expected} == expected


def test_the_feeds_language_home_page_and_the_entry_cap() -> None:
    items = [{"id": str(n), "title": f"T{n}"} for n in range(MAX_ENTRIES + 3)]
    parsed = parse(feed_of(*items, language="zh-CN", home_page_url="https://e.org/"))

    assert (parsed.language, parsed.site_url) == ("zh", "https://e.org/")
    assert len(parsed.entries) == MAX_ENTRIES
    assert parsed.warnings == [f"feed has {MAX_ENTRIES + 3} entries; kept the first {MAX_ENTRIES}"]


@pytest.mark.parametrize(
    ("content", "content_type", "json"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1"}', None, True),
        (b'\xef\xbb\xbf \n{"version": "https://jsonfeed.org/version/1"}', "text/plain", True),
        (b'{"items": []}', "application/feed+json; charset=utf-8", True),
        (b'{"items": []}', "application/json", True),
        (b'{"items": []}', "text/html", False),
        (b"<rss/>", "application/feed+json", False),
        (b"<?xml version='1.0'?><feed/>", None, False),
    ],
)
def test_json_is_told_from_xml_by_its_first_byte_and_type_or_version(
    content: bytes, content_type: str | None, json: bool
) -> None:
    assert is_json_feed(content, content_type) is json


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "malformed JSON"),
        (b'{"version": "https://jsonfeed.org/version/1", "title": "\xff"}', "malformed JSON"),
        (b'{"version": "https://example.org/1", "items": []}', "no jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without items"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', "without items"),
        (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deep"),
        (b"[1, 2]", "not a feed"),
    ],
)
def test_broken_json_feeds_are_feed_parse_errors(content: bytes, problem: str) -> None:
    with pytest.raises(FeedParseError, match=problem):
        parse(content, "application/feed+json")


def test_items_that_are_no_objects_or_empty_are_skipped_with_a_warning() -> None:
    parsed = parse(feed_of({"id": "1", "title": "A"}, "junk", {"id": "2"}))
    assert [e.guid for e in parsed.entries] == ["1"]
    assert parsed.warnings == [
        "skipped 1 items that are not objects",
        "skipped 1 entries with no link, title or text",
    ]


async def test_a_json_feeds_articles_are_stored_and_found_by_search(sessions) -> None:
    with FeedServer() as server:
        real = (JSONFEED / "pxlnv.json").read_text(encoding="utf-8")
        # The feed's own links, moved onto the loopback server (their pages are not there:
        # the articles keep the feed's text).
        body = real.replace("https://pxlnv.com", server.url("").rstrip("/")).encode()
        url = server.add("/feed.json", body, content_type="application/feed+json")
        async with sessions() as s, s.begin():
            await queries.add_feed(s, url, now=NOW)
        limits = FetchLimits(
            connect_timeout=2,
            read_timeout=2,
            total_timeout=5,
            max_bytes=1_000_000,
            allow_private_addresses=True,  # the feed server is on loopback
        )
        async with Fetcher(limits) as fetcher:
            report = await Ingestor(sessions, fetcher, interval=60, max_errors=3).run_pass(now=NOW)

    assert (report.checked, report.failed, len(report.new_articles)) == (1, 0, 2)
    async with sessions() as s:
        stored = (await s.exec(select(Article).order_by(col(Article.id)))).all()
        found = await search_db.search_articles(s, ["uber", "billion"])
    assert [a.title for a in stored] == [
        "Uber Lost $4.5 Billion in 2017",
        "Autocorrect Based on Contacts and Apps",
    ]
    assert [a.title for a in found] == ["Uber Lost $4.5 Billion in 2017"]
