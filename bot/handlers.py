"""Subscriber commands and button clicks: topics, keyword rules, settings, time zones, quiet
hours, /latest and /search as paged lists, cards opened from them, /events, /stop, and
/channel for bot admins configuring a channel.

Each handler is a plain ``async def`` over ``(update, context)``; ``handlers()`` lists them for
the app factory and ``COMMANDS`` describes them for setMyCommands and /help. Handlers never
let an exception reach PTB's error handler: a bad argument gets a usage line, anything
unexpected is logged, counted, and answered with a short apology.

Who may change what: anyone in a private chat; in groups only the group's admins (anonymous
admins too); a channel only a bot admin, from a private chat, or the channel's admins.
Buttons carry the chat they configure (``bot.keyboards``), and every click is checked
against that chat again. Buttons that only read (a list's pages, a card, a calendar file)
work for anyone in the chat they are in. Nothing is deleted without a confirmation, and a
confirmation pressed by someone else, or after the chat changed, deletes nothing.

Every user-facing string goes through the chat's translator (``bot.i18n``,
``bot.chatlanguage``): constants are marked ``N_("…")`` and translated where shown with
``tr(CONSTANT)``; texts built in a function take ``tr``. /language sets the chat's language;
admin-only replies (/channel) stay English.
"""

from __future__ import annotations

import asyncio
import functools
import html
import importlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import keyboards as kb
from bot.calendar import events_to_ics
from bot.chatlanguage import sender_language, translator_for, translator_of
from bot.digests import DIGEST_MODES, zone
from bot.dressing import card_extras
from bot.i18n import ENGLISH, N_, Translator, translator
from bot.matching import Subscription, matches, stored_subscription
from bot.quiet import parse_quiet_hours
from bot.render import (
    MAX_MESSAGE,
    ArticleCard,
    card_from_article,
    event_dates,
    pack_lines,
    render_card,
    render_events,
    render_list,
)
from bot.services import Services, services
from bot.timezones import parse_timezone, timezone_label
from db import chats as chats_db
from db import search as search_db
from db.chats import SubscribedChat
from db.engine import transaction
from db.errors import StorageError
from db.models import Article, Chat
from summaries.rules import KeywordRule, RuleError, parse_rule
from summaries.topics import TOPICS, topic_by_slug

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ChatKind = Literal["private", "group", "channel"]

COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Welcome, and pick topics")),
    ("topics", N_("Choose your topics")),
    ("subscribe", N_('Follow keywords: /subscribe crispr "gene editing" -plants')),
    ("unsubscribe", N_("Remove a topic or keyword rule; /unsubscribe all for everything")),
    ("mysubs", N_("List your topics and keyword rules")),
    ("settings", N_("Instant or digest, digest hour, summary length, sound, pause")),
    ("timezone", N_("Set your time zone: /timezone Berlin, /timezone UTC+8")),
    ("quiet", N_("Quiet hours without a sound: /quiet 22-7, /quiet off")),
    ("latest", N_("The newest matching articles, as a list: /latest or /latest 5")),
    ("search", N_("Search stored articles: /search fusion reactor")),
    ("events", N_("Upcoming forums in your topics, with a calendar file")),
    ("stop", N_("Delete this chat's subscriptions and settings (asks first)")),
    ("language", N_("Interface language: English or 中文")),
    ("help", N_("This list")),
]
# Shown in /help to bot admins only.
ADMIN_COMMANDS: list[tuple[str, str]] = [
    ("channel", N_("Configure a channel the bot posts in: /channel @name")),
]

LATEST_MAX = kb.LIST_SIZE
EVENTS_MAX = 30
# Keyword rules one chat may follow: each is matched against every new article.
MAX_RULES = 50
ERRORS_KEY = "handler_errors"
ICS_FILENAME = "sciforum-forums.ics"
DEEP_LINK_TOPIC = "topic_"
# Commands whose answer is a list (or several messages): charged to a group's bucket too.
LIST_COMMANDS = frozenset({"latest", "search", "events"})
_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
_GROUPS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})

# ------------------------------------------------------------------------------ strings

TIMEZONE_USAGE = N_(
    "Usage: <code>/timezone Berlin</code> — a city (Beijing, New York, São Paulo), an "
    "offset (UTC+8, GMT-5, UTC+05:30) or an IANA name (Asia/Shanghai, "
    "America/Los_Angeles). Or pick one in /settings → 🌐 Time zone."
)
QUIET_USAGE = N_(
    "Usage: <code>/quiet 22-7</code> — from 22:00 until 07:00 (your time) messages arrive "
    "without a sound; <code>/quiet off</code> ends that. /settings has 🔕 Silent for always."
)
SUBSCRIBE_USAGE = N_(
    'Usage: <code>/subscribe crispr</code> or <code>/subscribe "gene editing" -plants</code>'
    ' — articles with any of the words or "phrases" and none of the -excluded ones. A word'
    " of 5+ letters also meets the words built on it (microbe → microbiome); write a Chinese"
    " word's characters together: <code>量子计算</code>."
)
SEARCH_USAGE = N_(
    "Usage: <code>/search fusion reactor</code> — stored articles with all the words."
)
LATEST_USAGE = N_("Usage: <code>/latest</code> or <code>/latest N</code> (N from 1 to {most}).")
CHANNEL_USAGE = N_(
    "Usage: <code>/channel @channelname</code> or <code>/channel -100…</code> "
    "(the bot must be an admin there, allowed to post)."
)
NOT_ADMIN = N_("Only this group's admins can change its subscriptions and settings.")
NOT_CHANNEL_ADMIN = N_("Only this channel's admins can change its subscriptions and settings.")
CHECK_FAILED = N_(
    "I couldn't check whether you are an admin here: Telegram did not answer. "
    "Please try again in a minute."
)
NOT_ALLOWED = N_("Not allowed.")
NO_SUBS = N_("No subscriptions yet: /topics to pick topics, /subscribe to follow keywords.")
NOTHING_MATCHES = N_("Nothing matching the subscriptions yet — new articles arrive here.")
EXPIRED = N_("This menu has expired — send the command again.")
LIST_EXPIRED = N_("This list has expired — send the command again.")
NO_MORE = N_("No more results.")
ARTICLE_GONE = N_("That article is no longer stored.")
RULES_FULL = N_(
    "This chat follows {most} keyword rules, the most it can: remove some with "
    "/unsubscribe first (or join terms into one rule: <code>/subscribe crispr cas9</code>)."
)
CANCELLED = N_("✖ Cancelled — nothing was deleted.")
STALE_CONFIRM = N_("Nothing was deleted: the subscriptions changed since this was asked.")
NOT_YOURS = N_("Only the person who asked can confirm this.")
NOTHING_TO_DELETE = N_("Nothing to delete: this chat has no subscriptions or settings here.")
CLEARED = N_("Removed all topics and keyword rules. /topics to start again.")
ALL_REMOVED = N_("No topics or keyword rules left. /topics to start again.")
CALENDAR_SENT = N_("Calendar sent")
NO_FORUMS = N_("No upcoming forums to add.")
NO_DATES = N_("No dates are known for this forum.")
ICS_CAPTION = N_("📅 Open this file to add the forums to your calendar.")
ICS_CAPTION_ONE = N_("📅 Open this file to add the forum to your calendar.")
SAVED = N_("Saved")

