"""Fault table: the issue's attacks on loopback, on SQLite and on PostgreSQL, and what each
one cost. Prints a Markdown table "case | what happened | what was lost".

    .venv/bin/python benchmarks/faults.py                  # both engines, 6 kills each
    .venv/bin/python benchmarks/faults.py --kills 12 --engines sqlite

The in-process cases drive ``Ingestor`` directly. The crash cases run ``sciforum run`` as a
subprocess against the loopback feed server and the fake Bot API (tests/fakebot.py) with
subscribed chats in the database: ``kill -9`` at random moments of its ingest passes (the
feeds grow between kills), a restart after each, then a last run until everything is quiet;
and a SIGTERM sent to the whole process group (its workers included) mid-pass. Afterwards
every (chat, article) pair that matches is looked up among the messages the fake received:
lost = matched and never delivered, duplicates = delivered twice (a send whose outcome the
kill made unknown). SQLite is checked with PRAGMA integrity_check, PostgreSQL with its
constraints re-checked by queries (no duplicate match, no orphan row, nothing unrouted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot.ingest import Ingestor  # noqa: E402
from db import queries  # noqa: E402
from db.engine import create_engine, create_sync_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Chat, ChatRule, Feed  # noqa: E402
from summaries.fetch import Fetcher, FetchLimits  # noqa: E402
from summaries.rules import parse_rule  # noqa: E402
from tests.fakebot import FakeTelegram, Limits  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402
from tests.pg import start_postgres  # noqa: E402

Row = tuple[str, str, str, str]  # engine, case, what happened, what was lost
WORDS = [
    "forum",
    "symposium",
    "protein",
    "genome",
    "climate",
    "battery",
    "quantum",
    "neuron",
    "vaccine",
    "galaxy",
    "ocean",
    "enzyme",
    "fusion",
    "reactor",
    "carbon",
    "laser",
    "sensor",
    "bacteria",
    "molecule",
    "satellite",
]
# One chat per topic word; each story's title carries one of them (its text none).
RULES = [f"topic{i}" for i in range(6)]
LIMITS = FetchLimits(allow_private_addresses=True, max_per_host=64, max_connections=64)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- the site


def story(rng: random.Random, f: int, e: int) -> tuple[str, str]:
    words = " ".join(rng.choice(WORDS) for _ in range(5))
    title = f"Story {f}-{e}: topic{(f + e) % len(RULES)} {words}"
    text = " ".join(" ".join(rng.choice(WORDS) for _ in range(15)) + "." for _ in range(12))
    return title, text


def feed_body(f: int, entries: int, *, pages: bool) -> str:
    rng = random.Random(f)
    items = []
    for e in range(entries):
        title, text = story(rng, f, e)
        published = format_datetime(NOW - timedelta(days=1) + timedelta(minutes=e))
        description = text[:150] + " …" if pages else text
        items.append(
            f"<item><title>{escape(title)}</title><link>/f{f}/a{e}.html</link>"
            f"<guid>f{f}-{e}</guid><pubDate>{published}</pubDate>"
            f"<description>{escape(description)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {f}</title><link>/f{f}/</link>{''.join(items)}</channel></rss>"
    )


def serve_feed(server: FeedServer, f: int, entries: int, *, max_entries: int) -> None:
    """Feed ``f`` with its first ``entries`` entries, and the pages of ``max_entries``."""
    rng = random.Random(f)
    for e in range(max_entries):
        title, text = story(rng, f, e)
        page = f"<html><body><article><h1>{title}</h1><p>{text}</p></article></body></html>"
        server.add(f"/f{f}/a{e}.html", page, content_type="text/html; charset=utf-8")
    server.add(f"/f{f}/feed.xml", feed_body(f, entries, pages=True), etag=f'"{f}-{entries}"')


def serve_site(server: FeedServer, feeds: int, entries: int, *, max_entries: int) -> None:
    for f in range(feeds):
        serve_feed(server, f, entries, max_entries=max_entries)


# --------------------------------------------------------------------------- databases


class Engines:
    def __init__(self, names: list[str], tmp: Path) -> None:
        self.names = names
        self.tmp = tmp
        self._pg: Any = None
        self._count = 0

    def url(self, engine: str) -> str:
        self._count += 1
        if engine == "sqlite":
            return f"sqlite:///{self.tmp / f'faults{self._count}.db'}"
        if self._pg is None:
            self._pg = start_postgres()
        return str(self._pg.create_database(f"faults{self._count}"))

    def close(self) -> None:
        if self._pg is not None:
            self._pg.stop()


async def prepared(url: str, feed_urls: list[str], *, polled: bool = True) -> Any:
    """A migrated database with the feeds (already polled once: new entries are announced)
    and one chat per rule; returns the session factory (its engine disposed by the caller)."""
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        for feed_url in feed_urls:
            feed = await queries.add_feed(s, feed_url, now=NOW)
            feed.last_success = NOW - timedelta(days=1) if polled else None
        for i, rule in enumerate(RULES, start=1001):
            s.add(Chat(id=i, type="private", created_at=NOW))
            s.add(ChatRule(chat_id=i, query=str(parse_rule(rule)), created_at=NOW))
    sessions.engine = engine  # type: ignore[attr-defined]
    return sessions


def scalar(url: str, query: str) -> Any:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(query)).scalar()
    finally:
        engine.dispose()


def consistency(url: str) -> str:
    checks = {
        "duplicate routes": "SELECT count(*) FROM (SELECT article_id FROM routes"
        " GROUP BY article_id HAVING count(*) > 1) d",
        "duplicate deliveries": "SELECT count(*) FROM (SELECT chat_id, article_id FROM deliveries"
        " WHERE kind = 'article' GROUP BY chat_id, article_id HAVING count(*) > 1) d",
        "unrouted articles": "SELECT count(*) FROM articles WHERE routed_at IS NULL",
        "orphan sources": "SELECT count(*) FROM article_sources s LEFT JOIN articles a"
        " ON a.id = s.article_id WHERE a.id IS NULL",
        "orphan deliveries": "SELECT count(*) FROM deliveries d LEFT JOIN chats c"
        " ON c.id = d.chat_id WHERE c.id IS NULL",
    }
    problems = [f"{name}: {n}" for name, q in checks.items() if (n := scalar(url, q))]
    if url.startswith("sqlite"):
        verdict = scalar(url, "PRAGMA integrity_check")
        if verdict != "ok":
            problems.append(f"integrity_check: {verdict}")
        label = "integrity_check ok"
    else:
        label = "constraints re-checked ok"
    return "; ".join(problems) if problems else label


# --------------------------------------------------------------------------- in-process cases


async def with_ingestor(
    url: str,
    server: FeedServer,
    paths: list[str],
    body: Callable[[Any, Ingestor], Coroutine[Any, Any, str]],
    **options: Any,
) -> str:
    sessions = await prepared(url, [server.url(p) for p in paths])
    try:
        async with Fetcher(LIMITS) as fetcher:
            ingestor = Ingestor(sessions, fetcher, interval=60, max_errors=3, **options)
            return await body(sessions, ingestor)
    finally:
        await sessions.engine.dispose()


async def feeds_state(sessions: Any) -> list[Feed]:
    async with sessions() as s:
        return list((await s.exec(sa.select(Feed).order_by(Feed.id))).scalars().all())  # type: ignore[call-overload]


async def deliveries(sessions: Any) -> int:
    async with sessions() as s:
        return int((await s.exec(sa.text("SELECT count(*) FROM deliveries"))).scalar())  # type: ignore[call-overload]


async def case_long_values(url: str, server: FeedServer) -> tuple[str, str]:
    body = feed_body(90, 3, pages=False)
    body = body.replace("<title>Feed 90</title>", f"<title>{'T' * 1200}</title>")
    body = body.replace(
        "<item><title>", f"<item><author>{'A' * 700}</author><title>{'L' * 1500}", 1
    )
    body = body.replace("<link>/f90/a1.html</link>", f"<link>/{'u' * 2100}</link>")
    server.add("/long.xml", body, etag='"' + "e" * 600 + '"', headers={"Last-Modified": "M" * 150})
    server.add("/f91/feed.xml", feed_body(91, 3, pages=False))

    async def run(sessions: Any, ingestor: Ingestor) -> str:
        report = await ingestor.run_pass(now=NOW)
        long_feed = (await feeds_state(sessions))[0]
        return (
            f"{len(report.new_articles)}/6 stored, {report.routed} matches routed; the feed "
            f"healthy ({long_feed.consecutive_errors} errors), over-long ETag/Last-Modified "
            f"dropped, title cut to {len(long_feed.title or '')}, {report.bugs} bugs"
        )

    return await with_ingestor(url, server, ["/long.xml", "/f91/feed.xml"], run), "nothing"


async def case_removed(url: str, server: FeedServer) -> tuple[str, str]:
    server.add("/slow.xml", feed_body(92, 3, pages=False), delay=1.0)
    server.add("/f93/feed.xml", feed_body(93, 3, pages=False))

    async def run(sessions: Any, ingestor: Ingestor) -> str:
        task = asyncio.create_task(ingestor.run_pass(now=NOW))
        await asyncio.sleep(0.4)
        async with sessions() as s, s.begin():
            await queries.remove_feed(s, "1")
        report = await task
        return (
            f"the pass finished: {len(report.new_articles)} articles of the other feed stored "
            f"and {report.routed} matches routed, {report.bugs} bugs"
        )

    return await with_ingestor(url, server, ["/slow.xml", "/f93/feed.xml"], run), (
        "the removed feed's entries (as asked)"
    )


async def case_documents(url: str, server: FeedServer) -> tuple[str, str]:
    bomb = " ".join(f'a{i}="x"' for i in range(60_000))
    server.add("/bomb.xml", feed_body(94, 1, pages=False).replace("<item>", f"<item {bomb}>", 1))
    server.add("/broken.xml", '<?xml version="1.0"?><rss version="2.0"><<<not xml')
    server.add("/f95/feed.xml", feed_body(95, 3, pages=False))

    async def run(sessions: Any, ingestor: Ingestor) -> str:
        started = time.monotonic()
        report = await ingestor.run_pass(now=NOW)
        seconds = time.monotonic() - started
        bomb_feed, broken, _healthy = await feeds_state(sessions)
        why = (bomb_feed.last_error or "").split(": ")[2]
        return (
            f"60,000-attribute feed refused ({why}); invalid "
            f"XML with 0 entries an error ({broken.consecutive_errors} error); the healthy "
            f"feed's {len(report.new_articles)} stored; pass {seconds:.1f} s"
        )

    return await with_ingestor(
        url, server, ["/bomb.xml", "/broken.xml", "/f95/feed.xml"], run
    ), "nothing"


async def case_slow_feed(url: str, server: FeedServer) -> tuple[str, str]:
    body = feed_body(96, 3, pages=True).replace("/f96/a", "/drip/a")
    for e in range(3):
        server.add(f"/drip/a{e}.html", "<html>late</html>", delay=120, content_type="text/html")
    server.add("/drip.xml", body)
    serve_feed(server, 97, 3, max_entries=3)

    async def run(sessions: Any, ingestor: Ingestor) -> str:
        routed: list[float] = []
        ingestor.on_routed = lambda _n: routed.append(time.monotonic())
        started = time.monotonic()
        report = await ingestor.run_pass(now=NOW)
        ended = time.monotonic() - started
        first = routed[0] - started if routed else float("nan")
        return (
            f"healthy feed's cards routed after {first:.1f} s; the pass ended at {ended:.1f} s "
            f"(FEED_DEADLINE 10 s); {report.page_failures} late pages fell back to feed text"
        )

    return await with_ingestor(
        url, server, ["/drip.xml", "/f97/feed.xml"], run, feed_deadline=10
    ), "the slow feed's 3 full texts (feed text kept)"


async def case_churn(url: str, server: FeedServer) -> tuple[str, str]:
    base = feed_body(99, 5, pages=True)
    serve_feed(server, 99, 5, max_entries=5)
    server.add("/churn.xml", base)

    async def run(sessions: Any, ingestor: Ingestor) -> str:
        await ingestor.run_pass(now=NOW)
        before = server.hits("/f99/a0.html")
        for poll in range(1, 6):
            churned = base.replace("<guid>f99-", f"<guid>poll{poll}-").replace(
                ".html</link>", f".html?s={poll}</link>"
            )
            server.add("/churn.xml", churned)
            await ingestor.run_pass(now=NOW + timedelta(hours=poll))
        async with sessions() as s:
            articles = (await s.exec(sa.text("SELECT count(*) FROM articles"))).scalar()  # type: ignore[call-overload]
            sources = (await s.exec(sa.text("SELECT count(*) FROM article_sources"))).scalar()  # type: ignore[call-overload]
        fetched = server.hits("/f99/a0.html") - before
        return (
            f"5 polls with new guids and links: {articles} articles, {sources} source rows, "
            f"{fetched} pages fetched again"
        )

    return await with_ingestor(url, server, ["/churn.xml"], run), "nothing"


async def case_crash_before_routing(url: str, server: FeedServer) -> tuple[str, str]:
    serve_site(server, 1, 8, max_entries=8)

    async def run(sessions: Any, _ingestor: Ingestor) -> str:
        async with Fetcher(LIMITS) as fetcher:
            stored = await Ingestor(
                sessions, fetcher, interval=60, max_errors=3, route=False
            ).run_pass(now=NOW)
            restarted = Ingestor(sessions, fetcher, interval=60, max_errors=3)
            report = await restarted.run_pass(now=NOW + timedelta(seconds=1))
            again = await restarted.run_pass(now=NOW + timedelta(seconds=2))
        return (
            f"{len(stored.new_articles)} stored, not routed (the process died); the restart "
            f"routed {report.routed} matches, a second pass {again.routed}; "
            f"{await deliveries(sessions)} deliveries"
        )

    return await with_ingestor(url, server, ["/f0/feed.xml"], run), "nothing"


# --------------------------------------------------------------------------- crash cases


def run_bot(url: str, fake: FakeTelegram, workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "POLL_INTERVAL": "2",
        "HTTP_ALLOW_PRIVATE": "true",
        "HTTP_MAX_PER_HOST": "32",
        "SEND_RATE": "200",
        "CHAT_RATE": "20",
        "SUMMARY_WORKERS": "2",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "run"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the workers too
        )


def matched_pairs(url: str) -> set[tuple[int, str]]:
    rules = {i: parse_rule(q) for i, q in enumerate(RULES, start=1001)}
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT title, text FROM articles WHERE announce")
            ).all()
    finally:
        engine.dispose()
    return {
        (chat, title) for title, text in rows for chat, r in rules.items() if r.matches(title, text)
    }


def delivered(fake: FakeTelegram) -> Counter[tuple[int, str]]:
    found: Counter[tuple[int, str]] = Counter()
    for chat, messages in fake.all_messages().items():
        for message in messages:
            text = message.plain_text or ""
            start = text.find("Story ")
            if start >= 0:
                found[(chat, text[start:].split("\n", 1)[0].strip())] += 1
    return found


def quiet(url: str, fake: FakeTelegram, *, timeout: float, since: datetime) -> None:
    """Until every feed has been checked since ``since`` (the run's start: its entries are
    stored), everything is routed and the outbox is empty."""
    deadline = time.monotonic() + timeout
    last = -1
    # Stored as naive UTC (db.models.UTCDateTime); a literal both engines compare.
    started = since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    while time.monotonic() < deadline:
        time.sleep(2)
        unchecked = scalar(
            url,
            "SELECT count(*) FROM feeds WHERE enabled AND "
            f"(last_checked IS NULL OR last_checked < '{started}')",
        )
        if unchecked:
            continue
        pending = scalar(url, "SELECT count(*) FROM deliveries WHERE status = 'pending'")
        # Routed instant matches not written as rows yet (bot.routing.fan_out) wait too.
        pending += scalar(url, "SELECT coalesce(sum(instant_count - fanned), 0) FROM routes")
        unrouted = scalar(url, "SELECT count(*) FROM articles WHERE routed_at IS NULL")
        sent = sum(len(m) for m in fake.all_messages().values())
        if pending == 0 and unrouted == 0 and sent == last:
            return
        last = sent


def kill_nine(url: str, server: FeedServer, fake: FakeTelegram, tmp: Path, kills: int) -> Row:
    feeds, step = 12, 4
    rng = random.Random(9)
    serve_site(server, feeds, 0, max_entries=step * (kills + 2))
    asyncio.run(_seed(url, [server.url(f"/f{f}/feed.xml") for f in range(feeds)]))
    log = tmp / "run.log"
    moments = []
    for kill in range(kills + 1):
        for f in range(feeds):  # new entries appear before each start
            entries = step * (kill + 1)
            server.add(
                f"/f{f}/feed.xml", feed_body(f, entries, pages=True), etag=f'"{f}-{entries}"'
            )
        started = datetime.now(UTC)
        process = run_bot(url, fake, tmp, log)
        if kill == kills:
            quiet(url, fake, timeout=300, since=started)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
            break
        # The kill lands mid-pass: a moment after the run stores its first article (the
        # worker's start-up alone takes seconds, so a clock from the start often killed
        # the run before it stored anything).
        before = scalar(url, "SELECT count(*) FROM articles")
        waited = time.monotonic() + 120
        while scalar(url, "SELECT count(*) FROM articles") == before:
            if time.monotonic() > waited:
                break
            time.sleep(0.05)
        moment = rng.uniform(0.0, 3.0)
        moments.append(moment)
        time.sleep(moment)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # Its workers (same process group, which this script made) go with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    expected = matched_pairs(url)
    got = delivered(fake)
    lost = expected - set(got)
    duplicates = sum(n - 1 for pair, n in got.items() if pair in expected and n > 1)
    stored = scalar(url, "SELECT count(*) FROM articles")
    charged = scalar(url, "SELECT count(*) FROM feeds WHERE total_errors > 0")
    sent = scalar(url, "SELECT count(*) FROM deliveries WHERE status = 'sent'")
    rows = scalar(url, "SELECT count(*) FROM deliveries")
    happened = (
        f"{kills} × kill -9 {', '.join(f'{m:.1f}' for m in moments)} s after the run's first "
        "stored article, restart each time: "
        f"{stored} articles stored, {len(expected)} matched (chat, article) pairs, "
        f"{len(expected) - len(lost)} delivered, {duplicates} delivered twice (send in "
        f"flight at the kill); outbox rows sent {sent} of {rows}; {charged} feeds charged an "
        f"error; {consistency(url)}"
    )
    return ("kill -9 of sciforum run mid-pass, restarts", happened, f"{len(lost)} matches")


async def _seed(url: str, feed_urls: list[str]) -> None:
    sessions = await prepared(url, feed_urls)
    await sessions.engine.dispose()


def group_sigterm(url: str, server: FeedServer, fake: FakeTelegram, tmp: Path) -> Row:
    feeds = 30
    serve_site(server, feeds, 6, max_entries=6)
    asyncio.run(_seed(url, [server.url(f"/f{f}/feed.xml") for f in range(feeds)]))
    log = tmp / "sigterm.log"
    process = run_bot(url, fake, tmp, log)
    time.sleep(6)
    os.killpg(process.pid, signal.SIGTERM)  # docker stop / systemd: the whole group
    code = process.wait(timeout=120)
    output = log.read_text(errors="replace")
    charged = scalar(url, "SELECT count(*) FROM feeds WHERE total_errors > 0")
    broken = output.count("BrokenProcessPool")
    tracebacks = output.count("Traceback")
    started = datetime.now(UTC)
    process = run_bot(url, fake, tmp, log)
    quiet(url, fake, timeout=180, since=started)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    lost = matched_pairs(url) - set(delivered(fake))
    happened = (
        f"SIGTERM to the process group 6 s into the first pass: exit {code}, "
        f"{charged} feeds charged, {broken} BrokenProcessPool, {tracebacks} tracebacks; "
        f"after a restart everything delivered; {consistency(url)}"
    )
    return ("SIGTERM to the whole process group mid-pass", happened, f"{len(lost)} matches")


# --------------------------------------------------------------------------- main

IN_PROCESS: list[tuple[str, Callable[[str, FeedServer], Coroutine[Any, Any, tuple[str, str]]]]] = [
    ("over-long ETag, Last-Modified, title, author, URL", case_long_values),
    ("/removefeed during the feed's poll", case_removed),
    ("60,000 attributes; invalid XML with 0 entries", case_documents),
    ("a feed whose pages drip", case_slow_feed),
    ("guids (and links) that change every poll", case_churn),
    ("crash between storing and routing", case_crash_before_routing),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--kills", type=int, default=6)
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        engines = Engines(args.engines, tmp)
        try:
            for engine in args.engines:
                for name, case in IN_PROCESS:
                    with FeedServer() as server:
                        happened, lost = asyncio.run(case(engines.url(engine), server))
                    rows.append((engine, name, happened, lost))
                    print(f"{engine}: {name}: {happened} | lost: {lost}", flush=True)
                for crash in (kill_nine, group_sigterm):
                    run_dir = tmp / f"{engine}-{crash.__name__}"
                    run_dir.mkdir()
                    with (
                        FeedServer() as server,
                        FakeTelegram(
                            enforce_limits=True, limits=Limits(global_per_second=300)
                        ) as fake,
                    ):
                        url = engines.url(engine)
                        if crash is kill_nine:
                            name, happened, lost = kill_nine(url, server, fake, run_dir, args.kills)
                        else:
                            name, happened, lost = group_sigterm(url, server, fake, run_dir)
                    rows.append((engine, name, happened, lost))
                    print(f"{engine}: {name}: {happened} | lost: {lost}", flush=True)
        finally:
            engines.close()
    print("\n| engine | case | what happened | what was lost |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
