"""Admin commands (users in ADMIN_IDS): /broadcast with an HTML check, a preview and a
confirmation; /broadcast_cancel; /feeds, /addfeed, /feedtopics, /removefeed; /stats.

Anyone else gets a plain "Not allowed." for every command and button here, and nothing
else happens: no database writes, no conversation state.

The pure parts (``check_telegram_html``, the ``render_*`` functions, ``split_lines``) take
plain data; the handlers only fetch, store and send.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urlsplit

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.broadcasts import follow_broadcast
from bot.charts import stats_chart
from bot.errors import HtmlError, UnknownTopic
from bot.feedcheck import check_feed
from bot.feedtopics import NO_TOPICS, all_hashtags, hashtags, parse_topics
from bot.i18n import ENGLISH, Translator
from bot.ingest import Ingestor
from bot.render import MAX_MESSAGE, utf16_len
from bot.services import Services, services
from db import chatfeeds, outbox, queries
from db import stats as db_stats
from db.errors import FeedExists, FeedNotFound
from db.models import Broadcast, Feed
from summaries.errors import FeedParseError, FetchError
from summaries.topics import topic_by_slug

log = logging.getLogger(__name__)

NOT_ALLOWED: Final = "Not allowed."
# Telegram's limit for one message, in UTF-16 code units of the visible text.
CALLBACK_PREFIX: Final = "adm:"

COMMANDS: list[tuple[str, str]] = [
    ("broadcast", "Admin: send a message to every active chat"),
    ("broadcast_cancel", "Admin: stop the running broadcast"),
    ("feeds", "Admin: list feeds and their health"),
    ("addfeed", "Admin: add a feed after checking it (/addfeed URL #topic ...)"),
    ("feedtopics", "Admin: set a feed's default topics (/feedtopics ID #topic ... or -)"),
    ("removefeed", "Admin: remove a feed (/removefeed ID or URL)"),
    ("stats", "Admin: chats, subscriptions, articles and deliveries"),
]

# The one conversation state: /broadcast was sent alone, the next message is the text.
_AWAITING_TEXT: Final = 1
_LOCK_KEY: Final = "admin.broadcast_lock"
# bot_data key of the running follow_broadcast tasks (see stop_followers).
FOLLOWERS_KEY: Final = "admin.broadcast_followers"
_SEND, _DROP = "send", "drop"
_NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)
_BUTTON_DATA = re.compile(rf"^{CALLBACK_PREFIX}bc:({_SEND}|{_DROP}):(\d+)$")
_HTTP = ("http://", "https://")
ADDFEED_USAGE: Final = (
    "Usage: /addfeed URL [#topic ...] (an http:// or https:// feed address, "
    "then any default topics for its articles)"
)
FEEDTOPICS_USAGE: Final = (
    "Usage: /feedtopics ID #topic ... sets a feed's default topics (IDs: /feeds); "
    f"/feedtopics ID {NO_TOPICS} clears them."
)


# --------------------------------------------------------------------------- Telegram HTML


ALLOWED_TAGS: Final = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    }
)
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|([A-Za-z][A-Za-z0-9]*));")
_EMPTY_END_TAG = re.compile(r"</\s*>")
_LINK_SCHEMES: Final = frozenset({"http", "https", "tg", "mailto", "ftp"})


def _decode_reference(match: re.Match[str]) -> str:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            raise HtmlError(
                f"unsupported entity &{name}; — Telegram knows only &lt; &gt; &amp; &quot; "
                "and numeric ones such as &#160;"
            )
        return _NAMED_ENTITIES[name]
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"invalid character reference {match.group(0)}")
    return chr(code)


def _check_references(text: str) -> None:
    """Every "&" must start a supported entity, in text and attribute values alike."""
    for index in (m.start() for m in re.finditer("&", text)):
        match = _ENTITY.match(text, index)
        if match is None:
            near = text[index : index + 12]
            raise HtmlError(f"a bare “&” at “{near}”: write it as &amp;")
        _decode_reference(match)


class _TelegramHtmlChecker(HTMLParser):
    """Walks the markup, raising HtmlError on what Telegram refuses; collects visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = " (use a line break instead)" if tag in {"br", "p", "div"} else ""
            raise HtmlError(
                f"unsupported tag <{tag}>{hint}; Telegram allows only "
                + ", ".join(f"<{t}>" for t in sorted(ALLOWED_TAGS))
            )
        attributes = {name: value or "" for name, value in attrs}
        parent = self.stack[-1] if self.stack else None
        if parent in {"code", "pre"} and not (tag == "code" and parent == "pre"):
            raise HtmlError(f"<{tag}> inside <{parent}>: code blocks can't contain other tags")
        if tag == "blockquote" and "blockquote" in self.stack:
            raise HtmlError("a <blockquote> inside another one: quotes can't be nested")
        if tag == "a" and "a" in self.stack:
            raise HtmlError("a link inside another link")
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise HtmlError('<span> needs class="tg-spoiler" (the only span Telegram knows)')
        if tag == "a":
            self._check_link(attributes.get("href", ""))
        self.stack.append(tag)

    @staticmethod
    def _check_link(href: str) -> None:
        if not href.strip():
            raise HtmlError('<a> needs an href: <a href="https://...">text</a>')
        scheme = urlsplit(href.strip()).scheme.lower()
        if scheme and scheme not in _LINK_SCHEMES:
            raise HtmlError(f"links may use http, https, tg or mailto, not {scheme}:")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f"self-closing <{tag}/> is not supported; write <{tag}>...</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            if tag in self.stack:
                raise HtmlError(
                    f"</{tag}> closes before </{self.stack[-1]}>: tags must be properly nested"
                )
            raise HtmlError(f"</{tag}> has no matching <{tag}>")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise HtmlError("a bare “<” that starts no tag: write it as &lt;")
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        self.visible.append(_NAMED_ENTITIES[name])  # names were checked beforehand

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in {"x", "X"} else int(name)
        self.visible.append(chr(code))

    def handle_comment(self, data: str) -> None:
        raise HtmlError("HTML comments <!-- --> are not supported")

    def handle_decl(self, decl: str) -> None:
        raise HtmlError(f"<!{decl}> is not supported")

    def unknown_decl(self, data: str) -> None:
        raise HtmlError(f"<![{data}]> is not supported")

    def handle_pi(self, data: str) -> None:
        raise HtmlError(f"<?{data}> is not supported")


