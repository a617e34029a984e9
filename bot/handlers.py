"""Subscriber commands and button clicks: topics, keyword rules, settings, /latest, /search,
/events, /stop, and /channel for bot admins configuring a channel.

Each handler is a plain ``async def`` over ``(update, context)``; ``handlers()`` lists them for
the app factory and ``COMMANDS`` describes them for setMyCommands and /help. Handlers never
let an exception reach PTB's error handler: a bad argument gets a usage line, anything
unexpected is logged, counted, and answered with a short apology.

Who may change what: anyone in a private chat; in groups only the group's admins (anonymous
admins too); a channel only a bot admin, from a private chat. Buttons carry the chat they
configure (``bot.keyboards``), and every click is checked against that chat again.
"""

from __future__ import annotations

import functools
import html
import importlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram import Chat as TgChat
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
from bot.digests import DIGEST_MODES, canonical_timezone, zone
from bot.matching import Subscription, matches
from bot.render import ArticleCard, card_from_article, render_card, render_events
from bot.routing import subscription
from bot.services import Services, services
from db import chats as chats_db
from db.chats import SubscribedChat
from db.models import Article, Chat
from summaries.rules import RuleError, parse_rule
from summaries.topics import TOPICS, topic_by_slug

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

COMMANDS: list[tuple[str, str]] = [
    ("start", "Welcome, and pick topics"),
    ("topics", "Choose your topics"),
    ("subscribe", 'Follow keywords: /subscribe crispr "gene editing" -plants'),
    ("unsubscribe", "Remove a topic or keyword rule; /unsubscribe all for everything"),
    ("mysubs", "List your topics and keyword rules"),
    ("settings", "Instant or digest, digest hour, summary length, forums only, pause"),
    ("timezone", "Set your time zone: /timezone Europe/Berlin"),
    ("latest", "The newest matching articles: /latest 5"),
    ("search", "Search stored articles: /search fusion reactor"),
    ("events", "Upcoming forums in your topics, with a calendar file"),
    ("stop", "Delete this chat's subscriptions and settings"),
    ("help", "This list"),
]
# Shown in /help to bot admins only.
ADMIN_COMMANDS: list[tuple[str, str]] = [
    ("channel", "Configure a channel the bot posts in: /channel @name"),
]

LATEST_DEFAULT, LATEST_MAX = 5, 10
SEARCH_RESULTS = 5
EVENTS_MAX = 30
ERRORS_KEY = "handler_errors"
ICS_FILENAME = "sciforum-forums.ics"
_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
_GROUPS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})

TIMEZONE_USAGE = (
    "Usage: <code>/timezone Europe/Berlin</code> — an IANA time-zone name such as "
    "Asia/Shanghai or America/Los_Angeles."
)
SUBSCRIBE_USAGE = (
    'Usage: <code>/subscribe crispr</code> or <code>/subscribe "gene editing" -plants</code>'
    ' — articles with any of the words or "phrases" and none of the -excluded ones. A word'
    " of 5+ letters also meets the words built on it (microbe → microbiome); write a Chinese"
    " word's characters together: <code>量子计算</code>."
)
SEARCH_USAGE = "Usage: <code>/search fusion reactor</code> — stored articles with all the words."
LATEST_USAGE = f"Usage: <code>/latest</code> or <code>/latest N</code> (N from 1 to {LATEST_MAX})."
CHANNEL_USAGE = (
    "Usage: <code>/channel @channelname</code> or <code>/channel -100…</code> "
    "(the bot must be an admin there, allowed to post)."
)
NOT_ADMIN = "Only this group's admins can change its subscriptions and settings."
NOT_ALLOWED = "Not allowed."
NO_SUBS = "No subscriptions yet: /topics to pick topics, /subscribe to follow keywords."

# ------------------------------------------------------------------------------ plumbing


def _guarded(handler: Handler) -> Handler:
    """Expected failures stay here: a Telegram error for this chat (blocked meanwhile, a
    message gone, an edit with nothing new) is logged and counted. Anything else is a bug
    and goes on to the application's one error handler (bot.app.on_error)."""

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


def _thread_of(message: Message | None) -> int | None:
    if message is not None and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


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
        return chat


async def _is_chat_admin(context: ContextTypes.DEFAULT_TYPE, chat: TgChat, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat.id, user_id)
    except TelegramError as exc:
        log.info("getChatMember(%s, %s) failed: %s", chat.id, user_id, exc)
        return False
    return member.status in _ADMIN_STATUSES


