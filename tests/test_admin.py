"""Admin side: the Telegram HTML check, the /feeds and /stats rendering, ``db.stats`` on both
engines, and the admin commands end to end against the fake Bot API (PTB's real HTTP stack)
with feeds served from the local feed server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, ApplicationBuilder

from bot import admin
from bot.admin import HtmlError, check_telegram_html, format_age, render_feeds, split_lines
from bot.ingest import Ingestor
from bot.services import Services
from bot.settings import Settings
from db import stats
from db.models import (
    Article,
    ArticleSource,
    Broadcast,
    Chat,
    ChatRule,
    ChatTopic,
    Delivery,
    Feed,
)
from summaries.fetch import Fetcher, FetchLimits
from tests.conftest import FIXTURES
from tests.fakebot import FakeTelegram, SentMessage
from tests.feedserver import FeedServer

HERE = FIXTURES / "admin"
ADMIN = 1001
STRANGER = 2002
# A Wednesday: the UTC week began on Monday 2025-06-09.
NOW = datetime(2025, 6, 11, 15, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- HTML check


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("plain text", "plain text"),
        ("<b>bold</b> and <strong>strong</strong>", "bold and strong"),
        ("<i>a</i><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>", "abcdefg"),
        ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link"),
        ("<code>x &lt; y</code>", "x < y"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote>quoted <b>bold</b></blockquote>", "quoted bold"),
        ("<blockquote expandable>long</blockquote>", "long"),
        ("<tg-spoiler>secret</tg-spoiler>", "secret"),
        ('<span class="tg-spoiler">secret</span>', "secret"),
        ("<b>bold <i>both</i></b>", "bold both"),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;", '<>&"AB'),
        ("<B>upper case tags</B>", "upper case tags"),
        ("a > b", "a > b"),
        ("😀" * 2048, "😀" * 2048),  # 4096 UTF-16 units: exactly the limit
    ],
)
def test_valid_telegram_html_passes_and_yields_its_visible_text(text: str, visible: str) -> None:
    assert check_telegram_html(text) == visible


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>bold", "<b> is never closed"),
        ("<b><i>x</b></i>", "</b> closes before </i>"),
        ("x</b>", "</b> has no matching <b>"),
        ("line<br>break", "unsupported tag <br> (use a line break instead)"),
        ("<div>x</div>", "unsupported tag <div>"),
        ("<script>alert(1)</script>", "unsupported tag <script>"),
        ("<span>x</span>", 'needs class="tg-spoiler"'),
        ("<a>x</a>", "<a> needs an href"),
        ('<a href="javascript:alert(1)">x</a>', "not javascript:"),
        ('<a href="https://a.org"><a href="https://b.org">x</a></a>', "link inside another link"),
        ("<code><b>x</b></code>", "<b> inside <code>"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "quotes can't be nested"),
        ("<b/>", "self-closing <b/>"),
        ("<!-- note -->x", "comments"),
        ("1 < 2", "bare “<”"),
        ("fish & chips", "bare “&”"),
        ("&nbsp;", "unsupported entity &nbsp;"),
        ("&amp", "bare “&”"),
        ("&#0;", "invalid character reference &#0;"),
        ("&#xD800;", "invalid character reference"),
        ("x</>", "empty end tag"),
        ("<b> </b>", "the message is empty"),
        ("", "the message is empty"),
        ("a" * 4097, "4097 characters long"),
        ("😀" * 2049, "4098 characters long"),
        ("<b>" + "a" * 4097 + "</b>", "4097 characters long"),
    ],
)
def test_invalid_telegram_html_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(HtmlError) as caught:
        check_telegram_html(text)
    assert reason in str(caught.value)


def test_markup_does_not_count_towards_the_length_limit() -> None:
    text = "<b>" + "a" * 4000 + "</b>" + "<i>" + "b" * 96 + "</i>"
    assert len(check_telegram_html(text)) == 4096


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("lines", "limit", "expected"),
    [
        ([], 10, []),
        (["abc"], 10, ["abc"]),
        (["abc", "def"], 7, ["abc\ndef"]),
        (["abc", "def"], 6, ["abc", "def"]),
        (["abcdefghij", "k"], 10, ["abcdefghij", "k"]),
        (["😀😀", "a"], 5, ["😀😀", "a"]),  # the emoji pair is 4 UTF-16 units
    ],
)
def test_lines_are_split_into_messages_under_the_limit_never_inside_a_line(
    lines: list[str], limit: int, expected: list[str]
) -> None:
    assert split_lines(lines, limit=limit) == expected


@pytest.mark.parametrize(
    ("then", "expected"),
    [
        (None, "never checked"),
        (NOW - timedelta(seconds=30), "just now"),
        (NOW - timedelta(minutes=5), "5 min ago"),
        (NOW - timedelta(hours=3, minutes=59), "3 h ago"),
        (NOW - timedelta(days=2, hours=1), "2 d ago"),
        (NOW + timedelta(minutes=5), "just now"),  # a clock skew is not "in -5 min"
    ],
)
def test_check_age_reads_like_a_person_would_say_it(then: datetime | None, expected: str) -> None:
    assert format_age(then, NOW) == expected


def test_a_long_feed_list_is_split_into_messages_each_under_4096() -> None:
    feeds = [
        Feed(
            id=i,
            url=f"https://example.org/{'x' * 60}/{i}.rss",
            title=f"Feed <{i}> & co " + "t" * 40,
            created_at=NOW,
            last_checked=NOW,
        )
        for i in range(1, 201)
    ]
    messages = render_feeds(feeds, {}, now=NOW)
    assert len(messages) > 1
    for text in messages:
        assert len(check_telegram_html(text)) <= 4096
    joined = "\n".join(messages)
    assert all(f"#{i} " in joined for i in range(1, 201))
    assert "Feed &lt;7&gt; &amp; co" in joined  # titles from feeds are escaped


# --------------------------------------------------------------------------- db.stats


def _article(n: int, first_seen: datetime, *, is_event: bool = False) -> Article:
    return Article(
        url=f"https://news.example.org/{n}",
        title=f"Article {n}",
        published=first_seen,
        first_seen=first_seen,
        text=f"text {n}",
        content_hash=f"{n:064x}",
        is_event=is_event,
    )


def _delivery(
    chat_id: int, status: str, *, sent_at: datetime | None = None, kind: str = "notice"
) -> Delivery:
    return Delivery(
        chat_id=chat_id,
        kind=kind,
        text="hello",
        status=status,
        next_attempt_at=NOW,
        created_at=NOW - timedelta(days=1),
        sent_at=sent_at,
    )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """A small world with one of everything /stats and /feeds count; returns feed ids."""
    async with sessions() as session, session.begin():
        chats = [
            Chat(id=1, type="private", created_at=NOW),
            Chat(id=2, type="private", created_at=NOW),
            Chat(id=-3, type="group", title="Lab", created_at=NOW),
            Chat(id=-1004, type="supergroup", created_at=NOW, active=False),
            Chat(id=-1005, type="channel", created_at=NOW),
            Chat(id=6, type="private", created_at=NOW, active=False, deactivated_reason="blocked"),
        ]
        session.add_all(chats)
        await session.flush()
        session.add_all(
            [
                ChatTopic(chat_id=1, slug="ai"),
                ChatTopic(chat_id=1, slug="space"),
                ChatTopic(chat_id=2, slug="ai"),
                ChatTopic(chat_id=-3, slug="climate"),
                ChatTopic(chat_id=6, slug="ai"),  # inactive chat: not counted
                ChatRule(chat_id=1, query="crispr", created_at=NOW),
                ChatRule(chat_id=1, query='"gene editing" -plants', created_at=NOW),
                ChatRule(chat_id=6, query="fusion", created_at=NOW),  # inactive chat
            ]
        )
        articles = [
            _article(1, datetime(2025, 6, 11, 10, 0, tzinfo=UTC)),
            _article(2, datetime(2025, 6, 11, 0, 0, tzinfo=UTC), is_event=True),
            _article(3, datetime(2025, 6, 10, 12, 0, tzinfo=UTC), is_event=True),
            _article(4, datetime(2025, 6, 9, 0, 0, tzinfo=UTC)),
            _article(5, datetime(2025, 6, 8, 23, 59, tzinfo=UTC), is_event=True),  # last week
        ]
        session.add_all(articles)
        feeds = [
            Feed(
                url="https://ok.example.org/rss",
                title="Fine Feed",
                created_at=NOW,
                last_checked=NOW - timedelta(minutes=5),
            ),
            Feed(url="https://new.example.org/rss", title="New Feed", created_at=NOW),
            Feed(
                url="https://flaky.example.org/rss",
                title="Flaky Feed",
                created_at=NOW,
                last_checked=NOW - timedelta(hours=2),
                consecutive_errors=3,
                last_error="HTTP 503 Service Unavailable",
            ),
            Feed(
                url="https://gone.example.org/rss",
                title="Gone Feed",
                created_at=NOW,
                last_checked=NOW - timedelta(days=3),
                consecutive_errors=10,
                enabled=False,
                disabled_reason="10 errors in a row: HTTP 404 Not Found",
            ),
        ]
        session.add_all(feeds)
        await session.flush()
        ok, _new, flaky, _gone = (feed.id or 0 for feed in feeds)
        a1, a2, a5 = (articles[i].id or 0 for i in (0, 1, 4))
        session.add_all(
            [
                ArticleSource(article_id=a1, feed_id=ok, guid="a", seen_at=NOW),
                ArticleSource(
                    article_id=a5, feed_id=ok, guid="b", seen_at=NOW - timedelta(days=10)
                ),
                ArticleSource(article_id=a2, feed_id=flaky, guid="c", seen_at=NOW),
                _delivery(1, "sent", sent_at=datetime(2025, 6, 11, 9, 0, tzinfo=UTC)),
                _delivery(1, "sent", sent_at=datetime(2025, 6, 10, 23, 0, tzinfo=UTC)),
                _delivery(2, "pending"),
                _delivery(2, "pending"),
                _delivery(-3, "failed"),
                _delivery(6, "blocked"),
                _delivery(2, "cancelled"),
            ]
        )
        return {feed.title or "": feed.id or 0 for feed in feeds}


EXPECTED = stats.Overview(
    chats=stats.ChatCounts(
        active={"private": 2, "group": 1, "channel": 1},
        inactive={"private": 1, "supergroup": 1},
    ),
    topic_chats={"ai": 2, "climate": 1, "space": 1},
    rules=2,
    articles=stats.ArticleCounts(today=2, week=4, forums_week=2),
    deliveries=stats.DeliveryCounts(sent_today=1, pending=2, failed=1, blocked=1),
    feeds=stats.FeedHealthCounts(ok=2, failing=1, disabled=1),
)


async def test_overview_counts_the_seeded_world_on_each_engine(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    async with sessions() as session:
        view = await stats.overview(session, now=NOW)
    assert view == EXPECTED
    assert list(view.topic_chats) == ["ai", "climate", "space"]  # most popular first


async def test_daily_series_counts_articles_by_topic_and_sends_by_day_on_each_engine(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    async with sessions() as session, session.begin():
        tagged = _article(9, datetime(2025, 6, 10, 8, 0, tzinfo=UTC))
        tagged.topics = ["space", "physics"]
        session.add(tagged)
    async with sessions() as session:
        series = await stats.daily_series(session, now=NOW, days=7)
    assert series.days[-1] == NOW.date() == date(2025, 6, 11)
    assert len(series.days) == len(series.deliveries) == 7
    # 8-11 June: untagged articles 5 (8th), 4 (9th), 3 (10th), 1 and 2 (11th).
    assert series.articles[""][-4:] == (1, 1, 1, 2)
    assert series.articles["space"][-4:] == (0, 0, 1, 0)
    assert "physics" not in series.articles  # counted under its first topic only
    assert series.deliveries[-2:] == (1, 1)  # 10 June 23:00 and 11 June 09:00


def test_the_stats_chart_is_a_png_of_the_busiest_topics() -> None:
    from bot.charts import MAX_TOPICS, stats_chart

    days = tuple(date(2025, 6, d) for d in range(1, 31))
    articles = {slug: tuple(range(30)) for slug in ("ai", "space", "physics", "math", "earth")}
    articles |= {"health": (1,) * 30, "ecology": (2,) * 30, "": (3,) * 30}
    series = stats.DailySeries(days=days, articles=articles, deliveries=tuple(range(30)))
    png = stats_chart(series)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert stats_chart(series) == png  # deterministic: no timestamps in it
    assert len(articles) > MAX_TOPICS
    empty = stats.DailySeries(days=days, articles={}, deliveries=(0,) * 30)
    assert stats_chart(empty).startswith(b"\x89PNG")


async def test_overview_of_an_empty_database_is_all_zero(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        view = await stats.overview(session, now=NOW)
    assert view.chats.total_active == view.chats.total_inactive == view.rules == 0
    assert view.articles == stats.ArticleCounts(0, 0, 0)
    assert view.deliveries == stats.DeliveryCounts(0, 0, 0, 0)
    assert view.feeds == stats.FeedHealthCounts(0, 0, 0)


async def test_feed_article_counts_split_all_time_and_last_seven_days(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions)
    async with sessions() as session:
        counts = await stats.feed_article_counts(session, now=NOW)
    assert counts == {
        ids["Fine Feed"]: stats.FeedArticleCounts(total=2, week=1),
        ids["Flaky Feed"]: stats.FeedArticleCounts(total=1, week=1),
    }


@pytest.mark.parametrize(
    ("now", "day", "week"),
    [
        (NOW, datetime(2025, 6, 11, tzinfo=UTC), datetime(2025, 6, 9, tzinfo=UTC)),
        (
            datetime(2025, 6, 9, 0, 0, tzinfo=UTC),
            datetime(2025, 6, 9, tzinfo=UTC),
            datetime(2025, 6, 9, tzinfo=UTC),
        ),
        (  # Monday morning in Tokyo is still Sunday evening in UTC
            datetime(2025, 6, 15, 21, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo")),
            datetime(2025, 6, 15, tzinfo=UTC),
            datetime(2025, 6, 9, tzinfo=UTC),
        ),
    ],
)
def test_days_and_weeks_start_at_midnight_utc_on_monday(
    now: datetime, day: datetime, week: datetime
) -> None:
    assert (stats.day_start(now), stats.week_start(now)) == (day, week)


# --------------------------------------------------------------------------- end to end


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingOutbox:
    """Stands in for bot.delivery.Outbox: the tests check the rows it would send."""

    wakes: int = 0

    def wake(self) -> None:
        self.wakes += 1


@dataclass
class Harness:
    fake: FakeTelegram
    feeds: FeedServer
    app: Application  # type: ignore[type-arg]
    sessions: async_sessionmaker[AsyncSession]
    outbox: RecordingOutbox
    clock: Clock

    async def send(
        self, text: str, *, user: int = ADMIN, chat: int | None = None, replies: int = 1
    ) -> list[SentMessage]:
        """The user sends ``text``; returns the bot's ``replies`` new messages to that chat."""
        chat_id = chat if chat is not None else user
        before = len(self.fake.messages(chat_id))
        self.fake.user_sends(chat_id, text, user_id=user)
        sent = await self.fake.wait_for_messages_async(chat_id, before + replies, timeout=10)
        return sent[before:]

    async def click(self, message: SentMessage, data: str, *, user: int = ADMIN) -> str | None:
        """Click a button; returns the callback answer's text."""
        before = len(self.fake.callback_answers())
        self.fake.user_clicks(message.chat_id, message.message_id, data, user_id=user)
        await self.fake.wait_until_async(
            lambda: len(self.fake.callback_answers()) > before, timeout=10
        )
        return self.fake.callback_answers()[before].text

    async def idle(self) -> None:
        """Wait until every queued update was fetched and handled."""
        await self.fake.wait_until_async(lambda: self.fake.pending_updates() == 0, timeout=10)
        await asyncio.sleep(0.2)

    async def rows(self, model: type[Any]) -> Sequence[Any]:
        async with self.sessions() as session:
            return (await session.exec(select(model).order_by(col(model.id)))).all()

    async def broadcast_deliveries(self) -> list[Delivery]:
        return [d for d in await self.rows(Delivery) if d.kind == "broadcast"]


