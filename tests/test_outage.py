"""bot.outage: an unreachable Bot API is two log lines, not a traceback per retry."""

from __future__ import annotations

import logging

import pytest
from telegram.error import NetworkError, TimedOut

from bot.outage import OutageLog


def test_an_outage_logs_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    outage = OutageLog("Bot API", clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="bot.outage")

    outage.succeeded()  # all well: nothing to say
    for _ in range(30):
        outage.polling_error(NetworkError("httpx.ConnectError: All connection attempts failed"))
        now[0] += 2
    outage.failed(TimedOut())
    assert outage.down
    outage.succeeded()
    outage.succeeded()

    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Bot API unreachable (httpx.ConnectError: All connection attempts failed); "
        "retrying quietly",
        "Bot API reachable again after 60 s (31 failed calls)",
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert (outage.down, outage.outages) == (False, 1)
