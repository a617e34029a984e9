"""Statistics for the admin views: counts of chats, subscriptions, articles, deliveries and
feed health, each one GROUP BY (or conditional-sum) query that runs on SQLite and PostgreSQL.

Calendar boundaries are UTC: "today" starts at 00:00 UTC, "this week" on Monday 00:00 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import routes
from db.models import Article, ArticleSource, Chat, ChatRule, ChatTopic, Delivery, Feed

# Delivery states worth counting for the whole table (sent ones are counted for today only).
_OPEN_OR_FAILED = ("pending", "failed", "blocked")


@dataclass(frozen=True, slots=True)
class ChatCounts:
    active: dict[str, int]  # chat type -> active chats
    inactive: dict[str, int]  # chat type -> deactivated chats

    @property
    def total_active(self) -> int:
        return sum(self.active.values())

    @property
    def total_inactive(self) -> int:
        return sum(self.inactive.values())


@dataclass(frozen=True, slots=True)
class ArticleCounts:
    today: int
    week: int
    forums_week: int


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    sent_today: int
    pending: int
    failed: int
    blocked: int


@dataclass(frozen=True, slots=True)
class FeedHealthCounts:
    ok: int  # enabled, last check fine (or not checked yet)
    failing: int  # enabled, at least one error in a row
    disabled: int


@dataclass(frozen=True, slots=True)
class FeedArticleCounts:
    total: int
    week: int


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything /stats shows."""

    chats: ChatCounts
    topic_chats: dict[str, int]  # topic slug -> active chats subscribed to it
    rules: int  # keyword rules of active chats
    articles: ArticleCounts
    deliveries: DeliveryCounts
    feeds: FeedHealthCounts


def day_start(now: datetime) -> datetime:
    """00:00 UTC of ``now``'s UTC day (``now`` aware)."""
    return datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of ``now``'s ISO week."""
    start = day_start(now)
    return start - timedelta(days=start.weekday())


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    # SUM(CASE ...) rather than COUNT(*) FILTER: portable and one scan for several counts.
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


async def chat_counts(session: AsyncSession) -> ChatCounts:
    query = select(Chat.type, Chat.active, sa.func.count()).group_by(
        col(Chat.type), col(Chat.active)
    )
    active: dict[str, int] = {}
    inactive: dict[str, int] = {}
    for chat_type, is_active, count in (await session.exec(query)).all():
        (active if is_active else inactive)[chat_type] = int(count)
    return ChatCounts(active=active, inactive=inactive)


async def topic_chat_counts(session: AsyncSession) -> dict[str, int]:
    """Topic slug -> how many active chats subscribe to it, most popular first."""
    count = sa.func.count()
    query = (
        select(ChatTopic.slug, count)
        .join(Chat, col(Chat.id) == col(ChatTopic.chat_id))
        .where(col(Chat.active).is_(True))
        .group_by(col(ChatTopic.slug))
        .order_by(count.desc(), col(ChatTopic.slug))
    )
    return {slug: int(n) for slug, n in (await session.exec(query)).all()}


async def rule_count(session: AsyncSession) -> int:
    query = (
        select(sa.func.count())
        .select_from(ChatRule)
        .join(Chat, col(Chat.id) == col(ChatRule.chat_id))
        .where(col(Chat.active).is_(True))
    )
    return int((await session.exec(query)).one())


async def article_counts(session: AsyncSession, *, now: datetime) -> ArticleCounts:
    """Articles first seen today and this week (UTC), and the forum articles among the week's."""
    today, week = day_start(now), week_start(now)
    query = select(
        sa.func.count(),
        _count_if(col(Article.first_seen) >= today),
        _count_if(col(Article.is_event).is_(True)),
    ).where(col(Article.first_seen) >= week)
    week_n, today_n, forums_n = (await session.exec(query)).one()
    return ArticleCounts(today=int(today_n), week=int(week_n), forums_week=int(forums_n))


