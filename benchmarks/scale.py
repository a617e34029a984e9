"""Memory at scale: the RSS of every process of ``sciforum run`` (role all, defaults) with
100,000 subscribed chats and 100,000 stored articles, idle, during a 1,000-article burst and
settled after it; and where the main process's memory goes.

A fresh database (SQLite, or a throwaway PostgreSQL from ``tests/pg.py``) is seeded in bulk:
chats in ``benchmarks/routing.py``'s shape (``seed_chats``; mostly digests, as
``benchmarks/burst.py`` seeds them, so the outbox does not hold a million instant cards),
and articles made of the real abstracts of ``../shared/topics`` (``benchmarks/search.py``'s
``load_sources`` / ``article_rows`` / ``fill``: with their search-index rows), stored as
routed, with topics, a summary, a content hash and a simhash, first seen over the last 12
days (so the dedup index loads its full window). Then the real ``sciforum run`` runs as a
subprocess with default settings, but for the fake Bot API (``tests/fakebot.py``), the feed
list (``FEEDS``: ``--feeds`` feeds on the loopback feed server of ``benchmarks/ingest.py``,
empty at first) and ``HTTP_ALLOW_PRIVATE`` (the feeds are on loopback).

Phases, each printed per process (main, summarizing workers, multiprocessing's resource
tracker) and summed, sampled every 0.2 s from /proc through psutil:

- start: after the first pass over the (empty) feeds;
- idle: after a warm-up feed's 20 articles are ingested and routed (the worker started,
  the subscription index and the dedup index built, as in a bot that has been running);
- commands: after a subscribed user's ``COMMANDS`` are answered (a Chinese search among
  them: jieba's dictionary is loaded where the query is segmented);
- burst: peak while ``--feeds`` x ``--entries`` new articles are ingested and routed (cut
  after ``--burst-seconds``; the SQLite files' sizes are printed then);
- settled: ``--settle`` seconds after the last of them is routed, or the cut.

Then, in a fresh process on the same database, the main process's memory step by step (RSS
from one run, Python objects from a second under tracemalloc): importing the app, building
the subscription index, loading the dedup index, searches, and the live objects by package.

    .venv/bin/python benchmarks/scale.py --burst-seconds 1200   # 100k chats and articles, ~35 min
    .venv/bin/python benchmarks/scale.py --chats 10000 --articles 10000   # a quick look
    .venv/bin/python benchmarks/scale.py --engine postgresql
    .venv/bin/python benchmarks/scale.py --breakdown-of sqlite:///data/x.db   # the breakdown alone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The app's modules are imported where they are used: the measured process is another one,
# and the step-by-step breakdown starts from a bare interpreter.

GOAL_MB = 600
WARM_ENTRIES = 20
# The figures' columns: the last sample of each phase but the burst's, the burst's peak.
PHASES = ("start", "idle", "commands", "peak, burst", "settled")
# What a user asks of a running bot, a Chinese search among them (``/search`` segments its
# Chinese words with jieba in the bot's process); each waits for its answer.
COMMANDS = ("/latest", "/search graphene", "/search 量子", "/settings")
ASKER = 1  # a subscribed private chat of routing.py's seeding


# --------------------------------------------------------------------------- seeding


def seed_articles(url: str, count: int, seed: int) -> int:
    """``count`` routed articles of real abstracts with their search-index rows; returns the
    last article id."""
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    import sqlalchemy as sa  # noqa: PLC0415

    from benchmarks.routing import topic_weights  # noqa: PLC0415
    from benchmarks.search import article_rows, fill, load_sources  # noqa: PLC0415
    from db.engine import create_sync_engine  # noqa: PLC0415
    from summaries.dedup import to_signed  # noqa: PLC0415

    started = time.perf_counter()
    sources = load_sources(count)
    rows = article_rows(sources, count)
    del sources
    rng = random.Random(seed)
    slugs, weights = topic_weights()
    now = datetime.now(UTC).replace(tzinfo=None)
    for n, row in enumerate(rows):
        # Newest last, ten seconds apart: 100,000 span ~12 days, inside the dedup window.
        seen = now - timedelta(seconds=10 * (count - n))
        topics = list(dict.fromkeys(rng.choices(slugs, weights, k=rng.choice((1, 2, 2, 3)))))
        text = row["text"]
        row.update(
            published=seen - timedelta(hours=rng.randrange(48)),
            first_seen=seen,
            routed_at=seen,
            summarized_at=seen,
            announce=True,
            topics=json.dumps(topics),
            topic_scores=json.dumps({t: round(0.9 - 0.2 * i, 2) for i, t in enumerate(topics)}),
            summary=json.dumps([s.strip() + "." for s in text.split(". ")[:3]]),
            language="zh" if any("\u4e00" <= c <= "\u9fff" for c in text[:50]) else "en",
            # A real digest's shape; the simhash is random: its 64 bits spread over the
            # index's buckets as a text's do, at none of simhash's CPU.
            content_hash=hashlib.sha256(f"{row['title']}\n{text}".encode()).hexdigest(),
            simhash=to_signed(rng.getrandbits(64)),
        )
    made = time.perf_counter() - started
    seconds = fill(url, rows)
    del rows
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # ids were given: move the sequence past them
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles"
                )
            )
        last = connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM articles")).scalar_one()
    engine.dispose()
    print(
        f"  seeded {count:,} articles with their search rows: texts and words made in "
        f"{made:.0f} s, stored in {seconds:.0f} s",
        flush=True,
    )
    return int(last)


def seed(url: str, chats: int, articles: int, seed_value: int) -> int:
    from benchmarks.burst import MODES  # noqa: PLC0415
    from benchmarks.routing import seed_chats  # noqa: PLC0415
    from db.migrate import upgrade  # noqa: PLC0415

    upgrade(url)
    seed_chats(url, chats, random.Random(seed_value), modes=MODES)
    return seed_articles(url, articles, seed_value) if articles else 0


# --------------------------------------------------------------------------- measuring


@dataclass
class Sampler:
    """RSS of a process and its descendants, every ``every`` seconds, kept per process."""

    pid: int
    every: float = 0.2
    excluded: set[int] = field(default_factory=set)
    samples: list[tuple[float, dict[int, int]]] = field(default_factory=list)
    kinds: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Sampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _kind(self, process: Any) -> str:
        if process.pid == self.pid:
            return "main"
        try:
            line = " ".join(process.cmdline())
        except Exception:
            return "child"
        if "resource_tracker" in line:
            return "resource tracker"
        if "spawn_main" in line or "forkserver" in line:
            return "worker"
        return "child"

    def _run(self) -> None:
        import psutil  # noqa: PLC0415

        try:
            main = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.wait(self.every):
            sizes: dict[int, int] = {}
            try:
                processes = [main, *main.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                if process.pid in self.excluded:
                    continue
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    if process.status() == psutil.STATUS_ZOMBIE:
                        continue
                    sizes[process.pid] = process.memory_info().rss
                    if process.pid not in self.kinds:
                        self.kinds[process.pid] = self._kind(process)
            self.samples.append((time.monotonic(), sizes))

    def mark(self) -> float:
        return time.monotonic()

    def between(self, start: float, end: float) -> list[dict[int, int]]:
        return [sizes for at, sizes in self.samples if start <= at <= end]

    def label(self, pid: int) -> str:
        return self.kinds.get(pid, "child")


@dataclass
class Figures:
    """Per process label, MiB in each phase (``PHASES``); and the sums."""

    rows: dict[str, list[float | None]] = field(default_factory=dict)
    totals: list[float | None] = field(default_factory=lambda: [None] * len(PHASES))


def by_label(sampler: Sampler, sizes: dict[int, int]) -> dict[str, float]:
    labels: dict[str, float] = {}
    counts: dict[str, int] = {}
    for pid, rss in sorted(sizes.items()):
        label = sampler.label(pid)
        counts[label] = counts.get(label, 0) + 1
        name = label if counts[label] == 1 else f"{label} {counts[label]}"
        labels[name] = rss / 2**20
    return labels


def summarise(sampler: Sampler, phases: list[tuple[float, float, bool]]) -> Figures:
    """``phases``: (start, end, peak?) of each of ``PHASES``: the last sample of a phase, or
    its peak (per process, and the peak of the sum)."""
    figures = Figures()
    for i, (start, end, peak) in enumerate(phases):
        window = sampler.between(start, end)
        if not window:
            continue
        if peak:
            labelled = [by_label(sampler, s) for s in window]
            values: dict[str, float] = {}
            for one in labelled:
                for name, mib in one.items():
                    values[name] = max(values.get(name, 0.0), mib)
            total = max(sum(one.values()) for one in labelled)
        else:
            values = by_label(sampler, window[-1])
            total = sum(values.values())
        for name, mib in values.items():
            figures.rows.setdefault(name, [None] * len(PHASES))[i] = mib
        figures.totals[i] = total
    return figures


def scalar(url: str, sql: str, **params: Any) -> int:
    import sqlalchemy as sa  # noqa: PLC0415

    from db.engine import create_sync_engine  # noqa: PLC0415

    engine = create_sync_engine(url, connect_timeout=30)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(sql), params).scalar_one() or 0)
    finally:
        engine.dispose()


def route_matches(url: str, *, after: int) -> int:
    """The (chat, article) matches of the routes of articles after ``after``: one route row
    an article holds its chats' slots as bitmaps (db.routes)."""
    import sqlalchemy as sa  # noqa: PLC0415

    from db.engine import create_sync_engine  # noqa: PLC0415
    from db.routes import decode  # noqa: PLC0415

    engine = create_sync_engine(url, connect_timeout=30)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT instant, digest FROM routes WHERE article_id > :id"), {"id": after}
            )
            return sum(len(decode(instant)) + len(decode(digest)) for instant, digest in rows)
    finally:
        engine.dispose()