# Wording that depends on whose chat it is.
SUBS_HEADING: dict[ChatKind, str] = {
    "private": N_("Your subscriptions"),
    "group": N_("This group's subscriptions"),
    "channel": N_("This channel's subscriptions"),
}
LATEST_HEADING: dict[ChatKind, str] = {
    "private": N_("🆕 <b>Newest in your subscriptions</b>"),
    "group": N_("🆕 <b>Newest in this group's subscriptions</b>"),
    "channel": N_("🆕 <b>Newest in this channel's subscriptions</b>"),
}
STOP_ASK: dict[ChatKind, str] = {
    "private": N_(
        "🗑 Delete your topics, keyword rules and settings? Nothing more will be sent here."
    ),
    "group": N_(
        "🗑 Delete this group's topics, keyword rules and settings? Nothing more will be sent here."
    ),
    "channel": N_(
        "🗑 Delete this channel's topics, keyword rules and settings? Nothing more will be "
        "posted there."
    ),
}
STOP_DONE: dict[ChatKind, str] = {
    "private": N_(
        "🗑 Deleted your topics, keyword rules and settings; nothing more will be sent "
        "here. /start to subscribe again."
    ),
    "group": N_(
        "🗑 Deleted this group's topics, keyword rules and settings; nothing more will be "
        "sent here. /start to subscribe again."
    ),
    "channel": N_(
        "🗑 Deleted this channel's topics, keyword rules and settings; nothing more will be "
        "posted there."
    ),
}
CLEAR_ASK: dict[ChatKind, str] = {
    "private": N_("Remove all your topics and keyword rules?"),
    "group": N_("Remove all of this group's topics and keyword rules?"),
    "channel": N_("Remove all of this channel's topics and keyword rules?"),
}
YES_STOP = N_("🗑 Yes, delete everything")
YES_CLEAR = N_("🗑 Yes, remove them all")
NOT_CONFIGURED = N_("That chat is no longer configured.")
TAP_TO_REMOVE = N_("Tap what to remove:")
NOT_FOLLOWED = N_("You don't follow that. /unsubscribe without words shows buttons.")
ADD_TO_GROUP = N_('➕ <a href="{link}">Add me to a group</a>')
# A private chat's text that is no command: where to start.
FREE_TEXT = N_(
    "I answer commands only: /help lists them, /topics picks topics and "
    "<code>/subscribe WORDS</code> follows keywords. To find stored articles, "
    "<code>/search WORDS</code>."
)
LANGUAGE_PROMPT = N_("🗣 Interface language: <b>{language}</b>. Choose:")
LANGUAGE_SET = N_("🗣 Interface language: <b>English</b>. /help lists the commands.")


def _kind(chat_type: str) -> ChatKind:
    if chat_type in _GROUPS:
        return "group"
    if chat_type == ChatType.CHANNEL:
        return "channel"
    return "private"


# ------------------------------------------------------------------------------ plumbing


def _guarded(handler: Handler) -> Handler:
    """Expected failures stay here: a Telegram error for this chat (blocked meanwhile, a
    message gone, an edit with nothing new, a reply that still failed after its retries)
    is logged and counted. Anything else is a bug and goes on to the application's one
    error handler (bot.app.on_error)."""

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await handler(update, context)
        except TelegramError as exc:
            log.warning("handler %s: Telegram refused: %s", handler.__name__, exc)
            context.bot_data[ERRORS_KEY] = int(context.bot_data.get(ERRORS_KEY, 0)) + 1

    return run


async def _reply(
    update: Update,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    preview: bool = False,
) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    # reply_text keeps a forum topic's message_thread_id, so answers land in the thread.
    return await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=reply_markup,
        link_preview_options=LinkPreviewOptions(is_disabled=not preview),
        do_quote=False,
    )


def _command_argument(update: Update) -> str:
    """Everything after the command, as typed (quotes and spacing kept)."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _command_name(message: Message | None) -> str:
    text = (message.text or "") if message is not None else ""
    if not text.startswith("/") or len(text) < 2:
        return ""
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].casefold()


def _thread_of(message: Message | None) -> int | None:
    if message is not None and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


def _requester(update: Update) -> int:
    """Who asked, for a confirmation only they may press: the user, or 0 for an anonymous
    admin (who writes as the group, so any of its admins may confirm)."""
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return 0
    user = update.effective_user
    return user.id if user is not None else 0


async def _ensure_chat(svc: Services, update: Update) -> Chat:
    """This chat's row (created in instant mode on first use), remembering its forum thread."""
    tg_chat = update.effective_chat
    assert tg_chat is not None  # every handler here is for chat updates
    async with svc.sessions() as session, session.begin():
        chat, _ = await chats_db.get_or_create_chat(
            session,
            tg_chat.id,
            chat_type=tg_chat.type,
            title=tg_chat.effective_name,
            now=svc.clock(),
            thread_id=_thread_of(update.effective_message),
        )
        if chat.language is None:
            # First contact (or a chat from before languages): its sender's language.
            chat.language = sender_language(update)
            await session.flush()
        return chat


async def _admin_status(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int
) -> bool | None:
    """Whether the user is an admin of the chat; None when Telegram could not say."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
        return None
    return member.status in _ADMIN_STATUSES


async def _may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool | None:
    """Whether the sender may change this chat's subscriptions (group admins only); None
    when the member check failed."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type not in _GROUPS:
        return True
    message = update.effective_message
    # An anonymous admin writes as the group itself.
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    return await _admin_status(context, chat.id, user.id)


def _refusal(allowed: bool | None, chat_type: str) -> str:
    if allowed is None:
        return CHECK_FAILED
    if chat_type == ChatType.CHANNEL:
        return NOT_CHANNEL_ADMIN
    return NOT_ADMIN if chat_type in _GROUPS else NOT_ALLOWED


def _refusing(handler: Handler) -> Handler:
    """Run ``handler`` only for senders allowed to change the chat; refuse others briefly
    (and say so when Telegram could not tell whether they are allowed)."""

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        allowed = await _may_change(update, context)
        if not allowed:
            chat = update.effective_chat
            tr = await translator_for(services(context), update)
            await _reply(update, tr(_refusal(allowed, chat.type if chat else ChatType.PRIVATE)))
            return
        await handler(update, context)

    return run


def asks_for_list(update: Update) -> bool:
    """Whether an update asks for a list, or a card or file from one: what a group's own
    throttle bucket is charged for (bot.throttle)."""
    if update.callback_query is not None:
        action = kb.parse(update.callback_query.data)
        return isinstance(action, kb.SENDS_MESSAGE)
    return _command_name(update.message) in LIST_COMMANDS


# ------------------------------------------------------------------------------ texts


def _topic_names(slugs: Sequence[str], tr: Translator) -> list[str]:
    found = [topic_by_slug(s) for s in slugs]
    return [html.escape(kb.topic_label(t, tr)) for t in found if t is not None]


def add_to_group_link(bot_username: str | None) -> str | None:
    """``https://t.me/<bot>?startgroup=start``: opens Telegram's "add to a group" picker."""
    return f"https://t.me/{bot_username}?startgroup=start" if bot_username else None