@pytest.fixture
async def sqlite_sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from db.engine import create_engine, session_factory
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'admin.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def bot(sqlite_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Harness]:
    clock = Clock(NOW)
    outbox = RecordingOutbox()
    with FakeTelegram() as fake, FeedServer() as feeds:
        # The feed server is on loopback.
        limits = FetchLimits(total_timeout=10, allow_private_addresses=True)
        async with Fetcher(limits, trust_env=False) as fetcher:
            app = (
                ApplicationBuilder()
                .token(fake.token)
                .base_url(fake.base_url)
                .base_file_url(fake.base_file_url)
                .build()
            )
            app.add_handlers(admin.handlers())
            # /addfeed parses in the ingestor's worker pool (threads here), as in production.
            app.bot_data["ingestor"] = Ingestor(
                sqlite_sessions, fetcher, interval=900, max_errors=10, route=False
            )
            app.bot_data["services"] = Services(
                settings=Settings(_env_file=None, admin_ids=frozenset({ADMIN})),  # type: ignore[call-arg]  # pydantic-settings init kwarg
                sessions=sqlite_sessions,
                fetcher=fetcher,
                outbox=outbox,  # type: ignore[arg-type]  # a stand-in with wake()
                clock=clock,
            )
            await app.initialize()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield Harness(fake, feeds, app, sqlite_sessions, outbox, clock)
            finally:
                await admin.stop_followers(app.bot_data)
                await asyncio.wait_for(app.updater.stop(), 10)
                await asyncio.wait_for(app.stop(), 10)
                await asyncio.wait_for(app.shutdown(), 10)


