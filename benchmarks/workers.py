"""Several ingest workers on one PostgreSQL: feeds polled per second with 1, 2, 3 workers.

N feeds on a loopback feed server (in a child process) all answer 304 (their ETag is
stored), all on one host, so each process fetches 4 at once (HTTP_MAX_PER_HOST's
default). For each worker count, the feeds are stored due a few seconds ahead, that many
``sciforum run --role ingest`` processes are started and left to come up, and the clock
runs from the moment the feeds fall due until every feed's check is recorded. The raw
baseline is plain httpx making the same conditional GETs at the same concurrency, in the
same run. A throwaway PostgreSQL is started (tests/pg.py) unless --database-url is given
(its feeds table is emptied).

    .venv/bin/python benchmarks/workers.py                 # 2000 feeds, 1-3 workers
    .venv/bin/python benchmarks/workers.py --feeds 300     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa

from bot.ingest import Ingestor
from db.engine import create_engine, create_sync_engine, session_factory
from db.migrate import upgrade
from summaries.fetch import Fetcher, FetchLimits
from tests import workers
from tests.feedserver import FeedServer
from tests.pg import start_postgres

ETAG = '"v1"'
# Fetches at once for the baseline: HTTP_MAX_PER_HOST's default, which bounds each worker
# (the feeds share one loopback host). 50 at once made the loopback server itself the
# bottleneck (57 feeds/s against 400 with 4).
CONCURRENCY = 4


def serve(feeds: int, ports: multiprocessing.Queue[int], stop: Any) -> None:
    with FeedServer() as server:
        for n in range(feeds):
            server.add(f"/feed/{n}.xml", workers.rss(n, 1), etag=ETAG)
        ports.put(server.port)
        stop.wait(3600)


async def raw_baseline(urls: list[str]) -> float:
    """Conditional GETs of every feed with plain httpx: feeds per second."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                response = await client.get(queue.get_nowait(), headers={"If-None-Match": ETAG})
                assert response.status_code == 304

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(urls) / (time.perf_counter() - started)


async def one_process_pass(url: str, feed_urls: list[str]) -> float:
    """The same feeds in one unbounded pass in this process (what ``--role all`` does):
    feeds per second."""
    store_feeds(url, feed_urls, due=datetime.now(UTC))
    engine = create_engine(url)
    try:
        async with Fetcher(FetchLimits(allow_private_addresses=True)) as fetcher:
            ingestor = Ingestor(session_factory(engine), fetcher, interval=3600, max_errors=10)
            started = time.perf_counter()
            report = await ingestor.run_pass(now=datetime.now(UTC))
            elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert report.not_modified == len(feed_urls), report
    return len(feed_urls) / elapsed


def store_feeds(url: str, feed_urls: list[str], *, due: datetime) -> None:
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM feeds"))
    engine.dispose()
    workers.add_feeds(url, feed_urls, due=due, etag=ETAG)


def checked(url: str, *, since: datetime) -> int:
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM feeds WHERE last_checked >= :t"),
            {"t": since.astimezone(UTC).replace(tzinfo=None)},
        ).scalar_one()
    engine.dispose()
    return int(count)


def run_workers(url: str, feed_urls: list[str], count: int, tmp: Path, lead: float) -> float:
    """Feeds per second polled by ``count`` ingest workers."""
    due = datetime.now(UTC) + timedelta(seconds=lead)
    store_feeds(url, feed_urls, due=due)
    (tmp / "feeds.txt").write_text("# none\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")},
        "DATABASE_URL": url,
        "FEEDS": str(tmp / "feeds.txt"),
        "POLL_INTERVAL": "3600",
        "HTTP_ALLOW_PRIVATE": "true",
        "SUMMARY_WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    logs = [tmp / f"w{count}-{n}.log" for n in range(count)]
    started = [workers.start("ingest", env, tmp, log) for log in logs]
    try:
        while not all("ingest worker" in log.read_text() for log in logs):
            time.sleep(0.1)
        if datetime.now(UTC) >= due:
            print(f"  ({count} workers came up after the feeds fell due: raise --lead)")
        while datetime.now(UTC) < due:
            time.sleep(0.01)
        while checked(url, since=due) < len(feed_urls):
            time.sleep(0.05)
        return len(feed_urls) / (datetime.now(UTC) - due).total_seconds()
    finally:
        for process in started:
            workers.stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--max-workers", type=int, default=3)
    parser.add_argument("--lead", type=float, default=25.0, help="seconds to start workers")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (its feeds emptied)")
    args = parser.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.feeds, ports, stop), daemon=True)
    server.start()
    postgres = None if args.database_url else start_postgres()
    try:
        port = ports.get(timeout=120)
        feed_urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(args.feeds)]
        url = args.database_url or postgres.create_database("workers")  # type: ignore[union-attr]
        upgrade(url)
        raw = asyncio.run(raw_baseline(feed_urls))
        print(f"{args.feeds} feeds answering 304, {CONCURRENCY} fetches at once per process")
        print(f"raw httpx baseline: {raw:.0f} feeds/s")
        alone = asyncio.run(one_process_pass(url, feed_urls))
        print(f"one process, one pass (--role all): {alone:.0f} feeds/s")
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for count in range(1, args.max_workers + 1):
                rate = run_workers(url, feed_urls, count, Path(tmp), args.lead)
                rows.append((count, rate))
                print(f"  {count} worker(s): {rate:.0f} feeds/s")
        single = rows[0][1]
        print()
        print("| ingest workers | feeds polled/s | vs raw httpx | vs 1 worker |")
        print("|---|---|---|---|")
        print(f"| raw httpx | {raw:.0f} | 1.00x | |")
        print(f"| none: one pass in process | {alone:.0f} | {alone / raw:.2f}x | |")
        for count, rate in rows:
            print(f"| {count} | {rate:.0f} | {rate / raw:.2f}x | {rate / single:.2f}x |")
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
