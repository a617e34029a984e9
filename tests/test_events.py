"""Forum facts: the seeds, hand-written event and non-event articles, and date resolution."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from summaries.errors import SummariesError
from summaries.events import EventFacts, assess_event, extract_event, resolve_dates

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
EVENTS = FIXTURES / "events"


def _utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def _article(path: Path) -> tuple[str, str]:
    """(headline, body) of a hand-written fixture: the first line is the headline."""
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title.strip(), body


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "reference", "expected"),
    [
        (
            "from Nov. 16 to 17 for the forum",
            date(2025, 11, 21),
            (date(2025, 11, 16), date(2025, 11, 17)),
        ),
        ("on November 9-10, 2023.", date(2025, 1, 1), (date(2023, 11, 9), date(2023, 11, 10))),
        (
            "kicked off on Dec 13 in Qingdao",
            date(2021, 12, 14),
            (date(2021, 12, 13), date(2021, 12, 13)),
        ),
        ("from 2 to 5 February", date(2025, 10, 15), (date(2026, 2, 2), date(2026, 2, 5))),
        ("Dec. 30 - Jan. 2", date(2025, 12, 20), (date(2025, 12, 30), date(2026, 1, 2))),
        ("Dec. 30 - Jan. 2", date(2026, 1, 5), (date(2025, 12, 30), date(2026, 1, 2))),
        ("March 3–5, 2026", date(2025, 6, 1), (date(2026, 3, 3), date(2026, 3, 5))),
        ("5-7 June 2025", date(2020, 1, 1), (date(2025, 6, 5), date(2025, 6, 7))),
        ("Sept. 28", date(2025, 9, 30), (date(2025, 9, 28), date(2025, 9, 28))),
        ("on Nov 24, 2025", date(2030, 1, 1), (date(2025, 11, 24), date(2025, 11, 24))),
        (
            "30 November – 2 December 2025",
            date(2025, 1, 1),
            (date(2025, 11, 30), date(2025, 12, 2)),
        ),
        ("Nov 30, 2025 to Dec 2, 2025", date(2020, 1, 1), (date(2025, 11, 30), date(2025, 12, 2))),
        ("Dec. 30, 2025 - Jan. 2, 2026", date(2020, 1, 1), (date(2025, 12, 30), date(2026, 1, 2))),
        ("Dec. 30 - Jan. 2, 2026", date(2020, 1, 1), (date(2025, 12, 30), date(2026, 1, 2))),
        ("November 16th-17th", date(2025, 11, 1), (date(2025, 11, 16), date(2025, 11, 17))),
        ("Nov. 9 and 10", date(2025, 11, 1), (date(2025, 11, 9), date(2025, 11, 10))),
        ("18 November 2025", date(2020, 1, 1), (date(2025, 11, 18), date(2025, 11, 18))),
        ("SEPT 28", date(2025, 9, 1), (date(2025, 9, 28), date(2025, 9, 28))),
        ("2025-11-18", date(2020, 1, 1), (date(2025, 11, 18), date(2025, 11, 18))),
        ("2025-12-30 to 2026-01-02", date(2020, 1, 1), (date(2025, 12, 30), date(2026, 1, 2))),
        # Year inference across the boundary, both ways.
        ("on Dec 29", date(2026, 1, 3), (date(2025, 12, 29), date(2025, 12, 29))),
        ("Jan 5 to 7", date(2025, 12, 20), (date(2026, 1, 5), date(2026, 1, 7))),
        ("Feb. 29", date(2024, 3, 1), (date(2024, 2, 29), date(2024, 2, 29))),
        ("Feb. 29", date(2025, 3, 1), (date(2024, 2, 29), date(2024, 2, 29))),
        # Chinese.
        ("2026年12月8日至9日", date(2020, 1, 1), (date(2026, 12, 8), date(2026, 12, 9))),
        ("12月8日-10日", date(2026, 11, 30), (date(2026, 12, 8), date(2026, 12, 10))),
        ("11月18日", date(2025, 11, 24), (date(2025, 11, 18), date(2025, 11, 18))),
        ("11月16-17日", date(2025, 11, 24), (date(2025, 11, 16), date(2025, 11, 17))),
        ("12月30日至1月2日", date(2026, 1, 3), (date(2025, 12, 30), date(2026, 1, 2))),
        ("2025年12月30日至2026年1月2日", date(2020, 1, 1), (date(2025, 12, 30), date(2026, 1, 2))),
        ("1月5日", date(2025, 12, 20), (date(2026, 1, 5), date(2026, 1, 5))),
        ("2025年 11 月 18 日", date(2020, 1, 1), (date(2025, 11, 18), date(2025, 11, 18))),
        # The first date wins; prose around it is fine.
        (
            "Updated on Nov 24; held Nov 18",
            date(2025, 11, 24),
            (date(2025, 11, 24), date(2025, 11, 24)),
        ),
    ],
)
def test_resolve_dates_reads_each_format(
    fragment: str, reference: date, expected: tuple[date, date]
) -> None:
    assert resolve_dates(fragment, reference=reference) == expected


@pytest.mark.parametrize(
    "fragment",
    [
        "",
        "no date here",
        "Feb. 30",
        "in 2025",
        "November 2025",
        "May the best team win 3 to 1",
        "13月5日",
        "Nov 20 to 10",  # the end before the start, not a two-month range
        "page 12 of 30",
        "The Mayor 12",
    ],
)
def test_resolve_dates_returns_none_without_a_real_date(fragment: str) -> None:
    assert resolve_dates(fragment, reference=date(2025, 6, 1)) is None


# ---------------------------------------------------------------------------------------------
# The seeds
# ---------------------------------------------------------------------------------------------

SEED_TITLES = {
    "000": "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology",
    "001": "",  # the page copy has no headline, only the lead
    "002": "Experts converge in Guangming to chart future of scientific infrastructures",
    "003": "International Cooperation key to Industrial Biotechnology Innovation",
    "004": "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine",
}
# Publication dates as the pages state them; 001 and 003 state none.
SEED_PUBLISHED = {
    "000": _utc(2025, 11, 24),
    "001": None,
    "002": _utc(2025, 12, 5),
    "003": None,
    "004": _utc(2025, 11, 21),
}


def _seed(prefix: str) -> EventFacts | None:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return extract_event(
        SEED_TITLES[prefix],
        path.read_text(encoding="utf-8"),
        published=SEED_PUBLISHED[prefix],
        language="en",
    )


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (
            "000",
            EventFacts(
                name=None,  # only "a symposium"; the headline's capitals are not a name
                kind="symposium",
                start=date(2025, 11, 18),
                end=date(2025, 11, 18),
                city="Shenzhen",
                venue=None,
                organizers=(
                    "American Society for Microbiology (ASM)",
                    "Shenzhen Institute of Advanced Technology (SIAT)",
                ),
                attendance=300,
                lead_sentence=(
                    "This shared vision gathered microbiologists from Asia, Europe, America and"
                    " Africa in Shenzhen on November 18 for a symposium co-hosted by the American"
                    " Society for Microbiology (ASM) and the Shenzhen Institute of Advanced"
                    " Technology (SIAT) of the Chinese Academy of Sciences."
                ),
            ),
        ),
        (
            "001",
            EventFacts(
                name="2021 World Biotechnology Industry Conference",
                kind="conference",
                start=date(2021, 12, 13),  # the year comes from the name: no publication date
                end=date(2021, 12, 13),
                city="Qingdao",
                venue=None,
                organizers=(),
                attendance=None,  # "More than 60 guests ... invited to make speeches" are speakers
                lead_sentence=(
                    "The 2021 World Biotechnology Industry Conference kicked off on Dec 13 in the"
                    " eastern coastal city of Qingdao, Shandong province."
                ),
            ),
        ),
        (
            "002",
            EventFacts(
                name=(
                    "Forum on Major Scientific Infrastructure Planning and Collaborative Operations"
                ),
                kind="forum",
                start=date(2025, 12, 5),
                end=date(2025, 12, 5),
                city="Shenzhen",  # Guangming is a Shenzhen district
                venue="Guangming Life Science Park",
                organizers=("Guangming Science City Development and Construction Co. Ltd.",),
                attendance=300,
                district="Guangming District",  # the headline: "Experts converge in Guangming"
                lead_sentence=(
                    "The Forum on Major Scientific Infrastructure Planning and Collaborative"
                    " Operations, a parallel session of the Guangming Science City Forum, was held"
                    " Dec. 5 at Guangming Life Science Park."
                ),
            ),
        ),
        (
            "003",
            EventFacts(
                name="International Forum on Innovative Development of Biomanufacturing",
                kind="forum",
                start=date(2023, 11, 9),
                end=date(2023, 11, 10),
                city="Tianjin",
                venue=None,
                organizers=(
                    "Tianjin Institute of Industrial Biotechnology (TIB)",
                    "COMSATS",
                    "Alliance of International Science Organization (ANSO)",
                    "COMSATS Joint Centre for Industrial Biotechnology (CCIB)",
                ),
                attendance=None,
                lead_sentence=(
                    "Tianjin Institute of Industrial Biotechnology (TIB), in collaboration with"
                    " COMSATS and the Alliance of International Science Organization (ANSO),"
                    " successfully organized a two-day International Forum on Innovative"
                    " Development of Biomanufacturing on November 9-10, 2023."
                ),
            ),
        ),
        (
            "004",
            EventFacts(
                name="2025 International Forum on Innovation Cooperation in Molecular Medicine",
                kind="forum",
                start=date(2025, 11, 16),
                end=date(2025, 11, 17),
                city="Shenzhen",
                venue=None,  # a district is no venue (it was given as one before)
                organizers=(
                    "Shenzhen University of Advanced Technology (SUAT)",
                    "Russian Association of Molecular Medicine and Experimental Genetics Experts",
                ),
                attendance=150,
                district="Guangming District",
                lead_sentence=(
                    "More than 150 experts and scholars from China and Russia convened in"
                    " Shenzhen’s Guangming District from Nov. 16 to 17 for the 2025 International"
                    " Forum on Innovation Cooperation in Molecular Medicine, hosted by Shenzhen"
                    " University of Advanced Technology (SUAT) in partnership with the Russian"
                    " Association of Molecular Medicine and Experimental Genetics Experts."
                ),
            ),
        ),
    ],
)
def test_seed_facts_are_extracted_precisely(prefix: str, expected: EventFacts) -> None:
    assert _seed(prefix) == expected


@pytest.mark.parametrize(
    ("now", "upcoming"),
    [
        (_utc(2025, 11, 1), True),
        (_utc(2025, 11, 18), True),  # the end date is inclusive
        (_utc(2025, 11, 19), False),
        (_utc(2026, 1, 1), False),
    ],
)
def test_shenzhen_symposium_is_upcoming_until_its_day(now: datetime, upcoming: bool) -> None:
    facts = _seed("000")
    assert facts is not None
    assert facts.is_upcoming(now) is upcoming


def test_seed_without_headline_and_language_is_still_an_event() -> None:
    path = next(SEEDS.glob("001_*.txt"))
    facts = extract_event("", path.read_text(encoding="utf-8"), published=None)
    assert facts is not None
    assert facts.city == "Qingdao"


# ---------------------------------------------------------------------------------------------
# Hand-written articles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "published", "expected"),
    [
        (
            "en_symposium_singapore_announcement.txt",
            _utc(2025, 10, 15),
            EventFacts(
                name="2026 International Symposium on Quantum Materials",
                kind="symposium",
                start=date(2026, 2, 2),
                end=date(2026, 2, 5),
                city="Singapore",
                venue="Marina Bay Sands Expo and Convention Centre",
                organizers=(
                    "National University of Singapore (NUS)",
                    "Nanyang Technological University (NTU)",
                    "Centre for Quantum Technologies",
                ),
                attendance=500,
                # "the call for abstracts closes on Nov. 30": before the symposium, so 2025
                deadlines=(("abstract", date(2025, 11, 30)),),
                lead_sentence=(
                    "The 2026 International Symposium on Quantum Materials will take place from"
                    " 2 to 5 February 2026 at the Marina Bay Sands Expo and Convention Centre in"
                    " Singapore."
                ),
            ),
        ),
        (
            "en_workshop_kyoto_year_boundary.txt",
            _utc(2026, 1, 3),
            EventFacts(
                name="Winter Workshop on Computational Structural Biology",
                kind="workshop",
                start=date(2025, 12, 29),
                end=date(2026, 1, 2),
                city="Kyoto",
                venue="Kyoto University Clock Tower Centennial Hall",
                organizers=("Kyoto University", "RIKEN Center for Biosystems Dynamics Research"),
                attendance=120,
                lead_sentence=(
                    "The Winter Workshop on Computational Structural Biology was held Dec. 29 to"
                    " Jan. 2 at the Kyoto University Clock Tower Centennial Hall in Kyoto, Japan."
                ),
            ),
        ),
        (
            "en_summit_hangzhou_next_year.txt",
            _utc(2025, 12, 20),
            EventFacts(
                name="3rd AI for Science Summit",
                kind="summit",
                start=date(2026, 1, 5),
                end=date(2026, 1, 7),
                city="Hangzhou",
                venue=None,
                organizers=("Zhejiang University", "Zhejiang Lab"),
                attendance=2000,  # the 30 academicians are among them
                deadlines=(("registration", date(2025, 12, 31)),),  # not the summit's date
                lead_sentence=(
                    "The 3rd AI for Science Summit will be held Jan 5 to 7 in Hangzhou, east"
                    " China's Zhejiang province, the organizers said on Saturday."
                ),
            ),
        ),
        (
            "en_expo_beijing_report.txt",
            _utc(2025, 9, 25),
            EventFacts(
                name="26th China Beijing International High-Tech Expo",
                kind="expo",
                start=date(2025, 9, 25),
                end=date(2025, 9, 28),  # "runs until Sept. 28", from the next sentence
                city="Beijing",
                venue="China National Convention Center",
                organizers=(
                    "Ministry of Science and Technology",
                    "Ministry of Commerce",
                    "Beijing Municipal People's Government",
                ),
                attendance=100000,
                lead_sentence=(
                    "The 26th China Beijing International High-Tech Expo opened on Sept. 25 at"
                    " the China National Convention Center in Beijing."
                ),
            ),
        ),
        (
            "zh_forum_shenzhen_report.txt",
            _utc(2026, 12, 10),
            EventFacts(
                name="第五届粤港澳大湾区合成生物学论坛",
                kind="forum",
                start=date(2026, 12, 8),
                end=date(2026, 12, 9),
                city="Shenzhen",
                venue="深圳光明科学城会议中心",
                organizers=(
                    "中国科学院深圳先进技术研究院",
                    "深圳市光明区人民政府",
                    "深圳市合成生物学创新研究院",
                ),
                attendance=300,
                district="光明区",  # 光明科学城 lies in Shenzhen's Guangming District
                lead_sentence="2026年12月8日至9日，第五届粤港澳大湾区合成生物学论坛在深圳光明科学城会议中心举行。",
            ),
        ),
        (
            "zh_conference_wuhan_notice.txt",
            _utc(2026, 1, 15),
            EventFacts(
                name="2026年全国生物物理学术大会",
                kind="conference",
                start=date(2026, 5, 20),
                end=date(2026, 5, 23),
                city="Wuhan",
                venue="武汉光谷科技会展中心",
                organizers=("中国生物物理学会", "华中科技大学", "武汉大学"),
                attendance=1000,
                deadlines=(("registration", date(2026, 4, 30)),),  # "请于2026年4月30日前…报名"
                lead_sentence=(
                    "为促进生物物理学科发展，加强学术交流，经研究决定，"
                    "于2026年5月在武汉召开2026年全国生物物理学术大会。"
                ),
            ),
        ),
    ],
)
def test_hand_written_event_articles(
    fixture: str, published: datetime, expected: EventFacts
) -> None:
    title, body = _article(EVENTS / fixture)
    assert extract_event(title, body, published=published) == expected


@pytest.mark.parametrize(
    "fixture",
    [
        "en_research_presented_at_meeting.txt",
        "en_research_presented_at_conference.txt",
        "en_research_study.txt",
        "zh_research_news.txt",
        "corpus_space_nasa_budget.txt",  # "Congress", budgets: real page from the shared corpus
        "corpus_zh_hk_politics.txt",  # "答问大会" in Hong Kong politics: shared corpus
    ],
)
def test_articles_that_are_not_about_an_event_give_none(fixture: str) -> None:
    title, body = _article(EVENTS / fixture)
    assert extract_event(title, body, published=_utc(2025, 12, 20)) is None


def test_conference_in_passing_does_not_count_as_an_event_sentence() -> None:
    title, body = _article(EVENTS / "en_research_presented_at_conference.txt")
    evidence = assess_event(title, body, published=_utc(2025, 6, 1))
    assert not evidence.is_event
    assert not any(r.startswith(("event-verb", "lead-noun")) for r in evidence.reasons)
    assert any(r.startswith("research:") for r in evidence.reasons)


def test_assess_event_explains_its_score() -> None:
    title, body = _article(EVENTS / "en_workshop_kyoto_year_boundary.txt")
    evidence = assess_event(title, body, published=_utc(2026, 1, 3))
    assert evidence.is_event
    assert {"title-noun+3", "event-verb+3", "dated-event+2", "attendance+2"} <= set(
        evidence.reasons
    )


# ---------------------------------------------------------------------------------------------
# Single facts, on short made-up articles
# ---------------------------------------------------------------------------------------------

_LEAD = "The 2025 Widget Science Forum was held on Nov. 3 in Beijing. "


@pytest.mark.parametrize(
    ("sentence", "attendance"),
    [
        ("The forum brought together over 300 scholars.", 300),
        ("More than 150 participants attended the forum.", 150),
        ("The forum drew nearly 1,000 attendees from 20 countries.", 1000),
        ("Some 45 young researchers attended the forum.", 45),
        ("The forum gathered experts from 30 countries and regions.", None),
        ("More than 60 guests were invited to make speeches at the forum.", None),
        ("来自国内外的300余名专家学者参加了论坛。", 300),
        ("逾千人参加了本次论坛。", 1000),
        ("论坛吸引了近两千名观众。", 2000),
        ("论坛共有1200人参会。", 1200),
        ("论坛邀请数百名专家参会。", None),
    ],
)
def test_attendance_phrases(sentence: str, attendance: int | None) -> None:
    facts = extract_event("Widget forum", _LEAD + sentence, published=_utc(2025, 11, 5))
    assert facts is not None
    assert facts.attendance == attendance


@pytest.mark.parametrize(
    ("sentence", "organizers"),
    [
        (
            "The forum was co-hosted by Peking University and Tsinghua University.",
            ("Peking University", "Tsinghua University"),
        ),
        (
            "The forum was organized by the Chinese Academy of Sciences (CAS), the Ministry of "
            "Science and Technology and the Beijing Municipal Government.",
            (
                "Chinese Academy of Sciences (CAS)",
                "Ministry of Science and Technology",
                "Beijing Municipal Government",
            ),
        ),
        (
            "Hosted by Widget Research and Development Co., Ltd., the forum ran two days.",
            ("Widget Research and Development Co., Ltd.",),
        ),
        (
            "The event was hosted by EMBO in partnership with the Wellcome Trust.",
            ("EMBO", "Wellcome Trust"),
        ),
        (
            "本次论坛由北京大学和清华大学联合主办，中关村实验室承办。",
            ("北京大学", "清华大学", "中关村实验室"),
        ),
        ("主办单位：中国科学技术协会、北京市人民政府", ("中国科学技术协会", "北京市人民政府")),
    ],
)
def test_organizer_lists_are_split(sentence: str, organizers: tuple[str, ...]) -> None:
    facts = extract_event("Widget forum", _LEAD + sentence, published=_utc(2025, 11, 5))
    assert facts is not None
    assert facts.organizers == organizers


@pytest.mark.parametrize(
    ("lead", "city", "venue"),
    [
        (
            "The Widget Forum was held on Nov. 3 at the Grand Hyatt Hotel in Hong Kong.",
            "Hong Kong",
            "Grand Hyatt Hotel",
        ),
        ("The Widget Forum opened on Nov. 3 in São Paulo, Brazil.", "São Paulo", None),
        # A district is no venue: it is the district (see test_places.py).
        ("The Widget Forum opened on Nov. 3 in Shenzhen's Nanshan District.", "Shenzhen", None),
        (
            "The Widget Forum opened on Nov. 3 at the Zhangjiang Science Hall.",
            "Shanghai",
            "Zhangjiang Science Hall",
        ),
        ("11月3日，第二届小部件论坛在杭州国际博览中心开幕。", "Hangzhou", "杭州国际博览中心"),
        ("11月3日，第二届小部件论坛在北京召开。", "Beijing", None),
    ],
)
def test_city_and_venue_come_from_the_event_sentence(
    lead: str, city: str, venue: str | None
) -> None:
    body = lead + " Professor Li, a chemist at the University of Tokyo, spoke at the forum."
    facts = extract_event("Widget forum", body, published=_utc(2025, 11, 5))
    assert facts is not None
    assert (facts.city, facts.venue) == (city, venue)


def test_chinese_lead_sets_name_kind_and_dates() -> None:
    facts = extract_event(
        "第三届量子信息峰会在合肥举行",
        "12月29日至31日，第三届量子信息峰会在合肥举行。500余名代表出席会议。",
        published=_utc(2026, 1, 2),
    )
    assert facts is not None
    assert (facts.name, facts.kind, facts.city, facts.attendance) == (
        "第三届量子信息峰会",
        "summit",
        "Hefei",
        500,
    )
    assert (facts.start, facts.end) == (date(2025, 12, 29), date(2025, 12, 31))


def test_dates_without_a_year_stay_unknown_without_a_reference() -> None:
    facts = extract_event(
        "Widget forum", "The Widget Science Forum was held on Nov. 3 in Beijing.", published=None
    )
    assert facts is not None
    assert (facts.start, facts.end, facts.is_upcoming(_utc(2025, 1, 1))) == (None, None, None)


# ---------------------------------------------------------------------------------------------
# Storage round trip and bad input
# ---------------------------------------------------------------------------------------------


def test_to_dict_is_json_ready_and_loads_back() -> None:
    facts = _seed("004")
    assert facts is not None
    d = facts.to_dict(_utc(2026, 1, 1))
    assert json.loads(json.dumps(d)) == d
    assert d["start"] == "2025-11-16"
    assert d["end"] == "2025-11-17"
    assert d["upcoming"] is False
    assert d["organizers"] == list(facts.organizers)
    assert EventFacts.from_dict(json.loads(json.dumps(d))) == facts


def test_dicts_stored_before_the_new_fields_still_load() -> None:
    stored = {
        "name": "2025 International Forum on Molecular Medicine",
        "kind": "forum",
        "start": "2025-11-16",
        "end": "2025-11-17",
        "city": "Shenzhen",
        "venue": "Guangming District",
        "organizers": ["SUAT"],
        "attendance": 150,
        "upcoming": True,
    }
    facts = EventFacts.from_dict(stored)
    assert (facts.district, facts.precision, facts.deadlines, facts.lead_sentence) == (
        None,
        "day",
        (),
        None,
    )
    assert (facts.start, facts.venue) == (date(2025, 11, 16), "Guangming District")


def test_month_precision_deadlines_and_lead_round_trip() -> None:
    facts = EventFacts(
        name="Widget Science Forum",
        kind="forum",
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
        city="Shenzhen",
        venue=None,
        organizers=(),
        attendance=None,
        district="Guangming District",
        precision="month",
        deadlines=(("abstract", date(2026, 9, 1)), ("registration", date(2026, 10, 1))),
        lead_sentence="The Widget Science Forum will be held in November 2026 in Shenzhen.",
    )
    d = facts.to_dict(_utc(2026, 1, 1))
    assert d["precision"] == "month"
    assert d["deadlines"] == [
        {"kind": "abstract", "date": "2026-09-01"},
        {"kind": "registration", "date": "2026-10-01"},
    ]
    assert d["upcoming"] is True  # a month-precision forum is upcoming until its month ends
    assert EventFacts.from_dict(json.loads(json.dumps(d))) == facts


@pytest.mark.parametrize(
    ("body", "lead"),
    [
        (
            "Updated: 2025-11-21\nScientists love forums.\nMore than 150 experts convened in"
            " Shenzhen from Nov. 16 to 17 for the Widget Science Forum. The forum explored"
            " new pathways.",
            "More than 150 experts convened in Shenzhen from Nov. 16 to 17 for the Widget"
            " Science Forum.",
        ),
        (
            # The sentence naming, dating and placing the forum beats an earlier mention.
            "The forum season is here. The Widget Science Forum was held Nov. 3 at the Grand"
            " Hotel in Beijing.",
            "The Widget Science Forum was held Nov. 3 at the Grand Hotel in Beijing.",
        ),
        (
            "2025年11月3日，第二届小部件论坛在北京召开。300余名专家参加了论坛。",
            "2025年11月3日，第二届小部件论坛在北京召开。",
        ),
        # A headline copied into the body is not the lead; nothing else says what and when.
        ("Widget Science Forum Highlights Global Collaboration\nThe forum was great.", None),
    ],
)
def test_lead_sentence_says_what_when_and_where(body: str, lead: str | None) -> None:
    facts = extract_event("Widget forum", body, published=_utc(2025, 11, 21))
    assert facts is not None
    assert facts.lead_sentence == lead


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": ""},
        {"kind": "forum", "start": "yesterday"},
        {"kind": "forum", "start": 20251116},
        {"kind": "forum", "organizers": "ASM"},
        {"kind": "forum", "attendance": "300"},
        {"kind": "forum", "attendance": True},
        {"kind": "forum", "name": 3},
        {"kind": "forum", "precision": "week"},
        {"kind": "forum", "district": 3},
        {"kind": "forum", "deadlines": "2025-11-01"},
        {"kind": "forum", "deadlines": [{"kind": "registration"}]},
        {"kind": "forum", "deadlines": [{"kind": "registration", "date": "soon"}]},
        {"kind": "forum", "deadlines": [["registration", "2025-11-01"]]},
        {"kind": "forum", "lead_sentence": ["The forum opened."]},
    ],
)
def test_from_dict_rejects_malformed_data(bad: dict[str, object]) -> None:
    with pytest.raises(SummariesError):
        EventFacts.from_dict(bad)


def test_non_string_input_is_a_clear_error() -> None:
    with pytest.raises(SummariesError):
        extract_event("t", b"bytes", published=None)  # type: ignore[arg-type]  # on purpose
    with pytest.raises(SummariesError):
        resolve_dates(None, reference=date(2025, 1, 1))  # type: ignore[arg-type]  # on purpose


@pytest.mark.parametrize(
    "hostile",
    [
        "1 " * 100_000,
        "9" * 200_000,
        "Nov 1 - " * 25_000,
        "12月1日至" * 40_000,
        "The Forum on " + "A " * 100_000,
        "forum held by A and " * 10_000,
        "at the Forum of " * 12_500,
        "逾千人在论坛" * 33_000,
        "(" * 200_000,
        " " * 200_000,
    ],
)
def test_hostile_200kb_input_finishes_fast(hostile: str) -> None:
    # Load the lazy data (gazetteer, jieba and its tagger) first: the bound is for the input.
    extract_event("论坛", "第二届小部件论坛在西双版纳召开。会议在浦东新区举行。", published=None)
    started = time.perf_counter()
    extract_event("Forum", hostile, published=_utc(2025, 1, 1))
    resolve_dates(hostile, reference=date(2025, 1, 1))
    assert time.perf_counter() - started < 5.0


def test_a_2000_word_article_of_distinct_sentences_takes_milliseconds() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += [
        p.read_text(encoding="utf-8")
        for p in sorted(EVENTS.glob("en_*.txt"))
        if "research" not in p.name
    ]
    body = "\n".join(texts)
    assert len(body.split()) >= 2000
    extract_event("", "The Widget Forum was held in Beijing.", published=None)  # lazy data
    started = time.perf_counter()
    facts = extract_event("", body, published=_utc(2025, 11, 21))
    elapsed = time.perf_counter() - started
    assert facts is not None
    assert elapsed < 1.0  # typically ~10 ms; the bound leaves room for a loaded CI machine


def test_a_2000_word_article_takes_milliseconds() -> None:
    seed = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    body = "\n".join([seed] * 5)  # ~2,300 words, every paragraph about the forum
    assert len(body.split()) >= 2000
    started = time.perf_counter()
    facts = extract_event("", body, published=_utc(2025, 11, 21))
    elapsed = time.perf_counter() - started
    assert facts is not None
    assert elapsed < 1.0  # typically ~10 ms; the bound leaves room for a loaded CI machine
