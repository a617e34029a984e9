"""A chat's own feeds: ``/sub URL [#topic ...]`` (a feed, or a page announcing one with
``<link rel="alternate">``), ``/unsub`` (buttons, a number or a URL), ``/list`` (with each
feed's health), ``/export`` (an OPML file) and OPML import by sending the file.

A feed is checked as an admin's /addfeed is (bot.feedcheck: the fetcher's SSRF checks and
limits, parsing in the worker pool) and stored once whoever follows it (db.chatfeeds).
OWN_FEEDS_ENABLED off turns every command here into a one-line refusal; OWN_FEEDS_PER_CHAT
caps how many feeds a chat follows. In groups only the group's admins change them (the
same check as for subscriptions, bot.handlers); anyone may /list and /export.

The pure parts (``render_*``, ``unsub_keyboard``, ``pick_feed``) take plain data; the
handlers fetch, store and send. Replies and refusal reasons are in the chat's language
(bot.i18n); the fetcher's and parser's own detail (an HTTP status) stays as they wrote it.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import handlers as subscriber
from bot.admin import format_age, split_lines
from bot.chatlanguage import translator_for, translator_of
from bot.errors import FeedRefused, UnknownTopic
from bot.feedcheck import CheckedFeed, check_feed, parse_fetched
from bot.feedtopics import all_hashtags, hashtags, parse_topics
from bot.handlers import Handler
from bot.i18n import ENGLISH, N_, Translator
from bot.ingest import Ingestor
from bot.services import Services, services
from db import chatfeeds
from db.chatfeeds import KnownFeed, OwnFeed
from summaries.discovery import discover_feeds, looks_like_html
from summaries.errors import FeedListError, FeedParseError, FetchError, PrivateAddressError
from summaries.feedlists import FeedRef, parse_feed_list, render_opml

log = logging.getLogger(__name__)

COMMANDS: list[tuple[str, str]] = [
    ("sub", N_("Follow a feed of your own: /sub URL [#topic ...]")),
    ("unsub", N_("Stop following one of your own feeds")),
    ("list", N_("Your own feeds and their health")),
    ("export", N_("Your own feeds as an OPML file (send one back to import)")),
]

CALLBACK_PREFIX: Final = "of:"
PER_PAGE: Final = 10
# An OPML file larger than this is refused before it is downloaded.
IMPORT_MAX_BYTES: Final = 512 * 1024
# Feeds of one file checked at once: each is a fetch and a parse.
IMPORT_CONCURRENCY: Final = 4
# Feeds a page announces that are tried, in page order, until one is usable.
DISCOVERED_TRIED: Final = 3
EXPORT_FILENAME: Final = "sciforum-my-feeds.opml"
_NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)
_HTTP = ("http://", "https://")

# ------------------------------------------------------------------------------ strings

DISABLED = N_("This bot only follows its own catalogue of feeds; it cannot follow feeds of yours.")
SUB_USAGE = N_(
    "Usage: <code>/sub URL</code> — a feed's address, or a web page that announces one; "
    "add topics (<code>/sub URL #microbiology</code>) to get only its articles on them."
)
NO_OWN_FEEDS = N_("No feeds of your own yet. Follow one with /sub URL, or send an OPML file.")
UNSUB_PROMPT = N_("Which feed should this chat stop following?")
OPML_TITLE = N_("My SciForum feeds")


def cap_reached(cap: int, tr: Translator = ENGLISH) -> str:
    return tr(
        "This chat already follows {cap} feeds of its own, the most it may. "
        "Remove one with /unsub first.",
        cap=cap,
    )


def could_not_fetch(url: str, error: FetchError, tr: Translator = ENGLISH) -> str:
    """Why a feed was not fetched; the fetcher's own detail (an HTTP status, a timeout)
    stays as the fetcher wrote it."""
    if isinstance(error, PrivateAddressError):
        return tr(
            "{url} leads to a private or local network address; only public feeds can be followed.",
            url=url,
        )
    return tr("could not fetch {url}: {error}", url=url, error=error)


def not_a_feed(url: str, error: FeedParseError, tr: Translator = ENGLISH) -> str:
    return tr("{url} is not a usable feed: {error}", url=url, error=error)


# ------------------------------------------------------------------------------ pure parts


@dataclass(frozen=True, slots=True)
class Followed:
    """A feed a chat now follows: ``new`` False when it followed it already."""

    feed_id: int
    url: str
    title: str | None
    new: bool
    page: str | None = None  # the page the feed was discovered on


@dataclass
class ImportReport:
    added: list[Followed] = field(default_factory=list)
    already: list[Followed] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (url, why)


def render_followed(done: Followed, topics: Sequence[str], tr: Translator = ENGLISH) -> str:
    name = html.escape(done.title or done.url)
    link = f'<a href="{html.escape(done.url, quote=True)}">{name}</a>'
    if not done.new:
        return tr("This chat already follows {feed}.", feed=link)
    lines = [
        tr(
            "✅ Following {feed}. Its new articles will come here; current ones are not sent.",
            feed=link,
        )
    ]
    if done.page is not None:
        lines.append(tr("(found on the page {page})", page=html.escape(done.page)))
    if topics:
        lines.append(tr("Only articles on {topics}.", topics=html.escape(hashtags(topics))))
    return "\n".join(lines)


def render_feed_status(feed: OwnFeed, *, now: datetime, tr: Translator = ENGLISH) -> str:
    """One feed's health: ok with its last check, failing with the error, or disabled."""
    if not feed.enabled:
        reason = html.escape(_one_line(feed.disabled_reason or tr("no reason recorded")))
        return tr("⛔ disabled: {reason}", reason=reason)
    if feed.consecutive_errors:
        error = html.escape(_one_line(feed.last_error or tr("unknown error")))
        return tr("⚠️ failing {n}× ({error})", n=feed.consecutive_errors, error=error)
    return tr("✅ checked {age}", age=format_age(feed.last_checked, now, tr))


