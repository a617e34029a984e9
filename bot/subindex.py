"""The subscription index: every subscribed chat's topics and keyword rules, inverted, so
that the chats an article is for are found from the article's topics and words.

Pure data and pure functions over plain rows (no I/O): ``build_index`` makes the index from
the rows ``db.chats.subscription_rows`` loads, ``update_index`` replaces some chats' entries
with their freshly loaded rows, ``matching_slots`` answers "who gets this article" as a
Roaring bitmap (pyroaring) of chat slots (``chats.slot``: small dense numbers, so the sets of
100,000 chats are a few KB and their unions and differences run in C), and
``matching_chats`` the same as chats. The candidates come from two inverted maps, topic →
slots and rule anchor → slots (the last word of each wanted term,
``summaries.rules.KeywordRule.anchors``); a chat found by topic is matched unless it wants
forums only, one found by a rule when one of its rules matches: the decision of
``bot.matching.matches`` for every chat (the tests compare them), at a cost that grows with
the candidates, not with the chats.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from pyroaring import BitMap

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
    slot: int = 0  # the chat's bit in routes (chats.slot)


@dataclass(frozen=True, slots=True)
class Entry:
    target: Target
    subscription: Subscription


@dataclass(slots=True)
class SubscriptionIndex:
    """Subscribed chats by id, their slots, and the inverted maps of slots that find them
    (no empty sets kept, so two indexes of the same subscriptions are equal)."""

    chats: dict[int, Entry] = field(default_factory=dict)
    by_slot: dict[int, int] = field(default_factory=dict)  # slot -> chat id
    by_topic: dict[str, BitMap] = field(default_factory=dict)
    by_anchor: dict[str, BitMap] = field(default_factory=dict)
    forums_only: BitMap = field(default_factory=BitMap)
    digest: BitMap = field(default_factory=BitMap)  # chats in a digest mode
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
    found = _topic_slots(index, topics) | _rule_slots(index, text_indexes(title, text))
    return {index.by_slot[slot] for slot in found}


def matching_chats(
    index: SubscriptionIndex, *, title: str, text: str, topics: Sequence[str], is_event: bool
) -> list[Target]:
    """The chats this article is for, by chat id: exactly those ``bot.matching.matches``
    accepts."""
    slots = matching_slots(index, title=title, text=text, topics=topics, is_event=is_event)
    chats = index.chats
    return [chats[chat_id].target for chat_id in sorted(index.by_slot[s] for s in slots)]


def matching_slots(
    index: SubscriptionIndex, *, title: str, text: str, topics: Sequence[str], is_event: bool
) -> BitMap:
    """The slots of the chats this article is for (``matching_chats``).

    A chat found by topic has a topic of the article, so it is for it unless it wants
    forums only: bitmap operations, no call per chat (most matches come this way). Chats
    found by a rule's anchor have their rules tested, on the article's text indexed once.
    """
    sure = _topic_slots(index, topics)
    if not is_event:
        sure -= index.forums_only
    # The others have no topic of the article (or want forums only and it is none): they
    # are for the article when it is a forum or they take any, and one of their rules
    # matches, as ``matches`` decides; the text is indexed once for all of their rules.
    indexes = text_indexes(title, text)
    maybe = _rule_slots(index, indexes) - sure
    if not is_event:
        maybe -= index.forums_only
    chats, by_slot = index.chats, index.by_slot
    # Chats share their rules (one parsed rule per query): each is tested once.
    verdicts: dict[int, bool] = {}

    def meets(rule: KeywordRule) -> bool:
        verdict = verdicts.get(id(rule))
        if verdict is None:
            verdict = verdicts[id(rule)] = rule.matches_indexes(indexes)
        return verdict

    sure |= BitMap(
        slot for slot in maybe if any(map(meets, chats[by_slot[slot]].subscription.rules))
    )
    return sure


def _topic_slots(index: SubscriptionIndex, topics: Sequence[str]) -> BitMap:
    found = [index.by_topic[t] for t in topics if t in index.by_topic]
    return BitMap.union(*found) if found else BitMap()


def _rule_slots(index: SubscriptionIndex, indexes: Sequence[FamilyIndex]) -> BitMap:
    if not index.by_anchor:
        return BitMap()
    anchors = text_anchors(indexes)
    # Walk the smaller side: a long text has thousands of words, a small index few anchors.
    if len(anchors) <= len(index.by_anchor):
        found = [index.by_anchor[a] for a in anchors if a in index.by_anchor]
    else:
        found = [slots for anchor, slots in index.by_anchor.items() if anchor in anchors]
    return BitMap.union(*found) if found else BitMap()


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
            chat.slot,
        )
        slot = chat.slot
        index.chats[chat_id] = Entry(target, sub)
        index.by_slot[slot] = chat_id
        if sub.forums_only:
            index.forums_only.add(slot)
        if target.digest:
            index.digest.add(slot)
        for slug in sub.topics:
            index.by_topic.setdefault(slug, BitMap()).add(slot)
        for anchor in _anchors(sub):
            index.by_anchor.setdefault(anchor, BitMap()).add(slot)


def _remove(index: SubscriptionIndex, chat_id: int) -> None:
    entry = index.chats.pop(chat_id, None)
    if entry is None:
        return
    slot = entry.target.slot
    index.by_slot.pop(slot, None)
    index.forums_only.discard(slot)
    index.digest.discard(slot)
    for key, inverted in [(t, index.by_topic) for t in entry.subscription.topics] + [
        (a, index.by_anchor) for a in _anchors(entry.subscription)
    ]:
        slots = inverted.get(key)
        if slots is not None:
            slots.discard(slot)
            if not slots:
                del inverted[key]


def _anchors(sub: Subscription) -> set[str]:
    return {anchor for rule in sub.rules for anchor in rule.anchors()}