def database_files(url: str) -> str:
    """The SQLite file's size and its write-ahead log's (which a checkpoint that never
    completes lets grow without bound); nothing for PostgreSQL."""
    from db.engine import sqlite_file  # noqa: PLC0415

    path = sqlite_file(url)
    if path is None:
        return "PostgreSQL"
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            sizes[suffix] = (path.parent / (path.name + suffix)).stat().st_size / 2**20
    return "SQLite files: " + ", ".join(f"{path.name}{k} {v:,.0f} MiB" for k, v in sizes.items())


def make_due(url: str, feed_urls: list[str]) -> None:
    """The feeds are due now: the ingest job (every 30 s by default) polls them next."""
    import sqlalchemy as sa  # noqa: PLC0415

    from db.engine import create_sync_engine  # noqa: PLC0415

    engine = create_sync_engine(url, connect_timeout=30)
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
    try:
        with engine.begin() as connection:
            statement = sa.text("UPDATE feeds SET next_check = :past WHERE url IN :urls")
            connection.execute(
                statement.bindparams(sa.bindparam("urls", expanding=True)),
                {"past": past, "urls": feed_urls},
            )
    finally:
        engine.dispose()


def wait_for(what: str, check: Any, timeout: float, process: subprocess.Popen[bytes]) -> float:
    """Poll ``check`` every second until true; the seconds it took."""
    started = time.monotonic()
    while not check():
        if process.poll() is not None:
            raise SystemExit(f"sciforum run exited ({process.returncode}) waiting for {what}")
        if time.monotonic() - started > timeout:
            print(f"  gave up waiting for {what} after {timeout:.0f} s", flush=True)
            break
        time.sleep(1)
    return time.monotonic() - started