def check_telegram_html(text: str) -> str:
    """Check ``text`` against Telegram's HTML parse mode and return its visible text.

    Raises HtmlError (with the reason) on unsupported tags or entities, bad nesting,
    unclosed tags, an empty message, or more than MAX_MESSAGE UTF-16 units of visible text.
    """
    _check_references(text)
    if _EMPTY_END_TAG.search(text):
        raise HtmlError("an empty end tag </>")
    checker = _TelegramHtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise HtmlError(f"<{checker.stack[-1]}> is never closed")
    visible = "".join(checker.visible)
    if not visible.strip():
        raise HtmlError("the message is empty")
    length = utf16_len(visible)
    if length > MAX_MESSAGE:
        raise HtmlError(
            f"the text is {length} characters long once formatted; "
            f"Telegram allows at most {MAX_MESSAGE}"
        )
    return visible


# --------------------------------------------------------------------------- rendering


def split_lines(lines: Sequence[str], *, limit: int = MAX_MESSAGE) -> list[str]:
    """Join lines into messages of at most ``limit`` UTF-16 units, never splitting a line.

    Measured on the HTML source, which is never shorter than the visible text.
    """
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = utf16_len(line)
        if current and size + 1 + length > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += length + (1 if size else 0)
    if current:
        messages.append("\n".join(current))
    return messages


