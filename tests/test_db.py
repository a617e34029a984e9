"""Storage on both engines: migrations, pragmas, feed and article queries."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from db import articles, queries
from db.engine import async_url, create_engine, create_sync_engine, sync_url
from db.errors import FeedExists, FeedNotFound, MissingDatabaseDriver, UnsupportedDatabaseURL
from db.migrate import current_revision, head_revision, schema_is_current, script_heads, upgrade
from db.models import Article, ArticleSource
from db.search import include_in_schema_comparison

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_migrations_bring_an_empty_database_to_head(database_url: str) -> None:
    assert current_revision(database_url) == head_revision()


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_sync_engine(database_url)
    with engine.connect() as connection:
        # The search index is no model (an FTS5 table cannot be one): see db.search.
        context = MigrationContext.configure(
            connection, opts={"include_object": include_in_schema_comparison}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_the_feed_topics_migration_keeps_stored_feeds_and_can_be_undone(
    database_url: str,
) -> None:
    from alembic import command

    from db.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0002")
    engine = create_sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO feeds (url, created_at, consecutive_errors, total_errors, enabled)"
                " VALUES ('https://old.example/rss', :now, 0, 0, :on)"
            ),
            {"now": NOW.replace(tzinfo=None), "on": True},
        )
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT url, topics FROM feeds")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("https://old.example/rss", None)]
    assert current_revision(database_url) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


async def test_a_connection_goes_back_to_the_sqlite_pool_with_no_transaction_open(
    tmp_path,
) -> None:
    # SQLite's pool resets a connection only when the driver says a transaction is open
    # (one round trip fewer a session); what nobody committed must still be undone.
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            # Written past SQLAlchemy's back: only the pool's reset can undo it.
            await raw.driver_connection.execute("INSERT INTO scratch VALUES (1)")
            assert raw.driver_connection.in_transaction
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert not raw.driver_connection.in_transaction
            count = await connection.exec_driver_sql("SELECT count(*) FROM scratch")
            assert count.scalar() == 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("given", "async_driver", "sync_driver"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite", "sqlite"),
        ("postgresql://u@h/db", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg", "postgresql+psycopg"),
    ],
)
def test_database_urls_map_to_async_and_sync_drivers(
    given: str, async_driver: str, sync_driver: str
) -> None:
    assert async_url(given).drivername == async_driver
    assert sync_url(given).drivername == sync_driver


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url", ""])
def test_unsupported_database_urls_are_refused_clearly(bad: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL):
        async_url(bad)


@pytest.mark.parametrize("make_engine", [create_engine, create_sync_engine])
def test_postgresql_without_its_driver_is_refused_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, make_engine: Callable[[str], object]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` meets uninstalled
    with pytest.raises(MissingDatabaseDriver, match=re.escape("sciforum-digest[postgres]")):
        make_engine("postgresql://u@127.0.0.1/db")


def test_sqlite_needs_no_optional_driver(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    create_sync_engine(f"sqlite:///{tmp_path / 'x.db'}").dispose()


def test_the_heads_read_from_the_migration_files_are_alembics() -> None:
    assert script_heads() == {head_revision()}


@pytest.mark.parametrize(("revision", "current"), [(None, False), ("0002", False), ("head", True)])
def test_only_a_database_at_the_newest_revision_counts_as_current(
    tmp_path, revision: str | None, current: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    if revision is not None:
        upgrade(url, revision)
    assert schema_is_current(url) is current
    upgrade(url)  # the fast path never skips what a database lacks
    assert current_revision(url) == head_revision()


async def test_a_feed_is_added_once_and_found_by_id_or_url(sessions) -> None:
    async with sessions() as s, s.begin():
        feed = await queries.add_feed(s, "https://example.org/rss", now=NOW)
    async with sessions() as s:
        with pytest.raises(FeedExists):
            await queries.add_feed(s, "https://example.org/rss", now=NOW)
    async with sessions() as s:
        assert (await queries.find_feed(s, str(feed.id))).url == "https://example.org/rss"
        assert (await queries.find_feed(s, "https://example.org/rss")).id == feed.id
        with pytest.raises(FeedNotFound):
            await queries.find_feed(s, "https://nowhere.example/")


async def test_a_feed_keeps_its_default_topics_until_they_are_changed(sessions) -> None:
    async with sessions() as s, s.begin():
        lab = await queries.add_feed(
            s, "https://lab.example/rss", now=NOW, topics=("microbiology", "genomics")
        )
        plain = await queries.add_feed(s, "https://plain.example/rss", now=NOW)
    async with sessions() as s:
        assert (await queries.find_feed(s, str(lab.id))).topics == ["microbiology", "genomics"]
        assert (await queries.find_feed(s, str(plain.id))).topics is None
    async with sessions() as s, s.begin():
        await queries.set_feed_topics(s, "https://plain.example/rss", ("space",))
        await queries.set_feed_topics(s, str(lab.id), ())
    async with sessions() as s:
        assert [f.topics for f in await queries.list_feeds(s)] == [None, ["space"]]
        with pytest.raises(FeedNotFound):
            await queries.set_feed_topics(s, "999", ("ai",))


async def test_importing_keeps_existing_feeds_and_adds_the_rest(sessions) -> None:
    async with sessions() as s, s.begin():
        await queries.add_feed(s, "https://a.example/rss", now=NOW, title="kept title")
    async with sessions() as s, s.begin():
        added = await queries.add_feeds_missing(
            s, [("https://a.example/rss", "other"), ("https://b.example/rss", None)], now=NOW
        )
    assert [f.url for f in added] == ["https://b.example/rss"]
    async with sessions() as s:
        feeds = await queries.list_feeds(s)
    assert [(f.url, f.title) for f in feeds] == [
        ("https://a.example/rss", "kept title"),
        ("https://b.example/rss", None),
    ]


async def test_due_feeds_are_enabled_feeds_whose_check_has_come(sessions) -> None:
    async with sessions() as s, s.begin():
        due = await queries.add_feed(s, "https://due.example/", now=NOW)
        later = await queries.add_feed(s, "https://later.example/", now=NOW)
        later.next_check = NOW + timedelta(minutes=5)
        off = await queries.add_feed(s, "https://off.example/", now=NOW)
        off.enabled = False
    async with sessions() as s:
        assert [f.id for f in await queries.due_feeds(s, now=NOW)] == [due.id]
        every = await queries.due_feeds(s, now=NOW, include_all=True)
        assert {f.id for f in every} == {due.id, later.id}
        assert await queries.next_due_time(s) == NOW


async def test_times_come_back_as_aware_utc(sessions) -> None:
    berlin = datetime(2026, 3, 1, 13, 0, tzinfo=UTC).astimezone()
    async with sessions() as s, s.begin():
        feed = await queries.add_feed(s, "https://tz.example/", now=berlin)
    async with sessions() as s:
        stored = await queries.find_feed(s, str(feed.id))
    assert stored.created_at == berlin
    assert stored.created_at.tzinfo == UTC


async def test_removing_a_feed_keeps_its_articles_but_drops_the_links(sessions) -> None:
    async with sessions() as s, s.begin():
        feed = await queries.add_feed(s, "https://gone.example/", now=NOW)
        article = Article(
            url="https://gone.example/a",
            title="A",
            published=NOW,
            first_seen=NOW,
            text="text",
            content_hash="h",
        )
        s.add(article)
        await s.flush()
        await articles.link_source(s, article_id=article.id, feed_id=feed.id, guid="g1", now=NOW)
    async with sessions() as s, s.begin():
        await queries.remove_feed(s, str(feed.id))
    async with sessions() as s:
        assert await articles.article_count(s) == 1
        links = await s.exec(select(sa.func.count()).select_from(ArticleSource))
        assert links.one() == 0
