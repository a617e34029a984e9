"""A chat's own feeds end to end: the bot from the app factory, Telegram played by the fake
Bot API (PTB's real HTTP stack), feeds and pages from the loopback feed server; plus the
pure rendering and picking of bot.ownfeeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from telegram.ext import Application

from bot.app import build_application, start_background, stop_background
from bot.context import open_context
from bot.i18n import translator
from bot.ingest import PassReport
from bot.ownfeeds import (
    DISABLED,
    EXPORT_FILENAME,
    NO_OWN_FEEDS,
    Followed,
    ImportReport,
    pick_feed,
    render_import_report,
    render_own_feeds,
)
from bot.settings import Settings
from bot.throttle import Rate, ThrottleLimits
from db import chatfeeds, queries
from db.chatfeeds import OwnFeed
from db.chats import add_topic
from db.models import ChatFeed, Feed
from summaries.feedlists import FeedRef, parse_feed_list, render_opml
from tests.conftest import forums_feed
from tests.fakebot import FakeTelegram, Limits, SentMessage
from tests.feedserver import FeedServer
from tests.test_e2e import Clock

USER = 1001
OTHER = 1002
GROUP = -100777
NOW = datetime(2025, 11, 25, 6, 0, tzinfo=UTC)


@dataclass
class World:
    fake: FakeTelegram
    feeds: FeedServer
    app: Application[Any, Any, Any, Any, Any, Any]
    sessions: Any
    passes: list[PassReport]
    passed: asyncio.Event

    async def say(self, chat_id: int, text: str, **options: Any) -> SentMessage:
        """Send a message and return the bot's next reply in that chat."""
        before = len(self.fake.messages(chat_id))
        self.fake.user_sends(chat_id, text, **options)
        return (await self.fake.wait_for_messages_async(chat_id, before + 1, timeout=15))[before]

    async def send_file(self, chat_id: int, name: str, content: bytes) -> list[SentMessage]:
        """Send a file; returns the bot's two replies (the "importing…" note, the report)."""
        before = len(self.fake.messages(chat_id))
        self.fake.user_sends_document(chat_id, name, content, mime_type="text/x-opml")
        messages = await self.fake.wait_for_messages_async(chat_id, before + 1, timeout=15)
        if "Importing" in (messages[before].plain_text or ""):
            messages = await self.fake.wait_for_messages_async(chat_id, before + 2, timeout=30)
        return messages[before:]

    async def wait_passes(self, count: int) -> None:
        async with asyncio.timeout(20):
            while len(self.passes) < count:
                self.passed.clear()
                await self.passed.wait()

    async def feed_urls(self) -> set[str]:
        async with self.sessions() as s:
            return set((await s.exec(select(Feed.url))).all())


@asynccontextmanager
async def running(tmp_path: Path, feeds: FeedServer, **overrides: Any) -> AsyncIterator[World]:
    fake = FakeTelegram(enforce_limits=True, limits=Limits(global_per_second=300)).start()
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'own.db'}",
        "telegram_bot_token": fake.token,
        "telegram_api_url": fake.url,
        "poll_interval": 0.2,
        "send_rate": 250,
        "chat_rate": 100,
        "http_allow_private": True,  # the feed server is on loopback
        **overrides,
    }
    settings = Settings(_env_file=None, **values)
    try:
        async with open_context(settings, processes=False) as ctx:
            passes: list[PassReport] = []
            passed = asyncio.Event()

            def on_report(report: PassReport) -> None:
                passes.append(report)
                passed.set()

            app = build_application(
                ctx,
                clock=Clock(NOW),
                ingest_every=0.2,
                digest_every=0.2,
                on_report=on_report,
                throttle=ThrottleLimits(commands=Rate(burst=100, per_second=100)),
            )
            async with app:
                await app.start()
                await start_background(app)
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0.0, timeout=1)
                try:
                    yield World(fake, feeds, app, ctx.sessions, passes, passed)
                finally:
                    await app.updater.stop()
                    await stop_background(app)
                    await app.stop()
    finally:
        fake.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    with FeedServer() as feeds:
        async with running(tmp_path, feeds) as found:
            yield found


