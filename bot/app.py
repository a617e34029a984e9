"""The Telegram application: built from the process context, wired in one place, run in one place.

``build_application`` makes the PTB Application (Bot API root from TELEGRAM_API_URL),
registers every handler, the error handler and the jobs (ingest, digests); ``run_bot``
runs it with long polling, or a webhook when WEBHOOK_URL is set, until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot import admin, handlers, membership, ownfeeds
from bot.broadcasts import resume_broadcasts
from bot.context import AppContext
from bot.delivery import ChatPacer, Outbox, RateLimits, SendBudget
from bot.dressing import Dresser
from bot.errors import BotError
from bot.health import health_limits
from bot.heap import settle_heap
from bot.i18n import LANGUAGES, N_, language_of, translator
from bot.ingest import PassReport
from bot.metrics import CommandTimer, Metrics
from bot.monitoring import Monitor
from bot.outage import OutageLog, UpdatesRequest
from bot.probes import serve_probes
from bot.replies import ReplyLimiter
from bot.routing import send_due_digests
from bot.services import SERVICES_KEY, Services, services, utc_now
from bot.throttle import THROTTLE_GROUP, Throttle, ThrottleLimits
from db.writes import in_background

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the app's background work needs beyond Services: the outbox's stop switch,
    the pass lock, and counters of unexpected errors."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    errors: int = 0
    on_report: Callable[[PassReport], None] | None = None


RUNTIME_KEY = "runtime"
OUTBOX_BOT_KEY = "outbox_bot"
REPLIES_KEY = "replies"  # the ReplyLimiter, for its counters
THROTTLE_KEY = "throttle"
OUTAGE_KEY = "outage"  # the Bot API OutageLog: getUpdates and polling errors report to it
MONITOR_KEY = "monitor"  # the heartbeat and the metrics (bot.monitoring)
# On stop, seconds the outbox and broadcast followers get to record the sends in flight
# before they are cancelled (docker-compose.yml's stop_grace_period allows for it).
STOP_SENDS_TIMEOUT = 15.0
# Seconds between routing runs of a bot whose ingestion runs elsewhere (``--role bot``):
# the longest a stored article waits for its matches (at most the poll interval).
ROUTE_EVERY = 5.0


def runtime(app: Application[Any, Any, Any, Any, Any, Any]) -> Runtime:
    found = app.bot_data[RUNTIME_KEY]
    assert isinstance(found, Runtime)
    return found


def monitor(app: Application[Any, Any, Any, Any, Any, Any]) -> Monitor:
    found = app.bot_data[MONITOR_KEY]
    assert isinstance(found, Monitor)
    return found


def _send_request(*, pool: int) -> HTTPXRequest:
    return HTTPXRequest(
        connection_pool_size=pool,
        connect_timeout=10,
        read_timeout=20,
        write_timeout=20,
        pool_timeout=10,
    )


def build_application(
    ctx: AppContext,
    *,
    clock: Callable[[], datetime] = utc_now,
    limits: RateLimits | None = None,
    ingest_every: float | None = None,
    digest_every: float = 60.0,
    on_report: Callable[[PassReport], None] | None = None,
    throttle: ThrottleLimits | None = None,
    ingest: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, ready to initialize. Tests pass a clock, short job intervals and their own
    per-user limits. ``ingest=False`` (``--role bot``): ingest workers poll the feeds, and
    the bot routes what they stored from the database instead."""
    settings = ctx.settings
    token = settings.token
    if token is None:
        raise ValueError("build_application needs TELEGRAM_BOT_TOKEN")
    api = settings.telegram_api_url
    # Handler replies and edits; the outbox and getUpdates have pools of their own.
    request = _send_request(pool=16)
    # A Bot API outage is logged once when it starts and once when it ends, not per retry.
    outage = OutageLog("Bot API")
    updates_request = UpdatesRequest(
        outage, connection_pool_size=1, read_timeout=40, connect_timeout=10
    )
    limits = limits or settings.rate_limits()
    # One send budget and one per-chat pacer for the whole bot: replies take the next free
    # slot, the outbox paces itself in what is left, and a reply and a push to the same chat
    # never land in the same second. The outbox has its own Bot, outside the reply limiter.
    budget = SendBudget(limits.outbox_per_second)
    pacer = ChatPacer(limits)
    replies = ReplyLimiter(budget, pacer, limits=limits)
    # This app's own metrics registry (tests run several apps in one process).
    metrics = Metrics()
    known = frozenset(
        name for name, _ in [*handlers.COMMANDS, *handlers.ADMIN_COMMANDS, *admin.COMMANDS]
    )
    outbox_bot = Bot(
        token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=_send_request(pool=32),
    )
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(request)
        .get_updates_request(updates_request)
        # Commands keep being answered while a long handler (e.g. /addfeed) waits on HTTP,
        # or a reply waits for its chat's next slot (a group's can be a minute away): the
        # throttle bounds how many of those one user can start.
        .concurrent_updates(CommandTimer(64, metrics, known=known))
        .rate_limiter(replies)
        .build()
    )
    outbox = Outbox(
        ctx.sessions,
        outbox_bot,
        limits=limits,
        clock=clock,
        budget=budget,
        pacer=pacer,
        dresser=Dresser(ctx.sessions, clock=clock),
    )
    app.bot_data[OUTBOX_BOT_KEY] = outbox_bot
    app.bot_data[REPLIES_KEY] = replies
    app.bot_data[SERVICES_KEY] = Services(settings, ctx.sessions, ctx.fetcher, outbox, clock)
    app.bot_data[RUNTIME_KEY] = Runtime(on_report=on_report)
    app.bot_data["ingestor"] = ctx.ingestor
    app.bot_data[OUTAGE_KEY] = outage
    app.bot_data[MONITOR_KEY] = Monitor(
        ctx.sessions,
        metrics,
        role="all" if ingest else "bot",
        limits=health_limits(settings),
        clock=clock,
        outbox=outbox,
    )
    # The ingestor routes as each feed is stored: the outbox wakes for what it routed.
    ctx.ingestor.on_routed = lambda _routed: outbox.wake()
    # Before any handler does work: a user (or group) over its limits is stopped there.
    gate = Throttle(throttle or ThrottleLimits(), is_group_list=handlers.asks_for_list)
    app.bot_data[THROTTLE_KEY] = gate
    app.add_handler(gate.handler(), group=THROTTLE_GROUP)
    # Admin commands first: the subscriber handlers end with the unknown-command catch-all.
    for handler in [
        *membership.handlers(),
        *admin.handlers(),
        *ownfeeds.handlers(),
        *handlers.handlers(),
        *handlers.fallback_handlers(),
    ]:
        app.add_handler(handler)
    app.add_error_handler(on_error)
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    every = ingest_every or min(settings.poll_interval, 30.0)
    # A pass longer than the interval is not an error: ingest_job skips while one runs,
    # so APScheduler may start a second instance (which returns at once) without warning.
    overlap = {"max_instances": 2, "coalesce": True}
    if ingest:
        app.job_queue.run_repeating(
            ingest_job, interval=every, first=0.1, name="ingest", job_kwargs=overlap
        )
    else:
        route_every = ingest_every or min(settings.poll_interval, ROUTE_EVERY)
        app.job_queue.run_repeating(route_job, interval=route_every, first=0.1, name="route")
    # One digest run at a time: two could both find the same chat due.
    app.job_queue.run_repeating(digest_job, interval=digest_every, first=1.0, name="digests")
    return app


