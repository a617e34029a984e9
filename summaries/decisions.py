"""Feed decisions: what one poll of a feed means for the feed (pure; takes ``now``).

``decide(state, outcome, seen=..., now=..., policy=...)`` is the whole rule book for a poll:
given the feed's stored state (a plain record), what the poll brought back and what storage
already knows about the poll's entries, it returns a ``FeedIntent``: the feed's new URL,
validators, next check, error count, whether to disable it and why, and which entries are
new articles and which are entries of articles already stored. The ingest shell fetches,
parses and looks things up, then applies the intent; it decides nothing.

Outcomes:

* ``NotModified`` (304): the feed is healthy; the validators we sent stay current unless
  the server sent new ones.
* ``Fetched`` (200 with a parsed feed, possibly after a 301/308 chain: ``moved_to``): the
  feed is healthy; its entries are sorted into new ones and ones already stored.
* ``Failed``: one ``ErrorKind`` (network, timeout, client 4xx, server 5xx/429, gone 410,
  parse: not a usable feed, storage: the database refused what the feed brought). Each
  counts one consecutive error and doubles the wait (``schedule.check_delay``, Retry-After
  honoured); 410 Gone disables the feed at once, any kind disables it after
  ``Policy.max_errors`` in a row.

An interrupted poll (the process stopping, a worker pool shut down) or a bug is *not* an
outcome: the shell does not call ``decide`` for it, so it never costs a feed anything.

Entry churn: a feed whose entries change guid at every poll (a timestamp in the id, a
tracking parameter) would otherwise be summarised, page-fetched and stored again at every
poll. An entry with an unknown guid whose canonical URL is already stored, or whose content
hash (``entry_fingerprint``) this feed already carried, is a ``Relink`` to that article: the
shell points the feed's source row at the new guid, and fetches and stores nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from summaries import schedule
from summaries.errors import FetchError, PrivateAddressError
from summaries.feeds import ParsedEntry, ParsedFeed
from summaries.text import content_fingerprint

ErrorKind = Literal["network", "timeout", "client", "server", "gone", "parse", "storage"]
_MESSAGE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Policy:
    interval: float  # seconds between checks (POLL_INTERVAL): the floor
    max_errors: int  # consecutive errors that disable a feed (MAX_FEED_ERRORS)
    max_interval: float = schedule.DEFAULT_MAX_INTERVAL


@dataclass(frozen=True, slots=True)
class FeedState:
    """What a decision needs of a stored feed."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    ttl_seconds: int | None = None
    consecutive_errors: int = 0
    polled_before: bool = False  # a first successful poll stores the backlog, unannounced
    title: str | None = None
    site_url: str | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    etag: str | None = None
    last_modified: str | None = None
    max_age: int | None = None
    moved_to: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    feed: ParsedFeed
    etag: str | None = None
    last_modified: str | None = None
    max_age: int | None = None
    moved_to: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    kind: ErrorKind
    message: str
    status: int | None = None
    retry_after: float | None = None


Outcome = NotModified | Fetched | Failed


@dataclass(frozen=True, slots=True)
class Seen:
    """What storage already knows about a poll: looked up by the shell before deciding."""

    guids: frozenset[str] = frozenset()  # the feed's stored guids among the poll's entries
    hashes: Mapping[str, int] = field(default_factory=dict)  # the feed's entry hash -> article
    urls: Mapping[str, int] = field(default_factory=dict)  # stored articles' URLs -> article
    moved_onto: int | None = None  # another feed already stored under ``moved_to``


@dataclass(frozen=True, slots=True)
class Relink:
    """An entry with a new guid for an article already stored (same URL or same content)."""

    entry: ParsedEntry
    article_id: int
    reason: Literal["url", "content"]


@dataclass(frozen=True, slots=True)
class FeedIntent:
    """The feed's state after the poll, and what to store."""

    last_checked: datetime
    next_check: datetime
    consecutive_errors: int
    counts_error: bool  # add one to the feed's total errors
    last_error: str | None
    succeeded: bool  # the poll reached a usable feed: last_success = now
    etag: str | None
    last_modified: str | None
    ttl_seconds: int | None
    title: str | None
    site_url: str | None
    url: str | None = None  # the feed moved permanently here
    disable: str | None = None  # stop polling, for this reason
    new_entries: tuple[ParsedEntry, ...] = ()
    relinks: tuple[Relink, ...] = ()
    announce: bool = True  # False for a new feed's backlog
    notes: tuple[str, ...] = ()  # what happened, one line each, for the log


def entry_fingerprint(entry: ParsedEntry) -> str:
    """The content hash of an entry as the feed carries it (title and feed text)."""
    return content_fingerprint(f"{entry.title}\n{entry.text}")


