"""Subscription matching: which chats an article is for, as a pure decision over plain data.

A chat subscribes with topics (slugs from ``summaries.topics.TOPICS``) and keyword rules;
an article matches when it carries any chosen topic or any rule matches its title or text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from summaries.rules import KeywordRule


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
