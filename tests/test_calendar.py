"""Calendar files: forums as all-day iCalendar events, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from bot.calendar import event_uid, events_to_ics
from bot.render import ArticleCard
from summaries.events import EventFacts

NOW = datetime(2025, 11, 10, 9, 30, tzinfo=UTC)


def _event(**fields: Any) -> EventFacts:
    base: dict[str, Any] = {
        "name": "2025 International Forum on Molecular Medicine",
        "kind": "forum",
        "start": date(2025, 11, 16),
        "end": date(2025, 11, 17),
        "city": "Shenzhen",
        "venue": "Guangming Science City",
        "organizers": ("SUAT", "RAMMEGE"),
        "attendance": 150,
    }
    base.update(fields)
    return EventFacts(**base)


def _card(**fields: Any) -> ArticleCard:
    base: dict[str, Any] = {
        "id": 42,
        "title": "Chinese, Russian experts gather in Guangming",
        "url": "https://www.sznews.com/content/1.htm",
        "source": "Shenzhen Daily",
        "published": datetime(2025, 11, 18, tzinfo=UTC),
        "summary": ("More than 150 experts convened.", "The forum explored collaboration."),
        "topics": ("precision-medicine",),
        "event": _event(),
    }
    base.update(fields)
    return ArticleCard(**base)


def _events(ics: bytes) -> list[Any]:
    calendar = Calendar.from_ical(ics)
    return list(calendar.walk("VEVENT"))


def test_forum_becomes_an_all_day_event_with_every_field() -> None:
    ics = events_to_ics([_card()], now=NOW)
    calendar = Calendar.from_ical(ics)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//SciForum Digest//EN"
    (event,) = _events(ics)
    assert str(event["UID"]) == "article-42@sciforum-digest"
    assert event.decoded("DTSTART") == date(2025, 11, 16)
    assert event.decoded("DTEND") == date(2025, 11, 18)  # exclusive: the day after the 17th
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == "2025 International Forum on Molecular Medicine"
    assert str(event["LOCATION"]) == "Guangming Science City, Shenzhen"
    assert str(event["URL"]) == "https://www.sznews.com/content/1.htm"
    description = str(event["DESCRIPTION"])
    assert "More than 150 experts convened. The forum explored collaboration." in description
    assert "Organizers: SUAT, RAMMEGE" in description


@pytest.mark.parametrize(
    ("event", "dtstart", "dtend"),
    [
        (_event(end=None), date(2025, 11, 16), date(2025, 11, 17)),
        (
            _event(start=date(2025, 12, 30), end=date(2026, 1, 2)),
            date(2025, 12, 30),
            date(2026, 1, 3),
        ),
        (_event(end=date(2025, 11, 1)), date(2025, 11, 16), date(2025, 11, 17)),  # backwards end
        (_event(start=None, end=date(2025, 11, 20)), date(2025, 11, 20), date(2025, 11, 21)),
    ],
)
def test_dtend_is_the_day_after_the_last_day(event: EventFacts, dtstart: date, dtend: date) -> None:
    (parsed,) = _events(events_to_ics([_card(event=event)], now=NOW))
    assert parsed.decoded("DTSTART") == dtstart
    assert parsed.decoded("DTEND") == dtend
    assert parsed.decoded("DTEND") - parsed.decoded("DTSTART") >= timedelta(days=1)


@pytest.mark.parametrize(
    ("card", "summary", "location"),
    [
        (
            _card(event=_event(name=None)),
            "Chinese, Russian experts gather in Guangming",
            "Guangming Science City, Shenzhen",
        ),
        (
            _card(event=_event(venue=None)),
            "2025 International Forum on Molecular Medicine",
            "Shenzhen",
        ),
        (
            _card(event=_event(venue=None, city=None)),
            "2025 International Forum on Molecular Medicine",
            None,
        ),
    ],
)
def test_summary_falls_back_to_the_title_and_location_to_what_is_known(
    card: ArticleCard, summary: str, location: str | None
) -> None:
    (event,) = _events(events_to_ics([card], now=NOW))
    assert str(event["SUMMARY"]) == summary
    assert (str(event["LOCATION"]) if "LOCATION" in event else None) == location


def test_cards_without_events_or_dates_are_skipped_and_repeats_listed_once() -> None:
    cards = [
        _card(id=1, event=None),
        _card(id=2, event=_event(start=None, end=None)),
        _card(id=3),
        _card(id=3),
        _card(id=4, event=_event(start=date(2026, 3, 1), end=None)),
    ]
    events = _events(events_to_ics(cards, now=NOW))
    assert [str(e["UID"]) for e in events] == [event_uid(cards[2]), event_uid(cards[4])]


def test_no_forums_is_an_empty_but_valid_calendar() -> None:
    ics = events_to_ics([], now=NOW)
    assert _events(ics) == []
    assert ics.startswith(b"BEGIN:VCALENDAR")


def test_uid_is_stable_across_renders() -> None:
    first = _events(events_to_ics([_card()], now=NOW))[0]
    later = _events(events_to_ics([_card()], now=NOW + timedelta(days=3)))[0]
    assert str(first["UID"]) == str(later["UID"])
    assert first.decoded("DTSTAMP") != later.decoded("DTSTAMP")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "/relative", "https://e.org/a b", None]
)
def test_unsafe_or_missing_urls_are_left_out(url: str | None) -> None:
    (event,) = _events(events_to_ics([_card(url=url)], now=NOW))
    assert "URL" not in event


def test_hostile_text_survives_escaping_and_control_characters_are_dropped() -> None:
    name = 'Forum; with, "quotes"\\ and\x00 a\rbreak\nhere'
    card = _card(
        event=_event(name=name, venue="Hall; A, B", organizers=("X; Y", "Z\x07")),
        summary=("Line one;\nline two, ok.",),
    )
    ics = events_to_ics([card], now=NOW)
    assert b"\x00" not in ics
    assert b"\x07" not in ics
    (event,) = _events(ics)
    assert str(event["SUMMARY"]) == 'Forum; with, "quotes"\\ and abreak here'
    assert str(event["LOCATION"]) == "Hall; A, B, Shenzhen"
    assert "Organizers: X; Y, Z" in str(event["DESCRIPTION"])


def test_lines_are_folded_and_crlf_terminated() -> None:
    ics = events_to_ics([_card(summary=("word " * 200,))], now=NOW)
    lines = ics.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert ics.endswith(b"END:VCALENDAR\r\n")


def test_naive_now_is_taken_as_utc() -> None:
    (event,) = _events(events_to_ics([_card()], now=datetime(2025, 11, 10, 9, 30)))
    assert event.decoded("DTSTAMP") == NOW


def test_calendar_has_a_name_and_custom_prodid() -> None:
    calendar = Calendar.from_ical(events_to_ics([_card()], now=NOW, prodid="-//Test//EN"))
    assert str(calendar["PRODID"]) == "-//Test//EN"
    assert str(calendar["X-WR-CALNAME"]) == "SciForum Digest — forums"
