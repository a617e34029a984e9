"""Subscriber commands and buttons: the callback-data codec (table-driven) and end-to-end
runs of the real PTB application against the fake Bot API (tests/fakebot.py)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, ApplicationBuilder

from bot import keyboards as kb
from bot.delivery import ChatPacer, RateLimits, SendBudget
from bot.handlers import COMMANDS, ERRORS_KEY, MAX_RULES, fallback_handlers, handlers
from bot.replies import ReplyLimiter, ReplyRetries
from bot.routing import route_articles
from bot.services import Services
from bot.settings import Settings
from bot.throttle import THROTTLE_GROUP, Throttle
from db import chats as chats_db
from db import routes as routes_db
from db import search as search_db
from db.models import (
    Article,
    ArticleSource,
    Chat,
    ChatRule,
    ChatSearch,
    ChatTopic,
    Feed,
)
from summaries.fetch import Fetcher
from summaries.rules import parse_rule
from summaries.search import search_document
from summaries.topics import TOPICS
from tests.fakebot import CallbackAnswer, FakeTelegram, Limits, SentMessage, utf16_length

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ADMIN = 555  # a bot admin (ADMIN_IDS)
USER = 101
OTHER = 202

# ------------------------------------------------------------------------------ codec


@pytest.mark.parametrize(
    "action",
    [
        kb.ToggleTopic(123, "genomics", 0),
        kb.ToggleTopic(-1001234567890, "science-policy", 2),
        kb.ToggleTopic(-9223372036854775807, "precision-medicine", 2),  # the longest there is
        kb.ShowTopics(5, 1),
        kb.TopicsDone(5),
        kb.ShowSettings(5, "hour"),
        kb.SetMode(-100999, "weekly"),
        kb.SetHour(5, 0),
        kb.SetHour(5, 23),
        kb.SetWeekday(5, 6),
        kb.SetSentences(5, 5),
        kb.SetForumsOnly(5, True),
        kb.SetPaused(5, False),
        kb.TimezoneHint(5),
        kb.RemoveTopic(5, "precision-medicine"),
        kb.RemoveRule(-1009223372036854775, 9223372036854775807),
        kb.RemoveAll(5),
        kb.EventsCalendar(-1001234567890),
        kb.ShowSettings(5, "timezone"),
        kb.SetTimezone(-9223372036854775807, "America/Los_Angeles"),
        kb.SetSilent(5, True),
        kb.ShowUnsubscribe(-1001234567890, 19),
        kb.RemoveTopic(-9223372036854775807, "precision-medicine", 19),
        kb.RemoveRule(-9223372036854775807, 9223372036854775807, 19),
        kb.ConfirmClear(-9223372036854775807, 9223372036854775807, "0123abcd"),
        kb.ConfirmStop(5, 0, "deadbeef"),
        kb.CancelConfirm(5),
        kb.ListPage(-9223372036854775807, 2147483647, 9, 10, 2147483647),  # the longest
        kb.ListPage(5, 0, 0, 1, 1),
        kb.OpenCard(-9223372036854775807, 2147483647),
        kb.CardCalendar(5, 7),
        kb.MuteTopic(-9223372036854775807, "precision-medicine"),
        kb.UnmuteTopic(5, "ai"),
    ],
)
def test_every_action_round_trips_within_64_bytes(action: kb.Action) -> None:
    data = kb.encode(action)
    assert len(data.encode()) <= kb.MAX_CALLBACK_BYTES
    assert kb.parse(data) == action


@pytest.mark.parametrize(
    "data",
    [
        None,
        42,
        "",
        "tt",
        "tt:",
        "zz:5",  # unknown tag
        "tt:5:genomics",  # missing page
        "tt:5:genomics:0:extra",
        "tt:5:no-such-topic:0",
        "tt:5:genomics:3",  # page out of range (24 topics make pages 0-2)
        "tt:5:genomics:-1",
        "tt:05:genomics:0",  # leading zero
        "tt:+5:genomics:0",
        "tt: 5:genomics:0",
        "tt:0:genomics:0",  # chat 0 does not exist
        "tt:99999999999999999999:genomics:0",
        "tt:٥:genomics:0",  # a non-ASCII digit
        "sh:5:24",
        "sh:5:7.5",
        "sw:5:7",
        "sl:5:0",
        "sl:5:6",
        "sm:5:hourly",
        "sf:5:yes",
        "sf:5:2",
        "sv:5:secret",
        "ur:5:0",
        "ur:5:-3",
        "ur:5:99999999999999999999",
        "ua:5:all",
        "ei:abc",
        "ei:5" + " " * 70,  # over 64 bytes
        "TT:5:genomics:0",
        "ut:5:ai",  # a removal button from before removals were paged
        "ut:5:ai:20",
        "st:5:Mars/Olympus",
        "st:5:Europe/Kyiv",  # a real zone, but not one the buttons offer
        "st:5:asia/shanghai",
        "ss:5:on",
        "lp:5:0:0:11:1",  # 11 entries a page
        "lp:5:0:10:10:1",  # page 11
        "lp:5:2147483648:0:10:1",  # not a 32-bit id
        "lp:5:0:0:10:0",
        "lp:5:-1:0:10:1",
        "oc:5:0",
        "oc:5:1:2",
        "ci:5:abc",
        "xc:5:7:DEADBEEF",
        "xc:5:7:deadbee",
        "xc:5:7:deadbeef0",
        "xs:5:-7:deadbeef",
        "xs:5:07:deadbeef",
        "mt:5:astrology",
        "mu:5:",
    ],
)
def test_malformed_or_forged_callback_data_is_refused(data: object) -> None:
    assert kb.parse(data) is None
    assert kb.is_action(data) is False


def test_encode_refuses_actions_it_could_not_read_back() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        kb.encode(kb.SetHour(5, 24))
    with pytest.raises(ValueError, match="cannot encode"):
        kb.encode(kb.ToggleTopic(5, "astrology", 0))


def buttons(markup: Any) -> list[tuple[str, str]]:
    rows = markup["inline_keyboard"] if isinstance(markup, dict) else markup.inline_keyboard
    return [
        (b["text"], b["callback_data"]) if isinstance(b, dict) else (b.text, b.callback_data)
        for row in rows
        for b in row
    ]


def toggled_slugs(markup: Any) -> list[str]:
    actions = [kb.parse(data) for _, data in buttons(markup)]
    return [a.slug for a in actions if isinstance(a, kb.ToggleTopic)]


def test_topic_keyboard_marks_chosen_topics() -> None:
    first = buttons(kb.topic_keyboard(7, {"ai", "archaeology"}, page=0))
    last = buttons(kb.topic_keyboard(7, {"ai", "archaeology"}, page=2))
    assert first[0][0] == "✅ 🤖 AI & computing"
    assert not first[1][0].startswith("✅")
    assert sum(text.startswith("✅") for text, _ in first) == 1
    assert [text for text, _ in last if text.startswith("✅")] == [
        "✅ 🦴 Archaeology & paleontology"
    ]
    assert ("✔️ Done", kb.encode(kb.TopicsDone(7))) in first


def test_the_picker_pages_together_list_each_of_the_24_topics_exactly_once() -> None:
    assert kb.page_count() == 3
    pages = [toggled_slugs(kb.topic_keyboard(7, set(), page=p)) for p in range(kb.page_count())]
    assert [len(page) for page in pages] == [kb.TOPICS_PER_PAGE] * 3
    assert [slug for page in pages for slug in page] == [t.slug for t in TOPICS]
    assert len(TOPICS) == 24


@pytest.mark.parametrize(
    ("page", "navigation"),
    [
        (0, [("1/3", 0), ("▶", 1)]),
        (1, [("◀", 0), ("2/3", 1), ("▶", 2)]),
        (2, [("◀", 1), ("3/3", 2)]),
        (9, [("◀", 1), ("3/3", 2)]),  # a stale page number shows the last page
        (-1, [("1/3", 0), ("▶", 1)]),
    ],
)
def test_the_picker_navigation_row_names_the_page_and_its_neighbours(
    page: int, navigation: list[tuple[str, int]]
) -> None:
    markup = kb.topic_keyboard(7, set(), page=page)
    row = markup.inline_keyboard[-2]  # the last row is Settings / Done
    assert [(b.text, kb.parse(b.callback_data)) for b in row] == [
        (text, kb.ShowTopics(7, target)) for text, target in navigation
    ]


def test_every_picker_button_fits_telegrams_64_bytes_for_the_longest_chat_id() -> None:
    chat_id = -9223372036854775807
    every = {t.slug for t in TOPICS}
    for page in range(kb.page_count()):
        for _, data in buttons(kb.topic_keyboard(chat_id, every, page=page)):
            assert len(data.encode()) <= kb.MAX_CALLBACK_BYTES
            assert kb.parse(data) is not None


@dataclass
class FakeSettings:
    mode: str = "weekly"
    digest_hour: int = 8
    digest_weekday: int = 2
    timezone: str = "Asia/Shanghai"
    summary_sentences: int = 3
    forums_only: bool = False
    paused: bool = True
    silent: bool = False


def test_the_settings_time_zone_list_offers_common_zones_with_their_offsets() -> None:
    markup = kb.settings_keyboard(7, FakeSettings(), "timezone", now=NOW)
    texts = [t for t, _ in buttons(markup)]
    assert "✅ Shanghai · UTC+8" in texts  # the chat's own zone is checked
    assert "New York · UTC-5" in texts
    assert "Kolkata · UTC+5:30" in texts
    assert "UTC" in texts
    assert texts[-1] == "◀ Back"
    assert ("Tokyo · UTC+9", kb.encode(kb.SetTimezone(7, "Asia/Tokyo"))) in buttons(markup)


@pytest.mark.parametrize(
    ("count", "page", "shown", "navigation"),
    [
        (3, 0, 3, []),
        (10, 0, 10, []),
        (11, 0, 10, ["1/2", "▶"]),
        (11, 1, 1, ["◀", "2/2"]),
        (74, 3, 10, ["◀", "4/8", "▶"]),  # every topic and 50 rules
        (74, 99, 4, ["◀", "8/8"]),  # a stale page number shows the last page
    ],
)
def test_the_unsubscribe_keyboard_pages_its_buttons(
    count: int, page: int, shown: int, navigation: list[str]
) -> None:
    topics = [t.slug for t in TOPICS][: min(count, 24)]
    rules = [(i, f"rule {i}") for i in range(1, count - len(topics) + 1)]
    markup = kb.unsubscribe_keyboard(-1007, topics, rules, page)
    rows = markup.inline_keyboard
    removals = [b for row in rows for b in row if b.text.startswith("❌")]
    assert len(removals) == shown
    assert [b.text for row in rows[shown:-1] for b in row] == navigation
    assert [b.text for b in rows[-1]] == ["🗑 Everything"]


def test_keyboards_at_the_caps_stay_within_telegrams_button_limits() -> None:
    chat_id = -9223372036854775807
    rules = [(9223372036854775807 - i, "x" * 100) for i in range(MAX_RULES)]
    every = [t.slug for t in TOPICS]
    markups = [
        kb.unsubscribe_keyboard(chat_id, every, rules, page)
        for page in range(kb.MAX_UNSUBSCRIBE_PAGES)
    ]
    markups += [kb.topic_keyboard(chat_id, set(every), page) for page in range(kb.page_count())]
    markups += [
        kb.settings_keyboard(chat_id, FakeSettings(), view, now=NOW)
        for view in ("main", "hour", "weekday", "timezone")
    ]
    page = kb.ListPage(chat_id, 2147483647, 5, kb.LIST_SIZE, 2147483647)
    ids = list(range(2147483637, 2147483647))
    markups.append(kb.list_keyboard(page, ids, first_number=51, has_next=True))
    for markup in markups:
        rows = markup.inline_keyboard
        assert sum(len(row) for row in rows) <= kb.MAX_BUTTONS
        assert all(len(row) <= kb.MAX_ROW for row in rows)
        for _, data in buttons(markup):
            assert len(data.encode()) <= kb.MAX_CALLBACK_BYTES
            assert kb.parse(data) is not None


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (("2026-03-02T10:00:00", ["ai"], [1]), ("2026-03-02T10:00:00", ["ai"], [1]), True),
        (("2026-03-02T10:00:00", ["ai"], [1]), ("2026-03-02T10:00:00", ["ai"], [1, 2]), False),
        (("2026-03-02T10:00:00", ["ai"], []), ("2026-03-02T10:00:00", [], []), False),
        (("2026-03-02T10:00:00", [], []), ("2026-03-02T10:00:01", [], []), False),  # re-created
    ],
)
def test_a_state_token_changes_with_the_state_it_stands_for(
    first: tuple[object, ...], second: tuple[object, ...], same: bool
) -> None:
    token = kb.state_token(*first)
    assert len(token) == 8
    assert (token == kb.state_token(*second)) is same


def test_settings_keyboard_shows_the_current_settings() -> None:
    texts = [t for t, _ in buttons(kb.settings_keyboard(7, FakeSettings()))]
    assert "✅ 🗞 Weekly" in texts
    assert "🕗 At 08:00" in texts
    assert "📆 Wednesday" in texts
    assert "✅ 📝3" in texts
    assert "▶️ Resume" in texts
    assert "🌐 Time zone: Asia/Shanghai" in texts
    hours = buttons(kb.settings_keyboard(7, FakeSettings(), "hour"))
    assert len(hours) == 25  # 24 hours and Back
    assert ("✅ 08:00", kb.encode(kb.SetHour(7, 8))) in hours


def test_every_keyboard_targets_the_chat_it_was_built_for() -> None:
    markups = [
        kb.topic_keyboard(-1007, set()),
        kb.settings_keyboard(-1007, FakeSettings()),
        kb.settings_keyboard(-1007, FakeSettings(), "weekday"),
        kb.settings_keyboard(-1007, FakeSettings(), "timezone", now=NOW),
        kb.unsubscribe_keyboard(-1007, ["ai"], [(3, '"gene editing" -plants')]),
        kb.events_keyboard(-1007),
        kb.confirm_keyboard("yes", kb.ConfirmStop(-1007, 5, "deadbeef")),
        kb.list_keyboard(kb.ListPage(-1007, 3, 1, 10, 99), [5, 6], first_number=11, has_next=True),
        kb.card_keyboard(-1007, 5, calendar=True, mute="ai"),
    ]
    for markup in markups:
        for _, data in buttons(markup):
            action = kb.parse(data)
            assert action is not None
            assert action.chat_id == -1007


# ------------------------------------------------------------------------------ e2e harness


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingOutbox:
    wakes: int = 0

    def wake(self) -> None:
        self.wakes += 1


@dataclass
class Harness:
    fake: FakeTelegram
    app: Application  # type: ignore[type-arg]
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    outbox: RecordingOutbox = field(default_factory=RecordingOutbox)

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        replies: int = 1,
        user_id: int | None = None,
        thread_id: int | None = None,
    ) -> list[SentMessage]:
        """Send as a user and wait for the bot's ``replies`` new messages; returns them."""
        before = len(self.fake.messages(chat_id))
        self.fake.user_sends(chat_id, text, user_id=user_id, thread_id=thread_id)
        sent = await self.fake.wait_for_messages_async(chat_id, before + replies, timeout=5)
        return sent[before:]

    async def click(
        self, chat_id: int, message: SentMessage, data: str, *, user_id: int | None = None
    ) -> CallbackAnswer:
        """Click a button and wait for its callback answer (sent after any edit)."""
        before = len(self.fake.callback_answers())
        self.fake.user_clicks(chat_id, message.message_id, data, user_id=user_id)
        await self.fake.wait_until_async(
            lambda: len(self.fake.callback_answers()) > before, timeout=5
        )
        return self.fake.callback_answers()[before]

    def latest(self, chat_id: int, message: SentMessage) -> SentMessage:
        """The message as last edited."""
        edits = [
            m
            for m in self.fake.messages(chat_id, include_edits=True)
            if m.message_id == message.message_id
        ]
        return edits[-1]

    async def chat(self, chat_id: int) -> Chat | None:
        async with self.sessions() as s:
            return await s.get(Chat, chat_id)

    async def topics(self, chat_id: int) -> list[str]:
        async with self.sessions() as s:
            return await chats_db.chat_topics(s, chat_id)

    async def rules(self, chat_id: int) -> list[str]:
        async with self.sessions() as s:
            return [r.query for r in await chats_db.chat_rules(s, chat_id)]