def _plain(messages: Sequence[SentMessage]) -> list[str | None]:
    return [m.plain_text for m in messages]


def _buttons(message: SentMessage) -> list[tuple[str, str]]:
    assert message.reply_markup is not None
    return [
        (button["text"], button["callback_data"])
        for row in message.reply_markup["inline_keyboard"]
        for button in row
    ]


ADMIN_COMMANDS = [
    "/broadcast",
    "/broadcast <b>hello</b> everyone",
    "/broadcast_cancel",
    "/feeds",
    "/addfeed {feed}",
    "/addfeed {feed} #microbiology",
    "/feedtopics 1 #ai",
    "/removefeed 1",
    "/stats",
]


async def test_a_non_admin_gets_not_allowed_for_every_admin_command_and_nothing_happens(
    bot: Harness,
) -> None:
    ids = await seed(bot.sessions)
    feed_url = bot.feeds.add("/new.rss", HERE / "forums.rss")
    for command in ADMIN_COMMANDS:
        (reply,) = await bot.send(command.format(feed=feed_url), user=STRANGER)
        assert (reply.text, reply.parse_mode, reply.reply_markup) == ("Not allowed.", None, None)
    # /broadcast alone left no conversation behind: the next text gets no answer.
    bot.fake.user_sends(STRANGER, "<b>hello</b>", user_id=STRANGER)
    await bot.idle()
    assert len(bot.fake.messages(STRANGER)) == len(ADMIN_COMMANDS)
    assert bot.feeds.hits("/new.rss") == 0
    assert await bot.rows(Broadcast) == []
    assert [f.id for f in await bot.rows(Feed)] == sorted(ids.values())
    assert all(f.topics is None for f in await bot.rows(Feed))


