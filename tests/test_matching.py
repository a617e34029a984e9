"""Subscription matching: topics, keyword rules, forums only, empty subscriptions."""

from __future__ import annotations

import pytest

from bot.matching import MatchReasons, Subscription, match_reasons, matches, stored_subscription
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


@pytest.mark.parametrize(
    ("subscription", "title", "topics", "reasons"),
    [
        pytest.param(
            sub(("genomics", "ai")),
            CRISPR_TITLE,
            ["ai", "space", "genomics"],
            MatchReasons(("ai", "genomics")),
            id="the chat's topics, in the article's order",
        ),
        pytest.param(
            sub(("space",), rules=("crispr", "fusion", '"immune switch"')),
            CRISPR_TITLE,
            ["genomics"],
            MatchReasons((), ("crispr", '"immune switch"')),
            id="the rules that meet it, as stored",
        ),
        pytest.param(
            sub(("genomics",), rules=("crispr",), forums_only=True),
            CRISPR_TITLE,
            ["genomics", "genomics"],
            MatchReasons(("genomics",), ("crispr",)),
            id="both; forums only is a filter, not a reason",
        ),
        pytest.param(
            sub(("space",), rules=("fusion",)),
            CRISPR_TITLE,
            ["genomics"],
            MatchReasons(),
            id="none: a search result, not a match",
        ),
    ],
)
def test_match_reasons_name_every_topic_and_rule_an_article_met(
    subscription: Subscription, title: str, topics: list[str], reasons: MatchReasons
) -> None:
    found = match_reasons(subscription, title=title, text="", topics=topics)
    assert found == reasons
    assert bool(found) is bool(reasons.topics or reasons.rules)


def test_a_stored_subscription_skips_rules_that_no_longer_parse() -> None:
    stored = stored_subscription(1, frozenset({"ai"}), ["crispr", "-only-excluded"], False)
    assert [str(r) for r in stored.rules] == ["crispr"]
    assert stored.topics == frozenset({"ai"})
