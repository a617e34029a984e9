"""Command latency during an ingest burst: how long `/latest 10`, `/search fusion` and
`/settings` take to answer while 1,000 new articles are ingested and routed in the same
process, against the same commands idle, at 1,000 and 100,000 subscribed chats.

The bot runs as ``sciforum run --role all`` runs it: ``bot.context.open_context`` (the
worker pool with its default size, ``SUMMARY_WORKERS``), ``bot.app.build_application``
and its ingest job, which routes each feed's articles by the subscription index as they
are stored. Telegram is the fake Bot API (its limits enforced) in a process of its own, as
Telegram is not in the bot's process; the feeds are served by
the loopback feed server in a child process (``benchmarks/ingest.py``'s synthetic site,
each entry's full text in the feed, so no page is fetched). Subscribed chats are written
straight into a fresh SQLite database in ``benchmarks/routing.py``'s shape (~1.6 topics a
chat, popular topics followed far more, ~45 % with a keyword rule), mostly in digest mode
(``MODES``), so the outbox is not what is measured.

Per chat count: a warm-up ingest of one feed (the worker starts, the subscription index
is built, as in a bot that has been running), ``--seconds`` of commands idle, then the
burst (``--feeds`` x ``--entries`` new entries) with the same commands until its pass
ends. Commands go out one every ``--every`` s, rotating over subscribed users (as
``benchmarks/latency.py`` sends and times them). A 10 ms ticker on the event loop gives
the loop's worst stall; while the loop is late, a thread samples the loop thread's stack,
and the places seen most are printed (where the loop was held).

    .venv/bin/python benchmarks/burst.py                          # 1k and 100k chats, ~3 minutes
    .venv/bin/python benchmarks/burst.py --chats 1000             # one size
    .venv/bin/python benchmarks/burst.py --chats 1000 --feeds 10  # a quick look (200 articles)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from benchmarks.latency import Sample

# The app's modules are imported where they are used: the summarizing workers are spawned
# and import this module again, and sciforum run's workers do not carry the bot.

COMMANDS = ("/latest 10", "/search fusion", "/settings")
# With --new-searches, each /search is a query its chat never made (the same articles
# match): it saves a new list before it answers, where a repeated query only reads.
NEW_SEARCHES = 5000
# Shares of instant, daily and weekly chats: mostly digests.
MODES = (10, 70, 20)
TICK = 0.01
# The loop is stalled when its ticker is this late; then its stack is sampled.
STALLED = 0.05
PACKAGES = tuple(str(ROOT / name) + os.sep for name in ("bot", "db", "summaries"))


def where(frame: FrameType | None) -> str:
    """The innermost two frames of the app's own code and the innermost frame of all."""
    innermost = ""
    ours: list[str] = []
    while frame is not None and len(ours) < 2:
        code = frame.f_code
        place = f"{code.co_filename}:{frame.f_lineno} {code.co_name}"
        innermost = innermost or place
        if code.co_filename.startswith(PACKAGES):
            ours.append(place.removeprefix(str(ROOT) + os.sep))
        frame = frame.f_back
    inner = innermost.rsplit("site-packages" + os.sep, maxsplit=1)[-1]
    if not ours or not innermost.startswith(PACKAGES):
        ours.insert(0, inner)
    return " < ".join(ours)


@dataclass
class LoopWatch:
    """A ticker on the event loop (how late each tick is: how long the loop was held) and a
    thread sampling the loop thread's stack every 20 ms while the ticker is late."""

    lateness: list[float] = field(default_factory=list)
    stacks: Counter[str] = field(default_factory=Counter)
    _last: float = field(default_factory=time.monotonic)
    _done: threading.Event = field(default_factory=threading.Event)

    async def run(self) -> None:
        ident = threading.get_ident()
        sampler = threading.Thread(target=self._sample, args=(ident,), daemon=True)
        sampler.start()
        try:
            while True:
                before = time.monotonic()
                await asyncio.sleep(TICK)
                self._last = time.monotonic()
                self.lateness.append(self._last - before - TICK)
        finally:
            self._done.set()

    def _sample(self, ident: int) -> None:
        while not self._done.wait(0.02):
            if time.monotonic() - self._last > STALLED:
                self.stacks[where(sys._current_frames().get(ident))] += 1

    def take(self) -> tuple[list[float], Counter[str]]:
        """The figures so far; the watch starts again from nothing."""
        taken = self.lateness, self.stacks
        self.lateness, self.stacks = [], Counter()
        return taken


