"""Per-user limits (bot.throttle): the token buckets, table-driven over a clock passed in."""

from __future__ import annotations

import pytest

from bot.throttle import Decision, Rate, ThrottleLimits, TokenBuckets

ALLOW = Decision(allowed=True)
WARN = Decision(allowed=False, warn=True)
QUIET = Decision(allowed=False, warn=False)


@pytest.mark.parametrize(
    ("rate", "requests", "expected"),
    [
        pytest.param(
            Rate(burst=3, per_second=1.0),
            [0.0, 0.0, 0.0],
            [ALLOW, ALLOW, ALLOW],
            id="a full bucket takes a burst",
        ),
        pytest.param(
            Rate(burst=3, per_second=1.0),
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [ALLOW, ALLOW, ALLOW, WARN, QUIET, QUIET],
            id="past the burst: told once, then quietly refused",
        ),
        pytest.param(
            Rate(burst=2, per_second=0.5),
            [0.0, 0.0, 0.0, 1.0, 2.0, 2.0],
            [ALLOW, ALLOW, WARN, QUIET, ALLOW, WARN],
            id="a token back after 1/rate seconds; told again after that",
        ),
        pytest.param(
            Rate(burst=2, per_second=1.0),
            [0.0, 0.0, 100.0, 100.0, 100.0],
            [ALLOW, ALLOW, ALLOW, ALLOW, WARN],
            id="an idle bucket refills to its burst, no more",
        ),
        pytest.param(
            Rate(burst=1, per_second=1.0),
            [5.0, 4.0, 4.5],
            [ALLOW, WARN, QUIET],
            id="a clock going backwards refills nothing",
        ),
    ],
)
def test_a_bucket_allows_its_burst_then_its_rate_and_says_slow_down_once(
    rate: Rate, requests: list[float], expected: list[Decision]
) -> None:
    buckets = TokenBuckets(rate)
    assert [buckets.take("user", at) for at in requests] == expected


def test_each_key_has_its_own_bucket() -> None:
    buckets = TokenBuckets(Rate(burst=1, per_second=0.1))
    assert buckets.take(1, 0.0) == ALLOW
    assert buckets.take(1, 0.0) == WARN
    assert buckets.take(2, 0.0) == ALLOW  # another user is not held back


def test_full_buckets_are_forgotten_once_there_are_many() -> None:
    buckets = TokenBuckets(Rate(burst=1, per_second=1.0), max_keys=10)
    for key in range(10):
        buckets.take(key, 0.0)
    buckets.take("busy", 5.0)  # every earlier bucket is full again by now
    assert len(buckets) == 1
    for key in range(20):
        buckets.take(key, 5.0)  # all empty: none can be forgotten, none is refused
    assert len(buckets) == 21


def test_fifty_commands_in_a_burst_get_four_answers_and_one_slow_down() -> None:
    buckets = TokenBuckets(ThrottleLimits().commands)
    decisions = [buckets.take("user", 0.01 * n) for n in range(50)]
    assert sum(d.allowed for d in decisions) == 4
    assert sum(d.warn for d in decisions) == 1