async def _may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the sender may change this chat's subscriptions (group admins only)."""
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
    return user is not None and await _is_chat_admin(context, chat, user.id)


def _refusing(handler: Handler) -> Handler:
    """Run ``handler`` only for senders allowed to change the chat; refuse others briefly."""

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await _may_change(update, context):
            await _reply(update, NOT_ADMIN)
            return
        await handler(update, context)

    return run


# ------------------------------------------------------------------------------ texts


def _topic_names(slugs: Sequence[str]) -> list[str]:
    found = [topic_by_slug(s) for s in slugs]
    return [html.escape(kb.topic_label(t)) for t in found if t is not None]


def welcome_text() -> str:
    return (
        "🔬 <b>SciForum Digest</b>\n"
        "Science news and forums, summarised and sent to this chat.\n\n"
        "Pick topics below (tap again to remove one), or follow keywords with "
        "<code>/subscribe crispr</code>.\n"
        "/settings: instant or daily/weekly digest, summary length · /help: every command"
    )


def help_text(*, admin: bool) -> str:
    lines = ["<b>Commands</b>"]
    lines += [f"/{name} — {html.escape(text)}" for name, text in COMMANDS]
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


def subscriptions_text(sub: SubscribedChat) -> str:
    rules = sub.rules
    if not sub.topics and not rules:
        return NO_SUBS
    lines = ["<b>Your subscriptions</b>"]
    topics = _topic_names([t.slug for t in TOPICS if t.slug in sub.topics])
    lines.append("Topics: " + (", ".join(topics) if topics else "none"))
    if rules:
        lines.append("Keywords: " + ", ".join(f"<code>{html.escape(r)}</code>" for r in rules))
    lines.append(_delivery_line(sub.chat))
    if sub.chat.forums_only:
        lines.append("Forums only: on")
    if sub.chat.paused:
        lines.append("⏸ Paused — /settings to resume")
    return "\n".join(lines)


def _delivery_line(chat: Chat) -> str:
    if chat.mode == "daily":
        mode = f"📰 daily digest at {chat.digest_hour:02d}:00"
    elif chat.mode == "weekly":
        day = kb.WEEKDAYS[chat.digest_weekday % 7]
        mode = f"🗞 weekly digest on {day} at {chat.digest_hour:02d}:00"
    else:
        mode = "⚡ instant (each article as it arrives)"
    return f"Delivery: {mode} · {html.escape(chat.timezone)}"


def settings_text(chat: Chat, *, title: str | None = None) -> str:
    heading = "⚙️ <b>Settings</b>"
    if title:
        heading += f" — {html.escape(title)}"
    n = chat.summary_sentences
    return "\n".join(
        [
            heading,
            _delivery_line(chat),
            f"Summary: {n} sentence{'s' if n != 1 else ''}",
            f"Forums only: {'on' if chat.forums_only else 'off'}",
            "Status: " + ("⏸ paused" if chat.paused else "▶️ active"),
            "Time zone: /timezone Europe/Berlin",
        ]
    )


def _topics_prompt(title: str | None = None) -> str:
    where = f" for <b>{html.escape(title)}</b>" if title else ""
    return f"🏷 Pick topics{where} (✅ = subscribed):"


# ------------------------------------------------------------------------------ commands


@_guarded
@_refusing
async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session:
        chosen = await chats_db.chat_topics(session, chat.id)
    await _reply(update, welcome_text(), reply_markup=kb.topic_keyboard(chat.id, chosen))


@_guarded
@_refusing
async def cmd_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session:
        chosen = await chats_db.chat_topics(session, chat.id)
    await _reply(update, _topics_prompt(), reply_markup=kb.topic_keyboard(chat.id, chosen))


@_guarded
async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    admin = services(context).is_admin(user.id if user else None)
    await _reply(update, help_text(admin=admin))


@_guarded
@_refusing
async def cmd_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = _command_argument(update)
    if not query:
        await _reply(update, SUBSCRIBE_USAGE)
        return
    try:
        rule = parse_rule(query)
    except RuleError as exc:
        await _reply(update, f"Can't follow that: {html.escape(str(exc))}.\n{SUBSCRIBE_USAGE}")
        return
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session, session.begin():
        stored, created = await chats_db.add_rule(session, chat.id, str(rule), now=svc.clock())
    shown = f"<code>{html.escape(stored.query)}</code>"
    if created:
        await _reply(update, f"🔎 Following {shown}. /mysubs lists everything.")
    else:
        await _reply(update, f"You already follow {shown}.")


