"""Subscription matching: topics, keyword rules, forums only, empty subscriptions."""

from __future__ import annotations

import pytest

from bot.matching import Subscription, matches
from summaries.rules import parse_rule

CRISPR_TITLE = "CRISPR screen finds a new immune switch"
FUSION_TITLE = "Tokamak sets a fusion record"


def sub(
    topics: tuple[str, ...] = (), rules: tuple[str, ...] = (), *, forums_only: bool = False
) -> Subscription:
    return Subscription(
        chat_id=1,
        topics=frozenset(topics),
        rules=tuple(parse_rule(r) for r in rules),
        forums_only=forums_only,
    )


@pytest.mark.parametrize(
    ("subscription", "title", "topics", "is_event", "expected"),
    [
        pytest.param(sub(("genomics",)), CRISPR_TITLE, ["genomics"], False, True, id="topic"),
        pytest.param(
            sub(("space", "genomics")),
            CRISPR_TITLE,
            ["ai", "genomics"],
            False,
            True,
            id="any-topic",
        ),
        pytest.param(sub(("space",)), CRISPR_TITLE, ["genomics"], False, False, id="other-topic"),
        pytest.param(sub(rules=("crispr",)), CRISPR_TITLE, [], False, True, id="rule-title"),
        pytest.param(sub(rules=("fusion",)), CRISPR_TITLE, [], False, False, id="rule-misses"),
        pytest.param(
            sub(("space",), ("crispr",)),
            CRISPR_TITLE,
            ["genomics"],
            False,
            True,
            id="rule-or-topic",
        ),
        pytest.param(
            sub(rules=("crispr -immune",)), CRISPR_TITLE, [], False, False, id="rule-exclusion"
        ),
        pytest.param(sub(), CRISPR_TITLE, ["genomics"], False, False, id="empty-matches-nothing"),
        pytest.param(
            sub(("energy",), forums_only=True),
            FUSION_TITLE,
            ["energy"],
            False,
            False,
            id="forums-only-drops-news",
        ),
        pytest.param(
            sub(("energy",), forums_only=True),
            FUSION_TITLE,
            ["energy"],
            True,
            True,
            id="forums-only-keeps-events",
        ),
        pytest.param(
            sub(rules=("tokamak",), forums_only=True),
            FUSION_TITLE,
            [],
            True,
            True,
            id="forums-only-with-rule",
        ),
        pytest.param(sub(), FUSION_TITLE, ["energy"], True, False, id="empty-even-for-events"),
    ],
)
def test_matches(
    subscription: Subscription, title: str, topics: list[str], is_event: bool, expected: bool
) -> None:
    assert (
        matches(subscription, title=title, text="Body text.", topics=topics, is_event=is_event)
        is expected
    )


def test_rule_matches_body_text_not_only_title() -> None:
    found = matches(
        sub(rules=('"gene editing"',)),
        title="A new tool for plants",
        text="Researchers improved gene-editing efficiency in wheat.",
        topics=[],
        is_event=False,
    )
    assert found


def test_topic_match_does_not_need_the_text() -> None:
    assert matches(sub(("climate",)), title="", text="", topics=["climate"], is_event=False)
