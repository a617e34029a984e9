"""The feed catalog: importing feed lists into the database and seeding the default list."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import FeedFileError
from db import queries
from summaries.feedlists import FeedRef, default_feeds, parse_feed_list

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.context import AppContext

log = logging.getLogger(__name__)


def read_feed_list(path: Path) -> list[FeedRef]:
    try:
        return parse_feed_list(path.read_bytes())
    except OSError as exc:
        raise FeedFileError(f"cannot read {path}: {exc.strerror}") from None


async def import_feeds(sessions: async_sessionmaker[AsyncSession], refs: list[FeedRef]) -> int:
    """Add the feeds not stored yet; returns how many were added."""
    async with sessions() as session, session.begin():
        added = await queries.add_feeds_missing(
            session, [(r.url, r.title) for r in refs], now=datetime.now(UTC)
        )
    return len(added)


async def seed_feeds(ctx: AppContext) -> str | None:
    """Add the FEEDS file's feeds; with none configured and none stored, the default list.

    Returns a line to tell the user, when something was added.
    """
    path = ctx.settings.feeds
    if path is not None:
        added = await import_feeds(ctx.sessions, read_feed_list(path))
        return f"{added} feeds added from {path}" if added else None
    async with ctx.sessions() as session:
        if await queries.count_feeds(session):
            return None
    added = await import_feeds(ctx.sessions, default_feeds())
    return f"no feeds configured: {added} default science feeds added (set FEEDS to choose)"
