"""The SQLite driver as the async engine uses it: aiosqlite, one trip to its thread a
statement.

aiosqlite runs each sqlite3 call in the connection's own thread; SQLAlchemy's adapter
makes four of them for every statement (make a cursor, execute, fetch the rows, close the
cursor), each a hand-over to that thread and back to the event loop. An answer to a
command is a dozen statements: ~50 hand-overs, and while ingest, routing and the outbox
keep the interpreter busy each one waits its turn for it (tens of ms in a burst at
100,000 chats, ``benchmarks/burst.py``). ``OneTripCursor`` does the four in one call in the
driver's thread and keeps what the other three would have asked for (the rows, the
description, rowcount and lastrowid). Everything else is SQLAlchemy's aiosqlite adapter
(``sqlalchemy.dialects.sqlite.aiosqlite``) as it is: errors, transactions, server-side
cursors (those still fetch as they go), the connection's lifecycle.

``sqlite_dbapi()`` is the DB-API module the engine is given (``create_async_engine``'s
``module``); its connections make ``OneTripCursor``s.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# What one trip brings back: description, rowcount, lastrowid, rows (None: no result set).
_Outcome = tuple[Any, int, int | None, list[Any] | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the driver's thread: the statement executed, its rows fetched, its cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, one trip to the driver's thread a statement."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # No sqlite3 cursor is made here (a trip of its own): each execute makes one there.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # made per trip, in _run
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            trip = (_run, driver._conn, operation, parameters, many)
            outcome: _Outcome = await driver._execute(*trip)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows or ())

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None  # the statement's cursor was closed in its trip

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def sqlite_dbapi() -> OneTripDBAPI:
    """The DB-API module for the async SQLite engine (made when an engine is created)."""
    import aiosqlite  # noqa: PLC0415

    return OneTripDBAPI(aiosqlite, sqlite3)