async def test_a_non_admin_in_a_group_is_refused_too(bot: Harness) -> None:
    (reply,) = await bot.send("/stats", user=STRANGER, chat=-500)
    assert reply.text == "Not allowed."


async def test_a_non_admin_clicking_the_send_button_is_refused_and_nothing_is_sent(
    bot: Harness,
) -> None:
    await seed(bot.sessions)
    _preview, confirm = await bot.send("/broadcast hello", replies=2)
    send_data = _buttons(confirm)[0][1]
    assert await bot.click(confirm, send_data, user=STRANGER) == "Not allowed."
    (draft,) = await bot.rows(Broadcast)
    assert draft.status == "draft"
    assert await bot.broadcast_deliveries() == []
    assert bot.outbox.wakes == 0


async def test_broadcast_with_invalid_html_is_refused_with_the_reason(bot: Harness) -> None:
    (reply,) = await bot.send("/broadcast <b>Big news")
    assert reply.text is not None
    assert reply.text.startswith("Can't send this: <b> is never closed.")
    (reply,) = await bot.send("/broadcast Save the date<br>June 1")
    assert reply.text is not None
    assert "unsupported tag <br>" in reply.text
    assert await bot.rows(Broadcast) == []


async def test_broadcast_previews_then_confirming_queues_one_delivery_per_active_chat(
    bot: Harness,
) -> None:
    await seed(bot.sessions)  # 4 active chats, 2 inactive
    text = '<b>New:</b> weekly digests &amp; <a href="https://example.org/faq">FAQ</a>\nEnjoy!'
    preview, confirm = await bot.send(f"/broadcast {text}", replies=2)
    assert (preview.text, preview.parse_mode) == (text, "HTML")
    assert preview.plain_text == "New: weekly digests & FAQ\nEnjoy!"
    assert confirm.plain_text == "☝️ That is the preview. Send it to 4 active chats?"
    (send_button, cancel_button) = _buttons(confirm)
    assert (send_button[0], cancel_button[0]) == ("✅ Send", "✖ Cancel")

    # Two quick clicks on ✅: processed one after the other, the second changes nothing.
    bot.fake.user_clicks(ADMIN, confirm.message_id, send_button[1], user_id=ADMIN)
    bot.fake.user_clicks(ADMIN, confirm.message_id, send_button[1], user_id=ADMIN)
    await bot.fake.wait_until_async(lambda: len(bot.fake.callback_answers()) == 2, timeout=10)
    answers = [a.text for a in bot.fake.callback_answers()]
    assert answers[0] == "Sending…"
    assert answers[1] is not None
    assert answers[1].startswith("Already sending")

    (broadcast,) = await bot.rows(Broadcast)
    assert (broadcast.status, broadcast.text, broadcast.admin_id) == ("sending", text, ADMIN)
    assert (broadcast.progress_chat_id, broadcast.progress_message_id) == (
        ADMIN,
        confirm.message_id,
    )
    deliveries = await bot.broadcast_deliveries()
    assert sorted(d.chat_id for d in deliveries) == [-1005, -3, 1, 2]
    assert {(d.kind, d.status, d.text, d.broadcast_id) for d in deliveries} == {
        ("broadcast", "pending", text, broadcast.id)
    }
    assert bot.outbox.wakes == 1
    edits = [m for m in bot.fake.messages(ADMIN, include_edits=True) if m.is_edit]
    assert edits[0].message_id == confirm.message_id
    assert edits[0].plain_text == f"📣 Broadcast #{broadcast.id}: sending to 4 chats…"
    assert edits[0].reply_markup is None  # the buttons are gone


