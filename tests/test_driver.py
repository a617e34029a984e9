"""The async SQLite engine's driver (db/driver.py): one trip to aiosqlite's thread a
statement, and the cursor answers as a DB-API cursor does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import create_engine


@pytest.fixture
async def engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite:///{tmp_path / 'd.db'}", pool_size=1, max_overflow=0)
    async with made.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"
        )
    yield made
    await made.dispose()


async def _trips(connection: AsyncConnection, work: Callable[[], Any]) -> int:
    """How many calls ``work`` hands to the connection's aiosqlite thread."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    counted = 0
    handed = driver._execute

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal counted
        counted += 1
        return await handed(*args, **kwargs)

    driver._execute = counting
    try:
        await work()
    finally:
        del driver._execute  # the class's method again
    return counted


async def test_a_statement_is_one_trip_to_the_drivers_thread(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:

        async def select() -> None:
            await connection.exec_driver_sql("SELECT 1")

        assert await _trips(connection, select) == 1


async def test_rows_rowcount_and_lastrowid_come_back_with_the_statement(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        inserted = await connection.exec_driver_sql("INSERT INTO t (name) VALUES ('a')")
        assert inserted.lastrowid == 1
        many = await connection.exec_driver_sql(
            "INSERT INTO t (name) VALUES (?)", [("b",), ("c",), ("d",)]
        )
        assert many.rowcount == 3
        updated = await connection.exec_driver_sql("UPDATE t SET name = name || '!' WHERE id > 2")
        assert updated.rowcount == 2
        rows = await connection.execute(sa.text("SELECT id, name FROM t ORDER BY id"))
        assert list(rows.keys()) == ["id", "name"]
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!")]
        returned = await connection.exec_driver_sql(
            "INSERT INTO t (name) VALUES ('e') RETURNING id, name"
        )
        assert [tuple(r) for r in returned] == [(5, "e")]
        one = await connection.exec_driver_sql("SELECT name FROM t WHERE id = 2")
        assert one.scalar_one() == "b"


async def test_a_driver_error_is_sqlalchemys_and_the_transaction_can_go_on(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        await connection.exec_driver_sql("INSERT INTO t (name) VALUES ('a')")
        with pytest.raises(sa.exc.IntegrityError):
            await connection.exec_driver_sql("INSERT INTO t (name) VALUES ('a')")
        with pytest.raises(sa.exc.OperationalError, match="no such table"):
            await connection.exec_driver_sql("SELECT * FROM missing")
        await connection.rollback()
        count = await connection.exec_driver_sql("SELECT count(*) FROM t")
        assert count.scalar() == 0
