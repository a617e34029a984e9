"""Event dates: every written format, tense, the year in a forum's name, datelines, and the
year a date without one belongs to (a re-post a year later keeps the forum in its own year)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from summaries.eventdates import date_mentions, find_dateline, name_year, resolve_dates, tense
from summaries.events import extract_event
from summaries.eventsentences import event_sentences

SEEDS = Path(__file__).parent / "fixtures" / "seeds"


def _utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        # Numeric: year first with any separator, month first with slashes (as English news
        # writes it, unless the first number cannot be a month), day first with dots.
        ("2025-11-18", (date(2025, 11, 18), date(2025, 11, 18))),
        ("2025/11/18", (date(2025, 11, 18), date(2025, 11, 18))),
        ("2025.11.18", (date(2025, 11, 18), date(2025, 11, 18))),
        ("11/18/2025", (date(2025, 11, 18), date(2025, 11, 18))),
        ("18/11/2025", (date(2025, 11, 18), date(2025, 11, 18))),
        ("3/4/2025", (date(2025, 3, 4), date(2025, 3, 4))),
        ("18.11.2025", (date(2025, 11, 18), date(2025, 11, 18))),
        ("2025-11-21 09:30", (date(2025, 11, 21), date(2025, 11, 21))),
        # Chinese, with Arabic or Chinese numerals and full-width digits.
        ("2025年11月18日", (date(2025, 11, 18), date(2025, 11, 18))),
        ("11月18日至20日", (date(2025, 11, 18), date(2025, 11, 20))),
        ("十一月十八日", (date(2025, 11, 18), date(2025, 11, 18))),
        ("二〇二五年十一月十八日", (date(2025, 11, 18), date(2025, 11, 18))),
        ("二〇二五年十二月三十日至二〇二六年一月二日", (date(2025, 12, 30), date(2026, 1, 2))),
        ("十一月二十一日", (date(2025, 11, 21), date(2025, 11, 21))),
        ("十月十日", (date(2025, 10, 10), date(2025, 10, 10))),
        ("１１月１８日", (date(2025, 11, 18), date(2025, 11, 18))),
    ],
)
def test_each_written_date_format_resolves(fragment: str, expected: tuple[date, date]) -> None:
    assert resolve_dates(fragment, reference=date(2025, 11, 24)) == expected


@pytest.mark.parametrize(
    ("fragment", "month", "year"),
    [
        ("in November 2026", 11, 2026),
        ("Nov. 2026", 11, 2026),
        ("late NOVEMBER 2026", 11, 2026),
        ("2026年11月", 11, 2026),
        ("2026年11月下旬", 11, 2026),
        ("二〇二六年十一月", 11, 2026),
    ],
)
def test_a_month_with_its_year_is_a_month_precision_mention(
    fragment: str, month: int, year: int
) -> None:
    (mention,) = date_mentions(fragment).mentions
    assert (mention.m1, mention.y1, mention.is_day) == (month, year, False)
    # resolve_dates is day precision: a month alone is not a day.
    assert resolve_dates(fragment, reference=date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "fragment",
    ["in November", "2025", "version 1.2.3", "v2025.1.123", "13/13/2025", "32.1.2025", "一日游"],
)
def test_what_is_not_a_date_gives_no_mention_or_none(fragment: str) -> None:
    assert resolve_dates(fragment, reference=date(2025, 6, 1)) is None


# ---------------------------------------------------------------------------------------------
# Tense, the name's year, datelines
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The forum was held Dec. 5 at Guangming Life Science Park.", "past"),
        ("The conference kicked off on Dec 13 in Qingdao.", "past"),
        ("The symposium concluded on Friday.", "past"),
        ("Experts gathered in Shenzhen on November 18 for a symposium.", "past"),
        ("第五届论坛于12月9日在深圳闭幕。", "past"),
        ("论坛召开了三场分论坛。", "past"),
        ("论坛在深圳举行了开幕式。", "past"),
        ("The forum will be held Dec. 5 in Beijing.", "future"),
        ("The summit will take place from Jan 5 to 7.", "future"),
        ("The expo is scheduled to open in March.", "future"),
        ("论坛将于12月5日在北京举行。", "future"),
        ("论坛即将开幕。", "future"),
        ("关于召开2026年全国生物物理学术大会的通知", "future"),
        ("The forum will be held Dec. 5; last year's edition was held in May.", None),
        ("The forum focuses on biotechnology.", None),
    ],
)
def test_tense_of_a_sentence(sentence: str, expected: str | None) -> None:
    assert tense(sentence) == expected


@pytest.mark.parametrize(
    ("name", "report", "expected"),
    [
        ("2025 International Forum on Innovation Cooperation in Molecular Medicine", None, 2025),
        ("The 2021 World Biotechnology Industry Conference", date(2025, 1, 1), 2021),
        ("2026年全国生物物理学术大会", date(2025, 10, 1), 2026),
        ("Global South-South Development Expo 2022", None, 2022),
        ("Intelligent World 2035 Forum", date(2025, 1, 1), None),  # a theme, not a date
        ("Vision 2035 Summit", date(2025, 1, 1), None),
        ("World Biotechnology Industry Conference", None, None),
        (None, None, None),
    ],
)
def test_year_in_a_forum_name(name: str | None, report: date | None, expected: int | None) -> None:
    assert name_year(name, report) == expected


@pytest.mark.parametrize(
    ("text", "day", "city"),
    [
        (
            "Share\nWriter: Windy Shao | Editor: Lin | Updated: 2025-12-05\nBody.",
            date(2025, 12, 5),
            None,
        ),
        ("Newsroom\nNov 24, 2025\nBody.", date(2025, 11, 24), None),
        ("2025-11-21 09:30\nBody.", date(2025, 11, 21), None),
        ("2026-12-10 来源：深圳特区报\n正文。", date(2026, 12, 10), None),
        ("发布时间：2025年11月21日 09:30\n正文。", date(2025, 11, 21), None),
        ("Published: 18.11.2025\nBody.", date(2025, 11, 18), None),
        ("SHENZHEN, Nov. 18, 2025 (Xinhua) -- The forum opened.", date(2025, 11, 18), "SHENZHEN"),
        ("新华社深圳11月18日电 论坛开幕。", None, "深圳"),  # no year and no publication date
        ("The forum was held on Nov. 18, 2025 in Beijing.", None, None),  # a sentence, no dateline
        ("Date: 5-7 June 2026\nBody.", None, None),  # the event's own date label
        ("会议时间：\n2026年5月20日\n正文。", None, None),  # ... its date on the next line
        ("Newsroom\n5-7 June 2026\nBody.", None, None),  # a range is an event's
    ],
)
def test_dateline_is_the_reports_own_date(text: str, day: date | None, city: str | None) -> None:
    found = find_dateline(event_sentences(text), None)
    assert (found.day, found.city) == (day, city)


def test_a_year_less_wire_dateline_takes_the_publication_year() -> None:
    found = find_dateline(
        event_sentences("SHENZHEN, Nov. 18 (Xinhua) -- Body."), date(2025, 11, 19)
    )
    assert (found.day, found.city) == (date(2025, 11, 18), "SHENZHEN")


# ---------------------------------------------------------------------------------------------
# The year of a date without one, in a whole article
# ---------------------------------------------------------------------------------------------


def _dates(body: str, published: datetime | None, title: str = "Widget forum") -> tuple:
    facts = extract_event(title, body, published=published)
    assert facts is not None
    return facts.start, facts.end, facts.precision


@pytest.mark.parametrize(
    ("body", "published", "expected"),
    [
        # Tense against the publication date: a past forum before it, a future one after it.
        (
            "The Widget Science Forum was held Nov. 30 in Beijing.",
            _utc(2025, 11, 24),
            (date(2024, 11, 30), date(2024, 11, 30), "day"),
        ),
        (
            "The Widget Science Forum will be held Nov. 3 in Beijing.",
            _utc(2025, 11, 24),
            (date(2026, 11, 3), date(2026, 11, 3), "day"),
        ),
        (
            "The Widget Science Forum opened Nov. 23 in Beijing.",
            _utc(2025, 11, 24),
            (date(2025, 11, 23), date(2025, 11, 23), "day"),
        ),
        # The dateline beats the publication date of a re-post.
        (
            "Updated: 2025-12-05\nThe Widget Science Forum was held Dec. 5 in Beijing.",
            _utc(2026, 12, 6),
            (date(2025, 12, 5), date(2025, 12, 5), "day"),
        ),
        (
            "Updated: 2025-11-20\nThe Widget Science Forum will be held Dec. 5 in Beijing.",
            _utc(2026, 11, 21),
            (date(2025, 12, 5), date(2025, 12, 5), "day"),
        ),
        # The name's year beats both.
        (
            "The 2025 Widget Science Forum opened Dec. 5 in Beijing.",
            _utc(2026, 12, 6),
            (date(2025, 12, 5), date(2025, 12, 5), "day"),
        ),
        # A full date near the event places a year-less one, also without a publication date.
        (
            "The Widget Science Forum was held Nov. 16 in Beijing. On November 17, 2025,"
            " participants of the forum visited laboratories.",
            None,
            (date(2025, 11, 16), date(2025, 11, 16), "day"),
        ),
        (
            "The Widget Science Forum was held Nov. 16 in Beijing. On November 17, 2025,"
            " participants of the forum visited laboratories.",
            _utc(2026, 11, 20),
            (date(2025, 11, 16), date(2025, 11, 16), "day"),
        ),
        # ... but not a date from another era.
        (
            "The Widget Science Forum will be held Dec. 5 in Beijing. The first forum was held"
            " on May 3, 2019.",
            _utc(2025, 10, 1),
            (date(2025, 12, 5), date(2025, 12, 5), "day"),
        ),
        # Nothing dates it: unknown, not guessed.
        ("The Widget Science Forum was held Dec. 5 in Beijing.", None, (None, None, "day")),
        # A month alone, only when no day is given.
        (
            "The Widget Science Forum will be held in November 2026 in Beijing.",
            _utc(2025, 11, 5),
            (date(2026, 11, 1), date(2026, 11, 30), "month"),
        ),
        (
            "小部件论坛将于2026年11月在北京召开。",
            _utc(2025, 11, 5),
            (date(2026, 11, 1), date(2026, 11, 30), "month"),
        ),
        (
            "经研究决定，于2026年5月在武汉召开小部件大会。会议时间：2026年5月20日至23日",
            _utc(2026, 1, 15),
            (date(2026, 5, 20), date(2026, 5, 23), "day"),
        ),
        # A "Date:" label with its date on the next line.
        (
            "小部件大会将于武汉召开。\n一、会议时间：\n2026年5月20日至23日\n二、会议地点：武汉",
            _utc(2026, 1, 15),
            (date(2026, 5, 20), date(2026, 5, 23), "day"),
        ),
        # Days relative to a dateline.
        (
            "SHENZHEN, Nov. 18, 2025 (Xinhua) -- The Widget Science Forum opened Monday in"
            " Shenzhen.",
            None,
            (date(2025, 11, 17), date(2025, 11, 17), "day"),
        ),
        (
            "新华社深圳11月18日电 第二届小部件论坛18日在深圳开幕。",
            _utc(2025, 11, 18),
            (date(2025, 11, 18), date(2025, 11, 18), "day"),
        ),
    ],
)
def test_year_of_a_date_comes_from_the_text_first(
    body: str, published: datetime | None, expected: tuple
) -> None:
    assert _dates(body, published) == expected


SEED_TITLES = {
    "000": "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology",
    "001": "",
    "002": "Experts converge in Guangming to chart future of scientific infrastructures",
    "003": "International Cooperation key to Industrial Biotechnology Innovation",
    "004": "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine",
}
# The forum's real dates: the seeds say them with or without a publication date.
SEED_DATES = {
    "000": (date(2025, 11, 18), date(2025, 11, 18)),  # "Nov 24, 2025" line + "gathered"
    "001": (date(2021, 12, 13), date(2021, 12, 13)),  # "The 2021 World ... Conference"
    "002": (date(2025, 12, 5), date(2025, 12, 5)),  # "Updated: 2025-12-05" + "was held"
    "003": (date(2023, 11, 9), date(2023, 11, 10)),  # "November 9-10, 2023"
    "004": (date(2025, 11, 16), date(2025, 11, 17)),  # "2025 International Forum ..."
}


def _seed_dates(prefix: str, published: datetime | None) -> tuple[date | None, date | None]:
    text = next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    facts = extract_event(SEED_TITLES[prefix], text, published=published, language="en")
    assert facts is not None
    return facts.start, facts.end


@pytest.mark.parametrize("prefix", sorted(SEED_DATES))
@pytest.mark.parametrize(
    "published",
    [None, _utc(2025, 12, 20), _utc(2026, 12, 6), _utc(2027, 6, 1)],
    ids=["no-publication-date", "published-weeks-later", "re-posted-a-year-later", "18-months"],
)
def test_a_seed_keeps_its_dates_whenever_it_is_published(
    prefix: str, published: datetime | None
) -> None:
    assert _seed_dates(prefix, published) == SEED_DATES[prefix]


@pytest.mark.parametrize("prefix", sorted(SEED_DATES))
def test_a_re_posted_seed_is_never_upcoming(prefix: str) -> None:
    text = next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    reposted = _utc(2026, 12, 6)
    facts = extract_event(SEED_TITLES[prefix], text, published=reposted, language="en")
    assert facts is not None
    assert facts.is_upcoming(reposted) is False


def test_hostile_date_input_finishes_fast() -> None:
    hostile = [
        "Updated: " * 20_000,
        "二十一日至" * 30_000,
        "11/" * 60_000,
        "2025." * 40_000,
        "in November " * 15_000,
        "SHENZHEN, " * 20_000,
    ]
    started = time.perf_counter()
    for text in hostile:
        extract_event("Forum", text, published=_utc(2025, 1, 1))
        resolve_dates(text, reference=date(2025, 1, 1))
    assert time.perf_counter() - started < 3.0
