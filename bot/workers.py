"""The worker pool: CPU-heavy pure work (parsing, extraction, summaries) off the event loop,
each job under a time limit.

``WorkerPool.run(job, timeout=...)`` runs a picklable job in a process (or, without
processes, a thread) and returns its result. A job past its time limit raises
``JobTimeout``; the process running it is stuck, so the pool is replaced at once (its
processes killed), and the other jobs that were on it run again on the new one. A worker
that dies under a job (a crash, the OOM killer) breaks the pool the same way: it is
replaced, and the jobs that were on it are tried once more before ``WorkerCrashed``.

Workers ignore SIGINT and SIGTERM: Ctrl-C or a SIGTERM sent to the whole process group
(docker stop, systemd) reaches the parent alone, which stops the pool itself (``close``).
A job cut short by the stop raises ``PoolStopped``, which is no fault of the job's.

Workers run at a lower CPU priority (``WORKER_NICENESS``) than the bot: in a burst they
would take every core they can get (a page's extraction and summary is ~13 ms of CPU), and
a command's answer, a few ms of the bot's CPU at a time, waited behind them for the
operating system to give it a core. Niced, they take what the bot leaves: as fast when
the bot is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bot.errors import JobTimeout, PoolStopped, WorkerCrashed

log = logging.getLogger(__name__)
T = TypeVar("T")

# Seconds close() lets the running jobs finish before their processes are killed.
CLOSE_GRACE = 2.0
# What the BLAS builds numpy may use read for their thread count.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Tries of a job whose pool broke under it (another job's crash or time-out) before it is
# given up as the crash's cause.
_TRIES = 2


# How much lower a worker's CPU priority is than the bot's (nice(2): 0-19 more).
WORKER_NICENESS = 10


def start_worker() -> None:
    """Worker initializer: the parent, not the terminal's Ctrl-C, stops the workers, and
    the bot goes first for the CPU (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
        os.nice(WORKER_NICENESS)


def process_pool(workers: int) -> ProcessPoolExecutor:
    # Each worker is one lane of the pool's parallelism: a BLAS thread pool per worker
    # (numpy's matrix products in the summarizer) only fights the other workers and the
    # event loop for the same cores (5x slower similarity matrices on a busy 2-core
    # machine). Spawned workers inherit the environment; an explicit setting wins.
    for name in _BLAS_THREADS:
        os.environ.setdefault(name, "1")
    # spawn, not fork: the parent has threads (aiosqlite, the resolver) a fork would copy.
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=start_worker
    )


def _processes(executor: Executor) -> list[BaseProcess]:
    if not isinstance(executor, ProcessPoolExecutor):
        return []
    return list((executor._processes or {}).values())


def _kill(executor: Executor) -> None:
    """Stop an executor now: cancel its queued jobs and kill its processes (shutdown
    forgets them, so they are listed first)."""
    processes = _processes(executor)
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()


