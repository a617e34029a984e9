"""Digest timing: local hours, weekdays, time zones, DST, missed slots, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digests import canonical_timezone, digest_due, slot_start


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due(
    now: datetime,
    *,
    mode: str = "daily",
    hour: int = 8,
    weekday: int = 0,
    tz: str = "UTC",
    last: datetime | None = None,
) -> bool:
    return digest_due(
        mode=mode,
        digest_hour=hour,
        digest_weekday=weekday,
        timezone=tz,
        last_digest_at=last,
        now=now,
    )


# 2026-03-02 is a Monday.
@pytest.mark.parametrize(
    ("kwargs", "now", "expected"),
    [
        pytest.param(
            {"mode": "instant"}, utc(2026, 3, 2, 9), False, id="instant never has a digest"
        ),
        pytest.param(
            {"last": utc(2026, 3, 1, 8)},
            utc(2026, 3, 2, 7, 59),
            False,
            id="daily, before the hour, sent yesterday",
        ),
        pytest.param(
            {"last": utc(2026, 3, 1, 8)}, utc(2026, 3, 2, 8), True, id="daily, at the hour"
        ),
        pytest.param(
            {"last": utc(2026, 3, 2, 8, 1)},
            utc(2026, 3, 2, 9),
            False,
            id="daily, already sent in this slot",
        ),
        pytest.param(
            {"last": utc(2026, 3, 1, 8)},
            utc(2026, 3, 2, 23, 59),
            True,
            id="daily, process was down all day: still once",
        ),
        pytest.param({}, utc(2026, 3, 2, 8, 5), True, id="daily, never sent"),
        # Shanghai is UTC+8: 08:00 local is 00:00 UTC.
        pytest.param(
            {"tz": "Asia/Shanghai", "last": utc(2026, 3, 1, 0)},
            utc(2026, 3, 2, 0, 1),
            True,
            id="Shanghai 08:00 is midnight UTC",
        ),
        pytest.param(
            {"tz": "Asia/Shanghai", "last": utc(2026, 3, 1, 0)},
            utc(2026, 3, 1, 23, 59),
            False,
            id="Shanghai: 07:59 local not yet",
        ),
        # Los Angeles is UTC-8 in winter: 08:00 local is 16:00 UTC.
        pytest.param(
            {"tz": "America/Los_Angeles", "last": utc(2026, 3, 1, 16)},
            utc(2026, 3, 2, 16),
            True,
            id="Los Angeles 08:00 is 16:00 UTC",
        ),
        pytest.param(
            {"tz": "America/Los_Angeles", "last": utc(2026, 3, 1, 16)},
            utc(2026, 3, 2, 8),
            False,
            id="Los Angeles: not at 08:00 UTC",
        ),
        # US DST starts 2026-03-08: 08:00 PDT is 15:00 UTC.
        pytest.param(
            {"tz": "America/Los_Angeles", "last": utc(2026, 3, 7, 16)},
            utc(2026, 3, 8, 15),
            True,
            id="Los Angeles after DST: 15:00 UTC",
        ),
        pytest.param(
            {"tz": "America/Los_Angeles", "last": utc(2026, 3, 7, 16)},
            utc(2026, 3, 8, 14, 59),
            False,
            id="Los Angeles after DST: 14:59 UTC not yet",
        ),
        # 02:00 does not exist in Los Angeles on 2026-03-08: the slot is just after the jump.
        pytest.param(
            {"tz": "America/Los_Angeles", "hour": 2, "last": utc(2026, 3, 7, 10)},
            utc(2026, 3, 8, 10, 30),
            True,
            id="hour skipped by DST still sends",
        ),
        # 01:00 happens twice on 2026-11-01 in Los Angeles: one digest, at the first.
        pytest.param(
            {"tz": "America/Los_Angeles", "hour": 1, "last": utc(2026, 10, 31, 8)},
            utc(2026, 11, 1, 8),
            True,
            id="repeated hour: first occurrence",
        ),
        pytest.param(
            {"tz": "America/Los_Angeles", "hour": 1, "last": utc(2026, 11, 1, 8)},
            utc(2026, 11, 1, 9, 30),
            False,
            id="repeated hour: not again an hour later",
        ),
        pytest.param(
            {"mode": "weekly", "last": utc(2026, 2, 23, 8)},
            utc(2026, 3, 2, 8),
            True,
            id="weekly, Monday at the hour",
        ),
        pytest.param(
            {"mode": "weekly", "last": utc(2026, 3, 2, 8)},
            utc(2026, 3, 3, 8),
            False,
            id="weekly, Tuesday after Monday's digest",
        ),
        pytest.param(
            {"mode": "weekly", "last": utc(2026, 2, 23, 8)},
            utc(2026, 3, 4, 12),
            True,
            id="weekly, missed Monday, Wednesday sends once",
        ),
        pytest.param(
            {"mode": "weekly", "weekday": 4, "last": utc(2026, 2, 27, 8)},
            utc(2026, 3, 5, 12),
            False,
            id="weekly on Friday, Thursday is not it",
        ),
        pytest.param(
            {"mode": "weekly", "weekday": 4, "last": utc(2026, 2, 27, 8)},
            utc(2026, 3, 6, 8),
            True,
            id="weekly on Friday, Friday is",
        ),
        # Monday 08:00 in Shanghai is Monday 00:00 UTC; Sunday 23:00 UTC is Monday 07:00 there.
        pytest.param(
            {"mode": "weekly", "tz": "Asia/Shanghai", "last": utc(2026, 2, 23, 0)},
            utc(2026, 3, 2, 0, 0),
            True,
            id="weekly Shanghai, Sunday UTC is Monday local",
        ),
        pytest.param(
            {"mode": "weekly", "tz": "Asia/Shanghai", "last": utc(2026, 2, 23, 0)},
            utc(2026, 3, 1, 23),
            False,
            id="weekly Shanghai, an hour early",
        ),
        pytest.param(
            {"tz": "Mars/Olympus", "last": utc(2026, 3, 1, 8)},
            utc(2026, 3, 2, 8),
            True,
            id="unknown time zone counts as UTC",
        ),
    ],
)
def test_digest_due(kwargs: dict[str, object], now: datetime, expected: bool) -> None:
    assert due(now, **kwargs) is expected  # type: ignore[arg-type]  # table kwargs


def test_checked_every_minute_a_digest_goes_once_per_slot() -> None:
    start = utc(2026, 3, 2, 0, 0)
    last: datetime | None = utc(2026, 3, 1, 7)
    sent: list[datetime] = []
    for minute in range(48 * 60):
        moment = start + timedelta(minutes=minute)
        if due(moment, tz="Europe/Berlin", last=last):
            sent.append(moment)
            last = moment
    # 08:00 in Berlin (CET, UTC+1) on each of the two days.
    assert sent == [utc(2026, 3, 2, 7), utc(2026, 3, 3, 7)]


def test_slot_start_is_the_latest_local_hour_in_utc() -> None:
    start = slot_start(
        mode="daily",
        digest_hour=8,
        digest_weekday=0,
        timezone="Europe/Berlin",
        now=utc(2026, 7, 1, 12),
    )
    assert start == utc(2026, 7, 1, 6)  # CEST is UTC+2


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  Asia/Shanghai ", "Asia/Shanghai"),
        ("UTC", "UTC"),
        ("Mars/Olympus", None),
        ("../../etc/passwd", None),
        ("/etc/localtime", None),
        ("Europe", None),
        ("", None),
        ("localtime", None),
        ("Europe/Berlin\x00", None),
    ],
)
def test_canonical_timezone(typed: str, expected: str | None) -> None:
    assert canonical_timezone(typed) == expected
