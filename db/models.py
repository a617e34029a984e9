"""SQLModel tables: feeds, articles and which feeds carried each article; chats, their
subscriptions, own feeds, searches and routed articles; broadcasts and the outbox; the
running processes' heartbeats.

Times are stored as naive UTC (SQLite has no time zones) and always handed out as
aware UTC datetimes by ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
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
    # Topic slugs an admin gave the feed: a prior for the tagger, never a label on their own.
    topics: list[str] | None = Field(default=None, sa_type=sa.JSON)
    # False for a feed only chats follow (/sub): it is polled for them alone, and its
    # articles reach no other chat by topic.
    catalogue: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # The ingest worker polling the feed now, and until when its claim holds (db.leases):
    # past it, a worker that died is presumed gone and the feed is claimed by another.
    lease_owner: str | None = Field(default=None, sa_type=sa.String(100))
    lease_until: datetime | None = Field(default=None, sa_column=_utc_column())


class Article(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (
        # Only the few articles not routed yet are indexed: routing finds them at once.
        sa.Index(
            "ix_articles_unrouted",
            "id",
            sqlite_where=sa.text("routed_at IS NULL"),
            postgresql_where=sa.text("routed_at IS NULL"),
        ),
    )

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
    # When routing matched the article to the chats (NULL: stored, not routed yet). Set in
    # the transaction that writes its matches, so a crash between storing and routing
    # leaves it NULL and the next routing run takes it.
    routed_at: datetime | None = Field(default=None, sa_column=_utc_column())


class ArticleSource(SQLModel, table=True):
    """One feed's entry that became (or duplicated) an article."""

    __tablename__ = "article_sources"
    __table_args__ = (
        sa.UniqueConstraint("feed_id", "guid", name="uq_article_sources_feed_guid"),
        sa.Index("ix_article_sources_feed_entry_hash", "feed_id", "entry_hash"),
    )

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
    # The entry's content hash as this feed carried it (summaries.decisions.entry_fingerprint):
    # an entry that comes back under a new guid is recognised by it.
    entry_hash: str | None = Field(default=None, sa_type=sa.String(64))


def _chat_fk(*, primary_key: bool = False) -> Any:
    return sa.Column(
        sa.BigInteger,
        sa.ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
    )


class NextSlot(sa.sql.expression.FunctionElement[int]):
    """A new chat's slot, computed by the INSERT itself: the next value of the
    ``chat_slots`` sequence on PostgreSQL (never reused), the highest slot + 1 on SQLite
    (one writer; the slot of the newest chat, deleted, may be taken again: readers of
    routes also require the chat to be no newer than the route)."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(NextSlot)
def _next_slot_sqlite(element: NextSlot, compiler: SQLCompiler, **kw: Any) -> str:
    return "(SELECT coalesce(max(slot), 0) + 1 FROM chats)"


@compiles(NextSlot, "postgresql")
def _next_slot_postgresql(element: NextSlot, compiler: SQLCompiler, **kw: Any) -> str:
    return "nextval('chat_slots')"


class Chat(SQLModel, table=True):
    """A Telegram chat the bot serves (private, group, supergroup or channel) and its settings."""

    __tablename__ = "chats"
    # New slots are read back when used, not with RETURNING: so the ORM inserts new chats
    # one statement a row, and on SQLite each row's highest slot + 1 sees the row before.
    __mapper_args__ = {"eager_defaults": False}
    __table_args__ = (sa.Index("uq_chats_slot", "slot", unique=True),)

    id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(sa_type=sa.String(16))
    title: str | None = Field(default=None, sa_type=sa.String(300))
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    active: bool = Field(default=True, index=True)
    deactivated_reason: str | None = Field(default=None, sa_type=sa.String(300))
    # Delivery settings.
    mode: str = Field(default="instant", sa_type=sa.String(8))  # instant | daily | weekly
    digest_hour: int = 8  # local hour
    digest_weekday: int = 0  # Monday, for weekly digests
    timezone: str = Field(default="UTC", sa_type=sa.String(64))
    summary_sentences: int = 2
    forums_only: bool = False
    paused: bool = False
    thread_id: int | None = None  # forum topic (message_thread_id) the chat subscribed from
    last_digest_at: datetime | None = Field(default=None, sa_column=_utc_column())
    # Notifications: every message without a sound, or only between two local hours
    # (quiet_start until quiet_end, across midnight when start > end; both or neither set).
    silent: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    quiet_start: int | None = None
    quiet_end: int | None = None
    # Interface language, "en" or "zh"; NULL until the chat is first spoken to (then the
    # sender's Telegram language), changed with /language.
    language: str | None = Field(default=None, sa_type=sa.String(8))
    # A small dense number of its own, the chat's bit in routes' bitmaps (bot.routing): set
    # by the INSERT (NextSlot), kept when the chat is renamed (a group's migration).
    slot: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, default=NextSlot(), nullable=False),
    )
    # The id of the last route its previous digest covered: routes after it holding the
    # chat's slot in their digest bitmap are its pending digest matches.
    digest_cursor: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    # Left digest mode with matches maybe pending: they go out once as a catch-up digest.
    catch_up: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ChatTopic(SQLModel, table=True):
    __tablename__ = "chat_topics"

    chat_id: int = Field(sa_column=_chat_fk(primary_key=True))
    slug: str = Field(sa_column=sa.Column(sa.String(40), primary_key=True))


class ChatRule(SQLModel, table=True):
    """A keyword rule (summaries.rules.parse_rule syntax), stored in canonical form."""

    __tablename__ = "chat_rules"
    __table_args__ = (sa.UniqueConstraint("chat_id", "query", name="uq_chat_rules_chat_query"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=_chat_fk())
    query: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))


class ChatFeed(SQLModel, table=True):
    """A feed a chat follows itself (/sub), with an optional topic filter (slugs; None:
    every article of the feed)."""

    __tablename__ = "chat_feeds"
    __table_args__ = (sa.UniqueConstraint("chat_id", "feed_id", name="uq_chat_feeds_chat_feed"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=_chat_fk())
    feed_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    topics: list[str] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))


class ChatSearch(SQLModel, table=True):
    """A /search a chat made, so its result list can be paged by a short id in a button."""

    __tablename__ = "chat_searches"
    __table_args__ = (sa.UniqueConstraint("chat_id", "query", name="uq_chat_searches_chat_query"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=_chat_fk())
    query: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))


class Route(SQLModel, table=True):
    """One routed article: the slots (``Chat.slot``) of the chats it matched, as serialized
    Roaring bitmaps (pyroaring), instant-mode chats and digest-mode chats apart (NULL: none).
    Its id orders routes for digests (``Chat.digest_cursor``); ``fanned`` counts the instant
    slots, in slot order, that already have their delivery row (bot.routing.fan_out)."""

    __tablename__ = "routes"
    __table_args__ = (
        # Only routes with instant slots left are indexed: fan-out finds them at once.
        sa.Index(
            "ix_routes_unfanned",
            "id",
            sqlite_where=sa.text("fanned < instant_count"),
            postgresql_where=sa.text("fanned < instant_count"),
        ),
        # Ids are digest cursors: never reused, even after the newest route is pruned.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    created_at: datetime = Field(sa_column=_utc_column(index=True, nullable=False))
    instant: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    instant_count: int = 0
    digest: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    fanned: int = 0


class Broadcast(SQLModel, table=True):
    """An admin's message to every active chat; its progress is counted from its deliveries."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int = Field(sa_type=sa.BigInteger)
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    status: str = Field(
        default="draft", sa_type=sa.String(16), index=True
    )  # draft|sending|done|cancelled
    progress_chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    progress_message_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column())


