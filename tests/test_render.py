"""Rendering: cards, event lines, digests and the /events list, checked with Telegram's HTML rules.

Every rendered message is parsed by the fake Bot API's parser (``tests.fakebot.parse_html``),
which rejects what Telegram would reject, and its visible text is measured in UTF-16 units.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.render import (
    MAX_MESSAGE,
    ArticleCard,
    append_line,
    card_from_article,
    format_date_range,
    forum_name,
    pack_lines,
    render_card,
    render_card_text,
    render_digest,
    render_event_line,
    render_events,
    render_list,
    render_reason,
    utf16_len,
    visible_len,
)
from db.models import Article
from summaries.events import EventFacts, extract_event
from summaries.summarize import summarize
from summaries.topics import tag_topics
from tests.fakebot import ParsedText, parse_html, utf16_length

FIXTURES = Path(__file__).parent / "fixtures" / "render"
UTC_TZ = ZoneInfo("UTC")
NOW = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)


def _event(**fields: Any) -> EventFacts:
    base: dict[str, Any] = {
        "name": None,
        "kind": "forum",
        "start": None,
        "end": None,
        "city": None,
        "venue": None,
        "organizers": (),
        "attendance": None,
    }
    base.update(fields)
    return EventFacts(**base)


def _card(**fields: Any) -> ArticleCard:
    base: dict[str, Any] = {
        "id": 1,
        "title": "Bacteria that eat plastic",
        "url": "https://example.org/plastic",
        "source": "Science Daily",
        "published": datetime(2025, 11, 24, 10, 0, tzinfo=UTC),
        "summary": ("First sentence.", "Second sentence.", "Third sentence."),
        "topics": ("microbiology",),
        "event": None,
    }
    base.update(fields)
    return ArticleCard(**base)


def _fixture_cards() -> list[ArticleCard]:
    data = json.loads((FIXTURES / "cards.json").read_text(encoding="utf-8"))
    cards = []
    for raw in data["cards"]:
        event = raw["event"]
        cards.append(
            ArticleCard(
                id=raw["id"],
                title=raw["title"],
                url=raw["url"],
                source=raw["source"],
                published=datetime.fromisoformat(raw["published"]),
                summary=tuple(raw["summary"]),
                topics=tuple(raw["topics"]),
                event=EventFacts.from_dict(event) if event is not None else None,
            )
        )
    return cards


def _valid(message: str, limit: int = MAX_MESSAGE) -> ParsedText:
    """``message`` as Telegram would take it: parseable, under the limit, measured alike."""
    parsed = parse_html(message)
    assert utf16_length(parsed.text) <= limit
    assert visible_len(message) == utf16_length(parsed.text)
    return parsed


def _links(parsed: ParsedText) -> list[str]:
    return [e["url"] for e in parsed.entities if e["type"] == "text_link"]


# ---------------------------------------------------------------------------------------------
# Escaping and links
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "url", "expected_link"),
    [
        ("<script>alert(1)</script>", "https://e.org/x", "https://e.org/x"),
        (
            "Tom & Jerry &amp; friends",
            "https://e.org/?q=\"a\"&b='c'",
            "https://e.org/?q=\"a\"&b='c'",
        ),
        ('Quote " in title', 'https://e.org/"><b>x</b>', 'https://e.org/"><b>x</b>'),
        ("Click me", "javascript:alert(document.cookie)", None),
        ("Click me", "JavaScript:alert(1)", None),
        ("Data", "data:text/html,<script>alert(1)</script>", None),
        ("No host", "https://", None),
        ("Relative", "/news/1", None),
        ("Spaces", "https://e.org/a b", None),
        ("Newline", "https://e.org/a\nb", None),
        ("No URL", None, None),
        ("FTP", "ftp://e.org/file", None),
    ],
)
def test_title_is_escaped_and_linked_only_for_http_urls(
    title: str, url: str | None, expected_link: str | None
) -> None:
    parsed = _valid(render_card(_card(title=title, url=url), sentences=2, tz=UTC_TZ, now=NOW))
    assert parsed.text.split("\n")[0] == title
    assert _links(parsed) == ([expected_link] if expected_link else [])
    bold = [e for e in parsed.entities if e["type"] == "bold"]
    assert bold == [{"type": "bold", "offset": 0, "length": utf16_length(title)}]


def test_every_feed_string_is_escaped() -> None:
    hostile = "<i>x</i> & </b> \"q\" 'a' &lt;"
    card = _card(
        title=hostile,
        source=hostile,
        summary=(hostile + ".",),
        topics=("ai",),
        event=_event(
            start=date(2025, 11, 16),
            city=hostile,
            venue="Hall <A>",
            organizers=(hostile, "B & C"),
        ),
    )
    parsed = _valid(render_card(card, sentences=1, tz=UTC_TZ, now=NOW))
    assert parsed.text.count(hostile) == 5  # title, source, city, summary, organizer
    assert "Hall <A>" in parsed.text
    assert "B & C" in parsed.text
    assert {e["type"] for e in parsed.entities} == {"bold", "text_link", "italic"}


def test_control_characters_and_line_breaks_in_fields_are_flattened() -> None:
    card = _card(title="Line\none\x00\x07 two\r\n", source="Src\u2028x", summary=("A\nB.",))
    parsed = _valid(render_card(card, sentences=1, tz=UTC_TZ, now=NOW))
    assert parsed.text.split("\n")[:4] == [
        "Line one two",
        "Src x · 24 Nov 2025",
        "A B.",
        "#microbiology",
    ]


@pytest.mark.parametrize(
    "markup",
    [
        "plain",
        "<b>bold</b> &amp; &lt;tags&gt; &quot;q&quot; &#x27;a&#x27; &#39;",
        '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">link</a>',
        "&nbsp; &copy; stay literal",
        "🧬 emoji 𝔘 astral 中文",
        "&#128512; numeric astral",
    ],
)
def test_visible_len_counts_what_telegram_shows(markup: str) -> None:
    assert visible_len(markup) == utf16_length(parse_html(markup).text)


@pytest.mark.parametrize(("text", "units"), [("abc", 3), ("中文", 2), ("🧬", 2), ("a🧑‍🔬b", 7)])
def test_utf16_len_counts_surrogate_pairs(text: str, units: int) -> None:
    assert utf16_len(text) == units == utf16_length(text)


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "tz", "shown"),
    [
        (datetime(2025, 11, 24, 23, 30, tzinfo=UTC), "UTC", "24 Nov 2025"),
        (datetime(2025, 11, 24, 23, 30, tzinfo=UTC), "Asia/Shanghai", "25 Nov 2025"),
        (datetime(2025, 11, 24, 3, 0, tzinfo=UTC), "America/Los_Angeles", "23 Nov 2025"),
        (datetime(2025, 12, 31, 10, 30, tzinfo=UTC), "Pacific/Kiritimati", "1 Jan 2026"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=UTC), "America/New_York", "31 Dec 2025"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "Europe/Berlin", "29 Mar 2026"),
        (datetime(2026, 3, 8, 4, 0, tzinfo=UTC), "Asia/Kolkata", "8 Mar 2026"),
    ],
)
def test_publication_date_is_the_chats_local_day(published: datetime, tz: str, shown: str) -> None:
    parsed = _valid(render_card(_card(published=published), sentences=1, tz=ZoneInfo(tz), now=NOW))
    assert parsed.text.split("\n")[1] == f"Science Daily · {shown}"


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (date(2025, 11, 18), None, "18 Nov 2025"),
        (date(2025, 11, 18), date(2025, 11, 18), "18 Nov 2025"),
        (date(2025, 11, 16), date(2025, 11, 17), "16–17 Nov 2025"),
        (date(2025, 11, 30), date(2025, 12, 2), "30 Nov – 2 Dec 2025"),
        (date(2025, 12, 30), date(2026, 1, 2), "30 Dec 2025 – 2 Jan 2026"),
        (date(2025, 11, 18), date(2025, 11, 1), "18 Nov 2025"),  # backwards: the start alone
    ],
)
def test_date_ranges_read_naturally(start: date, end: date | None, shown: str) -> None:
    assert format_date_range(start, end) == shown


# ---------------------------------------------------------------------------------------------
# Event line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "now", "tz", "shown"),
    [
        (
            _event(start=date(2025, 11, 18), city="Shenzhen"),
            NOW,
            "UTC",
            "📅 18 Nov 2025 (upcoming) · 📍 Shenzhen",
        ),
        (
            _event(
                start=date(2025, 11, 16),
                end=date(2025, 11, 17),
                venue="Guangming Science City",
                city="Shenzhen",
                organizers=("SUAT", "RAMMEGE"),
                attendance=150,
            ),
            datetime(2025, 11, 21, tzinfo=UTC),
            "UTC",
            "📅 16–17 Nov 2025 (past) · 📍 Guangming Science City, Shenzhen · 🏛 SUAT, RAMMEGE"
            " · 👥 150 attendees",
        ),
        (
            _event(start=date(2025, 12, 30), end=date(2026, 1, 2), city="Kyoto"),
            datetime(2025, 12, 31, 12, tzinfo=UTC),
            "UTC",
            "📅 30 Dec 2025 – 2 Jan 2026 (on now) · 📍 Kyoto",
        ),
        (
            _event(organizers=("A", "B", "C", "D", "E"), attendance=12000),
            NOW,
            "UTC",
            "🏛 A, B, C +2 · 👥 12,000 attendees",
        ),
        (_event(venue="Shenzhen", city="Shenzhen"), NOW, "UTC", "📍 Shenzhen"),
        (_event(end=date(2025, 11, 12)), NOW, "UTC", "📅 12 Nov 2025 (upcoming)"),
        (_event(), NOW, "UTC", ""),
        (_event(organizers=("", "  ")), NOW, "UTC", ""),
        # The last day is "on now" in London but already over in Shanghai.
        (
            _event(start=date(2025, 11, 17)),
            datetime(2025, 11, 17, 20, tzinfo=UTC),
            "Europe/London",
            "📅 17 Nov 2025 (on now)",
        ),
        (
            _event(start=date(2025, 11, 17)),
            datetime(2025, 11, 17, 20, tzinfo=UTC),
            "Asia/Shanghai",
            "📅 17 Nov 2025 (past)",
        ),
    ],
)
def test_event_line_shows_dates_status_place_organizers_and_attendance(
    event: EventFacts, now: datetime, tz: str, shown: str
) -> None:
    line = render_event_line(event, now=now, tz=ZoneInfo(tz))
    assert parse_html(line).text == shown if line else shown == ""


def test_event_line_is_escaped() -> None:
    line = render_event_line(_event(venue="<Hall & Co>", city='"Q"', organizers=("<x>",)), now=NOW)
    assert parse_html(line).text == '📍 <Hall & Co>, "Q" · 🏛 <x>'


def test_card_of_a_forum_carries_its_event_line_after_the_byline() -> None:
    card = _card(event=_event(start=date(2025, 11, 16), end=date(2025, 11, 17), city="Shenzhen"))
    lines = _valid(render_card(card, sentences=1, tz=UTC_TZ, now=NOW)).text.split("\n")
    assert lines[2] == "📅 16–17 Nov 2025 (upcoming) · 📍 Shenzhen"


def test_forum_with_no_known_facts_has_no_event_line() -> None:
    lines = _valid(render_card(_card(event=_event()), sentences=1, tz=UTC_TZ, now=NOW)).text
    assert lines.split("\n")[2] == "First sentence."


# ---------------------------------------------------------------------------------------------
# Summary and hashtags
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "shown"), [(-3, 1), (0, 1), (1, 1), (2, 2), (3, 3), (5, 5), (9, 5)]
)
def test_summary_shows_the_requested_sentences_clamped_to_1_to_5(asked: int, shown: int) -> None:
    sentences = tuple(f"Sentence {i}." for i in range(1, 8))
    text = _valid(render_card(_card(summary=sentences), sentences=asked, tz=UTC_TZ, now=NOW)).text
    assert text.split("\n")[2] == " ".join(sentences[:shown])


def test_chinese_sentences_join_without_spaces() -> None:
    card = _card(summary=("论坛在光明区举行。", "专家参加了论坛。"), topics=())
    text = _valid(render_card(card, sentences=2, tz=UTC_TZ, now=NOW)).text
    assert text.split("\n")[2] == "论坛在光明区举行。专家参加了论坛。"


@pytest.mark.parametrize(
    ("topics", "line"),
    [
        (("precision-medicine", "ai"), "#precision_medicine #ai"),
        (("ai", "ai"), "#ai"),
        (
            ("ai", "space", "physics", "energy", "climate", "materials"),
            "#ai #space #physics #energy #climate",
        ),
        (("science-policy",), "#science_policy"),
        (("cell-biology", "social-science"), "#cell_biology #social_science"),
        (("<b>",), "#_b_"),
    ],
)
def test_topics_become_hashtags(topics: tuple[str, ...], line: str) -> None:
    text = _valid(render_card(_card(topics=topics), sentences=1, tz=UTC_TZ, now=NOW)).text
    assert text.split("\n")[-1] == line


def test_card_without_topics_or_summary_is_title_and_byline() -> None:
    card = _card(topics=(), summary=())
    text = _valid(render_card(card, sentences=3, tz=UTC_TZ, now=NOW)).text
    assert text == "Bacteria that eat plastic\nScience Daily · 24 Nov 2025"


# ---------------------------------------------------------------------------------------------
# Trimming a card that does not fit
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    ["word " * 400 + ".", "🧬" * 1500 + ".", "中文句子" * 300 + "。", "& <b> " * 300 + "."],
)
def test_card_longer_than_a_message_is_trimmed_in_its_summary(sentence: str) -> None:
    card = _card(summary=(sentence,) * 5, topics=("genomics",))
    parsed = _valid(render_card(card, sentences=5, tz=UTC_TZ, now=NOW))
    lines = parsed.text.split("\n")
    assert lines[0] == card.title
    assert lines[-1] == "#genomics"
    assert lines[2].endswith("…")
    assert utf16_length(parsed.text) > MAX_MESSAGE - 40  # trimmed, not gutted


def test_hostile_field_lengths_are_capped() -> None:
    card = _card(
        title="T" * 5000,
        source="S" * 5000,
        event=_event(start=date(2025, 12, 1), city="C" * 5000, organizers=("O" * 5000,) * 9),
    )
    parsed = _valid(render_card(card, sentences=1, tz=UTC_TZ, now=NOW))
    assert utf16_length(parsed.text) < 1200


@pytest.mark.parametrize("limit", [200, 60, 30])
def test_card_under_a_tiny_limit_keeps_its_title(limit: int) -> None:
    card = _card(
        title="A fairly long title about bacteria that eat plastic",
        event=_event(start=date(2025, 12, 1), city="Shenzhen", organizers=("X", "Y")),
    )
    parsed = _valid(render_card(card, sentences=5, tz=UTC_TZ, now=NOW, limit=limit), limit=limit)
    assert parsed.text.startswith("A fairly")
    assert _links(parsed) == ["https://example.org/plastic"]


# ---------------------------------------------------------------------------------------------
# Plain-text cards for the terminal
# ---------------------------------------------------------------------------------------------


def test_terminal_card_is_plain_text_with_the_url_on_its_own_line() -> None:
    card = _card(
        title="<Tom & Jerry>",
        event=_event(start=date(2025, 11, 16), end=date(2025, 11, 17), venue="Hall & Co"),
    )
    text = render_card_text(card, sentences=2, tz=UTC_TZ, now=NOW)
    assert text.split("\n") == [
        "<Tom & Jerry>",
        "https://example.org/plastic",
        "Science Daily · 24 Nov 2025",
        "📅 16–17 Nov 2025 (upcoming) · 📍 Hall & Co",
        "First sentence. Second sentence.",
        "#microbiology",
    ]


def test_terminal_card_does_not_print_unsafe_urls() -> None:
    text = render_card_text(_card(url="javascript:alert(1)"), sentences=1, tz=UTC_TZ, now=NOW)
    assert "javascript" not in text


# ---------------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------------


def test_empty_digest_is_no_messages() -> None:
    assert render_digest([], period="daily", sentences=2, tz=UTC_TZ, now=NOW) == []


def test_digest_has_a_header_and_forums_before_news() -> None:
    cards = _fixture_cards()
    now = datetime(2025, 11, 24, 20, tzinfo=UTC)
    messages = render_digest(cards, period="daily", sentences=2, tz=ZoneInfo("Asia/Tokyo"), now=now)
    assert len(messages) == 1
    blocks = _valid(messages[0]).text.split("\n\n")
    assert blocks[0] == "📰 Your daily digest — 25 Nov 2025 · 7 articles"
    assert blocks[1] == "🏛 Forums"
    news_at = blocks.index("🧪 News")
    forum_titles = [b.split("\n")[0] for b in blocks[2:news_at]]
    # Soonest first; the forum without dates last.
    assert forum_titles == [
        "International Forum on Innovative Development of Biomanufacturing",
        "深圳光明举办2025分子医学国际创新合作论坛",
        "Winter workshop on quantum materials",
        "A summit with no known facts",
    ]
    news_dates = [b.split("\n")[1].rsplit(" · ", 1)[-1] for b in blocks[news_at + 1 :]]
    assert news_dates == ["25 Nov 2025", "23 Nov 2025", "22 Nov 2025"]  # newest first


@pytest.mark.parametrize(
    ("period", "label"), [("daily", "daily"), ("weekly", "weekly"), ("<x>", "<x>")]
)
def test_digest_header_names_the_period(period: str, label: str) -> None:
    messages = render_digest([_card()], period=period, sentences=1, tz=UTC_TZ, now=NOW)
    assert _valid(messages[0]).text.startswith(
        f"📰 Your {label} digest — 10 Nov 2025 · 1 article\n"
    )


def _bulky(index: int, kind: str) -> ArticleCard:
    sentences = {
        "ascii": tuple(
            f"Sentence {j} of article {index} says something long enough. " * 3 for j in range(5)
        ),
        "emoji": tuple("🧬🔬🚀 " * 40 + f"{index}." for _ in range(5)),
        "cjk": tuple("研究团队在论坛上介绍了最新成果。" * 6 for _ in range(5)),
        "escapes": tuple("<&> \"'" * 40 + "." for _ in range(5)),
    }[kind]
    return _card(
        id=index,
        title=f"Article {index} {'𝔘' * 10 if kind == 'emoji' else ''}",
        url=f"https://example.org/articles/{index}",
        summary=sentences,
        published=datetime(2025, 11, 24, tzinfo=UTC).replace(minute=index % 60),
        event=_event(start=date(2025, 12, 1 + index % 28), city="Berlin")
        if index % 4 == 0
        else None,
    )


@pytest.mark.parametrize("kind", ["ascii", "emoji", "cjk", "escapes"])
@pytest.mark.parametrize("sentences", [1, 5])
def test_long_digest_is_split_between_cards_under_the_limit(kind: str, sentences: int) -> None:
    cards = [_bulky(i, kind) for i in range(60)]
    messages = render_digest(cards, period="daily", sentences=sentences, tz=UTC_TZ, now=NOW)
    assert len(messages) > 1
    total = len(messages)
    seen: list[str] = []
    for number, message in enumerate(messages, 1):
        parsed = _valid(message)
        header = parsed.text.split("\n")[0]
        assert header.endswith(f"({number}/{total})")
        # Each card is whole: its link, its byline and its hashtag line travel together.
        cards_here = _links(parsed)
        assert parsed.text.count("#microbiology") == len(cards_here)
        seen += cards_here
    assert sorted(seen) == sorted(c.url for c in cards if c.url)
    assert len(seen) == len(set(seen))
    # Messages are packed: all but the last are more than half full.
    assert all(visible_len(m) > MAX_MESSAGE // 2 for m in messages[:-1])


def test_digest_continuation_repeats_the_section_heading() -> None:
    cards = [_bulky(i, "ascii") for i in range(60)]
    messages = render_digest(cards, period="weekly", sentences=5, tz=UTC_TZ, now=NOW)
    for message in messages:
        blocks = parse_html(message).text.split("\n\n")
        assert blocks[1] in ("🏛 Forums", "🧪 News")
    assert parse_html(messages[1]).text.startswith("📰 Your weekly digest — 10 Nov 2025 (2/")


def test_digest_of_huge_cards_fits_one_card_per_message() -> None:
    cards = [_card(id=i, url=f"https://e.org/{i}", summary=("🧬" * 5000 + ".",)) for i in range(3)]
    messages = render_digest(cards, period="daily", sentences=5, tz=UTC_TZ, now=NOW)
    assert len(messages) == 3
    for message in messages:
        assert len(_links(_valid(message))) == 1


def test_digest_shows_a_repeated_article_once() -> None:
    cards = [_card(id=1), _card(id=2, url="https://e.org/2"), _card(id=1)]
    (message,) = render_digest(cards, period="daily", sentences=1, tz=UTC_TZ, now=NOW)
    parsed = _valid(message)
    assert parsed.text.startswith("📰 Your daily digest — 10 Nov 2025 · 2 articles\n")
    assert sorted(_links(parsed)) == ["https://e.org/2", "https://example.org/plastic"]


def test_digest_of_one_card_has_no_part_marker() -> None:
    (message,) = render_digest([_card()], period="daily", sentences=2, tz=UTC_TZ, now=NOW)
    assert "(1/1)" not in message


# ---------------------------------------------------------------------------------------------
# /events
# ---------------------------------------------------------------------------------------------


def test_events_lists_upcoming_forums_soonest_first_with_place_and_link() -> None:
    messages = render_events(_fixture_cards(), tz=UTC_TZ, now=NOW)
    assert len(messages) == 1
    parsed = _valid(messages[0])
    assert parsed.text.split("\n\n") == [
        "🗓 Upcoming forums · 2",
        "📅 16–17 Nov 2025 (in 6 days)\n2025分子医学国际创新合作论坛\n📍 光明区, Shenzhen",
        "📅 30 Dec 2025 – 2 Jan 2026 (in 7 weeks)\nWinter workshop on quantum materials\n"
        "📍 Kyoto International Conference Center, Kyoto",
    ]
    assert _links(parsed) == [
        "https://www.sznews.com/content/2025-11/18/content_1.htm",
        "https://kyoto.example.jp/ws",
    ]


@pytest.mark.parametrize(
    ("start", "end", "now", "countdown"),
    [
        (date(2025, 11, 10), None, NOW, "on now"),
        (date(2025, 11, 8), date(2025, 11, 10), NOW, "on now"),
        (date(2025, 11, 11), None, NOW, "tomorrow"),
        (date(2025, 11, 13), None, NOW, "in 3 days"),
        (date(2025, 11, 18), None, NOW, "next week"),
        (date(2025, 11, 30), None, NOW, "in 2 weeks"),
        (date(2026, 3, 1), None, NOW, "in 3 months"),
    ],
)
def test_events_say_how_soon(start: date, end: date | None, now: datetime, countdown: str) -> None:
    card = _card(event=_event(start=start, end=end))
    (message,) = render_events([card], tz=UTC_TZ, now=now)
    assert f"({countdown})" in parse_html(message).text.split("\n\n")[1].split("\n")[0]


def test_events_leave_out_news_past_and_undated_forums() -> None:
    cards = [
        _card(id=1),
        _card(id=2, event=_event(start=date(2025, 11, 1))),
        _card(id=3, event=_event()),
    ]
    assert render_events(cards, tz=UTC_TZ, now=NOW) == []


def test_events_name_falls_back_to_the_title_and_unsafe_urls_get_no_link() -> None:
    card = _card(title="<Summit>", url="javascript:x", event=_event(start=date(2025, 12, 1)))
    (message,) = render_events([card], tz=UTC_TZ, now=NOW)
    parsed = _valid(message)
    assert parsed.text.split("\n\n")[1].split("\n")[1] == "<Summit>"
    assert _links(parsed) == []


def test_many_events_are_split_into_numbered_messages() -> None:
    cards = [
        _card(
            id=i,
            url=f"https://e.org/{i}",
            event=_event(name="Forum " + "ж" * 150, start=date(2026, 1, 1 + i % 28), city="Moscow"),
        )
        for i in range(80)
    ]
    messages = render_events(cards, tz=UTC_TZ, now=NOW)
    assert len(messages) > 1
    links: list[str] = []
    for number, message in enumerate(messages, 1):
        parsed = _valid(message)
        assert parsed.text.split("\n")[0].endswith(f"({number}/{len(messages)})")
        links += _links(parsed)
    assert sorted(links) == sorted(f"https://e.org/{i}" for i in range(80))


# ---------------------------------------------------------------------------------------------
# Every fixture card, every way
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
@pytest.mark.parametrize("sentences", [1, 3, 5])
def test_every_fixture_card_renders_to_valid_telegram_html(tz: str, sentences: int) -> None:
    for card in _fixture_cards():
        parsed = _valid(render_card(card, sentences=sentences, tz=ZoneInfo(tz), now=NOW))
        assert card.title in parsed.text
        assert not re.search(r"<(?:script|i|b)>", "".join(_links(parsed)))


# ---------------------------------------------------------------------------------------------
# Cards from stored articles
# ---------------------------------------------------------------------------------------------


def _article(**fields: Any) -> Article:
    base: dict[str, Any] = {
        "id": 7,
        "url": "https://www.example.org/news/1",
        "title": "Forum opens",
        "published": datetime(2025, 11, 18, 6, tzinfo=UTC),
        "first_seen": datetime(2025, 11, 18, 7, tzinfo=UTC),
        "language": "en",
        "text": "First line of the text. Second one here. Third never shown.",
        "content_hash": "x",
    }
    base.update(fields)
    return Article(**base)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (["Stored one.", "Stored two."], ("Stored one.", "Stored two.")),
        (None, ("First line of the text.", "Second one here.")),
        ([], ("First line of the text.", "Second one here.")),
        ("not a list", ("First line of the text.", "Second one here.")),
        ([1, None, " ", "Only string."], ("Only string.",)),
    ],
)
def test_card_summary_is_the_stored_one_or_the_texts_first_sentences(
    summary: object, expected: tuple[str, ...]
) -> None:
    card = card_from_article(_article(summary=summary), source="Feed")
    assert card.summary == expected


def test_fallback_summary_is_capped_near_300_characters() -> None:
    text = "This sentence is rather long and goes on " * 20 + "."
    card = card_from_article(_article(summary=None, text=text), source="Feed")
    assert sum(len(s) for s in card.summary) <= 300
    assert card.summary[-1].endswith("…")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (None, None),
        ("garbage", None),
        ({"kind": ""}, None),
        ({"kind": "forum", "start": "2025-13-45"}, None),
        ({"kind": "forum", "organizers": "ASM"}, None),
        (
            _event(start=date(2025, 11, 18), city="Shenzhen").to_dict(NOW),
            _event(start=date(2025, 11, 18), city="Shenzhen"),
        ),
    ],
)
def test_card_event_is_loaded_and_bad_event_data_is_dropped(
    event: object, expected: EventFacts | None
) -> None:
    assert card_from_article(_article(event=event), source="Feed").event == expected


def test_card_from_article_keeps_topics_and_falls_back_to_the_host_for_source() -> None:
    article = _article(topics=["genomics", 3, "ai"], published=datetime(2025, 11, 18, 6))
    card = card_from_article(article, source="  ")
    assert card.topics == ("genomics", "ai")
    assert card.source == "example.org"
    assert card.published == datetime(2025, 11, 18, 6, tzinfo=UTC)
    assert (card.id, card.title, card.url, card.language) == (7, "Forum opens", article.url, "en")


def test_card_from_unstored_article_is_refused() -> None:
    with pytest.raises(ValueError, match="id"):
        card_from_article(_article(id=None), source="Feed")


# ---------------------------------------------------------------------------------------------
# The real pipeline's output, rendered
# ---------------------------------------------------------------------------------------------

SEEDS = [
    ("000", "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology", 24),
    ("001", "World Biotechnology Industry Conference opens in Qingdao", 14),
    ("002", "Experts converge in Guangming to chart future of scientific infrastructures", 20),
    ("003", "International Cooperation key to Industrial Biotechnology Innovation", 12),
    (
        "004",
        "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine",
        21,
    ),
]


@pytest.mark.parametrize(("prefix", "title", "day"), SEEDS)
def test_seed_forum_articles_render_as_forum_cards(prefix: str, title: str, day: int) -> None:
    text = next((FIXTURES / "seeds").glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    year = 2021 if prefix == "001" else 2023 if prefix == "003" else 2025
    month = 12 if prefix == "001" else 11
    published = datetime(year, month, day, 8, tzinfo=UTC)
    facts = extract_event(title, text, published=published, language="en")
    assert facts is not None
    article = _article(
        title=title,
        text=text,
        published=published,
        summary=summarize(text, language="en", max_sentences=5).sentences,
        topics=[t.slug for t in tag_topics(title, text, language="en")],
        event=facts.to_dict(published),
    )
    card = card_from_article(article, source="Newsroom")
    parsed = _valid(render_card(card, sentences=3, tz=ZoneInfo("Asia/Shanghai"), now=published))
    lines = parsed.text.split("\n")
    # A seed's title is a news headline, not the forum's name: a known name comes first.
    if facts.name:
        assert lines.pop(2) == f"🎤 {facts.name}"
    assert lines[2].startswith("📅 ")
    (message,) = render_digest(
        [card, replace(card, id=8, event=None)],
        period="daily",
        sentences=5,
        tz=UTC_TZ,
        now=published,
    )
    _valid(message)


# --- the forum's name ---------------------------------------------------------------------------

SYMPOSIUM = "2025 Shenzhen Symposium on Microbial Biotechnology"


@pytest.mark.parametrize(
    ("name", "title", "shown"),
    [
        (SYMPOSIUM, "Experts gather in Shenzhen to share microbe research", SYMPOSIUM),
        (SYMPOSIUM, f"{SYMPOSIUM} opens", ""),
        (SYMPOSIUM, "2025 SHENZHEN SYMPOSIUM ON MICROBIAL BIOTECHNOLOGY: day one", ""),
        (None, "Experts gather", ""),
        ("  ", "Experts gather", ""),
    ],
)
def test_the_forum_name_is_shown_only_when_the_title_does_not_say_it(
    name: str | None, title: str, shown: str
) -> None:
    assert forum_name(_event(name=name), title) == shown


def test_a_forum_card_names_the_forum_above_its_dates() -> None:
    event = _event(name=SYMPOSIUM, start=date(2025, 11, 18), city="Shenzhen")
    card = _card(title="Experts gather in Shenzhen", event=event)
    lines = parse_html(render_card(card, sentences=2, tz=UTC_TZ, now=NOW)).text.splitlines()
    assert lines[2] == f"🎤 {SYMPOSIUM}"
    assert lines[3].startswith("📅 18 Nov 2025")
    text = render_card_text(card, sentences=2, tz=UTC_TZ, now=NOW).splitlines()
    assert f"🎤 {SYMPOSIUM}" in text


def test_the_digest_forum_section_names_the_forum() -> None:
    event = _event(name=SYMPOSIUM, start=date(2025, 11, 18))
    forum = _card(id=7, title="Experts gather in Shenzhen", event=event)
    (message,) = render_digest(
        [forum, _card(id=8)], period="daily", sentences=1, tz=UTC_TZ, now=NOW
    )
    assert f"🎤 {SYMPOSIUM}" in parse_html(message).text


def test_the_forum_name_is_escaped() -> None:
    line = render_event_line(_event(name="<b>Forum</b> & Co"), now=NOW, title="Other")
    assert parse_html(line).text == "🎤 <b>Forum</b> & Co"


# --- districts, month-only dates, deadlines -----------------------------------------------------


def test_the_place_keeps_venue_district_and_city_apart() -> None:
    event = _event(
        venue="Guangming Life Science Park", district="Guangming District", city="Shenzhen"
    )
    line = parse_html(render_event_line(event, now=NOW)).text
    assert line == "📍 Guangming Life Science Park, Guangming District, Shenzhen"
    assert parse_html(render_event_line(_event(district="光明区", city="深圳"), now=NOW)).text == (
        "📍 光明区, 深圳"
    )


def test_an_event_dated_only_by_its_month_shows_the_month() -> None:
    event = _event(start=date(2026, 11, 1), end=date(2026, 11, 30), precision="month")
    assert parse_html(render_event_line(event, now=NOW)).text == "📅 Nov 2026 (upcoming)"


@pytest.mark.parametrize(
    ("deadlines", "shown"),
    [
        (
            (("abstract", date(2025, 11, 20)), ("registration", date(2025, 12, 1))),
            "abstracts by 20 Nov 2025",
        ),
        (
            (("abstract", date(2025, 11, 1)), ("registration", date(2025, 12, 1))),
            "register by 1 Dec 2025",
        ),
        ((("registration", date(2025, 11, 1)),), None),
        ((("mystery", date(2025, 12, 1)),), "deadline by 1 Dec 2025"),
    ],
)
def test_the_next_deadline_that_has_not_passed_is_shown(
    deadlines: tuple[tuple[str, date], ...], shown: str | None
) -> None:
    event = _event(start=date(2026, 3, 3), deadlines=deadlines)
    line = parse_html(render_event_line(event, now=NOW)).text
    if shown is None:
        assert "⏳" not in line
    else:
        assert f"⏳ {shown}" in line


# --------------------------------------------------------------------------------------------
# Result lists, the "because" line, and long lists of lines
# --------------------------------------------------------------------------------------------


def _parsed(markup: str) -> ParsedText:
    parsed = parse_html(markup)  # raises on anything Telegram would refuse
    assert utf16_length(parsed.text) <= MAX_MESSAGE
    return parsed


@pytest.mark.parametrize(
    ("cards", "first", "lines"),
    [
        pytest.param(
            [_card(), _card(id=2, title="Moon dust", source="Nature")],
            1,
            [
                "1. Bacteria that eat plastic",
                "      Science Daily · 24 Nov 2025",
                "2. Moon dust",
                "      Nature · 24 Nov 2025",
            ],
            id="numbered, with source and date",
        ),
        pytest.param(
            [_card(title="<script>&", url="javascript:alert(1)", source="")],
            11,
            ["11. <script>&", "      24 Nov 2025"],
            id="escaped, unlinked when the URL is not http(s), numbered from the page",
        ),
        pytest.param(
            [_card(title="T" * 400, source="S" * 400)],
            1,
            ["1. " + "T" * 149 + "…", "      " + "S" * 79 + "… · 24 Nov 2025"],
            id="long fields capped",
        ),
    ],
)
def test_a_result_list_is_one_numbered_entry_per_card(
    cards: list[ArticleCard], first: int, lines: list[str]
) -> None:
    rendered = render_list(cards, heading="🔎 <b>Found</b>", first_number=first, tz=UTC_TZ)
    parsed = _parsed(rendered)
    shown = [line for line in parsed.text.split("\n") if line and line != "🔎 Found"]
    assert shown == lines
    links = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
    assert links == [c.url for c in cards if c.url and c.url.startswith("https://")]


def test_ten_entries_of_the_longest_fields_fit_one_message() -> None:
    cards = [_card(id=n, title="標" * 600, source="😀" * 200) for n in range(10)]
    rendered = render_list(cards, heading="🆕 <b>Newest</b> · page 9", first_number=91, tz=UTC_TZ)
    assert visible_len(rendered) < MAX_MESSAGE
    _parsed(rendered)


@pytest.mark.parametrize(
    ("topics", "rules", "line"),
    [
        (["microbiology"], [], "💡 because: #microbiology"),
        (["microbiology"], ["crispr"], "💡 because: #microbiology · rule crispr"),
        ([], ['"gene editing" -plants'], '💡 because: rule "gene editing" -plants'),
        (["precision-medicine"], [], "💡 because: #precision_medicine"),
        (["ai", "space", "physics", "math"], ["x"], "💡 because: #ai · #space · #physics +2"),
        ([], ["<b>" + "y" * 60], "💡 because: rule <b>" + "y" * 36 + "…"),
        ([], [], ""),
    ],
)
def test_the_because_line_names_topics_as_hashtags_and_rules_as_code(
    topics: list[str], rules: list[str], line: str
) -> None:
    rendered = render_reason(topics, rules)
    assert (_parsed(rendered).text if rendered else "") == line


def test_a_card_with_a_reason_keeps_it_within_the_limit_by_shortening_the_summary() -> None:
    reason = render_reason(["microbiology"], ["crispr"])
    long = _card(summary=("Word " * 1500,))
    rendered = render_card(long, sentences=5, tz=UTC_TZ, now=NOW, reason=reason)
    parsed = _parsed(rendered)
    assert parsed.text.endswith("💡 because: #microbiology · rule crispr")
    assert utf16_length(parsed.text) <= MAX_MESSAGE
    short = render_card(_card(), sentences=2, tz=UTC_TZ, now=NOW, reason=reason)
    assert short == render_card(_card(), sentences=2, tz=UTC_TZ, now=NOW) + "\n" + reason


@pytest.mark.parametrize(
    ("units", "added"),
    [(100, True), (MAX_MESSAGE - 30, True), (MAX_MESSAGE - 20, False)],
)
def test_a_line_is_appended_only_when_the_message_still_fits(units: int, added: bool) -> None:
    body = "x" * units
    line = render_reason(["microbiology"], [])  # 24 units
    assert (append_line(body, line) != body) is added
    assert visible_len(append_line(body, line)) <= MAX_MESSAGE


@pytest.mark.parametrize(
    ("lines", "limit", "messages"),
    [
        (["a", "b", "c"], 100, ["a\nb\nc"]),
        (["aaaa", "bbbb", "cccc"], 9, ["aaaa\nbbbb", "cccc"]),
        (["<code>aaaa</code>", "bbbb"], 9, ["<code>aaaa</code>\nbbbb"]),  # tags are not shown
        (["aaaa", "bbbb"], 8, ["aaaa", "bbbb"]),
        ([], 10, []),
    ],
)
def test_lines_are_packed_into_as_few_messages_as_fit(
    lines: list[str], limit: int, messages: list[str]
) -> None:
    assert pack_lines(lines, limit=limit) == messages