def render_own_feeds(
    feeds: Sequence[OwnFeed], *, cap: int, now: datetime, tr: Translator = ENGLISH
) -> list[str]:
    """/list: the chat's own feeds, numbered as /unsub takes them, with their health."""
    if not feeds:
        return [tr(NO_OWN_FEEDS)]
    lines = [tr("<b>This chat's own feeds</b> ({count} of {cap})", count=len(feeds), cap=cap)]
    for number, feed in enumerate(feeds, start=1):
        name = html.escape(_one_line(feed.title or feed.url, 80))
        link = f'<a href="{html.escape(feed.url, quote=True)}">{name}</a>'
        line = f"{number}. {link} — {render_feed_status(feed, now=now, tr=tr)}"
        if feed.topics:
            line += tr(" · only {topics}", topics=html.escape(hashtags(feed.topics)))
        lines.append(line)
    return split_lines(lines)


def render_import_report(report: ImportReport, tr: Translator = ENGLISH) -> str:
    lines = [
        tr(
            "📥 Added {added}, already had {already}, refused {refused}.",
            added=len(report.added),
            already=len(report.already),
            refused=len(report.refused),
        )
    ]
    lines += [f"✅ {html.escape(done.title or done.url)}" for done in report.added]
    lines += [f"✖ {html.escape(url)} — {html.escape(why)}" for url, why in report.refused]
    return split_lines(lines)[0]


def pick_feed(feeds: Sequence[OwnFeed], ref: str) -> OwnFeed | None:
    """The feed a /unsub argument names: its number in /list, or its URL."""
    if ref.isdigit():
        index = int(ref) - 1
        return feeds[index] if 0 <= index < len(feeds) else None
    return next((feed for feed in feeds if feed.url == ref), None)


