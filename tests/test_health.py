"""Health: the verdict on a heartbeat (pure, table-driven), the heartbeat's storage on both
engines, and `sciforum health` as the image runs it (a real process, its exit code and its
one line)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.health import HealthLimits, health_limits, judge, pick_beats, span
from db import heartbeat
from db.heartbeat import Backlog, HeartbeatRow, PassCounts, Process

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LIMITS = HealthLimits(ingest_stale=timedelta(minutes=23))  # the default settings
NOTHING_DUE = Backlog(pending=0, oldest_due_at=None)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def beat(**changes: Any) -> HeartbeatRow:
    """A healthy process of role "all": started 2 h ago, a pass 1 min ago, a beat 10 s ago."""
    base = HeartbeatRow(
        host="box",
        role="all",
        pid=7,
        started_at=ago(hours=2),
        updated_at=ago(seconds=10),
        pass_started_at=ago(minutes=1, seconds=5),
        pass_finished_at=ago(minutes=1),
        pass_checked=12,
        pass_failed=1,
        pass_new=3,
        last_sent_at=ago(minutes=2),
    )
    return replace(base, **changes)


def due(minutes: float, pending: int = 4) -> Backlog:
    return Backlog(pending=pending, oldest_due_at=ago(minutes=minutes))


@pytest.mark.parametrize(
    ("beats", "backlog", "healthy", "says"),
    [
        ([], NOTHING_DUE, False, "no heartbeat yet"),
        ([beat()], NOTHING_DUE, True, "last pass 1m ago (12 feeds, 1 failed, 3 new)"),
        ([beat()], NOTHING_DUE, True, "last send 2m ago; outbox 0 pending"),
        # Ingest: the last pass, or the start when none finished since (the start grace).
        (
            [beat(pass_finished_at=ago(minutes=30))],
            NOTHING_DUE,
            False,
            "ingest stuck: last pass finished 30m ago (limit 23m)",
        ),
        ([beat(pass_finished_at=ago(minutes=22))], NOTHING_DUE, True, "ok: "),
        (
            [beat(started_at=ago(minutes=5), pass_finished_at=None)],
            NOTHING_DUE,
            True,
            "first pass running",
        ),
        (
            [beat(started_at=ago(minutes=30), pass_finished_at=None)],
            NOTHING_DUE,
            False,
            "ingest stuck: no pass finished in 30m since start",
        ),
        (
            [beat(started_at=ago(minutes=1), pass_finished_at=ago(hours=3))],
            NOTHING_DUE,
            True,
            "ok: ",
        ),
        (
            [beat(started_at=ago(minutes=40), pass_finished_at=ago(hours=3))],
            NOTHING_DUE,
            False,
            "no pass finished in 40m since start",
        ),
        # A process that stopped beating.
        (
            [beat(updated_at=ago(minutes=6))],
            NOTHING_DUE,
            False,
            "no heartbeat for 6m from all process 7 on box: stopped or hung (limit 5m)",
        ),
        # Delivery: a sendable row waits past the limit and nothing was sent meanwhile.
        ([beat()], due(30), True, "outbox 4 pending"),
        (
            [beat(last_sent_at=ago(minutes=30))],
            due(30),
            False,
            "delivery stuck: 4 pending, the oldest due for 30m; last send 30m ago (limit 10m)",
        ),
        ([beat(last_sent_at=ago(hours=1))], due(5), True, "ok: "),
        ([beat(last_sent_at=None)], due(30), False, "nothing sent yet (limit 10m)"),
        ([beat(last_sent_at=None, started_at=ago(minutes=5))], due(30), True, "nothing sent yet"),
        ([beat(last_sent_at=ago(hours=1), started_at=ago(minutes=5))], due(30), True, "ok: "),
        # An ingest-only process (no token) sends nothing: the outbox is not its business.
        ([beat(role="ingest", last_sent_at=None)], due(30), True, "last pass 1m ago"),
        ([beat(role="bot", pass_finished_at=None)], NOTHING_DUE, True, "last send 2m ago"),
        (
            [beat(role="bot", pass_finished_at=None, last_sent_at=ago(hours=1))],
            due(30),
            False,
            "delivery stuck",
        ),
        # Several processes: each is judged; the freshest send counts for the outbox.
        (
            [beat(role="ingest"), beat(role="bot", pass_finished_at=ago(hours=2))],
            due(30),
            True,
            "ok: ",
        ),
        (
            [beat(role="ingest", pass_finished_at=ago(hours=1)), beat(role="bot")],
            NOTHING_DUE,
            False,
            "ingest stuck",
        ),
    ],
)
def test_the_verdict_is_one_line_saying_why(
    beats: list[HeartbeatRow], backlog: Backlog, healthy: bool, says: str
) -> None:
    verdict = judge(beats, backlog, LIMITS, NOW)
    assert verdict.healthy is healthy
    assert says in verdict.line
    assert "\n" not in verdict.line
    assert verdict.line.startswith("ok: ") is healthy


@pytest.mark.parametrize(
    ("poll_interval", "feed_deadline", "ingest_stale"),
    [(600, 180, timedelta(minutes=23)), (60, 30, timedelta(seconds=150))],
)
def test_ingest_may_take_two_poll_intervals_and_a_feed_deadline(
    poll_interval: float, feed_deadline: float, ingest_stale: timedelta
) -> None:
    from bot.settings import Settings

    settings = Settings(_env_file=None, poll_interval=poll_interval, feed_deadline=feed_deadline)
    assert health_limits(settings) == HealthLimits(ingest_stale=ingest_stale)


def test_a_check_judges_its_own_hosts_processes_else_the_freshest_of_each_role() -> None:
    mine = beat(host="box", role="all")
    other_old = beat(host="other", role="ingest", updated_at=ago(hours=1))
    other_new = beat(host="third", role="ingest", updated_at=ago(seconds=1))
    assert pick_beats([other_old, mine, other_new], host="box") == (mine,)
    assert pick_beats([other_old, mine, other_new], host="elsewhere") == (other_new, mine)


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=-5), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=23), "23m"),
        (timedelta(hours=5, minutes=59), "5h"),
        (timedelta(days=3), "3d"),
    ],
)
def test_durations_read_at_a_glance(delta: timedelta, shown: str) -> None:
    assert span(delta) == shown


# --- storage, both engines ------------------------------------------------------------------


async def test_a_heartbeat_keeps_the_last_pass_and_send_across_a_restart(sessions: Any) -> None:
    from db.engine import transaction

    first, restarted = Process("box", "all", pid=1), Process("box", "all", pid=2)
    async with transaction(sessions) as s:
        await heartbeat.record_start(s, first, now=ago(hours=2))
    async with transaction(sessions) as s:
        counts = PassCounts(checked=12, not_modified=9, failed=1, new=3, routed=5, errors=0)
        await heartbeat.record_pass(
            s, first, started=ago(minutes=11), finished=ago(minutes=10), counts=counts
        )
    async with transaction(sessions) as s:
        await heartbeat.record_outbox(
            s, first, now=ago(minutes=9), last_sent_at=ago(minutes=9, seconds=3), depth=4
        )
    async with transaction(sessions) as s:  # restarted: a new pid, nothing sent yet
        await heartbeat.record_start(s, restarted, now=ago(minutes=1))
        await heartbeat.record_outbox(s, restarted, now=NOW, last_sent_at=None, depth=2)
    async with sessions() as s:
        status = await heartbeat.load_status(s, now=NOW)
    assert status.beats == (
        HeartbeatRow(
            host="box",
            role="all",
            pid=2,
            started_at=ago(minutes=1),
            updated_at=NOW,
            pass_started_at=ago(minutes=11),
            pass_finished_at=ago(minutes=10),
            pass_checked=12,
            pass_not_modified=9,
            pass_failed=1,
            pass_new=3,
            pass_routed=5,
            pass_errors=0,
            last_sent_at=ago(minutes=9, seconds=3),
            outbox_depth=2,
        ),
    )


async def test_heartbeats_not_written_since_a_moment_are_forgotten(sessions: Any) -> None:
    from db.engine import transaction

    async with transaction(sessions) as s:
        await heartbeat.record_start(s, Process("old-container", "all", 1), now=ago(days=8))
        await heartbeat.record_start(s, Process("new-container", "all", 1), now=NOW)
    async with transaction(sessions) as s:
        assert await heartbeat.forget_before(s, ago(days=7)) == 1
    async with sessions() as s:
        (row,) = (await heartbeat.load_status(s, now=NOW)).beats
    assert row.host == "new-container"


async def test_a_pass_before_any_start_makes_the_row_starting_then(sessions: Any) -> None:
    from db.engine import transaction

    async with transaction(sessions) as s:
        counts = PassCounts(checked=1, not_modified=0, failed=0, new=0, routed=0, errors=0)
        await heartbeat.record_pass(
            s, Process("h", "ingest", 3), started=ago(seconds=2), finished=NOW, counts=counts
        )
    async with sessions() as s:
        (row,) = (await heartbeat.load_status(s, now=NOW)).beats
    assert (row.started_at, row.updated_at, row.pass_finished_at) == (NOW, NOW, NOW)


async def _chat_with_rows(sessions: Any, chat_id: int, *rows: tuple[str, datetime]) -> None:
    from db.engine import transaction
    from db.models import Chat, Delivery

    async with transaction(sessions) as s:
        s.add(Chat(id=chat_id, type="private", created_at=ago(days=1)))
        await s.flush()
        for status, due_at in rows:
            s.add(
                Delivery(
                    chat_id=chat_id,
                    kind="notice",
                    text="hi",
                    status=status,
                    next_attempt_at=due_at,
                    created_at=ago(days=1),
                )
            )
            await s.flush()  # ids in this order: the first row is the chat's head


async def test_the_backlog_is_the_oldest_row_that_could_be_sent_now(sessions: Any) -> None:
    # Chat 1: its head waits on a retry in 5 minutes, so the rows behind it are not stuck.
    await _chat_with_rows(
        sessions, 1, ("pending", NOW + timedelta(minutes=5)), ("pending", ago(hours=3))
    )
    # Chat 2: sent long ago, then a row due 20 minutes ago: the oldest sendable.
    await _chat_with_rows(sessions, 2, ("sent", ago(hours=5)), ("pending", ago(minutes=20)))
    await _chat_with_rows(sessions, 3, ("pending", ago(minutes=2)))
    async with sessions() as s:
        backlog = (await heartbeat.load_status(s, now=NOW)).backlog
    assert backlog == Backlog(pending=4, oldest_due_at=ago(minutes=20))


# --- `sciforum health`, a real process --------------------------------------------------------

HOST = socket.gethostname()
RUNNING = Process(HOST, "all", pid=4321)
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@dataclass(frozen=True)
class Lived:
    """What a process did before the check, as times before it."""

    started: timedelta
    passed: timedelta  # its last ingest pass finished
    beat: timedelta  # its last periodic beat
    sent: timedelta  # its outbox's last confirmed send
    waiting: timedelta | None = None  # a message due this long ago and not sent


async def _live(sessions: Any, lived: Lived | None, now: datetime) -> None:
    from db.engine import transaction

    if lived is None:
        return
    counts = PassCounts(checked=12, not_modified=10, failed=1, new=3, routed=2, errors=0)
    finished = now - lived.passed
    async with transaction(sessions) as s:
        await heartbeat.record_start(s, RUNNING, now=now - lived.started)
    async with transaction(sessions) as s:
        await heartbeat.record_pass(s, RUNNING, started=finished, finished=finished, counts=counts)
    async with transaction(sessions) as s:
        await heartbeat.record_outbox(
            s, RUNNING, now=now - lived.beat, last_sent_at=now - lived.sent, depth=0
        )
    if lived.waiting is not None:
        await _chat_with_rows(sessions, 99, ("pending", now - lived.waiting))


def health(database_url: str) -> tuple[int, list[str]]:
    """`sciforum health` as the image's HEALTHCHECK runs it: its exit code and output lines."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "POLL_", "FEED", "HTTP_", "ADMIN_", "METRICS_"))
    }
    env.update(DATABASE_URL=database_url, LOG_LEVEL="WARNING", COLUMNS="200")
    with tempfile.TemporaryDirectory() as cwd:  # no .env there
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "health"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return done.returncode, lines


