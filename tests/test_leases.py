"""Feed leases: the pure rule, and claims on both engines (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db import leases, queries
from db.engine import transaction
from db.leases import LeaseState, is_claimable, lease_state

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SOON, PAST = NOW + timedelta(seconds=1), NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("owner", "until", "state"),
    [
        (None, None, LeaseState.FREE),
        ("me", None, LeaseState.FREE),  # half a lease is none
        (None, SOON, LeaseState.FREE),
        ("me", SOON, LeaseState.MINE),
        ("other", SOON, LeaseState.HELD),
        ("other", NOW, LeaseState.EXPIRED),  # a lease ends at its time exactly
        ("other", PAST, LeaseState.EXPIRED),
        ("me", PAST, LeaseState.EXPIRED),  # my own lost lease may have been taken over
    ],
)
def test_a_lease_is_free_mine_held_or_expired(
    owner: str | None, until: datetime | None, state: LeaseState
) -> None:
    assert lease_state(owner, until, me="me", now=NOW) == state


@pytest.mark.parametrize(
    ("state", "claimable"),
    [
        (LeaseState.FREE, True),
        (LeaseState.EXPIRED, True),
        (LeaseState.MINE, False),  # already being polled by this worker
        (LeaseState.HELD, False),
    ],
)
def test_only_a_free_or_expired_lease_is_claimed(state: LeaseState, claimable: bool) -> None:
    assert is_claimable(state) is claimable


def test_owner_names_differ_per_call_and_fit_their_column() -> None:
    first, second = leases.new_owner(), leases.new_owner()
    assert first != second
    assert len(first) <= leases.OWNER_WIDTH


def test_every_ingestor_of_a_process_shares_its_name() -> None:
    assert leases.process_owner() == leases.process_owner()
    assert f":{os.getpid()}:" in leases.process_owner()


ME = "host-a:100:aaaa"


@pytest.mark.parametrize(
    ("owner", "alive_pids", "dead"),
    [
        ("host-a:200:bbbb", {200}, False),  # a live neighbour
        ("host-a:200:bbbb", set(), True),  # a neighbour that died
        ("host-a:100:cccc", {100}, True),  # my own pid under another name: my predecessor
        (ME, {100}, False),  # me
        ("host-b:200:bbbb", set(), False),  # another host's: left to expire
        ("host-a", set(), False),  # not a name new_owner makes
        ("host-a:x:bbbb", set(), False),
    ],
)
def test_only_a_dead_process_of_this_host_is_judged_dead(
    owner: str, alive_pids: set[int], dead: bool
) -> None:
    assert leases.is_dead_neighbour(owner, me=ME, alive=alive_pids.__contains__) is dead


async def test_a_restarted_worker_frees_what_its_dead_predecessor_held_at_once(
    sessions: Any,
) -> None:
    ids = await _feeds(sessions, 3)
    await _claim(sessions, "host-a:100:cccc", limit=1)  # the predecessor, killed
    await _claim(sessions, "host-a:200:bbbb", limit=1)  # a live neighbour
    await _claim(sessions, "host-b:300:dddd", limit=1)  # another host's
    async with transaction(sessions) as session:
        ended = await leases.end_dead_neighbours(
            session, me=ME, now=NOW, alive={200, 300}.__contains__
        )
    assert ended == 1
    assert await _claim(sessions, ME) == ids[:1]


async def _feeds(sessions: Any, count: int, *, due: datetime = NOW) -> list[int]:
    async with transaction(sessions) as session:
        added = [
            await queries.add_feed(session, f"https://feeds.example/{i}", now=due)
            for i in range(count)
        ]
    return [f.id for f in added if f.id is not None]


async def _claim(sessions: Any, owner: str, *, now: datetime = NOW, limit: int | None = None):
    async with transaction(sessions) as session:
        rows = await leases.claim_feeds(session, owner=owner, now=now, lease=LEASE, limit=limit)
    return [row.id for row in rows]


async def test_a_claim_takes_a_bounded_batch_and_another_worker_gets_the_rest(
    sessions: Any,
) -> None:
    ids = await _feeds(sessions, 5)

    first = await _claim(sessions, "a", limit=3)
    second = await _claim(sessions, "b", limit=3)
    third = await _claim(sessions, "c", limit=3)

    assert first == ids[:3]
    assert second == ids[3:]
    assert third == []


async def test_a_feed_not_due_is_not_claimed(sessions: Any) -> None:
    await _feeds(sessions, 2, due=NOW + timedelta(minutes=5))
    assert await _claim(sessions, "a") == []


async def test_an_expired_lease_is_taken_over_and_its_old_owner_cannot_renew_it(
    sessions: Any,
) -> None:
    ids = await _feeds(sessions, 2)
    assert await _claim(sessions, "dead") == ids

    assert await _claim(sessions, "b", now=NOW + LEASE - timedelta(seconds=1)) == []
    later = NOW + LEASE
    assert await _claim(sessions, "b", now=later) == ids
    async with transaction(sessions) as session:
        renewed = await leases.renew_leases(session, ids, owner="dead", until=later + LEASE)
        released = await leases.release_leases(session, ids, owner="dead")
    assert (renewed, released) == (0, 0)
    assert await _claim(sessions, "c", now=later + timedelta(seconds=1)) == []


async def test_a_released_feed_is_claimed_again_when_it_is_due(sessions: Any) -> None:
    ids = await _feeds(sessions, 1)
    await _claim(sessions, "a")
    async with transaction(sessions) as session:
        await queries.update_feed(session, ids[0], {"next_check": NOW + LEASE * 2})
        assert await leases.release_leases(session, ids, owner="a") == 1

    assert await _claim(sessions, "b", now=NOW + LEASE) == []
    assert await _claim(sessions, "b", now=NOW + LEASE * 2) == ids


async def test_the_next_claim_time_is_the_next_check_or_the_end_of_a_held_lease(
    sessions: Any,
) -> None:
    async with transaction(sessions) as session:
        assert await leases.next_claim_time(session, now=NOW) is None
    await _feeds(sessions, 1, due=NOW)
    async with transaction(sessions) as session:
        assert await leases.next_claim_time(session, now=NOW) == NOW
    await _claim(sessions, "a")
    async with transaction(sessions) as session:
        assert await leases.next_claim_time(session, now=NOW) == NOW + LEASE


async def test_workers_claiming_at_once_on_postgresql_never_share_a_feed(
    database_url: str,
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one process on SQLite: nothing claims concurrently")
    from db.engine import create_engine, session_factory

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        ids = await _feeds(sessions, 60)
        claims = await asyncio.gather(
            *(_claim(sessions, f"w{n}", limit=7) for n in range(12)),
        )
    finally:
        await engine.dispose()
    taken = [feed for claim in claims for feed in claim]
    assert sorted(taken) == sorted(ids)
    assert len(set(taken)) == len(taken)


async def test_a_pass_polls_only_what_it_claimed_and_leaves_no_lease_behind(
    sessions: Any,
) -> None:
    from bot.ingest import Ingestor
    from summaries.fetch import Fetcher, FetchLimits
    from tests import workers
    from tests.feedserver import FeedServer

    with FeedServer() as server:
        paths = [f"/feed/{n}.xml" for n in range(4)]
        for n, path in enumerate(paths):
            server.add(path, workers.rss(n, 1))
        async with transaction(sessions) as session:
            ids = [
                (await queries.add_feed(session, server.url(path), now=NOW)).id for path in paths
            ]
        await _claim(sessions, "elsewhere:1:x", limit=1)  # another worker has the first
        async with Fetcher(FetchLimits(allow_private_addresses=True)) as fetcher:
            ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, owner="me:2:y")
            first = await ingestor.run_pass(now=NOW, batch=2)
            second = await ingestor.run_pass(now=NOW, batch=2)
        hits = [server.hits(path) for path in paths]

    assert (first.claimed, second.claimed) == (2, 1)
    assert hits == [0, 1, 1, 1]
    async with transaction(sessions) as session:
        assert await leases.release_leases(session, ids, owner="me:2:y") == 0
        assert await leases.release_leases(session, ids, owner="elsewhere:1:x") == 1
