"""The write gate (db.writes): SQLite's one writer taken in the process's order, commands
before background work, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import create_engine, reading, session_factory, transaction
from db.errors import StorageConflict, StorageUnavailable
from db.writes import (
    GateTimeout,
    WriteGate,
    background_writes,
    in_background,
    is_background,
    is_write,
    write_gate,
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    path = tmp_path / "gate.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE marks (id INTEGER PRIMARY KEY, who TEXT NOT NULL UNIQUE)")
    made = create_engine(f"sqlite:///{path}")
    yield made
    await made.dispose()


def gate_of(engine: AsyncEngine) -> WriteGate:
    gate = write_gate(engine)
    assert gate is not None
    return gate


async def mark(session: AsyncSession, who: str) -> None:
    connection = await session.connection()
    await connection.execute(sa.text("INSERT INTO marks (who) VALUES (:who)"), {"who": who})


async def marks(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT who FROM marks ORDER BY id"))
        return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("INSERT INTO marks (who) VALUES (?)", True),
        ("  update feeds SET title = ?", True),
        ("DELETE FROM chat_searches WHERE id = ?", True),
        ("REPLACE INTO marks VALUES (1, 'a')", True),
        ("-- a comment\nINSERT INTO marks VALUES (1, 'a')", True),
        ("/* hint */ DELETE FROM marks", True),
        ("SELECT * FROM marks WHERE who = 'INSERT'", False),
        ("SELECT updated_at FROM feeds", False),
        ("PRAGMA busy_timeout=10000", False),
        ("WITH x AS (SELECT 1) INSERT INTO marks SELECT * FROM x", False),  # the driver's rule
        ("INSERTED", False),
    ],
)
def test_a_write_is_what_makes_the_sqlite_driver_begin_a_transaction(
    statement: str, writes: bool
) -> None:
    assert is_write(statement) is writes


async def test_commands_go_before_background_writers_that_asked_first() -> None:
    gate = WriteGate(timeout=5)
    order: list[str] = []
    await gate.acquire(background=True)  # a background transaction in flight

    async def writer(name: str, *, background: bool) -> None:
        await gate.acquire(background=background)
        order.append(name)

    tasks = []
    for name, background in [("bg1", True), ("bg2", True), ("cmd1", False), ("cmd2", False)]:
        tasks.append(asyncio.create_task(writer(name, background=background)))
        await asyncio.sleep(0)  # each asks in turn
    assert gate.waiting() == 4
    for _ in tasks:
        gate.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["cmd1", "cmd2", "bg1", "bg2"]
    gate.release()
    assert not gate.held


async def test_a_waiter_cancelled_after_it_was_handed_the_gate_passes_it_on() -> None:
    gate = WriteGate(timeout=5)
    await gate.acquire(background=False)
    first = asyncio.create_task(gate.acquire(background=False))
    second = asyncio.create_task(gate.acquire(background=False))
    await asyncio.sleep(0)
    gate.release()  # handed to the first...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(first, return_exceptions=True)
    await second  # the second holds it now
    assert gate.held
    assert gate.waiting() == 0
    gate.release()
    assert not gate.held


async def test_a_waiter_cancelled_in_the_queue_is_skipped() -> None:
    gate = WriteGate(timeout=5)
    await gate.acquire(background=False)
    gone = asyncio.create_task(gate.acquire(background=False))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert gate.waiting() == 0
    gate.release()
    assert not gate.held


async def test_a_waiter_cancelled_just_before_a_release_leaves_the_gate_free() -> None:
    gate = WriteGate(timeout=5)
    await gate.acquire(background=False)
    gone = asyncio.create_task(gate.acquire(background=True))
    await asyncio.sleep(0)
    gone.cancel()
    gate.release()  # before the cancelled waiter has run
    (outcome,) = await asyncio.gather(gone, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
    assert not gate.held


async def test_a_writer_that_waits_past_the_timeout_fails_as_sqlites_busy_timeout_does() -> None:
    gate = WriteGate(timeout=0.01)
    await gate.acquire(background=True)
    with pytest.raises(GateTimeout, match="database is locked"):
        await gate.acquire(background=False)
    assert gate.waiting() == 0
    assert gate.held


async def test_a_command_waits_for_one_background_transaction_not_a_writer_writing_back_to_back(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    third_holds = asyncio.Event()

    async def ingest() -> None:
        with background_writes():
            for number in range(12):
                async with transaction(sessions) as session:
                    await mark(session, f"bg{number}")
                    if number == 3:
                        third_holds.set()
                    for _ in range(3):  # a transaction that takes a while
                        await asyncio.sleep(0)

    writer = asyncio.create_task(ingest())
    async with transaction(sessions) as session:
        await (await session.connection()).execute(sa.text("SELECT 1"))  # connected
        await third_holds.wait()
        await mark(session, "command")  # asks while bg3 is in flight
    await writer
    written = await marks(engine)
    # Between asking and writing, no background transaction began: only bg3 ended.
    assert written[3:6] == ["bg3", "command", "bg4"]
    assert gate.background_grants == 12
    assert gate.grants == 13
    assert not gate.held


async def test_reads_never_take_the_gate(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    async with reading(sessions) as session:
        await (await session.connection()).execute(sa.text("SELECT count(*) FROM marks"))
    async with transaction(sessions) as session:
        await (await session.connection()).execute(sa.text("SELECT who FROM marks"))
    assert gate.grants == 0


async def test_a_failed_write_hands_the_gate_on(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    async with transaction(sessions) as session:
        await mark(session, "once")
    with pytest.raises(StorageConflict):
        async with transaction(sessions) as session:
            await mark(session, "once")  # UNIQUE: the transaction is rolled back
    assert not gate.held
    async with transaction(sessions) as session:
        await mark(session, "twice")
    assert await marks(engine) == ["once", "twice"]


async def test_a_session_closed_without_commit_hands_the_gate_on(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    async with sessions() as session:
        await mark(session, "never")
        assert gate.held
    assert not gate.held
    assert await marks(engine) == []


async def test_a_write_cancelled_inside_the_driver_hands_the_gate_on(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    holding = asyncio.Event()
    slow = sa.text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "SELECT count(*) FROM c"
    )

    async def cut_short() -> None:
        async with transaction(sessions) as session:
            await mark(session, "cut")
            holding.set()
            await (await session.connection()).execute(slow)

    task = asyncio.create_task(cut_short())
    await holding.wait()
    await asyncio.sleep(0)  # the slow statement is in the driver's thread
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not gate.held  # the connection was invalidated, and the gate handed on
    async with transaction(sessions) as session:
        await mark(session, "next")
    assert await marks(engine) == ["next"]


async def test_a_writer_kept_waiting_past_the_timeout_gets_sqlites_busy_error(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    gate = gate_of(engine)
    gate.timeout = 0.01
    async with sessions() as holder:
        await mark(holder, "holder")
        with pytest.raises(StorageUnavailable, match="database is locked"):
            async with transaction(sessions) as session:
                await mark(session, "waiter")
    assert not gate.held


async def test_background_is_marked_for_the_block_and_the_tasks_it_starts() -> None:
    @in_background
    async def work() -> tuple[bool, bool]:
        started = asyncio.create_task(asyncio.sleep(0, result=is_background()))
        return is_background(), await started

    assert not is_background()
    assert await work() == (True, True)
    with background_writes():
        assert is_background()
    assert not is_background()


def test_postgresql_has_no_gate() -> None:
    pytest.importorskip("psycopg")
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    assert write_gate(engine) is None
