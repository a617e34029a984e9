"""Properties of the card, digest and events renderers: whatever an article holds (any text,
any length, hostile markup, any dates), what they produce is Telegram HTML that parses and
stays within the message limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import (
    MAX_MESSAGE,
    ArticleCard,
    render_card,
    render_digest,
    render_events,
    visible_len,
)
from summaries.events import EventFacts
from summaries.topics import TOPICS
from tests.fakebot import parse_html, utf16_length

NOW = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
# Text with what breaks naive renderers: markup, entities, surrogate-pair emoji, CJK,
# right-to-left script, control characters and very long runs.
_PIECES = st.one_of(
    st.sampled_from(list("<>&\"'/;#\n\t ")),
    st.sampled_from(["&amp;", "<b>", "</a>", "<a href='x'>", "&#0;", "&lt;", "👩‍🔬", "量子计算"]),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(["🧬", "مرحبا", "\u200f", "\x00", "\x7f"]),
)
_TEXT = st.lists(_PIECES, max_size=120).map("".join)
_LONG_TEXT = st.one_of(_TEXT, _TEXT.map(lambda t: t * 40))
_DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
_SLUGS = st.sampled_from([t.slug for t in TOPICS] + ["unknown-topic", "<b>", ""])


@st.composite
def events(draw: st.DrawFn) -> EventFacts | None:
    if not draw(st.booleans()):
        return None
    start = draw(st.none() | _DAYS)
    end = draw(st.none() | _DAYS)
    return EventFacts(
        name=draw(st.none() | _LONG_TEXT),
        kind=draw(st.sampled_from(["forum", "conference", "symposium"])),
        start=start,
        end=end,
        city=draw(st.none() | _TEXT),
        venue=draw(st.none() | _TEXT),
        organizers=tuple(draw(st.lists(_TEXT, max_size=8))),
        attendance=draw(st.none() | st.integers(min_value=0, max_value=10**9)),
        district=draw(st.none() | _TEXT),
        precision=draw(st.sampled_from(["day", "month"])),
        deadlines=tuple(
            draw(st.lists(st.tuples(st.sampled_from(["abstract", "registration", "x"]), _DAYS)))
        ),
    )


@st.composite
def cards(draw: st.DrawFn) -> ArticleCard:
    return ArticleCard(
        id=draw(st.integers(min_value=1, max_value=10**6)),
        title=draw(_LONG_TEXT),
        url=draw(st.none() | st.sampled_from(["https://example.org/a?b=1&c=<2>", "javascript:x"])),
        source=draw(_TEXT),
        published=NOW - timedelta(minutes=draw(st.integers(0, 10**6))),
        summary=tuple(draw(st.lists(_LONG_TEXT, max_size=6))),
        topics=tuple(draw(st.lists(_SLUGS, max_size=30))),
        event=draw(events()),
    )


def _valid(message: str, limit: int = MAX_MESSAGE) -> None:
    parsed = parse_html(message)  # raises on anything Telegram would refuse
    assert utf16_length(parsed.text) <= limit
    assert visible_len(message) == utf16_length(parsed.text)


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(card=cards(), sentences=st.integers(-2, 9), limit=st.integers(200, MAX_MESSAGE))
def test_a_card_is_always_valid_telegram_html_within_its_limit(
    card: ArticleCard, sentences: int, limit: int
) -> None:
    _valid(
        render_card(card, sentences=sentences, tz=ZoneInfo("Asia/Shanghai"), now=NOW, limit=limit),
        limit,
    )


@_SETTINGS
@given(batch=st.lists(cards(), max_size=25), period=_TEXT)
def test_every_digest_message_is_valid_telegram_html_within_the_limit(
    batch: list[ArticleCard], period: str
) -> None:
    for message in render_digest(batch, period=period, sentences=3, tz=ZoneInfo("UTC"), now=NOW):
        _valid(message)


@_SETTINGS
@given(batch=st.lists(cards(), max_size=40))
def test_every_events_message_is_valid_telegram_html_within_the_limit(
    batch: list[ArticleCard],
) -> None:
    for message in render_events(batch, tz=ZoneInfo("Europe/Berlin"), now=NOW):
        _valid(message)