def deep_link_topic(payload: str) -> str | None:
    """The topic slug a /start payload names ("topic_microbiology", "topic_cell_biology"),
    or None. Payloads are [A-Za-z0-9_-] only, so hyphens in slugs travel as underscores."""
    if not payload.startswith(DEEP_LINK_TOPIC):
        return None
    name = payload[len(DEEP_LINK_TOPIC) :].casefold()
    for candidate in (name, name.replace("_", "-")):
        if topic_by_slug(candidate) is not None:
            return candidate
    return None


def welcome_text(*, group_link: str | None = None, tr: Translator = ENGLISH) -> str:
    lines = [
        "🔬 <b>SciForum Digest</b>",
        tr("Science news and forums, summarised and sent to this chat."),
        "",
        tr(
            "Pick topics below (tap again to remove one), or follow keywords with "
            "<code>/subscribe crispr</code>."
        ),
        tr("/settings: instant or daily/weekly digest, summary length · /help: every command"),
    ]
    if group_link:
        lines.append(tr(ADD_TO_GROUP, link=html.escape(group_link)))
    return "\n".join(lines)


def subscribed_by_link(label: str, tr: Translator = ENGLISH) -> str:
    return tr("✅ Subscribed to {topic}.", topic=html.escape(label))


def help_text(
    *,
    admin: bool,
    group_link: str | None = None,
    tr: Translator = ENGLISH,
    own_feeds: Sequence[tuple[str, str]] = (),
) -> str:
    """/help; ``own_feeds``: bot.ownfeeds' commands when they are on (it imports this module)."""
    lines = ["<b>" + tr("Commands") + "</b>"]
    lines += [f"/{name} — {html.escape(tr(text))}" for name, text in [*COMMANDS, *own_feeds]]
    if group_link:
        lines += ["", tr(ADD_TO_GROUP, link=html.escape(group_link))]
    if admin:
        lines += ["", "<b>Admin</b>"]
        lines += [f"/{name} — {html.escape(text)}" for name, text in _admin_commands()]
    return "\n".join(lines)


def _admin_commands() -> list[tuple[str, str]]:
    commands = list(ADMIN_COMMANDS)
    try:
        admin = importlib.import_module("bot.admin")
    except ImportError:
        return commands
    found = getattr(admin, "COMMANDS", [])
    commands += [(str(name), str(text)) for name, text in found]
    return commands


def subscriptions_messages(
    sub: SubscribedChat, *, limit: int = MAX_MESSAGE, tr: Translator = ENGLISH
) -> list[str]:
    """/mysubs: topics, every keyword rule (one a line), delivery and sound, in as few
    messages as fit (at the rule cap, rules of 100 characters take two)."""
    rules = sub.rules
    if not sub.topics and not rules:
        return [tr(NO_SUBS)]
    lines = [f"<b>{tr(SUBS_HEADING[_kind(sub.chat.type)])}</b>"]
    topics = _topic_names([t.slug for t in TOPICS if t.slug in sub.topics], tr)
    lines.append(tr("Topics: {topics}", topics=", ".join(topics) if topics else tr("none")))
    if rules:
        lines.append(tr("Keywords ({count} of {most}):", count=len(rules), most=MAX_RULES))
        lines += [f"• <code>{html.escape(r)}</code>" for r in rules]
    lines.append(_delivery_line(sub.chat, tr))
    sound = _sound_line(sub.chat, tr)
    if sound:
        lines.append(sound)
    if sub.chat.forums_only:
        lines.append(tr("Forums only: on"))
    if sub.chat.paused:
        lines.append(tr("⏸ Paused — /settings to resume"))
    return pack_lines(lines, limit=limit)


def subscriptions_text(sub: SubscribedChat, tr: Translator = ENGLISH) -> str:
    """The first message of /mysubs, with a pointer to the rest (for edits: one message)."""
    more = "\n" + tr("… /mysubs lists the rest.")
    messages = subscriptions_messages(sub, limit=MAX_MESSAGE - len(more), tr=tr)
    return messages[0] + (more if len(messages) > 1 else "")


def _delivery_line(chat: Chat, tr: Translator) -> str:
    at = f"{chat.digest_hour:02d}:00"
    if chat.mode == "daily":
        mode = tr("📰 daily digest at {time}", time=at)
    elif chat.mode == "weekly":
        mode = tr(
            "🗞 weekly digest on {weekday} at {time}",
            weekday=tr.weekday(chat.digest_weekday),
            time=at,
        )
    else:
        mode = tr("⚡ instant (each article as it arrives)")
    return tr("Delivery: {mode} · {zone}", mode=mode, zone=html.escape(chat.timezone))


def _quiet_hours(chat: Chat) -> tuple[int, int] | None:
    if chat.quiet_start is None or chat.quiet_end is None:
        return None
    return chat.quiet_start, chat.quiet_end


def _sound_line(chat: Chat, tr: Translator) -> str:
    if chat.silent:
        return tr("Sound: 🔕 silent (every message)")
    quiet = _quiet_hours(chat)
    if quiet is not None:
        return tr(
            "Sound: 🌙 quiet {start}–{end} (/quiet)",
            start=f"{quiet[0]:02d}:00",
            end=f"{quiet[1]:02d}:00",
        )
    return ""


def settings_text(
    chat: Chat, *, now: datetime, title: str | None = None, tr: Translator = ENGLISH
) -> str:
    heading = "⚙️ <b>" + tr("Settings") + "</b>"
    if title:
        heading += f" — {html.escape(title)}"
    n = chat.summary_sentences
    sound = _sound_line(chat, tr) or tr("Sound: 🔔 on (/quiet for quiet hours; digests are silent)")
    return "\n".join(
        [
            heading,
            _delivery_line(chat, tr),
            tr.ngettext("Summary: {n} sentence", "Summary: {n} sentences", n),
            tr("Forums only: on") if chat.forums_only else tr("Forums only: off"),
            sound,
            tr("Status: ⏸ paused") if chat.paused else tr("Status: ▶️ active"),
            tr(
                "Time zone: {zone} — /timezone Berlin, or the button below",
                zone=html.escape(timezone_label(chat.timezone, now)),
            ),
            tr("Language: English — /language to change"),
        ]
    )


def _topics_prompt(title: str | None = None, tr: Translator = ENGLISH) -> str:
    if title:
        chat = f"<b>{html.escape(title)}</b>"
        return tr("🏷 Pick topics for {chat} (✅ = subscribed):", chat=chat)
    return tr("🏷 Pick topics (✅ = subscribed):")


def _search_heading(query: str, tr: Translator) -> str:
    return tr("🔎 <b>Best matches for</b> {query}", query=f"<code>{html.escape(query)}</code>")


def _page_suffix(page: int, has_next: bool, tr: Translator) -> str:
    return tr(" · page {page}", page=page + 1) if page or has_next else ""


# ------------------------------------------------------------------------------ commands