@_guarded
@_refusing
async def cmd_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = await _ensure_chat(svc, update)
    argument = _command_argument(update)
    if argument.casefold() == "all":
        async with svc.sessions() as session, session.begin():
            await chats_db.clear_subscriptions(session, chat.id)
        await _reply(update, "Removed all topics and keyword rules. /topics to start again.")
        return
    if argument:
        await _reply(update, await _unsubscribe_one(svc, chat.id, argument))
        return
    async with svc.sessions() as session:
        topics = await chats_db.chat_topics(session, chat.id)
        rules = await chats_db.chat_rules(session, chat.id)
    if not topics and not rules:
        await _reply(update, NO_SUBS)
        return
    await _reply(
        update,
        "Tap what to remove:",
        reply_markup=kb.unsubscribe_keyboard(
            chat.id, topics, [(r.id, r.query) for r in rules if r.id is not None]
        ),
    )


async def _unsubscribe_one(svc: Services, chat_id: int, argument: str) -> str:
    wanted = argument.casefold()
    topic = next(
        (t for t in TOPICS if wanted in (t.slug, t.name.casefold(), t.slug.replace("-", " "))),
        None,
    )
    async with svc.sessions() as session, session.begin():
        if topic is not None and await chats_db.remove_topic(session, chat_id, topic.slug):
            return f"Removed the topic {html.escape(kb.topic_label(topic))}."
        try:
            removed = await chats_db.remove_rule_by_query(session, chat_id, argument)
        except RuleError:
            removed = False
    if removed:
        return f"Stopped following <code>{html.escape(str(parse_rule(argument)))}</code>."
    return "You don't follow that. /unsubscribe without words shows buttons."


@_guarded
async def cmd_mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    async with svc.sessions() as session:
        sub = await chats_db.subscription_of(session, tg_chat.id)
    if sub is None:
        await _reply(update, NO_SUBS)
        return
    await _reply(update, subscriptions_text(sub))


@_guarded
@_refusing
async def cmd_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = await _ensure_chat(services(context), update)
    await _reply(update, settings_text(chat), reply_markup=kb.settings_keyboard(chat.id, chat))


@_guarded
@_refusing
async def cmd_timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    argument = _command_argument(update)
    if not argument:
        chat = await _ensure_chat(svc, update)
        current = html.escape(chat.timezone)
        await _reply(update, f"Your time zone: <b>{current}</b>.\n{TIMEZONE_USAGE}")
        return
    name = canonical_timezone(argument)
    if name is None:
        shown = html.escape(argument[:64])
        await _reply(update, f"Unknown time zone “{shown}”.\n{TIMEZONE_USAGE}")
        return
    chat = await _ensure_chat(svc, update)
    async with svc.sessions() as session, session.begin():
        await chats_db.update_settings(session, chat.id, timezone=name)
    local = svc.clock().astimezone(zone(name))
    await _reply(update, f"🌐 Time zone set to <b>{name}</b> (it is {local:%H:%M} there now).")


@_guarded
async def cmd_latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    argument = _command_argument(update)
    count = LATEST_DEFAULT
    if argument:
        if not (argument.isascii() and argument.isdigit()) or not 1 <= int(argument) <= LATEST_MAX:
            await _reply(update, LATEST_USAGE)
            return
        count = int(argument)
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    async with svc.sessions() as session:
        sub = await chats_db.subscription_of(session, tg_chat.id)
        if sub is None or (not sub.topics and not sub.rules):
            await _reply(update, NO_SUBS)
            return
        matcher = _matcher(sub)
        found = [a for a in await chats_db.recent_articles(session) if _article_matches(matcher, a)]
        found = found[:count]
        sources = await chats_db.article_sources(session, [a.id for a in found if a.id])
    if not found:
        await _reply(update, "Nothing matching your subscriptions yet — new articles arrive here.")
        return
    now = svc.clock()
    # Oldest first, so the newest ends up at the bottom of the chat.
    for article in reversed(found):
        card = card_from_article(article, source=sources.get(article.id or 0, ""))
        await _reply(update, _card_html(card, sub.chat, now), preview=False)


