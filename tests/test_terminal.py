"""Terminal mode (`sciforum run` without a token) and the lines a pass ends with: the pure
selections and lines, then the real process with the loopback feed server."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO

import pytest

from bot.passlines import pass_lines
from bot.terminal import (
    MIN_SLEEP,
    Stored,
    new_feed_heading,
    newest_per_feed,
    next_check_line,
    seconds_until_next_pass,
)
from tests.conftest import forums_feed
from tests.feedserver import FeedServer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORKTREE = Path(__file__).resolve().parent.parent


# --- pure ---------------------------------------------------------------------------------------


def _stored(article_id: int, feed_id: int, days_old: int | None) -> Stored:
    published = None if days_old is None else NOW - timedelta(days=days_old)
    return Stored(article_id, feed_id, f"feed {feed_id}", published, NOW - timedelta(hours=1))


def test_a_new_feed_shows_its_newest_three_newest_first_and_counts_all_it_stored() -> None:
    stored = [_stored(i, 1, days_old=d) for i, d in enumerate([5, 1, 9, 3, None, 2])]
    stored += [_stored(10, 2, days_old=4)]

    groups = newest_per_feed(stored)

    assert [(source, count, [a.id for a in newest]) for source, count, newest in groups] == [
        # The undated entry counts as seen an hour ago: newer than all dated ones here.
        ("feed 1", 6, [4, 1, 5]),
        ("feed 2", 1, [10]),
    ]


@pytest.mark.parametrize(
    ("stored", "shown", "expected"),
    [
        (3, 3, "new feed Nature: 3 articles stored; as subscribers would get them:"),
        (
            12,
            3,
            "new feed Nature: 12 articles stored (earlier ones are not announced); "
            "the newest 3, as subscribers would get them:",
        ),
    ],
)
def test_a_new_feeds_heading_says_how_many_were_stored_and_shown(
    stored: int, shown: int, expected: str
) -> None:
    assert new_feed_heading("Nature", stored, shown) == expected


@pytest.mark.parametrize(
    ("due", "interval", "expected"),
    [
        (None, 600.0, 600.0),
        (NOW + timedelta(seconds=90), 600.0, 90.0),
        (NOW + timedelta(hours=2), 600.0, 600.0),  # a feed added meanwhile is seen in time
        (NOW - timedelta(seconds=30), 600.0, MIN_SLEEP),  # overdue: no busy loop
    ],
)
def test_the_pause_runs_until_the_next_due_feed_within_one_interval(
    due: datetime | None, interval: float, expected: float
) -> None:
    assert seconds_until_next_pass(due, now=NOW, interval=interval) == expected


@pytest.mark.parametrize(
    ("tz", "expected"),
    [(UTC, "next check at 12:10"), (timezone(timedelta(hours=8)), "next check at 20:10")],
)
def test_the_next_check_is_told_in_local_time(tz: timezone, expected: str) -> None:
    assert next_check_line(NOW, 600.0, tz) == expected


def _lines(checked: int, kinds: dict[str, int], pages: int = 0) -> list[tuple[int, str]]:
    return pass_lines(
        checked=checked,
        failure_kinds=kinds,
        new_articles=2,
        not_modified=1,
        page_failures=pages,
        seconds=1.25,
    )


SUMMARY = (logging.INFO, "ingest pass: {} feeds checked, 1 not modified, 2 new articles (1.2 s)")


@pytest.mark.parametrize(
    ("checked", "kinds", "pages", "expected"),
    [
        (0, {}, 0, []),
        (5, {}, 0, [SUMMARY]),
        (
            17,
            {"network": 15, "timeout": 2},
            0,
            [SUMMARY, (logging.WARNING, "no network? all 17 feeds failed to connect")],
        ),
        (
            1,
            {"network": 1},
            0,
            [SUMMARY, (logging.WARNING, "no network? the only feed failed to connect")],
        ),
        (
            5,
            {"network": 4, "client": 1},
            0,
            [
                SUMMARY,
                (
                    logging.WARNING,
                    "5 of 5 feeds failed (1 client, 4 network); details: sciforum feeds list",
                ),
            ],
        ),
        (
            5,
            {"network": 2},
            3,
            [
                SUMMARY,
                (logging.WARNING, "2 of 5 feeds failed (2 network); details: sciforum feeds list"),
                (logging.INFO, "3 article pages unavailable (the feed text is kept)"),
            ],
        ),
    ],
)
def test_a_pass_ends_with_one_line_per_concern(
    checked: int, kinds: dict[str, int], pages: int, expected: list[tuple[int, str]]
) -> None:
    filled = [(level, text.format(checked)) for level, text in expected]
    assert _lines(checked, kinds, pages) == filled


# --- the real process ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed once the block ends: nothing listens there


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "none.txt").write_text("")
    return tmp_path


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    """A clean environment: this worktree's code, a database under ``workdir``, no token."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "FEEDS", "POLL_", "HTTP_", "ADMIN_", "LOG_", "COLUMNS"))
    }
    env.update(
        PYTHONPATH=str(WORKTREE),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{workdir / 'data' / 'run.db'}",
        FEEDS=str(workdir / "none.txt"),
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def _sciforum(*args: str) -> list[str]:
    return [sys.executable, "-c", "from bot.cli import main; main()", *args]


class Run:
    """A `sciforum run` in its own process group (Ctrl-C reaches the whole group, the
    worker processes included), its output read by threads so nothing blocks."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        assert process.stdout is not None
        assert process.stderr is not None
        for stream, sink in ((process.stdout, self.out), (process.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], sink: list[str]) -> None:
        for line in iter(stream.readline, ""):
            sink.append(line)

    def wait_for(self, pattern: str, timeout: float = 90) -> str:
        """The first line so far, on either stream, that matches (the two pipes are read
        apart, so their lines' order between them is not known)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in [*self.out, *self.err]:
                if re.search(pattern, line):
                    return line
            if self.process.poll() is not None:
                time.sleep(0.3)  # the last lines may still be in the pipes
                if not any(re.search(pattern, line) for line in [*self.out, *self.err]):
                    break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}:\n{self.stdout}\n{self.stderr}")

    def stop(self, sig: signal.Signals) -> int:
        os.killpg(self.process.pid, sig)
        code = self.process.wait(timeout=30)
        time.sleep(0.3)  # let the readers drain the pipes
        return code

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


@contextmanager
def running(workdir: Path, env: dict[str, str]) -> Iterator[Run]:
    process = subprocess.Popen(
        _sciforum("run"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=workdir,
        start_new_session=True,
    )
    try:
        yield Run(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _feed_list(workdir: Path, urls: list[str]) -> str:
    path = workdir / "feeds.txt"
    path.write_text("".join(url + "\n" for url in urls))
    return str(path)


def test_the_first_run_shows_a_new_feeds_newest_three_cards_then_the_next_check(
    workdir: Path, article_site: FeedServer
) -> None:
    article_site.add("/forums.rss", forums_feed())
    feeds = _feed_list(workdir, [article_site.url("/forums.rss")])
    env = _env(workdir, FEEDS=feeds, HTTP_ALLOW_PRIVATE="true", POLL_INTERVAL="600")

    with running(workdir, env) as run:
        heading = run.wait_for(r"^new feed ")
        run.wait_for(r"^next check at \d\d:\d\d$")
        code = run.stop(signal.SIGTERM)

    out = run.stdout
    assert "5 articles stored" in heading
    assert "the newest 3, as subscribers would get them" in heading
    cards = out.split(heading, 1)[1].split("next check at")[0]
    links = re.findall(r"^http://127\.0\.0\.1:\d+/articles/seed-\d+\.html$", cards, re.M)
    assert len(links) == 3
    assert "<" not in cards  # plain text, no HTML tags or entities
    assert "&amp;" not in cards
    # Not wrapped at 80 columns on a pipe: the hint is one line, longer than 80.
    hint = next(line for line in out.splitlines() if line.startswith("TELEGRAM_BOT_TOKEN"))
    assert len(hint) > 80
    assert hint.endswith("in the environment or .env.")
    assert code in (0, 130)
    assert out.rstrip().endswith("stopped")
    # Logs: one line per pass per concern, and no library chatter.
    assert "alembic" not in run.stderr
    assert "simhash" not in run.stderr
    assert len(re.findall("ingest pass: 1 feeds checked", run.stderr)) == 1


def test_when_every_feed_fails_to_connect_one_line_asks_about_the_network(
    workdir: Path,
) -> None:
    # Loopback ports nothing listens on: the fetcher meets refused connections.
    urls = [f"http://127.0.0.1:{_closed_port()}/feed{i}.rss" for i in range(3)]
    env = _env(workdir, FEEDS=_feed_list(workdir, urls), HTTP_ALLOW_PRIVATE="true")

    with running(workdir, env) as run:
        line = run.wait_for("no network")
        run.wait_for(r"^next check at \d\d:\d\d$")
        run.stop(signal.SIGINT)

    assert line.rstrip().endswith("WARNING bot.ingest: no network? all 3 feeds failed to connect")
    assert "cannot connect" not in run.stderr  # the per-feed details are at DEBUG
    assert "Traceback" not in run.stderr


def test_ctrl_c_in_the_middle_of_a_pass_stops_the_workers_without_a_traceback(
    workdir: Path, article_site: FeedServer
) -> None:
    # Slow article pages keep the pass busy with fetches and summaries when Ctrl-C comes.
    article_site.add("/forums.rss", forums_feed())
    for page in range(5):
        path = f"/articles/seed-{page:03d}.html"
        body = (Path(__file__).parent / "fixtures" / "ingest" / "articles" / path[10:]).read_bytes()
        article_site.add(path, body, content_type="text/html; charset=utf-8", delay=page * 0.5)
    feeds = _feed_list(workdir, [article_site.url("/forums.rss")])
    env = _env(workdir, FEEDS=feeds, HTTP_ALLOW_PRIVATE="true")

    with running(workdir, env) as run:
        run.wait_for("polling feeds every")
        deadline = time.monotonic() + 60
        while not article_site.hits("/articles/seed-000.html") and time.monotonic() < deadline:
            time.sleep(0.05)
        code = run.stop(signal.SIGINT)

    assert code in (0, 130)
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout.rstrip().endswith("stopped")


def test_json_logs_are_one_object_per_line_with_the_feed_they_concern(workdir: Path) -> None:
    urls = [f"http://127.0.0.1:{_closed_port()}/feed{i}.rss" for i in range(2)]
    env = _env(
        workdir,
        FEEDS=_feed_list(workdir, urls),
        HTTP_ALLOW_PRIVATE="true",
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
    )

    with running(workdir, env) as run:
        run.wait_for(r"^next check at")
        run.stop(signal.SIGTERM)

    records = [json.loads(line) for line in run.stderr.splitlines()]
    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    failed = [r for r in records if "failed (network)" in r["message"]]
    assert sorted(r["feed_url"] for r in failed) == sorted(urls)
    assert all(isinstance(r["feed_id"], int) for r in failed)
    assert any(r["message"].startswith("no network?") for r in records)


def _run_to_its_end(workdir: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """`sciforum run` that is expected to stop by itself: its exit code, its non-blank
    standard error lines."""
    done = subprocess.run(
        _sciforum("run"),
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def _file_in_the_way(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'none.txt' / 'x.db'}"


def _read_only_file(workdir: Path) -> str:
    path = workdir / "ro.db"
    sqlite3.connect(path).close()
    # SQLite's own read-only mode: file permissions do not bind root, which CI may be.
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _postgresql_not_listening(_workdir: Path) -> str:
    return f"postgresql://u:pw@127.0.0.1:{_closed_port()}/db"


def _in_memory(_workdir: Path) -> str:
    return "sqlite://"


def _not_a_url(_workdir: Path) -> str:
    return "data/sciforum.db"


@pytest.mark.parametrize(
    ("database", "message"),
    [
        (_file_in_the_way, "cannot create the database's directory"),
        (_read_only_file, "attempt to write a readonly database"),
        (_postgresql_not_listening, "database unavailable: connection failed"),
        (_not_a_url, "not a database URL"),
        (_in_memory, "in-memory SQLite database, which keeps nothing"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_database_that_cannot_be_used_stops_the_run_with_one_line(
    workdir: Path, database: Callable[[Path], str], message: str
) -> None:
    env = _env(workdir, DATABASE_URL=database(workdir))

    code, lines = _run_to_its_end(workdir, env)

    assert code != 0
    assert len(lines) == 1, lines
    assert message in lines[0]
    assert ":pw@" not in lines[0]


def test_a_locked_sqlite_file_stops_the_run_with_one_line(workdir: Path) -> None:
    path = workdir / "locked.db"
    env = _env(workdir, DATABASE_URL=f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
        code, lines = _run_to_its_end(workdir, env)
    finally:
        holder.close()

    assert code != 0
    assert lines == ["error: database unavailable: database is locked"]
