"""The subscription index: every subscribed chat's topics and keyword rules, inverted, so
that the chats an article is for are found from the article's topics and words.

Pure data and pure functions over plain rows (no I/O): ``build_index`` makes the index from
the rows ``db.chats.subscription_rows`` loads, ``update_index`` replaces some chats' entries
with their freshly loaded rows, ``matching_slots`` answers "who gets this article" as a
Roaring bitmap (pyroaring) of chat slots (``chats.slot``: small dense numbers, so the sets of
100,000 chats are a few KB and their unions and differences run in C), and
``matching_chats`` the same as chats. The chats come from inverted maps: topic → slots,
and rule term → slots, the terms held by their words (``summaries.rules.TermTable``), so
those an article holds are found by walking its words once; a chat found by topic is
matched unless it wants forums only, one found by a rule when one of its rules matches: the
decision of ``bot.matching.matches`` for every chat (the tests compare them), at a cost
that grows with the article and the chats found, not with the chats or their rules.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from pyroaring import BitMap

from bot.digests import DIGEST_MODES
from bot.matching import Subscription, stored_subscription
from db.chats import SubscriptionRows
from summaries.rules import TermTable, text_anchors, text_indexes


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
    # The wanted terms of rules with no exclusions (such a rule matches when one of its
    # terms occurs) → slots, and those terms by their words (each its own owner).
    by_term: dict[str, BitMap] = field(default_factory=dict)
    terms: TermTable = field(default_factory=lambda: TermTable(family=True))
    # Rules with exclusions (canonical query → slots), and their wanted and excluded
    # terms by their words (owned by the rules' queries).
    by_rule: dict[str, BitMap] = field(default_factory=dict)
    rule_wanted: TermTable = field(default_factory=lambda: TermTable(family=True))
    rule_unwanted: TermTable = field(default_factory=lambda: TermTable(family=False))
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
    anchors = text_anchors(text_indexes(title, text))
    terms = index.terms.owners_ending_in(anchors)
    rules = index.rule_wanted.owners_ending_in(anchors)
    found = [index.by_term[t] for t in terms] + [index.by_rule[r] for r in rules]
    found.append(_topic_slots(index, topics))
    return {index.by_slot[slot] for slot in BitMap.union(*found)}


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
    found by a rule have it matched, as ``matches`` decides, on the article's text indexed
    once: the terms found in it are looked up by its words (``TermTable``), so the cost
    grows with the text and the chats found, not with the number of rules.
    """
    sure = _topic_slots(index, topics)
    # By rule, unless they want forums only and it is none. A rule with no exclusions
    # matches when one of its terms occurs: each term found takes its chats at once. A
    # rule with exclusions, when a wanted term occurs and no excluded one does.
    indexes = text_indexes(title, text)
    by_rule = [index.by_term[t] for t in index.terms.found(indexes)]
    rules = index.rule_wanted.found(indexes)
    if rules:
        rules -= index.rule_unwanted.found(indexes)
        by_rule += [index.by_rule[r] for r in rules]
    sure |= BitMap.union(*by_rule) if by_rule else BitMap()
    if not is_event:
        sure -= index.forums_only
    return sure


def _topic_slots(index: SubscriptionIndex, topics: Sequence[str]) -> BitMap:
    found = [index.by_topic[t] for t in topics if t in index.by_topic]
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
        for rule in sub.rules:
            if rule.exclude_terms:
                key = str(rule)
                slots = index.by_rule.get(key)
                if slots is None:
                    slots = index.by_rule[key] = BitMap()
                    for term in rule.include_terms:
                        index.rule_wanted.add(term, key)
                    for term in rule.exclude_terms:
                        index.rule_unwanted.add(term, key)
                slots.add(slot)
                continue
            for term in rule.include_terms:
                slots = index.by_term.get(term)
                if slots is None:
                    if not index.terms.add(term, term):  # no word: never found
                        continue
                    slots = index.by_term[term] = BitMap()
                slots.add(slot)


def _remove(index: SubscriptionIndex, chat_id: int) -> None:
    entry = index.chats.pop(chat_id, None)
    if entry is None:
        return
    slot = entry.target.slot
    index.by_slot.pop(slot, None)
    index.forums_only.discard(slot)
    index.digest.discard(slot)
    for slug in entry.subscription.topics:
        _discard(index.by_topic, slug, slot)
    for rule in entry.subscription.rules:
        if rule.exclude_terms:
            key = str(rule)
            if _discard(index.by_rule, key, slot):
                for term in rule.include_terms:
                    index.rule_wanted.remove(term, key)
                for term in rule.exclude_terms:
                    index.rule_unwanted.remove(term, key)
            continue
        for term in rule.include_terms:
            if _discard(index.by_term, term, slot):
                index.terms.remove(term, term)


def _discard(inverted: dict[str, BitMap], key: str, slot: int) -> bool:
    """Take the slot out of ``inverted[key]``; True if that left it empty (and gone)."""
    slots = inverted.get(key)
    if slots is None:
        return False
    slots.discard(slot)
    if slots:
        return False
    del inverted[key]
    return True
