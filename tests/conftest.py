"""Shared fixtures: databases on both engines (SQLite file, throwaway PostgreSQL)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.pg import PostgresServer, PostgresUnavailable, start_postgres

FIXTURES = Path(__file__).parent / "fixtures"
# As bot.cli.main does: PTB's coming timedelta durations, without deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "1")
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database on each engine."""
    from db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t{os.getpid()}_{next(_db_counter)}")
    upgrade(url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    from db.engine import create_engine, session_factory

    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()