async def delivery_counts(session: AsyncSession, *, now: datetime) -> DeliveryCounts:
    by_status = select(Delivery.status, sa.func.count()).where(
        col(Delivery.status).in_(_OPEN_OR_FAILED)
    )
    counts = {
        status: int(n)
        for status, n in (await session.exec(by_status.group_by(col(Delivery.status)))).all()
    }
    sent_today = select(sa.func.count()).where(
        Delivery.status == "sent", col(Delivery.sent_at) >= day_start(now)
    )
    return DeliveryCounts(
        sent_today=int((await session.exec(sent_today)).one()),
        # Routed instant matches not fanned out into rows yet are pending all the same.
        pending=counts.get("pending", 0) + await routes.unfanned_count(session),
        failed=counts.get("failed", 0),
        blocked=counts.get("blocked", 0),
    )


async def feed_health_counts(session: AsyncSession) -> FeedHealthCounts:
    enabled = col(Feed.enabled).is_(True)
    failing = sa.and_(enabled, col(Feed.consecutive_errors) > 0)
    query = select(
        _count_if(sa.and_(enabled, col(Feed.consecutive_errors) == 0)),
        _count_if(failing),
        _count_if(col(Feed.enabled).is_(False)),
    )
    ok, failing_n, disabled = (await session.exec(query)).one()
    return FeedHealthCounts(ok=int(ok), failing=int(failing_n), disabled=int(disabled))


async def overview(session: AsyncSession, *, now: datetime) -> Overview:
    return Overview(
        chats=await chat_counts(session),
        topic_chats=await topic_chat_counts(session),
        rules=await rule_count(session),
        articles=await article_counts(session, now=now),
        deliveries=await delivery_counts(session, now=now),
        feeds=await feed_health_counts(session),
    )


async def feed_article_counts(
    session: AsyncSession, *, now: datetime
) -> dict[int, FeedArticleCounts]:
    """Feed id -> articles it carried (all time, and seen in the last 7 days)."""
    since = now - timedelta(days=7)
    query = select(
        ArticleSource.feed_id, sa.func.count(), _count_if(col(ArticleSource.seen_at) >= since)
    ).group_by(col(ArticleSource.feed_id))
    return {
        int(feed_id): FeedArticleCounts(total=int(total), week=int(week))
        for feed_id, total, week in (await session.exec(query)).all()
    }


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Per-day counts for the /stats chart, oldest day first, the last being today (UTC)."""

    days: tuple[date, ...]
    articles: dict[str, tuple[int, ...]]  # primary topic slug ("" = none) -> new articles a day
    deliveries: tuple[int, ...]  # messages Telegram confirmed a day


async def daily_series(session: AsyncSession, *, now: datetime, days: int = 30) -> DailySeries:
    """New articles per day by primary topic and deliveries per day, over ``days`` days."""
    first = day_start(now) - timedelta(days=days - 1)
    span = tuple((first + timedelta(days=i)).date() for i in range(days))
    index = {day: i for i, day in enumerate(span)}
    per_topic: dict[str, list[int]] = {}
    rows = await session.exec(
        select(Article.first_seen, Article.topics).where(col(Article.first_seen) >= first)
    )
    for seen, topics in rows.all():
        position = index.get(seen.astimezone(UTC).date())
        if position is None:
            continue
        slug = topics[0] if isinstance(topics, list) and topics else ""
        per_topic.setdefault(str(slug), [0] * days)[position] += 1
    # Deliveries can number hundreds of thousands a day: count them in the database.
    day = sa.func.date(col(Delivery.sent_at))
    sent = [0] * days
    grouped = select(day, sa.func.count()).where(
        Delivery.status == "sent", col(Delivery.sent_at) >= first
    )
    for value, count in (await session.exec(grouped.group_by(day))).all():
        # SQLite gives "YYYY-MM-DD" text, PostgreSQL a date.
        position = index.get(value if isinstance(value, date) else date.fromisoformat(str(value)))
        if position is not None:
            sent[position] = int(count)
    return DailySeries(
        days=span,
        articles={slug: tuple(counts) for slug, counts in per_topic.items()},
        deliveries=tuple(sent),
    )