def unsub_keyboard(feeds: Sequence[OwnFeed], page: int) -> InlineKeyboardMarkup:
    """A button per feed (``PER_PAGE`` a page) and ◀ ▶ between pages."""
    pages = max(1, -(-len(feeds) // PER_PAGE))
    page = min(max(page, 0), pages - 1)
    start = page * PER_PAGE
    rows = [
        [
            InlineKeyboardButton(
                f"✖ {number}. {_one_line(feed.title or feed.url, 40)}",
                callback_data=f"{CALLBACK_PREFIX}u:{feed.feed_id}:{page}",
            )
        ]
        for number, feed in enumerate(feeds[start : start + PER_PAGE], start=start + 1)
    ]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀", callback_data=f"{CALLBACK_PREFIX}p:{page - 1}"))
        nav.append(
            InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=f"{CALLBACK_PREFIX}p:{page}")
        )
        if page < pages - 1:
            nav.append(InlineKeyboardButton("▶", callback_data=f"{CALLBACK_PREFIX}p:{page + 1}"))
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ------------------------------------------------------------------------------ following


async def follow(
    svc: Services,
    ingestor: Ingestor,
    chat_id: int,
    url: str,
    *,
    topics: Sequence[str] = (),
    tr: Translator = ENGLISH,
) -> Followed:
    """Make the chat follow the feed at ``url`` (or the one the page there announces),
    storing it if it is new; FeedRefused saying why not (in ``tr``'s language). Nothing is
    fetched or stored for a chat at its cap."""
    cap = svc.settings.own_feeds_per_chat
    known, followed = await _lookup(svc, chat_id, url)
    if known is not None and known.id in followed:
        return Followed(known.id, known.url, known.title, new=False)
    if len(followed) >= cap:
        raise FeedRefused(cap_reached(cap, tr))
    page: str | None = None
    checked: CheckedFeed | None = None
    if known is None:
        try:
            result = await svc.fetcher.fetch(url)
        except FetchError as exc:
            raise FeedRefused(could_not_fetch(url, exc, tr)) from None
        try:
            checked = await parse_fetched(ingestor, result, url=url, now=svc.clock())
        except FeedParseError as exc:
            if not looks_like_html(result.content, result.content_type):
                raise FeedRefused(not_a_feed(url, exc, tr)) from None
            found = await asyncio.to_thread(
                discover_feeds, result.content, page_url=result.final_url
            )
            if not found:
                raise FeedRefused(
                    tr(
                        "{url} is a web page that announces no feed (no {tag} to RSS or "
                        "Atom); send the feed's own address.",
                        url=url,
                        tag='<link rel="alternate">',
                    )
                ) from None
            page = url
            known, checked = await _first_usable(svc, ingestor, found[:DISCOVERED_TRIED], tr)
    async with svc.sessions() as session, session.begin():
        followed = await chatfeeds.followed_feed_ids(session, chat_id)
        if known is None:
            assert checked is not None
            # It may have moved onto a stored URL.
            known = await chatfeeds.known_feed(session, checked.url)
        if known is not None and known.id in followed:
            return Followed(known.id, known.url, known.title, new=False, page=page)
        if len(followed) >= cap:
            raise FeedRefused(cap_reached(cap, tr))
        if known is None:
            assert checked is not None
            known = await chatfeeds.add_private_feed(
                session, checked.url, title=checked.parsed.title, now=svc.clock()
            )
        await chatfeeds.link_feed(session, chat_id, known.id, topics=topics, now=svc.clock())
    return Followed(known.id, known.url, known.title, new=True, page=page)


async def _lookup(svc: Services, chat_id: int, url: str) -> tuple[KnownFeed | None, set[int]]:
    """The stored feed at ``url`` (if any) and the ids of the feeds the chat follows."""
    async with svc.sessions() as session:
        known = await chatfeeds.known_feed(session, url)
        return known, await chatfeeds.followed_feed_ids(session, chat_id)


async def _first_usable(
    svc: Services, ingestor: Ingestor, urls: Sequence[str], tr: Translator
) -> tuple[KnownFeed | None, CheckedFeed | None]:
    """The first of a page's feeds that is stored or usable (a page may list a JSON Feed,
    which is not read, before its RSS); FeedRefused with the last one's reason if none."""
    refusal = FeedRefused(tr("the page announces no usable feed"))
    for url in urls:
        async with svc.sessions() as session:
            known = await chatfeeds.known_feed(session, url)
        if known is not None:
            return known, None
        try:
            return None, await _check(svc, ingestor, url, tr)
        except FeedRefused as exc:
            refusal = exc
    raise refusal


async def _check(svc: Services, ingestor: Ingestor, url: str, tr: Translator) -> CheckedFeed:
    try:
        return await check_feed(svc.fetcher, ingestor, url, now=svc.clock())
    except FetchError as exc:
        raise FeedRefused(could_not_fetch(url, exc, tr)) from None
    except FeedParseError as exc:
        raise FeedRefused(not_a_feed(url, exc, tr)) from None


# ------------------------------------------------------------------------------ handlers


def _when_enabled(handler: Handler) -> Handler:
    """Run ``handler`` only with OWN_FEEDS_ENABLED on; otherwise say why not."""

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        svc = services(context)
        if svc.settings.own_feeds_enabled:
            await handler(update, context)
            return
        tr = await translator_for(svc, update)
        if update.callback_query is not None:
            await update.callback_query.answer(tr(DISABLED))
        elif update.effective_message is not None:
            await _reply(update.effective_message, tr(DISABLED))

    return run


def _where(update: Update) -> tuple[Message, int]:
    """The message a command came in (or a button is on) and its chat's id."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None  # the handlers here are for messages and their buttons
    assert chat is not None
    return message, chat.id


async def _reply(message: Message, text: str, **options: Any) -> None:
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW, **options
    )


async def cmd_sub(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat_id = _where(update)
    svc = services(context)
    words = context.args or []
    url, extra = (words[0], words[1:]) if words else ("", [])
    if not url.lower().startswith(_HTTP):
        await _reply(message, (await translator_for(svc, update))(SUB_USAGE))
        return
    try:
        topics = parse_topics(extra)
    except UnknownTopic as exc:
        names = ", ".join(html.escape(name) for name in exc.names)
        tr = await translator_for(svc, update)
        await _reply(
            message,
            tr(
                "Not followed: unknown topic {names}. The topics are:\n{topics}",
                names=names,
                topics=all_hashtags(),
            ),
        )
        return
    # A link needs the chat's row: made on first use, with the sender's language.
    tr = translator_of(await subscriber._ensure_chat(svc, update), update)
    try:
        done = await follow(svc, context.bot_data["ingestor"], chat_id, url, topics=topics, tr=tr)
    except FeedRefused as exc:
        await _reply(message, tr("Not followed: {reason}", reason=html.escape(str(exc))))
        return
    await _reply(message, render_followed(done, topics, tr))


async def cmd_list(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat_id = _where(update)
    svc = services(context)
    feeds = await _own_feeds(svc, chat_id)
    cap = svc.settings.own_feeds_per_chat
    tr = await translator_for(svc, update)
    for text in render_own_feeds(feeds, cap=cap, now=svc.clock(), tr=tr):
        await _reply(message, text)


async def _own_feeds(svc: Services, chat_id: int) -> list[OwnFeed]:
    async with svc.sessions() as session:
        return await chatfeeds.own_feeds(session, chat_id)


async def cmd_unsub(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat_id = _where(update)
    svc = services(context)
    feeds = await _own_feeds(svc, chat_id)
    tr = await translator_for(svc, update)
    if not feeds:
        await _reply(message, tr(NO_OWN_FEEDS))
        return
    ref = " ".join(context.args or []).strip()
    if not ref:
        await _reply(message, tr(UNSUB_PROMPT), reply_markup=unsub_keyboard(feeds, 0))
        return
    feed = pick_feed(feeds, ref)
    if feed is None:
        await _reply(
            message, tr("No feed {ref} here: see /list for the numbers.", ref=html.escape(ref))
        )
        return
    await _reply(message, await _unfollow(svc, chat_id, feed, tr))


async def _unfollow(svc: Services, chat_id: int, feed: OwnFeed, tr: Translator) -> str:
    async with svc.sessions() as session, session.begin():
        removed = await chatfeeds.unlink_feed(session, chat_id, feed.feed_id)
    name = html.escape(feed.title or feed.url)
    if removed:
        return tr("🗑 No longer following {feed}.", feed=name)
    return tr("{feed} was already removed.", feed=name)


async def on_unsub_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's
    _, chat_id = _where(update)
    svc = services(context)
    parts = (query.data or "").removeprefix(CALLBACK_PREFIX).split(":")
    shape = {"u": 3, "p": 2}.get(parts[0])
    tr = await translator_for(svc, update)
    if shape != len(parts) or not all(part.isdigit() for part in parts[1:]):
        await query.answer(tr("This button no longer works — send /unsub again."))
        return
    answer = ""
    if parts[0] == "u":
        feeds = await _own_feeds(svc, chat_id)
        feed = next((f for f in feeds if f.feed_id == int(parts[1])), None)
        answer = await _unfollow(svc, chat_id, feed, tr) if feed else tr("Already removed.")
    page = int(parts[-1])
    feeds = await _own_feeds(svc, chat_id)
    await query.answer(html.unescape(answer)[:200] if answer else None)
    if isinstance(query.message, Message):
        text, markup = (
            (tr(UNSUB_PROMPT), unsub_keyboard(feeds, page)) if feeds else (tr(NO_OWN_FEEDS), None)
        )
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except TelegramError as exc:  # unchanged or gone: the answer above still says it
            log.debug("/unsub list not edited: %s", exc)


async def cmd_export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat_id = _where(update)
    svc = services(context)
    feeds = await _own_feeds(svc, chat_id)
    tr = await translator_for(svc, update)
    if not feeds:
        await _reply(message, tr(NO_OWN_FEEDS))
        return
    opml = render_opml([FeedRef(f.url, f.title) for f in feeds], title=tr(OPML_TITLE))
    await message.reply_document(
        InputFile(opml.encode(), filename=EXPORT_FILENAME, attach=True),
        caption=tr.ngettext(
            "{n} feed. Send this file to a chat with the bot to follow it there.",
            "{n} feeds. Send this file to a chat with the bot to follow them there.",
            len(feeds),
        ),
    )


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """OPML import: the file's feeds followed one by one, then one report."""
    message, chat_id = _where(update)
    svc = services(context)
    document = message.document
    assert document is not None  # the handler's filter
    tr = await translator_for(svc, update)
    if (document.file_size or 0) > IMPORT_MAX_BYTES:
        await _reply(
            message,
            tr(
                "That file is too large to import (at most {size} KB).",
                size=IMPORT_MAX_BYTES // 1024,
            ),
        )
        return
    content = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        refs = await asyncio.to_thread(parse_feed_list, content[: IMPORT_MAX_BYTES + 1])
    except FeedListError as exc:
        await _reply(message, tr("Nothing imported: {reason}", reason=html.escape(str(exc))))
        return
    if not refs:
        await _reply(message, tr("Nothing imported: the file lists no http(s) feeds."))
        return
    tr = translator_of(await subscriber._ensure_chat(svc, update), update)
    await _reply(message, tr.ngettext("Importing {n} feed…", "Importing {n} feeds…", len(refs)))
    report = await import_feeds(svc, context.bot_data["ingestor"], chat_id, refs, tr=tr)
    await _reply(message, render_import_report(report, tr))


async def import_feeds(
    svc: Services,
    ingestor: Ingestor,
    chat_id: int,
    refs: Sequence[FeedRef],
    *,
    tr: Translator = ENGLISH,
) -> ImportReport:
    """Follow each listed feed, a few at a time. Feeds the chat follows already take no
    room; the rest past the chat's cap are refused without a fetch."""
    async with svc.sessions() as session:
        had = {feed.url: feed for feed in await chatfeeds.own_feeds(session, chat_id)}
    cap = svc.settings.own_feeds_per_chat
    fresh = [ref for ref in refs if ref.url not in had]
    room = max(0, cap - len(had))
    report = ImportReport(
        already=[
            Followed(had[ref.url].feed_id, ref.url, had[ref.url].title, new=False)
            for ref in refs
            if ref.url in had
        ],
        refused=[
            (ref.url, tr("over this chat's limit of {cap} feeds", cap=cap)) for ref in fresh[room:]
        ],
    )
    gate = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def one(ref: FeedRef) -> Followed | str:
        async with gate:
            try:
                return await follow(svc, ingestor, chat_id, ref.url, tr=tr)
            except FeedRefused as exc:
                return str(exc)

    tried = fresh[:room]
    outcomes = await asyncio.gather(*(one(ref) for ref in tried))
    for ref, outcome in zip(tried, outcomes, strict=True):
        if isinstance(outcome, str):
            report.refused.insert(0, (ref.url, outcome))
        elif outcome.new:
            report.added.append(outcome)
        else:
            report.already.append(outcome)
    return report


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Add before bot.handlers' (whose unknown-command catch-all would take these)."""
    new = filters.UpdateType.MESSAGE

    def guarded(handler: Handler) -> Handler:
        return subscriber._guarded(_when_enabled(handler))

    changing = subscriber._refusing
    opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
    return [
        CommandHandler("sub", guarded(changing(cmd_sub)), filters=new),
        CommandHandler("unsub", guarded(changing(cmd_unsub)), filters=new),
        CommandHandler("list", guarded(cmd_list), filters=new),
        CommandHandler("export", guarded(cmd_export), filters=new),
        MessageHandler(new & opml, guarded(changing(on_document))),
        CallbackQueryHandler(guarded(changing(on_unsub_button)), pattern=f"^{CALLBACK_PREFIX}"),
    ]