def format_age(then: datetime | None, now: datetime, tr: Translator = ENGLISH) -> str:
    """How long ago a feed was checked; ``tr`` for a chat's /list (admins read English)."""
    if then is None:
        return tr("never checked")
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return tr("just now")
    if seconds < 3600:
        return tr("{n} min ago", n=seconds // 60)
    if seconds < 86400:
        return tr("{n} h ago", n=seconds // 3600)
    return tr("{n} d ago", n=seconds // 86400)


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_feed_line(
    feed: Feed, counts: db_stats.FeedArticleCounts | None, *, now: datetime
) -> str:
    """One /feeds line: health mark, id, linked title, state, last check and article counts."""
    title = html.escape(_one_line(feed.title or feed.url, 80))
    link = f'<a href="{html.escape(feed.url, quote=True)}">{title}</a>'
    if not feed.enabled:
        reason = html.escape(_one_line(feed.disabled_reason or "no reason recorded"))
        state = f"⛔ #{feed.id} {link} — disabled: {reason}"
    elif feed.consecutive_errors:
        error = html.escape(_one_line(feed.last_error or "unknown error", 120))
        state = f"⚠️ #{feed.id} {link} — failing {feed.consecutive_errors}× ({error})"
    else:
        state = f"✅ #{feed.id} {link} — ok"
    total, week = (counts.total, counts.week) if counts else (0, 0)
    line = f"{state} · {format_age(feed.last_checked, now)} · {total} articles, {week} this week"
    if feed.topics:
        line += f" · 🏷 {html.escape(hashtags(feed.topics))}"
    if not feed.catalogue:
        line += " · 👤 chats' own (not in the catalogue)"
    return line


def render_unknown_topics(error: UnknownTopic) -> str:
    """What an admin is told about topics that are not in the taxonomy, with the valid ones."""
    names = ", ".join(f"“{html.escape(name)}”" for name in error.names)
    what = "topics" if len(error.names) > 1 else "topic"
    return f"unknown {what} {names}. The topics are:\n{all_hashtags()}"


def render_feeds(
    feeds: Sequence[Feed], counts: dict[int, db_stats.FeedArticleCounts], *, now: datetime
) -> list[str]:
    if not feeds:
        return ["No feeds yet. Add one with /addfeed URL."]
    ok = sum(1 for f in feeds if f.enabled and not f.consecutive_errors)
    failing = sum(1 for f in feeds if f.enabled and f.consecutive_errors)
    disabled = len(feeds) - ok - failing
    header = (
        f"<b>Feeds</b>: {len(feeds)} — ✅ {ok} ok · ⚠️ {failing} failing · ⛔ {disabled} disabled"
    )
    lines = [render_feed_line(f, counts.get(f.id or 0), now=now) for f in feeds]
    return split_lines([header, "", *lines])


def _by_type(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) + ")"


def render_stats(view: db_stats.Overview) -> list[str]:
    chats, articles, sent, feeds = view.chats, view.articles, view.deliveries, view.feeds
    lines = [
        "📊 <b>Statistics</b> (days and weeks in UTC)",
        "",
        f"<b>Chats</b>: {chats.total_active} active{_by_type(chats.active)}, "
        f"{chats.total_inactive} inactive{_by_type(chats.inactive)}",
        "",
        "<b>Subscriptions</b> (active chats per topic):",
    ]
    for slug, count in view.topic_chats.items():
        topic = topic_by_slug(slug)
        name = f"{topic.emoji or '•'} {topic.name}" if topic else f"• {slug}"
        lines.append(f"{html.escape(name)} — {count}")
    if not view.topic_chats:
        lines.append("none yet")
    lines += [
        f"Keyword rules: {view.rules}",
        "",
        f"<b>Articles</b>: {articles.today} today, {articles.week} this week "
        f"({articles.forums_week} about forums)",
        f"<b>Deliveries</b>: {sent.sent_today} sent today, {sent.pending} pending, "
        f"{sent.failed} failed, {sent.blocked} blocked",
        f"<b>Feeds</b>: {feeds.ok} ok, {feeds.failing} failing, {feeds.disabled} disabled",
    ]
    return split_lines(lines)


def render_confirmation(count: int) -> str:
    chats = "chat" if count == 1 else "chats"
    return f"☝️ That is the preview. Send it to <b>{count}</b> active {chats}?"


def confirmation_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "✅ Send", callback_data=f"{CALLBACK_PREFIX}bc:{_SEND}:{broadcast_id}"
                ),
                InlineKeyboardButton(
                    "✖ Cancel", callback_data=f"{CALLBACK_PREFIX}bc:{_DROP}:{broadcast_id}"
                ),
            ]
        ]
    )


# --------------------------------------------------------------------------- helpers


