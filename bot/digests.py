"""Digest timing: whether a daily or weekly digest is due for a chat, as a pure decision.

A chat's digest has a slot: its local hour (every day, or on its weekday for weekly
digests). A digest is due once the current slot has started and none was sent since;
slots are computed in the chat's own time zone with zoneinfo, so they follow DST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

# Routing and handlers read stored zone names through here; the parsing lives in one place.
from bot.timezones import canonical_timezone, zone

__all__ = ["DIGEST_MODES", "MODES", "canonical_timezone", "digest_due", "slot_start", "zone"]

MODES = ("instant", "daily", "weekly")
DIGEST_MODES = ("daily", "weekly")


def digest_due(
    *,
    mode: str,
    digest_hour: int,
    digest_weekday: int,
    timezone: str,
    last_digest_at: datetime | None,
    now: datetime,
) -> bool:
    """True when the chat's latest digest slot has started and no digest was sent in it.

    A slot missed while the process was down is still due (once) when it comes back,
    until the next slot starts. Instant-mode chats never have a digest due. An unknown
    time zone counts as UTC rather than stopping a chat's digests.
    """
    if mode not in DIGEST_MODES:
        return False
    start = slot_start(
        mode=mode,
        digest_hour=digest_hour,
        digest_weekday=digest_weekday,
        timezone=timezone,
        now=now,
    )
    return last_digest_at is None or last_digest_at < start


def slot_start(
    *, mode: str, digest_hour: int, digest_weekday: int, timezone: str, now: datetime
) -> datetime:
    """The start (aware UTC) of the latest digest slot at or before ``now``."""
    tz = zone(timezone)
    hour = min(max(digest_hour, 0), 23)
    local_today = now.astimezone(tz).date()
    step = 7 if mode == "weekly" else 1
    if mode == "weekly":
        back = (local_today.weekday() - min(max(digest_weekday, 0), 6)) % 7
        day = local_today - timedelta(days=back)
    else:
        day = local_today
    start = _local_start(day, hour, tz)
    if start > now:
        start = _local_start(day - timedelta(days=step), hour, tz)
    return start


def _local_start(day: date, hour: int, tz: tzinfo) -> datetime:
    # fold=0: an hour skipped by a DST jump maps to the instant just after the jump, and
    # an hour that happens twice starts at its first occurrence.
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