async def start_background(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After ``app.start()``: register commands, start the outbox, resume broadcasts.

    (PTB runs post_init hooks only inside run_polling/run_webhook, which own the event
    loop; this process runs ingestion in the same loop, so it starts the app by hand.)"""
    svc = services(app)
    run = runtime(app)
    await app.bot_data[OUTBOX_BOT_KEY].initialize()
    await register_commands(app)
    run.tasks.append(asyncio.create_task(svc.outbox.run(run.stop), name="outbox"))
    await monitor(app).start()
    run.tasks.append(asyncio.create_task(monitor(app).run(run.stop), name="heartbeat"))
    run.tasks.extend(await resume_broadcasts(app.bot, svc.sessions, clock=svc.clock))


async def stop_background(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Before ``app.stop()``: stop the outbox and the broadcast followers."""
    run = runtime(app)
    run.stop.set()
    await admin.stop_followers(app.bot_data)
    # The outbox finishes and records the sends in flight; only then is anything cancelled.
    if run.tasks:
        await asyncio.wait(run.tasks, timeout=STOP_SENDS_TIMEOUT)
    for task in run.tasks:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    await app.bot_data[OUTBOX_BOT_KEY].shutdown()


# The bot's profile: "What can this bot do?" before a chat starts, and the line on its page.
DESCRIPTION = N_(
    "Science news and science forums (conferences, symposia, congresses), summarised in two "
    "sentences and sent to you: pick topics or follow keywords, get each article at once or "
    "a daily or weekly digest. Works in groups and channels too."
)
SHORT_DESCRIPTION = N_("Science news and forums, summarised and sent to your chat.")


async def register_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """setMyCommands in each interface language (English is the default, for any other
    language_code), the bot's descriptions likewise, plus admin commands (English: admins
    are operators) in each admin's chat."""
    subscriber = [*handlers.COMMANDS, *ownfeeds.COMMANDS]
    admin_only = [*handlers.ADMIN_COMMANDS, *admin.COMMANDS]
    try:
        for language in LANGUAGES:
            tr = translator(language)
            code = None if language == "en" else language
            public = [BotCommand(name, tr(text)) for name, text in subscriber]
            await app.bot.set_my_commands(
                public, scope=BotCommandScopeDefault(), language_code=code
            )
            await app.bot.set_my_description(tr(DESCRIPTION), language_code=code)
            await app.bot.set_my_short_description(tr(SHORT_DESCRIPTION), language_code=code)
        public = [BotCommand(name, text) for name, text in subscriber]
        for admin_id in sorted(services(app).settings.admin_ids):
            extra = [BotCommand(name, text) for name, text in admin_only]
            await app.bot.set_my_commands(public + extra, scope=BotCommandScopeChat(admin_id))
    except TelegramError as exc:
        # An admin who never opened a chat with the bot makes this fail; the bot still works.
        log.warning("setMyCommands failed: %s", exc)


async def ingest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One pass over the due feeds; the ingestor routes each feed's articles as it stores
    them (and whatever a crash left unrouted), so there is nothing to route here."""
    svc = services(context)
    run = runtime(context.application)
    if run.ingest_lock.locked():
        return  # the previous pass is still going: due feeds wait for it
    async with run.ingest_lock:
        now = svc.clock()
        ingestor = context.bot_data["ingestor"]
        report = await monitor(context.application).run_pass(ingestor, now=now)
        if run.on_report is not None:
            run.on_report(report)


async def route_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route what ingest workers stored and nobody routed yet; the ingestor's ``route``
    records failures, leaves the articles queued and wakes the outbox."""
    await context.bot_data["ingestor"].route(now=services(context).clock())


@in_background  # commands' writes go first (db.writes)
async def digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    if await send_due_digests(svc.sessions, now=svc.clock()):
        svc.outbox.wake()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one place unexpected exceptions land: logged with the update, counted, and the
    user told briefly that this request failed."""
    runtime(context.application).errors += 1
    log.error("unexpected error handling %r", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    user = update.effective_user
    # The sender's language: the database may be what failed.
    tr = translator(language_of(user.language_code if user else None))
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer(tr("Sorry, something went wrong."))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(
                tr("Sorry, something went wrong with that request. Please try again later.")
            )


async def run_bot(ctx: AppContext, *, announce: Callable[[str], None], ingest: bool = True) -> None:
    """Run the bot until cancelled (Ctrl-C): long polling, or a webhook with WEBHOOK_URL;
    ``ingest=False`` leaves the feeds to ingest workers (``--role bot``)."""
    settings = ctx.settings
    app = build_application(ctx, ingest=ingest)
    api = settings.telegram_api_url
    try:
        await app.initialize()  # getMe: checks the token and that the API answers
    except InvalidToken:
        raise BotError(f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {api}") from None
    except (NetworkError, TimedOut) as exc:
        raise BotError(f"cannot reach the Bot API at {api}: {exc}") from None
    async with app:
        # A taken METRICS_PORT stops the start here, before any background work begins.
        probes = serve_probes(monitor(app), settings)
        await app.start()
        await start_background(app)
        settle_heap()  # the application lives as long as the process (bot/heap.py)
        assert app.updater is not None
        if settings.webhook_url:
            given = settings.webhook_secret
            secret = given.get_secret_value() if given else secrets.token_urlsafe(32)
            await app.updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                # PTB answers 403 to any request without this X-Telegram-Bot-Api-Secret-Token.
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
            announce(f"bot running with a webhook at {settings.webhook_url}; Ctrl-C stops")
        else:
            await app.updater.start_polling(
                poll_interval=0.0,
                timeout=30,
                allowed_updates=Update.ALL_TYPES,
                error_callback=app.bot_data[OUTAGE_KEY].polling_error,
            )
            me = app.bot.username
            announce(
                f"bot @{me} running (long polling at {settings.telegram_api_url}); Ctrl-C stops"
            )
        try:
            await asyncio.Event().wait()
        finally:
            if app.updater.running:
                await app.updater.stop()
            if probes is not None:
                await probes.stop()
            await stop_background(app)
            await app.stop()