async def test_a_confirmed_broadcast_reaches_each_active_chat_once_through_the_outbox(
    bot: Harness,
) -> None:
    from bot.delivery import Outbox

    async with bot.sessions() as session, session.begin():
        session.add_all(
            [
                Chat(id=1, type="private", created_at=NOW),
                Chat(id=-3, type="group", created_at=NOW),
                Chat(id=-1005, type="channel", created_at=NOW),
                Chat(id=6, type="private", created_at=NOW, active=False),
            ]
        )
    _preview, confirm = await bot.send("/broadcast <b>Hello</b> from the team", replies=2)
    await bot.click(confirm, _buttons(confirm)[0][1])
    settled = await Outbox(bot.sessions, bot.app.bot, clock=bot.clock).drain(timeout=10)
    assert settled == 3
    received = {
        chat_id: _plain(messages)
        for chat_id, messages in bot.fake.all_messages().items()
        if chat_id != ADMIN
    }
    assert received == {chat: ["Hello from the team"] for chat in (1, -3, -1005)}
    assert {d.status for d in await bot.broadcast_deliveries()} == {"sent"}


async def test_broadcast_alone_asks_for_the_text_and_takes_the_next_message(
    bot: Harness,
) -> None:
    (prompt,) = await bot.send("/broadcast")
    assert prompt.plain_text is not None
    assert prompt.plain_text.startswith("Send the broadcast text as your next message.")
    (refusal,) = await bot.send("<i>Conference season")
    assert refusal.text is not None
    assert "<i> is never closed" in refusal.text
    preview, confirm = await bot.send("<i>Conference season</i> is here", replies=2)
    assert preview.plain_text == "Conference season is here"
    assert confirm.plain_text == "☝️ That is the preview. Send it to 0 active chats?"
    # The conversation is over: the next text is not taken as a broadcast.
    bot.fake.user_sends(ADMIN, "thanks", user_id=ADMIN)
    await bot.idle()
    assert len(bot.fake.messages(ADMIN)) == 4
    (draft,) = await bot.rows(Broadcast)
    assert (draft.text, draft.status) == ("<i>Conference season</i> is here", "draft")


