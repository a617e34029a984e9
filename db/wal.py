"""SQLite's write-ahead log, kept bounded.

SQLite copies the log into the database after commits (a passive checkpoint), but it starts
the log over only when a checkpoint has copied all of it while no reader still reads from
it. A running bot reads all the time (the outbox, commands, digests) while ingestion and
routing write, so that moment never comes and the log grows with everything written: 12 GB
beside a 1.7 GB database after routing ~800 articles to 100,000 chats
(``benchmarks/scale.py``), its index (the ``-shm`` file, mapped into the process and counted
in its memory) 23 MB and growing. ``truncate_log`` checkpoints the whole log and truncates
it (waiting up to the busy timeout for readers to move to the newest snapshot) once it
passes ``LOG_LIMIT``; the writer calls it between its transactions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from db.engine import sqlite_file
from db.errors import storage_error

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

# Past this size the log is checkpointed and truncated; below it, SQLite's own passive
# checkpoints do.
LOG_LIMIT = 64 * 2**20


def log_size(url: str) -> int:
    """Bytes of the write-ahead log of a SQLite URL (0 without one, and for PostgreSQL)."""
    path = sqlite_file(url)
    if path is None:
        return 0
    try:
        return (path.parent / f"{path.name}-wal").stat().st_size
    except FileNotFoundError:
        return 0


async def truncate_log(
    sessions: async_sessionmaker[AsyncSession], *, limit: int = LOG_LIMIT
) -> bool:
    """Checkpoint and truncate the log when it is larger than ``limit`` bytes; whether it
    was. A checkpoint that readers kept from finishing, or that failed, is logged and
    tried again at the next call."""
    engine = sessions.kw["bind"]
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "sqlite" or log_size(url) <= limit:
        return False
    try:
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, frames, copied = result.one()
    except Exception as exc:
        error = storage_error(exc)
        if error is None:
            raise
        log.warning("write-ahead log not checkpointed: %s", error)
        return False
    if busy:
        log.info(
            "write-ahead log: readers kept %d of %d pages from the database",
            frames - copied,
            frames,
        )
        return False
    return True
