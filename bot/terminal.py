"""Terminal mode's output (``sciforum run`` without a token): the console, and the lines a
pass prints — the new feeds' newest cards, when the next check is.

The selections and lines are pure functions over plain data taking ``now``; ``runner``
prints them. The console is built here so every command prints alike: unwrapped when
standard output is not a terminal (a pipe, a file, a log collector).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Cards shown for each feed seen for the first time: what its subscribers would get.
NEW_FEED_CARDS = 3
# Never sleep less than this between passes, so a broken clock can't spin the loop.
MIN_SLEEP = 1.0
# The width given to a console that is not a terminal: lines are never wrapped there.
UNWRAPPED_WIDTH = 100_000


def make_console(*, stderr: bool = False) -> Console:
    """A rich console; on a pipe or file it wraps nothing (rich would assume 80 columns)."""
    from rich.console import Console  # noqa: PLC0415

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
        console.soft_wrap = True
    return console


@dataclass(frozen=True, slots=True)
class Stored:
    """An article a pass stored, as the terminal needs it."""

    id: int
    feed_id: int
    source: str
    published: datetime | None
    first_seen: datetime


def newest_per_feed(
    stored: Iterable[Stored], *, limit: int = NEW_FEED_CARDS
) -> list[tuple[str, int, list[Stored]]]:
    """Per feed, in order of first appearance: (source, articles stored, the newest
    ``limit`` of them, newest first; undated ones by when they were seen)."""
    groups: dict[int, list[Stored]] = {}
    for item in stored:
        groups.setdefault(item.feed_id, []).append(item)
    result = []
    for items in groups.values():
        ordered = sorted(items, key=lambda a: (a.published or a.first_seen, a.id), reverse=True)
        result.append((items[0].source, len(items), ordered[:limit]))
    return result


def new_feed_heading(source: str, stored: int, shown: int) -> str:
    if stored == shown:
        return f"new feed {source}: {stored} articles stored; as subscribers would get them:"
    return (
        f"new feed {source}: {stored} articles stored (earlier ones are not announced); "
        f"the newest {shown}, as subscribers would get them:"
    )


def seconds_until_next_pass(due: datetime | None, *, now: datetime, interval: float) -> float:
    """How long to sleep: until the next feed is due, at most one interval, at least
    MIN_SLEEP."""
    wait = interval if due is None else (due - now).total_seconds()
    return min(max(wait, MIN_SLEEP), interval)


def next_check_line(now: datetime, seconds: float, tz: tzinfo) -> str:
    wake = (now + timedelta(seconds=seconds)).astimezone(tz)
    return f"next check at {wake:%H:%M}"


def local_zone(now: datetime) -> tzinfo:
    """The machine's time zone at ``now`` (what a person at the terminal reads)."""
    zone = now.astimezone().tzinfo
    assert zone is not None  # astimezone() without an argument always sets one
    return zone