def failure_of(error: FetchError) -> Failed:
    """The outcome of a fetch that raised ``error``."""
    status = error.status
    message = str(error)
    kind: ErrorKind
    if status == 410:
        kind = "gone"
    elif status is not None and (status == 429 or status >= 500):
        kind = "server"
    elif (
        (status is not None and 400 <= status < 500)
        or isinstance(error, PrivateAddressError)
        or message.startswith(("invalid URL", "unsupported URL scheme"))
    ):
        kind = "client"
    elif "timed out" in message:
        kind = "timeout"
    else:
        kind = "network"
    return Failed(kind, message, status=status, retry_after=error.retry_after)


def decide(
    state: FeedState,
    outcome: Outcome,
    *,
    now: datetime,
    policy: Policy,
    seen: Seen | None = None,
) -> FeedIntent:
    """The intent for one poll of a feed (see the module docstring for the rules)."""
    if isinstance(outcome, Failed):
        return _failed(state, outcome, now=now, policy=policy)
    seen = seen or Seen()
    notes: list[str] = []
    url: str | None = None
    disable: str | None = None
    if outcome.moved_to and outcome.moved_to != state.url:
        if seen.moved_onto is not None:
            # Both URLs now serve one feed: the one stored under the new URL carries it.
            disable = (
                f"moved permanently to {outcome.moved_to}, already stored as feed {seen.moved_onto}"
            )
        else:
            url = outcome.moved_to
            notes.append(f"moved permanently to {outcome.moved_to}")
    if isinstance(outcome, NotModified):
        ttl, title, site_url = state.ttl_seconds, state.title, state.site_url
        new: tuple[ParsedEntry, ...] = ()
        relinks: tuple[Relink, ...] = ()
    else:
        parsed = outcome.feed
        ttl = parsed.ttl_seconds
        title = parsed.title or state.title
        site_url = parsed.site_url or state.site_url
        new, relinks = _sort_entries(parsed, seen) if disable is None else ((), ())
    if disable is not None:
        notes.append(f"disabled: {disable}")
    return FeedIntent(
        last_checked=now,
        next_check=schedule.next_check(
            now=now,
            interval=policy.interval,
            ttl_seconds=ttl,
            max_age=outcome.max_age,
            max_interval=policy.max_interval,
        ),
        consecutive_errors=0,
        counts_error=False,
        last_error=None,
        succeeded=True,
        # A 200 without validators keeps the old ones: sending them costs nothing, and the
        # server's next 304 (or 200) settles it.
        etag=outcome.etag or state.etag,
        last_modified=outcome.last_modified or state.last_modified,
        ttl_seconds=ttl,
        title=title,
        site_url=site_url,
        url=url,
        disable=disable,
        new_entries=new,
        relinks=relinks,
        announce=state.polled_before,
        notes=tuple(notes),
    )


def _failed(state: FeedState, outcome: Failed, *, now: datetime, policy: Policy) -> FeedIntent:
    errors = max(state.consecutive_errors, 0) + 1
    message = outcome.message[:_MESSAGE_CHARS]
    disable: str | None = None
    if outcome.kind == "gone" or schedule.is_permanent_failure(outcome.status):
        disable = f"gone for good: {message}"
    elif schedule.should_disable(errors, max_errors=policy.max_errors):
        disable = f"disabled after {errors} consecutive errors; last: {message}"
    return FeedIntent(
        last_checked=now,
        next_check=schedule.next_check(
            now=now,
            interval=policy.interval,
            ttl_seconds=state.ttl_seconds,
            retry_after=outcome.retry_after,
            consecutive_errors=errors,
            max_interval=policy.max_interval,
        ),
        consecutive_errors=errors,
        counts_error=True,
        last_error=message,
        succeeded=False,
        etag=state.etag,
        last_modified=state.last_modified,
        ttl_seconds=state.ttl_seconds,
        title=state.title,
        site_url=state.site_url,
        disable=disable[:_MESSAGE_CHARS] if disable else None,
        notes=(f"failed ({outcome.kind}): {message}",)
        + ((f"disabled: {disable}",) if disable else ()),
    )


def _sort_entries(
    parsed: ParsedFeed, seen: Seen
) -> tuple[tuple[ParsedEntry, ...], tuple[Relink, ...]]:
    new: list[ParsedEntry] = []
    relinks: list[Relink] = []
    guids: set[str] = set()
    for entry in parsed.entries:
        if entry.guid in seen.guids or entry.guid in guids:
            continue
        guids.add(entry.guid)
        by_url = seen.urls.get(entry.url) if entry.url else None
        if by_url is not None:
            relinks.append(Relink(entry, by_url, "url"))
            continue
        by_content = seen.hashes.get(entry_fingerprint(entry))
        if by_content is not None:
            relinks.append(Relink(entry, by_content, "content"))
            continue
        new.append(entry)
    return tuple(new), tuple(relinks)
