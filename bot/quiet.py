"""Quiet hours: when a chat's messages arrive without a sound (``disable_notification``).

Pure. A chat can be silent all the time, or between two local hours (``/quiet 22-7``: from
22:00 until 07:00, across midnight); digests are always silent, since nobody needs to be
woken for a summary they chose to read later.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Literal

__all__ = ["QuietHours", "is_quiet_hour", "parse_quiet_hours", "rings"]

QuietHours = tuple[int, int]  # (first quiet hour, first hour with sound), local

# "22-7", "22:00-07:00", "22 – 7", "22h-7h".
_RANGE = re.compile(
    r"(?P<start>[0-9]{1,2})(?::00)?\s*h?\s*(?:-|–|—|to|~)\s*(?P<end>[0-9]{1,2})(?::00)?\s*h?"
)
_OFF = frozenset({"off", "none", "no", "0"})


def parse_quiet_hours(text: str) -> QuietHours | Literal["off"] | None:
    """(start, end) hours for "22-7", "off" to turn quiet hours off, None if unreadable
    (hours outside 0–23, or an empty range like "8-8")."""
    cleaned = text.strip().casefold()
    if cleaned in _OFF:
        return "off"
    match = _RANGE.fullmatch(cleaned)
    if match is None:
        return None
    start, end = int(match["start"]), int(match["end"])
    if start > 23 or end > 24 or start == end % 24:
        return None
    return start, end % 24


def is_quiet_hour(hour: int, quiet: QuietHours) -> bool:
    start, end = quiet
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # across midnight


def rings(
    kind: str,
    *,
    silent: bool,
    quiet: QuietHours | None,
    now: datetime,
    tz: tzinfo,
) -> bool:
    """Whether a message of ``kind`` (article, digest, broadcast, notice) sent ``now``
    should make a sound in a chat with these settings."""
    if kind == "digest" or silent:
        return False
    return quiet is None or not is_quiet_hour(now.astimezone(tz).hour, quiet)