@pytest.mark.parametrize(
    ("lived", "code", "says"),
    [
        pytest.param(
            None,
            1,
            "error: no heartbeat yet: is `sciforum run` running on this database?",
            id="never started",
        ),
        pytest.param(
            Lived(started=2 * HOUR, passed=MINUTE, beat=MINUTE / 12, sent=2 * MINUTE),
            0,
            f"ok: all pid 4321 on {HOST}; last pass 1m ago (12 feeds, 1 failed, 3 new)",
            id="running",
        ),
        pytest.param(
            Lived(started=2 * HOUR, passed=HOUR, beat=MINUTE / 12, sent=2 * MINUTE),
            1,
            "error: ingest stuck: last pass finished 1h ago (limit 23m)",
            id="ingest stuck",
        ),
        pytest.param(
            Lived(
                started=2 * HOUR, passed=MINUTE, beat=MINUTE / 12, sent=HOUR, waiting=30 * MINUTE
            ),
            1,
            "error: delivery stuck: 1 pending, the oldest due for 30m; last send 1h ago "
            "(limit 10m)",
            id="delivery stuck",
        ),
        pytest.param(
            Lived(started=3 * HOUR, passed=2 * HOUR, beat=2 * HOUR, sent=2 * HOUR),
            1,
            f"error: no heartbeat for 2h from all process 4321 on {HOST}",
            id="stopped",
        ),
    ],
)
async def test_the_health_command_exits_nonzero_with_one_line_saying_why(
    database_url: str, sessions: Any, lived: Lived | None, code: int, says: str
) -> None:
    await _live(sessions, lived, datetime.now(UTC))
    exit_code, lines = health(database_url)
    assert exit_code == code, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(says)


def test_the_health_command_says_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    exit_code, lines = health(f"postgresql://u:pw@127.0.0.1:{port}/db")
    assert exit_code == 1
    assert len(lines) == 1
    assert lines[0].startswith("error: database unreachable: connection failed")
    assert ":pw@" not in lines[0]