@_guarded
async def cmd_search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    argument = _command_argument(update)
    if not argument:
        await _reply(update, SEARCH_USAGE)
        return
    try:
        rule = parse_rule(argument)
    except RuleError as exc:
        await _reply(update, f"Can't search for that: {html.escape(str(exc))}.\n{SEARCH_USAGE}")
        return
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    async with svc.sessions() as session:
        found = await chats_db.search_articles(
            session, rule.include_terms, rule.exclude_terms, limit=SEARCH_RESULTS
        )
        sources = await chats_db.article_sources(session, [a.id for a in found if a.id])
        chat = await chats_db.get_chat(session, tg_chat.id)
    if not found:
        await _reply(update, f"No stored article mentions <code>{html.escape(str(rule))}</code>.")
        return
    now = svc.clock()
    await _reply(update, f"🔎 {len(found)} newest for <code>{html.escape(str(rule))}</code>:")
    for article in reversed(found):
        card = card_from_article(article, source=sources.get(article.id or 0, ""))
        await _reply(update, _card_html(card, chat, now))


@_guarded
async def cmd_events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    tg_chat = update.effective_chat
    assert tg_chat is not None
    now = svc.clock()
    cards, chat = await _event_cards(svc, tg_chat.id, now)
    tz = zone(chat.timezone if chat else "UTC")
    messages = render_events(cards, tz=tz, now=now)
    if not messages:
        await _reply(update, "No upcoming forums in your topics yet.")
        return
    for i, text in enumerate(messages):
        last = i == len(messages) - 1
        await _reply(update, text, reply_markup=kb.events_keyboard(tg_chat.id) if last else None)


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
    async with svc.sessions() as session, session.begin():
        await chats_db.delete_chat(session, tg_chat.id)
    await _reply(
        update,
        "🗑 Deleted this chat's topics, keyword rules and settings; nothing more will be sent "
        "here. /start to subscribe again.",
    )


@_guarded
async def cmd_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user = update.effective_user
    tg_chat = update.effective_chat
    user_id = user.id if user is not None else None
    if tg_chat is None or tg_chat.type != ChatType.PRIVATE or not svc.is_admin(user_id):
        await _reply(update, NOT_ALLOWED)
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
        _topics_prompt(channel.title or ref) + "\n⚙️ Settings for the channel are one tap below.",
        reply_markup=kb.topic_keyboard(chat.id, chosen),
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
    await _reply(update, "Unknown command — /help")


def _matcher(sub: SubscribedChat, *, forums_only: bool | None = None) -> Subscription:
    only = sub.chat.forums_only if forums_only is None else forums_only
    return subscription(sub.chat.id, sub.topics, sub.rules, only)


def _article_matches(sub: Subscription, article: Article) -> bool:
    return matches(
        sub,
        title=article.title,
        text=article.text,
        topics=article.topics or [],
        is_event=article.is_event,
    )


def _card_html(card: ArticleCard, chat: Chat | None, now: datetime) -> str:
    sentences = chat.summary_sentences if chat else 2
    return render_card(
        card, sentences=sentences, tz=zone(chat.timezone if chat else "UTC"), now=now
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
        action = kb.parse(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if action is None or message is None:
            answer = "This menu has expired — send the command again."
        elif not await _may_configure(update, context, action.chat_id):
            answer, alert = NOT_ADMIN if message.chat.type in _GROUPS else NOT_ALLOWED, True
        else:
            answer, alert = await _apply(context, query, message, action)
    finally:
        try:
            await query.answer(answer, show_alert=alert)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)


async def _may_configure(
    update: Update, context: ContextTypes.DEFAULT_TYPE, target_id: int
) -> bool:
    """Whether the clicking user may change ``target_id`` from the chat the button is in."""
    query = update.callback_query
    assert query is not None
    origin = query.message.chat if query.message is not None else None
    user_id = query.from_user.id
    if origin is None:
        return False
    if origin.id == target_id:
        if origin.type in _GROUPS:
            return await _is_chat_admin(context, origin, user_id)
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
    context: ContextTypes.DEFAULT_TYPE, query: CallbackQuery, message: Message, action: kb.Action
) -> tuple[str | None, bool]:
    """Carry out a permitted click; returns the callback answer (text, as alert)."""
    svc = services(context)
    chat = await _target_chat(svc, message, action.chat_id)
    if chat is None:
        return "That chat is no longer configured.", True
    title = chat.title if message.chat.id != chat.id else None
    match action:
        case kb.ToggleTopic(chat_id=chat_id, slug=slug, page=page):
            async with svc.sessions() as session, session.begin():
                on = await chats_db.toggle_topic(session, chat_id, slug)
                chosen = await chats_db.chat_topics(session, chat_id)
            await _edit(query, None, kb.topic_keyboard(chat_id, chosen, page))
            topic = topic_by_slug(slug)
            name = topic.name if topic else slug
            return (f"Subscribed to {name}" if on else f"Removed {name}"), False
        case kb.ShowTopics(chat_id=chat_id, page=page):
            async with svc.sessions() as session:
                chosen = await chats_db.chat_topics(session, chat_id)
            await _edit(query, _topics_prompt(title), kb.topic_keyboard(chat_id, chosen, page))
            return None, False
        case kb.TopicsDone(chat_id=chat_id):
            async with svc.sessions() as session:
                sub = await chats_db.subscription_of(session, chat_id)
            text = subscriptions_text(sub) if sub else NO_SUBS
            await _edit(query, text, None)
            return "Saved", False
        case kb.ShowSettings(chat_id=chat_id, view=view):
            await _edit(
                query, settings_text(chat, title=title), kb.settings_keyboard(chat_id, chat, view)
            )
            return None, False
        case kb.TimezoneHint():
            return "Send /timezone followed by a name, e.g. /timezone Europe/Berlin", True
        case kb.EventsCalendar(chat_id=chat_id):
            return await _send_calendar(svc, message, chat_id), False
        case kb.RemoveTopic() | kb.RemoveRule() | kb.RemoveAll():
            return await _remove(svc, query, action), False
        case _:
            return await _change_setting(svc, query, chat, action, title)


