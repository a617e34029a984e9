"""Scheduling decisions for feed polling: when to check next, when to give up, in what
order a pass polls (pure; take ``now``).

Policy:

* The configured interval is a floor. The feed's own hints (RSS ``<ttl>``, Cache-Control
  ``max-age``, ``Retry-After``) may stretch it, never shorten it, and each hint is capped at
  ``max_interval`` so a bogus ``<ttl>`` of a year cannot silence a feed.
* After errors the interval doubles per consecutive error, up to ``max_interval``.
* A feed is disabled after ``max_errors`` consecutive errors, or at once on 410 Gone: the
  server says the feed is gone for good. 404 is *not* permanent: sites drop a feed for a
  while during redesigns, and backoff already makes a dead feed cheap to poll.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

DEFAULT_MAX_INTERVAL = 86400.0  # one day
_PERMANENT_STATUSES = frozenset({410})
# 2.0**n overflows a float past n=1023; any cap is reached long before 64 doublings.
_MAX_DOUBLINGS = 64


def check_delay(
    *,
    interval: float,
    ttl_seconds: int | None = None,
    max_age: int | None = None,
    retry_after: float | None = None,
    consecutive_errors: int = 0,
    max_interval: float = DEFAULT_MAX_INTERVAL,
) -> float:
    """Seconds until the next check (see the module docstring for the policy).

    A configured ``interval`` above ``max_interval`` is kept as is: the cap only limits what
    hints and backoff can add.
    """
    if not interval > 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    cap = max(max_interval, interval)
    delay = interval
    if consecutive_errors > 0:
        delay = min(interval * 2.0 ** min(consecutive_errors, _MAX_DOUBLINGS), cap)
    for hint in (ttl_seconds, max_age, retry_after):
        # `hint > 0` is also False for NaN, so garbage never shortens or poisons the delay.
        if hint is not None and hint > 0:
            delay = max(delay, min(float(hint), cap))
    return delay


def next_check(
    *,
    now: datetime,
    interval: float,
    ttl_seconds: int | None = None,
    max_age: int | None = None,
    retry_after: float | None = None,
    consecutive_errors: int = 0,
    max_interval: float = DEFAULT_MAX_INTERVAL,
) -> datetime:
    """When to check a feed next: ``now`` + ``check_delay(...)``."""
    return now + timedelta(
        seconds=check_delay(
            interval=interval,
            ttl_seconds=ttl_seconds,
            max_age=max_age,
            retry_after=retry_after,
            consecutive_errors=consecutive_errors,
            max_interval=max_interval,
        )
    )


def is_permanent_failure(status: int | None) -> bool:
    """True for statuses that mean "this URL is gone for good" (410 Gone)."""
    return status in _PERMANENT_STATUSES


def should_disable(
    consecutive_errors: int, *, max_errors: int, last_status: int | None = None
) -> bool:
    """Stop polling after ``max_errors`` errors in a row, or at once on a permanent failure."""
    return consecutive_errors >= max_errors or is_permanent_failure(last_status)


def host_turns(urls: Sequence[str]) -> list[int]:
    """The indexes of ``urls`` in polling order: hosts take turns (the first URL of each
    host, then the second of each, ...), each host's URLs keeping their order. A pass polls
    a bounded number of feeds at once, and the fetcher lets only a few of them at one host:
    a run of one host's feeds would leave the others waiting behind it."""
    by_host: dict[str, list[int]] = {}
    for index, url in enumerate(urls):
        by_host.setdefault(_host_of(url), []).append(index)
    if len(by_host) == 1:
        return list(range(len(urls)))
    return [i for turn in itertools.zip_longest(*by_host.values()) for i in turn if i is not None]


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed address: the fetcher refuses it, its host is no one's
        return ""
