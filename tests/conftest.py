"""Shared fixtures: databases on both engines (SQLite file, throwaway PostgreSQL)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.pg import PostgresServer, PostgresUnavailable, start_postgres

FIXTURES = Path(__file__).parent / "fixtures"
# As bot.cli.main does: PTB's coming timedelta durations, without deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "1")
INGEST = FIXTURES / "ingest"
_db_counter = itertools.count()


def forums_feed(*indexes: int, ttl: bool = True) -> str:
    """tests/fixtures/ingest/forums.rss with only the given items (0-4; all by default);
    ``ttl=False`` drops its 5-minute <ttl>, so the feed is polled every POLL_INTERVAL."""
    full = (INGEST / "forums.rss").read_text(encoding="utf-8")
    if not ttl:
        full = full.replace("<ttl>5</ttl>", "")
    if not indexes:
        return full
    head = full[: full.index("<item>")]
    tail = full[full.rindex("</item>") + len("</item>") :]
    items = full[len(head) : len(full) - len(tail)].split("</item>")
    return head + "".join(items[i] + "</item>" for i in indexes) + tail


@pytest.fixture
def article_site() -> Iterator[FeedServer]:
    """A loopback server with the five forum-report pages under /articles/."""
    with FeedServer() as server:
        for page in sorted((INGEST / "articles").glob("*.html")):
            server.add(
                f"/articles/{page.name}", page.read_bytes(), content_type="text/html; charset=utf-8"
            )
        yield server


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