def serve_fake(conn: Connection) -> None:
    """The fake Bot API in a process of its own, answering ``RemoteFake``'s calls: Telegram
    is not in the bot's process, and in it the fake's threads competed with the bot for the
    interpreter and stamped replies late (the stamp is taken when the fake handles the
    request). Replies to ``(tag, "send", user, text)`` with when the update was queued and
    how many messages the user had; to ``(tag, "wait", user, count)`` with the
    ``count``-th message's (timestamp, text), or None after 30 s."""
    from tests.fakebot import FakeTelegram, Limits  # noqa: PLC0415

    fake = FakeTelegram(enforce_limits=True, limits=Limits(global_per_second=30)).start()
    sending = threading.Lock()

    def answer(tag: int, result: Any) -> None:
        with sending:
            conn.send((tag, result))

    def wait(tag: int, user: int, count: int) -> None:
        try:
            message = fake.wait_for_messages(user, count, timeout=30)[count - 1]
        except TimeoutError:
            answer(tag, None)
        else:
            answer(tag, (message.timestamp, message.plain_text or ""))

    answer(0, (fake.token, fake.url))
    while (call := conn.recv()) is not None:
        tag, what, user, *rest = call
        if what == "send":
            before = len(fake.messages(user))
            queued = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
            fake.user_sends(user, rest[0])
            answer(tag, (queued, before))
        else:
            threading.Thread(target=wait, args=(tag, user, rest[0]), daemon=True).start()
    fake.stop()


class RemoteFake:
    """The bot's side of ``serve_fake``: its token and URL, and awaitable calls."""

    def __init__(self) -> None:
        import multiprocessing  # noqa: PLC0415

        spawn = multiprocessing.get_context("spawn")
        self._conn, there = spawn.Pipe()
        self._process = spawn.Process(target=serve_fake, args=(there,), daemon=True)
        self._process.start()
        if not self._conn.poll(120):
            raise SystemExit("the fake Bot API did not start")
        _, (self.token, self.url) = self._conn.recv()
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._tags = iter(range(1, 1 << 62))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                tag, result = self._conn.recv()
            except (EOFError, OSError):
                return
            future = self._calls.pop(tag)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(future.set_result, result)

    async def call(self, what: str, user: int, argument: Any) -> Any:
        self._loop = asyncio.get_running_loop()
        tag = next(self._tags)
        future = self._calls[tag] = self._loop.create_future()
        self._conn.send((tag, what, user, argument))
        return await future

    def stop(self) -> None:
        self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
        self._conn.close()


async def ask(
    fake: RemoteFake,
    stop: asyncio.Event,
    every: float,
    commands: tuple[str, ...],
    turns: Iterator[int],
) -> list[Sample]:
    """``benchmarks.latency.ask`` against the fake in its own process: one command every
    ``every`` s, rotating over askers and ``commands`` from the next of ``turns``, until
    ``stop``. The turns go on from one phase to the next: started again, the first askers
    of the burst were the last of the idle phase, asked again within a second, and
    Telegram's one message a second to a chat held their answers back."""
    from benchmarks.latency import Sample as Taken  # noqa: PLC0415
    from benchmarks.latency import take_turns  # noqa: PLC0415

    samples: list[Sample] = []

    async def one(user: int, command: str) -> None:
        queued, before = await fake.call("send", user, command)
        reply = await fake.call("wait", user, before + 1)
        if reply is None:
            samples.append(Taken(command, float("inf")))
        else:
            samples.append(Taken(command, reply[0] - queued, reply[1]))

    await take_turns(one, stop, every, commands, turns)
    return samples


@dataclass
class Phase:
    name: str
    samples: list[Sample]
    lateness: list[float]
    stacks: Counter[str]
    seconds: float
    stored: Stored | None = None
    finished: bool = False


@dataclass
class Stored:
    """Articles stored after a given id: how many, how many routed, their chat matches."""

    articles: int
    routed: int
    matches: int
    last: int


