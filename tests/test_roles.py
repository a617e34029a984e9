"""`sciforum run --role ingest|bot|all`: which roles run where, the sender lock, and several
processes on one PostgreSQL (three ingest workers, one bot, a `kill -9`)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import RoleError
from bot.roles import MIN_SLEEP, check_role, sleep_seconds
from db.engine import create_engine, create_sync_engine
from db.locks import SenderLock, bot_id_of, sender_lock_key
from db.migrate import upgrade
from summaries.rules import parse_rule
from tests import workers
from tests.fakebot import FakeTelegram
from tests.feedserver import FeedServer
from tests.pg import PostgresServer

PG = "postgresql://u@db/sciforum"
SQLITE = "sqlite:///data/x.db"
TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHAT = 1001


# --- which role runs where (pure) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url", "token", "refused"),
    [
        ("all", SQLITE, None, None),
        ("all", SQLITE, TOKEN, None),
        ("all", PG, TOKEN, None),
        ("ingest", PG, None, None),  # an ingest worker needs no token
        ("ingest", PG, TOKEN, None),
        ("bot", PG, TOKEN, None),
        ("ingest", SQLITE, None, "needs PostgreSQL"),
        ("bot", SQLITE, TOKEN, "needs PostgreSQL"),
        ("bot", PG, None, "needs TELEGRAM_BOT_TOKEN"),
        ("bot", PG, "not-a-token", "TELEGRAM_BOT_TOKEN"),
    ],
)
def test_a_role_runs_only_where_it_can(
    role: Any, url: str, token: str | None, refused: str | None
) -> None:
    if refused is None:
        check_role(role, database_url=url, token=token)
    else:
        with pytest.raises(RoleError, match=refused):
            check_role(role, database_url=url, token=token)


@pytest.mark.parametrize(
    ("next_claim", "seconds"),
    [
        (None, 60.0),  # no enabled feed: look again after an interval
        (NOW + timedelta(seconds=5), 5.0),
        (NOW + timedelta(hours=1), 60.0),  # never longer than the interval
        (NOW, MIN_SLEEP),  # due now, but held by another worker: not a busy loop
        (NOW - timedelta(hours=1), MIN_SLEEP),
    ],
)
def test_an_ingest_worker_sleeps_until_the_next_claim_within_bounds(
    next_claim: datetime | None, seconds: float
) -> None:
    assert sleep_seconds(next_claim, now=NOW, interval=60.0) == seconds


@pytest.mark.parametrize(
    ("token", "same_as_first"),
    [
        ("123456789:AAFakeTokenForTestsOnly_abcdefghijk", True),
        ("123456789:AnotherSecretAfterRevoke_zyxwvutsrqp", True),  # same bot, new token
        ("987654321:AAFakeTokenForTestsOnly_abcdefghijk", False),
    ],
)
def test_the_sender_lock_key_is_the_bots_not_the_tokens(token: str, same_as_first: bool) -> None:
    key = sender_lock_key(token)
    assert -(2**63) <= key < 2**63
    assert (key == sender_lock_key(TOKEN)) is same_as_first


@pytest.mark.parametrize("token", ["", "123456789", "abc:def", ":secret"])
def test_a_token_without_a_bot_id_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="bot token"):
        bot_id_of(token)


# --- the CLI --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--role", "ingest"], "needs PostgreSQL"),
        (["run", "--role", "bot"], "needs PostgreSQL"),
        (["run", "--role", "sender"], "unknown role 'sender'"),
    ],
)
def test_run_refuses_a_role_it_cannot_run_in_one_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


# --- the sender lock on PostgreSQL ----------------------------------------------------------


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database(f"roles{os.getpid()}_{time.monotonic_ns()}")
    upgrade(url)
    return url


async def test_a_second_sender_waits_for_the_lock_and_gets_it_when_the_first_lets_go(
    pg_url: str,
) -> None:
    engine = create_engine(pg_url)
    key = sender_lock_key(TOKEN)
    first, second = SenderLock(engine, key), SenderLock(engine, key)
    waits: list[str] = []
    try:
        await first.acquire(on_wait=lambda: waits.append("first"))
        taking = asyncio.create_task(
            second.acquire(on_wait=lambda: waits.append("second"), retry=0.05)
        )
        await asyncio.sleep(0.5)
        assert not taking.done()
        assert waits == ["second"]  # one line, however long it waits

        await first.release()
        await asyncio.wait_for(taking, 5)
        assert waits == ["second"]
    finally:
        await first.release()
        await second.release()
        await engine.dispose()


async def test_a_sender_whose_lock_connection_dies_is_told_to_stop(pg_url: str) -> None:
    from db.errors import SenderLostError

    engine = create_engine(pg_url)
    lock = SenderLock(engine, sender_lock_key(TOKEN))
    try:
        await lock.acquire(on_wait=lambda: None)
        admin = create_sync_engine(pg_url)
        with admin.begin() as connection:
            ended = connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            ).all()
        admin.dispose()
        assert ended == [(True,)]
        with pytest.raises(SenderLostError):
            await asyncio.wait_for(lock.watch(every=0.05), 5)
    finally:
        await lock.release()
        await engine.dispose()


# --- several processes on one PostgreSQL ----------------------------------------------------


def _env(url: str, fake: FakeTelegram, tmp_path: Path, **extra: str) -> dict[str, str]:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# the test adds its feeds itself\n")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "FEEDS", "POLL_", "HTTP_", "ADMIN_", "INGEST_"))
    }
    return {
        **env,
        "DATABASE_URL": url,
        "TELEGRAM_API_URL": fake.url,
        "FEEDS": str(feeds),
        "HTTP_ALLOW_PRIVATE": "true",
        "SUMMARY_WORKERS": "1",
        "SEND_RATE": "200",
        "CHAT_RATE": "200",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def _add_chat(url: str) -> None:
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO chats (id, type, created_at, active, mode, digest_hour, "
                "digest_weekday, timezone, summary_sentences, forums_only, paused) VALUES "
                "(:id, 'private', :now, true, 'instant', 8, 0, 'UTC', 2, false, false)"
            ),
            {"id": CHAT, "now": datetime.now(UTC).replace(tzinfo=None)},
        )
        connection.execute(
            sa.text("INSERT INTO chat_rules (chat_id, query, created_at) VALUES (:c, :q, :n)"),
            {
                "c": CHAT,
                "q": str(parse_rule(workers.KEYWORD)),
                "n": datetime.now(UTC).replace(tzinfo=None),
            },
        )
    engine.dispose()


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.2)


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for process in started:
        workers.stop(process)


FEEDS = 9
INTERVAL = 5.0
LEASE = 4.0


def test_three_ingest_workers_and_a_bot_poll_each_feed_once_per_interval_and_lose_nothing(
    pg_url: str, tmp_path: Path, processes: list[Any]
) -> None:
    engine = create_sync_engine(pg_url)

    def query(sql: str, **params: Any) -> list[Any]:
        with engine.begin() as connection:
            return list(connection.execute(sa.text(sql), params).all())

    with FeedServer() as server, FakeTelegram() as fake:
        paths = [f"/feed/{n}.xml" for n in range(FEEDS)]
        for n, path in enumerate(paths):
            server.add(path, workers.rss(n, 2), etag='"v2"')
        workers.add_feeds(pg_url, [server.url(path) for path in paths], due=datetime.now(UTC))
        _add_chat(pg_url)
        env = _env(pg_url, fake, tmp_path, POLL_INTERVAL=str(INTERVAL), INGEST_LEASE=str(LEASE))
        ingest = [
            workers.start("ingest", env, tmp_path, tmp_path / f"ingest{n}.log") for n in range(3)
        ]
        bot_env = {**env, "TELEGRAM_BOT_TOKEN": fake.token}
        bot = workers.start("bot", bot_env, tmp_path, tmp_path / "bot.log")
        processes.extend([*ingest, bot])

        # The first poll of each feed stores its backlog (not announced).
        _until(
            lambda: query("SELECT count(*) FROM feeds WHERE last_success IS NULL")[0][0] == 0,
            120,
            "every feed polled once",
        )
        # Two new stories in every feed: each reaches the chat once.
        for n, path in enumerate(paths):
            server.add(path, workers.rss(n, 4), etag='"v4"')
        _until(lambda: len(fake.messages(CHAT)) >= FEEDS * 2, 90, "the new stories delivered")

        # One more story each; three feeds answer their next poll slowly, so the worker
        # polling one of them holds it (and whatever else it claimed) for a while.
        slow = paths[:3]
        changed_at = time.time()
        for n, path in enumerate(paths):
            server.add(path, workers.rss(n, 5), etag='"v5"')
            if path in slow:
                server.add(path, workers.rss(n, 5), etag='"v5"', delay=8.0, times=1)
        owners: list[str] = []

        def a_slow_feed_is_being_polled() -> bool:
            for path in slow:
                if any(t > changed_at for t in server.arrivals(path)):
                    owners[:] = [
                        owner
                        for (owner,) in query(
                            "SELECT lease_owner FROM feeds WHERE url = :u", u=server.url(path)
                        )
                        if owner
                    ]
                    return bool(owners)
            return False

        _until(a_slow_feed_is_being_polled, 60, "a worker polling a slow feed")
        owner = owners[0]
        (victim,) = [p for p in ingest if f":{p.pid}:" in owner]
        workers.kill(victim)
        killed_at = time.time()
        leases = query(
            "SELECT url, lease_until FROM feeds WHERE lease_owner = :o", o=owner
        )  # as the dead worker left them
        assert leases

        _until(lambda: len(fake.messages(CHAT)) >= FEEDS * 3, 90, "the last stories delivered")
        _until(
            lambda: not query("SELECT 1 FROM feeds WHERE lease_owner = :o", o=owner),
            30,
            "the dead worker's leases taken over",
        )
        time.sleep(INTERVAL)  # one more interval of polls for the record
        for process in [*ingest, bot]:
            if process is not victim:
                assert workers.stop(process) == 0
        arrivals = {path: server.arrivals(path) for path in paths}
        path_of = {server.url(path): path for path in paths}

    # Taken over only once the dead worker's lease expired.
    taken = {path_of[url]: until.replace(tzinfo=UTC).timestamp() for url, until in leases}
    for path, until in taken.items():
        after = [t for t in arrivals[path] if t > killed_at]
        assert after, f"{path} was never polled again"
        assert after[0] >= until - 0.05, f"{path} polled before its lease expired"
    # Every feed polled once per interval: never two GETs within half of one (two workers
    # polling one feed would be a few milliseconds apart), the takeover aside.
    for path, times in arrivals.items():
        assert len(times) >= 4
        gaps = [
            (earlier, later)
            for earlier, later in itertools.pairwise(times)
            if not (path in taken and earlier < killed_at < later)
        ]
        assert all(later - earlier >= INTERVAL / 2 for earlier, later in gaps), (path, times)
    # No duplicate article, match or delivery; every announced story sent once.
    assert query("SELECT count(*), count(DISTINCT url) FROM articles")[0] == (
        FEEDS * 5,
        FEEDS * 5,
    )
    assert query("SELECT count(*) FROM article_sources")[0][0] == FEEDS * 5
    assert query("SELECT count(*) FROM articles WHERE routed_at IS NULL")[0][0] == 0
    sent = query(
        "SELECT article_id, status FROM deliveries WHERE chat_id = :c AND kind = 'article'", c=CHAT
    )
    assert len(sent) == len({a for a, _ in sent}) == FEEDS * 3
    assert {status for _, status in sent} == {"sent"}
    titles = [m.plain_text.splitlines()[0] for m in fake.messages(CHAT)]
    assert len(titles) == len(set(titles)) == FEEDS * 3
    engine.dispose()


def test_a_second_bot_process_sends_nothing_until_the_first_dies(
    pg_url: str, tmp_path: Path, processes: list[Any]
) -> None:
    engine = create_sync_engine(pg_url)
    _add_chat(pg_url)

    def enqueue(texts: list[str]) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as connection:
            for text in texts:
                connection.execute(
                    sa.text(
                        "INSERT INTO deliveries (chat_id, kind, text, disable_preview, status, "
                        "attempts, next_attempt_at, created_at) VALUES "
                        "(:c, 'notice', :t, false, 'pending', 0, :n, :n)"
                    ),
                    {"c": CHAT, "t": text, "n": now},
                )

    with FakeTelegram() as fake:
        env = _env(pg_url, fake, tmp_path, TELEGRAM_BOT_TOKEN=fake.token)
        first = workers.start("bot", env, tmp_path, tmp_path / "first.log")
        processes.append(first)
        _until(lambda: bool(fake.commands()), 60, "the first bot started")
        connected = len(fake.calls("getMe"))
        second = workers.start("bot", env, tmp_path, tmp_path / "second.log")
        processes.append(second)
        _until(
            lambda: "waiting to take over" in (tmp_path / "second.log").read_text(),
            60,
            "the second bot waiting",
        )

        enqueue([f"before {n}" for n in range(5)])
        _until(lambda: len(fake.messages(CHAT)) >= 5, 30, "the first bot sending")
        time.sleep(2)
        assert len(fake.calls("getMe")) == connected  # the second never even connected

        workers.kill(first)
        _until(lambda: len(fake.calls("getMe")) > connected, 30, "the second bot taking over")
        enqueue([f"after {n}" for n in range(5)])
        _until(lambda: len(fake.messages(CHAT)) >= 10, 30, "the second bot sending")
        assert workers.stop(second) == 0
        texts = [m.plain_text for m in fake.messages(CHAT)]
    log = (tmp_path / "second.log").read_text()
    assert log.count("waiting to take over") == 1
    assert sorted(texts) == sorted(
        [f"before {n}" for n in range(5)] + [f"after {n}" for n in range(5)]
    )
    engine.dispose()
