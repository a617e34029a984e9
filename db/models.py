"""SQLModel tables: feeds, articles, and which feeds carried each article.

Times are stored as naive UTC (SQLite has no time zones) and always handed out as
aware UTC datetimes by ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _utc_column(*, index: bool = False, nullable: bool = True) -> Any:
    return sa.Column(UTCDateTime(), index=index, nullable=nullable)


class Feed(SQLModel, table=True):
    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=sa.Column(sa.String(2048), unique=True, nullable=False))
    title: str | None = Field(default=None, sa_type=sa.String(500))
    site_url: str | None = Field(default=None, sa_type=sa.String(2048))
    etag: str | None = Field(default=None, sa_type=sa.String(500))
    last_modified: str | None = Field(default=None, sa_type=sa.String(100))
    ttl_seconds: int | None = None
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    last_checked: datetime | None = Field(default=None, sa_column=_utc_column())
    last_success: datetime | None = Field(default=None, sa_column=_utc_column())
    next_check: datetime | None = Field(default=None, sa_column=_utc_column(index=True))
    consecutive_errors: int = 0
    total_errors: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.String(1000))
    enabled: bool = Field(default=True, index=True)
    disabled_reason: str | None = Field(default=None, sa_type=sa.String(1000))


class Article(SQLModel, table=True):
    __tablename__ = "articles"

    id: int | None = Field(default=None, primary_key=True)
    # Canonical URL: NULL allowed (entries without links); unique otherwise.
    url: str | None = Field(default=None, sa_column=sa.Column(sa.String(2048), unique=True))
    title: str = Field(sa_type=sa.String(1000))
    author: str | None = Field(default=None, sa_type=sa.String(500))
    published: datetime = Field(sa_column=_utc_column(index=True, nullable=False))
    first_seen: datetime = Field(sa_column=_utc_column(index=True, nullable=False))
    language: str | None = Field(default=None, sa_type=sa.String(16))
    text: str = Field(sa_type=sa.Text)
    text_source: str = Field(default="feed", sa_type=sa.String(16))  # "feed" or "page"
    content_hash: str = Field(sa_type=sa.String(64), index=True)
    # Signed 64-bit simhash of the text, for near-duplicate detection.
    simhash: int | None = Field(default=None, sa_type=sa.BigInteger)
    # False for a new feed's backlog: stored, never pushed to subscribers.
    announce: bool = Field(default=True)
    # What the summaries stage adds.
    summary: list[str] | None = Field(default=None, sa_type=sa.JSON)
    topics: list[str] | None = Field(default=None, sa_type=sa.JSON)  # slugs, best first
    topic_scores: dict[str, float] | None = Field(default=None, sa_type=sa.JSON)
    event: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    is_event: bool = Field(default=False, index=True)
    event_start: date | None = Field(default=None, index=True)
    event_end: date | None = None
    summarized_at: datetime | None = Field(default=None, sa_column=_utc_column())
    summary_error: str | None = Field(default=None, sa_type=sa.String(1000))


class ArticleSource(SQLModel, table=True):
    """One feed's entry that became (or duplicated) an article."""

    __tablename__ = "article_sources"
    __table_args__ = (sa.UniqueConstraint("feed_id", "guid", name="uq_article_sources_feed_guid"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    feed_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    guid: str = Field(sa_type=sa.String(2048))
    seen_at: datetime = Field(sa_column=_utc_column(nullable=False))