async def stored_since(engine: Any, article_id: int) -> Stored:
    import sqlalchemy as sa  # noqa: PLC0415

    from db.routes import decode  # noqa: PLC0415

    async with engine.connect() as connection:
        articles, routed, last = (
            await connection.execute(
                sa.text(
                    "SELECT count(*), count(routed_at), coalesce(max(id), :id) FROM articles "
                    "WHERE id > :id"
                ),
                {"id": article_id},
            )
        ).one()
        routes = await connection.execute(
            sa.text("SELECT instant, digest FROM routes WHERE article_id > :id"),
            {"id": article_id},
        )
        matches = sum(len(decode(instant)) + len(decode(digest)) for instant, digest in routes)
    return Stored(articles, routed, matches, last)


@functools.cache
def vocabulary() -> tuple[list[str], tuple[str, ...]]:
    from benchmarks.routing import FILLER, science_words  # noqa: PLC0415

    return science_words(), FILLER


def news_sentence(rng: random.Random) -> str:
    """A sentence of plain words with one in ten a science word (``benchmarks/routing.py``'s
    articles): each keyword rule meets a few articles in a hundred."""
    science, filler = vocabulary()
    words = [rng.choice(science) if rng.random() < 0.1 else rng.choice(filler) for _ in range(15)]
    return " ".join(words).capitalize() + "."


async def ingest(app: Any, ctx: Any, urls: list[str]) -> Any:
    """Store ``urls`` as feeds if new, make them due, and run one ingest pass over them as
    the app's ingest job does (the job itself cannot be cancelled, a cut burst is)."""
    import sqlalchemy as sa  # noqa: PLC0415
    from sqlmodel import col  # noqa: PLC0415

    from bot.app import monitor  # noqa: PLC0415
    from db import queries  # noqa: PLC0415
    from db.models import Feed  # noqa: PLC0415

    now = datetime.now(UTC)
    async with ctx.sessions() as session, session.begin():
        await queries.add_feeds_missing(session, [(u, None) for u in urls], now=now)
    async with ctx.engine.begin() as connection:
        due = sa.update(Feed).where(col(Feed.url).in_(urls))
        await connection.execute(due.values(next_check=now - timedelta(minutes=1)))
    return await monitor(app).run_pass(ctx.ingestor, now=now)


async def tell(server: Connection, what: str, numbers: range) -> None:
    """Publish (or take away) the entries of feeds ``numbers`` on the feed server."""
    server.send((what, list(numbers)))
    await asyncio.to_thread(server.recv)


def commands(new_searches: bool) -> tuple[str, ...]:
    """What the askers send in turn."""
    if not new_searches:
        return COMMANDS
    return tuple(
        c.replace("/search fusion", f"/search fusion -zq{n}")
        for n in range(NEW_SEARCHES)
        for c in COMMANDS
    )


def labelled(sample: Sample) -> Sample:
    """A new search's sample as its command's (name, and the answer without the extra
    word)."""
    unique = re.compile(r" -zq\d+")
    return replace(
        sample, command=unique.sub("", sample.command), reply=unique.sub("", sample.reply)
    )


async def commands_while(
    fake: RemoteFake,
    watch: LoopWatch,
    every: float,
    until: asyncio.Future[Any] | float,
    *,
    turns: Iterator[int],
    new_searches: bool = False,
) -> tuple[list[Sample], float]:
    """Commands from the askers until ``until`` (a future, or seconds); what they took and
    how long the phase lasted."""
    stop = asyncio.Event()
    started = time.monotonic()
    asker = asyncio.create_task(ask(fake, stop, every, commands(new_searches), turns))
    if isinstance(until, float):
        await asyncio.sleep(until)
    else:
        await until
    seconds = time.monotonic() - started
    stop.set()
    return [labelled(s) for s in await asker], seconds