class WorkerPool:
    """Runs jobs with time limits; see the module docstring."""

    def __init__(
        self,
        workers: int = 1,
        *,
        processes: bool = True,
        executor: Executor | None = None,
    ) -> None:
        """A pool of ``workers`` spawned processes; ``processes=False`` runs jobs in threads
        (a timed-out thread cannot be stopped: it is left to finish). ``executor`` wraps an
        executor the caller owns (tests): it is never replaced or shut down here."""
        self._workers = workers
        self._owned = executor is None and processes
        self._executor: Executor | None = executor or (process_pool(workers) if processes else None)
        self._generation = 0
        self._closed = False
        # Jobs handed to the executor at once: a pool of ours gets one waiting job per worker
        # besides the running ones, so a worker that finishes starts the next job at once
        # instead of idling for the round trip through the event loop (the ingest process
        # is busy: that was a third of a worker's time). A job's time limit still counts its
        # own run, never its wait behind others (a first pass over 10,000 new feeds timed
        # out jobs that had not started, replacing the pool again and again): its clock
        # starts when the jobs ahead of it leave a worker free (the executor runs in order).
        # An executor the caller owns gets no more jobs than it runs.
        capacity = workers * 2 if self._owned else getattr(executor, "_max_workers", None)
        self._slots = asyncio.Semaphore(capacity) if capacity else None
        self._inflight: list[asyncio.Future[Any]] = []  # handed to the executor, in order

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, job: Callable[[], T], *, timeout: float | None = None) -> T:  # noqa: ASYNC109 - the job's own time limit, enforced by replacing its process
        """The job's result; JobTimeout, WorkerCrashed or PoolStopped when it has none.
        The job's own exceptions propagate as they are."""
        for attempt in range(1, _TRIES + 1):
            if self._closed:
                raise PoolStopped("the worker pool is stopped")
            async with self._slots or contextlib.nullcontext():
                if self._closed:
                    raise PoolStopped("the worker pool is stopped")
                generation = self._generation
                try:
                    ahead = list(self._inflight)
                    future = self._submit(job)
                    try:
                        await self._turn(future, ahead)
                    except BaseException:
                        future.cancel()  # the caller is cancelled: the job is not wanted
                        raise
                    return await asyncio.wait_for(future, timeout)
                except TimeoutError:
                    self._replace(generation, f"a job ran longer than {timeout:g} s")
                    raise JobTimeout(f"took longer than {timeout:g} s") from None
                except BrokenProcessPool:
                    if self._closed:
                        raise PoolStopped("the worker pool is stopped") from None
                    if generation == self._generation:
                        self._replace(generation, "a worker process died")
                    if attempt == _TRIES:
                        raise WorkerCrashed("a worker process died running this job") from None
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if self._executor is None or (task is not None and task.cancelling()):
                        raise  # the caller is cancelled
                    # The job was cancelled before it started: its pool was replaced.
                    if self._closed:
                        raise PoolStopped("the worker pool is stopped") from None
                    if attempt == _TRIES:
                        raise WorkerCrashed("the worker pool was replaced twice") from None
                except RuntimeError as exc:
                    # "cannot schedule new futures after shutdown": the pool is closing.
                    if self._closed or "shutdown" in str(exc):
                        raise PoolStopped("the worker pool is stopped") from None
                    raise
        raise AssertionError("unreachable")

    def _submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        if self._executor is None:
            return asyncio.ensure_future(asyncio.to_thread(job))
        submitted: Future[T] = self._executor.submit(job)
        future = asyncio.wrap_future(submitted)
        if self._owned:
            self._inflight.append(future)
            future.add_done_callback(self._inflight.remove)
        return future

    async def _turn(self, future: asyncio.Future[T], ahead: list[asyncio.Future[Any]]) -> None:
        """Until a worker is free for ``future``: fewer than ``workers`` of the jobs handed
        over before it (``ahead``) are unfinished, or it is done already (its pool was
        replaced)."""
        while not future.done():
            pending = [f for f in ahead if not f.done()]
            if len(pending) < self._workers:
                return
            await asyncio.wait([*pending, future], return_when=asyncio.FIRST_COMPLETED)

    def _replace(self, generation: int, why: str) -> None:
        """Kill the pool of ``generation`` and start a new one (once per generation)."""
        if generation != self._generation or self._closed:
            return
        self._generation += 1
        if not self._owned or self._executor is None:
            log.warning("worker pool: %s (the pool is not ours to replace)", why)
            return
        log.warning("worker pool: %s; replacing its processes", why)
        old, self._executor = self._executor, process_pool(self._workers)
        _kill(old)

    def close(self, *, grace: float = CLOSE_GRACE) -> None:
        """Stop the pool: queued jobs are cancelled, running ones get ``grace`` seconds to
        finish, then their processes are killed (they ignore SIGTERM)."""
        if self._closed:
            return
        self._closed = True
        executor = self._executor
        if executor is None or not self._owned:
            return
        processes = _processes(executor)
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for process in processes:
            process.join(max(deadline - time.monotonic(), 0.0))
            if process.is_alive():
                process.kill()