@_guarded
@_refusing
async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    # The link to add the bot to a group is for people talking to it, not for a group.
    tr = translator_of(chat, update)
    link = add_to_group_link(context.bot.username) if chat.type == ChatType.PRIVATE else None
    text = welcome_text(group_link=link, tr=tr)
    page = 0
    slug = deep_link_topic(context.args[0]) if context.args else None
    async with svc.sessions() as session, session.begin():
        if slug is not None:
            await chats_db.add_topic(session, chat.id, slug)
        chosen = await chats_db.chat_topics(session, chat.id)
    topic = topic_by_slug(slug) if slug else None
    if topic is not None:
        text += "\n\n" + subscribed_by_link(kb.topic_label(topic, tr), tr)
        page = TOPICS.index(topic) // kb.TOPICS_PER_PAGE
    await _reply(update, text, reply_markup=kb.topic_keyboard(chat.id, chosen, page, tr=tr))


@_guarded
@_refusing
async def cmd_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    async with svc.sessions() as session:
        chosen = await chats_db.chat_topics(session, chat.id)
    await _reply(
        update, _topics_prompt(tr=tr), reply_markup=kb.topic_keyboard(chat.id, chosen, tr=tr)
    )


@_guarded
async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    svc = services(context)
    admin = svc.is_admin(user.id if user else None)
    link = add_to_group_link(context.bot.username)
    tr = await translator_for(svc, update)
    own = importlib.import_module("bot.ownfeeds").COMMANDS if svc.settings.own_feeds_enabled else ()
    await _reply(update, help_text(admin=admin, group_link=link, tr=tr, own_feeds=own))


@_guarded
@_refusing
async def cmd_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tr = await translator_for(svc, update)
    query = _command_argument(update)
    if not query:
        await _reply(update, tr(SUBSCRIBE_USAGE))
        return
    try:
        rule = parse_rule(query)
    except RuleError as exc:
        refused = tr("Can't follow that: {reason}.", reason=html.escape(str(exc)))
        await _reply(update, f"{refused}\n{tr(SUBSCRIBE_USAGE)}")
        return
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session, session.begin():
        full = await chats_db.rule_count(session, chat.id) >= MAX_RULES
        if full and not await chats_db.has_rule(session, chat.id, str(rule)):
            stored, created = None, False
        else:
            stored, created = await chats_db.add_rule(session, chat.id, str(rule), now=svc.clock())
    if stored is None:
        await _reply(update, tr(RULES_FULL, most=MAX_RULES))
        return
    shown = f"<code>{html.escape(stored.query)}</code>"
    if created:
        await _reply(update, tr("🔎 Following {rule}. /mysubs lists everything.", rule=shown))
    else:
        await _reply(update, tr("You already follow {rule}.", rule=shown))


@_guarded
@_refusing
async def cmd_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    argument = _command_argument(update)
    if argument.casefold() == "all":
        token = await _state_token(svc, chat.id)
        assert token is not None  # the chat was just ensured
        action = kb.ConfirmClear(chat.id, _requester(update), token)
        await _reply(
            update,
            tr(CLEAR_ASK[_kind(chat.type)]),
            reply_markup=kb.confirm_keyboard(tr(YES_CLEAR), action, tr=tr),
        )
        return
    if argument:
        await _reply(update, await _unsubscribe_one(svc, chat.id, argument, tr))
        return
    async with svc.sessions() as session:
        topics = await chats_db.chat_topics(session, chat.id)
        rules = await chats_db.chat_rules(session, chat.id)
    if not topics and not rules:
        await _reply(update, tr(NO_SUBS))
        return
    await _reply(
        update,
        tr(TAP_TO_REMOVE),
        reply_markup=kb.unsubscribe_keyboard(
            chat.id, topics, [(r.id, r.query) for r in rules if r.id is not None], tr=tr
        ),
    )


async def _unsubscribe_one(svc: Services, chat_id: int, argument: str, tr: Translator) -> str:
    wanted = argument.casefold()
    topic = next(
        (t for t in TOPICS if wanted in (t.slug, t.name.casefold(), t.slug.replace("-", " "))),
        None,
    )
    async with svc.sessions() as session, session.begin():
        if topic is not None and await chats_db.remove_topic(session, chat_id, topic.slug):
            return tr("Removed the topic {topic}.", topic=html.escape(kb.topic_label(topic, tr)))
        try:
            canonical = str(parse_rule(argument))
        except RuleError:
            return tr(NOT_FOLLOWED)
        removed = await chats_db.remove_rule_by_query(session, chat_id, canonical)
    if removed:
        shown = f"<code>{html.escape(str(parse_rule(argument)))}</code>"
        return tr("Stopped following {rule}.", rule=shown)
    return tr(NOT_FOLLOWED)


@_guarded
async def cmd_mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    async with svc.sessions() as session:
        sub = await chats_db.subscription_of(session, tg_chat.id)
    tr = translator_of(sub.chat if sub else None, update)
    if sub is None:
        await _reply(update, tr(NO_SUBS))
        return
    for text in subscriptions_messages(sub, tr=tr):
        await _reply(update, text)


@_guarded
@_refusing
async def cmd_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    now = svc.clock()
    await _reply(
        update,
        settings_text(chat, now=now, tr=tr),
        reply_markup=kb.settings_keyboard(chat.id, chat, now=now, tr=tr),
    )


@_guarded
@_refusing
async def cmd_timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    argument = _command_argument(update)
    now = svc.clock()
    tr = await translator_for(svc, update)
    if not argument:
        chat = await _ensure_chat(svc, update)
        current = html.escape(timezone_label(chat.timezone, now))
        said = tr("Your time zone: <b>{zone}</b>.", zone=current)
        await _reply(update, f"{said}\n{tr(TIMEZONE_USAGE)}")
        return
    name = parse_timezone(argument)
    if name is None:
        said = tr("Unknown time zone “{zone}”.", zone=html.escape(argument[:64]))
        await _reply(update, f"{said}\n{tr(TIMEZONE_USAGE)}")
        return
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session, session.begin():
        await chats_db.update_settings(session, chat.id, timezone=name)
    await _reply(update, _timezone_set(name, now, tr))


def _timezone_set(name: str, now: datetime, tr: Translator) -> str:
    label = html.escape(timezone_label(name, now))
    local = now.astimezone(zone(name))
    return tr(
        "🌐 Time zone set to <b>{zone}</b> (it is {time} there now).",
        zone=label,
        time=f"{local:%H:%M}",
    )


@_guarded
@_refusing
async def cmd_quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    argument = _command_argument(update)
    if not argument:
        current = _sound_line(chat, tr) or tr("Sound: 🔔 on at all hours")
        await _reply(update, tr("{sound}.", sound=current) + "\n" + tr(QUIET_USAGE))
        return
    parsed = parse_quiet_hours(argument)
    if parsed is None:
        said = tr("Can't read “{text}”.", text=html.escape(argument[:32]))
        await _reply(update, f"{said}\n{tr(QUIET_USAGE)}")
        return
    start, end = (None, None) if parsed == "off" else parsed
    async with svc.sessions() as session, session.begin():
        await chats_db.update_settings(session, chat.id, quiet_start=start, quiet_end=end)
    if start is None or end is None:
        await _reply(update, tr("🔔 Quiet hours off: messages make a sound at any hour."))
        return
    where = html.escape(timezone_label(chat.timezone, svc.clock()))
    await _reply(
        update,
        tr(
            "🌙 Quiet hours {start}–{end} ({zone}): messages then arrive without a sound. "
            "/quiet off to end them; /timezone if the hours are off.",
            start=f"{start:02d}:00",
            end=f"{end:02d}:00",
            zone=where,
        ),
    )