async def measure(
    args: argparse.Namespace, chats: int, port: int, server: Connection
) -> list[Phase]:
    import sqlalchemy as sa  # noqa: PLC0415
    from sqlmodel import col  # noqa: PLC0415

    from benchmarks.latency import ADMIN, USERS, running, seed  # noqa: PLC0415
    from benchmarks.routing import seed_chats  # noqa: PLC0415
    from bot.app import build_application  # noqa: PLC0415
    from bot.context import open_context  # noqa: PLC0415
    from bot.heap import settle_heap  # noqa: PLC0415
    from bot.settings import Settings  # noqa: PLC0415
    from db.migrate import upgrade  # noqa: PLC0415
    from db.models import Chat  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="burst-bench-"))
    (folder / "none.txt").write_text("")
    url = f"sqlite:///{folder / 'b.db'}"
    upgrade(url)
    seed_chats(url, chats, random.Random(chats), modes=MODES)
    fake = RemoteFake()
    settings = Settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.url,
        admin_ids=frozenset({ADMIN}),
        feeds=folder / "none.txt",
        poll_interval=3600,
        # The feeds are on loopback.
        http_allow_private=True,
    )
    feeds = [f"http://127.0.0.1:{port}/f{f}/feed.xml" for f in range(args.feeds + 1)]
    burst, warm = feeds[:-1], feeds[-1:]
    watch = LoopWatch()
    phases: list[Phase] = []
    try:
        async with open_context(settings) as ctx:
            settle_heap()  # as sciforum run does once it has started
            await seed(ctx.sessions, articles=args.articles, chats=0)
            # A digest day away: nothing is pushed to the askers while they wait for replies.
            weekday = (datetime.now(UTC) + timedelta(days=3)).weekday()
            async with ctx.engine.begin() as connection:
                await connection.execute(
                    sa.update(Chat)
                    .where(col(Chat.id).in_(USERS))
                    .values(mode="weekly", digest_weekday=weekday)
                )
            async with running(build_application(ctx, ingest_every=3600)) as app:
                ticker = asyncio.create_task(watch.run())
                try:
                    # The feeds' first poll, with no entries: a new feed's backlog is
                    # stored unannounced, what it publishes later is routed.
                    await tell(server, "empty", range(len(feeds)))
                    await ingest(app, ctx, feeds)
                    await tell(server, "publish", range(args.feeds, args.feeds + 1))
                    started = time.monotonic()
                    first = await ingest(app, ctx, warm)
                    print(
                        f"  warm-up: {len(first.new_articles)} articles, {first.routed:,} "
                        f"matches in {time.monotonic() - started:.1f} s (worker started, "
                        "index built)",
                        flush=True,
                    )
                    watch.take()
                    turns = itertools.count()
                    samples, seconds = await commands_while(
                        fake,
                        watch,
                        args.every,
                        args.seconds,
                        turns=turns,
                        new_searches=args.new_searches,
                    )
                    phases.append(Phase("idle", samples, *watch.take(), seconds))
                    await tell(server, "publish", range(args.feeds))
                    before = await stored_since(ctx.engine, 0)
                    job = asyncio.ensure_future(ingest(app, ctx, burst))
                    cut = asyncio.ensure_future(asyncio.wait({job}, timeout=args.burst_seconds))
                    samples, seconds = await commands_while(
                        fake, watch, args.every, cut, turns=turns, new_searches=args.new_searches
                    )
                    stored = await stored_since(ctx.engine, before.last)
                    finished = job.done()
                    if not finished:
                        job.cancel()
                        await asyncio.wait({job})
                    phases.append(Phase("burst", samples, *watch.take(), seconds, stored, finished))
                finally:
                    ticker.cancel()
    finally:
        fake.stop()
    return phases


def spread(values: list[float]) -> str:
    from benchmarks.latency import percentile  # noqa: PLC0415

    if not values:
        return f"{'-':>7} {'-':>7} {'-':>7}"
    p50, p99 = statistics.median(values), percentile(values, 0.99)
    return f"{1000 * p50:>5.0f}ms {1000 * p99:>5.0f}ms {1000 * max(values):>5.0f}ms"


def answered(samples: list[Sample], command: str | None = None) -> list[float]:
    return [
        s.seconds for s in samples if s.seconds != float("inf") and command in (None, s.command)
    ]


