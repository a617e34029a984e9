"""JSON Feed: telling a JSON Feed (jsonfeed.org, versions 1 and 1.1) from XML, and reading
one into the shape feedparser gives an RSS or Atom feed (pure; stdlib ``json``).

``summaries.feeds.parse_feed`` then treats its entries exactly as it treats XML ones: the
same text cleaning (HTML to text), links, guids, dates, languages, teaser test and limits.
What differs is mapped here:

- ``content_html`` / ``content_text`` become the entry's content (HTML or plain text),
  ``summary`` (plain text in JSON Feed) its summary;
- ``url`` is the entry's link, ``external_url`` (a link blog's target) the link when there
  is no ``url``;
- ``date_published`` / ``date_modified`` (RFC 3339) its dates;
- ``authors`` (1.1) or ``author`` (1) of the item, else of the feed, its author (names
  joined by commas); ``tags`` its categories; ``language`` (1.1) its language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from summaries.errors import FeedParseError

# Media types that announce JSON; a JSON Feed is also recognised by its version URL.
JSON_TYPES = ("application/feed+json", "application/json", "text/json")
VERSION_MARK = "jsonfeed.org/version/"
_SNIFF_BYTES = 1024
_BOMS = (b"\xef\xbb\xbf",)


@dataclass(frozen=True, slots=True)
class RawFeed:
    """A JSON Feed as feedparser-shaped mappings (``feed`` and ``entries``)."""

    version: str  # "json1" or "json11"
    feed: dict[str, Any]
    entries: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def is_json_feed(content: bytes, content_type: str | None = None) -> bool:
    """Whether ``content`` should be read as a JSON Feed: a JSON object sent as JSON, or one
    naming a jsonfeed.org version near its start (servers often send it as text/plain)."""
    head = content[:_SNIFF_BYTES]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    if not head.lstrip().startswith(b"{"):
        return False
    media = (content_type or "").split(";")[0].strip().lower()
    return media in JSON_TYPES or VERSION_MARK.encode() in head


def read_json_feed(content: bytes, *, url: str) -> RawFeed:
    """The feed and entries of a JSON Feed document. Raises FeedParseError when it is not
    valid JSON (nesting past the interpreter's recursion limit included), or is no JSON
    Feed (no jsonfeed.org version or no list of items)."""
    try:
        document = json.loads(content)
    except RecursionError:
        # The stdlib parser recurses per level and stops at the interpreter's limit.
        raise FeedParseError(
            f"refused, pathological structure: JSON nested too deep: {url}"
        ) from None
    except ValueError as error:  # JSONDecodeError, bad UTF-8 and huge numbers included
        raise FeedParseError(f"not a JSON Feed (malformed JSON: {error}): {url}") from None
    if not isinstance(document, dict):
        raise FeedParseError(f"not a JSON Feed (no JSON object): {url}")
    version = document.get("version")
    if not isinstance(version, str) or VERSION_MARK not in version:
        raise FeedParseError(f"not a JSON Feed (no jsonfeed.org version): {url}")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError(f"no feed structure (a JSON Feed without items): {url}")
    warnings: list[str] = []
    feed_author = _author(document)
    entries = [_entry(item, feed_author) for item in items if isinstance(item, dict)]
    if len(entries) < len(items):
        warnings.append(f"skipped {len(items) - len(entries)} items that are not objects")
    return RawFeed(
        version="json11" if version.rstrip("/").endswith("1.1") else "json1",
        feed={
            "title": _text(document.get("title")),
            "link": _text(document.get("home_page_url")),
            "language": _text(document.get("language")),
        },
        entries=entries,
        warnings=warnings,
    )


def _entry(item: Mapping[str, Any], feed_author: str | None) -> dict[str, Any]:
    link = _text(item.get("url")) or _text(item.get("external_url"))
    content = [
        {"type": kind, "value": value}
        for key, kind in (("content_html", "text/html"), ("content_text", "text/plain"))
        if (value := _text(item.get(key)))
    ]
    entry: dict[str, Any] = {
        "id": _identifier(item.get("id")),
        "title": _text(item.get("title")),
        "link": link,
        "content": content,
        "author": _author(item) or feed_author,
        "language": _text(item.get("language")),
        "tags": [{"term": t} for t in item.get("tags") or [] if isinstance(t, str)],
    }
    summary = _text(item.get("summary"))
    if summary:
        entry["summary_detail"] = {"type": "text/plain", "value": summary}
    for key, stored in (("date_published", "published"), ("date_modified", "updated")):
        moment = _date(item.get(key))
        if moment is not None:
            entry[stored] = item[key]
            entry[f"{stored}_parsed"] = moment.utctimetuple()
    return entry


def _identifier(value: object) -> str | None:
    # Version 1 feeds in the wild give numbers; the spec says "should be a string".
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return str(value).strip() or None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _author(holder: Mapping[str, Any]) -> str | None:
    authors = holder.get("authors")
    if not isinstance(authors, list) or not authors:
        authors = [holder.get("author")]
    names = [
        name
        for author in authors
        if isinstance(author, Mapping) and (name := _text(author.get("name")))
    ]
    return ", ".join(dict.fromkeys(n.strip() for n in names)) or None


def _date(value: object) -> datetime | None:
    """An RFC 3339 date, or the RFC 822 one some JSON feeds give anyway; aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