@_guarded
async def cmd_latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    # One read for the chat's language and subscription: each query is a few round trips
    # to the database's thread, and during an ingest burst every one of them waits.
    async with svc.sessions() as session:
        sub = await chats_db.subscription_of(session, tg_chat.id)
        anchor = await chats_db.newest_article_id(session)
    tr = translator_of(sub.chat if sub is not None else None, update)
    argument = _command_argument(update)
    size = kb.LIST_SIZE
    if argument:
        if not (argument.isascii() and argument.isdigit()) or not 1 <= int(argument) <= LATEST_MAX:
            await _reply(update, tr(LATEST_USAGE, most=LATEST_MAX))
            return
        size = int(argument)
    if sub is None or (not sub.topics and not sub.rules):
        await _reply(update, tr(NO_SUBS))
        return
    page = kb.ListPage(tg_chat.id, 0, 0, size, anchor or 1)
    shown = await _list_page(svc, page, tr, sub=sub)
    if shown is None:
        await _reply(update, tr(NOTHING_MATCHES))
        return
    await _reply(update, shown[0], reply_markup=shown[1])


@_guarded
async def cmd_search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    argument = _command_argument(update)
    if not argument:
        tr = await translator_for(svc, update)
        await _reply(update, tr(SEARCH_USAGE))
        return
    try:
        rule = parse_rule(argument)
    except RuleError as exc:
        tr = await translator_for(svc, update)
        refused = tr("Can't search for that: {reason}.", reason=html.escape(str(exc)))
        await _reply(update, f"{refused}\n{tr(SEARCH_USAGE)}")
        return
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    query = str(rule)
    async with svc.sessions() as session:
        # A repeated search has its id already: the answer waits for no write (SQLite
        # has one writer, and ingest may be using it).
        reused = await chats_db.saved_search_id(session, chat.id, query)
        anchor = await chats_db.newest_article_id(session)
    search_id = reused or await _save_search(svc, chat.id, query)
    page = kb.ListPage(chat.id, search_id, 0, kb.LIST_SIZE, anchor or 1)
    shown = await _list_page(svc, page, tr, chat=chat)
    if shown is None and reused:
        # Pushed out meanwhile by newer searches of the chat: saved again.
        page = replace(page, search_id=await _save_search(svc, chat.id, query))
        shown = await _list_page(svc, page, tr, chat=chat)
        reused = None
    if shown is None:
        shown_rule = f"<code>{html.escape(str(rule))}</code>"
        await _reply(update, tr("No stored article mentions {rule}.", rule=shown_rule))
        return
    await _reply(update, shown[0], reply_markup=shown[1])
    if reused:
        try:
            async with transaction(svc.sessions) as session:
                await chats_db.refresh_search(session, reused, now=svc.clock())
        except StorageError as exc:
            # It is only kept a little less long.
            log.warning("saved search %d not refreshed: %s", reused, exc)


async def _save_search(svc: Services, chat_id: int, query: str) -> int:
    async with svc.sessions() as session, session.begin():
        return await chats_db.save_search(session, chat_id, query, now=svc.clock())


async def _list_page(
    svc: Services,
    page: kb.ListPage,
    tr: Translator,
    *,
    sub: SubscribedChat | None = None,
    chat: Chat | None = None,
) -> tuple[str, InlineKeyboardMarkup] | None:
    """A page of /latest (search_id 0) or of a saved /search, as (text, buttons); None when
    the page is empty or the search is gone. What the caller has just read of the page's
    chat (``sub`` for /latest, the ``chat`` row for a search) is not read again."""
    start = page.list_page * page.size
    async with svc.sessions() as session:
        if page.search_id == 0:
            sub = sub or await chats_db.subscription_of(session, page.chat_id)
            if sub is None:
                return None
            chat = sub.chat
            matcher = _matcher(sub)
            scanned = await chats_db.recent_article_facts(
                session, max_id=page.anchor, text=bool(matcher.rules)
            )
            # Rules scan hundreds of texts: CPU work, off the event loop.
            ids, has_next = await asyncio.to_thread(
                _matching_page, matcher, scanned, start, page.size
            )
            by_id = await chats_db.articles_by_id(session, ids)
            shown = [by_id[i] for i in ids if i in by_id]
            heading = tr(LATEST_HEADING[_kind(chat.type)])
        else:
            chat = chat or await chats_db.get_chat(session, page.chat_id)
            query = await chats_db.saved_search(session, page.chat_id, page.search_id)
            rule = _parsed(query)
            if chat is None or query is None or rule is None:
                return None
            found = list(
                await search_db.search_articles(
                    session,
                    rule.include_terms,
                    rule.exclude_terms,
                    limit=page.size + 1,
                    offset=start,
                    max_id=page.anchor,
                )
            )
            shown, has_next = found[: page.size], len(found) > page.size
            heading = _search_heading(query, tr)
        sources = await chats_db.article_sources(session, [a.id for a in shown if a.id])
    if not shown:
        return None
    cards = [card_from_article(a, source=sources.get(a.id or 0, "")) for a in shown]
    heading += _page_suffix(page.list_page, has_next, tr)
    tz = zone(chat.timezone)
    text = render_list(cards, heading=heading, first_number=start + 1, tz=tz, tr=tr)
    markup = kb.list_keyboard(
        page, [c.id for c in cards], first_number=start + 1, has_next=has_next
    )
    return text, markup


def _parsed(query: str | None) -> KeywordRule | None:
    if query is None:
        return None
    try:
        return parse_rule(query)
    except RuleError:
        return None


@_guarded
async def cmd_events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    now = svc.clock()
    cards, chat = await _event_cards(svc, tg_chat.id, now)
    tr = translator_of(chat, update)
    tz = zone(chat.timezone if chat else "UTC")
    messages = render_events(cards, tz=tz, now=now, tr=tr)
    if not messages:
        await _reply(update, tr("No upcoming forums in your topics yet."))
        return
    for i, text in enumerate(messages):
        last = i == len(messages) - 1
        markup = kb.events_keyboard(tg_chat.id, tr=tr) if last else None
        await _reply(update, text, reply_markup=markup)


async def _event_cards(
    svc: Services, chat_id: int, now: datetime
) -> tuple[list[ArticleCard], Chat | None]:
    """Upcoming forums for a chat: in its topics and rules, or all of them if it has none."""
    async with svc.sessions() as session:
        sub = await chats_db.subscription_of(session, chat_id)
        tz = zone(sub.chat.timezone if sub else "UTC")
        events = await chats_db.upcoming_events(session, today=now.astimezone(tz).date())
        if sub is not None and (sub.topics or sub.rules):
            matcher = _matcher(sub, forums_only=False)
            events = [a for a in events if _article_matches(matcher, a)]
        events = list(events[:EVENTS_MAX])
        sources = await chats_db.article_sources(session, [a.id for a in events if a.id])
    cards = [card_from_article(a, source=sources.get(a.id or 0, "")) for a in events]
    return cards, sub.chat if sub else None


