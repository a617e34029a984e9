"""Feed autodiscovery from a page's <link rel="alternate">, table-driven."""

from __future__ import annotations

import pytest

from summaries.discovery import MAX_FEEDS, discover_feeds, looks_like_html

PAGE = "https://news.example.org/science/index.html"


def page(head: str) -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>text</body></html>".encode()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<link rel="alternate" type="application/rss+xml" href="https://a.org/feed.xml">',
            ["https://a.org/feed.xml"],
        ),
        (
            '<link rel="alternate" type="application/atom+xml" href="/atom.xml">',
            ["https://news.example.org/atom.xml"],
        ),
        (
            '<link rel="alternate" type="application/feed+json" href="feed.json">',
            ["https://news.example.org/science/feed.json"],
        ),
        (
            '<link rel="alternate" type="application/rss+xml" href="//cdn.example.org/rss">',
            ["https://cdn.example.org/rss"],
        ),
        (  # attribute case, extra rel words, a charset parameter, a self-closing tag
            '<LINK REL="Alternate home" TYPE="Application/RSS+XML; charset=utf-8" HREF="r.xml"/>',
            ["https://news.example.org/science/r.xml"],
        ),
        (  # <base href> moves relative links
            '<base href="https://static.example.org/site/">'
            '<link rel="alternate" type="application/rss+xml" href="rss.xml">',
            ["https://static.example.org/site/rss.xml"],
        ),
        (  # page order, repeats once
            '<link rel="alternate" type="application/atom+xml" href="/a">'
            '<link rel="alternate" type="application/rss+xml" href="/r">'
            '<link rel="alternate" type="application/rss+xml" href="https://news.example.org/a">',
            ["https://news.example.org/a", "https://news.example.org/r"],
        ),
        (  # &amp; in an href is an &
            '<link rel="alternate" type="application/rss+xml" href="/feed?a=1&amp;b=2">',
            ["https://news.example.org/feed?a=1&b=2"],
        ),
    ],
)
def test_a_page_announcing_feeds_yields_them_as_absolute_urls(
    head: str, expected: list[str]
) -> None:
    assert discover_feeds(page(head), page_url=PAGE) == expected


@pytest.mark.parametrize(
    "head",
    [
        "",
        '<link rel="stylesheet" type="text/css" href="/style.css">',
        '<link rel="alternate" hreflang="de" href="/de/">',  # a translation, not a feed
        '<link rel="alternate" type="text/html" href="/print">',
        '<link rel="alternate" type="application/rss+xml">',  # no href
        '<link rel="alternate" type="application/rss+xml" href="">',
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">',
        '<link rel="alternate" type="application/rss+xml" href="ftp://a.org/feed">',
        '<a rel="alternate" type="application/rss+xml" href="/feed">a link, not a link tag</a>',
        '<link rel="feed" type="application/rss+xml" href="/feed">',
    ],
)
def test_a_page_without_a_usable_feed_link_yields_none(head: str) -> None:
    assert discover_feeds(page(head), page_url=PAGE) == []


def test_broken_markup_and_bytes_do_not_stop_discovery() -> None:
    content = (
        b"<html><head><title>\xff\xfe broken<link rel=alternate "
        b"type=application/rss+xml href=/feed><meta <<<"
    )
    assert discover_feeds(content, page_url=PAGE) == ["https://news.example.org/feed"]


def test_a_page_announcing_hundreds_of_feeds_yields_the_first_few() -> None:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/f{n}">' for n in range(500)
    )
    found = discover_feeds(page(links), page_url=PAGE)
    assert len(found) == MAX_FEEDS
    assert found[0] == "https://news.example.org/f0"


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"<rss version='2.0'></rss>", "text/html; charset=utf-8", True),
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"  \n<html lang='en'>", "application/octet-stream", True),
        (b"<?xml version='1.0'?><rss version='2.0'></rss>", "application/rss+xml", False),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', None, False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "application/json", False),
    ],
)
def test_pages_are_told_from_feed_documents(
    content: bytes, content_type: str | None, expected: bool
) -> None:
    assert looks_like_html(content, content_type) is expected