def data_of(message: SentMessage, accept: Callable[[kb.Action], bool]) -> str:
    for _, data in buttons(message.reply_markup):
        action = kb.parse(data)
        if action is not None and accept(action):
            return data
    raise AssertionError(f"no such button in {buttons(message.reply_markup)}")


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "bot.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@asynccontextmanager
async def running_bot(
    template_db: Path,
    tmp_path: Path,
    fake: FakeTelegram,
    *,
    replies: ReplyLimiter | None = None,
    throttle: Throttle | None = None,
) -> AsyncIterator[Harness]:
    """The subscriber handlers in a real PTB application polling the fake, on a copy of a
    migrated SQLite database; with ``replies`` and ``throttle`` wired as bot.app does."""
    from db.engine import create_engine, session_factory

    path = tmp_path / "bot.db"
    shutil.copy(template_db, path)
    engine = create_engine(f"sqlite:///{path}")
    sessions = session_factory(engine)
    settings = Settings(_env_file=None, admin_ids=frozenset({ADMIN}), telegram_api_url=fake.url)
    builder = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .concurrent_updates(64)
    )
    if replies is not None:
        builder = builder.rate_limiter(replies)
    app = builder.build()
    if throttle is not None:
        app.add_handler(throttle.handler(), group=THROTTLE_GROUP)
    app.add_handlers(handlers())
    app.add_handlers(fallback_handlers())
    clock = Clock(NOW)
    outbox = RecordingOutbox()
    async with Fetcher(settings.fetch_limits()) as fetcher:
        app.bot_data["services"] = Services(
            settings=settings,
            sessions=sessions,
            fetcher=fetcher,
            outbox=outbox,  # type: ignore[arg-type]  # only wake() is used by handlers
            clock=clock,
        )
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield Harness(fake, app, sessions, clock, outbox)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    await engine.dispose()


