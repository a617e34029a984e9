"""Places: city, district and venue kept apart; cities from the gazetteer, smaller and
common-word ones only in a place context; Chinese places, also those only jieba knows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from summaries.events import extract_event

_PUBLISHED = datetime(2025, 11, 5, 12, tzinfo=UTC)


def _place(lead: str, rest: str = "") -> tuple[str | None, str | None, str | None]:
    facts = extract_event("Widget forum", f"{lead} {rest}".strip(), published=_PUBLISHED)
    assert facts is not None
    return facts.city, facts.district, facts.venue


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        # A district is the district, not the venue.
        (
            "The Widget Forum opened on Nov. 3 in Shenzhen's Guangming District.",
            ("Shenzhen", "Guangming District", None),
        ),
        (
            "The Widget Forum opened on Nov. 3 in Guangming.",
            ("Shenzhen", "Guangming District", None),
        ),
        (
            "The Widget Forum opened on Nov. 3 in Pudong, Shanghai.",
            ("Shanghai", "Pudong New Area", None),
        ),
        (
            "The Widget Forum opened on Nov. 3 at the Grand Hotel in Pudong New Area.",
            ("Shanghai", "Pudong New Area", "Grand Hotel"),
        ),
        (
            "The Widget Forum was held on Nov. 3 at Guangming Life Science Park.",
            ("Shenzhen", "Guangming District", "Guangming Life Science Park"),
        ),
        (
            "The Widget Forum opened on Nov. 3 in Chengdu's Wuhou District.",
            ("Chengdu", "Wuhou District", None),
        ),
        # A science area places its city and district; a venue in it stays the venue.
        (
            "The Widget Forum opened on Nov. 3 at the Zhangjiang Science Hall.",
            ("Shanghai", "Pudong New Area", "Zhangjiang Science Hall"),
        ),
        # Named areas that are no city's districts stay out.
        (
            "The Widget Forum opened on Nov. 3 in London's Financial District.",
            ("London", None, None),
        ),
        # A district in the page footer is not where the forum met.
        (
            "The Widget Forum opened on Nov. 3 in Beijing.",
            ("Beijing", None, None),
        ),
    ],
)
def test_city_district_and_venue_are_kept_apart(
    lead: str, expected: tuple[str | None, str | None, str | None]
) -> None:
    footer = "\nContact Us\n52 Sanlihe Rd., Xicheng District, Beijing, China (100864)"
    assert _place(lead, footer) == expected


@pytest.mark.parametrize(
    ("lead", "city"),
    [
        ("The Widget Forum will take place in Davos, Switzerland, on Jan. 20.", "Davos"),
        ("The Widget Forum took place in Lindau on June 30.", "Lindau"),
        ("The Widget Forum was held in Trieste, Italy, on June 30.", "Trieste"),
        ("The Widget Forum kicked off in Kigali on June 30.", "Kigali"),
        ("The Widget Forum opened on Nov. 3 at Cold Spring Harbor.", "Cold Spring Harbor"),
        ("The Widget Forum opened on Nov. 3 in Sao Paulo.", "São Paulo"),
        ("The Widget Forum opened on Nov. 3 in Zurich.", "Zürich"),
        ("The Widget Forum opened on Nov. 3 in Xi'an.", "Xi'an"),
        ("The Widget Forum opened on Nov. 3 in Xi’an.", "Xi'an"),
        ("The Widget Forum opened on Nov. 3 in Washington, D.C.", "Washington"),
        ("The Widget Forum opened on Nov. 3 in New York.", "New York City"),
        ("The Widget Forum opened on Nov. 3 in Peking.", "Beijing"),
        # The wire dateline places the report.
        ("SHENZHEN, Nov. 3 (Xinhua) -- The Widget Forum opened on Monday.", "Shenzhen"),
    ],
)
def test_cities_the_old_hand_list_missed_or_spelled_otherwise(lead: str, city: str) -> None:
    assert _place(lead)[0] == city


@pytest.mark.parametrize(
    ("lead", "city"),
    [
        # Common words and first names that are also cities: only in a place context.
        ("The Widget Forum opened on Nov. 3. Reading the programme, experts met.", None),
        ("The Widget Forum opened on Nov. 3 with Nice weather and a Split session.", None),
        ("The Widget Forum opened on Nov. 3. Mobile phones were banned at the forum.", None),
        ("The Widget Forum opened on Nov. 3. Bath salts were on the forum's agenda.", None),
        ("The Widget Forum opened on Nov. 3. Victoria Lee and Jackson Wang spoke.", None),
        ("The Widget Forum opened on Nov. 3 in Reading, UK.", "Reading"),
        ("The Widget Forum opened on Nov. 3 in Nice, France.", "Nice"),
        ("The Widget Forum opened on Nov. 3 in Split.", "Split"),
        ("The Widget Forum opened on Nov. 3 in Mobile, Alabama.", "Mobile"),
        # A smaller city named in passing is more likely a person or an institution.
        ("The Widget Forum opened on Nov. 3. Dr. Hamilton of Cambridge University spoke.", None),
        # "York" inside "New York" is no second city.
        (
            "The Widget Forum opened on Nov. 3 in New York. York University sent a team.",
            "New York City",
        ),
    ],
)
def test_common_word_cities_need_a_place_context(lead: str, city: str | None) -> None:
    assert _place(lead)[0] == city


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ("11月3日，第二届小部件论坛在深圳市光明区举行。", ("Shenzhen", "光明区", None)),
        ("11月3日，第二届小部件论坛在北京市海淀区召开。", ("Beijing", "海淀区", None)),
        ("11月3日，第二届小部件论坛在成都市武侯区召开。", ("Chengdu", "武侯区", None)),
        (
            "11月3日，第二届小部件论坛在上海浦东新区张江科学会堂开幕。",
            ("Shanghai", "浦东新区", "上海浦东新区张江科学会堂"),
        ),
        (
            "11月3日，第二届小部件论坛在杭州国际博览中心开幕。",
            ("Hangzhou", None, "杭州国际博览中心"),
        ),
        ("11月3日，第二届小部件论坛在粤港澳大湾区召开。", (None, None, None)),
        # Towns the gazetteer keeps by hand, and places only jieba's tags know.
        ("11月3日，第二届小部件论坛在乌镇召开。", ("Wuzhen", None, None)),
        ("11月3日，第二届小部件论坛在西双版纳召开。", ("西双版纳", None, None)),
        ("11月3日，第二届小部件论坛在莫干山举行。", ("莫干山", None, None)),
        # A city inside an organization's name counts for little.
        ("11月3日，第二届小部件论坛在北京大学召开。", ("Beijing", None, "北京大学")),
    ],
)
def test_chinese_places(lead: str, expected: tuple[str | None, str | None, str | None]) -> None:
    assert _place(lead) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "The forum opened in Reading, UK. " * 6_000,
        "Guangming District " * 10_000,
        "深圳市光明区论坛" * 25_000,
        "在" * 200_000,
        "New " * 50_000,
        "Washington, " * 16_000,
    ],
)
def test_hostile_place_input_finishes_fast(hostile: str) -> None:
    extract_event("论坛", "第二届小部件论坛在西双版纳召开。会议在浦东新区举行。", published=None)
    started = time.perf_counter()
    extract_event("Forum", hostile, published=_PUBLISHED)
    assert time.perf_counter() - started < 5.0