async def _change_setting(
    svc: Services, query: CallbackQuery, chat: Chat, action: kb.Action, title: str | None
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
        case _:
            return None, False
    async with svc.sessions() as session, session.begin():
        updated = await chats_db.update_settings(session, chat.id, **changes)
    if updated is None:
        return "That chat is no longer configured.", True
    await _edit(
        query, settings_text(updated, title=title), kb.settings_keyboard(chat.id, updated, view)
    )
    return "Saved", False


async def _remove(svc: Services, query: CallbackQuery, action: kb.Action) -> str:
    chat_id = action.chat_id
    async with svc.sessions() as session, session.begin():
        match action:
            case kb.RemoveTopic(slug=slug):
                await chats_db.remove_topic(session, chat_id, slug)
                done = "Removed"
            case kb.RemoveRule(rule_id=rule_id):
                await chats_db.remove_rule(session, chat_id, rule_id)
                done = "Removed"
            case _:
                await chats_db.clear_subscriptions(session, chat_id)
                done = "Removed everything"
        topics = await chats_db.chat_topics(session, chat_id)
        rules = await chats_db.chat_rules(session, chat_id)
    if not topics and not rules:
        await _edit(query, "No topics or keyword rules left. /topics to start again.", None)
    else:
        pairs = [(r.id, r.query) for r in rules if r.id is not None]
        await _edit(query, "Tap what to remove:", kb.unsubscribe_keyboard(chat_id, topics, pairs))
    return done


async def _send_calendar(svc: Services, message: Message, chat_id: int) -> str:
    now = svc.clock()
    cards, _ = await _event_cards(svc, chat_id, now)
    data = events_to_ics(cards, now=now)
    if not any(card.event is not None for card in cards):
        return "No upcoming forums to add."
    # reply_document keeps the forum thread of the message the button is on.
    await message.reply_document(
        document=data,
        filename=ICS_FILENAME,
        caption="📅 Open this file to add the forums to your calendar.",
        do_quote=False,
    )
    return "Calendar sent"


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
        text = message.text or ""
        if message.chat.type != ChatType.PRIVATE or not text.startswith("/"):
            return False
        name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].casefold() if len(text) > 1 else ""
        return name not in self.known


_COMMAND_HANDLERS: dict[str, Handler] = {
    "start": cmd_start,
    "topics": cmd_topics,
    "help": cmd_help,
    "subscribe": cmd_subscribe,
    "unsubscribe": cmd_unsubscribe,
    "mysubs": cmd_mysubs,
    "settings": cmd_settings,
    "timezone": cmd_timezone,
    "latest": cmd_latest,
    "search": cmd_search,
    "events": cmd_events,
    "stop": cmd_stop,
    "channel": cmd_channel,
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
    return found


def fallback_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Handlers to add after every other one: a click no handler took is still answered
    (Telegram keeps the button spinning otherwise)."""
    return [CallbackQueryHandler(on_stale_button)]


@_guarded
async def on_stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer("This button no longer works — send the command again.")