def publish(server: Connection, what: str, numbers: range) -> None:
    server.send((what, list(numbers)))
    server.recv()


def start_app(
    url: str, fake: Any, folder: Path, feeds_file: Path, extra: list[str]
) -> subprocess.Popen[bytes]:
    # Only what this run needs; every other setting at its default (none taken from the
    # environment or a .env: the working directory is the run's own folder).
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    }
    env.update(
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.url,
        FEEDS=str(feeds_file),
        HTTP_ALLOW_PRIVATE="true",
        PYTHONPATH=str(ROOT),
    )
    env.update(item.split("=", 1) for item in extra)
    with (folder / "run.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "run"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def measure(args: argparse.Namespace, url: str, folder: Path) -> tuple[Figures, dict[str, Any]]:
    from benchmarks.burst import news_sentence  # noqa: PLC0415
    from benchmarks.ingest import feed_server  # noqa: PLC0415
    from tests.fakebot import FakeTelegram, Limits  # noqa: PLC0415

    options = {
        "full_text": True,
        # Published within the last day: older entries are not news.
        "start": datetime.now(UTC) - timedelta(days=1),
        "empty_first": True,
        "sentence": news_sentence,
    }
    notes: dict[str, Any] = {}
    # One more feed than the burst's: the warm-up's.
    with feed_server(args.feeds + 1, args.entries, **options) as (port, server, server_pid):
        feed_urls = [f"http://127.0.0.1:{port}/f{f}/feed.xml" for f in range(args.feeds + 1)]
        feeds_file = folder / "feeds.txt"
        feeds_file.write_text("\n".join(feed_urls) + "\n")
        last = seed(url, args.chats, args.articles, args.seed)
        notes["load before"] = os.getloadavg()
        fake = FakeTelegram(enforce_limits=True, limits=Limits()).start()
        process = start_app(url, fake, folder, feeds_file, args.env)
        sampler = Sampler(process.pid, excluded={server_pid}).start()
        phases: list[tuple[float, float, bool]] = []
        try:
            began = sampler.mark()
            waited = wait_for(
                "the first pass",
                lambda: (
                    scalar(url, "SELECT count(*) FROM feeds WHERE last_checked IS NOT NULL")
                    >= len(feed_urls)
                ),
                600,
                process,
            )
            time.sleep(5)
            phases.append((began, sampler.mark(), False))
            notes["start"] = waited
            print(f"  started, first pass over {len(feed_urls)} empty feeds: {waited:.0f} s")

            publish(server, "publish", range(args.feeds, args.feeds + 1))
            make_due(url, feed_urls[-1:])
            waited = wait_for(
                "the warm-up",
                lambda: (
                    scalar(
                        url,
                        "SELECT count(*) FROM articles WHERE id > :id AND routed_at IS NOT NULL",
                        id=last,
                    )
                    >= WARM_ENTRIES
                ),
                600,
                process,
            )
            last = scalar(url, "SELECT max(id) FROM articles")
            print(f"  warm-up: {WARM_ENTRIES} articles ingested and routed in {waited:.0f} s")
            idle_from = sampler.mark()
            time.sleep(args.idle)
            phases.append((idle_from, sampler.mark(), False))

            asked_from = sampler.mark()
            answers = []
            for command in COMMANDS:
                before = len(fake.messages(ASKER))
                sent = time.monotonic()
                fake.user_sends(ASKER, command)
                try:
                    fake.wait_for_messages(ASKER, before + 1, timeout=120)
                    answers.append(f"{command} {time.monotonic() - sent:.1f} s")
                except TimeoutError:
                    answers.append(f"{command} no answer in 120 s")
            time.sleep(5)
            phases.append((asked_from, sampler.mark(), False))
            print(f"  asked: {', '.join(answers)}", flush=True)

            burst = args.feeds * args.entries
            publish(server, "publish", range(args.feeds))
            burst_from = sampler.mark()
            make_due(url, feed_urls[:-1])
            waited = wait_for(
                "the burst",
                lambda: (
                    scalar(
                        url,
                        "SELECT count(*) FROM articles WHERE id > :id AND routed_at IS NOT NULL",
                        id=last,
                    )
                    >= burst
                ),
                args.burst_seconds,
                process,
            )
            stored = scalar(url, "SELECT count(*) FROM articles WHERE id > :id", id=last)
            routed = scalar(
                url,
                "SELECT count(*) FROM articles WHERE id > :id AND routed_at IS NOT NULL",
                id=last,
            )
            matches = route_matches(url, after=last)
            burst_to = sampler.mark()
            notes["burst"] = (waited, stored, routed, matches)
            print(f"  {database_files(url)}", flush=True)
            print(
                f"  burst: {stored:,} stored, {routed:,} routed ({matches:,} chat matches) in "
                f"{waited:.0f} s (from the feeds made due; the ingest job runs every 30 s)",
                flush=True,
            )
            time.sleep(args.settle)
            phases.append((burst_from, burst_to, True))
            phases.append((burst_to, sampler.mark(), False))
            notes["load after"] = os.getloadavg()
        finally:
            sampler.stop()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            fake.stop()
    return summarise(sampler, phases), notes


def show(figures: Figures, notes: dict[str, Any], args: argparse.Namespace) -> None:
    def mib(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    print(
        f"\nRSS in MiB, sciforum run --role all (defaults), {args.chats:,} chats, "
        f"{args.articles:,} articles, burst of {args.feeds * args.entries:,}"
    )
    print("| process | " + " | ".join(PHASES) + " |")
    print("|---|" + "---:|" * len(PHASES))
    for name, values in sorted(figures.rows.items(), key=lambda item: (item[0] != "main", item[0])):
        print(f"| {name} | " + " | ".join(mib(v) for v in values) + " |")
    print("| all processes | " + " | ".join(mib(v) for v in figures.totals) + " |")
    peak, settled = figures.totals[-2:]
    goal = GOAL_MB * 10**6 / 2**20
    verdict = "met" if (peak or 0) <= goal and (settled or 0) <= goal else "MISSED"
    print(f"goal <= {GOAL_MB} MB ({goal:.0f} MiB) all processes, peak and settled: {verdict}")
    before, after = notes.get("load before"), notes.get("load after")
    if before and after:
        print(
            f"load average (1/5/15 min) {before[0]:.1f}/{before[1]:.1f}/{before[2]:.1f} before, "
            f"{after[0]:.1f}/{after[1]:.1f}/{after[2]:.1f} after, {os.cpu_count()} CPUs"
        )


# --------------------------------------------------------------------------- breakdown


def rss_mib() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def package_of(filename: str) -> str:
    """A traced allocation's package: the app's top-level package, or the site-package."""
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if str(path).startswith(str(ROOT)):
        return "/".join(path.relative_to(ROOT).parts[:2])
    return "stdlib" if "python3" in str(path) else path.name


@dataclass
class Steps:
    """What each step added: RSS (MiB) and, when traced, Python objects (MiB)."""

    traced: bool
    added: list[tuple[str, float, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        import gc  # noqa: PLC0415
        import tracemalloc  # noqa: PLC0415

        gc.collect()
        rss, traced = rss_mib(), tracemalloc.get_traced_memory()[0]
        yield
        gc.collect()
        grown = (tracemalloc.get_traced_memory()[0] - traced) / 2**20
        self.added.append((name, rss_mib() - rss, grown if self.traced else None))


async def breakdown_steps(url: str, steps: Steps) -> Any:
    from db.engine import create_engine, session_factory  # noqa: PLC0415

    engine = create_engine(url)
    sessions = session_factory(engine)
    held: list[Any] = []
    try:
        try:
            from bot.subscribers import subscribers  # noqa: PLC0415

            subs = subscribers(sessions)
            with steps.step("subscription index (rows loaded, index built)"):
                async with sessions() as session, subs.lock:
                    held.append(await subs.current(session))
        except (ImportError, AttributeError, TypeError) as exc:
            steps.notes.append(f"subscription index: not measured in this version ({exc})")

        from bot.ingest import DEDUP_WINDOW  # noqa: PLC0415
        from db import articles  # noqa: PLC0415
        from summaries.dedup import MAX_ITEMS, DedupIndex  # noqa: PLC0415

        index = DedupIndex()
        with steps.step(f"dedup index (newest {MAX_ITEMS:,} of the last {DEDUP_WINDOW.days} days)"):
            async with sessions() as session:
                keys = await articles.recent_article_keys(
                    session, since=datetime.now(UTC) - DEDUP_WINDOW, limit=MAX_ITEMS
                )
            for article_id, url_, content_hash, simhash in keys:
                index.add(article_id, url=url_, content_hash=content_hash, simhash=simhash)
            del keys
            held.append(index)
        steps.notes.append(f"the dedup index holds {len(index):,} articles' keys")

        from db import chats as chats_db  # noqa: PLC0415
        from db import search as search_db  # noqa: PLC0415
        from summaries.rules import parse_rule  # noqa: PLC0415

        async def search(queries: tuple[str, ...]) -> None:
            async with sessions() as session:
                anchor = await chats_db.newest_article_id(session)
                for query in queries:
                    rule = parse_rule(query)
                    await search_db.search_articles(
                        session, rule.include_terms, rule.exclude_terms, limit=11, max_id=anchor
                    )
                await chats_db.recent_articles(session, limit=10)

        with steps.step("4 English searches, /latest's page (database caches)"):
            await search(("graphene", "neural networks", "model", "climate -model"))
        with steps.step("a Chinese search (/search 量子)"):
            await search(("量子",))
    finally:
        await engine.dispose()
    return held


def breakdown(url: str, *, traced: bool) -> None:
    """The main process's memory step by step, in this (fresh) process; printed as JSON.
    Traced (tracemalloc): what each step's Python objects hold and where the live ones were
    allocated; the RSS figures are those of an untraced run (tracing costs memory)."""
    import gc  # noqa: PLC0415
    import json  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415

    steps = Steps(traced)
    steps.added.append(("bare interpreter", rss_mib(), None))
    with steps.step("importing the app as sciforum run does"):
        # bot.app through run_bot, the ingest stack through open_context.
        import bot.app  # noqa: PLC0415
        import bot.context  # noqa: PLC0415
        import bot.ingest  # noqa: PLC0415
        import bot.runner  # noqa: F401, PLC0415
    if traced:
        tracemalloc.start()
    held = asyncio.run(breakdown_steps(url, steps))
    gc.collect()
    by_package: dict[str, int] = {}
    if traced:
        for stat in tracemalloc.take_snapshot().statistics("filename"):
            name = package_of(stat.traceback[0].filename)
            by_package[name] = by_package.get(name, 0) + stat.size
    top = sorted(by_package.items(), key=lambda item: -item[1])[:8]
    print(json.dumps({"added": steps.added, "notes": steps.notes, "rss": rss_mib(), "top": top}))
    del held


def show_breakdown(url: str) -> None:
    import json  # noqa: PLC0415

    found = []
    for traced in (False, True):
        command = [sys.executable, str(Path(__file__).resolve()), "--breakdown", url]
        done = subprocess.run(
            [*command, *(["--traced"] if traced else [])],
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if done.returncode:
            print(done.stderr[-2000:])
            return
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    plain, traced_run = found
    objects = {name: grown for name, _, grown in traced_run["added"]}
    print(f"  {'step':<56} {'RSS':>9} {'Python objects':>15}")
    for name, rss, _ in plain["added"]:
        grown = objects.get(name)
        size = f"{rss:8.1f}" if name == "bare interpreter" else f"{rss:+8.1f}"
        shown = "" if grown is None else f"{grown:+10.1f} MiB"
        print(f"  {name:<56} {size} MiB {shown:>15}")
    print(f"  {'total':<56} {plain['rss']:8.1f} MiB")
    for note in plain["notes"]:
        print(f"  ({note})")
    print("  Python objects alive at the end (traced run), by where they were allocated:")
    for name, size in traced_run["top"]:
        print(f"    {size / 2**20:7.1f} MiB  {name}")


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace, url: str, folder: Path) -> None:
    figures, notes = measure(args, url, folder)
    show(figures, notes, args)
    print("\nwhere the main process's memory goes (a fresh process, same database):", flush=True)
    show_breakdown(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--feeds", type=int, default=50, help="burst feeds")
    parser.add_argument("--entries", type=int, default=20, help="new entries per burst feed")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds idle after warm-up")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds after the burst")
    parser.add_argument("--burst-seconds", type=float, default=1800.0, help="give up after")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="set for sciforum run"
    )
    parser.add_argument(
        "--breakdown-of", metavar="URL", help="only the main process's breakdown, on a database"
    )
    parser.add_argument("--breakdown", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.breakdown:
        breakdown(args.breakdown, traced=args.traced)
        return
    if args.breakdown_of:
        show_breakdown(args.breakdown_of)
        return
    print(
        f"{args.engine}: {args.chats:,} chats, {args.articles:,} articles; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        if args.engine == "sqlite":
            run(args, f"sqlite:///{folder / 'scale.db'}", folder)
            return
        from tests.pg import start_postgres  # noqa: PLC0415

        server = start_postgres()
        try:
            run(args, server.create_database("scale"), folder)
        finally:
            server.stop()
    finally:
        if args.keep:
            print(f"(the run's log and database: {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