async def test_cancel_ends_the_broadcast_conversation(bot: Harness) -> None:
    await bot.send("/broadcast")
    (reply,) = await bot.send("/cancel")
    assert reply.text == "Broadcast not started."
    bot.fake.user_sends(ADMIN, "just chatting", user_id=ADMIN)
    await bot.idle()
    assert len(bot.fake.messages(ADMIN)) == 2
    assert await bot.rows(Broadcast) == []


async def test_the_cancel_button_drops_the_draft_and_a_late_send_click_does_nothing(
    bot: Harness,
) -> None:
    await seed(bot.sessions)
    _preview, confirm = await bot.send("/broadcast hello", replies=2)
    (send_data, cancel_data) = (data for _label, data in _buttons(confirm))
    assert await bot.click(confirm, cancel_data) == "Cancelled."
    edit = bot.fake.messages(ADMIN, include_edits=True)[-1]
    assert (edit.is_edit, edit.plain_text) == (True, "✖ Broadcast cancelled; nothing was sent.")
    late = await bot.click(confirm, send_data)
    assert late is not None
    assert late.startswith("Already cancelled")
    (broadcast,) = await bot.rows(Broadcast)
    assert broadcast.status == "cancelled"
    assert await bot.broadcast_deliveries() == []
    assert bot.outbox.wakes == 0


async def test_broadcast_cancel_stops_the_running_broadcast_and_counts_dropped_messages(
    bot: Harness,
) -> None:
    (reply,) = await bot.send("/broadcast_cancel")
    assert reply.text == "No broadcast is running."
    await seed(bot.sessions)
    _preview, confirm = await bot.send("/broadcast hello", replies=2)
    await bot.click(confirm, _buttons(confirm)[0][1])
    async with bot.sessions() as session, session.begin():
        first = (await session.exec(select(Delivery).where(Delivery.kind == "broadcast"))).first()
        assert first is not None
        first.status, first.sent_at = "sent", NOW  # one already went out
    (reply,) = await bot.send("/broadcast_cancel")
    (broadcast,) = await bot.rows(Broadcast)
    assert reply.text == f"Broadcast #{broadcast.id} cancelled: 3 pending messages dropped."
    assert broadcast.status == "cancelled"
    statuses = sorted(d.status for d in await bot.broadcast_deliveries())
    assert statuses == ["cancelled", "cancelled", "cancelled", "sent"]