class Delivery(SQLModel, table=True):
    """The outbox: one message to send. Marked sent only after Telegram confirms."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=_chat_fk())
    kind: str = Field(sa_type=sa.String(16))  # article | digest | broadcast | notice
    article_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("articles.id", ondelete="SET NULL")),
    )
    broadcast_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
        ),
    )
    text: str = Field(sa_type=sa.Text)  # rendered HTML, final
    disable_preview: bool = False
    thread_id: int | None = None
    status: str = Field(
        default="pending", sa_type=sa.String(16)
    )  # pending|sent|failed|blocked|cancelled
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_utc_column(nullable=False))
    last_error: str | None = Field(default=None, sa_type=sa.String(500))
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column())
    message_id: int | None = Field(default=None, sa_type=sa.BigInteger)


class Heartbeat(SQLModel, table=True):
    """What a running process last said about itself (``db.heartbeat`` writes and reads it):
    one row per host and role, overwritten by each beat, read by ``sciforum health``."""

    __tablename__ = "heartbeats"

    host: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    role: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    pid: int
    started_at: datetime = Field(sa_column=_utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=_utc_column(nullable=False))
    # The last ingest pass: when it ran and what it came to.
    pass_started_at: datetime | None = Field(default=None, sa_column=_utc_column())
    pass_finished_at: datetime | None = Field(default=None, sa_column=_utc_column())
    pass_checked: int | None = None
    pass_not_modified: int | None = None
    pass_failed: int | None = None
    pass_new: int | None = None
    pass_routed: int | None = None
    pass_errors: int | None = None  # database failures and bugs (feeds not charged)
    # The outbox: its last confirmed send (kept across restarts) and its pending rows.
    last_sent_at: datetime | None = Field(default=None, sa_column=_utc_column())
    outbox_depth: int | None = None


def fit_to_columns(
    table: str, values: dict[str, Any], *, whole: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``values`` with every string cut to its column's width, so a long title fails on no
    database (PostgreSQL refuses it, SQLite would store it). A column named in ``whole``
    takes its value whole or not at all (None): a cut ETag or URL would be a wrong one.
    """
    columns = SQLModel.metadata.tables[table].c
    fitted: dict[str, Any] = {}
    for name, value in values.items():
        width = getattr(columns[name].type, "length", None) if name in columns else None
        if isinstance(value, str) and width is not None and len(value) > width:
            fitted[name] = None if name in whole else value[: width - 1] + "…"
        else:
            fitted[name] = value
    return fitted