def show(chats: int, phases: list[Phase], args: argparse.Namespace) -> None:
    from benchmarks.latency import percentile  # noqa: PLC0415

    idle, burst = phases
    stored = burst.stored
    assert stored is not None
    how = "done" if burst.finished else f"cut after {args.burst_seconds:g} s"
    print(
        f"{chats:,} chats: burst of {args.feeds * args.entries:,} new entries ({args.feeds} "
        f"feeds x {args.entries}), {how}: {stored.articles:,} articles stored, "
        f"{stored.routed:,} routed ({stored.matches:,} chat matches) in {burst.seconds:.1f} s "
        f"= {stored.articles / burst.seconds:.1f} new articles/s, "
        f"{stored.routed / burst.seconds:.1f} routed/s"
    )
    print(
        f"  {'phase':<6} {'command':<15} {'n':>4} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'none':>5} {'other':>5}"
    )
    # What each command answers when all is well: its first line, idle.
    expected = {c: next((s.reply for s in idle.samples if s.command == c), "") for c in COMMANDS}
    for phase in phases:
        for command in (*COMMANDS, None):
            mine = [s for s in phase.samples if command in (None, s.command)]
            times = answered(mine)
            other = sum(
                1
                for s in mine
                if s.seconds != float("inf")
                and s.reply.partition("\n")[0] != expected[s.command].partition("\n")[0]
            )
            print(
                f"  {phase.name:<6} {command or 'all':<15} {len(mine):>4} {spread(times)} "
                f"{len(mine) - len(times):>5} {other:>5}"
            )
    ratio = percentile(answered(burst.samples), 0.99) / percentile(answered(idle.samples), 0.99)
    print(f"  p99 all commands, burst / idle: {ratio:.1f}x")
    for phase in phases:
        late = phase.lateness
        stalls = sum(1 for x in late if x > STALLED)
        p50, p99 = 1000 * statistics.median(late), 1000 * percentile(late, 0.99)
        print(
            f"  loop stall ({phase.name}): 10 ms ticker late p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
            f"max {1000 * max(late):.0f} ms; {stalls} stalls > {1000 * STALLED:.0f} ms"
        )
    if burst.stacks:
        total = sum(burst.stacks.values())
        print(f"  where the loop was held during the burst ({total} samples at 20 ms):")
        for place, count in burst.stacks.most_common(args.places):
            print(f"    {count:>4}  {place}")
    for command, reply in expected.items():
        lines = reply.splitlines()
        print(f"  {command} answers: {lines[0] if lines else '-'!r} ({len(lines)} lines)")
    others = Counter(
        s.reply.partition("\n")[0]
        for s in burst.samples
        if s.seconds != float("inf")
        and s.reply.partition("\n")[0] != expected[s.command].partition("\n")[0]
    )
    for line, count in others.most_common(3):
        print(f"  other answer during the burst, {count}x: {line!r}")


def main() -> None:
    from benchmarks.ingest import feed_server  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", default="1000,100000", help="comma-separated chat counts")
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=20, help="new entries per feed")
    parser.add_argument("--articles", type=int, default=500, help="stored before, for /latest")
    parser.add_argument("--seconds", type=float, default=20.0, help="idle phase")
    parser.add_argument("--every", type=float, default=0.2, help="seconds between commands")
    parser.add_argument(
        "--burst-seconds", type=float, default=90.0, help="the burst is cut after this long"
    )
    parser.add_argument("--places", type=int, default=8, help="stall places printed")
    parser.add_argument(
        "--new-searches",
        action="store_true",
        help="each /search a query its chat never made (it writes before it answers)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = {
        "full_text": True,
        # Published within the last day: older entries are not news.
        "start": datetime.now(UTC) - timedelta(days=1),
        "empty_first": True,
        "sentence": news_sentence,
    }
    # One more feed than the burst's: the warm-up's.
    with feed_server(args.feeds + 1, args.entries, **options) as (port, conn, _):
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; commands "
            f"{', '.join(COMMANDS)} one every {args.every:g} s; chats instant/daily/weekly "
            f"{MODES[0]}/{MODES[1]}/{MODES[2]} %"
            + ("; each /search a new query" if args.new_searches else ""),
            flush=True,
        )
        for chats in (int(c) for c in args.chats.split(",")):
            phases = asyncio.run(measure(args, chats, port, conn))
            show(chats, phases, args)
            print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