async def test_addfeed_checks_a_good_feed_saves_it_and_reports_duplicates(bot: Harness) -> None:
    url = bot.feeds.add("/forums.rss", HERE / "forums.rss")
    (reply,) = await bot.send(f"/addfeed {url}")
    (feed,) = await bot.rows(Feed)
    assert reply.plain_text is not None
    assert reply.plain_text.startswith(
        f"✅ Added feed #{feed.id}: Science Forums Newsroom — 5 entries now."
    )
    assert (feed.url, feed.title, feed.enabled) == (url, "Science Forums Newsroom", True)
    assert feed.next_check == NOW  # due at once: the next ingest pass picks it up
    (again,) = await bot.send(f"/addfeed {url}")
    assert again.plain_text == f"Already there: feed #{feed.id} Science Forums Newsroom."
    assert bot.feeds.hits("/forums.rss") == 1  # a known URL is not fetched again
    assert len(await bot.rows(Feed)) == 1


async def test_addfeed_refuses_an_html_page_with_the_parse_error(bot: Harness) -> None:
    url = bot.feeds.add("/", HERE / "page.html", content_type="text/html; charset=utf-8")
    (reply,) = await bot.send(f"/addfeed {url}")
    assert reply.text == f"Not added: not a usable feed: an HTML page, not a feed: {url}"
    assert await bot.rows(Feed) == []


async def test_addfeed_refuses_a_missing_page(bot: Harness) -> None:
    url = bot.feeds.url("/missing.rss")
    bot.feeds.fail("/missing.rss", 404, times=None)
    (reply,) = await bot.send(f"/addfeed {url}")
    assert reply.text is not None
    assert reply.text.startswith(f"Not added: could not fetch {url}: ")
    assert "404" in reply.text
    assert await bot.rows(Feed) == []


@pytest.mark.parametrize(
    "command", ["/addfeed", "/addfeed not-a-url", "/addfeed https://a.org/1 https://a.org/2"]
)
async def test_addfeed_without_one_http_url_answers_with_usage(bot: Harness, command: str) -> None:
    (reply,) = await bot.send(command)
    assert reply.text == admin.ADDFEED_USAGE
    assert reply.text.startswith("Usage: /addfeed URL [#topic ...]")


async def test_addfeed_with_topics_saves_them_and_feeds_shows_them(bot: Harness) -> None:
    url = bot.feeds.add("/forums.rss", HERE / "forums.rss")
    (reply,) = await bot.send(f"/addfeed {url} #microbiology #Precision_Medicine cell-biology")
    (feed,) = await bot.rows(Feed)
    assert feed.topics == ["microbiology", "precision-medicine", "cell-biology"]
    assert reply.plain_text is not None
    assert reply.plain_text.startswith(f"✅ Added feed #{feed.id}: Science Forums Newsroom")
    assert "Default topics: #microbiology #precision_medicine #cell_biology" in reply.plain_text

    (listing,) = await bot.send("/feeds")
    assert listing.plain_text is not None
    line = listing.plain_text.splitlines()[2]
    assert line.startswith(f"✅ #{feed.id} Science Forums Newsroom — ok")
    assert line.endswith(" · 🏷 #microbiology #precision_medicine #cell_biology")

    (again,) = await bot.send(f"/addfeed {url} #genomics")
    assert again.plain_text == (
        f"Already there: feed #{feed.id} Science Forums Newsroom.\n"
        f"To change its topics: /feedtopics {feed.id} #genomics"
    )
    assert (await bot.rows(Feed))[0].topics == feed.topics


async def test_addfeed_with_an_unknown_topic_names_it_and_adds_nothing(bot: Harness) -> None:
    url = bot.feeds.add("/forums.rss", HERE / "forums.rss")
    (reply,) = await bot.send(f"/addfeed {url} #microbiology #astrology")
    assert reply.plain_text is not None
    first, listed = reply.plain_text.split("\n")[:2]
    assert first == "Not added: unknown topic “#astrology”. The topics are:"
    assert "#microbiology" in listed.split()
    assert len(listed.split()) == 24
    assert await bot.rows(Feed) == []
    assert bot.feeds.hits("/forums.rss") == 0  # refused before fetching anything