@pytest.fixture
async def harness(template_db: Path, tmp_path: Path, fake: FakeTelegram) -> AsyncIterator[Harness]:
    async with running_bot(template_db, tmp_path, fake) as found:
        yield found


async def seed_article(
    harness: Harness,
    title: str,
    *,
    topics: list[str],
    published: datetime = NOW,
    event: dict[str, Any] | None = None,
) -> int:
    async with harness.sessions() as s, s.begin():
        feed = (await s.exec(select(Feed))).first()
        if feed is None:
            feed = Feed(url="https://example.org/feed.xml", title="Lab News", created_at=NOW)
            s.add(feed)
            await s.flush()
        article = Article(
            url=f"https://example.org/{len(title)}/{title.replace(' ', '-')}",
            title=title,
            published=published,
            first_seen=published,
            text=f"{title}. Body.",
            content_hash=title,
            summary=[f"{title} happened."],
            topics=topics,
            is_event=event is not None,
            event=event,
            event_start=date.fromisoformat(event["start"]) if event else None,
            event_end=date.fromisoformat(event["end"]) if event else None,
        )
        s.add(article)
        await s.flush()
        assert article.id is not None
        await search_db.index_article(s, article.id, search_document(title, article.text))
        assert feed.id is not None
        s.add(ArticleSource(article_id=article.id, feed_id=feed.id, guid=title, seen_at=NOW))
        return article.id


# ------------------------------------------------------------------------------ e2e tests


async def test_start_then_a_topic_click_shows_a_check_mark_and_subscribes(
    harness: Harness,
) -> None:
    (welcome,) = await harness.send(USER, "/start")
    assert "SciForum Digest" in (welcome.plain_text or "")
    assert welcome.parse_mode == "HTML"
    chat = await harness.chat(USER)
    assert chat is not None
    assert (chat.mode, chat.type) == ("instant", "private")

    toggle = data_of(welcome, lambda a: a == kb.ToggleTopic(USER, "space", 0))
    answer = await harness.click(USER, welcome, toggle)

    assert answer.text == "Subscribed to Space & astronomy"
    edited = harness.latest(USER, welcome)
    assert edited.method == "editMessageReplyMarkup"
    assert "✅ 🔭 Space & astronomy" in [t for t, _ in buttons(edited.reply_markup)]
    assert await harness.topics(USER) == ["space"]

    await harness.click(USER, welcome, toggle)
    assert await harness.topics(USER) == []


async def test_topics_paging_and_done(harness: Harness) -> None:
    (picker,) = await harness.send(USER, "/topics")
    await harness.click(USER, picker, kb.encode(kb.ShowTopics(USER, 1)))
    page2 = harness.latest(USER, picker)
    await harness.click(USER, page2, kb.encode(kb.ToggleTopic(USER, "genomics", 1)))
    answer = await harness.click(USER, picker, kb.encode(kb.TopicsDone(USER)))

    assert answer.text == "Saved"
    done = harness.latest(USER, picker)
    assert "Genomics & gene editing" in (done.plain_text or "")
    assert not done.reply_markup
    assert await harness.topics(USER) == ["genomics"]


async def test_topics_pages_through_all_24_topics(harness: Harness) -> None:
    (picker,) = await harness.send(USER, "/topics")
    seen = toggled_slugs(picker.reply_markup)
    labels = [t for t, _ in buttons(picker.reply_markup) if "/" in t]
    for page in (1, 2):
        await harness.click(USER, picker, kb.encode(kb.ShowTopics(USER, page)))
        shown = harness.latest(USER, picker).reply_markup
        seen += toggled_slugs(shown)
        labels += [t for t, _ in buttons(shown) if "/" in t]

    assert seen == [t.slug for t in TOPICS]
    assert len(set(seen)) == 24
    assert labels == ["1/3", "2/3", "3/3"]


async def test_mysubs_lists_all_24_topics_in_one_message(harness: Harness) -> None:
    await harness.send(USER, "/start")
    async with harness.sessions() as s, s.begin():
        for topic in TOPICS:
            assert await chats_db.add_topic(s, USER, topic.slug)

    (subs,) = await harness.send(USER, "/mysubs")

    text = subs.plain_text or ""
    assert all(kb.topic_label(t) in text for t in TOPICS)
    assert utf16_length(text) < 2000  # far from Telegram's 4096


@pytest.mark.parametrize(
    ("slug", "typed"),
    [
        ("health", "health"),
        ("ecology", "Ecology, evolution & biodiversity"),
        ("earth", "EARTH"),
        ("cell-biology", "cell biology"),
        ("math", "Mathematics & statistics"),
        ("engineering", "engineering"),
        ("social-science", "social-science"),
        ("archaeology", "archaeology"),
    ],
)
async def test_the_new_topics_can_be_unsubscribed_by_slug_or_name(
    harness: Harness, slug: str, typed: str
) -> None:
    await harness.send(USER, "/start")
    async with harness.sessions() as s, s.begin():
        assert await chats_db.add_topic(s, USER, slug)

    (reply,) = await harness.send(USER, f"/unsubscribe {typed}")

    assert (reply.plain_text or "").startswith("Removed the topic ")
    assert await harness.topics(USER) == []


