"""Helpers for running several ``sciforum run --role ...`` processes on one PostgreSQL, for
tests/test_roles.py and benchmarks/workers.py: generated feeds with unique, matching
stories, and process start/stop by process group (a ``kill -9`` takes the worker pool's
children with it)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa

from db.engine import create_sync_engine

# Story words: a few hundred, so two stories share few word triples (no near-duplicates).
_WORDS = [
    f"{stem}{suffix}"
    for stem in "abcdefghijklmnopqrstuvwxyz"
    for suffix in ("ox", "el", "in", "ar", "um", "et", "id", "os", "ul", "ak")
]
START = datetime(2026, 1, 1, tzinfo=UTC)
# Every story carries it: a chat following it gets every announced story.
KEYWORD = "crispr"


def story(feed: int, number: int) -> tuple[str, str, str]:
    """(guid, title, text) of a feed's story: over 80 words (no page to fetch), unique words
    per story (no near-duplicate of another)."""
    rng = random.Random(feed * 100_003 + number)
    words = " ".join(rng.choice(_WORDS) for _ in range(120))
    title = f"Feed {feed} story {number}: {rng.choice(_WORDS)} {KEYWORD} study"
    text = f"{title}. {KEYWORD.upper()} researchers report {words}."
    return f"f{feed}-s{number}", title, text


def rss(feed: int, stories: int) -> str:
    """Feed ``feed`` with its stories 0..stories-1 (newest first), no <ttl>."""
    items = []
    for number in reversed(range(stories)):
        guid, title, text = story(feed, number)
        published = format_datetime(START + timedelta(hours=number))
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://news.example.org/{guid}.html</link>"
            f'<guid isPermaLink="false">{guid}</guid><pubDate>{published}</pubDate>'
            f"<description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example.org/</link>"
        f"<description>generated</description>{''.join(items)}</channel></rss>"
    )


def add_feeds(
    database_url: str, feed_urls: list[str], *, due: datetime, etag: str | None = None
) -> None:
    """Store the feeds due at ``due``; with ``etag``, as polled before (a 304 is expected)."""
    engine = create_sync_engine(database_url)
    naive = due.astimezone(UTC).replace(tzinfo=None)
    polled = naive if etag else None
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO feeds (url, etag, created_at, last_success, next_check, "
                "consecutive_errors, total_errors, enabled) "
                "VALUES (:u, :e, :n, :polled, :n, 0, 0, true)"
            ),
            [{"u": url, "e": etag, "n": naive, "polled": polled} for url in feed_urls],
        )
    engine.dispose()


def start(role: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """``sciforum run --role ROLE`` in a process group of its own, output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "run", "--role", role],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """``kill -9`` the process and its worker pool."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 30) -> int | None:
    """SIGTERM to the process group (as ``docker stop``); SIGKILL if it does not stop."""
    if process.poll() is not None:
        return process.returncode
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)
        return None
