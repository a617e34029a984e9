"""Engines and sessions: URL translation, SQLite pragmas and write gate (``db.writes``),
the async session factory.

Users write one ``DATABASE_URL`` (``sqlite:///data/x.db``, ``postgresql://...``); the
async driver (aiosqlite, psycopg) and the sync one Alembic uses are derived from it.
The async stack (SQLAlchemy's asyncio extension, SQLModel) is imported by the functions
that use it, so the sync engine (migrations' fast path, ``sciforum health``) starts light.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from db.errors import (
    MissingDatabaseDriver,
    StorageUnavailable,
    UnsupportedDatabaseURL,
    storage_error,
)
from db.writes import install_write_gate

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
# Seconds a SQLite writer waits for the write lock (or the in-process write gate) to fail.
BUSY_TIMEOUT = 10


def _backend(url: str) -> tuple[str, sa.URL]:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabaseURL(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise UnsupportedDatabaseURL(
            f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://..."
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Each connection would get an empty database of its own: the schema made by the
        # migrations would be gone by the first query.
        raise UnsupportedDatabaseURL(
            f"{url!r} is an in-memory SQLite database, which keeps nothing: use sqlite:///PATH"
        )
    return backend, parsed


def async_url(url: str) -> sa.URL:
    backend, parsed = _backend(url)
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def sync_url(url: str) -> sa.URL:
    backend, parsed = _backend(url)
    return parsed.set(drivername=_SYNC_DRIVERS[backend])


def is_sqlite(url: str) -> bool:
    return _backend(url)[0] == "sqlite"


def require_driver(url: str) -> None:
    """PostgreSQL's driver is an extra (``sciforum-digest[postgres]``): say so in one line
    rather than with SQLAlchemy's traceback from deep inside the first connection."""
    if _backend(url)[0] != "postgresql":
        return
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        raise MissingDatabaseDriver(
            "DATABASE_URL is PostgreSQL, but its driver psycopg is not installed: "
            "pip install 'sciforum-digest[postgres]'"
        ) from None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL."""
    backend, parsed = _backend(url)
    if backend != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).expanduser()


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite file, so the default ``./data/`` just works."""
    path = sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # A file in the way, no permission, a read-only disk: one line, as for the driver.
            raise StorageUnavailable(
                f"cannot create the database's directory {path.parent}: {exc.strerror or exc}"
            ) from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the bot read while ingestion writes; busy_timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)


def _rollback_if_open(dbapi_connection: Any, _record: Any, state: sa.PoolResetState) -> None:
    # The pool's own reset rolled back every returned connection, though closing a session
    # had just done so: one more round trip to the driver's thread for each session (a
    # command opens 3-4). SQLite says whether a transaction is open without one.
    if state.terminate_only or not state.asyncio_safe:
        return
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is None or getattr(driver, "in_transaction", True):
        dbapi_connection.rollback()


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
) -> AsyncEngine:
    """The async engine; the pool settings override the defaults (tests shrink the pool
    to show that a pass never asks for more sessions than it has)."""
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    require_driver(url)
    ensure_sqlite_dir(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if not is_sqlite(url):
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    else:
        from db.driver import sqlite_dbapi  # noqa: PLC0415

        # One trip to the driver's thread a statement instead of four (db/driver.py).
        kwargs.update(module=sqlite_dbapi(), pool_reset_on_return=None)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    kwargs.update({name: value for name, value in pool.items() if value is not None})
    engine = create_async_engine(async_url(url), **kwargs)
    install_sqlite_pragmas(engine.sync_engine)
    if is_sqlite(url):
        sa.event.listen(engine.sync_engine, "reset", _rollback_if_open)
    # The process's writers queue in its own order, not in SQLite's busy handler.
    install_write_gate(engine, timeout=BUSY_TIMEOUT)
    return engine


def create_sync_engine(url: str, *, connect_timeout: int | None = None) -> sa.Engine:
    """A sync engine (Alembic, health checks); ``connect_timeout`` in seconds bounds the wait
    for a PostgreSQL server, or for a locked SQLite file."""
    require_driver(url)
    ensure_sqlite_dir(url)
    connect_args: dict[str, Any] = {}
    if connect_timeout is not None:
        connect_args = {"timeout" if is_sqlite(url) else "connect_timeout": connect_timeout}
    engine = sa.create_engine(sync_url(url), connect_args=connect_args)
    install_sqlite_pragmas(engine)
    return engine


def shown_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.rsplit("@", maxsplit=1)[-1]


def read_sync(url: str, read: Callable[[sa.Connection], T], *, connect_timeout: int) -> T:
    """Connect and run ``read`` on a plain sync connection (health checks: no async stack);
    StorageError (one line) when the database does not answer."""
    engine = create_sync_engine(url, connect_timeout=connect_timeout)
    try:
        with engine.connect() as connection:
            return read(connection)
    except Exception as exc:
        error = storage_error(exc)
        if error is None:
            raise
        raise error from exc
    finally:
        engine.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: PLC0415
    from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: PLC0415

    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def session_capacity(sessions: async_sessionmaker[AsyncSession]) -> int | None:
    """How many sessions the factory's connection pool gives at once (its size plus its
    overflow); None when the pool has no bound (an in-memory database's single connection
    is shared)."""
    bind = sessions.kw.get("bind")
    pool = getattr(bind, "pool", None)
    if not isinstance(pool, sa.pool.QueuePool):
        return None
    # QueuePool keeps its overflow bound private; -1 means unbounded.
    overflow = int(getattr(pool, "_max_overflow", 0))
    return None if overflow < 0 else pool.size() + overflow


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A fresh session in a transaction, committed on exit; the driver's errors (the commit's
    included) leave as ``db.errors.StorageError``. Nothing loaded in it should outlive it."""
    try:
        async with sessions() as session, session.begin():
            yield session
    except Exception as exc:
        error = storage_error(exc)
        if error is None:
            raise
        raise error from exc


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A fresh session for reads; the driver's errors leave as ``db.errors.StorageError``."""
    try:
        async with sessions() as session:
            yield session
    except Exception as exc:
        error = storage_error(exc)
        if error is None:
            raise
        raise error from exc