async def test_subscribe_mysubs_and_unsubscribe_all(harness: Harness) -> None:
    (ok,) = await harness.send(USER, "/subscribe crispr")
    assert "Following crispr" in (ok.plain_text or "")
    (phrase,) = await harness.send(USER, '/subscribe "Gene Editing" -plants')
    assert 'Following "gene editing" -plants' in (phrase.plain_text or "")
    (again,) = await harness.send(USER, "/subscribe CRISPR")
    assert "already follow" in (again.plain_text or "")
    (bad,) = await harness.send(USER, "/subscribe -plants")
    assert "Can't follow that" in (bad.plain_text or "")
    assert "Usage" in (bad.plain_text or "")
    (usage,) = await harness.send(USER, "/subscribe")
    assert "Usage" in (usage.plain_text or "")
    assert await harness.rules(USER) == ["crispr", '"gene editing" -plants']

    (subs,) = await harness.send(USER, "/mysubs")
    assert "crispr" in (subs.plain_text or "")
    assert '"gene editing" -plants' in (subs.plain_text or "")
    assert "instant" in (subs.plain_text or "")

    (ask,) = await harness.send(USER, "/unsubscribe all")
    assert "Remove all your topics and keyword rules?" in (ask.plain_text or "")
    assert len(await harness.rules(USER)) == 2  # nothing removed before the confirmation
    await harness.click(USER, ask, data_of(ask, lambda a: isinstance(a, kb.ConfirmClear)))
    assert "Removed all" in (harness.latest(USER, ask).plain_text or "")
    assert await harness.rules(USER) == []
    (empty,) = await harness.send(USER, "/mysubs")
    assert "No subscriptions yet" in (empty.plain_text or "")


async def test_unsubscribe_buttons_remove_one_thing_at_a_time(harness: Harness) -> None:
    await harness.send(USER, "/subscribe crispr")
    (picker,) = await harness.send(USER, "/topics")
    await harness.click(USER, picker, kb.encode(kb.ToggleTopic(USER, "ai", 0)))
    (menu,) = await harness.send(USER, "/unsubscribe")
    texts = [t for t, _ in buttons(menu.reply_markup)]
    assert texts == ["❌ 🤖 AI & computing", "❌ 🔎 crispr", "🗑 Everything"]

    await harness.click(USER, menu, data_of(menu, lambda a: isinstance(a, kb.RemoveRule)))
    assert await harness.rules(USER) == []
    assert await harness.topics(USER) == ["ai"]
    await harness.click(USER, menu, data_of(menu, lambda a: isinstance(a, kb.RemoveTopic)))
    assert await harness.topics(USER) == []
    assert "No topics or keyword rules left" in (harness.latest(USER, menu).plain_text or "")


async def test_settings_clicks_change_the_database_and_edit_in_place(harness: Harness) -> None:
    (settings,) = await harness.send(USER, "/settings")
    assert "instant" in (settings.plain_text or "")

    await harness.click(USER, settings, kb.encode(kb.SetMode(USER, "weekly")))
    chat = await harness.chat(USER)
    assert chat is not None
    assert (chat.mode, chat.last_digest_at) == ("weekly", NOW)
    edited = harness.latest(USER, settings)
    assert edited.method == "editMessageText"
    assert "weekly digest on Monday at 08:00" in (edited.plain_text or "")

    await harness.click(USER, settings, kb.encode(kb.ShowSettings(USER, "hour")))
    assert len(buttons(harness.latest(USER, settings).reply_markup)) == 25
    await harness.click(USER, settings, kb.encode(kb.SetHour(USER, 19)))
    await harness.click(USER, settings, kb.encode(kb.SetWeekday(USER, 4)))
    await harness.click(USER, settings, kb.encode(kb.SetSentences(USER, 4)))
    await harness.click(USER, settings, kb.encode(kb.SetForumsOnly(USER, True)))
    await harness.click(USER, settings, kb.encode(kb.SetPaused(USER, True)))
    hint = await harness.click(USER, settings, kb.encode(kb.TimezoneHint(USER)))

    chat = await harness.chat(USER)
    assert chat is not None
    assert (chat.digest_hour, chat.digest_weekday, chat.summary_sentences) == (19, 4, 4)
    assert (chat.forums_only, chat.paused) == (True, True)
    assert hint.show_alert
    assert "/timezone" in (hint.text or "")
    final = harness.latest(USER, settings).plain_text or ""
    assert "weekly digest on Friday at 19:00" in final
    assert "paused" in final


async def test_timezone_good_and_bad(harness: Harness) -> None:
    (good,) = await harness.send(USER, "/timezone europe/berlin")
    assert "Europe/Berlin" in (good.plain_text or "")
    assert "11:00" in (good.plain_text or "")  # 10:00 UTC is 11:00 CET
    chat = await harness.chat(USER)
    assert chat is not None
    assert chat.timezone == "Europe/Berlin"

    (bad,) = await harness.send(USER, "/timezone Mars/Olympus")
    assert "Unknown time zone" in (bad.plain_text or "")
    assert "Usage" in (bad.plain_text or "")
    (bare,) = await harness.send(USER, "/timezone")
    assert "Europe/Berlin" in (bare.plain_text or "")
    chat = await harness.chat(USER)
    assert chat is not None
    assert chat.timezone == "Europe/Berlin"


def entries(message: SentMessage) -> list[str]:
    """The titles of a result list, as numbered: ["1. Telescope 3", ...]."""
    lines = (message.plain_text or "").split("\n")
    return [line for line in lines if line[:1].isdigit() and ". " in line]


async def test_latest_answers_with_one_list_newest_first_whose_buttons_page_and_open_cards(
    harness: Harness,
) -> None:
    for hour in range(4):
        await seed_article(
            harness, f"Telescope {hour}", topics=["space"], published=NOW.replace(hour=hour)
        )
    await seed_article(harness, "Crop yields", topics=["agrifood"], published=NOW)
    (none,) = await harness.send(USER, "/latest")
    assert "No subscriptions yet" in (none.plain_text or "")
    await harness.send(USER, "/subscribe telescope")

    (listing,) = await harness.send(USER, "/latest 2")

    assert entries(listing) == ["1. Telescope 3", "2. Telescope 2"]
    assert "Lab News · 2 Mar 2026" in (listing.plain_text or "")
    assert listing.link_preview_options == {"is_disabled": True}
    assert any(e["type"] == "text_link" for e in listing.entities)  # titles are links
    assert [t for t, _ in buttons(listing.reply_markup)] == ["1", "2", "▶"]

    await harness.click(USER, listing, data_of(listing, lambda a: isinstance(a, kb.ListPage)))
    page2 = harness.latest(USER, listing)
    assert entries(page2) == ["3. Telescope 1", "4. Telescope 0"]
    assert [t for t, _ in buttons(page2.reply_markup)] == ["3", "4", "◀"]

    before = len(harness.fake.messages(USER))
    await harness.click(USER, page2, data_of(page2, lambda a: isinstance(a, kb.OpenCard)))
    (card,) = (await harness.fake.wait_for_messages_async(USER, before + 1, timeout=5))[before:]
    assert (card.plain_text or "").startswith("Telescope 1")
    assert "💡 because: rule telescope" in (card.plain_text or "")
    (usage,) = await harness.send(USER, "/latest 11")
    assert "Usage" in (usage.plain_text or "")


