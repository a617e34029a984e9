"""Routing and chat storage on both databases: an article's matches become one route, its
instant ones one delivery per chat when fanned out, digests collect pending matches at the
chat's hour, chat queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.routing import fan_out, next_batch, route_articles, route_pending, send_due_digests
from db import chats as chats_db
from db import routes as routes_db
from db.models import Article, ArticleSource, Chat, ChatRule, ChatTopic, Delivery, Feed, Route
from summaries.rules import RuleError, parse_rule

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


async def add_feed(sessions: Sessions, title: str = "Lab News") -> int:
    async with sessions() as s, s.begin():
        feed = Feed(url=f"https://example.org/{title}.xml", title=title, created_at=NOW)
        s.add(feed)
        await s.flush()
        assert feed.id is not None
        return feed.id


async def add_article(
    sessions: Sessions,
    title: str,
    *,
    feeds: Sequence[int],
    topics: Sequence[str] = (),
    text: str = "Plain body text.",
    announce: bool = True,
    published: datetime = NOW,
    event: dict[str, Any] | None = None,
) -> int:
    async with sessions() as s, s.begin():
        article = Article(
            url=f"https://example.org/{abs(hash(title))}",
            title=title,
            published=published,
            first_seen=published,
            text=text,
            content_hash=str(abs(hash(title))),
            announce=announce,
            summary=[f"{title} is summarised here.", "A second sentence.", "A third one."],
            topics=list(topics),
            is_event=event is not None,
            event=event,
            event_start=date.fromisoformat(event["start"]) if event else None,
            event_end=date.fromisoformat(event["end"]) if event and event.get("end") else None,
        )
        s.add(article)
        await s.flush()
        assert article.id is not None
        for i, feed_id in enumerate(feeds):
            s.add(
                ArticleSource(
                    article_id=article.id, feed_id=feed_id, guid=f"{article.id}-{i}", seen_at=NOW
                )
            )
        return article.id


async def add_chat(
    sessions: Sessions,
    chat_id: int,
    *,
    topics: Sequence[str] = (),
    rules: Sequence[str] = (),
    **settings: Any,
) -> None:
    async with sessions() as s, s.begin():
        await chats_db.get_or_create_chat(
            s, chat_id, chat_type="private", title=None, now=NOW - timedelta(days=1)
        )
        if settings:
            await chats_db.update_settings(s, chat_id, **settings)
        for slug in topics:
            await chats_db.add_topic(s, chat_id, slug)
        for rule in rules:
            await chats_db.add_rule(s, chat_id, str(parse_rule(rule)), now=NOW)


async def rows(sessions: Sessions, model: Any) -> list[Any]:
    async with sessions() as s:
        return list((await s.exec(select(model))).all())


async def matches(sessions: Sessions) -> set[tuple[int, int, bool]]:
    """The (chat, article, digest?) matches the routes hold."""
    async with sessions() as s:
        return await routes_db.matched_pairs(s)


async def route_and_fan_out(sessions: Sessions, articles: Sequence[int], *, now: datetime) -> int:
    """Route, then write every instant delivery (the outbox does it at sending pace)."""
    routed = await route_articles(sessions, articles, now=now)
    await fan_out(sessions, now=now, limit=10_000)
    return routed


async def test_an_article_matching_two_topics_and_a_rule_reaches_a_chat_once(
    sessions: Sessions,
) -> None:
    feeds = [await add_feed(sessions, "A"), await add_feed(sessions, "B")]
    await add_chat(sessions, 10, topics=["genomics", "precision-medicine"], rules=["crispr"])
    article = await add_article(
        sessions,
        "CRISPR therapy <cures> a disease",
        feeds=feeds,
        topics=["genomics", "precision-medicine"],
    )

    assert await route_articles(sessions, [article, article], now=NOW) == 1
    assert await route_articles(sessions, [article], now=NOW) == 0  # idempotent
    assert await rows(sessions, Delivery) == []  # written when the outbox wants them
    assert await fan_out(sessions, now=NOW) == 1
    assert await fan_out(sessions, now=NOW) == 0  # each slot fanned out once

    assert await matches(sessions) == {(10, article, False)}
    assert len(await rows(sessions, Route)) == 1
    deliveries = await rows(sessions, Delivery)
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert (delivery.chat_id, delivery.kind, delivery.article_id) == (10, "article", article)
    assert delivery.status == "pending"
    assert delivery.next_attempt_at == NOW
    assert "CRISPR therapy &lt;cures&gt; a disease" in delivery.text
    assert "\nA · 2 Mar 2026\n" in delivery.text  # the first feed is the source


async def test_only_matching_active_unpaused_chats_get_an_article(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    await add_chat(sessions, 2, topics=["genomics"])
    await add_chat(sessions, 3, topics=["space"], paused=True)
    await add_chat(sessions, 4, rules=["telescope"])
    await add_chat(sessions, 5)  # no subscription at all
    async with sessions() as s, s.begin():
        chat = await s.get(Chat, 2)
        assert chat is not None
        chat.active = False
    article = await add_article(
        sessions, "A new telescope sees far", feeds=[feed], topics=["space"]
    )

    assert await route_and_fan_out(sessions, [article], now=NOW) == 2

    assert sorted(d.chat_id for d in await rows(sessions, Delivery)) == [1, 4]


async def test_a_new_feeds_backlog_is_never_announced(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    backlog = await add_article(
        sessions, "Old telescope news", feeds=[feed], topics=["space"], announce=False
    )

    assert await route_articles(sessions, [backlog], now=NOW) == 0
    assert await matches(sessions) == set()


async def test_instant_delivery_uses_the_chats_thread_and_summary_length(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, -1001, topics=["space"], summary_sentences=1)
    async with sessions() as s, s.begin():
        await chats_db.get_or_create_chat(
            s, -1001, chat_type="supergroup", title="Forum", now=NOW, thread_id=77
        )
    article = await add_article(sessions, "Moon landing", feeds=[feed], topics=["space"])

    await route_and_fan_out(sessions, [article], now=NOW)

    (delivery,) = await rows(sessions, Delivery)
    assert delivery.thread_id == 77
    assert "is summarised here." in delivery.text
    assert "A second sentence." not in delivery.text


async def test_forums_only_chats_get_event_articles_only(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["energy"], forums_only=True)
    news = await add_article(sessions, "Fusion news", feeds=[feed], topics=["energy"])
    forum = await add_article(
        sessions,
        "Fusion Energy Week 2026",
        feeds=[feed],
        topics=["energy"],
        event={"name": "Fusion Energy Week", "kind": "conference", "start": "2026-04-01"},
    )

    assert await route_and_fan_out(sessions, [news, forum], now=NOW) == 1
    assert [d.article_id for d in await rows(sessions, Delivery)] == [forum]


async def test_a_digest_chat_collects_matches_and_gets_one_digest_at_its_hour(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(
        sessions,
        7,
        topics=["space"],
        mode="daily",
        digest_hour=8,
        timezone="Asia/Shanghai",
        last_digest_at=NOW - timedelta(hours=2),  # 16:00 Shanghai: today's slot is done
    )
    first = await add_article(sessions, "Mars rover", feeds=[feed], topics=["space"])
    second = await add_article(
        sessions, "Jupiter moon", feeds=[feed], topics=["space"], published=NOW + timedelta(hours=1)
    )

    assert await route_and_fan_out(sessions, [first, second], now=NOW) == 2
    assert await rows(sessions, Delivery) == []
    assert await matches(sessions) == {(7, first, True), (7, second, True)}

    # 07:59 in Shanghai the next day: not yet.
    before = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    assert await send_due_digests(sessions, now=before) == 0
    at_hour = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert await send_due_digests(sessions, now=at_hour) == 1
    assert await send_due_digests(sessions, now=at_hour + timedelta(minutes=5)) == 0

    (digest,) = await rows(sessions, Delivery)
    assert digest.kind == "digest"
    assert digest.disable_preview is True
    assert digest.chat_id == 7
    assert "Mars rover" in digest.text
    assert "Jupiter moon" in digest.text
    async with sessions() as s:
        chat = await s.get(Chat, 7)
        assert chat is not None
        assert chat.last_digest_at == at_hour


async def test_a_due_slot_with_nothing_pending_is_consumed(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 7, topics=["space"], mode="daily", digest_hour=8)
    at_hour = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert await send_due_digests(sessions, now=at_hour) == 0
    article = await add_article(sessions, "Saturn rings", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=at_hour + timedelta(minutes=30))

    # Matched after today's slot: it waits for tomorrow's digest.
    assert await send_due_digests(sessions, now=at_hour + timedelta(hours=1)) == 0
    assert await send_due_digests(sessions, now=at_hour + timedelta(days=1)) == 1


async def test_matches_left_pending_by_a_switch_to_instant_go_out_once(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 7, topics=["space"], mode="weekly", last_digest_at=NOW)
    article = await add_article(sessions, "Comet flyby", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=NOW)
    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 7, mode="instant")

    assert await send_due_digests(sessions, now=NOW) == 1
    assert await send_due_digests(sessions, now=NOW) == 0
    (delivery,) = await rows(sessions, Delivery)
    assert "catch-up" in delivery.text


async def test_a_paused_chat_keeps_its_pending_matches(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 7, topics=["space"], mode="daily", last_digest_at=NOW)
    article = await add_article(sessions, "Comet flyby", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=NOW)
    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 7, paused=True)

    assert await send_due_digests(sessions, now=NOW + timedelta(days=1)) == 0
    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 7, paused=False)
    assert await send_due_digests(sessions, now=NOW + timedelta(days=2)) == 1


async def test_delete_chat_removes_everything_of_the_chat(sessions: Sessions) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"], rules=["moon"])
    await add_chat(sessions, 2, topics=["space"])
    article = await add_article(sessions, "Moon base", feeds=[feed], topics=["space"])
    await route_and_fan_out(sessions, [article], now=NOW)

    async with sessions() as s, s.begin():
        assert await chats_db.delete_chat(s, 1) is True
        assert await chats_db.delete_chat(s, 1) is False

    for model in (ChatTopic, ChatRule, Delivery):
        assert {r.chat_id for r in await rows(sessions, model)} <= {2}, model
    assert await matches(sessions) == {(2, article, False)}
    assert [c.id for c in await rows(sessions, Chat)] == [2]


async def test_rules_are_stored_canonical_and_once(sessions: Sessions) -> None:
    # Storage stores what it is given: the canonical form, which parse_rule makes.
    await add_chat(sessions, 1)
    spaced, plain = (
        str(parse_rule(q)) for q in ('  "Gene  Editing"   -Plants ', '"gene editing" -plants')
    )
    async with sessions() as s, s.begin():
        first, created = await chats_db.add_rule(s, 1, spaced, now=NOW)
        again, created_again = await chats_db.add_rule(s, 1, plain, now=NOW)
    with pytest.raises(RuleError):
        parse_rule("-only -exclusions")
    assert (first.query, created, created_again) == ('"gene editing" -plants', True, False)
    assert again.id == first.id
    async with sessions() as s, s.begin():
        canonical = str(parse_rule('"GENE EDITING" -plants'))
        assert await chats_db.remove_rule_by_query(s, 1, canonical) is True
        assert await chats_db.chat_rules(s, 1) == []


async def test_toggle_topic_flips_and_ignores_unknown_slugs(sessions: Sessions) -> None:
    await add_chat(sessions, 1)
    async with sessions() as s, s.begin():
        assert await chats_db.toggle_topic(s, 1, "space") is True
        assert await chats_db.toggle_topic(s, 1, "ai") is True
        assert await chats_db.toggle_topic(s, 1, "space") is False
        assert await chats_db.toggle_topic(s, 1, "no-such-topic") is False
        assert await chats_db.chat_topics(s, 1) == ["ai"]


async def test_subscriptions_lists_active_unpaused_chats_with_topics_and_rules(
    sessions: Sessions,
) -> None:
    await add_chat(sessions, 1, topics=["space", "ai"], rules=["moon", "mars -rover"])
    await add_chat(sessions, 2, topics=["ai"], paused=True)
    await add_chat(sessions, 3)
    async with sessions() as s:
        found = await chats_db.subscriptions(s)
    assert [(f.chat.id, f.topics, f.rules) for f in found] == [
        (1, frozenset({"space", "ai"}), ("moon", "mars -rover"))
    ]


# One database for the whole table: each case is a query, not a fresh schema.
SEARCHES: list[tuple[list[str], list[str], list[str]]] = [
    (["fusion"], [], ["Fusion record", "100% fusion_power"]),
    (["FUSION", "record"], [], ["Fusion record"]),
    (["fusion"], ["record"], ["100% fusion_power"]),
    (["100%"], [], ["100% fusion_power"]),
    (["0%"], [], ["100% fusion_power"]),
    (["%"], [], ["100% fusion_power"]),
    (["n_p"], [], ["100% fusion_power"]),
    (["_"], [], ["100% fusion_power"]),
    (["\\"], [], []),
    (["quasar"], [], []),
    ([], [], []),
]


async def test_search_is_case_insensitive_and_takes_wildcards_literally(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_article(sessions, "Fusion record", feeds=[feed], published=NOW)
    await add_article(
        sessions, "100% fusion_power", feeds=[feed], published=NOW - timedelta(hours=1)
    )
    await add_article(sessions, "Galaxy survey", feeds=[feed], published=NOW)
    async with sessions() as s:
        for include, exclude, expected in SEARCHES:
            found = await chats_db.search_articles(s, include, exclude)
            assert [a.title for a in found] == expected, (include, exclude)


async def test_upcoming_events_skip_ended_ones_and_come_soonest_first(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)

    def event(start: str, end: str | None = None) -> dict[str, Any]:
        return {"name": start, "kind": "conference", "start": start, "end": end}

    await add_article(sessions, "Later", feeds=[feed], event=event("2026-05-01"))
    await add_article(sessions, "Ended", feeds=[feed], event=event("2026-02-01", "2026-02-03"))
    await add_article(sessions, "On now", feeds=[feed], event=event("2026-02-28", "2026-03-03"))
    await add_article(sessions, "Today", feeds=[feed], event=event("2026-03-02"))
    await add_article(sessions, "Not an event", feeds=[feed])
    async with sessions() as s:
        found = await chats_db.upcoming_events(s, today=date(2026, 3, 2))
    assert [a.title for a in found] == ["On now", "Today", "Later"]


async def test_a_returning_chat_is_active_again(sessions: Sessions) -> None:
    await add_chat(sessions, 1)
    async with sessions() as s, s.begin():
        chat = await s.get(Chat, 1)
        assert chat is not None
        chat.active, chat.deactivated_reason = False, "blocked"
    async with sessions() as s, s.begin():
        chat, created = await chats_db.get_or_create_chat(
            s, 1, chat_type="private", title="Ann", now=NOW
        )
        assert (created, chat.active, chat.deactivated_reason, chat.mode) == (
            False,
            True,
            None,
            "instant",
        )
    async with sessions() as s:
        ids = (await s.exec(select(Chat.id).where(col(Chat.active).is_(True)))).all()
    assert list(ids) == [1]


async def test_digests_of_more_chats_than_one_read_all_arrive(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import routing

    monkeypatch.setattr(routing, "DIGEST_SCAN", 2)  # due chats are read 2 at a time
    monkeypatch.setattr(routing, "CARD_CACHE", 0)  # and no card is kept between batches
    feed = await add_feed(sessions)
    for chat_id in (1, 2, 3, 4, 5):
        await add_chat(sessions, chat_id, topics=["space"], mode="daily", digest_hour=8)
    article = await add_article(sessions, "Mars rover", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=NOW)

    assert await send_due_digests(sessions, now=NOW + timedelta(days=1)) == 5
    assert sorted(d.chat_id for d in await rows(sessions, Delivery)) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("articles", "matches", "expected"),
    [
        (1, 0, 200),  # nothing matched: the most there may be
        (1, 100, 200),  # 200 articles make 20,000 matches
        (1, 10_000, 2),
        (2, 19_000, 2),
        (1, 50_000, 1),  # never fewer than one
        (200, 100, 200),  # never more than the most
    ],
)
def test_a_routing_transaction_takes_as_many_articles_as_make_the_rows_wanted(
    articles: int, matches: int, expected: int
) -> None:
    assert next_batch(articles, matches, most=200, rows=20_000) == expected


async def test_pending_articles_are_all_routed_in_transactions_bounded_by_matches(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    for chat in range(1, 4):
        await add_chat(sessions, chat, topics=["genomics"])
    articles = [
        await add_article(sessions, f"Genome study {n}", feeds=[feed], topics=["genomics"])
        for n in range(7)
    ]

    # 3 matches an article, about 6 a transaction: two articles at a time after the first.
    assert await route_pending(sessions, now=NOW, rows=6) == 21
    assert await route_pending(sessions, now=NOW, rows=6) == 0
    assert sorted({article for _, article, _ in await matches(sessions)}) == articles
    assert all(a.routed_at is not None for a in await rows(sessions, Article))


async def test_fan_out_writes_instant_deliveries_in_bounded_pieces_with_each_chats_settings_now(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    for chat_id in range(1, 6):
        await add_chat(sessions, chat_id, topics=["space"])
    article = await add_article(sessions, "Moon rocks", feeds=[feed], topics=["space"])
    assert await route_articles(sessions, [article], now=NOW) == 5
    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 2, summary_sentences=1)  # changed since routing
        chat = await s.get(Chat, 3)
        assert chat is not None
        chat.active = False  # blocked the bot since

    assert await fan_out(sessions, now=NOW, limit=2) == 2
    assert await fan_out(sessions, now=NOW, limit=2) == 1  # chat 3 is skipped
    assert await fan_out(sessions, now=NOW, limit=2) == 1
    assert await fan_out(sessions, now=NOW, limit=2) == 0

    deliveries = {d.chat_id: d for d in await rows(sessions, Delivery)}
    assert sorted(deliveries) == [1, 2, 4, 5]
    assert "A second sentence." in deliveries[1].text
    assert "A second sentence." not in deliveries[2].text
    (route,) = await rows(sessions, Route)
    assert (route.fanned, route.instant_count) == (5, 5)


async def test_a_fan_out_that_fails_writes_nothing_and_the_next_one_writes_each_row_once(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import routing

    feed = await add_feed(sessions)
    for chat_id in (1, 2, 3):
        await add_chat(sessions, chat_id, topics=["space"])
    article = await add_article(sessions, "Moon rocks", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=NOW)

    async def crash(*_: object) -> None:
        raise RuntimeError("the process died while writing the rows")

    with monkeypatch.context() as patched:
        patched.setattr(routing, "insert_prepared", crash)
        with pytest.raises(RuntimeError):
            await fan_out(sessions, now=NOW)
    assert await rows(sessions, Delivery) == []
    assert [r.fanned for r in await rows(sessions, Route)] == [0]

    assert await fan_out(sessions, now=NOW) == 3
    assert await fan_out(sessions, now=NOW) == 0
    assert sorted(d.chat_id for d in await rows(sessions, Delivery)) == [1, 2, 3]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_slot_taken_again_after_its_chat_was_deleted_gets_none_of_its_old_matches(
    sessions: Sessions,
) -> None:
    feed = await add_feed(sessions)
    await add_chat(sessions, 1, topics=["space"])
    await add_chat(sessions, 2, topics=["space"], mode="daily", digest_hour=8)
    article = await add_article(sessions, "Moon rocks", feeds=[feed], topics=["space"])
    await route_articles(sessions, [article], now=NOW)
    async with sessions() as s, s.begin():
        old_slot = (await s.exec(select(Chat.slot).where(Chat.id == 2))).one()
        assert await chats_db.delete_chat(s, 2)
        # A chat created after the route, on SQLite given the highest slot + 1: the same.
        await chats_db.get_or_create_chat(
            s, 3, chat_type="private", title=None, now=NOW + timedelta(minutes=1)
        )
        await chats_db.update_settings(s, 3, mode="daily", digest_hour=8)
        await chats_db.add_topic(s, 3, "space")
    async with sessions() as s:
        assert (await s.exec(select(Chat.slot).where(Chat.id == 3))).one() == old_slot

    assert await matches(sessions) == {(1, article, False)}
    assert await send_due_digests(sessions, now=NOW + timedelta(days=1)) == 0
    assert await fan_out(sessions, now=NOW) == 1


async def test_a_digest_holds_the_newest_articles_and_a_failed_one_stays_pending(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import routing

    monkeypatch.setattr(routing, "MAX_DIGEST_ARTICLES", 2)
    monkeypatch.setattr(routing, "ROUTE_PAGE", 2)  # the routes are read 2 at a time
    feed = await add_feed(sessions)
    for chat_id in (1, 2):
        await add_chat(sessions, chat_id, topics=["space"], mode="daily", digest_hour=8)
    articles = [
        await add_article(
            sessions,
            f"Moon rocks {n}",
            feeds=[feed],
            topics=["space"],
            published=NOW + timedelta(minutes=n),
        )
        for n in range(5)
    ]
    for article in articles:  # one route each
        await route_articles(sessions, [article], now=NOW)
    async with sessions() as s, s.begin():
        await chats_db.update_settings(s, 2, timezone="Asia/Shanghai", digest_hour=16)
    real_zone = routing.zone

    def zone(name: str) -> Any:
        if name == "Asia/Shanghai":
            raise ValueError("bad data")
        return real_zone(name)

    monkeypatch.setattr(routing, "zone", zone)
    assert await send_due_digests(sessions, now=NOW + timedelta(days=1)) == 1
    (digest,) = await rows(sessions, Delivery)
    assert digest.chat_id == 1
    assert "Moon rocks 4" in digest.text
    assert "Moon rocks 3" in digest.text
    assert "Moon rocks 2" not in digest.text

    monkeypatch.setattr(routing, "zone", real_zone)
    assert await send_due_digests(sessions, now=NOW + timedelta(days=2)) == 1
    assert sorted(d.chat_id for d in await rows(sessions, Delivery)) == [1, 2]
