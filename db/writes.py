"""The write gate: SQLite's one writer, taken in the process's own order.

SQLite lets one connection write at a time; a connection that finds the lock taken sleeps
in its busy handler and polls (1, 2, 5, ... 100 ms), so a command's one small write waiting
behind an ingestor that writes back to back rarely finds the lock free, and waits seconds
(``benchmarks/burst.py``). Here every writer of the process queues for a ``WriteGate``
first, one per engine: the gate is taken where SQLite would take its lock (the
transaction's first INSERT, UPDATE, DELETE or REPLACE: the sqlite3 driver begins its
transaction there) and handed on when the transaction commits or rolls back, so SQLite's
own lock is (almost) always free when a writer asks for it. Interactive writes (commands,
button presses: anything not marked) go before background ones (``background_writes``:
ingest, routing, digests), so a command waits for at most the one transaction in flight.

It hooks SQLAlchemy's engine events, so every session's writes are gated without the
callers knowing; the wait happens inside the async engine's greenlet (SQLAlchemy's own
``await_``), which is where the driver waits for I/O too. Only SQLite engines get a gate:
PostgreSQL locks rows, not the database.

Two limits of the handover: the gate is passed on when SQLAlchemy announces the commit,
just before the driver runs it, so the next writer may find SQLite's lock held for the
instant the commit takes (its busy handler rides that out); and another process or engine
on the same file is not in the queue (SQLite's busy handler still covers it).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# What a waiting writer is told after this long: the message is SQLite's own, so callers
# see the same StorageUnavailable as when busy_timeout runs out.
LOCKED = "database is locked"
_HELD = "sciforum_write_gate_held"
# The statements before which the sqlite3 driver begins a transaction (and SQLite takes
# its write lock), after any blanks and comments, as the driver itself tells them (it does
# not look past a WITH: such a statement runs outside a transaction).
_WRITES = re.compile(
    r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*(?:INSERT|UPDATE|DELETE|REPLACE)\b",
    re.IGNORECASE | re.DOTALL,
)
P = ParamSpec("P")
T = TypeVar("T")
_background: ContextVar[bool] = ContextVar("sciforum_background_writes", default=False)
_gates: WeakKeyDictionary[sa.Engine, WriteGate] = WeakKeyDictionary()


class GateTimeout(Exception):
    """Nobody handed the gate on within the gate's timeout."""


@contextmanager
def background_writes() -> Iterator[None]:
    """Writes made in this block (and in the tasks it starts) queue behind interactive
    ones: for work nobody is waiting on."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def is_background() -> bool:
    return _background.get()


def is_write(statement: str) -> bool:
    """Whether the statement makes the sqlite3 driver begin a write transaction."""
    return _WRITES.match(statement) is not None


class WriteGate:
    """One holder at a time; waiters are served interactive first, then background, each
    in the order they asked. Not bound to an event loop (each wait makes its future on
    the running loop)."""

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self.held = False
        # Handed out so far, all and to background writers: what tests count.
        self.grants = 0
        self.background_grants = 0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}

    def waiting(self, *, background: bool | None = None) -> int:
        """How many wait (of one kind, or all)."""
        kinds = (False, True) if background is None else (background,)
        return sum(1 for kind in kinds for f in self._waiting[kind] if not f.done())

    async def acquire(self, *, background: bool) -> None:
        """Wait for the gate; GateTimeout after ``timeout`` seconds."""
        if not self.held and not self.waiting():
            self._grant(background)
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._waiting[background]
        queue.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over as the wait was cut short: pass it on
            elif waiter in queue:  # (a release may have dropped it already)
                waiter.cancel()
                queue.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise GateTimeout(LOCKED) from None
            raise

    def release(self) -> None:
        """Hand the gate to the next waiter, or leave it free."""
        for background in (False, True):
            queue = self._waiting[background]
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    self._count(background)
                    return
        self.held = False

    def _grant(self, background: bool) -> None:
        self.held = True
        self._count(background)

    def _count(self, background: bool) -> None:
        self.grants += 1
        if background:
            self.background_grants += 1


def write_gate(engine: AsyncEngine | sa.Engine) -> WriteGate | None:
    """The engine's gate; None for an engine without one (PostgreSQL)."""
    sync = engine if isinstance(engine, sa.Engine) else engine.sync_engine
    return _gates.get(sync)


def install_write_gate(engine: AsyncEngine, *, timeout: float) -> WriteGate | None:
    """Give a SQLite async engine its gate (None for other databases); ``timeout`` is how
    long a writer waits before it fails as SQLite's busy timeout would."""
    sync = engine.sync_engine
    if sync.dialect.name != "sqlite":
        return None
    found = _gates.get(sync)
    if found is not None:
        return found
    gate = WriteGate(timeout=timeout)
    _gates[sync] = gate

    def take(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.info
        if info.get(_HELD) or not is_write(statement):
            return
        from sqlalchemy.util import await_  # noqa: PLC0415

        try:
            await_(gate.acquire(background=is_background()))
        except GateTimeout:
            import sqlite3  # noqa: PLC0415

            # SQLAlchemy wraps it as it wraps SQLite's own "database is locked".
            raise sqlite3.OperationalError(LOCKED) from None
        info[_HELD] = True

    def give_back(info: dict[Any, Any] | None) -> None:
        if info is not None and info.pop(_HELD, False):
            gate.release()

    def ended(conn: sa.Connection) -> None:
        try:
            info = conn.info
        except sa.exc.SQLAlchemyError:
            # Invalidated (a write cut short by a cancellation): the pool's invalidate
            # event gave the gate back, and raising here would break the rollback.
            return
        give_back(info)

    def gone(_dbapi: Any, record: Any, *_args: Any) -> None:
        give_back(None if record is None else record.info)

    sa.event.listen(sync, "before_cursor_execute", take)
    sa.event.listen(sync, "commit", ended)
    sa.event.listen(sync, "rollback", ended)
    # A connection back in the pool (rolled back there) or closed holds nothing any more.
    for name in ("checkin", "invalidate", "close"):
        sa.event.listen(sync.pool, name, gone)
    return gate


def in_background(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """``background_writes`` around every call of an async function."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with background_writes():
            return await fn(*args, **kwargs)

    return run
