"""Ingestion benchmark: N feeds x M entries (with full-text pages) from loopback into the DB.

Prints new articles per second for the first pass (every entry new, every teaser's page
fetched and extracted), feed polls per second for a second pass where every feed answers
304, and the ingesting process's peak RSS. The feed server runs in a child process so it
does not share the ingester's CPU time or memory figures.

    .venv/bin/python benchmarks/ingest.py                 # 500 feeds x 20 entries, SQLite
    .venv/bin/python benchmarks/ingest.py --feeds 50      # a quick look
    .venv/bin/python benchmarks/ingest.py --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing import get_context
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ingest import Ingestor
from db import queries
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from summaries.fetch import Fetcher, FetchLimits
from tests.feedserver import FeedServer

WORDS = [
    "researchers",
    "scientists",
    "forum",
    "symposium",
    "conference",
    "microbial",
    "protein",
    "genome",
    "climate",
    "energy",
    "battery",
    "quantum",
    "material",
    "catalyst",
    "neuron",
    "brain",
    "cell",
    "therapy",
    "vaccine",
    "drug",
    "trial",
    "satellite",
    "telescope",
    "galaxy",
    "ocean",
    "soil",
    "crop",
    "yield",
    "enzyme",
    "pathway",
    "synthetic",
    "biology",
    "data",
    "model",
    "algorithm",
    "network",
    "sensor",
    "laser",
    "photon",
    "fusion",
    "reactor",
    "carbon",
    "emission",
    "policy",
    "funding",
    "infrastructure",
    "collaboration",
    "university",
    "institute",
    "laboratory",
    "experiment",
    "result",
    "analysis",
    "discovery",
    "method",
    "sample",
    "patient",
    "disease",
    "infection",
    "bacteria",
    "virus",
    "molecule",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def build_site(feeds: int, entries: int, seed: int = 7) -> dict[str, tuple[bytes, str]]:
    """Every route of the synthetic site: path -> (body, content type)."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    routes: dict[str, tuple[bytes, str]] = {}
    for f in range(feeds):
        items = []
        for e in range(entries):
            path = f"/f{f}/a{e}.html"
            paragraphs = [" ".join(_sentence(rng) for _ in range(4)) for _ in range(8)]
            title = f"Story {f}-{e}: " + " ".join(rng.choice(WORDS) for _ in range(6))
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            page = (
                f"<html><head><title>{title}</title></head><body><nav>Home News Events</nav>"
                f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>"
            )
            routes[path] = (page.encode(), "text/html; charset=utf-8")
            published = format_datetime(base + timedelta(minutes=f * entries + e))
            items.append(
                f"<item><title>{escape(title)}</title><link>{path}</link>"
                f"<guid>{path}</guid><pubDate>{published}</pubDate>"
                f"<description>{escape(paragraphs[0][:200])} …</description></item>"
            )
        feed = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>/f{f}/</link>{''.join(items)}</channel></rss>"
        )
        routes[f"/f{f}/feed.xml"] = (feed.encode(), "application/rss+xml")
    return routes


def serve(
    feeds: int, entries: int, port_queue: multiprocessing.Queue[int], stop: multiprocessing.Event
) -> None:  # type: ignore[type-arg]
    with FeedServer() as server:
        for path, (body, content_type) in build_site(feeds, entries).items():
            etag = f'"{hash(path) & 0xFFFFFF:x}"' if path.endswith("feed.xml") else None
            server.add(path, body, content_type=content_type, etag=etag)
        port_queue.put(server.port)
        stop.wait(3600)


async def bench(url: str, port: int, feeds: int, workers: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await queries.add_feeds_missing(
            session,
            [(f"http://127.0.0.1:{port}/f{f}/feed.xml", None) for f in range(feeds)],
            now=now,
        )
    # The benchmark's feeds are served from loopback.
    limits = FetchLimits(max_connections=64, max_per_host=64, allow_private_addresses=True)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    async with Fetcher(limits) as fetcher:
        ingestor = Ingestor(sessions, fetcher, interval=600, max_errors=10, executor=pool)
        started = time.perf_counter()
        first = await ingestor.run_pass(now=now)
        new_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = await ingestor.run_pass(now=now + timedelta(hours=1), include_all=True)
        poll_seconds = time.perf_counter() - started
    pool.shutdown()
    await engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database            {url.rsplit('@', maxsplit=1)[-1]}")
    print(f"feeds x entries     {feeds} x {len(first.new_articles) // max(feeds, 1)}")
    print(
        f"pass 1 (all new)    {len(first.new_articles)} articles in {new_seconds:.1f} s = "
        f"{len(first.new_articles) / new_seconds:.0f} new articles/s "
        f"({first.page_fetches} pages fetched, {first.failed} feeds failed)"
    )
    print(
        f"pass 2 (all 304)    {second.not_modified}/{second.checked} not modified "
        f"in {poll_seconds:.2f} s"
        f" = {second.checked / poll_seconds:.0f} feed polls/s"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak RSS            {rss_mb:.0f} MiB (ingesting process), {children:.0f} MiB per worker"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--workers", type=int, default=2, help="summarizing processes")
    args = parser.parse_args()
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(args.feeds, args.entries, ports, stop), daemon=True
    )
    server.start()
    try:
        port = ports.get(timeout=300)
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            asyncio.run(bench(url, port, args.feeds, args.workers))
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


if __name__ == "__main__":
    main()
