"""A pass's feed states written in bulk (``db.queries.update_feeds``), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db import queries
from db.engine import transaction
from db.models import Feed
from db.queries import FeedChanges

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


async def _add(sessions: Any, count: int) -> list[int]:
    async with transaction(sessions) as session:
        feeds = await queries.add_feeds_missing(
            session, [(f"http://feeds.example/{n}.xml", None) for n in range(count)], now=NOW
        )
        return [feed.id for feed in feeds if feed.id is not None]


async def _feeds(sessions: Any) -> dict[int, Feed]:
    async with sessions() as session:
        return {feed.id: feed for feed in await queries.list_feeds(session)}


@pytest.mark.parametrize("count", [2, 1201])  # one IN list, and several
async def test_feeds_given_the_same_changes_are_written_together(sessions: Any, count: int) -> None:
    ids = await _add(sessions, count)
    polled: FeedChanges = {"last_checked": NOW, "next_check": LATER, "last_success": NOW}

    async with transaction(sessions) as session:
        await queries.update_feeds(session, [(feed_id, polled, False) for feed_id in ids])

    feeds = await _feeds(sessions)
    assert {feeds[i].next_check for i in ids} == {LATER}
    assert {feeds[i].last_success for i in ids} == {NOW}
    assert {feeds[i].total_errors for i in ids} == {0}


async def test_alike_and_single_changes_each_reach_their_feed(sessions: Any) -> None:
    a, b, c, d, removed = await _add(sessions, 5)
    async with transaction(sessions) as session:
        await queries.remove_feed(session, str(removed))
    failed: FeedChanges = {"last_checked": NOW, "next_check": LATER, "consecutive_errors": 1}

    async with transaction(sessions) as session:
        await queries.update_feeds(
            session,
            [
                (a, {**failed, "last_error": "HTTP 500"}, True),
                (b, {**failed, "last_error": "HTTP 500"}, True),
                (c, {**failed, "last_error": "HTTP 404", "etag": "x" * 600}, True),
                (d, {"last_checked": NOW, "next_check": LATER, "title": "t" * 600}, False),
                (removed, {"last_checked": NOW, "next_check": LATER, "title": "gone"}, False),
            ],
        )

    feeds = await _feeds(sessions)
    assert removed not in feeds
    assert [feeds[i].last_error for i in (a, b, c, d)] == ["HTTP 500", "HTTP 500", "HTTP 404", None]
    assert [feeds[i].total_errors for i in (a, b, c, d)] == [1, 1, 1, 0]
    assert feeds[c].etag is None  # a cut ETag would be a wrong one
    assert feeds[d].title == "t" * 499 + "…"
