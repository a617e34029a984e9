"""The subscription index: every subscribed chat's topics and keyword rules, inverted, so
that the chats an article is for are found from the article's topics and words.

Pure data and pure functions over plain rows (no I/O): ``build_index`` makes the index from
the rows ``db.chats.subscription_rows`` loads, ``update_index`` replaces some chats' entries
with their freshly loaded rows, ``matching_chats`` answers "who gets this article". The
candidates come from two inverted maps, topic → chats and rule anchor → chats (the last
word of each wanted term, ``summaries.rules.KeywordRule.anchors``); a chat found by topic
is matched unless it wants forums only, one found by a rule when one of its rules matches:
the decision of ``bot.matching.matches`` for every chat (the tests compare them), at a
cost that grows with the candidates, not with the chats.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from bot.digests import DIGEST_MODES
from bot.matching import Subscription, stored_subscription
from db.chats import SubscriptionRows
from summaries.rules import KeywordRule, text_anchors, text_indexes
from summaries.terms import FamilyIndex


@dataclass(frozen=True, slots=True)
class Target:
    """What routing needs of a chat to write its match and delivery."""

    chat_id: int
    digest: bool
    sentences: int
    timezone: str
    thread_id: int | None
    language: str | None = None  # the chat's interface language (None: English)


@dataclass(frozen=True, slots=True)
class Entry:
    target: Target
    subscription: Subscription


@dataclass(slots=True)
class SubscriptionIndex:
    """Subscribed chats by id, and the inverted maps that find them (no empty sets kept,
    so two indexes of the same subscriptions are equal)."""

    chats: dict[int, Entry] = field(default_factory=dict)
    by_topic: dict[str, set[int]] = field(default_factory=dict)
    by_anchor: dict[str, set[int]] = field(default_factory=dict)
    forums_only: set[int] = field(default_factory=set)
    # One frozenset per distinct choice of topics: 100,000 chats make a few thousand.
    shared_topics: dict[frozenset[str], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )


def build_index(rows: SubscriptionRows) -> SubscriptionIndex:
    """The index of every subscribed chat in ``rows``."""
    index = SubscriptionIndex()
    _add(index, rows)
    return index


def update_index(
    index: SubscriptionIndex, chat_ids: Collection[int], rows: SubscriptionRows
) -> None:
    """Replace the entries of ``chat_ids`` with what ``rows`` (those chats' rows, loaded
    after their change) say: a chat missing from ``rows.chats`` is no longer subscribed."""
    for chat_id in chat_ids:
        _remove(index, chat_id)
    wanted = set(chat_ids)
    _add(
        index,
        SubscriptionRows(
            [c for c in rows.chats if c.chat_id in wanted],
            [t for t in rows.topics if t[0] in wanted],
            [r for r in rows.rules if r[0] in wanted],
        ),
    )


def candidate_chats(
    index: SubscriptionIndex, *, title: str, text: str, topics: Sequence[str]
) -> set[int]:
    """The chats an article may be for: those with one of its topics, and those with a rule
    whose anchor is among its words. A superset; ``matching_chats`` decides."""
    return _topic_chats(index, topics) | _rule_chats(index, text_indexes(title, text))


def matching_chats(
    index: SubscriptionIndex, *, title: str, text: str, topics: Sequence[str], is_event: bool
) -> list[Target]:
    """The chats this article is for, by chat id: exactly those ``bot.matching.matches``
    accepts.

    A chat found by topic has a topic of the article, so it is for it unless it wants
    forums only: set operations, no call per chat (most matches come this way). Chats found
    by a rule's anchor have their rules tested, on the article's text indexed once.
    """
    sure = _topic_chats(index, topics)
    if not is_event:
        sure = sure - index.forums_only
    # The others have no topic of the article (or want forums only and it is none): they
    # are for the article when it is a forum or they take any, and one of their rules
    # matches, as ``matches`` decides; the text is indexed once for all of their rules.
    indexes = text_indexes(title, text)
    maybe = _rule_chats(index, indexes) - sure
    if not is_event:
        maybe -= index.forums_only
    chats = index.chats
    # Chats share their rules (one parsed rule per query): each is tested once.
    verdicts: dict[int, bool] = {}

    def meets(rule: KeywordRule) -> bool:
        verdict = verdicts.get(id(rule))
        if verdict is None:
            verdict = verdicts[id(rule)] = rule.matches_indexes(indexes)
        return verdict

    chosen = sure | {
        chat_id for chat_id in maybe if any(map(meets, chats[chat_id].subscription.rules))
    }
    return [chats[chat_id].target for chat_id in sorted(chosen)]


def _topic_chats(index: SubscriptionIndex, topics: Sequence[str]) -> set[int]:
    found: set[int] = set()
    for topic in topics:
        found |= index.by_topic.get(topic, set())
    return found


def _rule_chats(index: SubscriptionIndex, indexes: Sequence[FamilyIndex]) -> set[int]:
    found: set[int] = set()
    if not index.by_anchor:
        return found
    anchors = text_anchors(indexes)
    # Walk the smaller side: a long text has thousands of words, a small index few anchors.
    if len(anchors) <= len(index.by_anchor):
        for anchor in anchors:
            found |= index.by_anchor.get(anchor, set())
    else:
        for anchor, chats in index.by_anchor.items():
            if anchor in anchors:
                found |= chats
    return found


def _add(index: SubscriptionIndex, rows: SubscriptionRows) -> None:
    settings = {c.chat_id: c for c in rows.chats}
    topics: dict[int, set[str]] = {}
    for chat_id, slug in rows.topics:
        if chat_id in settings:
            topics.setdefault(chat_id, set()).add(slug)
    rules: dict[int, list[str]] = {}
    for chat_id, query in rows.rules:
        if chat_id in settings:
            rules.setdefault(chat_id, []).append(query)
    for chat_id in topics.keys() | rules.keys():
        chat = settings[chat_id]
        chosen = frozenset(topics.get(chat_id, ()))
        chosen = index.shared_topics.setdefault(chosen, chosen)
        sub = stored_subscription(chat_id, chosen, rules.get(chat_id, ()), chat.forums_only)
        target = Target(
            chat_id,
            chat.mode in DIGEST_MODES,
            chat.sentences,
            chat.timezone,
            chat.thread_id,
            chat.language,
        )
        index.chats[chat_id] = Entry(target, sub)
        if sub.forums_only:
            index.forums_only.add(chat_id)
        for slug in sub.topics:
            index.by_topic.setdefault(slug, set()).add(chat_id)
        for anchor in _anchors(sub):
            index.by_anchor.setdefault(anchor, set()).add(chat_id)


def _remove(index: SubscriptionIndex, chat_id: int) -> None:
    entry = index.chats.pop(chat_id, None)
    if entry is None:
        return
    index.forums_only.discard(chat_id)
    for key, inverted in [(t, index.by_topic) for t in entry.subscription.topics] + [
        (a, index.by_anchor) for a in _anchors(entry.subscription)
    ]:
        chats = inverted.get(key)
        if chats is not None:
            chats.discard(chat_id)
            if not chats:
                del inverted[key]


def _anchors(sub: Subscription) -> set[str]:
    return {anchor for rule in sub.rules for anchor in rule.anchors()}
