"""The delivery outbox worker: sends pending rows within Telegram's limits, marks them sent
only after Telegram confirms, honours 429 per chat, deactivates blocked chats, follows
group→supergroup migrations, retries network errors and 5xx with backoff.

What lives here:
- `RateLimits`, `Backoff`: the knobs (Telegram's documented limits by default).
- `classify_error`: pure, a Bot API error → what to do with the row (`Verdict`).
- `ChatPacer`: pure per-chat pacing over monotonic seconds (1/s per chat, 20/min per group).
- `Outbox`: the worker. One dispatcher reads due rows (the head of each chat's queue, never
  a chat already in hand or being paced), a bounded set of sender tasks sends them behind
  one global pacer, and one recorder writes the outcomes in batches. A chat stays "in hand"
  until its outcome is committed, so it is never sent to twice at once and its order holds.
- `SendOptions`: what a row gets at send time beyond its stored text (buttons, silence),
  asked of a `Dresser` (``bot.dressing``) once per batch of due rows.
- Before reading due rows the dispatcher has routes' instant matches fanned out into rows
  while few article rows are pending (``bot.routing.fan_out_below``): cards are rendered
  and stored at the pace they are sent, not all when an article is routed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.outage import OutageLog
from bot.routing import fan_out_below
from db import outbox
from db.errors import storage_error
from db.models import Delivery

log = logging.getLogger(__name__)


class SendBudget:
    """The bot's overall send budget, shared by the outbox and direct replies.

    The outbox takes evenly spaced slots when they are due (``turn``); a direct reply to a
    command reserves the next free slot ahead (``claim``), so the outbox yields to it and
    the total stays at the rate, while replies never wait behind a broadcast.
    """

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    async def turn(self) -> None:
        # Slots are claimed only when due (not reserved ahead), so a reply charged now
        # delays every waiting sender. Lateness of up to one slot is caught up, not lost.
        while True:
            now = time.monotonic()
            if self._next <= now:
                # Late by less than a slot: keep the schedule. Idle: spacing starts now.
                start = self._next if self._next > now - self._interval else now
                self._next = start + self._interval
                return
            await asyncio.sleep(self._next - now)

    def charge(self) -> None:
        """Take the next free slot without waiting for it."""
        self._next = max(time.monotonic(), self._next) + self._interval

    async def claim(self) -> None:
        """Reserve the next free slot and wait for it: replies go ahead of the outbox
        (which only takes slots that are due) but never past the overall rate."""
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram's documented limits (Bots FAQ) and how much of them the outbox may use."""

    global_per_second: float = 30.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    # A fixed share kept off the outbox. Usually 0: direct replies are charged to the
    # shared SendBudget as they happen, so the outbox yields exactly what they use.
    reserve_per_second: float = 0.0

    @property
    def outbox_per_second(self) -> float:
        return max(self.global_per_second - self.reserve_per_second, 0.1)

    def chat_interval(self) -> float:
        return 1.0 / self.private_per_second


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays for network errors and 5xx: base·2ⁿ⁻¹ seconds, capped; then failed."""

    base: float = 2.0
    cap: float = 600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try (1-based)."""
        return float(min(self.cap, self.base * 2.0 ** max(attempts - 1, 0)))


@dataclass(slots=True)
class OutboxStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    migrated: int = 0
    too_many_requests: int = 0
    global_floods: int = 0


# --------------------------------------------------------------------------- errors

Action = Literal["flood", "migrate", "block", "drop_thread", "retry", "fail"]