def _page(head: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>Lab</title>{head}</head><body>Hi</body></html>".encode()
    )


def _buttons(message: SentMessage) -> list[tuple[str, str]]:
    rows = message.reply_markup["inline_keyboard"] if message.reply_markup else []
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


# ------------------------------------------------------------------------------ /sub


async def test_sub_of_a_feed_url_follows_it_privately_and_list_shows_it(world: World) -> None:
    url = world.feeds.add("/forums.rss", forums_feed(1, ttl=False))
    reply = await world.say(USER, f"/sub {url} #microbiology")
    assert "✅ Following Science Forums Newsroom" in reply.plain_text
    assert "Only articles on #microbiology" in reply.plain_text
    async with world.sessions() as s:
        (own,) = await chatfeeds.own_feeds(s, USER)
        feed = await s.get(Feed, own.feed_id)
    assert (own.url, own.topics) == (url, ("microbiology",))
    assert feed is not None
    assert feed.catalogue is False

    await world.wait_passes(len(world.passes) + 2)
    listing = await world.say(USER, "/list")
    assert "This chat's own feeds (1 of 100)" in listing.plain_text
    assert "1. Science Forums Newsroom — ✅ checked" in listing.plain_text
    assert "only #microbiology" in listing.plain_text

    again = await world.say(USER, f"/sub {url}")
    assert "already follows" in again.plain_text


async def test_sub_of_a_catalogue_feed_links_the_stored_feed_without_fetching_it(
    world: World,
) -> None:
    url = world.feeds.add("/forums.rss", forums_feed(1))
    async with world.sessions() as s, s.begin():
        feed = await queries.add_feed(s, url, now=NOW, title="Catalogue feed")
        feed.next_check = NOW + timedelta(days=1)  # no ingest pass polls it meanwhile
    reply = await world.say(USER, f"/sub {url}")
    assert "✅ Following Catalogue feed" in reply.plain_text
    assert world.feeds.hits("/forums.rss") == 0
    await world.say(USER, "/unsub 1")
    async with world.sessions() as s:
        (feed,) = (await s.exec(select(Feed))).all()
    assert feed.catalogue is True  # the catalogue's, before and after


async def test_sub_of_a_page_follows_the_feed_its_link_alternate_announces(world: World) -> None:
    feed_url = world.feeds.add("/blog/forums.rss", forums_feed(1, ttl=False))
    # Announced first, but JSON Feed is not read: the next one is taken.
    world.feeds.add(
        "/blog/feed.json", b'{"version": "1.1", "items": []}', content_type="application/feed+json"
    )
    page_url = world.feeds.add(
        "/blog/index.html",
        _page(
            '<link rel="alternate" type="application/feed+json" href="feed.json">'
            '<link rel="alternate" type="application/rss+xml" href="forums.rss">'
        ),
        content_type="text/html; charset=utf-8",
    )
    reply = await world.say(USER, f"/sub {page_url}")
    assert "✅ Following Science Forums Newsroom" in reply.plain_text
    assert "found on the page" in reply.plain_text
    async with world.sessions() as s:
        (own,) = await chatfeeds.own_feeds(s, USER)
    assert own.url == feed_url


async def test_sub_of_a_page_announcing_no_feed_says_so_and_stores_nothing(world: World) -> None:
    page_url = world.feeds.add(
        "/about.html", _page('<link rel="stylesheet" href="/s.css">'), content_type="text/html"
    )
    reply = await world.say(USER, f"/sub {page_url}")
    assert reply.plain_text.startswith("Not followed:")
    assert "announces no feed" in reply.plain_text
    assert await world.feed_urls() == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/sub", "Usage: /sub URL"),
        ("/sub ftp://example.org/feed", "Usage: /sub URL"),
        ("/sub https://example.org/feed #astrology", "unknown topic #astrology"),
    ],
)
async def test_sub_without_a_usable_url_or_with_unknown_topics_explains(
    world: World, text: str, expected: str
) -> None:
    reply = await world.say(USER, text)
    assert expected in reply.plain_text
    assert await world.feed_urls() == set()