async def test_latest_10_is_one_message_with_all_ten(harness: Harness) -> None:
    for minute in range(12):
        await seed_article(
            harness, f"Comet {minute}", topics=["space"], published=NOW.replace(minute=minute)
        )
    await harness.send(USER, "/subscribe comet")

    (listing,) = await harness.send(USER, "/latest 10")
    await asyncio.sleep(0.3)  # a second message would have come by now

    assert entries(listing) == [f"{n}. Comet {12 - n}" for n in range(1, 11)]
    assert len(harness.fake.messages(USER)) == 2  # the /subscribe answer and the list
    assert [t for t, _ in buttons(listing.reply_markup)][-1] == "▶"


async def test_search_answers_with_one_list_and_pages_through_it(harness: Harness) -> None:
    for n in range(12):
        await seed_article(
            harness, f"Fusion record {n}", topics=["energy"], published=NOW.replace(minute=n)
        )
    await seed_article(harness, "Solar record", topics=["energy"])

    (listing,) = await harness.send(USER, "/search FUSION record")

    assert "Best matches for fusion record · page 1" in (listing.plain_text or "")
    assert entries(listing)[0] == "1. Fusion record 11"
    assert len(entries(listing)) == 10
    await harness.click(USER, listing, data_of(listing, lambda a: isinstance(a, kb.ListPage)))
    assert entries(harness.latest(USER, listing)) == ["11. Fusion record 1", "12. Fusion record 0"]
    (nothing,) = await harness.send(USER, "/search quasar")
    assert "No stored article" in (nothing.plain_text or "")


async def test_a_repeated_search_answers_from_its_saved_list_and_counts_as_new_after(
    harness: Harness,
) -> None:
    await seed_article(harness, "Fusion record", topics=["energy"])
    await seed_article(harness, "Quasar record", topics=["space"])

    (first,) = await harness.send(USER, "/search fusion")
    harness.clock.now = NOW + timedelta(minutes=1)
    await harness.send(USER, "/search quasar")
    harness.clock.now = NOW + timedelta(minutes=2)
    (again,) = await harness.send(USER, "/search fusion")

    assert entries(again) == entries(first) == ["1. Fusion record"]

    async def saved() -> list[tuple[str, datetime]]:
        async with harness.sessions() as s:
            found = await s.exec(select(ChatSearch).order_by(col(ChatSearch.id)))
            return [(c.query, c.created_at) for c in found]

    for _ in range(100):  # refreshed after the answer went out
        if (await saved())[0][1] != NOW:
            break
        await asyncio.sleep(0.05)
    assert await saved() == [
        ("fusion", NOW + timedelta(minutes=2)),  # the same saved search, used last
        ("quasar", NOW + timedelta(minutes=1)),
    ]


async def test_a_search_for_punctuation_alone_says_why_and_how(harness: Harness) -> None:
    (reply,) = await harness.send(USER, "/search ?! …")

    assert "Can't search for that" in (reply.plain_text or "")
    assert "/search fusion reactor" in (reply.plain_text or "")


@pytest.mark.parametrize(
    ("forged", "answer"),
    [
        pytest.param(lambda s: kb.ListPage(USER, s + 9, 0, 10, 1), "expired", id="unknown search"),
        pytest.param(lambda s: kb.ListPage(USER, s, 7, 10, 10**6), "No more", id="past the end"),
        pytest.param(lambda s: kb.OpenCard(USER, 10**6), "no longer stored", id="no such article"),
        pytest.param(lambda s: kb.ListPage(OTHER, s, 0, 10, 1), "Not allowed", id="other chat"),
    ],
)  # fmt: skip
async def test_forged_or_stale_list_buttons_are_answered_politely(
    harness: Harness, forged: Callable[[int], kb.Action], answer: str
) -> None:
    await seed_article(harness, "Fusion record", topics=["energy"])
    (listing,) = await harness.send(USER, "/search fusion")
    async with harness.sessions() as s:
        search_id = (await s.exec(select(ChatSearch.id))).one()
    assert search_id is not None

    reply = await harness.click(USER, listing, kb.encode(forged(search_id)))

    assert answer in (reply.text or "")
    assert harness.latest(USER, listing).message_id == listing.message_id


async def test_events_list_and_calendar_file(harness: Harness) -> None:
    await seed_article(
        harness,
        "Synthetic Biology Forum 2026",
        topics=["synbio"],
        event={
            "name": "Synthetic Biology Forum",
            "kind": "forum",
            "start": "2026-04-10",
            "end": "2026-04-12",
            "city": "Shenzhen",
            "venue": None,
            "organizers": [],
            "attendance": None,
        },
    )
    await seed_article(harness, "Not a forum", topics=["synbio"])
    (listing,) = await harness.send(USER, "/events")
    assert "Synthetic Biology Forum" in (listing.plain_text or "")
    assert "Shenzhen" in (listing.plain_text or "")

    answer = await harness.click(
        USER, listing, data_of(listing, lambda a: isinstance(a, kb.EventsCalendar))
    )

    assert answer.text == "Calendar sent"
    document = harness.fake.messages(USER)[-1].document
    assert document is not None
    assert document.filename.endswith(".ics")
    assert b"BEGIN:VEVENT" in document.content
    assert b"DTSTART;VALUE=DATE:20260410" in document.content


async def test_stop_asks_first_and_deletes_the_chats_data_once_confirmed(
    harness: Harness,
) -> None:
    await harness.send(USER, "/subscribe crispr")
    (ask,) = await harness.send(USER, "/stop")
    assert "Delete your topics" in (ask.plain_text or "")
    assert await harness.chat(USER) is not None  # nothing deleted yet

    answer = await harness.click(USER, ask, data_of(ask, lambda a: isinstance(a, kb.ConfirmStop)))

    assert answer.text == "Deleted"
    assert "Deleted your topics" in (harness.latest(USER, ask).plain_text or "")
    assert await harness.chat(USER) is None
    async with harness.sessions() as s:
        assert (await s.exec(select(ChatRule))).all() == []


async def test_help_lists_every_command_and_admin_ones_only_for_admins(
    harness: Harness,
) -> None:
    (plain,) = await harness.send(USER, "/help")
    (admin,) = await harness.send(ADMIN, "/help")
    for name, _ in COMMANDS:
        assert f"/{name} — " in (plain.plain_text or "")
    assert "/channel" not in (plain.plain_text or "")
    assert "/channel" in (admin.plain_text or "")


async def test_unknown_commands_get_a_pointer_to_help_in_private_only(
    harness: Harness, fake: FakeTelegram
) -> None:
    (reply,) = await harness.send(USER, "/frobnicate")
    assert reply.plain_text == "Unknown command — /help"
    fake.user_sends(-100200, "/frobnicate", user_id=USER)
    await harness.send(-100200, "/help", user_id=USER)  # answered: the first one was not
    assert len(fake.messages(-100200)) == 1


async def test_group_members_who_are_not_admins_are_refused(
    harness: Harness, fake: FakeTelegram
) -> None:
    group = -100300
    fake.register_chat(group, chat_type="supergroup", title="Lab group")
    fake.set_chat_admins(group, [7], owner_id=8)

    (refused,) = await harness.send(group, "/settings", user_id=USER)
    assert "Only this group's admins" in (refused.plain_text or "")
    (refused_sub,) = await harness.send(group, "/subscribe crispr", user_id=USER)
    assert "Only this group's admins" in (refused_sub.plain_text or "")
    assert await harness.rules(group) == []

    (settings,) = await harness.send(group, "/settings", user_id=7)
    assert "Settings" in (settings.plain_text or "")
    answer = await harness.click(
        group, settings, kb.encode(kb.SetMode(group, "daily")), user_id=USER
    )
    assert answer.show_alert
    assert "Only this group's admins" in (answer.text or "")
    chat = await harness.chat(group)
    assert chat is not None
    assert chat.mode == "instant"

    await harness.click(group, settings, kb.encode(kb.SetMode(group, "daily")), user_id=8)
    chat = await harness.chat(group)
    assert chat is not None
    assert (chat.mode, chat.type, chat.title) == ("daily", "supergroup", "Lab group")
    (subs,) = await harness.send(group, "/mysubs", user_id=USER)  # reading is for everyone
    assert "No subscriptions yet" in (subs.plain_text or "")


