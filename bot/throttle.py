"""Per-user command limits: a flooding user cannot spend the bot's send budget.

``TokenBuckets`` is the pure core: one token bucket per key over monotonic seconds passed
in, answering whether a request may go ahead and whether the sender should be told to slow
down (once per stretch of being refused, not once per refused request). ``Throttle`` is the
PTB shell: a handler in group -1, so it runs before every other handler, that charges each
command, button click and private-chat text to its sender's bucket (and /latest or
/search in a group to the group's too), stops what is over the limit, and says so once (in
the sender's language: no database read here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, TypeHandler

from bot.i18n import N_, language_of, translator

log = logging.getLogger(__name__)

SLOW_DOWN = N_("⏳ Slow down a little, please — I'll answer again in a few seconds.")
SLOW_DOWN_CLICKS = N_("⏳ Slow down a little, please — try again in a few seconds.")
GROUP_SLOW_DOWN = N_(
    "⏳ This group has asked for a lot of lists just now — please try again in a minute."
)
# Handlers run in group 0; a negative group runs first and may stop the update there.
THROTTLE_GROUP = -1


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket of ``burst`` tokens refilled at ``per_second``."""

    burst: int
    per_second: float


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    """How much one user (or group) may ask for. A person types a few commands in a row and
    then reads; clicks come faster (paging, toggling topics) but each costs less."""

    commands: Rate = Rate(burst=4, per_second=1 / 3)
    clicks: Rate = Rate(burst=10, per_second=1.0)
    # /latest and /search in a group, and the cards opened from their lists: a group gets
    # 20 messages a minute from the bot, and lists should not use them all up.
    group_lists: Rate = Rate(burst=3, per_second=1 / 20)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # Refused, and the sender has not been told since their last allowed request.
    warn: bool = False


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


@dataclass(slots=True)
class TokenBuckets:
    """Token buckets by key (pure: time is passed in, in monotonic seconds)."""

    rate: Rate
    # Beyond this many keys, full buckets (same as no bucket) are forgotten.
    max_keys: int = 10_000
    _buckets: dict[Hashable, _Bucket] = field(default_factory=dict)
    _prune_at: int = 0

    def take(self, key: Hashable, now: float) -> Decision:
        """Spend a token of ``key``'s bucket if it has one."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.rate.burst), now)
        bucket.tokens = self._level(bucket, now)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Decision(allowed=True)
        warn = not bucket.warned
        bucket.warned = True
        return Decision(allowed=False, warn=warn)

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, bucket: _Bucket, now: float) -> float:
        elapsed = max(now - bucket.at, 0.0)
        return min(float(self.rate.burst), bucket.tokens + elapsed * self.rate.per_second)

    def _prune(self, now: float) -> None:
        # Amortised: a full sweep only each time the map has doubled since the last one.
        if len(self._buckets) < max(self.max_keys, self._prune_at):
            return
        full = [k for k, b in self._buckets.items() if self._level(b, now) >= self.rate.burst]
        for key in full:
            del self._buckets[key]
        self._prune_at = 2 * len(self._buckets)


def _sender_key(update: Update) -> Hashable | None:
    """Who is asking: the user, or the chat an anonymous admin or channel writes as (all
    anonymous admins share one user id, GroupAnonymousBot)."""
    message = update.message
    if message is not None and message.sender_chat is not None:
        return ("chat", message.sender_chat.id)
    user = update.effective_user
    return ("user", user.id) if user is not None else None


def _is_command(update: Update) -> bool:
    """A /command, or any text in a private chat (answered with a pointer to /help)."""
    message = update.message
    if message is None or message.text is None:
        return False
    return message.text.startswith("/") or message.chat.type == ChatType.PRIVATE


class Throttle:
    """The PTB shell around the buckets; see the module docstring."""

    def __init__(
        self,
        limits: ThrottleLimits = ThrottleLimits(),
        *,
        is_group_list: Callable[[Update], bool] = lambda _update: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``is_group_list``: whether an update asks for a list (or a card from one) in a
        group, charged to the group's bucket as well."""
        self._commands = TokenBuckets(limits.commands)
        self._clicks = TokenBuckets(limits.clicks)
        self._groups = TokenBuckets(limits.group_lists)
        self._is_group_list = is_group_list
        self._clock = clock
        self.refused = 0

    def handler(self) -> BaseHandler[Any, Any, Any]:
        """Add with ``group=THROTTLE_GROUP``."""
        return TypeHandler(Update, self.check)

    def decide(self, update: Update, now: float) -> tuple[Decision, str]:
        """Whether ``update`` may go ahead, and what to say if not (pure but for the
        buckets' own state)."""
        key = _sender_key(update)
        if key is None:
            return Decision(allowed=True), ""
        if update.callback_query is not None:
            decision, text = self._clicks.take(key, now), SLOW_DOWN_CLICKS
        elif _is_command(update):
            decision, text = self._commands.take(key, now), SLOW_DOWN
        else:
            return Decision(allowed=True), ""
        chat = update.effective_chat
        if (
            decision.allowed
            and chat is not None
            and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
            and self._is_group_list(update)
        ):
            decision, text = self._groups.take(chat.id, now), GROUP_SLOW_DOWN
        return decision, text

    async def check(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        decision, text = self.decide(update, self._clock())
        if decision.allowed:
            return
        self.refused += 1
        user = update.effective_user
        text = translator(language_of(user.language_code if user else None))(text)
        try:
            if update.callback_query is not None:
                # A click is always answered (or its button keeps spinning); the alert only once.
                await update.callback_query.answer(
                    text if decision.warn else None, show_alert=decision.warn
                )
            elif decision.warn and update.effective_message is not None:
                await update.effective_message.reply_text(text, do_quote=False)
        except TelegramError as exc:
            log.info("throttle: could not say slow down: %s", exc)
        raise ApplicationHandlerStop
