"""Feed health: each feed's state as a plain row for ``sciforum feeds list``.

Read with SQLAlchemy's core on a plain sync connection (``db.engine.read_sync``): a look at
the feeds is a command people type, so it loads neither SQLModel nor the async stack. The
table here is a lightweight ``sa.table`` view of ``db.models.Feed``'s columns (a test checks
it against the model), and stored times, naive UTC, are made aware as
``db.models.UTCDateTime`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

_FEEDS = sa.table(
    "feeds",
    sa.column("id", sa.Integer),
    sa.column("url", sa.String),
    sa.column("title", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("catalogue", sa.Boolean),
    sa.column("topics", sa.JSON),
    sa.column("last_checked", sa.DateTime),
    sa.column("last_success", sa.DateTime),
    sa.column("next_check", sa.DateTime),
    sa.column("consecutive_errors", sa.Integer),
    sa.column("total_errors", sa.Integer),
    sa.column("last_error", sa.String),
    sa.column("disabled_reason", sa.String),
)
COLUMNS = frozenset(column.name for column in _FEEDS.columns)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: int
    url: str
    title: str | None
    enabled: bool
    catalogue: bool  # False: only chats follow it (/sub)
    topics: tuple[str, ...]
    last_checked: datetime | None
    last_success: datetime | None
    next_check: datetime | None
    consecutive_errors: int
    total_errors: int
    last_error: str | None
    disabled_reason: str | None


def read_feed_health(connection: sa.Connection) -> list[FeedHealth]:
    """Every feed, by id."""
    rows = connection.execute(sa.select(_FEEDS).order_by(_FEEDS.c.id)).mappings()
    return [
        FeedHealth(
            id=row["id"],
            url=row["url"],
            title=row["title"],
            enabled=bool(row["enabled"]),
            catalogue=bool(row["catalogue"]),
            topics=tuple(row["topics"] or ()),
            last_checked=_aware(row["last_checked"]),
            last_success=_aware(row["last_success"]),
            next_check=_aware(row["next_check"]),
            consecutive_errors=row["consecutive_errors"],
            total_errors=row["total_errors"],
            last_error=row["last_error"],
            disabled_reason=row["disabled_reason"],
        )
        for row in rows
    ]


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)
