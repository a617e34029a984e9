"""bot.workers: jobs under a time limit in spawned processes; stuck and dead workers are
replaced, Ctrl-C does not reach them, and a stopped pool says so."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from functools import partial

import pytest

from bot.errors import JobTimeout, PoolStopped, WorkerCrashed
from bot.workers import WORKER_NICENESS, WorkerPool


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def die() -> None:
    os._exit(3)


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(2)
    yield workers
    await asyncio.to_thread(workers.close, grace=0.5)


async def test_a_job_past_its_limit_times_out_and_the_pool_replaces_the_stuck_worker(
    pool: WorkerPool,
) -> None:
    stuck_pid = await pool.run(partial(nap, 0), timeout=60)
    with pytest.raises(JobTimeout, match="took longer than 1 s"):
        await pool.run(partial(nap, 600), timeout=1)

    # The pool answers at once, from a new process; the stuck one is gone.
    assert await pool.run(partial(nap, 0), timeout=60) != stuck_pid
    await asyncio.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(stuck_pid, 0)


async def test_jobs_on_a_replaced_pool_run_again_on_the_new_one(pool: WorkerPool) -> None:
    healthy = asyncio.create_task(pool.run(partial(nap, 2), timeout=60))
    await asyncio.sleep(0.5)
    with pytest.raises(JobTimeout):
        await pool.run(partial(nap, 600), timeout=1)

    assert isinstance(await healthy, int)  # not charged with the other job's time-out


async def test_a_jobs_time_limit_does_not_count_its_wait_for_a_free_worker(
    pool: WorkerPool,
) -> None:
    await asyncio.gather(*(pool.run(partial(nap, 0), timeout=60) for _ in range(2)))  # started

    # Two workers, six jobs of 0.5 s: the last two wait a second for a worker.
    pids = await asyncio.gather(*(pool.run(partial(nap, 0.5), timeout=0.9) for _ in range(6)))

    assert len(pids) == 6


async def test_a_job_handed_to_a_busy_worker_ahead_of_time_is_timed_from_its_own_start() -> None:
    workers = WorkerPool(1)
    try:
        await workers.run(partial(nap, 0), timeout=60)  # started
        # One worker, four jobs of 0.5 s: the last waits 1.5 s, its limit is 1.5 s.
        pids = await asyncio.gather(
            *(workers.run(partial(nap, 0.5), timeout=1.5) for _ in range(4))
        )
    finally:
        await asyncio.to_thread(workers.close, grace=0.5)

    assert len(set(pids)) == 1


async def test_many_jobs_on_a_replaced_pool_all_run_again_on_the_new_one(
    pool: WorkerPool,
) -> None:
    waiting = [asyncio.create_task(pool.run(partial(nap, 0.2), timeout=60)) for _ in range(20)]
    await asyncio.sleep(0.1)
    with pytest.raises(JobTimeout):
        await pool.run(partial(nap, 600), timeout=1)

    assert all(isinstance(pid, int) for pid in await asyncio.gather(*waiting))


async def test_a_job_that_kills_its_worker_is_given_up_and_the_pool_recovers(
    pool: WorkerPool,
) -> None:
    with pytest.raises(WorkerCrashed):
        await pool.run(die, timeout=60)

    assert isinstance(await pool.run(partial(nap, 0), timeout=60), int)


async def test_workers_ignore_ctrl_c_and_sigterm(pool: WorkerPool) -> None:
    job = asyncio.create_task(pool.run(partial(nap, 1.5), timeout=60))
    await asyncio.sleep(0.3)
    worker = await pool.run(partial(nap, 0), timeout=60)
    os.kill(worker, signal.SIGINT)
    os.kill(worker, signal.SIGTERM)

    assert isinstance(await job, int)
    assert await pool.run(partial(nap, 0), timeout=60) > 0


async def test_a_closed_pool_stops_its_jobs_and_says_so() -> None:
    workers = WorkerPool(1)
    job = asyncio.create_task(workers.run(partial(nap, 600), timeout=None))
    await asyncio.sleep(1.0)
    started = time.monotonic()
    await asyncio.to_thread(workers.close, grace=0.5)

    with pytest.raises((PoolStopped, asyncio.CancelledError)):
        await job
    with pytest.raises(PoolStopped):
        await workers.run(partial(nap, 0))
    assert time.monotonic() - started < 30  # the stuck worker was killed, not waited for


async def test_without_processes_jobs_run_in_threads_under_the_same_limit() -> None:
    workers = WorkerPool(processes=False)
    assert await workers.run(partial(nap, 0), timeout=5) == os.getpid()
    with pytest.raises(JobTimeout):
        await workers.run(partial(nap, 2), timeout=0.2)


def _blas_threads() -> str | None:
    return os.environ.get("OPENBLAS_NUM_THREADS")


async def test_worker_processes_keep_numpy_to_one_thread_each() -> None:
    pool = WorkerPool(1)
    try:
        assert await pool.run(_blas_threads, timeout=60) == "1"
    finally:
        pool.close()


def _niceness() -> int:
    return os.nice(0)


async def test_workers_run_below_the_bots_cpu_priority(pool: WorkerPool) -> None:
    # In a burst the workers would take every core; niced, the bot's commands go first.
    assert await pool.run(_niceness, timeout=60) == min(os.nice(0) + WORKER_NICENESS, 19)