async def test_sub_of_a_private_address_is_refused_before_any_request(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        url = feeds.add("/forums.rss", forums_feed(1))
        async with running(tmp_path, feeds, http_allow_private=False) as world:
            reply = await world.say(USER, f"/sub {url}")
            assert "private or local network address" in reply.plain_text
            assert "only public feeds" in reply.plain_text
            assert feeds.hits("/forums.rss") == 0
            assert await world.feed_urls() == set()


async def test_a_chat_at_its_cap_is_told_and_nothing_is_fetched(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        first = feeds.add("/a.rss", forums_feed(1))
        second = feeds.add("/b.rss", forums_feed(2))
        async with running(tmp_path, feeds, own_feeds_per_chat=1) as world:
            assert "Following" in (await world.say(USER, f"/sub {first}")).plain_text
            reply = await world.say(USER, f"/sub {second}")
            assert "already follows 1 feeds of its own, the most it may" in reply.plain_text
            assert "/unsub" in reply.plain_text
            assert feeds.hits("/b.rss") == 0
            assert await world.feed_urls() == {first}


async def test_with_own_feeds_off_every_command_says_the_bot_follows_its_catalogue(
    tmp_path: Path,
) -> None:
    with FeedServer() as feeds:
        url = feeds.add("/a.rss", forums_feed(1))
        async with running(tmp_path, feeds, own_feeds_enabled=False) as world:
            for command in (f"/sub {url}", "/unsub", "/list", "/export"):
                assert (await world.say(USER, command)).plain_text == DISABLED
            (reply,) = await world.send_file(
                USER, "feeds.opml", render_opml([FeedRef(url)]).encode()
            )
            assert reply.plain_text == DISABLED
            assert feeds.hits("/a.rss") == 0


async def test_in_a_group_only_its_admins_follow_feeds(world: World) -> None:
    url = world.feeds.add("/a.rss", forums_feed(1))
    world.fake.register_chat(GROUP, chat_type="supergroup")
    world.fake.set_chat_admins(GROUP, [USER])
    refused = await world.say(GROUP, f"/sub {url}", user_id=OTHER)
    assert "Only this group's admins" in refused.plain_text
    assert world.feeds.hits("/a.rss") == 0
    assert "Following" in (await world.say(GROUP, f"/sub {url}", user_id=USER)).plain_text
    # Anyone may look.
    assert "1. " in (await world.say(GROUP, "/list", user_id=OTHER)).plain_text


# ------------------------------------------------------------------------------ /unsub


async def test_unsub_by_button_and_by_number_and_the_feed_goes_with_its_last_follower(
    world: World,
) -> None:
    first = world.feeds.add("/a.rss", forums_feed(1))
    second = world.feeds.add("/b.rss", forums_feed(2).replace("Science Forums", "Other"))
    await world.say(USER, f"/sub {first}")
    await world.say(USER, f"/sub {second}")
    await world.say(OTHER, f"/sub {second}")

    prompt = await world.say(USER, "/unsub")
    labels = [text for text, _ in _buttons(prompt)]
    assert labels == ["✖ 1. Science Forums Newsroom", "✖ 2. Other Newsroom"]
    edits = len(world.fake.messages(USER, include_edits=True))
    world.fake.user_clicks(USER, prompt.message_id, _buttons(prompt)[0][1])
    await world.fake.wait_until_async(
        lambda: len(world.fake.messages(USER, include_edits=True)) > edits, timeout=10
    )
    edited = world.fake.messages(USER, include_edits=True)[-1]
    assert [text for text, _ in _buttons(edited)] == ["✖ 1. Other Newsroom"]
    assert await world.feed_urls() == {second}  # nothing follows the first any more

    assert "No feed 5 here" in (await world.say(USER, "/unsub 5")).plain_text
    assert "No longer following Other Newsroom" in (await world.say(USER, "/unsub 1")).plain_text
    assert (await world.say(USER, "/unsub")).plain_text == NO_OWN_FEEDS
    assert await world.feed_urls() == {second}  # the other chat still follows it
    assert "No longer following" in (await world.say(OTHER, f"/unsub {second}")).plain_text
    assert await world.feed_urls() == set()


async def test_an_admin_sees_chats_feeds_marked_and_adding_one_puts_it_in_the_catalogue(
    tmp_path: Path,
) -> None:
    admin = 4242
    with FeedServer() as feeds:
        url = feeds.add("/a.rss", forums_feed(1))
        async with running(tmp_path, feeds, admin_ids=frozenset({admin})) as world:
            await world.say(USER, f"/sub {url}")
            listing = await world.say(admin, "/feeds")
            assert "Science Forums Newsroom — ok" in listing.plain_text
            assert "👤 chats' own (not in the catalogue)" in listing.plain_text
            added = await world.say(admin, f"/addfeed {url}")
            assert "which chats followed, is now in the catalogue" in added.plain_text
            await world.say(USER, "/unsub 1")
            assert await world.feed_urls() == {url}  # the catalogue keeps it
            assert "👤" not in (await world.say(admin, "/feeds")).plain_text


# ------------------------------------------------------------------------------ OPML


async def test_export_sends_an_opml_file_that_imports_into_another_chat(world: World) -> None:
    assert (await world.say(USER, "/export")).plain_text == NO_OWN_FEEDS
    first = world.feeds.add("/a.rss", forums_feed(1))
    second = world.feeds.add("/b.rss", forums_feed(2))
    await world.say(USER, f"/sub {first}")
    await world.say(USER, f"/sub {second}")

    exported = await world.say(USER, "/export")
    assert exported.method == "sendDocument"
    assert exported.document is not None
    assert exported.document.filename == EXPORT_FILENAME
    refs = parse_feed_list(exported.document.content)
    assert [ref.url for ref in refs] == [first, second]

    note, report = await world.send_file(OTHER, "mine.opml", exported.document.content)
    assert note.plain_text == "Importing 2 feeds…"
    assert report.plain_text.startswith("📥 Added 2, already had 0, refused 0.")
    async with world.sessions() as s:
        # Checked a few at a time: in the order they finish.
        assert {f.url for f in await chatfeeds.own_feeds(s, OTHER)} == {first, second}
        links = (await s.exec(select(ChatFeed.feed_id))).all()
    assert (len(links), len(set(links))) == (4, 2)  # each feed stored once


async def test_an_opml_import_reports_what_it_added_already_had_and_refused_why(
    world: World,
) -> None:
    have = world.feeds.add("/have.rss", forums_feed(1))
    new = world.feeds.add("/new.rss", forums_feed(2))
    missing = world.feeds.url("/missing.rss")  # 404
    page = world.feeds.add("/page.html", _page(""), content_type="text/html")
    await world.say(USER, f"/sub {have}")
    opml = render_opml([FeedRef(have), FeedRef(new, "New"), FeedRef(missing), FeedRef(page)])

    _, report = await world.send_file(USER, "feeds.xml", opml.encode())
    text = report.plain_text
    assert text.startswith("📥 Added 1, already had 1, refused 2.")
    assert f"✖ {missing} — could not fetch" in text
    assert f"✖ {page} — {page} is a web page that announces no feed" in text
    async with world.sessions() as s:
        assert {f.url for f in await chatfeeds.own_feeds(s, USER)} == {have, new}


async def test_an_unreadable_file_imports_nothing_and_says_why(world: World) -> None:
    (reply,) = await world.send_file(USER, "feeds.opml", b"<opml><body><outline")
    assert reply.plain_text.startswith("Nothing imported:")


async def test_an_import_past_the_cap_refuses_the_rest_unfetched(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        urls = [feeds.add(f"/{n}.rss", forums_feed(1)) for n in range(3)]
        async with running(tmp_path, feeds, own_feeds_per_chat=2) as world:
            opml = render_opml([FeedRef(url) for url in urls]).encode()
            _, report = await world.send_file(USER, "f.opml", opml)
            assert report.plain_text.startswith("📥 Added 2, already had 0, refused 1.")
            assert f"{urls[2]} — over this chat's limit of 2 feeds" in report.plain_text
            assert feeds.hits("/2.rss") == 0


async def test_a_chinese_speaking_user_follows_lists_and_unfollows_in_chinese(
    world: World,
) -> None:
    world.fake.user_languages[USER] = "zh"
    assert "用法：<code>/sub 网址</code>" in (await world.say(USER, "/sub")).text
    missing = world.feeds.url("/missing.rss")  # 404
    refused = await world.say(USER, f"/sub {missing}")
    assert refused.plain_text.startswith(f"未关注：无法获取 {missing}：")

    url = world.feeds.add("/forums.rss", forums_feed(1, ttl=False))
    followed = await world.say(USER, f"/sub {url} #microbiology")
    assert "✅ 已关注 Science Forums Newsroom。它的新文章会发到这里" in followed.plain_text
    assert "只推送关于 #microbiology 的文章。" in followed.plain_text
    assert "本聊天已经在关注" in (await world.say(USER, f"/sub {url}")).plain_text

    await world.wait_passes(len(world.passes) + 2)
    listing = (await world.say(USER, "/list")).plain_text
    assert listing.startswith("本聊天自己的订阅源（1/100）\n")
    assert "1. Science Forums Newsroom — ✅ 上次检查：" in listing
    assert "仅限 #microbiology" in listing
    assert "/sub — 关注你自己的订阅源" in (await world.say(USER, "/help")).plain_text

    assert "这里没有订阅源 5" in (await world.say(USER, "/unsub 5")).plain_text
    prompt = await world.say(USER, "/unsub")
    assert prompt.plain_text == "本聊天要取消关注哪个订阅源？"
    edits = len(world.fake.messages(USER, include_edits=True))
    world.fake.user_clicks(USER, prompt.message_id, _buttons(prompt)[0][1])
    await world.fake.wait_until_async(
        lambda: len(world.fake.messages(USER, include_edits=True)) > edits, timeout=10
    )
    edited = world.fake.messages(USER, include_edits=True)[-1]
    assert edited.plain_text == "还没有自己的订阅源。用 /sub 网址 关注一个，或发送一个 OPML 文件。"


# ------------------------------------------------------------------------------ routing


async def test_a_new_article_of_a_chats_feed_reaches_that_chat_once_and_no_other(
    world: World,
) -> None:
    # Both chats follow microbiology; only USER follows the feed (privately).
    async with world.sessions() as s, s.begin():
        from db.chats import get_or_create_chat

        for chat in (USER, OTHER):
            await get_or_create_chat(s, chat, chat_type="private", title=None, now=NOW)
            await add_topic(s, chat, "microbiology")
    url = world.feeds.add("/forums.rss", forums_feed(1, ttl=False))
    await world.say(USER, f"/sub {url}")
    start = len(world.passes)
    await world.wait_passes(start + 2)  # the backlog (Qingdao) is stored, not sent
    before_user, before_other = len(world.fake.messages(USER)), len(world.fake.messages(OTHER))

    # New: the Shenzhen microbiology symposium, which both chats' topics match.
    world.feeds.add("/forums.rss", forums_feed(0, 1, ttl=False))
    await world.fake.wait_for_messages_async(USER, before_user + 1, timeout=15)
    await world.wait_passes(len(world.passes) + 3)
    await asyncio.sleep(0.5)  # anything else would have arrived by now

    (card,) = world.fake.messages(USER)[before_user:]
    assert "Shenzhen Symposium Highlights" in card.plain_text
    assert len(world.fake.messages(OTHER)) == before_other


# ------------------------------------------------------------------------------ pure parts


def _own(n: int, **changes: Any) -> OwnFeed:
    values: dict[str, Any] = {
        "feed_id": n,
        "url": f"https://f{n}.org/rss",
        "title": f"Feed {n}",
        "topics": (),
        "created_at": NOW,
        "last_checked": NOW - timedelta(minutes=5),
        "last_success": NOW - timedelta(minutes=5),
        "consecutive_errors": 0,
        "last_error": None,
        "enabled": True,
        "disabled_reason": None,
        **changes,
    }
    return OwnFeed(**values)


@pytest.mark.parametrize(
    ("feed", "line"),
    [
        (_own(1), '1. <a href="https://f1.org/rss">Feed 1</a> — ✅ checked 5 min ago'),
        (_own(1, last_checked=None), "— ✅ checked never checked"),
        (_own(1, consecutive_errors=3, last_error="HTTP 500"), "— ⚠️ failing 3× (HTTP 500)"),
        (_own(1, enabled=False, disabled_reason="410 Gone"), "— ⛔ disabled: 410 Gone"),
        (_own(1, topics=("ai", "physics")), "checked 5 min ago · only #ai #physics"),
        (_own(1, title="<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;"),
    ],
)
def test_list_shows_each_feed_numbered_with_its_health(feed: OwnFeed, line: str) -> None:
    (text,) = render_own_feeds([feed], cap=100, now=NOW)
    assert text.startswith("<b>This chat's own feeds</b> (1 of 100)\n")
    assert line in text


def test_a_long_list_is_split_into_messages_under_telegrams_limit() -> None:
    feeds = [_own(n, title="x" * 80, url=f"https://f{n}.org/" + "p" * 300) for n in range(100)]
    texts = render_own_feeds(feeds, cap=100, now=NOW)
    assert len(texts) > 1
    assert all(len(text) <= 4096 for text in texts)
    assert sum(text.count('<a href="') for text in texts) == 100


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("1", 1), ("2", 2), ("0", None), ("3", None), ("https://f2.org/rss", 2), ("f2", None)],
)
def test_unsub_picks_a_feed_by_its_number_or_url(ref: str, expected: int | None) -> None:
    found = pick_feed([_own(1), _own(2)], ref)
    assert (found.feed_id if found else None) == expected


def test_the_import_report_counts_and_gives_each_refusal_its_reason() -> None:
    report = ImportReport(
        added=[Followed(1, "https://a.org/rss", "A", new=True)],
        already=[Followed(2, "https://b.org/rss", None, new=False)],
        refused=[("https://c.org/rss", "could not fetch https://c.org/rss: HTTP 404")],
    )
    assert render_import_report(report) == (
        "📥 Added 1, already had 1, refused 1.\n✅ A\n"
        "✖ https://c.org/rss — could not fetch https://c.org/rss: HTTP 404"
    )


@pytest.mark.parametrize(
    ("feed", "line"),
    [
        (_own(1), "— ✅ 上次检查：5 分钟前"),
        (_own(1, last_checked=None), "— ✅ 上次检查：从未检查"),
        (_own(1, consecutive_errors=3, last_error="HTTP 500"), "— ⚠️ 连续失败 3 次（HTTP 500）"),
        (_own(1, enabled=False, disabled_reason=None), "— ⛔ 已停用：未记录原因"),
        (_own(1, topics=("ai",)), "5 分钟前 · 仅限 #ai"),
    ],
)
def test_list_reads_in_chinese_for_a_chinese_chat(feed: OwnFeed, line: str) -> None:
    (text,) = render_own_feeds([feed], cap=100, now=NOW, tr=translator("zh"))
    assert text.startswith("<b>本聊天自己的订阅源</b>（1/100）\n")
    assert line in text


def test_the_import_report_reads_in_chinese() -> None:
    report = ImportReport(added=[Followed(1, "https://a.org/rss", "A", new=True)])
    assert render_import_report(report, translator("zh")) == (
        "📥 新增 1 个，已有 0 个，拒绝 0 个。\n✅ A"
    )
