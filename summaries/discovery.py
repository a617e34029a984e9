"""Feed autodiscovery: the feeds a web page announces with
``<link rel="alternate" type="application/rss+xml" href="...">`` (or Atom, or JSON Feed),
as absolute http(s) URLs. Pure: bytes and the page's URL in, URLs out.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Final

from summaries.urls import resolve_url

FEED_TYPES: Final = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
# Feeds announced in <head> come first; a page announcing more is not scanned further.
MAX_FEEDS: Final = 20
# Only the start of a page is read: <link> elements belong in <head>.
SCAN_BYTES: Final = 512 * 1024


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "base" and self.base is None and attributes.get("href"):
            self.base = attributes["href"]
        if tag != "link" or len(self.hrefs) >= MAX_FEEDS:
            return
        rels = attributes.get("rel", "").lower().split()
        kind = attributes.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and attributes.get("href"):
            self.hrefs.append(attributes["href"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def looks_like_html(content: bytes, content_type: str | None) -> bool:
    """Whether a fetched body is a web page rather than a feed document."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in {"text/html", "application/xhtml+xml"}:
        return True
    head = content.lstrip()[:1024].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def discover_feeds(content: bytes, *, page_url: str) -> list[str]:
    """The feed URLs a page announces, in page order, without repeats, made absolute
    against the page's ``<base href>`` or its URL; non-web links are dropped."""
    text = content[:SCAN_BYTES].decode("utf-8", errors="replace")
    collector = _LinkCollector()
    collector.feed(text)
    collector.close()
    base = resolve_url(collector.base, page_url) or page_url
    found: dict[str, None] = {}
    for href in collector.hrefs:
        url = resolve_url(href, base)
        if url is not None:
            found.setdefault(url, None)
    return list(found)
