"""Quiet hours and silent mode (bot.quiet): table-driven, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.quiet import QuietHours, is_quiet_hour, parse_quiet_hours, rings


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("22-7", (22, 7)),
        ("22:00-07:00", (22, 7)),
        ("22 – 7", (22, 7)),
        ("22h-7h", (22, 7)),
        ("0-6", (0, 6)),
        ("13-14", (13, 14)),
        ("23-24", (23, 0)),
        ("off", "off"),
        ("OFF", "off"),
        ("none", "off"),
        ("8-8", None),  # no hours at all
        ("25-3", None),
        ("22", None),
        ("22-", None),
        ("ten to six", None),
        ("22:30-7", None),  # whole hours only
    ],
)
def test_quiet_hours_are_read_as_typed(typed: str, parsed: QuietHours | str | None) -> None:
    assert parse_quiet_hours(typed) == parsed


@pytest.mark.parametrize(
    ("hour", "quiet", "expected"),
    [
        (23, (22, 7), True),
        (0, (22, 7), True),
        (6, (22, 7), True),
        (7, (22, 7), False),  # the end hour has sound again
        (21, (22, 7), False),
        (22, (22, 7), True),
        (13, (13, 14), True),
        (14, (13, 14), False),
        (12, (13, 14), False),
    ],
)
def test_quiet_hours_may_run_across_midnight(hour: int, quiet: QuietHours, expected: bool) -> None:
    assert is_quiet_hour(hour, quiet) is expected


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("kind", "silent", "quiet", "now", "expected"),
    [
        ("article", False, None, datetime(2026, 3, 2, 3, 0, tzinfo=UTC), True),
        ("digest", False, None, datetime(2026, 3, 2, 12, 0, tzinfo=UTC), False),  # never
        ("article", True, None, datetime(2026, 3, 2, 12, 0, tzinfo=UTC), False),
        ("broadcast", True, None, datetime(2026, 3, 2, 12, 0, tzinfo=UTC), False),
        # 21:30 UTC is 22:30 in Berlin: quiet there, whatever the hour in UTC.
        ("article", False, (22, 7), datetime(2026, 3, 2, 21, 30, tzinfo=UTC), False),
        ("article", False, (22, 7), datetime(2026, 3, 2, 6, 30, tzinfo=UTC), True),  # 07:30
        ("notice", False, (22, 7), datetime(2026, 3, 2, 5, 0, tzinfo=UTC), False),  # 06:00
    ],
)
def test_a_message_rings_unless_silenced_by_kind_mode_or_local_quiet_hours(
    kind: str, silent: bool, quiet: QuietHours | None, now: datetime, expected: bool
) -> None:
    assert rings(kind, silent=silent, quiet=quiet, now=now, tz=BERLIN) is expected
