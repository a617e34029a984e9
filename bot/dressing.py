"""Dressing: what an outbox row gets when it is sent, beyond the text routing stored.

- A pushed card gets the line saying why it was sent ("💡 because: #microbiology · rule
  crispr"), computed from the chat's subscriptions *now* and the article's topics and
  text with ``bot.matching`` (routing does not store why it matched), and buttons under it:
  📅 add the forum to a calendar, 🔕 mute the topic it came for; both in the chat's
  language.
- Every row rings or not by the chat's sound settings (``bot.quiet``): silent mode, quiet
  hours in the chat's time zone, and digests always silent.

``options_for`` is the pure decision over plain data; ``Dresser`` reads that data for a
batch of due rows (three queries for the chats, one for the articles) and is what the
Outbox calls (``bot.delivery.Dresser``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup
from telegram.constants import ChatType

from bot import keyboards as kb
from bot.delivery import SendOptions
from bot.i18n import ENGLISH, Translator, translator
from bot.matching import Subscription, match_reasons, stored_subscription
from bot.quiet import rings
from bot.render import append_line, event_dates, render_reason
from bot.timezones import zone
from db import chats as chats_db
from db.chats import SubscribedChat
from db.models import Article, Delivery
from summaries.errors import SummariesError
from summaries.events import EventFacts

__all__ = ["Dresser", "card_extras", "options_for"]


@dataclass(frozen=True, slots=True)
class CardExtras:
    """The "because" line and the buttons of one card for one chat."""

    reason: str  # HTML line, "" when the article met none of the chat's subscriptions
    markup: InlineKeyboardMarkup | None


def card_extras(
    sub: Subscription, article: Article, *, chat_type: str, tr: Translator = ENGLISH
) -> CardExtras:
    """Why ``article`` is for the chat of ``sub``, and the buttons to act on it. Channels
    get neither buttons (every reader could press them) nor a reason (nobody there chose
    the subscriptions but the admins)."""
    if chat_type == ChatType.CHANNEL or article.id is None:
        return CardExtras("", None)
    reasons = match_reasons(
        sub, title=article.title, text=article.text, topics=article.topics or []
    )
    markup = kb.card_keyboard(
        sub.chat_id,
        article.id,
        calendar=_has_dates(article),
        mute=reasons.topics[0] if reasons.topics else None,
        tr=tr,
    )
    return CardExtras(render_reason(reasons.topics, reasons.rules, tr), markup)


def _has_dates(article: Article) -> bool:
    if not article.is_event or not isinstance(article.event, dict):
        return False
    try:
        return event_dates(EventFacts.from_dict(article.event)) is not None
    except SummariesError:
        return False


def options_for(
    row: Delivery, chat: SubscribedChat | None, article: Article | None, *, now: datetime
) -> SendOptions:
    """How to send ``row`` to its chat (``chat``: its settings and subscriptions)."""
    if chat is None:
        return SendOptions()
    settings = chat.chat
    quiet = (
        (settings.quiet_start, settings.quiet_end)
        if settings.quiet_start is not None and settings.quiet_end is not None
        else None
    )
    silent = not rings(
        row.kind, silent=settings.silent, quiet=quiet, now=now, tz=zone(settings.timezone)
    )
    if row.kind != "article" or article is None:
        return SendOptions(silent=silent)
    sub = stored_subscription(settings.id, chat.topics, chat.rules, settings.forums_only)
    extras = card_extras(sub, article, chat_type=settings.type, tr=translator(settings.language))
    text = append_line(row.text, extras.reason)
    return SendOptions(
        text=text if text != row.text else None, reply_markup=extras.markup, silent=silent
    )


class Dresser:
    """Reads what a batch of due rows needs and dresses each (``bot.delivery.Dresser``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, rows: Sequence[Delivery]) -> Mapping[int, SendOptions]:
        article_ids = {r.article_id for r in rows if r.kind == "article" and r.article_id}
        async with self._sessions() as session:
            chats = await chats_db.subscriptions_of(session, {r.chat_id for r in rows})
            articles = await chats_db.articles_by_id(session, article_ids)
        now = self._clock()
        return {
            row.id: options_for(
                row, chats.get(row.chat_id), articles.get(row.article_id or 0), now=now
            )
            for row in rows
            if row.id is not None
        }
