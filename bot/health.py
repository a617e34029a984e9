"""Whether the running process is healthy, judged from its heartbeat: a pure verdict.

``judge`` takes the heartbeats to judge, the outbox backlog, the limits and ``now``, and
returns a ``Verdict``: healthy with one line of key figures, or not with one line saying
why. ``sciforum health`` (the image's HEALTHCHECK) and the process's own ``/healthz`` both
use it; only what they read differs (``pick_beats`` chooses the rows a command judges).

Unhealthy when, in this order:
- no heartbeat: the process never started on this database (the image's HEALTHCHECK
  start period is the grace for a fresh start);
- the heartbeat is older than ``heartbeat_stale``: the process stopped or hangs;
- ingest is stuck: no pass finished within ``ingest_stale`` of the last one, or of the
  start (the start grace) — 2 × POLL_INTERVAL + FEED_DEADLINE: the job looks for due feeds
  at least every POLL_INTERVAL and a pass ends within FEED_DEADLINE;
- delivery is stuck: a sendable outbox row has waited longer than ``delivery_stall`` and
  nothing was sent in that time (a slow outbox that sends is not stuck), counted from the
  start at the earliest.

Imports the standard library and ``db.heartbeat``'s records only: ``sciforum health``
stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from db.heartbeat import Backlog, HeartbeatRow

if TYPE_CHECKING:
    from bot.settings import Settings

# Roles a process runs as: everything, or one side (several processes on one database).
INGEST_ROLES = frozenset({"all", "ingest"})
DELIVERY_ROLES = frozenset({"all", "bot"})
# Seconds between a process's periodic beats (bot.monitoring); a heartbeat older than
# HEARTBEAT_STALE_BEATS of them means the process stopped or hangs.
BEAT_EVERY = 30.0
HEARTBEAT_STALE_BEATS = 10
# A sendable row waiting this long with no send meanwhile: delivery is stuck. Longer than
# any flood wait Telegram asks of a bot within its limits.
DELIVERY_STALL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class HealthLimits:
    ingest_stale: timedelta
    delivery_stall: timedelta = DELIVERY_STALL
    heartbeat_stale: timedelta = timedelta(seconds=BEAT_EVERY * HEARTBEAT_STALE_BEATS)


def health_limits(settings: Settings) -> HealthLimits:
    """The limits for the settings' POLL_INTERVAL and FEED_DEADLINE."""
    stale = 2 * settings.poll_interval + settings.feed_deadline
    return HealthLimits(ingest_stale=timedelta(seconds=stale))


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    line: str


def span(delta: timedelta) -> str:
    """A duration as people read it at a glance: 40s, 25m, 3h, 2d."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pick_beats(beats: Iterable[HeartbeatRow], *, host: str) -> tuple[HeartbeatRow, ...]:
    """The heartbeats a health check on ``host`` judges: this host's (a container checks its
    own process), else the freshest of each role (a check run from elsewhere)."""
    rows = sorted(beats, key=lambda beat: beat.updated_at, reverse=True)
    own = tuple(beat for beat in rows if beat.host == host)
    if own:
        return own
    freshest: dict[str, HeartbeatRow] = {}
    for beat in rows:
        freshest.setdefault(beat.role, beat)
    return tuple(freshest.values())


def _stale(beat: HeartbeatRow, limits: HealthLimits, now: datetime) -> str | None:
    if now - beat.updated_at <= limits.heartbeat_stale:
        return None
    return (
        f"no heartbeat for {span(now - beat.updated_at)} from {beat.role} process {beat.pid} "
        f"on {beat.host}: stopped or hung (limit {span(limits.heartbeat_stale)})"
    )


def _ingest_stuck(beat: HeartbeatRow, limits: HealthLimits, now: datetime) -> str | None:
    finished = beat.pass_finished_at
    limit = span(limits.ingest_stale)
    if finished is None or finished < beat.started_at:
        waited = now - beat.started_at
        if waited <= limits.ingest_stale:
            return None
        return f"ingest stuck: no pass finished in {span(waited)} since start (limit {limit})"
    if now - finished <= limits.ingest_stale:
        return None
    return f"ingest stuck: last pass finished {span(now - finished)} ago (limit {limit})"


def _delivery_stuck(
    beats: Sequence[HeartbeatRow], backlog: Backlog, limits: HealthLimits, now: datetime
) -> str | None:
    oldest = backlog.oldest_due_at
    if not beats or oldest is None or now - oldest <= limits.delivery_stall:
        return None
    sent = [beat.last_sent_at for beat in beats if beat.last_sent_at is not None]
    last_sent = max(sent) if sent else None
    # A process that just started has had no chance to send yet.
    started = max(beat.started_at for beat in beats)
    if now - max(last_sent or started, started) <= limits.delivery_stall:
        return None
    sends = f"last send {span(now - last_sent)} ago" if last_sent else "nothing sent yet"
    return (
        f"delivery stuck: {backlog.pending} pending, the oldest due for "
        f"{span(now - oldest)}; {sends} (limit {span(limits.delivery_stall)})"
    )


def _figures(beats: Sequence[HeartbeatRow], backlog: Backlog, now: datetime) -> str:
    parts = [", ".join(f"{b.role} pid {b.pid} on {b.host}" for b in beats)]
    passes = [b for b in beats if b.pass_finished_at is not None]
    if passes:
        last = max(passes, key=lambda b: b.pass_finished_at or now)
        assert last.pass_finished_at is not None
        parts.append(
            f"last pass {span(now - last.pass_finished_at)} ago ({last.pass_checked} feeds, "
            f"{last.pass_failed} failed, {last.pass_new} new)"
        )
    elif any(b.role in INGEST_ROLES for b in beats):
        parts.append("first pass running")
    if any(b.role in DELIVERY_ROLES for b in beats):
        sent = [b.last_sent_at for b in beats if b.last_sent_at is not None]
        parts.append(f"last send {span(now - max(sent))} ago" if sent else "nothing sent yet")
        parts.append(f"outbox {backlog.pending} pending")
    return "; ".join(parts)


def judge(
    beats: Sequence[HeartbeatRow], backlog: Backlog, limits: HealthLimits, now: datetime
) -> Verdict:
    """Healthy or not, in one line (see the module docstring for the rules)."""
    if not beats:
        return Verdict(False, "no heartbeat yet: is `sciforum run` running on this database?")
    for beat in beats:
        problem = _stale(beat, limits, now)
        if problem is None and beat.role in INGEST_ROLES:
            problem = _ingest_stuck(beat, limits, now)
        if problem is not None:
            return Verdict(False, problem)
    senders = [beat for beat in beats if beat.role in DELIVERY_ROLES]
    problem = _delivery_stuck(senders, backlog, limits, now)
    if problem is not None:
        return Verdict(False, problem)
    return Verdict(True, f"ok: {_figures(beats, backlog, now)}")
