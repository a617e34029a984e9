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
    settings: Settings, *, migrate: bool = True, processes: bool = True
) -> AsyncIterator[AppContext]:
    """Upgrade the schema, open the engine, the HTTP client and the worker pool; close them
    on exit. ``processes=False`` runs CPU work in threads (quick tests)."""
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from multiprocessing import get_context  # noqa: PLC0415

    from bot.ingest import Ingestor  # noqa: PLC0415
    from summaries.fetch import Fetcher  # noqa: PLC0415

    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    # spawn, not fork: the parent has threads (aiosqlite, the resolver) a fork would copy.
    pool = (
        ProcessPoolExecutor(max_workers=settings.worker_count, mp_context=get_context("spawn"))
        if processes
        else None
    )
    try:
        async with Fetcher(settings.fetch_limits()) as fetcher:
            sessions = session_factory(engine)
            ingestor = Ingestor(
                sessions,
                fetcher,
                interval=settings.poll_interval,
                max_errors=settings.max_feed_errors,
                executor=pool,
            )
            yield AppContext(settings, engine, sessions, fetcher, ingestor)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        await engine.dispose()
