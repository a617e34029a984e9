"""Ingestion benchmark: N feeds x M entries (with full-text pages) from loopback into the DB.

Prints, in one run:

- pass 1 (every entry new, every teaser's page fetched and extracted): new articles per
  second, and the CPU the pipeline spends per article beside the work itself (parse the
  feed, extract the page, enrich), measured in the same run on a sample in a worker;
- the RSS of every process of the app (this one and its workers; the feed server is
  another process and not counted), peak during pass 1 and settled after it;
- pass 2 (every feed answers 304) at the default fetch limits, against plain httpx doing the
  same conditional GETs with the same per-host concurrency, and the TCP connections each
  opened.

    .venv/bin/python benchmarks/ingest.py                         # 500 feeds x 20 entries
    .venv/bin/python benchmarks/ingest.py --feeds 50              # 1,000 articles: memory
    .venv/bin/python benchmarks/ingest.py --feeds 10000 --entries 1   # a first pass at scale
    .venv/bin/python benchmarks/ingest.py --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if TYPE_CHECKING:
    import psutil

# The app's modules are imported where they are used, not here: worker processes are
# spawned, and a spawned process imports the main module again. Imported here, they would
# count in every worker's memory, which ``sciforum run``'s workers do not carry (its main
# module is the light CLI).

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


def build_site(
    feeds: int,
    entries: int,
    seed: int = 7,
    *,
    full_text: bool = False,
    start: datetime | None = None,
    sentence: Callable[[random.Random], str] = _sentence,
) -> dict[str, tuple[bytes, str]]:
    """Every route of the synthetic site: path -> (body, content type). ``full_text``: each
    entry carries its whole text, so no page is fetched; otherwise a teaser. Entries are
    published a minute apart from ``start``."""
    rng = random.Random(seed)
    base = start or datetime(2026, 11, 1, tzinfo=UTC)
    routes: dict[str, tuple[bytes, str]] = {}
    for f in range(feeds):
        items = []
        for e in range(entries):
            path = f"/f{f}/a{e}.html"
            paragraphs = [" ".join(sentence(rng) for _ in range(4)) for _ in range(8)]
            title = f"Story {f}-{e}: " + " ".join(rng.choice(WORDS) for _ in range(6))
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            page = (
                f"<html><head><title>{title}</title></head><body><nav>Home News Events</nav>"
                f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>"
            )
            routes[path] = (page.encode(), "text/html; charset=utf-8")
            published = format_datetime(base + timedelta(minutes=f * entries + e))
            description = body if full_text else f"{paragraphs[0][:200]} …"
            items.append(
                f"<item><title>{escape(title)}</title><link>{path}</link>"
                f"<guid>{path}</guid><pubDate>{published}</pubDate>"
                f"<description>{escape(description)}</description></item>"
            )
        feed = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>/f{f}/</link>{''.join(items)}</channel></rss>"
        )
        routes[f"/f{f}/feed.xml"] = (feed.encode(), "application/rss+xml")
    return routes


def serve(
    feeds: int,
    entries: int,
    conn: Connection,
    *,
    full_text: bool = False,
    start: datetime | None = None,
    empty_first: bool = False,
    sentence: Callable[[random.Random], str] = _sentence,
) -> None:
    """The feed server's process: answers "count" (TCP connections accepted since the last
    "reset") and "reset" until "stop". ``empty_first``: the feeds have no entries until
    ("publish", feed numbers) is sent; ("empty", feed numbers) takes them away again."""
    from tests.feedserver import FeedServer  # noqa: PLC0415

    site = build_site(feeds, entries, full_text=full_text, start=start, sentence=sentence)
    empty = build_site(feeds, 0, start=start)
    with FeedServer() as server:

        def show(routes: dict[str, tuple[bytes, str]], tag: str) -> None:
            for path, (body, content_type) in routes.items():
                etag = f'"{tag}{hash(path) & 0xFFFFFF:x}"' if path.endswith("feed.xml") else None
                server.add(path, body, content_type=content_type, etag=etag)

        show(empty if empty_first else site, "e" if empty_first else "")
        conn.send(server.port)
        while (command := conn.recv()) != "stop":
            if isinstance(command, tuple):
                what, numbers = command
                prefixes = tuple(f"/f{f}/" for f in numbers)
                chosen = site if what == "publish" else empty
                show({p: r for p, r in chosen.items() if p.startswith(prefixes)}, what[0])
                conn.send(len(numbers))
                continue
            accepted = server.connections_accepted()
            if command == "reset":
                server.reset_stats()
            conn.send(accepted)


@contextlib.contextmanager
def feed_server(feeds: int, entries: int, **options: Any) -> Iterator[tuple[int, Connection, int]]:
    """The feed server in a child process (``serve``'s ``options``): its port, the
    connection that commands it, its pid. Stopped on exit."""
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve, args=(feeds, entries, there), kwargs=options, daemon=True
    )
    server.start()
    try:
        if not here.poll(600):
            raise SystemExit("the feed server did not start")
        assert server.pid is not None
        yield here.recv(), here, server.pid
    finally:
        here.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


def _ask(conn: Connection, command: str) -> int:
    conn.send(command)
    answer: int = conn.recv()
    return answer


class MemorySampler:
    """Sums the RSS of this process and its children (but ``excluded``) every 0.1 s."""

    def __init__(self, excluded: int) -> None:
        self._excluded = excluded
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._known: list[psutil.Process] = []
        self._listed = -1.0

    def processes(self, *, fresh: bool = True) -> list[psutil.Process]:
        """This process and its children; ``fresh=False`` reuses a list up to 1 s old:
        listing children reads every process's stat file, and the sampler runs in the
        process whose CPU is measured."""
        import psutil  # noqa: PLC0415

        if fresh or time.monotonic() - self._listed > 1.0:
            me = psutil.Process()
            children = (p for p in me.children(recursive=True) if p.pid != self._excluded)
            self._known = [me, *children]
            self._listed = time.monotonic()
        return self._known

    def each(self, *, fresh: bool = True) -> list[int]:
        """RSS of this process, then of each child."""
        import psutil  # noqa: PLC0415

        sizes = []
        for process in self.processes(fresh=fresh):
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.status() != psutil.STATUS_ZOMBIE:  # a replaced worker, not reaped
                    sizes.append(process.memory_info().rss)
        return sizes

    def total(self, *, fresh: bool = True) -> int:
        return sum(self.each(fresh=fresh))

    def children_cpu(self) -> float:
        """CPU seconds the children (the workers) have used so far."""
        import psutil  # noqa: PLC0415

        seconds = 0.0
        for process in self.processes()[1:]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                seconds += times.user + times.system
        return seconds

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.total(fresh=False))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def work_cpu(feed: bytes, pages: Sequence[bytes], now: datetime) -> float:
    """CPU seconds of the work itself for one feed and its pages: parse, extract, enrich."""
    from summaries.enrichment import enrich  # noqa: PLC0415
    from summaries.extract import extract_article  # noqa: PLC0415
    from summaries.feeds import parse_feed  # noqa: PLC0415

    started = time.process_time()
    parsed = parse_feed(feed, url="http://127.0.0.1/f0/feed.xml", now=now)
    for entry, page in zip(parsed.entries, pages, strict=False):
        article = extract_article(page, url=f"http://127.0.0.1{entry.url}", now=now)
        enrich(
            entry.title, article.text, language=entry.language, published=entry.published, now=now
        )
    return time.process_time() - started


async def raw_polls(urls: list[str], etags: dict[str, str], per_host: int) -> float:
    """Seconds plain httpx takes for the same conditional GETs, ``per_host`` at a time."""
    import httpx  # noqa: PLC0415

    limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host)
    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        queue = iter(urls)

        async def worker() -> None:
            for url in queue:
                response = await client.get(url, headers={"If-None-Match": etags[url]})
                assert response.status_code == 304, response.status_code

        await asyncio.gather(*(worker() for _ in range(per_host)))
    return time.perf_counter() - started


def _mb(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


async def bench(
    args: argparse.Namespace, url: str, port: int, server: Connection, server_pid: int
) -> None:
    import bot.app  # noqa: F401, PLC0415  -- the bot's modules count in its memory, as in sciforum run
    from bot.ingest import Ingestor  # noqa: PLC0415
    from bot.workers import WorkerPool  # noqa: PLC0415
    from db import queries  # noqa: PLC0415
    from db.engine import create_engine, session_factory  # noqa: PLC0415
    from db.migrate import upgrade  # noqa: PLC0415
    from summaries.fetch import Fetcher, FetchLimits  # noqa: PLC0415

    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    feed_urls = [f"http://127.0.0.1:{port}/f{f}/feed.xml" for f in range(args.feeds)]
    async with sessions() as session, session.begin():
        await queries.add_feeds_missing(session, [(u, None) for u in feed_urls], now=now)
    pool = WorkerPool(args.workers)
    try:
        from bot.heap import settle_heap  # noqa: PLC0415
    except ImportError:  # measuring a tree from before bot.heap
        pass
    else:
        settle_heap()  # as sciforum run does once it has started
    # The benchmark's feeds are served from loopback.
    fast = FetchLimits(max_connections=64, max_per_host=64, allow_private_addresses=True)
    defaults = FetchLimits(allow_private_addresses=True)
    # The work itself, in a worker (same BLAS threads, same warm caches as the pass); this
    # also starts the worker, whose start-up is not the pipeline's per-article cost.
    site = build_site(1, args.entries)
    feed = site["/f0/feed.xml"][0]
    pages = [site[f"/f0/a{e}.html"][0] for e in range(args.entries)]
    samples = [await pool.run(partial(work_cpu, feed, pages, now)) for _ in range(3)]
    work = min(samples) / max(args.entries, 1)
    with MemorySampler(server_pid) as memory:
        workers_cpu = memory.children_cpu()
        cpu = time.process_time()
        async with Fetcher(fast) as fetcher:
            ingestor = Ingestor(sessions, fetcher, interval=600, max_errors=10, executor=pool)
            started = time.perf_counter()
            first = await ingestor.run_pass(now=now)
            new_seconds = time.perf_counter() - started
        main_cpu = time.process_time() - cpu
        workers_cpu = memory.children_cpu() - workers_cpu
        peak = memory.peak
    await asyncio.sleep(3)
    gc.collect()
    settled = memory.each()

    _ask(server, "reset")
    async with Fetcher(defaults) as fetcher:
        ingestor = Ingestor(sessions, fetcher, interval=600, max_errors=10, executor=pool)
        started, cpu = time.perf_counter(), time.process_time()
        second = await ingestor.run_pass(now=now + timedelta(hours=1), include_all=True)
        poll_seconds, poll_cpu = time.perf_counter() - started, time.process_time() - cpu
    ours_connections = _ask(server, "reset")
    etags = {u: f'"{hash(f"/f{f}/feed.xml") & 0xFFFFFF:x}"' for f, u in enumerate(feed_urls)}
    cpu = time.process_time()
    raw_seconds = await raw_polls(feed_urls, etags, defaults.max_per_host)
    raw_cpu = time.process_time() - cpu
    raw_connections = _ask(server, "count")

    pool.close()
    await engine.dispose()
    articles = len(first.new_articles)
    per_article = (main_cpu + workers_cpu) / max(articles, 1)
    overhead = per_article - work
    print(f"database            {url.rsplit('@', maxsplit=1)[-1]}")
    print(f"feeds x entries     {args.feeds} x {args.entries}, {args.workers} worker process(es)")
    print(
        f"pass 1 (all new)    {articles} articles in {new_seconds:.1f} s = "
        f"{articles / new_seconds:.0f} new articles/s ({first.page_fetches} pages fetched, "
        f"{first.failed} feeds failed, {first.storage_errors} storage errors, {first.bugs} bugs, "
        f"{first.page_failures} pages and {first.enrich_failures} summaries failed)"
    )
    cpu_line = "CPU per article     no articles (--entries 0)"
    if articles:
        cpu_line = (
            f"CPU per article     {per_article * 1000:.1f} ms in all = {work * 1000:.1f} ms "
            f"parse + extract + enrich + {overhead * 1000:.1f} ms pipeline "
            f"(overhead {overhead / work:.2f}x the work; "
            f"main process {main_cpu / articles * 1000:.1f} ms)"
        )
    print(cpu_line)
    print(
        f"RSS, all processes  peak {_mb(peak)} during pass 1, settled {_mb(sum(settled))} "
        f"after it ({' + '.join(_mb(size) for size in settled)})"
    )
    print(
        f"pass 2 (all 304)    {second.not_modified}/{second.checked} not modified "
        f"in {poll_seconds:.2f} s = {second.checked / poll_seconds:.0f} feed polls/s, "
        f"{ours_connections} TCP connections (per host {defaults.max_per_host})"
    )
    print(
        f"raw httpx, same GETs {raw_seconds:.2f} s, {raw_connections} TCP connections: "
        f"ours {poll_seconds / raw_seconds:.2f}x raw"
    )
    # CPU of this process (threads included): steadier than wall time on a shared machine.
    print(
        f"CPU, same GETs      ours {poll_cpu:.2f} s, raw httpx {raw_cpu:.2f} s: "
        f"ours {poll_cpu / max(raw_cpu, 1e-9):.2f}x raw"
    )


def default_workers() -> int:
    try:
        from bot.cpus import default_workers as workers_for  # noqa: PLC0415
        from bot.cpus import usable_cpus  # noqa: PLC0415
    except ImportError:  # measuring a tree from before bot.cpus
        from bot.settings import Settings  # noqa: PLC0415

        return Settings(_env_file=None).worker_count
    return workers_for(usable_cpus())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--workers", type=int, default=0, help="summarizing processes (default: as sciforum run)"
    )
    args = parser.parse_args()
    args.workers = args.workers or default_workers()
    with (
        feed_server(args.feeds, args.entries) as (port, conn, pid),
        tempfile.TemporaryDirectory() as tmp,
    ):
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        asyncio.run(bench(args, url, port, conn, pid))


if __name__ == "__main__":
    main()