async def test_forum_thread_is_kept_for_replies_and_pushes(
    harness: Harness, fake: FakeTelegram
) -> None:
    forum = -100400
    fake.register_chat(forum, chat_type="supergroup", title="Forum", is_forum=True)
    fake.set_chat_admins(forum, [USER])

    (welcome,) = await harness.send(forum, "/start", user_id=USER, thread_id=42)

    assert welcome.thread_id == 42
    chat = await harness.chat(forum)
    assert chat is not None
    assert chat.thread_id == 42


async def test_a_forged_button_for_another_chat_changes_nothing(harness: Harness) -> None:
    other = 202
    await harness.send(other, "/subscribe crispr")
    (menu,) = await harness.send(USER, "/start")

    answer = await harness.click(USER, menu, kb.encode(kb.RemoveAll(other)))
    garbage = await harness.click(USER, menu, "tt:202:genomics:0:x")

    assert answer.text == "Not allowed."
    assert garbage.text is not None  # still answered, though the data is not ours
    assert await harness.rules(other) == ["crispr"]


async def test_a_bot_admin_configures_a_channel_from_a_private_chat(
    harness: Harness, fake: FakeTelegram
) -> None:
    channel = -100500
    fake.register_chat(channel, chat_type="channel", title="Sci Channel", username="scichan")
    fake.set_chat_admins(channel, [], bot_is_admin=True)

    (denied,) = await harness.send(USER, "/channel @scichan")
    assert denied.plain_text == "Not allowed."
    (usage,) = await harness.send(ADMIN, "/channel")
    assert "Usage" in (usage.plain_text or "")
    (picker,) = await harness.send(ADMIN, "/channel @scichan")
    assert "Sci Channel" in (picker.plain_text or "")

    toggle = data_of(picker, lambda a: a == kb.ToggleTopic(channel, "physics", 0))
    await harness.click(ADMIN, picker, toggle)
    await harness.click(ADMIN, picker, kb.encode(kb.ShowSettings(channel, "main")))
    await harness.click(ADMIN, picker, kb.encode(kb.SetMode(channel, "daily")))

    assert await harness.topics(channel) == ["physics"]
    assert await harness.topics(ADMIN) == []
    chat = await harness.chat(channel)
    assert chat is not None
    assert (chat.type, chat.mode, chat.title) == ("channel", "daily", "Sci Channel")
    assert "Sci Channel" in (harness.latest(ADMIN, picker).plain_text or "")
    # Someone else cannot reuse those buttons from their own chat.
    (menu,) = await harness.send(USER, "/start")
    answer = await harness.click(USER, menu, toggle)
    assert answer.text == "Not allowed."
    assert await harness.topics(channel) == ["physics"]


async def test_channel_where_the_bot_cannot_post_is_refused(
    harness: Harness, fake: FakeTelegram
) -> None:
    fake.register_chat(-100600, chat_type="channel", title="Quiet", username="quiet")
    (reply,) = await harness.send(ADMIN, "/channel @quiet")
    assert "can't post" in (reply.plain_text or "")
    (missing,) = await harness.send(ADMIN, "/channel @nosuchchannel")
    assert "Can't find" in (missing.plain_text or "")
    assert await harness.chat(-100600) is None


async def test_every_click_is_answered(harness: Harness) -> None:
    (menu,) = await harness.send(USER, "/start")
    for data in (kb.encode(kb.ShowTopics(USER, 1)), kb.encode(kb.TimezoneHint(USER))):
        await harness.click(USER, menu, data)
    await harness.fake.wait_until_async(lambda: len(harness.fake.callback_answers()) == 2)
    async with harness.sessions() as s:
        assert (await s.exec(select(ChatTopic))).all() == []


@pytest.mark.parametrize(
    ("sender_chat_id", "expected"),
    [
        pytest.param(-100300, True, id="anonymous admin writes as the group"),
        pytest.param(-100999, False, id="a user posting as their channel"),
    ],
)
async def test_group_messages_sent_as_a_chat(sender_chat_id: int, expected: bool) -> None:
    from telegram import Update

    from bot.handlers import _may_change

    group = {"id": -100300, "type": "supergroup", "title": "Lab group"}
    update = Update.de_json(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": group,
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": {"id": sender_chat_id, "type": "supergroup", "title": "x"}
                if sender_chat_id == -100300
                else {"id": sender_chat_id, "type": "channel", "title": "x"},
                "text": "/settings",
            },
        },
        None,
    )
    # No getChatMember call is needed either way: the sender is the chat or a channel.
    assert await _may_change(update, None) is expected  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ asking first


async def test_a_cancelled_stop_deletes_nothing(harness: Harness) -> None:
    await harness.send(USER, "/subscribe crispr")
    (ask,) = await harness.send(USER, "/stop")

    await harness.click(USER, ask, data_of(ask, lambda a: isinstance(a, kb.CancelConfirm)))

    edited = harness.latest(USER, ask)
    assert "nothing was deleted" in (edited.plain_text or "")
    assert not edited.reply_markup
    assert await harness.rules(USER) == ["crispr"]


async def test_a_confirmation_pressed_after_the_subscriptions_changed_deletes_nothing(
    harness: Harness,
) -> None:
    await harness.send(USER, "/subscribe crispr")
    (stop,) = await harness.send(USER, "/stop")
    (clear,) = await harness.send(USER, "/unsubscribe all")
    await harness.send(USER, "/subscribe fusion")  # the state both were asked for is gone

    await harness.click(USER, stop, data_of(stop, lambda a: isinstance(a, kb.ConfirmStop)))
    await harness.click(USER, clear, data_of(clear, lambda a: isinstance(a, kb.ConfirmClear)))

    assert "changed since" in (harness.latest(USER, stop).plain_text or "")
    assert "changed since" in (harness.latest(USER, clear).plain_text or "")
    assert await harness.rules(USER) == ["crispr", "fusion"]


async def test_a_confirmation_from_before_a_stop_cannot_delete_the_chat_made_since(
    harness: Harness,
) -> None:
    await harness.send(USER, "/subscribe crispr")
    (first,) = await harness.send(USER, "/stop")
    (second,) = await harness.send(USER, "/stop")
    await harness.click(USER, second, data_of(second, lambda a: isinstance(a, kb.ConfirmStop)))
    await harness.send(USER, "/subscribe fusion")

    await harness.click(USER, first, data_of(first, lambda a: isinstance(a, kb.ConfirmStop)))

    assert await harness.rules(USER) == ["fusion"]


async def test_the_everything_button_asks_before_removing(harness: Harness) -> None:
    await harness.send(USER, "/subscribe crispr")
    (menu,) = await harness.send(USER, "/unsubscribe")

    await harness.click(USER, menu, data_of(menu, lambda a: isinstance(a, kb.RemoveAll)))

    ask = harness.latest(USER, menu)
    assert "Remove all your topics and keyword rules?" in (ask.plain_text or "")
    assert await harness.rules(USER) == ["crispr"]
    await harness.click(USER, ask, data_of(ask, lambda a: isinstance(a, kb.ConfirmClear)))
    assert await harness.rules(USER) == []
    assert "Removed all" in (harness.latest(USER, menu).plain_text or "")