async def _refuse(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(NOT_ALLOWED)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(NOT_ALLOWED)


async def _admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Services | None:
    """The services when the sender is an admin; otherwise says "Not allowed." and None."""
    found = services(context)
    user = update.effective_user
    if found.is_admin(user.id if user else None):
        return found
    await _refuse(update)
    return None


def _argument(message: Message) -> str:
    """What follows the command word, newlines kept (context.args would split them)."""
    parts = (message.text or "").split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _reply_all(message: Message, texts: Sequence[str]) -> None:
    for text in texts:
        await message.reply_html(text, link_preview_options=_NO_PREVIEW)


def _broadcast_lock(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Lock:
    # One lock per application: the status check and the start must not interleave even
    # when updates are processed concurrently (a double click on ✅).
    lock = context.bot_data.setdefault(_LOCK_KEY, asyncio.Lock())
    assert isinstance(lock, asyncio.Lock)
    return lock


# --------------------------------------------------------------------------- /broadcast


async def cmd_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    """/broadcast TEXT previews at once; /broadcast alone asks for the text."""
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    text = _argument(message)
    if text:
        await _preview(found, message, text)
        return ConversationHandler.END
    if update.effective_chat is None or update.effective_chat.type != "private":
        await message.reply_text(
            "Send /broadcast TEXT here, or /broadcast alone in our private chat."
        )
        return ConversationHandler.END
    await message.reply_html(
        "Send the broadcast text as your next message. HTML is allowed "
        "(&lt;b&gt;, &lt;i&gt;, &lt;a href&gt;, ...). /cancel to stop."
    )
    return _AWAITING_TEXT


async def on_broadcast_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    if not await _preview(found, message, message.text or ""):
        return _AWAITING_TEXT  # let the admin send a corrected text
    return ConversationHandler.END


async def cmd_cancel_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    if update.effective_message is not None:
        await update.effective_message.reply_text("Broadcast not started.")
    return ConversationHandler.END


async def _preview(found: Services, message: Message, text: str) -> bool:
    """Check the text, store it as a draft, show it and ask to confirm; False if refused."""
    try:
        check_telegram_html(text)
    except HtmlError as exc:
        await message.reply_text(f"Can't send this: {exc}.\nFix it and send it again.")
        return False
    admin_id = message.from_user.id if message.from_user else 0
    async with found.sessions() as session, session.begin():
        draft = await outbox.create_broadcast(
            session, admin_id=admin_id, text=text, now=found.clock()
        )
        recipients = await outbox.active_chat_count(session)
    assert draft.id is not None
    try:
        await message.reply_html(text)
    except BadRequest as exc:
        # Our check passed but Telegram disagrees: say so and drop the draft.
        await _drop_draft(found, draft.id)
        await message.reply_text(f"Telegram refused this text: {exc.message}")
        return False
    await message.reply_html(
        render_confirmation(recipients), reply_markup=confirmation_keyboard(draft.id)
    )
    return True


async def _drop_draft(found: Services, broadcast_id: int) -> str | None:
    """Cancel a draft; returns the broadcast's status afterwards (None: no such broadcast)."""
    async with found.sessions() as session, session.begin():
        row = await session.get(Broadcast, broadcast_id, with_for_update=True)
        if row is None:
            return None
        if row.status != "draft":
            return row.status
        await outbox.cancel_broadcast(session, broadcast_id, now=found.clock())
        return "cancelled"


async def on_broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    found = await _admin(update, context)
    if found is None or query is None:
        return
    match = _BUTTON_DATA.match(query.data or "")
    if match is None or not isinstance(query.message, Message):
        await query.answer("This button is no longer valid.")
        return
    action, broadcast_id = match.group(1), int(match.group(2))
    if action == _DROP:
        status = await _drop_draft(found, broadcast_id)
        if status != "cancelled":
            await query.answer(f"Too late: this broadcast is {status or 'gone'}.")
            return
        await _edit(query.message, "✖ Broadcast cancelled; nothing was sent.")
        await query.answer("Cancelled.")
        return
    await _send_broadcast(update, context, found, query.message, broadcast_id)


async def _send_broadcast(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    found: Services,
    progress: Message,
    broadcast_id: int,
) -> None:
    query = update.callback_query
    assert query is not None
    async with _broadcast_lock(context), found.sessions() as session, session.begin():
        row = await session.get(Broadcast, broadcast_id, with_for_update=True)
        state = row.status if row is not None else "gone"
        if state == "draft":
            count = await outbox.start_broadcast(session, broadcast_id, now=found.clock())
            await outbox.set_progress_message(
                session, broadcast_id, chat_id=progress.chat_id, message_id=progress.message_id
            )
    if state != "draft":
        await query.answer(f"Already {state}: nothing more to do.")
        return
    await _edit(progress, f"📣 Broadcast #{broadcast_id}: sending to {count} chats…")
    await query.answer("Sending…")
    found.outbox.wake()
    # Not Application.create_task: PTB's stop() waits for those, and a follower runs until
    # its broadcast ends. The tasks are kept in bot_data so shutdown can cancel them.
    task = asyncio.create_task(
        follow_broadcast(context.bot, found.sessions, broadcast_id, clock=found.clock),
        name=f"broadcast-{broadcast_id}",
    )
    followers = _followers(context.bot_data)
    followers.add(task)
    task.add_done_callback(_forget_follower(followers))


def _followers(bot_data: Any) -> set[asyncio.Task[None]]:
    found = bot_data.setdefault(FOLLOWERS_KEY, set())
    assert isinstance(found, set)
    return found


def _forget_follower(followers: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def forget(task: asyncio.Task[None]) -> None:
        followers.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("following %s failed", task.get_name(), exc_info=error)

    return forget


async def stop_followers(bot_data: Any) -> None:
    """Cancel the progress followers /broadcast started (at shutdown, e.g. in post_stop).

    A broadcast still sending is followed again after a restart
    (``bot.broadcasts.resume_broadcasts``).
    """
    tasks = list(_followers(bot_data))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text, parse_mode="HTML", reply_markup=None)
    except TelegramError as exc:  # an old or already-edited message: the reply still stands
        log.warning("could not edit admin message %s: %s", message.message_id, exc)


async def cmd_broadcast_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    now = found.clock()
    reports: list[str] = []
    async with found.sessions() as session, session.begin():
        ids = [row.id for row in await outbox.sending_broadcasts(session) if row.id is not None]
        for broadcast_id in ids:
            dropped = await outbox.cancel_broadcast(session, broadcast_id, now=now)
            reports.append(
                f"Broadcast #{broadcast_id} cancelled: {dropped} pending messages dropped."
            )
    await message.reply_text("\n".join(reports) if reports else "No broadcast is running.")


# --------------------------------------------------------------------------- feeds


async def cmd_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    now = found.clock()
    async with found.sessions() as session:
        feeds = await queries.list_feeds(session)
        counts = await db_stats.feed_article_counts(session, now=now)
    await _reply_all(message, render_feeds(feeds, counts, now=now))


async def cmd_addfeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    words = _argument(message).split()
    url, extra = (words[0], words[1:]) if words else ("", [])
    if not url.lower().startswith(_HTTP) or any(w.lower().startswith(_HTTP) for w in extra):
        await message.reply_text(ADDFEED_USAGE)
        return
    try:
        topics = parse_topics(extra)
    except UnknownTopic as exc:
        await message.reply_html(f"Not added: {render_unknown_topics(exc)}")
        return
    async with found.sessions() as session, session.begin():
        existing = await queries.feed_by_url(session, url)
        # A feed only chats followed (/sub) joins the catalogue.
        adopted = existing is not None and await chatfeeds.adopt_feed(session, existing.id or 0)
    if existing is not None:
        await message.reply_html(_already_there(existing, topics, adopted=adopted))
        return
    try:
        ingestor: Ingestor = context.bot_data["ingestor"]
        checked = await check_feed(found.fetcher, ingestor, url, now=found.clock())
    except FetchError as exc:
        await message.reply_text(f"Not added: could not fetch {url}: {exc}")
        return
    except FeedParseError as exc:
        await message.reply_text(f"Not added: not a usable feed: {exc}")
        return
    stored_url, parsed = checked.url, checked.parsed
    try:
        async with found.sessions() as session, session.begin():
            feed = await queries.add_feed(
                session, stored_url, now=found.clock(), title=parsed.title, topics=topics
            )
    except FeedExists:
        async with found.sessions() as session:
            existing = await queries.feed_by_url(session, stored_url)
        reply = _already_there(existing, topics) if existing else "Already there."
        await message.reply_html(reply)
        return
    moved = f"\n(it moved: saved as {html.escape(stored_url)})" if stored_url != url else ""
    defaults = f"\nDefault topics: {hashtags(topics)}" if topics else ""
    await message.reply_html(
        f"✅ Added feed #{feed.id}: <b>{html.escape(parsed.title)}</b> — "
        f"{len(parsed.entries)} entries now. Its current entries are stored, not announced; "
        f"new ones will be.{defaults}{moved}",
        link_preview_options=_NO_PREVIEW,
    )


def _already_there(feed: Feed, topics: Sequence[str] = (), *, adopted: bool = False) -> str:
    title = html.escape(feed.title or feed.url)
    text = f"Already there: feed #{feed.id} <b>{title}</b>."
    if adopted:
        text = f"✅ Feed #{feed.id} <b>{title}</b>, which chats followed, is now in the catalogue."
    if topics:
        # Re-adding is not how topics change: say what is.
        text += f"\nTo change its topics: /feedtopics {feed.id} {hashtags(topics)}"
    return text


async def cmd_feedtopics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    words = _argument(message).split()
    ref = words[0].removeprefix("#") if words else ""
    if len(words) < 2 or not (ref.isdigit() or ref.lower().startswith(_HTTP)):
        await message.reply_html(
            f"{html.escape(FEEDTOPICS_USAGE)}\nThe topics are:\n{all_hashtags()}"
        )
        return
    try:
        topics = parse_topics(words[1:])
    except UnknownTopic as exc:
        await message.reply_html(f"Not changed: {render_unknown_topics(exc)}")
        return
    try:
        async with found.sessions() as session, session.begin():
            feed = await queries.set_feed_topics(session, ref, topics)
    except FeedNotFound:
        await message.reply_text(f"No feed {ref} (see /feeds).")
        return
    title = html.escape(feed.title or feed.url)
    shown = hashtags(topics) if topics else "none"
    await message.reply_html(
        f"🏷 Feed #{feed.id} <b>{title}</b>: default topics {shown}.",
        link_preview_options=_NO_PREVIEW,
    )


async def cmd_removefeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    ref = _argument(message)
    if not ref or len(ref.split()) != 1:
        await message.reply_text("Usage: /removefeed ID or /removefeed URL (see /feeds)")
        return
    ref = ref.removeprefix("#")
    try:
        async with found.sessions() as session, session.begin():
            feed = await queries.remove_feed(session, ref)
    except FeedNotFound:
        await message.reply_text(f"No feed {ref} (see /feeds).")
        return
    title = html.escape(feed.title or feed.url)
    await message.reply_html(
        f"🗑 Removed feed #{feed.id} <b>{title}</b>. Articles it brought are kept."
    )


# --------------------------------------------------------------------------- stats


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await _admin(update, context)
    message = update.effective_message
    if found is None or message is None:
        return
    now = found.clock()
    async with found.sessions() as session:
        view = await db_stats.overview(session, now=now)
        series = await db_stats.daily_series(session, now=now)
    await _reply_all(message, render_stats(view))
    try:
        png = await asyncio.to_thread(stats_chart, series)
        await message.reply_photo(png, caption="Last 30 days (UTC)")
    except TelegramError as exc:
        # The numbers went out; a picture Telegram refuses is not worth more than a line.
        log.warning("/stats chart not sent: %s", exc)


# --------------------------------------------------------------------------- wiring


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The admin handlers; add them before any catch-all text handler."""
    # New messages only: editing an old "/addfeed ..." must not run it again.
    new = filters.UpdateType.MESSAGE
    conversation: ConversationHandler[Any] = ConversationHandler(
        entry_points=[CommandHandler("broadcast", cmd_broadcast, filters=new)],
        states={
            _AWAITING_TEXT: [
                MessageHandler(
                    new & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
                    on_broadcast_text,
                )
            ]
        },
        fallbacks=[CommandHandler("cancel", cmd_cancel_conversation, filters=new)],
        allow_reentry=True,
        name="admin_broadcast",
    )
    return [
        conversation,
        CommandHandler("broadcast_cancel", cmd_broadcast_cancel, filters=new),
        CommandHandler("feeds", cmd_feeds, filters=new),
        CommandHandler("addfeed", cmd_addfeed, filters=new),
        CommandHandler("feedtopics", cmd_feedtopics, filters=new),
        CommandHandler("removefeed", cmd_removefeed, filters=new),
        CommandHandler("stats", cmd_stats, filters=new),
        CallbackQueryHandler(on_broadcast_button, pattern=f"^{CALLBACK_PREFIX}"),
    ]
