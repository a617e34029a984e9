"""Subscription matching: which chats an article is for, as a pure decision over plain data.

A chat subscribes with topics (slugs from ``summaries.topics.TOPICS``) and keyword rules;
an article matches when it carries any chosen topic or any rule matches its title or text;
``match_reasons`` says which of them did (the "because" line under a card).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from summaries.rules import KeywordRule, RuleError, parse_rule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one chat asked for."""

    chat_id: int
    topics: frozenset[str]
    rules: tuple[KeywordRule, ...]
    forums_only: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.topics and not self.rules


def matches(
    sub: Subscription, *, title: str, text: str, topics: Sequence[str], is_event: bool
) -> bool:
    """Whether an article is for this subscription.

    A chat with no topics and no rules matches nothing (it has not asked for anything yet);
    ``forums_only`` keeps only event articles. Topics are checked first: they are a set
    lookup, while rules scan the text.
    """
    if sub.is_empty or (sub.forums_only and not is_event):
        return False
    if not sub.topics.isdisjoint(topics):
        return True
    return any(rule.matches(title, text) for rule in sub.rules)


@dataclass(frozen=True, slots=True)
class MatchReasons:
    """Why an article is for a chat: the chat's topics it carries (in the article's order,
    best first) and the chat's rules that meet it (canonical queries)."""

    topics: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.topics or self.rules)


def match_reasons(
    sub: Subscription, *, title: str, text: str, topics: Sequence[str]
) -> MatchReasons:
    """Every topic and rule of ``sub`` that the article meets (``forums_only`` aside: it
    filters, it is no reason)."""
    chosen = tuple(t for t in dict.fromkeys(topics) if t in sub.topics)
    rules = tuple(str(rule) for rule in sub.rules if rule.matches(title, text))
    return MatchReasons(chosen, rules)


def stored_subscription(
    chat_id: int, topics: frozenset[str], rules: Sequence[str], forums_only: bool
) -> Subscription:
    """A Subscription from stored data (rules as canonical queries); a stored rule that no
    longer parses is skipped."""
    parsed = tuple(r for r in (_rule(q) for q in rules) if r is not None)
    return Subscription(chat_id, topics, parsed, forums_only)


# Sized for the subscription index: 100,000 chats hold some 50,000 rules, many alike, and
# chats with the same query share one parsed rule.
@lru_cache(maxsize=65_536)
def _rule(query: str) -> KeywordRule | None:
    try:
        return parse_rule(query)
    except RuleError:
        log.warning("stored rule no longer parses: %r", query)
        return None
