"""Deadlines: registration, abstract, paper, application and early-bird dates are facts of their
own, and never the forum's dates."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from summaries.events import extract_event

_LEAD = "The Widget Science Forum will be held Dec. 5 to 7, 2025 in Beijing. "
_PUBLISHED = datetime(2025, 9, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sentence", "deadlines"),
    [
        ("Registration closes on Nov. 15.", (("registration", date(2025, 11, 15)),)),
        ("Register by November 20, 2025.", (("registration", date(2025, 11, 20)),)),
        ("The registration deadline is Nov. 1.", (("registration", date(2025, 11, 1)),)),
        ("Early-bird registration ends Oct. 10.", (("early-bird", date(2025, 10, 10)),)),
        ("The call for abstracts closes on Sept. 30.", (("abstract", date(2025, 9, 30)),)),
        (
            "Abstract submission deadline: 2025-09-15.",
            (("abstract", date(2025, 9, 15)),),
        ),
        ("Full papers are due Oct. 1.", (("paper", date(2025, 10, 1)),)),
        ("Applications for travel grants close Sept. 20.", (("application", date(2025, 9, 20)),)),
        ("Deadline: Oct. 31.", (("deadline", date(2025, 10, 31)),)),
        (
            "Abstracts are due Sept. 15; early-bird registration ends Oct. 1.",
            (("abstract", date(2025, 9, 15)), ("early-bird", date(2025, 10, 1))),
        ),
        ("报名截止日期：2025年11月10日", (("registration", date(2025, 11, 10)),)),
        ("请于11月10日前通过大会网站在线报名。", (("registration", date(2025, 11, 10)),)),
        ("投稿截止时间为2025年10月15日。", (("paper", date(2025, 10, 15)),)),
        ("摘要提交截止：10月1日", (("abstract", date(2025, 10, 1)),)),
        ("早鸟注册截至10月8日。", (("early-bird", date(2025, 10, 8)),)),
        # Not deadlines: a date the forum runs until, a registration that merely opened.
        ("The exhibition runs until Dec. 7.", ()),
        ("Registration opened on Aug. 20.", ()),
    ],
)
def test_deadline_phrases(sentence: str, deadlines: tuple[tuple[str, date], ...]) -> None:
    facts = extract_event("Widget forum", _LEAD + sentence, published=_PUBLISHED)
    assert facts is not None
    assert facts.deadlines == deadlines


@pytest.mark.parametrize(
    "body",
    [
        # The deadline comes first in the text; the forum's date still wins.
        "Registration for the Widget Science Forum closes on Nov. 15. The forum will be held"
        " Dec. 5 to 7 in Beijing.",
        "小部件论坛报名截止日期为11月15日。论坛将于12月5日至7日在北京举行。",
    ],
)
def test_a_deadline_is_never_the_forums_date(body: str) -> None:
    facts = extract_event("Widget forum", body, published=_PUBLISHED)
    assert facts is not None
    assert (facts.start, facts.end) == (date(2025, 12, 5), date(2025, 12, 7))
    assert [d for _, d in facts.deadlines] == [date(2025, 11, 15)]


def test_a_year_less_deadline_falls_before_the_forum() -> None:
    # Published in December for a February forum: the Nov. 30 deadline is the past one.
    facts = extract_event(
        "Widget forum",
        "The Widget Science Forum will be held Feb. 2 to 5, 2026 in Singapore. Abstracts are"
        " due Nov. 30.",
        published=datetime(2025, 12, 10, tzinfo=UTC),
    )
    assert facts is not None
    assert facts.deadlines == (("abstract", date(2025, 11, 30)),)


@pytest.mark.parametrize(
    "hostile",
    [
        "The forum: registration closes on Nov 30; " * 5_000,
        "报名截止11月30日前" * 20_000,
        "deadline " * 25_000,
    ],
)
def test_hostile_deadline_input_finishes_fast(hostile: str) -> None:
    started = time.perf_counter()
    extract_event("Forum", hostile, published=_PUBLISHED)
    assert time.perf_counter() - started < 5.0
