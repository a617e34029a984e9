"""Storage of chats' own feeds (db.chatfeeds) and routing by them on SQLite and
PostgreSQL, and the pure owner decision routing makes (bot.feedowners)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.feedowners import OwnedArticles, owned_articles
from bot.routing import fan_out, route_articles
from db import chatfeeds, queries, routes
from db.chatfeeds import ArticleOwner
from db.chats import add_topic, delete_chat, update_settings
from db.models import Article, ArticleSource, Chat, ChatFeed, Delivery, Feed
from db.outbox import migrate_chat

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ALICE, BOB = 101, 202


async def _chats(session: Any, *ids: int) -> None:
    session.add_all(Chat(id=i, type="private", created_at=NOW) for i in ids)
    await session.flush()


async def _feed_ids(session: Any) -> set[int]:
    return set((await session.exec(select(Feed.id))).all())


async def test_a_feed_is_stored_once_and_linked_to_each_chat_that_follows_it(sessions) -> None:
    async with sessions() as s, s.begin():
        await _chats(s, ALICE, BOB)
        feed = await chatfeeds.add_private_feed(s, "https://a.org/rss", title="A", now=NOW)
        assert await chatfeeds.known_feed(s, "https://a.org/rss") == feed
        assert await chatfeeds.link_feed(s, ALICE, feed.id, topics=["ai"], now=NOW)
        assert await chatfeeds.link_feed(s, BOB, feed.id, topics=[], now=NOW)
        # Again: nothing changes, the first filter stays.
        assert not await chatfeeds.link_feed(s, ALICE, feed.id, topics=[], now=NOW)
    async with sessions() as s:
        (own,) = await chatfeeds.own_feeds(s, ALICE)
        assert (own.feed_id, own.url, own.title, own.topics) == (feed.id, feed.url, "A", ("ai",))
        assert (own.enabled, own.last_checked) == (True, None)
        assert await chatfeeds.own_feed_count(s, BOB) == 1
        assert await chatfeeds.followed_feed_ids(s, BOB) == {feed.id}
        stored = await s.get(Feed, feed.id)
        assert stored is not None
        assert stored.catalogue is False


async def test_a_private_feed_goes_with_its_last_follower_a_catalogue_feed_stays(
    sessions,
) -> None:
    async with sessions() as s, s.begin():
        await _chats(s, ALICE, BOB)
        private = await chatfeeds.add_private_feed(s, "https://p.org/rss", title=None, now=NOW)
        catalogue = await queries.add_feed(s, "https://c.org/rss", now=NOW)
        assert catalogue.id is not None
        for chat in (ALICE, BOB):
            await chatfeeds.link_feed(s, chat, private.id, topics=[], now=NOW)
        await chatfeeds.link_feed(s, ALICE, catalogue.id, topics=[], now=NOW)
    async with sessions() as s, s.begin():
        assert await chatfeeds.unlink_feed(s, ALICE, private.id)
        assert not await chatfeeds.unlink_feed(s, ALICE, private.id)
        assert await _feed_ids(s) == {private.id, catalogue.id}  # Bob still follows it
        assert await chatfeeds.unlink_feed(s, BOB, private.id)
        assert await chatfeeds.unlink_feed(s, ALICE, catalogue.id)
        assert await _feed_ids(s) == {catalogue.id}


async def test_deleting_a_chat_removes_its_links_and_the_feeds_only_it_followed(sessions) -> None:
    async with sessions() as s, s.begin():
        await _chats(s, ALICE, BOB)
        mine = await chatfeeds.add_private_feed(s, "https://mine.org/rss", title=None, now=NOW)
        shared = await chatfeeds.add_private_feed(s, "https://both.org/rss", title=None, now=NOW)
        for chat, feed in ((ALICE, mine), (ALICE, shared), (BOB, shared)):
            await chatfeeds.link_feed(s, chat, feed.id, topics=[], now=NOW)
    async with sessions() as s, s.begin():
        assert await delete_chat(s, ALICE)
    async with sessions() as s:
        assert await _feed_ids(s) == {shared.id}
        links = (await s.exec(select(ChatFeed.chat_id, ChatFeed.feed_id))).all()
        assert [tuple(link) for link in links] == [(BOB, shared.id)]


async def test_an_admin_adding_a_private_feed_puts_it_in_the_catalogue(sessions) -> None:
    async with sessions() as s, s.begin():
        await _chats(s, ALICE)
        feed = await chatfeeds.add_private_feed(s, "https://p.org/rss", title=None, now=NOW)
        await chatfeeds.link_feed(s, ALICE, feed.id, topics=[], now=NOW)
        assert await chatfeeds.adopt_feed(s, feed.id)
        assert not await chatfeeds.adopt_feed(s, feed.id)
        await chatfeeds.unlink_feed(s, ALICE, feed.id)
        assert await _feed_ids(s) == {feed.id}  # the catalogue keeps it


async def test_routing_sees_the_owners_of_an_article_and_whether_only_private_feeds_carried_it(
    sessions,
) -> None:
    async with sessions() as s, s.begin():
        await _chats(s, ALICE, BOB, 303)
        await update_settings(s, 303, paused=True)
        private = await chatfeeds.add_private_feed(s, "https://p.org/rss", title=None, now=NOW)
        catalogue = await queries.add_feed(s, "https://c.org/rss", now=NOW)
        assert catalogue.id is not None
        await chatfeeds.link_feed(s, ALICE, private.id, topics=["ai"], now=NOW)
        await chatfeeds.link_feed(s, BOB, private.id, topics=[], now=NOW)
        await chatfeeds.link_feed(s, 303, private.id, topics=[], now=NOW)  # paused: none
        ids = []
        for n, feeds in enumerate([[private.id], [private.id, catalogue.id], [catalogue.id]]):
            article = Article(
                title=f"a{n}", published=NOW, first_seen=NOW, text="", content_hash=f"h{n}"
            )
            s.add(article)
            await s.flush()
            assert article.id is not None
            ids.append(article.id)
            s.add_all(
                ArticleSource(article_id=article.id, feed_id=f, guid=f"g{n}", seen_at=NOW)
                for f in feeds
            )
        await s.flush()
    async with sessions() as s:
        owned = await owned_articles(s, ids)
    assert owned.private == frozenset({ids[0]})
    assert [(o.chat_id, o.topics) for o in owned.owners[ids[0]]] == [(ALICE, ("ai",)), (BOB, ())]
    assert ids[2] not in owned.owners
    assert owned.owners[ids[0]][1].mode == "instant"


def _owner(chat_id: int, *topics: str) -> ArticleOwner:
    return ArticleOwner(7, chat_id, topics, "instant", 2, "UTC", None)


@pytest.mark.parametrize(
    ("owners", "topics", "chats"),
    [
        ([], ["ai"], []),
        ([_owner(1)], [], [1]),  # no filter: every article
        ([_owner(1, "ai")], ["ai", "physics"], [1]),
        ([_owner(1, "ai")], ["physics"], []),
        ([_owner(1, "ai")], [], []),  # untagged: not on the filter's topics
        ([_owner(1, "ai", "physics")], ["physics"], [1]),
        # Two of the chat's feeds carried it: once, if either lets it through.
        ([_owner(1, "ai"), _owner(1)], ["physics"], [1]),
        ([_owner(1), _owner(1)], [], [1]),
        ([_owner(1, "ai"), _owner(2)], ["physics"], [2]),
    ],
)
def test_an_owner_gets_an_article_once_when_its_topic_filter_lets_it_through(
    owners: list[ArticleOwner], topics: list[str], chats: list[int]
) -> None:
    owned = OwnedArticles({7: tuple(owners)} if owners else {})
    assert [o.chat_id for o in owned.owners_of(7, topics)] == chats


async def _article(session: Any, n: int, feed_ids: list[int], topics: list[str]) -> int:
    article = Article(
        title=f"Article {n}",
        published=NOW,
        first_seen=NOW,
        text="Some text.",
        content_hash=f"r{n}",
        topics=topics,
        summary=["Some text."],
    )
    session.add(article)
    await session.flush()
    assert article.id is not None
    session.add_all(
        ArticleSource(article_id=article.id, feed_id=f, guid=f"r{n}", seen_at=NOW) for f in feed_ids
    )
    await session.flush()
    return article.id


async def test_routing_sends_a_feeds_articles_to_its_owners_in_their_mode_once_and_to_no_one_else(
    sessions,
) -> None:
    digest, instant, topical = 401, 402, 403
    async with sessions() as s, s.begin():
        await _chats(s, digest, instant, topical)
        await update_settings(s, digest, mode="daily")
        for chat in (instant, topical):  # the owner also matches by topic: still once
            await add_topic(s, chat, "microbiology")
        private = await chatfeeds.add_private_feed(s, "https://p.org/rss", title="P", now=NOW)
        catalogue = await queries.add_feed(s, "https://c.org/rss", title="C", now=NOW)
        assert catalogue.id is not None
        await chatfeeds.link_feed(s, digest, private.id, topics=[], now=NOW)
        await chatfeeds.link_feed(s, instant, private.id, topics=["microbiology"], now=NOW)
        on_topic = await _article(s, 1, [private.id], ["microbiology"])
        off_topic = await _article(s, 2, [private.id], ["physics"])
        public = await _article(s, 3, [catalogue.id, private.id], ["microbiology"])

    assert await route_articles(sessions, [on_topic, off_topic, public], now=NOW) == 6
    await fan_out(sessions, now=NOW)
    async with sessions() as s:
        found = await routes.matched_pairs(s)
        sent = (await s.exec(select(Delivery.chat_id, Delivery.article_id))).all()
    matches = {(chat, article) for chat, article, _ in found}
    pending = {(chat, article) for chat, article, digest in found if digest}
    assert matches == {
        (digest, on_topic),
        (digest, off_topic),
        (digest, public),
        (instant, on_topic),  # its filter keeps the physics article out
        (instant, public),
        (topical, public),  # a catalogue feed carried it too: it is everyone's news
    }
    assert pending == {(digest, on_topic), (digest, off_topic), (digest, public)}
    assert sorted(tuple(d) for d in sent) == sorted(
        [(instant, on_topic), (instant, public), (topical, public)]
    )


@pytest.mark.parametrize("supergroup_known", [False, True])
async def test_a_group_becoming_a_supergroup_keeps_its_feeds(
    sessions, supergroup_known: bool
) -> None:
    group, supergroup = -5, -1005
    async with sessions() as s, s.begin():
        await _chats(s, group, *([supergroup] if supergroup_known else []))
        mine = await chatfeeds.add_private_feed(s, "https://m.org/rss", title=None, now=NOW)
        both = await chatfeeds.add_private_feed(s, "https://b.org/rss", title=None, now=NOW)
        await chatfeeds.link_feed(s, group, mine.id, topics=["ai"], now=NOW)
        await chatfeeds.link_feed(s, group, both.id, topics=[], now=NOW)
        if supergroup_known:
            await chatfeeds.link_feed(s, supergroup, both.id, topics=[], now=NOW)
    async with sessions() as s, s.begin():
        await migrate_chat(s, group, supergroup)
    async with sessions() as s:
        moved = await chatfeeds.own_feeds(s, supergroup)
        assert {(f.url, f.topics) for f in moved} == {(mine.url, ("ai",)), (both.url, ())}
        assert await chatfeeds.own_feeds(s, group) == []
