"""Feed lists: plain "one URL a line" files and OPML, in and out; the shipped default list."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from xml.etree import ElementTree as ET

import listparser

from summaries.errors import FeedListError

__all__ = [
    "FeedListError",
    "FeedRef",
    "default_feeds",
    "parse_feed_list",
    "parse_text_list",
    "render_opml",
]


@dataclass(frozen=True, slots=True)
class FeedRef:
    url: str
    title: str | None = None


def _is_feed_url(url: str) -> bool:
    return url.startswith(("http://", "https://")) and len(url) <= 2048 and " " not in url


def parse_text_list(text: str) -> list[FeedRef]:
    """One URL a line, ``#`` comments, an optional ``| title`` after the URL."""
    refs: list[FeedRef] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        # "#" opens a comment at the start of a line or after a space ("#" in a URL is a fragment).
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].strip()
        if not line:
            continue
        url, _, title = line.partition("|")
        url = url.strip()
        if not _is_feed_url(url):
            raise FeedListError(f"line {number}: not an http(s) URL: {url[:80]!r}")
        refs.append(FeedRef(url, title.strip() or None))
    return refs


def parse_feed_list(content: bytes) -> list[FeedRef]:
    """Feeds from an OPML document or a plain list; duplicates dropped, order kept."""
    head = content.lstrip()[:200].lower()
    if head.startswith((b"<?xml", b"<opml")) or b"<opml" in head:
        result = listparser.parse(content)
        if result.bozo and not result.feeds:
            raise FeedListError(f"not a readable OPML file: {result.bozo_exception}")
        refs = [
            FeedRef(str(f["url"]).strip(), (str(f.get("title") or "").strip() or None))
            for f in result.feeds
            if _is_feed_url(str(f["url"]).strip())
        ]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedListError("feed list is not UTF-8 text or OPML") from exc
        refs = parse_text_list(text)
    unique: dict[str, FeedRef] = {}
    for ref in refs:
        unique.setdefault(ref.url, ref)
    return list(unique.values())


def render_opml(feeds: list[FeedRef], *, title: str = "SciForum Digest feeds") -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def default_feeds() -> list[FeedRef]:
    text = resources.files("summaries").joinpath("data/default_feeds.txt").read_text("utf-8")
    return parse_text_list(text)
