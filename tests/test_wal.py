"""SQLite's write-ahead log: checkpointed and truncated once it passes its limit."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from db import wal
from db.engine import create_engine, create_sync_engine, session_factory
from db.migrate import upgrade


def _write(url: str, rows: int) -> None:
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE IF NOT EXISTS filler (x TEXT)"))
        connection.execute(sa.text("INSERT INTO filler VALUES (:x)"), [{"x": "y" * 900}] * rows)
    engine.dispose()


async def test_a_log_past_its_limit_is_checkpointed_and_truncated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with engine.connect() as connection:  # keeps the log from being removed
            await connection.exec_driver_sql("SELECT 1")
            _write(url, 2000)
            size = wal.log_size(url)
            assert size > 1_000_000

            assert not await wal.truncate_log(sessions, limit=size)
            assert wal.log_size(url) == size
            assert await wal.truncate_log(sessions, limit=size // 2)
            assert wal.log_size(url) == 0
    finally:
        await engine.dispose()
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM filler")).scalar_one() == 2000
    engine.dispose()


def test_postgresql_has_no_log_here() -> None:
    assert wal.log_size("postgresql://u@localhost/x") == 0