async def test_in_a_group_only_the_admin_who_asked_can_confirm(
    harness: Harness, fake: FakeTelegram
) -> None:
    group = -100700
    fake.register_chat(group, chat_type="supergroup", title="Lab group")
    fake.set_chat_admins(group, [7, 8])
    await harness.send(group, "/subscribe crispr", user_id=7)
    (ask,) = await harness.send(group, "/stop", user_id=7)
    assert "Delete this group's topics" in (ask.plain_text or "")
    confirm = data_of(ask, lambda a: isinstance(a, kb.ConfirmStop))

    member = await harness.click(group, ask, confirm, user_id=USER)
    other_admin = await harness.click(group, ask, confirm, user_id=8)
    cancel_by_member = await harness.click(
        group, ask, kb.encode(kb.CancelConfirm(group)), user_id=USER
    )

    assert "Only this group's admins" in (member.text or "")
    assert other_admin.text == "Only the person who asked can confirm this."
    assert "Only this group's admins" in (cancel_by_member.text or "")
    assert await harness.rules(group) == ["crispr"]
    await harness.click(group, ask, confirm, user_id=7)
    assert await harness.chat(group) is None
    assert "Deleted this group's topics" in (harness.latest(group, ask).plain_text or "")


# ------------------------------------------------------------------------------ time zones


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("Beijing", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
        ("new york", "America/New_York", "America/New_York (UTC-5)"),
        ("UTC+8", "Etc/GMT-8", "UTC+8"),
        ("utc+05:30", "UTC+05:30", "UTC+5:30"),
    ],
)
async def test_timezone_takes_cities_and_offsets_as_people_say_them(
    harness: Harness, typed: str, stored: str, shown: str
) -> None:
    (reply,) = await harness.send(USER, f"/timezone {typed}")

    assert f"Time zone set to {shown}" in (reply.plain_text or "")
    chat = await harness.chat(USER)
    assert chat is not None
    assert chat.timezone == stored


async def test_an_unknown_time_zone_is_answered_with_examples(harness: Harness) -> None:
    (reply,) = await harness.send(USER, "/timezone Atlantis")
    text = reply.plain_text or ""
    assert "Unknown time zone “Atlantis”" in text
    assert all(example in text for example in ("Beijing", "UTC+8", "Asia/Shanghai"))


async def test_settings_offer_a_list_of_common_time_zones(harness: Harness) -> None:
    (settings,) = await harness.send(USER, "/settings")
    zones = data_of(settings, lambda a: a == kb.ShowSettings(USER, "timezone"))

    await harness.click(USER, settings, zones)
    shown = harness.latest(USER, settings)
    assert "Tokyo · UTC+9" in [t for t, _ in buttons(shown.reply_markup)]
    answer = await harness.click(USER, shown, kb.encode(kb.SetTimezone(USER, "Asia/Tokyo")))

    assert answer.text == "Saved"
    chat = await harness.chat(USER)
    assert chat is not None
    assert chat.timezone == "Asia/Tokyo"
    assert "Asia/Tokyo (UTC+9)" in (harness.latest(USER, settings).plain_text or "")


# ------------------------------------------------------------------------------ cards


FORUM = {
    "name": "Shenzhen Microbiome Symposium",
    "kind": "symposium",
    "start": "2026-04-10",
    "end": "2026-04-12",
    "city": "Shenzhen",
    "venue": None,
    "organizers": [],
    "attendance": None,
}


async def test_a_card_says_why_it_came_and_offers_its_calendar_and_a_mute_with_undo(
    harness: Harness,
) -> None:
    article = await seed_article(
        harness, "Gut microbes and CRISPR symposium", topics=["microbiology"], event=FORUM
    )
    (picker,) = await harness.send(USER, "/topics")
    await harness.click(USER, picker, kb.encode(kb.ToggleTopic(USER, "microbiology", 1)))
    await harness.send(USER, "/subscribe crispr")
    (listing,) = await harness.send(USER, "/latest")
    before = len(harness.fake.messages(USER))
    await harness.click(USER, listing, kb.encode(kb.OpenCard(USER, article)))
    (card,) = (await harness.fake.wait_for_messages_async(USER, before + 1))[before:]

    assert "💡 because: #microbiology · rule crispr" in (card.plain_text or "")
    assert [t for t, _ in buttons(card.reply_markup)] == [
        "📅 Add to calendar",
        "🔕 Mute #microbiology",
    ]

    sent = await harness.click(USER, card, kb.encode(kb.CardCalendar(USER, article)))
    document = harness.fake.messages(USER)[-1].document
    assert sent.text == "Calendar sent"
    assert document is not None
    assert document.filename == f"sciforum-forum-{article}.ics"
    assert document.content.count(b"BEGIN:VEVENT") == 1

    muted = await harness.click(USER, card, kb.encode(kb.MuteTopic(USER, "microbiology")))
    assert "Muted" in (muted.text or "")
    assert await harness.topics(USER) == []
    undo = harness.latest(USER, card)
    assert [t for t, _ in buttons(undo.reply_markup)][-1] == "↩️ Undo: follow #microbiology"
    await harness.click(USER, undo, kb.encode(kb.UnmuteTopic(USER, "microbiology")))
    assert await harness.topics(USER) == ["microbiology"]
    assert [t for t, _ in buttons(harness.latest(USER, card).reply_markup)][-1] == (
        "🔕 Mute #microbiology"
    )


async def test_quiet_hours_and_silent_mode(harness: Harness) -> None:
    (quiet,) = await harness.send(USER, "/quiet 22-7")
    assert "Quiet hours 22:00–07:00" in (quiet.plain_text or "")
    chat = await harness.chat(USER)
    assert chat is not None
    assert (chat.quiet_start, chat.quiet_end) == (22, 7)
    (bad,) = await harness.send(USER, "/quiet 25-3")
    assert "Usage" in (bad.plain_text or "")
    (off,) = await harness.send(USER, "/quiet off")
    assert "off" in (off.plain_text or "")

    (settings,) = await harness.send(USER, "/settings")
    await harness.click(USER, settings, kb.encode(kb.SetSilent(USER, True)))

    chat = await harness.chat(USER)
    assert chat is not None
    assert (chat.quiet_start, chat.quiet_end, chat.silent) == (None, None, True)
    assert "🔕 Silent: on" in [t for t, _ in buttons(harness.latest(USER, settings).reply_markup)]


# ------------------------------------------------------------------------------ groups


