"""Calendar files: forums from article cards as an iCalendar (.ics) document for /events.

Pure: cards and ``now`` in, bytes out. Each forum with a known start date becomes an
all-day VEVENT (RFC 5545: DTEND of a DATE event is exclusive, hence end + 1 day) whose UID is
derived from the article id, so a re-downloaded file updates events instead of duplicating
them in the user's calendar.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from bot.render import ArticleCard, event_dates, event_place, safe_url

__all__ = ["CALENDAR_NAME", "event_uid", "events_to_ics"]

CALENDAR_NAME = "SciForum Digest — forums"
# Calendar apps show SUMMARY on one line and DESCRIPTION in a panel: keep both readable.
_SUMMARY_CAP = 250
_DESCRIPTION_CAP = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t]+")


def event_uid(card: ArticleCard) -> str:
    """The stable UID of a card's event: one article, one calendar entry."""
    return f"article-{card.id}@sciforum-digest"


def _clean(text: str, cap: int, *, one_line: bool = True) -> str:
    # Feed text may carry control characters; iCalendar lines must not.
    cleaned = _CONTROL.sub("", text)
    cleaned = _SPACES.sub(" ", cleaned if not one_line else cleaned.replace("\n", " ")).strip()
    return cleaned if len(cleaned) <= cap else cleaned[: cap - 1].rstrip() + "…"


def _description(card: ArticleCard) -> str:
    lines: list[str] = []
    summary = " ".join(card.summary)
    if summary:
        lines.append(summary)
    if card.event is not None and card.event.organizers:
        lines.append("Organizers: " + ", ".join(card.event.organizers))
    if card.source:
        lines.append(f"Source: {card.source}")
    return "\n\n".join(lines)


def events_to_ics(
    cards: list[ArticleCard],
    *,
    now: datetime,
    prodid: str = "-//SciForum Digest//EN",
    name: str = CALENDAR_NAME,
) -> bytes:
    """An iCalendar document with one all-day VEVENT per card whose event has a start date.

    SUMMARY is the event's name (else the article title), LOCATION "venue, city", URL the
    article (http(s) only), DESCRIPTION the summary and organizers, DTSTAMP ``now`` in UTC.
    Cards without an event or dates are skipped; a card repeated is listed once.
    """
    stamp = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _clean(name, _SUMMARY_CAP))
    seen: set[int] = set()
    for card in cards:
        if card.event is None or card.id in seen:
            continue
        dates = event_dates(card.event)
        if dates is None:
            continue
        seen.add(card.id)
        start, end = dates
        event = Event()
        event.add("uid", event_uid(card))
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", end + timedelta(days=1))
        event.add("summary", _clean(card.event.name or card.title, _SUMMARY_CAP) or "(untitled)")
        event.add("transp", "TRANSPARENT")  # an all-day forum should not block the user's day
        place = _clean(event_place(card.event), _SUMMARY_CAP)
        if place:
            event.add("location", place)
        url = safe_url(card.url)
        if url is not None:
            event.add("url", url)
        description = _clean(_description(card), _DESCRIPTION_CAP, one_line=False)
        if description:
            event.add("description", description)
        if card.event.kind:
            event.add("categories", [_clean(card.event.kind, 40)])
        calendar.add_component(event)
    return bytes(calendar.to_ical())