@_guarded
@_refusing
async def cmd_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    tr = await translator_for(svc, update)
    token = await _state_token(svc, tg_chat.id)
    if token is None:
        await _reply(update, tr(NOTHING_TO_DELETE))
        return
    action = kb.ConfirmStop(tg_chat.id, _requester(update), token)
    await _reply(
        update,
        tr(STOP_ASK[_kind(tg_chat.type)]),
        reply_markup=kb.confirm_keyboard(tr(YES_STOP), action, tr=tr),
    )


async def _state_token(svc: Services, chat_id: int) -> str | None:
    """The token of the chat's subscriptions as they are now (None: no such chat): a
    confirmation made for another state deletes nothing."""
    async with svc.sessions() as session:
        chat = await chats_db.get_chat(session, chat_id)
        return await _token_in(session, chat) if chat is not None else None


async def _token_in(session: AsyncSession, chat: Chat) -> str:
    topics = await chats_db.chat_topics(session, chat.id)
    rules = await chats_db.chat_rules(session, chat.id)
    # created_at: a chat deleted and subscribed again is another chat; rules by id and
    # text, as SQLite may give a new rule the id of a deleted one.
    return kb.state_token(
        chat.created_at.isoformat(), sorted(topics), sorted((r.id or 0, r.query) for r in rules)
    )


@_guarded
async def cmd_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user = update.effective_user
    tg_chat = update.effective_chat
    user_id = user.id if user is not None else None
    tr = await translator_for(svc, update)
    if tg_chat is None or tg_chat.type != ChatType.PRIVATE or not svc.is_admin(user_id):
        await _reply(update, tr(NOT_ALLOWED))
        return
    ref = _command_argument(update)
    target: str | int
    if ref.startswith("@") and len(ref) > 1 and ref[1:].replace("_", "").isalnum():
        target = ref
    elif ref.lstrip("-").isascii() and ref.lstrip("-").isdigit() and ref.startswith("-"):
        target = int(ref)
    else:
        await _reply(update, CHANNEL_USAGE)
        return
    try:
        channel = await context.bot.get_chat(target)
    except TelegramError as exc:
        await _reply(update, f"Can't find {html.escape(ref)}: {html.escape(exc.message)}.")
        return
    if channel.type != ChatType.CHANNEL:
        await _reply(update, f"{html.escape(ref)} is not a channel.")
        return
    if not await _bot_can_post(context, channel.id):
        await _reply(
            update,
            f"I can't post in <b>{html.escape(channel.effective_name or ref)}</b>: "
            "add me as an admin allowed to post messages, then try again.",
        )
        return
    async with svc.sessions() as session, session.begin():
        chat, _ = await chats_db.get_or_create_chat(
            session, channel.id, chat_type=channel.type, title=channel.title, now=svc.clock()
        )
        chosen = await chats_db.chat_topics(session, chat.id)
    await _reply(
        update,
        _topics_prompt(channel.title or ref, tr)
        + "\n"
        + tr("⚙️ Settings for the channel are one tap below."),
        reply_markup=kb.topic_keyboard(chat.id, chosen, tr=tr),
    )


async def _bot_can_post(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, context.bot.id)
    except TelegramError as exc:
        log.info("getChatMember(%s, bot) failed: %s", chat_id, exc)
        return False
    if member.status == ChatMemberStatus.OWNER:
        return True
    return member.status == ChatMemberStatus.ADMINISTRATOR and (
        getattr(member, "can_post_messages", None) is not False
    )


@_guarded
async def cmd_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    tr = await translator_for(services(context), update)
    await _reply(update, tr("Unknown command — /help"))


@_guarded
async def on_free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a private chat that is no command: a pointer to /help, in the chat's language
    (the throttle counts these like commands, so a chatty user gets few)."""
    tr = await translator_for(services(context), update)
    await _reply(update, tr(FREE_TEXT))


@_guarded
@_refusing
async def cmd_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: buttons English / 中文 for this chat's interface language."""
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    tr = translator_of(chat, update)
    await _reply(
        update,
        tr(LANGUAGE_PROMPT, language=kb.LANGUAGE_NAMES[tr.language]),
        reply_markup=kb.language_keyboard(chat.id, tr.language),
    )


def _matcher(sub: SubscribedChat, *, forums_only: bool | None = None) -> Subscription:
    only = sub.chat.forums_only if forums_only is None else forums_only
    return stored_subscription(sub.chat.id, sub.topics, sub.rules, only)


def _matching_page(
    sub: Subscription, scanned: Sequence[chats_db.ArticleFacts], start: int, size: int
) -> tuple[list[int], bool]:
    """The ids of the matching articles ``start`` to ``start + size``, and whether more
    match after them."""
    found = [
        a.id
        for a in scanned
        if matches(sub, title=a.title, text=a.text, topics=a.topics, is_event=a.is_event)
    ]
    return found[start : start + size], len(found) > start + size


def _article_matches(sub: Subscription, article: Article) -> bool:
    return matches(
        sub,
        title=article.title,
        text=article.text,
        topics=article.topics or [],
        is_event=article.is_event,
    )


# ------------------------------------------------------------------------------ buttons


