"""The subscription index: it finds exactly the chats that checking every chat finds, an
index kept current change by change equals one built afresh, and a change made through the
database or a command is seen by the next routing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.matching import matches, stored_subscription
from bot.routing import route_articles
from bot.subindex import build_index, candidate_chats, matching_chats, update_index
from db import chats as chats_db
from db import outbox
from db import routes as routes_db
from db.chats import ChatRow, SubscriptionRows
from summaries.rules import parse_rule
from tests.test_routing import add_article, add_chat, add_feed

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

SLUGS = ("genomics", "space", "ai", "microbiology")
QUERIES = tuple(
    str(parse_rule(q))
    for q in (
        "crispr",
        '"gene editing"',
        "microbe -virus",
        "量子计算",
        "robot",
        "vaccine -plants",
        '"gut microbes" fusion',
        "organ",
        '"gene editing" -"gene drive"',
        "量子 -计算机",
    )
)
ARTICLES = (
    ("CRISPR gene-edited crops", "Plants were gene edited in the field.", ["genomics"], False),
    ("Microbiome study", "The gut microbiome and viruses of mice.", ["microbiology"], False),
    ("量子计算机 news", "计算量子态 与 量子计算机。", [], False),
    ("Robotics advances", "A robotic arm learns to fold.", ["ai"], True),
    ("Vaccination of plants", "A vaccine for plants, the organization says.", [], True),
    ("Organic farming", "Organisms in the soil.", ["space"], False),
    ("Fusion record", "A tokamak held its plasma.", ["space", "ai"], True),
    ("Gene drives", "Gene editing made a gene drive in mosquitoes.", [], False),
)


def brute_force(model: World, title: str, text: str, topics: list[str], event: bool) -> set[int]:
    """The chats checking every chat one by one finds (what routing did before the index)."""
    found = set()
    for chat_id, chat in model.chats.items():
        if not chat.active or chat.paused or not (chat.topics or chat.rules):
            continue
        sub = stored_subscription(chat_id, frozenset(chat.topics), chat.rules, chat.forums_only)
        if matches(sub, title=title, text=text, topics=topics, is_event=event):
            found.add(chat_id)
    return found


# ------------------------------------------------------------------------------ pure


@dataclass
class ModelChat:
    topics: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)
    mode: str = "instant"
    forums_only: bool = False
    paused: bool = False
    active: bool = True


@dataclass
class World:
    """What the database would hold: the chats and their subscriptions."""

    chats: dict[int, ModelChat] = field(default_factory=dict)

    def rows(self, chat_ids: Sequence[int] | None = None) -> SubscriptionRows:
        ids = sorted(self.chats) if chat_ids is None else [i for i in chat_ids if i in self.chats]
        chats = [
            ChatRow(i, c.mode, 2, "UTC", None, c.forums_only, slot=i)
            for i in ids
            if (c := self.chats[i]).active and not c.paused
        ]
        topics = [(i, s) for i in ids for s in sorted(self.chats[i].topics)]
        rules = [(i, q) for i in ids for q in self.chats[i].rules]
        return SubscriptionRows(chats, topics, rules)


CHAT_IDS = st.integers(min_value=1, max_value=6)
RULE_LISTS = st.lists(st.sampled_from(QUERIES))
CHANGES = st.one_of(
    st.tuples(st.just("topic"), CHAT_IDS, st.sampled_from(SLUGS)),
    st.tuples(st.just("rule"), CHAT_IDS, st.sampled_from(QUERIES)),
    st.tuples(st.just("mode"), CHAT_IDS, st.sampled_from(("instant", "daily", "weekly"))),
    st.tuples(st.just("forums_only"), CHAT_IDS, st.booleans()),
    st.tuples(st.just("paused"), CHAT_IDS, st.booleans()),
    st.tuples(st.just("active"), CHAT_IDS, st.booleans()),
    st.tuples(st.just("stop"), CHAT_IDS, st.none()),
)


def apply(world: World, change: tuple[str, int, object]) -> None:
    kind, chat_id, value = change
    if kind == "stop":
        world.chats.pop(chat_id, None)
        return
    chat = world.chats.setdefault(chat_id, ModelChat())
    if kind == "topic":
        chat.topics ^= {str(value)}  # a toggle, as the picker does
    elif kind == "rule":
        if value in chat.rules:
            chat.rules.remove(str(value))
        else:
            chat.rules.append(str(value))
    else:
        setattr(chat, kind, value)


@settings(max_examples=150, deadline=None)
@given(st.lists(CHANGES, max_size=40))
def test_an_index_kept_current_change_by_change_equals_one_built_afresh(
    changes: list[tuple[str, int, object]],
) -> None:
    world = World()
    index = build_index(world.rows())
    for change in changes:
        apply(world, change)
        update_index(index, [change[1]], world.rows([change[1]]))

    assert index == build_index(world.rows())
    for title, text, topics, event in ARTICLES:
        found = matching_chats(index, title=title, text=text, topics=topics, is_event=event)
        assert [t.chat_id for t in found] == sorted(brute_force(world, title, text, topics, event))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(CHAT_IDS, st.sets(st.sampled_from(SLUGS)), st.lists(st.sampled_from(QUERIES)))
    )
)
def test_the_index_finds_exactly_the_chats_that_checking_every_chat_finds(
    chats: list[tuple[int, set[str], list[str]]],
) -> None:
    world = World({i: ModelChat(topics, list(dict.fromkeys(rules))) for i, topics, rules in chats})
    index = build_index(world.rows())
    for title, text, topics, event in ARTICLES:
        found = matching_chats(index, title=title, text=text, topics=topics, is_event=event)
        assert {t.chat_id for t in found} == brute_force(world, title, text, topics, event)


@pytest.mark.parametrize(
    ("rule", "title", "candidate"),
    [
        pytest.param("microbe", "Microbiology today", True, id="family-through-root"),
        pytest.param('"gut microbes"', "The gut microbiome", True, id="phrase-by-last-word"),
        pytest.param("量子计算", "量子计算机", True, id="cjk-by-last-character"),
        pytest.param("crispr -plants", "Fusion record", False, id="no-word-of-the-rule"),
        pytest.param("crispr -plants", "Plants only", False, id="exclusions-find-nothing"),
    ],
)
def test_a_rule_is_a_candidate_only_when_a_wanted_words_base_or_root_is_in_the_text(
    rule: str, title: str, candidate: bool
) -> None:
    world = World({1: ModelChat(rules=[str(parse_rule(rule))])})
    index = build_index(world.rows())

    assert (1 in candidate_chats(index, title=title, text="", topics=[])) is candidate


def test_paused_inactive_and_empty_chats_are_not_in_the_index() -> None:
    world = World(
        {
            1: ModelChat({"space"}, paused=True),
            2: ModelChat({"space"}, active=False),
            3: ModelChat(),
            4: ModelChat({"space"}),
        }
    )

    assert set(build_index(world.rows()).chats) == {4}


# ------------------------------------------------------------------------------ database


async def matched(sessions: Sessions, article_id: int) -> set[int]:
    async with sessions() as s:
        return {chat for chat, _, _ in await routes_db.matched_pairs(s, [article_id])}


async def test_every_kind_of_subscription_change_is_seen_by_the_next_routing(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    await add_chat(sessions, 2, rules=["crispr"])
    await add_chat(sessions, 3, topics=["space"])
    await add_chat(sessions, 4, topics=["space"])

    async def route(title: str) -> set[int]:
        article = await add_article(sessions, title, feeds=[feed], topics=["space"])
        await route_articles(sessions, [article], now=NOW)
        return await matched(sessions, article)

    assert await route("CRISPR in orbit 1") == {1, 2, 3, 4}  # builds the index

    async with sessions() as s, s.begin():
        await chats_db.remove_topic(s, 1, "space")
        await chats_db.add_topic(s, 1, "genomics")
        await chats_db.remove_rule_by_query(s, 2, "crispr")
        await chats_db.update_settings(s, 3, paused=True)
        await chats_db.delete_chat(s, 4)
    await add_chat(sessions, 5, rules=["orbit"])
    assert await route("CRISPR in orbit 2") == {5}

    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 3, paused=False, forums_only=True)
        await chats_db.clear_subscriptions(s, 5)
        await chats_db.add_topic(s, 1, "space")
    assert await route("CRISPR in orbit 3") == {1}


async def test_a_blocked_chat_and_a_migrated_group_are_seen_by_the_next_routing(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    await add_chat(sessions, -2, topics=["space"])
    first = await add_article(sessions, "One", feeds=[feed], topics=["space"])
    await route_articles(sessions, [first], now=NOW)  # builds the index

    async with sessions() as s, s.begin():
        await outbox.mark_blocked_chat(s, 1, reason="Forbidden: bot was blocked by the user")
        await outbox.migrate_chat(s, -2, -1002)
    second = await add_article(sessions, "Two", feeds=[feed], topics=["space"])
    await route_articles(sessions, [second], now=NOW)

    assert await matched(sessions, second) == {-1002}


async def test_a_change_a_transaction_rolled_back_leaves_routing_as_it_was(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    first = await add_article(sessions, "One", feeds=[feed], topics=["space"])
    await route_articles(sessions, [first], now=NOW)

    async def unsubscribe_then_fail() -> None:
        async with sessions() as s, s.begin():
            await chats_db.remove_topic(s, 1, "space")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await unsubscribe_then_fail()
    second = await add_article(sessions, "Two", feeds=[feed], topics=["space"])
    await route_articles(sessions, [second], now=NOW)

    assert await matched(sessions, second) == {1}
