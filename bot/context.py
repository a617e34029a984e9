"""The process's shared resources, built from settings in one place and closed in one place.

Imports of the ingestion stack happen in ``open_context``: the feed commands only need
``open_database``, and ``sciforum feeds list`` should not load the summarizer to list rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Settings
from db.engine import create_engine, session_factory
from db.migrate import upgrade

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.ingest import Ingestor
    from summaries.fetch import Fetcher


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    fetcher: Fetcher
    ingestor: Ingestor


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool = True
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Upgrade the schema and open the engine (disposed on exit): all the feed commands need."""
    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_context(
    settings: Settings, *, migrate: bool = True, processes: bool = True, routing: bool = True
) -> AsyncIterator[AppContext]:
    """Upgrade the schema, open the engine, the HTTP client and the worker pool; close them
    on exit. ``processes=False`` runs CPU work in threads (quick tests); ``routing=False``
    leaves what ingestion stores for another process to route (``--role ingest``)."""
    from bot.ingest import Ingestor  # noqa: PLC0415
    from bot.workers import WorkerPool  # noqa: PLC0415
    from summaries.fetch import Fetcher  # noqa: PLC0415

    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    # Workers ignore Ctrl-C and SIGTERM: this process stops them (pool.close below).
    pool = WorkerPool(settings.worker_count, processes=processes)
    try:
        async with Fetcher(settings.fetch_limits()) as fetcher:
            sessions = session_factory(engine)
            ingestor = Ingestor(
                sessions,
                fetcher,
                interval=settings.poll_interval,
                max_errors=settings.max_feed_errors,
                executor=pool,
                feed_deadline=settings.feed_deadline,
                route=routing,
                lease=settings.ingest_lease,
            )
            yield AppContext(settings, engine, sessions, fetcher, ingestor)
    finally:
        # Running jobs get a moment to finish, then their processes are killed.
        await asyncio.to_thread(pool.close)
        await engine.dispose()