@_guarded
async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every click on our keyboards; always answered, even when refused or stale."""
    query = update.callback_query
    if query is None:
        return
    answer: str | None = None
    alert = False
    try:
        tr = await translator_for(services(context), update)
        action = kb.parse(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if action is None or message is None:
            answer = tr(EXPIRED)
        else:
            allowed = await _may_configure(update, context, action)
            if not allowed:
                answer, alert = tr(_refusal(allowed, message.chat.type)), True
            else:
                answer, alert = await _apply(context, query, message, action, tr)
    finally:
        try:
            await query.answer(answer, show_alert=alert)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)


async def _may_configure(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: kb.Action
) -> bool | None:
    """Whether the clicking user may do ``action`` from the chat the button is in; None when
    the member check failed."""
    query = update.callback_query
    assert query is not None
    origin = query.message.chat if query.message is not None else None
    user_id = query.from_user.id
    target_id = action.chat_id
    if origin is None:
        return False
    if origin.id == target_id:
        if isinstance(action, kb.READ_ONLY):
            return True
        if origin.type in _GROUPS or origin.type == ChatType.CHANNEL:
            # In a channel every reader could click: only its admins may change it.
            return await _admin_status(context, origin.id, user_id)
        return True
    svc = services(context)
    if origin.type != ChatType.PRIVATE or not svc.is_admin(user_id):
        return False
    async with svc.sessions() as session:
        target = await chats_db.get_chat(session, target_id)
    return target is not None and target.type == ChatType.CHANNEL


async def _target_chat(svc: Services, message: Message, target_id: int) -> Chat | None:
    """The chat a button configures; the chat a button sits in is (re)created if needed."""
    async with svc.sessions() as session, session.begin():
        if message.chat.id != target_id:
            return await chats_db.get_chat(session, target_id)
        chat, _ = await chats_db.get_or_create_chat(
            session,
            target_id,
            chat_type=message.chat.type,
            title=message.chat.effective_name,
            now=svc.clock(),
        )
        return chat


async def _apply(
    context: ContextTypes.DEFAULT_TYPE,
    query: CallbackQuery,
    message: Message,
    action: kb.Action,
    tr: Translator,
) -> tuple[str | None, bool]:
    """Carry out a permitted click; returns the callback answer (text, as alert)."""
    svc = services(context)
    match action:
        # Confirmations first: they must not bring a deleted chat back to life.
        case kb.ConfirmStop() | kb.ConfirmClear():
            return await _confirm(svc, query, action, tr)
        case kb.CancelConfirm():
            await _edit(query, tr(CANCELLED), None)
            return None, False
        case kb.ListPage():
            shown = await _list_page(svc, action, tr)
            if shown is None:
                return tr(LIST_EXPIRED if action.list_page == 0 else NO_MORE), False
            await _edit(query, shown[0], shown[1])
            return None, False
        case kb.OpenCard(chat_id=chat_id, article_id=article_id):
            return await _open_card(svc, message, chat_id, article_id, tr), False
        case kb.CardCalendar(chat_id=chat_id, article_id=article_id):
            return await _send_card_calendar(svc, message, chat_id, article_id, tr), False
    chat = await _target_chat(svc, message, action.chat_id)
    if chat is None:
        return tr(NOT_CONFIGURED), True
    title = chat.title if message.chat.id != chat.id else None
    now = svc.clock()
    match action:
        case kb.ToggleTopic(chat_id=chat_id, slug=slug, page=page):
            async with svc.sessions() as session, session.begin():
                on = await chats_db.toggle_topic(session, chat_id, slug)
                chosen = await chats_db.chat_topics(session, chat_id)
            await _edit(query, None, kb.topic_keyboard(chat_id, chosen, page, tr=tr))
            topic = topic_by_slug(slug)
            name = topic.label(tr.language) if topic else slug
            if on:
                return tr("Subscribed to {topic}", topic=name), False
            return tr("Removed {topic}", topic=name), False
        case kb.ShowTopics(chat_id=chat_id, page=page):
            async with svc.sessions() as session:
                chosen = await chats_db.chat_topics(session, chat_id)
            await _edit(
                query, _topics_prompt(title, tr), kb.topic_keyboard(chat_id, chosen, page, tr=tr)
            )
            return None, False
        case kb.TopicsDone(chat_id=chat_id):
            async with svc.sessions() as session:
                sub = await chats_db.subscription_of(session, chat_id)
            text = subscriptions_text(sub, tr) if sub else tr(NO_SUBS)
            await _edit(query, text, None)
            return tr(SAVED), False
        case kb.ShowSettings(chat_id=chat_id, view=view):
            await _edit(
                query,
                settings_text(chat, now=now, title=title, tr=tr),
                kb.settings_keyboard(chat_id, chat, view, now=now, tr=tr),
            )
            return None, False
        case kb.TimezoneHint():
            return tr("Send /timezone followed by a city or offset, e.g. /timezone Berlin"), True
        case kb.EventsCalendar(chat_id=chat_id):
            return await _send_calendar(svc, message, chat_id, tr), False
        case kb.ShowUnsubscribe(chat_id=chat_id, unsub_page=page):
            await _show_unsubscribe(svc, query, chat_id, page, tr)
            return None, False
        case kb.RemoveTopic() | kb.RemoveRule():
            return await _remove(svc, query, action, tr), False
        case kb.RemoveAll(chat_id=chat_id):
            token = await _state_token(svc, chat_id)
            if token is None:
                return tr(NOT_CONFIGURED), True
            ask = kb.ConfirmClear(chat_id, query.from_user.id, token)
            await _edit(
                query,
                tr(CLEAR_ASK[_kind(chat.type)]),
                kb.confirm_keyboard(tr(YES_CLEAR), ask, tr=tr),
            )
            return None, False
        case kb.MuteTopic(chat_id=chat_id, slug=slug) | kb.UnmuteTopic(chat_id=chat_id, slug=slug):
            return await _mute(svc, query, action, tr), False
        case kb.SetLanguage(chat_id=chat_id, language=language):
            return await _set_language(svc, query, chat_id, language), False
        case _:
            return await _change_setting(svc, query, chat, action, title, tr=tr)


async def _set_language(svc: Services, query: CallbackQuery, chat_id: int, language: str) -> str:
    """/language's buttons: store the chat's language, answer in it."""
    async with svc.sessions() as session, session.begin():
        await chats_db.update_settings(session, chat_id, language=language)
    tr = translator(language)
    await _edit(query, tr(LANGUAGE_SET), kb.language_keyboard(chat_id, tr.language))
    return tr(SAVED)


async def _change_setting(
    svc: Services,
    query: CallbackQuery,
    chat: Chat,
    action: kb.Action,
    title: str | None,
    *,
    tr: Translator,
) -> tuple[str | None, bool]:
    now = svc.clock()
    changes: chats_db.SettingsChange
    view: kb.SettingsView = "main"
    match action:
        case kb.SetMode(mode=mode):
            changes = {"mode": mode}
            # A chat entering digest mode gets its first digest at the next slot, not now.
            if mode in DIGEST_MODES and chat.mode not in DIGEST_MODES:
                changes["last_digest_at"] = now
        case kb.SetHour(hour=hour):
            changes = {"digest_hour": hour}
        case kb.SetWeekday(weekday=weekday):
            changes = {"digest_weekday": weekday}
        case kb.SetSentences(sentences=sentences):
            changes = {"summary_sentences": sentences}
        case kb.SetForumsOnly(on=on):
            changes = {"forums_only": on}
        case kb.SetPaused(on=on):
            changes = {"paused": on}
        case kb.SetSilent(on=on):
            changes = {"silent": on}
        case kb.SetTimezone(timezone=name):
            changes = {"timezone": name}
        case _:
            return None, False
    async with svc.sessions() as session, session.begin():
        updated = await chats_db.update_settings(session, chat.id, **changes)
    if updated is None:
        return tr(NOT_CONFIGURED), True
    await _edit(
        query,
        settings_text(updated, now=now, title=title, tr=tr),
        kb.settings_keyboard(chat.id, updated, view, now=now, tr=tr),
    )
    return tr(SAVED), False


async def _show_unsubscribe(
    svc: Services, query: CallbackQuery, chat_id: int, page: int, tr: Translator
) -> None:
    async with svc.sessions() as session:
        topics = await chats_db.chat_topics(session, chat_id)
        rules = await chats_db.chat_rules(session, chat_id)
    if not topics and not rules:
        await _edit(query, tr(ALL_REMOVED), None)
        return
    pairs = [(r.id, r.query) for r in rules if r.id is not None]
    await _edit(
        query, tr(TAP_TO_REMOVE), kb.unsubscribe_keyboard(chat_id, topics, pairs, page, tr=tr)
    )


async def _remove(
    svc: Services, query: CallbackQuery, action: kb.RemoveTopic | kb.RemoveRule, tr: Translator
) -> str:
    chat_id = action.chat_id
    async with svc.sessions() as session, session.begin():
        match action:
            case kb.RemoveTopic(slug=slug):
                await chats_db.remove_topic(session, chat_id, slug)
            case kb.RemoveRule(rule_id=rule_id):
                await chats_db.remove_rule(session, chat_id, rule_id)
    await _show_unsubscribe(svc, query, chat_id, action.unsub_page, tr)
    return tr("Removed")


async def _confirm(
    svc: Services, query: CallbackQuery, action: kb.ConfirmStop | kb.ConfirmClear, tr: Translator
) -> tuple[str | None, bool]:
    """Delete, if the click is by who asked and the chat is as it was when asked."""
    if action.user_id not in (0, query.from_user.id):
        return tr(NOT_YOURS), True
    chat_id = action.chat_id
    async with svc.sessions() as session, session.begin():
        chat = await chats_db.get_chat(session, chat_id)
        kind = _kind(chat.type) if chat is not None else "private"
        token = await _token_in(session, chat) if chat is not None else None
        if token != action.token:
            done = None
        elif isinstance(action, kb.ConfirmStop):
            await chats_db.delete_chat(session, chat_id)
            done = tr(STOP_DONE[kind])
        else:
            await chats_db.clear_subscriptions(session, chat_id)
            done = tr(CLEARED)
    if done is None:
        log.info("stale confirmation for chat %s ignored", chat_id)
        await _edit(query, tr(STALE_CONFIRM), None)
        return None, False
    await _edit(query, done, None)
    return tr("Deleted"), False


async def _mute(
    svc: Services, query: CallbackQuery, action: kb.MuteTopic | kb.UnmuteTopic, tr: Translator
) -> str:
    """🔕 under a card: unsubscribe from its topic, the button becoming an undo (and back)."""
    topic = topic_by_slug(action.slug)
    name = kb.topic_label(topic, tr) if topic is not None else action.slug
    muting = isinstance(action, kb.MuteTopic)
    async with svc.sessions() as session, session.begin():
        if muting:
            changed = await chats_db.remove_topic(session, action.chat_id, action.slug)
        else:
            changed = await chats_db.add_topic(session, action.chat_id, action.slug)
    if not changed:
        if muting:
            return tr("Already not following {topic}", topic=name)
        return tr("Already following {topic}", topic=name)
    new = (kb.unmute_button if muting else kb.mute_button)(action.chat_id, action.slug, tr=tr)
    message = query.message if isinstance(query.message, Message) else None
    old = message.reply_markup if message is not None else None
    await _edit(query, None, kb.swap_button(old, kb.encode(action), new))
    if muting:
        return tr("Muted {topic} — undo below", topic=name)
    return tr("Following {topic} again", topic=name)


async def _open_card(
    svc: Services, message: Message, chat_id: int, article_id: int, tr: Translator
) -> str | None:
    """A list's numbered button: the article's card, as a message of its own."""
    now = svc.clock()
    async with svc.sessions() as session:
        article = await session.get(Article, article_id)
        sub = await chats_db.subscription_of(session, chat_id)
        sources = await chats_db.article_sources(session, [article_id])
    if article is None:
        return tr(ARTICLE_GONE)
    chat = sub.chat if sub is not None else None
    matcher = (
        _matcher(sub, forums_only=False)
        if sub is not None
        else Subscription(chat_id, frozenset(), ())
    )
    extras = card_extras(matcher, article, chat_type=message.chat.type, tr=tr)
    card = card_from_article(article, source=sources.get(article_id, ""))
    text = render_card(
        card,
        sentences=chat.summary_sentences if chat else 2,
        tz=zone(chat.timezone if chat else "UTC"),
        now=now,
        reason=extras.reason,
        tr=tr,
    )
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=extras.markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        do_quote=False,
    )
    return None


async def _send_calendar(svc: Services, message: Message, chat_id: int, tr: Translator) -> str:
    now = svc.clock()
    cards, _ = await _event_cards(svc, chat_id, now)
    data = events_to_ics(cards, now=now)
    if not any(card.event is not None for card in cards):
        return tr(NO_FORUMS)
    # reply_document keeps the forum thread of the message the button is on.
    await message.reply_document(
        document=data, filename=ICS_FILENAME, caption=tr(ICS_CAPTION), do_quote=False
    )
    return tr(CALENDAR_SENT)


async def _send_card_calendar(
    svc: Services, message: Message, chat_id: int, article_id: int, tr: Translator
) -> str:
    """📅 under a card: the .ics of that one forum."""
    async with svc.sessions() as session:
        article = await session.get(Article, article_id)
        sources = await chats_db.article_sources(session, [article_id])
    if article is None:
        return tr(ARTICLE_GONE)
    card = card_from_article(article, source=sources.get(article_id, ""))
    if card.event is None or event_dates(card.event) is None:
        return tr(NO_DATES)
    data = events_to_ics([card], now=svc.clock())
    await message.reply_document(
        document=data,
        filename=f"sciforum-forum-{article_id}.ics",
        caption=tr(ICS_CAPTION_ONE),
        do_quote=False,
    )
    return tr(CALENDAR_SENT)


async def _edit(
    query: CallbackQuery, text: str | None, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the clicked message in place; an unchanged message is not an error."""
    try:
        if text is None:
            await query.edit_message_reply_markup(reply_markup=markup)
        else:
            await query.edit_message_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


