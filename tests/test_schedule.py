"""Tests for summaries.schedule: pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from summaries.schedule import (
    check_delay,
    host_turns,
    is_permanent_failure,
    next_check,
    should_disable,
)

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
HOUR = 3600.0
DAY = 86400.0


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("plain interval", {}, HOUR),
        ("shorter ttl never shortens", {"ttl_seconds": 600}, HOUR),
        ("longer ttl stretches", {"ttl_seconds": 2 * 3600}, 2 * HOUR),
        ("longer max-age stretches", {"max_age": 3 * 3600}, 3 * HOUR),
        ("retry-after stretches", {"retry_after": 5400.0}, 5400.0),
        (
            "largest hint wins",
            {"ttl_seconds": 7200, "max_age": 10800, "retry_after": 9000.0},
            3 * HOUR,
        ),
        ("bogus year-long ttl capped", {"ttl_seconds": 365 * 86400}, DAY),
        ("huge retry-after capped", {"retry_after": 1e12}, DAY),
        (
            "zero and negative hints ignored",
            {"ttl_seconds": 0, "max_age": -5, "retry_after": -1.0},
            HOUR,
        ),
        ("nan hint ignored", {"retry_after": float("nan")}, HOUR),
        ("infinite hint capped", {"retry_after": float("inf")}, DAY),
        ("one error doubles", {"consecutive_errors": 1}, 2 * HOUR),
        ("three errors: x8", {"consecutive_errors": 3}, 8 * HOUR),
        ("backoff capped", {"consecutive_errors": 10}, DAY),
        ("absurd error count capped without overflow", {"consecutive_errors": 10_000}, DAY),
        ("negative errors treated as none", {"consecutive_errors": -2}, HOUR),
        (
            "hint beats smaller backoff",
            {"consecutive_errors": 1, "retry_after": 4 * HOUR},
            4 * HOUR,
        ),
        ("backoff beats smaller hint", {"consecutive_errors": 2, "ttl_seconds": 7200}, 4 * HOUR),
        ("custom cap", {"consecutive_errors": 5, "max_interval": 6 * HOUR}, 6 * HOUR),
        ("hint capped by custom cap", {"ttl_seconds": 86400, "max_interval": 6 * HOUR}, 6 * HOUR),
    ],
)
def test_check_delay(case: str, kwargs: dict[str, float], expected: float) -> None:
    assert check_delay(interval=HOUR, **kwargs) == expected, case  # type: ignore[arg-type]  # table rows mix hint types


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("interval above the cap is kept", {}, 2 * DAY),
        (
            "hints cannot push past a long interval's own length",
            {"ttl_seconds": 10 * 86400},
            2 * DAY,
        ),
        ("no backoff beyond a long interval", {"consecutive_errors": 3}, 2 * DAY),
    ],
)
def test_configured_interval_longer_than_cap(
    case: str, kwargs: dict[str, int], expected: float
) -> None:
    assert check_delay(interval=2 * DAY, **kwargs) == expected, case  # type: ignore[arg-type]  # table rows mix hint types


@pytest.mark.parametrize("interval", [0.0, -60.0, float("nan")])
def test_non_positive_interval_is_a_bug(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        check_delay(interval=interval)


def test_next_check_adds_the_delay_to_now() -> None:
    assert next_check(now=NOW, interval=HOUR, consecutive_errors=2) == NOW + timedelta(hours=4)


@pytest.mark.parametrize(
    ("errors", "max_errors", "last_status", "expected"),
    [
        (0, 10, None, False),
        (9, 10, 500, False),
        (10, 10, 500, True),
        (11, 10, None, True),
        (1, 10, 404, False),  # 404 may be a redesign in progress: backoff, do not give up
        (1, 10, 410, True),  # 410 Gone: the server says it is gone for good
        (0, 10, 410, True),
    ],
)
def test_should_disable(
    errors: int, max_errors: int, last_status: int | None, expected: bool
) -> None:
    assert should_disable(errors, max_errors=max_errors, last_status=last_status) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (410, True),
        (404, False),
        (403, False),
        (500, False),
        (503, False),
        (200, False),
        (None, False),
    ],
)
def test_is_permanent_failure(status: int | None, expected: bool) -> None:
    assert is_permanent_failure(status) is expected


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        ([], []),
        (["http://a/1", "http://a/2", "http://a/3"], [0, 1, 2]),
        (["http://a/1", "http://a/2", "http://b/1", "http://a/3"], [0, 2, 1, 3]),
        (["http://A/1", "http://a:80/2", "http://b/1"], [0, 2, 1]),
        (["http://[::1/x", "http://a/1", "ftp://"], [0, 1, 2]),
    ],
    ids=["nothing", "one host keeps its order", "hosts take turns", "hosts case-blind", "bad URLs"],
)
def test_host_turns(urls: list[str], expected: list[int]) -> None:
    assert host_turns(urls) == expected