# Telegram's wording for "this chat is gone for the bot" when it answers 400, not 403.
_GONE_CHAT_PHRASES = (
    "chat not found",
    "peer_id_invalid",
    "user is deactivated",
    "group chat was deactivated",
    "bot is not a member",
    "bot was kicked",
    "not enough rights to send",
    "have no rights to send",
    "need administrator rights",
    "chat_write_forbidden",
)
_THREAD_GONE_PHRASES = ("message thread not found", "topic_deleted", "topic was deleted")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a failed send means for its row."""

    action: Action
    detail: str
    retry_after: float = 0.0
    new_chat_id: int | None = None


def _retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns on reading retry_after as int; both forms are handled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify_error(exc: BaseException) -> Verdict:
    """Map a send's exception to the row's fate (pure)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, RetryAfter):
        return Verdict("flood", detail, retry_after=max(_retry_seconds(exc), 0.0))
    if isinstance(exc, ChatMigrated):
        return Verdict("migrate", detail, new_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return Verdict("block", detail)
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest subclasses it
        lowered = detail.lower()
        if any(phrase in lowered for phrase in _GONE_CHAT_PHRASES):
            return Verdict("block", detail)
        if any(phrase in lowered for phrase in _THREAD_GONE_PHRASES):
            return Verdict("drop_thread", detail)
        return Verdict("fail", detail)
    # NetworkError covers TimedOut and 5xx; anything else (a bad token, a bug) is retried
    # with backoff too, so a passing fault never loses a message and max_attempts bounds it.
    if isinstance(exc, TelegramError):
        return Verdict("retry", detail)
    return Verdict("retry", f"{type(exc).__name__}: {detail}")


# --------------------------------------------------------------------------- pacing


@dataclass(slots=True)
class _ChatClock:
    last: float = float("-inf")
    hold: float = float("-inf")
    recent: deque[float] = field(default_factory=deque)


class ChatPacer:
    """When each chat may get its next message, over monotonic seconds (pure, no I/O).

    Times are when a send *finished*: Telegram stamped it before that, so the next send,
    issued no earlier than finish + interval, reaches Telegram more than one interval later.
    Chat ids < 0 are groups, supergroups and channels: also at most ``group_per_minute``
    in any 60 s.
    """

    def __init__(self, limits: RateLimits) -> None:
        self._interval = limits.chat_interval()
        self._per_minute = max(int(limits.group_per_minute), 1)
        self._chats: dict[int, _ChatClock] = {}

    def ready_at(self, chat_id: int) -> float:
        clock = self._chats.get(chat_id)
        if clock is None:
            return float("-inf")
        ready = max(clock.last + self._interval, clock.hold)
        if chat_id < 0 and len(clock.recent) >= self._per_minute:
            ready = max(ready, clock.recent[-self._per_minute] + 60.0)
        return ready

    def record(self, chat_id: int, at: float) -> None:
        """A send to ``chat_id`` finished at ``at`` (accepted or not: both count)."""
        clock = self._chats.setdefault(chat_id, _ChatClock())
        clock.last = at
        if chat_id < 0:
            clock.recent.append(at)
            while len(clock.recent) > self._per_minute:
                clock.recent.popleft()

    def hold(self, chat_id: int, until: float) -> None:
        """Telegram asked this chat to wait (429) until ``until``."""
        clock = self._chats.setdefault(chat_id, _ChatClock())
        clock.hold = max(clock.hold, until)

    def waiting(self, now: float) -> set[int]:
        """Chats not ready at ``now``; forgets chats whose pacing no longer matters."""
        busy: set[int] = set()
        for chat_id in list(self._chats):
            if self.ready_at(chat_id) > now:
                busy.add(chat_id)
                continue
            clock = self._chats[chat_id]
            if not clock.recent or clock.recent[-1] + 60.0 <= now:
                del self._chats[chat_id]
        return busy

    def next_ready(self, chats: Iterable[int]) -> float:
        return min((self.ready_at(c) for c in chats), default=float("inf"))


# --------------------------------------------------------------------------- the worker

# 429s for this share of a second's sends (at least 3 chats) within a second mean the bot
# as a whole is over its budget (Telegram does not say which limit it was): all wait.
_FLOOD_SHARE = 0.1
_FLOOD_MIN_CHATS = 3
_FLOOD_WINDOW = 1.0
_RECORD_BATCH = 500
_RECORD_LINGER = 0.05
_STORE_TRIES = 3
_REVOKE_CHECK_EVERY = 0.2
# Seconds between looks for routes to fan out when nothing said there are new ones.
_FAN_OUT_CHECK_EVERY = 1.0


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What a row gets at send time beyond its stored text (``bot.dressing`` decides)."""

    text: str | None = None  # replaces the stored text when set
    reply_markup: InlineKeyboardMarkup | None = None
    silent: bool = False  # disable_notification


# Reads what the rows about to be sent need and says how to send each (by delivery id).
Dresser = Callable[[Sequence[Delivery]], Awaitable[Mapping[int, SendOptions]]]


@dataclass(frozen=True, slots=True)
class _Job:
    delivery_id: int
    chat_id: int
    text: str
    disable_preview: bool
    thread_id: int | None
    attempts: int
    options: SendOptions = SendOptions()

    @classmethod
    def of(cls, row: Delivery, options: SendOptions | None = None) -> _Job:
        assert row.id is not None
        return cls(
            row.id,
            row.chat_id,
            row.text,
            row.disable_preview,
            row.thread_id,
            row.attempts,
            options or SendOptions(),
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: _Job
    message_id: int | None = None
    verdict: Verdict | None = None


class Outbox:
    """Sends the outbox; see the module docstring for how the parts fit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot,
        *,
        limits: RateLimits = RateLimits(),
        clock: Callable[[], datetime],
        backoff: Backoff = Backoff(),
        concurrency: int = 16,
        idle_poll: float = 1.0,
        shutdown_grace: float = 10.0,
        budget: SendBudget | None = None,
        pacer: ChatPacer | None = None,
        dresser: Dresser | None = None,
    ) -> None:
        """``budget`` and ``pacer``: the overall send budget and the per-chat pacing shared
        with direct replies (see bot.replies); by default the outbox has them to itself.
        ``dresser``: send-time options for the rows (buttons, silence); none by default."""
        self._sessions = sessions
        self._budget = budget or SendBudget(limits.outbox_per_second)
        self._bot = bot
        self.limits = limits
        self._clock = clock
        self._backoff = backoff
        self._concurrency = max(concurrency, 1)
        self._idle_poll = idle_poll
        self._grace = shutdown_grace
        self._stats = OutboxStats()
        self.last_sent_at: datetime | None = None  # when a send was last confirmed (health)
        # A database outage is logged when it starts and when it ends, not per retry.
        self._db_outage = OutageLog("database")
        self._pacer = pacer or ChatPacer(limits)
        self._dresser = dresser
        self._running = False
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kick: asyncio.Event | None = None
        self._in_hand: set[int] = set()
        # Jobs handed to senders but not yet sent, and those among them no longer pending.
        self._queued: dict[int, _Job] = {}
        self._revoked: set[int] = set()
        self._checked_at = 0.0
        self._sending: set[asyncio.Task[None]] = set()
        self._paused_until = 0.0
        self._floods: deque[tuple[float, int]] = deque()
        self._fan_more = True
        self._fanned_at = -math.inf

    @property
    def stats(self) -> OutboxStats:
        """A snapshot of the counters since this Outbox was made."""
        return replace(self._stats)

    def wake(self) -> None:
        """New rows were enqueued: look for due rows now instead of at the next tick."""
        self._fan_more = True  # routes too, maybe
        kick, loop = self._kick, self._loop
        if kick is None or loop is None or loop.is_closed():
            return
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            kick.set()
        else:
            loop.call_soon_threadsafe(kick.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Send due rows until ``stop`` is set; survives any single failure.

        On stop no new send starts; sends in flight finish and are recorded (bounded by
        ``shutdown_grace``), so what was not sent stays pending for the next run.
        """
        await self._serve(stop, until_idle=False)

    async def drain(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109 - a deadline for the whole drain, not one call
        """Send until no pending row is due and nothing is in flight; returns how many rows
        were settled (sent, failed or blocked). Rows waiting on a later retry are left.
        TimeoutError if still busy after ``timeout`` seconds (after stopping cleanly)."""
        before = self._settled()
        stop = asyncio.Event()
        task = asyncio.create_task(self._serve(stop, until_idle=True))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            stop.set()
            await task
            raise TimeoutError(f"outbox still busy after {timeout} s") from None
        return self._settled() - before

    def _settled(self) -> int:
        return self._stats.sent + self._stats.failed + self._stats.blocked

    # ----------------------------------------------------------------- lifecycle

    async def _serve(self, stop: asyncio.Event, *, until_idle: bool) -> None:
        if self._running:
            raise RuntimeError("this Outbox is already running")
        self._running = True
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._kick = asyncio.Event()
        self._in_hand = set()
        self._queued = {}
        self._revoked = set()
        jobs: asyncio.Queue[_Job] = asyncio.Queue()
        outcomes: asyncio.Queue[_Outcome | None] = asyncio.Queue()
        watcher = asyncio.create_task(self._watch(stop))
        senders = [
            asyncio.create_task(self._send_loop(jobs, outcomes)) for _ in range(self._concurrency)
        ]
        recorder = asyncio.create_task(self._record_loop(outcomes))
        try:
            await self._dispatch(jobs, until_idle=until_idle)
        finally:
            self._closing = True
            watcher.cancel()
            await self._stop_senders(senders)
            outcomes.put_nowait(None)
            try:
                await asyncio.wait_for(recorder, self._grace)
            except TimeoutError:
                log.error(
                    "outbox: outcomes not recorded within %s s; they will be resent", self._grace
                )
            self._kick = None
            self._running = False

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._closing = True
        if self._kick is not None:
            self._kick.set()

    async def _stop_senders(self, senders: list[asyncio.Task[None]]) -> None:
        # Senders waiting for a job or a slot stop now; one mid-request finishes it, so a
        # message Telegram accepted is recorded and not sent again after the restart.
        for task in senders:
            if task not in self._sending:
                task.cancel()
        _done, late = await asyncio.wait(senders, timeout=self._grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    async def _nap(self, seconds: float) -> None:
        kick = self._kick
        if kick is None or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(kick.wait(), seconds)

    # ----------------------------------------------------------------- dispatcher

    async def _dispatch(self, jobs: asyncio.Queue[_Job], *, until_idle: bool) -> None:
        loop = asyncio.get_running_loop()
        capacity = 2 * self._concurrency
        while not self._closing:
            assert self._kick is not None
            self._kick.clear()
            waiting = self._pacer.waiting(loop.time())
            room = capacity - jobs.qsize()
            try:
                if room < capacity // 2:
                    # Enough queued: read again once the senders have used some of it.
                    await self._revoke_settled(loop.time())
                    await self._nap(self._idle_poll)
                    continue
                await self._fan_out(loop.time())
                rows = await self._due(room, self._in_hand | waiting)
                self._db_outage.succeeded()
                options = await self._dress(rows)
                for row in rows:
                    job = _Job.of(row, options.get(row.id or 0))
                    self._in_hand.add(job.chat_id)
                    self._queued[job.delivery_id] = job
                    jobs.put_nowait(job)
                await self._revoke_settled(loop.time())
                if rows:
                    await self._nap(
                        min(self._idle_poll, self._pacer.next_ready(waiting) - loop.time())
                    )
                    continue
                if until_idle and not self._in_hand and jobs.empty() and not await self._due(1, ()):
                    if await self._fan_out(loop.time(), force=True):
                        continue
                    return
                # Due rows of chats in hand or paced wake us through the recorder's kick or
                # the pacer; only rows due later need the database's word on when.
                pause = min(self._idle_poll, self._pacer.next_ready(waiting) - loop.time())
                next_due = await self._next_due()
                if next_due is not None and next_due > self._clock():
                    pause = min(pause, (next_due - self._clock()).total_seconds())
                await self._nap(max(pause, 0.005))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._database_failed(exc, "reading due deliveries")
                await self._nap(self._idle_poll)

    async def _fan_out(self, now: float, *, force: bool = False) -> int:
        """Fan routes out into rows if told there may be some (a wake, rows made last time)
        or every _FAN_OUT_CHECK_EVERY (another process may route); how many rows."""
        if not (force or self._fan_more or now - self._fanned_at >= _FAN_OUT_CHECK_EVERY):
            return 0
        self._fanned_at = now
        try:
            made = await fan_out_below(self._sessions, now=self._clock())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Sending what is already in the outbox goes on; the routes wait for the next look.
            self._database_failed(exc, "fanning out routed articles")
            made = 0
        self._fan_more = made > 0
        return made

    async def _revoke_settled(self, now: float) -> None:
        """Drop queued jobs whose row was settled meanwhile (a cancelled broadcast), so a
        cancel takes effect within a fraction of a second, not after the queue drains."""
        if not self._queued or now - self._checked_at < _REVOKE_CHECK_EVERY:
            return
        self._checked_at = now
        queued = list(self._queued)
        async with self._sessions() as session:
            pending = await outbox.still_pending(session, queued)
        self._revoked.update(i for i in queued if i not in pending and i in self._queued)

    async def _dress(self, rows: Sequence[Delivery]) -> Mapping[int, SendOptions]:
        if self._dresser is None or not rows:
            return {}
        try:
            return await self._dresser(rows)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The stored text is a whole message on its own: send it plain rather than not.
            log.exception("outbox: send options for %d rows failed; sending them plain", len(rows))
            return {}

    async def _due(self, limit: int, exclude: set[int] | tuple[()]) -> list[Delivery]:
        async with self._sessions() as session:
            rows = await outbox.due_deliveries(
                session, now=self._clock(), limit=limit, exclude_chats=exclude
            )
            return list(rows)

    async def _next_due(self) -> datetime | None:
        async with self._sessions() as session:
            return await outbox.next_due_at(session)

    # ----------------------------------------------------------------- senders

    async def _send_loop(
        self,
        jobs: asyncio.Queue[_Job],
        outcomes: asyncio.Queue[_Outcome | None],
    ) -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None
        while not self._closing:
            job = await jobs.get()
            try:
                await self._take_turn()
                if self._closing:
                    return
                self._queued.pop(job.delivery_id, None)
                if job.delivery_id in self._revoked:
                    self._revoked.discard(job.delivery_id)
                    self._in_hand.discard(job.chat_id)
                    continue
                self._sending.add(me)
                # Keeps direct replies off this chat while the send is in flight.
                self._pacer.hold(job.chat_id, loop.time() + self.limits.chat_interval())
                try:
                    outcome = await self._send(job)
                finally:
                    self._sending.discard(me)
                finished = loop.time()
                if outcome.message_id is not None:
                    # Refused sends cost no quota; their own retry delay spaces them.
                    self._pacer.record(job.chat_id, finished)
                if outcome.verdict is not None and outcome.verdict.action == "flood":
                    self._on_flood(job.chat_id, outcome.verdict.retry_after, finished)
                outcomes.put_nowait(outcome)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never reached in normal operation (_send catches everything); keeps the
                # sender alive if it happens, and frees the chat for a later try.
                log.exception(
                    "outbox: sender failed on delivery %s",
                    job.delivery_id,
                    extra={"chat_id": job.chat_id},
                )
                self._queued.pop(job.delivery_id, None)
                self._in_hand.discard(job.chat_id)

    async def _take_turn(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pause = self._paused_until - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            await self._budget.turn()
            if self._paused_until <= loop.time():
                return

    async def _send(self, job: _Job) -> _Outcome:
        try:
            message = await self._bot.send_message(
                chat_id=job.chat_id,
                text=job.options.text or job.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=job.disable_preview),
                message_thread_id=job.thread_id,
                reply_markup=job.options.reply_markup,
                disable_notification=job.options.silent,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict = classify_error(exc)
            if verdict.action == "retry" and not isinstance(exc, TelegramError):
                log.exception(
                    "outbox: unexpected error sending delivery %s",
                    job.delivery_id,
                    extra={"chat_id": job.chat_id},
                )
            return _Outcome(job, verdict=verdict)
        return _Outcome(job, message_id=message.message_id)

    def _on_flood(self, chat_id: int, retry_after: float, now: float) -> None:
        self._stats.too_many_requests += 1
        self._pacer.hold(chat_id, now + retry_after)
        self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - _FLOOD_WINDOW:
            self._floods.popleft()
        threshold = max(_FLOOD_MIN_CHATS, math.ceil(_FLOOD_SHARE * self.limits.outbox_per_second))
        if len({chat for _, chat in self._floods}) >= threshold:
            if self._paused_until < now:
                self._stats.global_floods += 1
                log.warning("outbox: bot-wide flood limit; pausing all sends %.0f s", retry_after)
            self._paused_until = max(self._paused_until, now + retry_after)
            self._floods.clear()
        else:
            log.info(
                "outbox: 429 for chat %s; it waits %.0f s",
                chat_id,
                retry_after,
                extra={"chat_id": chat_id},
            )

    # ----------------------------------------------------------------- recorder

    async def _record_loop(self, outcomes: asyncio.Queue[_Outcome | None]) -> None:
        while True:
            first = await outcomes.get()
            if first is None:
                return
            if not self._closing:
                # Outcomes arrive one by one at the send rate; one commit for a handful of
                # them keeps the database out of the way (the chats just stay in hand).
                await asyncio.sleep(_RECORD_LINGER)
            batch, last = [first], False
            while not outcomes.empty() and len(batch) < _RECORD_BATCH:
                item = outcomes.get_nowait()
                if item is None:
                    last = True
                    break
                batch.append(item)
            await self._store(batch)
            for item in batch:
                self._in_hand.discard(item.job.chat_id)
                if item.verdict is not None and item.verdict.new_chat_id is not None:
                    self._in_hand.discard(item.verdict.new_chat_id)
            if self._kick is not None:
                self._kick.set()
            if last:
                return

    async def _store(self, batch: list[_Outcome]) -> None:
        for attempt in range(1, _STORE_TRIES + 1):
            try:
                counts = OutboxStats()
                async with self._sessions() as session, session.begin():
                    now = self._clock()
                    sent = [(o.job.delivery_id, o.message_id) for o in batch if o.message_id]
                    await outbox.mark_sent_many(session, sent, now=now)
                    counts.sent = len(sent)
                    for item in batch:
                        if item.verdict is not None:
                            await self._apply(session, item.job, item.verdict, now, counts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._database_failed(exc, f"recording {len(batch)} outcomes (try {attempt})")
                await asyncio.sleep(0.2 * attempt)
                continue
            self._db_outage.succeeded()
            if counts.sent:
                self.last_sent_at = now
            for name in ("sent", "retried", "failed", "blocked", "migrated"):
                setattr(self._stats, name, getattr(self._stats, name) + getattr(counts, name))
            return
        # The rows stay pending: they will be sent again (at least once, never lost).
        log.error("outbox: gave up recording %d outcomes", len(batch))

    def _database_failed(self, exc: Exception, doing: str) -> None:
        """A storage error is an outage (one line while it lasts); anything else is a bug."""
        error = storage_error(exc)
        if error is not None:
            self._db_outage.failed(error)
        else:
            log.exception("outbox: %s failed", doing)

    async def _apply(
        self, session: AsyncSession, job: _Job, verdict: Verdict, now: datetime, counts: OutboxStats
    ) -> None:
        if verdict.action == "block":
            log.info(
                "outbox: chat %s deactivated: %s",
                job.chat_id,
                verdict.detail,
                extra={"chat_id": job.chat_id},
            )
            # Blocks this row and every other pending one of the chat.
            counts.blocked += await outbox.mark_blocked_chat(
                session, job.chat_id, reason=verdict.detail
            )
            return
        answer: outbox.Answer = "fail"
        delay = 0.0
        if verdict.action == "flood":
            # The wait itself is paced in memory (ChatPacer.hold), in real seconds as
            # Telegram means them; the row stays due so a restart simply asks again.
            answer = "flood"
        elif verdict.action == "migrate" and verdict.new_chat_id not in (None, job.chat_id):
            assert verdict.new_chat_id is not None
            log.info(
                "outbox: chat %s migrated to %s",
                job.chat_id,
                verdict.new_chat_id,
                extra={"chat_id": job.chat_id},
            )
            await outbox.migrate_chat(session, job.chat_id, verdict.new_chat_id)
            counts.migrated += 1
            answer = "retry"
        elif verdict.action == "drop_thread":
            await outbox.forget_thread(session, job.chat_id)
            answer = "retry"
        elif verdict.action == "retry":
            answer, delay = "retry", self._backoff.delay(job.attempts + 1)
        change = outbox.settle(
            status=outbox.PENDING,
            attempts=job.attempts,
            result=outbox.SendResult(answer, detail=verdict.detail),
            now=now,
            retry_delay=delay,
            max_attempts=self._backoff.max_attempts,
        )
        if change is None or not await outbox.apply_change(
            session, job.delivery_id, change, expected_status=outbox.PENDING
        ):
            return  # cancelled or blocked meanwhile: that state stands
        if change.status == outbox.FAILED:
            log.warning(
                "outbox: delivery %s failed after %d tries: %s",
                job.delivery_id,
                change.attempts,
                verdict.detail,
                extra={"chat_id": job.chat_id},
            )
            counts.failed += 1
        else:
            counts.retried += 1