# ------------------------------------------------------------------------------ wiring


class _UnknownCommand(filters.MessageFilter):
    """A /command in a private chat that no handler knows (ours, the admin's, /channel)."""

    def __init__(self, known: frozenset[str]) -> None:
        super().__init__(name="UnknownCommand")
        self.known = known

    def filter(self, message: Message) -> bool:
        if message.chat.type != ChatType.PRIVATE or not (message.text or "").startswith("/"):
            return False
        return _command_name(message) not in self.known


_COMMAND_HANDLERS: dict[str, Handler] = {
    "start": cmd_start,
    "topics": cmd_topics,
    "help": cmd_help,
    "subscribe": cmd_subscribe,
    "unsubscribe": cmd_unsubscribe,
    "mysubs": cmd_mysubs,
    "settings": cmd_settings,
    "timezone": cmd_timezone,
    "quiet": cmd_quiet,
    "latest": cmd_latest,
    "search": cmd_search,
    "events": cmd_events,
    "stop": cmd_stop,
    "channel": cmd_channel,
    "language": cmd_language,
}


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Every subscriber handler, the unknown-command fallback last (it skips known commands,
    so its place relative to the admin handlers does not matter)."""
    known = frozenset(_COMMAND_HANDLERS) | {name for name, _ in _admin_commands()}
    found: list[BaseHandler[Any, Any, Any]] = [
        CommandHandler(name, callback, filters=filters.UpdateType.MESSAGE)
        for name, callback in _COMMAND_HANDLERS.items()
    ]
    found.append(CallbackQueryHandler(on_button, pattern=kb.is_action))
    found.append(MessageHandler(filters.UpdateType.MESSAGE & _UnknownCommand(known), cmd_unknown))
    free_text = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT
    found.append(MessageHandler(free_text & ~filters.COMMAND, on_free_text))
    return found


def fallback_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Handlers to add after every other one: a click no handler took is still answered
    (Telegram keeps the button spinning otherwise)."""
    return [CallbackQueryHandler(on_stale_button)]


@_guarded
async def on_stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None:
        tr = await translator_for(services(context), update)
        await query.answer(tr("This button no longer works — send the command again."))
