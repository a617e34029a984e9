"""What an outbox row gets when it is sent (bot.dressing): the decision table-driven over
plain rows, then the outbox sending dressed rows to the fake Bot API from a real database
(SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery import Outbox, SendOptions
from bot.dressing import Dresser, options_for
from db.chats import SubscribedChat
from db.models import Article, Chat, ChatRule, ChatTopic, Delivery
from tests.fakebot import FakeTelegram, Limits

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 13:00 in Berlin, 20:00 in Shanghai
CARD = "<b>Gut microbes and CRISPR</b>\nLab News · 2 Mar 2026"
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


def article(*, event: dict[str, Any] | None = FORUM, topics: list[str] | None = None) -> Article:
    return Article(
        id=7,
        url="https://example.org/gut",
        title="Gut microbes and CRISPR",
        published=NOW,
        first_seen=NOW,
        text="A symposium on gut microbes and CRISPR screens.",
        content_hash="x",
        topics=["microbiology", "genomics"] if topics is None else topics,
        is_event=event is not None,
        event=event,
        event_start=date(2026, 4, 10) if event else None,
    )


@dataclass
class Setup:
    type: str = "private"
    topics: frozenset[str] = frozenset({"microbiology"})
    rules: tuple[str, ...] = ("crispr",)
    timezone: str = "UTC"
    silent: bool = False
    quiet: tuple[int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def chat(self) -> SubscribedChat:
        quiet_start, quiet_end = self.quiet or (None, None)
        row = Chat(
            id=5,
            type=self.type,
            created_at=NOW,
            timezone=self.timezone,
            silent=self.silent,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
        )
        return SubscribedChat(row, self.topics, self.rules)


def row(kind: str = "article") -> Delivery:
    return Delivery(
        id=1,
        chat_id=5,
        kind=kind,
        article_id=7 if kind == "article" else None,
        text=CARD,
        next_attempt_at=NOW,
        created_at=NOW,
    )


def labels(options: SendOptions) -> list[str]:
    markup = options.reply_markup
    return [b.text for r in markup.inline_keyboard for b in r] if markup is not None else []


@pytest.mark.parametrize(
    ("setup", "kind", "found", "expected"),
    [
        pytest.param(
            Setup(),
            "article",
            article(),
            (
                "💡 because: #microbiology · rule <code>crispr</code>",
                ["📅 Add to calendar", "🔕 Mute #microbiology"],
                False,
            ),
            id="a forum card: why, calendar and mute",
        ),
        pytest.param(
            Setup(topics=frozenset()),
            "article",
            article(event=None),
            ("💡 because: rule <code>crispr</code>", [], False),
            id="a rule's news card: why, nothing to mute or add",
        ),
        pytest.param(
            Setup(topics=frozenset({"genomics", "microbiology"}), rules=()),
            "article",
            article(event=None),
            ("💡 because: #microbiology · #genomics", ["🔕 Mute #microbiology"], False),
            id="the first matching topic is the one to mute",
        ),
        pytest.param(
            Setup(type="channel"),
            "article",
            article(),
            ("", [], False),
            id="a channel: no buttons every reader could press",
        ),
        pytest.param(Setup(), "digest", None, ("", [], True), id="a digest never rings"),
        pytest.param(
            Setup(silent=True),
            "article",
            article(),
            ("💡 because: #microbiology · rule <code>crispr</code>", None, True),
            id="silent mode: everything but the sound",
        ),
        pytest.param(
            Setup(timezone="Asia/Shanghai", quiet=(19, 7)),
            "broadcast",
            None,
            ("", [], True),
            id="quiet hours by the chat's clock (20:00 in Shanghai)",
        ),
        pytest.param(
            Setup(timezone="Europe/Berlin", quiet=(19, 7)),
            "broadcast",
            None,
            ("", [], False),
            id="outside quiet hours (13:00 in Berlin)",
        ),
        pytest.param(
            Setup(),
            "article",
            None,
            ("", [], False),
            id="an article gone meanwhile: sent as stored",
        ),
    ],
)
def test_a_row_is_dressed_by_why_it_was_sent_and_by_the_chats_sound_settings(
    setup: Setup,
    kind: str,
    found: Article | None,
    expected: tuple[str, list[str] | None, bool],
) -> None:
    reason, buttons, silent = expected
    options = options_for(row(kind), setup.chat(), found, now=NOW)

    assert options.silent is silent
    assert (options.text or CARD) == (f"{CARD}\n{reason}" if reason else CARD)
    if buttons is not None:
        assert labels(options) == buttons


def test_a_row_for_a_chat_gone_meanwhile_is_sent_as_stored() -> None:
    assert options_for(row(), None, article(), now=NOW) == SendOptions()


async def test_the_outbox_sends_cards_with_why_buttons_and_the_chats_sound(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    loud, quiet = 11, 12
    async with sessions() as s, s.begin():
        s.add(Chat(id=loud, type="private", created_at=NOW))
        s.add(Chat(id=quiet, type="private", created_at=NOW, quiet_start=10, quiet_end=14))
        s.add(article())
        for chat_id in (loud, quiet):
            s.add(ChatTopic(chat_id=chat_id, slug="microbiology"))
        s.add(ChatRule(chat_id=loud, query="crispr", created_at=NOW))
        await s.flush()
        for chat_id, kind in ((loud, "article"), (quiet, "article"), (loud, "digest")):
            s.add(
                Delivery(
                    chat_id=chat_id,
                    kind=kind,
                    article_id=7 if kind == "article" else None,
                    text=CARD if kind == "article" else "📰 <b>Your daily digest</b>",
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )

    with FakeTelegram(enforce_limits=True, limits=Limits()) as fake:
        request = HTTPXRequest(connection_pool_size=8, read_timeout=5.0)
        async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
            clock = lambda: NOW  # noqa: E731 - the rows are due at NOW
            box = Outbox(sessions, bot, clock=clock, dresser=Dresser(sessions, clock=clock))
            assert await box.drain(timeout=10) == 3
        card, digest = fake.messages(loud)
        (quiet_card,) = fake.messages(quiet)

    assert card.plain_text.endswith("💡 because: #microbiology · rule crispr")  # type: ignore[union-attr]
    assert quiet_card.plain_text.endswith("💡 because: #microbiology")  # type: ignore[union-attr]
    for sent in (card, quiet_card):
        rows = sent.reply_markup["inline_keyboard"]  # type: ignore[index]
        assert [b["text"] for r in rows for b in r] == [
            "📅 Add to calendar",
            "🔕 Mute #microbiology",
        ]
    assert card.params.get("disable_notification") is not True
    assert quiet_card.params.get("disable_notification") is True  # 12:00, in 10–14
    assert digest.params.get("disable_notification") is True
    assert digest.reply_markup is None
