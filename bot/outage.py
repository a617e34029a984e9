"""Outage logging: a service that stays unreachable for a while is logged twice, one line
when the outage starts and one when it ends, never a traceback per retry.

``OutageLog`` is the bookkeeping; ``UpdatesRequest`` is the HTTP request object for the
Bot API's getUpdates that tells it when a call went through, and ``OutageLog.polling_error``
is the ``error_callback`` for PTB's ``Updater.start_polling`` (PTB's default logs the whole
traceback of every failed getUpdates, every few seconds, for as long as the API is down).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class OutageLog:
    """Failures and successes of one service; logs the transitions only."""

    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._since: float | None = None
        self._failures = 0
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        """A call failed: the first failure after a success starts an outage (one line)."""
        self._failures += 1
        if self._since is None:
            self._since = self._clock()
            self.outages += 1
            detail = " ".join(str(error).split())[:200] or type(error).__name__
            log.warning("%s unreachable (%s); retrying quietly", self.name, detail)

    def succeeded(self) -> None:
        """A call went through: ends the outage, if there was one (one line)."""
        if self._since is None:
            return
        seconds = self._clock() - self._since
        log.warning(
            "%s reachable again after %.0f s (%d failed calls)", self.name, seconds, self._failures
        )
        self._since = None
        self._failures = 0

    def polling_error(self, error: TelegramError) -> None:
        """``error_callback`` for ``Updater.start_polling``."""
        self.failed(error)


class UpdatesRequest(HTTPXRequest):
    """An HTTPXRequest that reports each call's outcome to an ``OutageLog``."""

    def __init__(self, outage: OutageLog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._outage = outage

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            answer = await super().do_request(*args, **kwargs)
        except TelegramError as error:
            self._outage.failed(error)
            raise
        self._outage.succeeded()
        return answer