async def test_feedtopics_sets_and_clears_a_feeds_default_topics(bot: Harness) -> None:
    ids = await seed(bot.sessions)
    fine = ids["Fine Feed"]

    (reply,) = await bot.send(f"/feedtopics {fine} #space #EARTH")
    assert reply.plain_text == f"🏷 Feed #{fine} Fine Feed: default topics #space #earth."
    by_id = {f.id: f for f in await bot.rows(Feed)}
    assert by_id[fine].topics == ["space", "earth"]

    (reply,) = await bot.send("/feedtopics https://ok.example.org/rss #astrology #alchemy")
    assert reply.plain_text is not None
    assert reply.plain_text.startswith(
        "Not changed: unknown topics “#astrology”, “#alchemy”. The topics are:"
    )
    (reply,) = await bot.send(f"/feedtopics #{fine} -")
    assert reply.plain_text == f"🏷 Feed #{fine} Fine Feed: default topics none."
    by_id = {f.id: f for f in await bot.rows(Feed)}
    assert by_id[fine].topics is None

    (reply,) = await bot.send("/feedtopics 999 #ai")
    assert reply.text == "No feed 999 (see /feeds)."
    for command in ("/feedtopics", f"/feedtopics {fine}", "/feedtopics #ai #space"):
        (reply,) = await bot.send(command)
        assert reply.plain_text is not None
        assert reply.plain_text.startswith("Usage: /feedtopics ID #topic ...")
        assert "#social_science" in reply.plain_text
    assert all(f.topics is None for f in await bot.rows(Feed))


async def test_removefeed_by_id_or_url_and_unknown_ones(bot: Harness) -> None:
    ids = await seed(bot.sessions)
    (reply,) = await bot.send(f"/removefeed {ids['Flaky Feed']}")
    assert reply.plain_text == (
        f"🗑 Removed feed #{ids['Flaky Feed']} Flaky Feed. Articles it brought are kept."
    )
    (reply,) = await bot.send("/removefeed https://gone.example.org/rss")
    assert reply.plain_text is not None
    assert reply.plain_text.startswith(f"🗑 Removed feed #{ids['Gone Feed']} Gone Feed.")
    (reply,) = await bot.send("/removefeed 999")
    assert reply.text == "No feed 999 (see /feeds)."
    (reply,) = await bot.send("/removefeed")
    assert reply.text == "Usage: /removefeed ID or /removefeed URL (see /feeds)"
    assert sorted(f.title for f in await bot.rows(Feed)) == ["Fine Feed", "New Feed"]
    assert len(await bot.rows(Article)) == 5


async def test_feeds_lists_each_feed_with_its_health(bot: Harness) -> None:
    ids = await seed(bot.sessions)
    (reply,) = await bot.send("/feeds")
    assert reply.plain_text is not None
    lines = reply.plain_text.splitlines()
    assert lines[0] == "Feeds: 4 — ✅ 2 ok · ⚠️ 1 failing · ⛔ 1 disabled"
    assert lines[2:] == [
        f"✅ #{ids['Fine Feed']} Fine Feed — ok · 5 min ago · 2 articles, 1 this week",
        f"✅ #{ids['New Feed']} New Feed — ok · never checked · 0 articles, 0 this week",
        f"⚠️ #{ids['Flaky Feed']} Flaky Feed — failing 3× (HTTP 503 Service Unavailable)"
        " · 2 h ago · 1 articles, 1 this week",
        f"⛔ #{ids['Gone Feed']} Gone Feed — disabled: 10 errors in a row: HTTP 404 Not Found"
        " · 3 d ago · 0 articles, 0 this week",
    ]
    links = [e["url"] for e in reply.entities if e["type"] == "text_link"]
    assert links[0] == "https://ok.example.org/rss"
    assert reply.link_preview_options == {"is_disabled": True}


async def test_feeds_with_no_feeds_says_how_to_add_one(bot: Harness) -> None:
    (reply,) = await bot.send("/feeds")
    assert reply.text == "No feeds yet. Add one with /addfeed URL."


async def test_stats_match_the_seeded_data(bot: Harness) -> None:
    await seed(bot.sessions)
    reply, chart = await bot.send("/stats", replies=2)
    assert chart.method == "sendPhoto"
    assert chart.document is not None
    assert chart.document.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert reply.plain_text is not None
    assert reply.plain_text.splitlines() == [
        "📊 Statistics (days and weeks in UTC)",
        "",
        "Chats: 4 active (channel 1, group 1, private 2), 2 inactive (private 1, supergroup 1)",
        "",
        "Subscriptions (active chats per topic):",
        "🤖 AI & computing — 2",
        "🌍 Climate & environment — 1",
        "🔭 Space & astronomy — 1",
        "Keyword rules: 2",
        "",
        "Articles: 2 today, 4 this week (2 about forums)",
        "Deliveries: 1 sent today, 2 pending, 1 failed, 1 blocked",
        "Feeds: 2 ok, 1 failing, 1 disabled",
    ]


def test_commands_list_only_admin_commands_with_a_description() -> None:
    names = [name for name, _ in admin.COMMANDS]
    assert names == [
        "broadcast",
        "broadcast_cancel",
        "feeds",
        "addfeed",
        "feedtopics",
        "removefeed",
        "stats",
    ]
    assert all(description for _, description in admin.COMMANDS)
