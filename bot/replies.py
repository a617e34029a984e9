"""Replies that arrive: every request of the application's bot (command replies, edits,
documents) goes through ``ReplyLimiter``, PTB's rate-limiter hook.

- New messages are paced per chat within Telegram's limits (1 a second in a private chat,
  20 a minute in a group) by the same ``ChatPacer`` the outbox uses, so a reply and a push
  to one chat never collide; replies to one chat go one at a time, in order.
- Every send and edit takes a slot of the bot's overall ``SendBudget`` (shared with the
  outbox, which yields to replies).
- A 429 is waited out (``retry_after``) and the request sent again; a network error or a
  5xx is retried with backoff. Both are bounded (``ReplyRetries``); after that the error is
  logged, counted in ``stats`` and raised to the handler, which logs and counts it too.
  A retried send whose first try timed out after reaching Telegram may arrive twice: an
  answer twice beats an answer lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery import ChatPacer, RateLimits, SendBudget, classify_error

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]  # a Bot API answer, as PTB hands it to rate limiters

# Bot API methods that create a message: paced per chat, and charged to the budget.
MESSAGE_METHODS = frozenset(
    {"sendmessage", "senddocument", "sendphoto", "sendmediagroup", "copymessage", "forwardmessage"}
)
# Methods charged to the overall budget only (Telegram's per-chat limits are for messages).
EDIT_METHODS = frozenset({"editmessagetext", "editmessagereplymarkup"})
SEND_METHODS = MESSAGE_METHODS | EDIT_METHODS
_TELEGRAM_LIMITS = RateLimits()


@dataclass(frozen=True, slots=True)
class ReplyRetries:
    """How hard a reply is pushed through before it counts as failed."""

    max_attempts: int = 4
    # A 429 asking for a longer wait than this is not waited out: the user would have
    # given up on the answer, and the handler is holding an update slot meanwhile.
    max_wait: float = 60.0
    backoff: float = 1.0  # network errors: 1, 2, 4 … seconds

    def delay(self, attempt: int) -> float:
        return self.backoff * 2.0 ** max(attempt - 1, 0)


@dataclass(slots=True)
class ReplyStats:
    sent: int = 0
    retried: int = 0
    too_many_requests: int = 0
    failed: int = 0


def _chat_of(data: dict[str, Any] | None) -> int | None:
    raw = (data or {}).get("chat_id")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        return int(raw)
    return None  # an @username: not paced per chat (only channels are addressed so)


class ReplyLimiter(BaseRateLimiter[None]):
    """See the module docstring."""

    def __init__(
        self,
        budget: SendBudget,
        pacer: ChatPacer,
        *,
        limits: RateLimits = _TELEGRAM_LIMITS,
        retries: ReplyRetries = ReplyRetries(),
    ) -> None:
        self._budget = budget
        self._pacer = pacer
        self._interval = limits.chat_interval()
        self._retries = retries
        self._stats = ReplyStats()
        # One lock per chat with replies in flight: they go out one by one, in order.
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @property
    def stats(self) -> ReplyStats:
        return replace(self._stats)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(  # noqa: PLR0917 - PTB's BaseRateLimiter signature
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | JSONDict | list[JSONDict]:
        method = endpoint.lower()
        if method not in SEND_METHODS:
            return await callback(*args, **kwargs)
        chat_id = _chat_of(data) if method in MESSAGE_METHODS else None
        attempt = 0
        while True:
            attempt += 1
            try:
                if chat_id is None:
                    await self._budget.claim()
                    result = await callback(*args, **kwargs)
                else:
                    result = await self._paced(chat_id, callback, args, kwargs)
            except RetryAfter as exc:
                wait = classify_error(exc).retry_after
                self._stats.too_many_requests += 1
                if chat_id is not None:
                    self._pacer.hold(chat_id, asyncio.get_running_loop().time() + wait)
                if attempt >= self._retries.max_attempts or wait > self._retries.max_wait:
                    self._give_up(method, chat_id, attempt, exc)
                    raise
                self._stats.retried += 1
                log.info("%s to %s: 429, retrying in %.0f s", method, chat_id, wait)
                if chat_id is None:
                    await asyncio.sleep(wait)  # paced chats wait in _paced, on the hold
            except BadRequest:
                raise  # the request itself is wrong: sending it again changes nothing
            except NetworkError as exc:
                if attempt >= self._retries.max_attempts:
                    self._give_up(method, chat_id, attempt, exc)
                    raise
                self._stats.retried += 1
                delay = self._retries.delay(attempt)
                log.info("%s to %s failed (%s); retrying in %.0f s", method, chat_id, exc, delay)
                await asyncio.sleep(delay)
            else:
                self._stats.sent += 1
                return result

    async def _paced(
        self,
        chat_id: int,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> bool | JSONDict | list[JSONDict]:
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                # Re-read after each sleep: a 429 or the outbox may have moved the time.
                while True:
                    wait = self._pacer.ready_at(chat_id) - loop.time()
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                # Keeps the outbox off this chat while the reply is in flight.
                self._pacer.hold(chat_id, loop.time() + self._interval)
                await self._budget.claim()
                result = await callback(*args, **kwargs)
                self._pacer.record(chat_id, loop.time())
                return result
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id]
                del self._locks[chat_id]

    def _give_up(self, method: str, chat_id: int | None, attempts: int, exc: Exception) -> None:
        self._stats.failed += 1
        log.warning("%s to %s failed after %d tries: %s", method, chat_id, attempts, exc)