async def test_a_failed_member_check_says_so_instead_of_refusing(
    harness: Harness, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    group = -100800
    fake.register_chat(group, chat_type="supergroup", title="Lab group")
    fake.set_chat_admins(group, [7])
    fake.fail_chat(group, "server_error", methods=["getChatMember"], times=2)

    (reply,) = await harness.send(group, "/settings", user_id=7)
    (settings,) = await harness.send(group, "/settings", user_id=7)
    fake.fail_chat(group, "server_error", methods=["getChatMember"], times=1)
    answer = await harness.click(group, settings, kb.encode(kb.SetPaused(group, True)), user_id=7)

    assert "couldn't check whether you are an admin" in (reply.plain_text or "")
    assert "Only this group's admins" not in (reply.plain_text or "")
    assert "couldn't check" in (answer.text or "")
    assert any("getChatMember" in r.message for r in caplog.records)
    assert "couldn't check" in (settings.plain_text or "")  # the second failure
    (works,) = await harness.send(group, "/settings", user_id=7)
    assert "Settings" in (works.plain_text or "")


async def test_group_answers_speak_of_the_group_and_anyone_may_ask_for_a_list(
    harness: Harness, fake: FakeTelegram
) -> None:
    group = -100900
    fake.register_chat(group, chat_type="supergroup", title="Lab group")
    fake.set_chat_admins(group, [7])
    await seed_article(harness, "Telescope first light", topics=["space"])
    await harness.send(group, "/subscribe telescope", user_id=7)

    (subs,) = await harness.send(group, "/mysubs", user_id=USER)
    (listing,) = await harness.send(group, "/latest", user_id=USER)
    (ask,) = await harness.send(group, "/unsubscribe all", user_id=7)

    assert "This group's subscriptions" in (subs.plain_text or "")
    assert "Newest in this group's subscriptions" in (listing.plain_text or "")
    assert entries(listing) == ["1. Telescope first light"]
    assert "this group's topics" in (ask.plain_text or "")


# ------------------------------------------------------------------------------ caps


def long_rule(n: int) -> str:
    """A keyword rule of close to the 100 characters a rule may have."""
    query = (
        f'"alpha{n} beta gamma delta epsilon omicron" zeta{n} eta{n} theta{n} iota{n} kappa{n}'
        f" lambda{n} -mu{n} -nu{n}"
    )
    return str(parse_rule(query))


async def test_keyword_rules_stop_at_the_cap_and_every_list_of_them_fits_telegram(
    harness: Harness,
) -> None:
    await harness.send(USER, "/start")
    async with harness.sessions() as s, s.begin():
        for topic in TOPICS:
            await chats_db.add_topic(s, USER, topic.slug)
        for n in range(MAX_RULES):
            await chats_db.add_rule(s, USER, str(parse_rule(long_rule(n))), now=NOW)
    assert min(len(long_rule(n)) for n in range(MAX_RULES)) >= 90

    (full,) = await harness.send(USER, "/subscribe crispr")
    (again,) = await harness.send(USER, f"/subscribe {long_rule(3)}")
    subs = await harness.send(USER, "/mysubs", replies=2)
    (menu,) = await harness.send(USER, "/unsubscribe")

    assert f"follows {MAX_RULES} keyword rules" in (full.plain_text or "")
    assert "already follow" in (again.plain_text or "")
    assert len(await harness.rules(USER)) == MAX_RULES
    listed = "\n".join(m.plain_text or "" for m in subs)
    assert all(long_rule(n) in listed for n in range(MAX_RULES))
    assert all(utf16_length(m.plain_text or "") <= 4096 for m in subs)
    seen: list[kb.Action] = []
    shown = menu
    for page in range(1, 10):  # page forward until the last page, collecting removals
        seen += [
            a
            for _, d in buttons(shown.reply_markup)
            if isinstance(a := kb.parse(d), kb.RemoveTopic | kb.RemoveRule)
        ]
        forward = [d for t, d in buttons(shown.reply_markup) if t == "▶"]
        if not forward:
            break
        await harness.click(USER, shown, forward[0])
        shown = harness.latest(USER, menu)
        assert f"{page + 1}/8" in [t for t, _ in buttons(shown.reply_markup)]
    assert len(seen) == len(TOPICS) + MAX_RULES


# ------------------------------------------------------------------------------ deep links


@pytest.mark.parametrize(
    ("payload", "subscribed"),
    [
        ("topic_microbiology", ["microbiology"]),
        ("topic_cell_biology", ["cell-biology"]),
        ("topic_precision-medicine", ["precision-medicine"]),
        ("topic_astrology", []),
        ("hello", []),
    ],
)
async def test_a_start_link_with_a_topic_subscribes_to_it_and_shows_it_chosen(
    harness: Harness, payload: str, subscribed: list[str]
) -> None:
    (welcome,) = await harness.send(USER, f"/start {payload}")

    assert await harness.topics(USER) == subscribed
    chosen = [t for t, _ in buttons(welcome.reply_markup) if t.startswith("✅")]
    if subscribed:
        topic = next(t for t in TOPICS if t.slug == subscribed[0])
        assert f"Subscribed to {kb.topic_label(topic)}" in (welcome.plain_text or "")
        assert chosen == [f"✅ {kb.topic_label(topic)}"]  # its page of the picker is shown
    else:
        assert chosen == []


async def test_help_and_start_offer_a_link_to_add_the_bot_to_a_group(harness: Harness) -> None:
    link = "https://t.me/sciforum_test_bot?startgroup=start"
    (welcome,) = await harness.send(USER, "/start")
    (help_,) = await harness.send(USER, "/help")
    for message in (welcome, help_):
        urls = [e.get("url") for e in message.entities if e["type"] == "text_link"]
        assert link in urls


# ------------------------------------------------------------------------------ paced replies


@pytest.fixture
async def paced(template_db: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with the reply limiter and throttle, against a fake enforcing Telegram's
    limits; network retries are quick."""
    with FakeTelegram(enforce_limits=True, limits=Limits()) as fake:
        limits = RateLimits()
        replies = ReplyLimiter(
            SendBudget(limits.outbox_per_second),
            ChatPacer(limits),
            limits=limits,
            retries=ReplyRetries(max_attempts=3, backoff=0.05),
        )
        async with running_bot(
            template_db, tmp_path, fake, replies=replies, throttle=Throttle()
        ) as found:
            yield found


def limiter(harness: Harness) -> ReplyLimiter:
    found = harness.app.bot.rate_limiter
    assert isinstance(found, ReplyLimiter)
    return found


async def test_a_reply_refused_with_429_waits_as_told_and_arrives(paced: Harness) -> None:
    paced.fake.fail_chat(USER, "retry_after", retry_after=1, times=1)

    (reply,) = await paced.send(USER, "/help")

    assert "Commands" in (reply.plain_text or "")
    stats = limiter(paced).stats
    assert (stats.too_many_requests, stats.retried, stats.failed) == (1, 1, 0)
    refused, accepted = paced.fake.calls("sendMessage")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.timestamp - refused.timestamp >= 1.0


async def test_a_reply_failing_on_the_network_is_retried_then_given_up_logged_and_counted(
    paced: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    paced.fake.fail_chat(USER, "server_error", times=1)
    (reply,) = await paced.send(USER, "/help")
    assert "Commands" in (reply.plain_text or "")

    paced.fake.fail_chat(USER, "server_error", times=3)
    paced.fake.user_sends(USER, "/help")
    await paced.fake.wait_until_async(lambda: limiter(paced).stats.failed == 1, timeout=10)
    await asyncio.sleep(0.2)

    assert len(paced.fake.messages(USER)) == 1  # the second answer never got through
    assert limiter(paced).stats.retried == 3  # once for the first, twice for the second
    assert paced.app.bot_data[ERRORS_KEY] == 1
    assert any("failed after 3 tries" in r.message for r in caplog.records)


async def test_answers_to_one_chat_are_paced_within_its_limit(paced: Harness) -> None:
    for topic in ("ai", "space", "physics"):
        paced.fake.user_sends(USER, f"/start topic_{topic}")

    await paced.fake.wait_for_messages_async(USER, 3, timeout=10)

    stats = paced.fake.stats()
    assert (stats.too_many_requests, stats.max_chat_rate) == (0, 1)
    assert await paced.topics(USER) == ["ai", "physics", "space"]


async def routed_to(harness: Harness, article_id: int) -> set[int]:
    async with harness.sessions() as s:
        return {chat for chat, _, _ in await routes_db.matched_pairs(s, [article_id])}


async def test_a_subscription_made_or_stopped_by_command_is_seen_by_the_next_routing(
    harness: Harness,
) -> None:
    before = await seed_article(harness, "CRISPR screen zero", topics=[])
    await route_articles(harness.sessions, [before], now=NOW)  # the index is built: empty
    await harness.send(USER, "/subscribe crispr")
    assert await harness.rules(USER) == ["crispr"]
    first = await seed_article(harness, "CRISPR screen one", topics=[])
    await route_articles(harness.sessions, [first], now=NOW)
    assert await routed_to(harness, first) == {USER}

    (ask,) = await harness.send(USER, "/stop")
    await harness.click(USER, ask, data_of(ask, lambda a: isinstance(a, kb.ConfirmStop)))
    assert await harness.chat(USER) is None
    second = await seed_article(harness, "CRISPR screen two", topics=[])
    await route_articles(harness.sessions, [second], now=NOW)

    assert await routed_to(harness, second) == set()
