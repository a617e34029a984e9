"""Routing benchmark: new articles routed to 10,000 and 100,000 subscribed chats.

A realistic mix (the shape of issue 12's 98,000 chats: ~1.6 topics a chat, popular topics
far more followed than others, half the chats with one keyword rule, 75 % instant, 20 %
daily, 5 % weekly, a few paused, inactive or forums-only) is written straight into a fresh
database; then ``bot.routing.route_articles`` routes one article, a batch of 10 and a batch
of 100 (each article ~450 words on 1-3 topics), then ``--singles`` more articles one at a
time (their median: one article alone is one noisy sample). The first call also builds the
subscription index, reported on its own line.

Routing writes one route row an article (its chats' slots as bitmaps); the instant
deliveries are written later, at sending pace, by ``bot.routing.fan_out``, measured on its
own: fanning out 1,000 deliveries of the routed articles.

The raw baselines, measured in the same run on other articles of the same kind: the bare
SELECT of the chat ids following an article's topics (alone, and with the driver's INSERT of
one row the size of a route); for the fan-out, the driver's executemany (COPY on
PostgreSQL) of 1,000 delivery rows of the same shape, built before the clock starts.
Printed: ms per article (wall and this process's CPU), the ratios against the baselines,
matches per article, and peak RSS. With ``--digests``, ``send_due_digests`` is then timed
for the next day (every digest chat due, the routed articles pending), with the RSS it
peaks at (sampled).

    .venv/bin/python benchmarks/routing.py                         # 10k and 100k on SQLite
    .venv/bin/python benchmarks/routing.py --chats 10000           # a quick look
    .venv/bin/python benchmarks/routing.py --engines postgresql    # on a throwaway PostgreSQL
    .venv/bin/python benchmarks/routing.py --chats 100000 --digests
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from bot.routing import DELIVERY_COLUMNS
from db.bulk import prepare_rows
from db.engine import create_engine, create_sync_engine, session_factory
from db.migrate import upgrade
from db.models import Article, Chat, ChatRule, ChatTopic
from summaries.keywords import _KEYWORDS  # a benchmark may read the curated vocabulary
from summaries.topics import TOPICS

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BATCHES = (1, 10, 100)
# Filler words between the science words, so a keyword rule meets a few articles in a hundred.
FILLER_TEXT = (
    "the a of and to in that is was for on with as by at from this be are were which "
    "researchers study team found results new data said paper published university "
    "scientists show could may also more than first two years one after work model "
    "analysis report time people large small high low effect during between while using"
)
FILLER = tuple(FILLER_TEXT.split())
TIMEZONES = ("UTC", "Europe/Berlin", "Asia/Shanghai", "America/New_York", "Asia/Kolkata")


def science_words() -> list[str]:
    words: set[str] = set()
    for levels in _KEYWORDS.values():
        for weight, keywords in levels.items():
            if weight <= 0:
                continue
            for keyword in keywords:
                words.update(w for w in keyword.lstrip("=").lower().split() if w.isascii())
    return sorted(w for w in words if w.isalpha() and len(w) > 2)


def topic_weights() -> tuple[list[str], list[float]]:
    slugs = [t.slug for t in TOPICS]
    return slugs, [1 / (rank + 1) ** 0.8 for rank in range(len(slugs))]


def make_rule(rng: random.Random, vocab: Sequence[str]) -> str:
    roll = rng.random()
    if roll < 0.2:
        query = f'"{rng.choice(vocab)} {rng.choice(vocab)}"'
    elif roll < 0.5:
        query = f"{rng.choice(vocab)} {rng.choice(vocab)}"
    else:
        query = rng.choice(vocab)
    if rng.random() < 0.15:
        query += f" -{rng.choice(vocab)}"
    return query


# Shares of instant, daily and weekly chats.
MODES = (75, 20, 5)


def seed_chats(
    url: str, chats: int, rng: random.Random, modes: tuple[int, int, int] = MODES
) -> None:
    from summaries.rules import RuleError, parse_rule  # noqa: PLC0415

    slugs, weights = topic_weights()
    vocab = science_words()
    chat_rows: list[dict[str, Any]] = []
    topic_rows: list[dict[str, Any]] = []
    rule_rows: list[dict[str, Any]] = []
    for i in range(1, chats + 1):
        chat_id = -i if i % 10 == 0 else i
        mode = rng.choices(("instant", "daily", "weekly"), modes)[0]
        chat_rows.append(
            {
                "id": chat_id,
                "slot": i,
                "type": "group" if chat_id < 0 else "private",
                "created_at": NOW - timedelta(days=30),
                "active": rng.random() > 0.03,
                "mode": mode,
                "digest_hour": rng.randrange(24),
                "digest_weekday": rng.randrange(7),
                "timezone": rng.choice(TIMEZONES),
                "summary_sentences": rng.choice((1, 2, 2, 3)),
                "forums_only": rng.random() < 0.03,
                "paused": rng.random() < 0.02,
                "silent": False,
            }
        )
        count = rng.choices((0, 1, 2, 3, 4), (15, 35, 30, 15, 5))[0]
        chosen: set[str] = set()
        while len(chosen) < count:
            chosen.add(rng.choices(slugs, weights)[0])
        topic_rows += [{"chat_id": chat_id, "slug": s} for s in sorted(chosen)]
        if not chosen or rng.random() < 0.4:
            try:
                query = str(parse_rule(make_rule(rng, vocab)))
            except RuleError:
                continue
            rule_rows.append({"chat_id": chat_id, "query": query, "created_at": NOW})
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        # Dense slots after any chat already there (each chat has its own: chats.slot).
        first = connection.execute(sa.text("SELECT coalesce(max(slot), 0) FROM chats")).scalar()
        for row in chat_rows:
            row["slot"] += first or 0
        for model, rows in ((Chat, chat_rows), (ChatTopic, topic_rows), (ChatRule, rule_rows)):
            for start in range(0, len(rows), 20_000):
                connection.execute(sa.insert(model), rows[start : start + 20_000])
        if connection.dialect.name == "postgresql":  # slots given here: the next is past them
            last = connection.execute(sa.text("SELECT max(slot) FROM chats")).scalar()
            connection.execute(sa.text("SELECT setval('chat_slots', :n)"), {"n": last})
    engine.dispose()
    print(
        f"  seeded {chats:,} chats: {len(topic_rows):,} topic rows, {len(rule_rows):,} rules",
        flush=True,
    )


def make_article(rng: random.Random, n: int, vocab: Sequence[str]) -> dict[str, Any]:
    # Subscribers crowd into the popular topics; articles spread over all of them.
    slugs, _ = topic_weights()
    topics = rng.sample(slugs, rng.choice((1, 2, 2, 3)))
    words = [rng.choice(vocab) if rng.random() < 0.1 else rng.choice(FILLER) for _ in range(450)]
    sentences = [" ".join(words[i : i + 15]).capitalize() + "." for i in range(0, 450, 15)]
    title = " ".join(rng.choice(vocab) for _ in range(4)).capitalize() + f" ({n})"
    return {
        "url": f"https://example.org/bench/{n}",
        "title": title,
        "published": NOW - timedelta(minutes=n),
        "first_seen": NOW,
        "text": " ".join(sentences),
        "content_hash": f"h{n}",
        "announce": True,
        "summary": sentences[:3],
        "topics": topics,
        "is_event": rng.random() < 0.1,
    }


def seed_articles(url: str, count: int, rng: random.Random, start: int) -> list[int]:
    vocab = science_words()
    rows = [make_article(rng, start + i, vocab) for i in range(count)]
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.insert(Article), rows)
        hashes = [r["content_hash"] for r in rows]
        found = sorted(
            connection.execute(
                sa.text("SELECT id FROM articles WHERE content_hash IN :hashes").bindparams(
                    sa.bindparam("hashes", expanding=True)
                ),
                {"hashes": hashes},
            ).scalars()
        )
    engine.dispose()
    return found


def baseline(url: str, article_ids: Sequence[int], route_bytes: int) -> tuple[float, float]:
    """Seconds of the raw work, (select, write): the bare SELECT of the chat ids following
    each article's topics, and the driver's INSERT of one row of ``route_bytes`` bytes per
    article (into a scratch table: what routing writes is one route row)."""
    engine = create_sync_engine(url)
    blob = b"x" * route_bytes
    select_s = write_s = 0.0
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE scratch_routes (id INTEGER, bits BYTEA)"))
        for article_id in article_ids:
            started = time.perf_counter()
            topics = connection.execute(
                sa.text("SELECT topics FROM articles WHERE id = :id"), {"id": article_id}
            ).scalar_one()
            list(
                connection.execute(
                    sa.text(
                        "SELECT DISTINCT chat_id FROM chat_topics WHERE slug IN :slugs"
                    ).bindparams(sa.bindparam("slugs", expanding=True)),
                    {"slugs": json.loads(topics) if isinstance(topics, str) else topics},
                ).scalars()
            )
            select_s += time.perf_counter() - started
            started = time.perf_counter()
            connection.exec_driver_sql(
                "INSERT INTO scratch_routes (id, bits) VALUES (%s, %s)"
                if connection.dialect.name == "postgresql"
                else "INSERT INTO scratch_routes (id, bits) VALUES (?, ?)",
                (article_id, blob),
            )
            write_s += time.perf_counter() - started
        connection.execute(sa.text("DROP TABLE scratch_routes"))
    engine.dispose()
    return select_s, write_s


def raw_deliveries(url: str, article_id: int, count: int) -> float:
    """Seconds of the driver's executemany (COPY on PostgreSQL) of ``count`` delivery rows
    (rows built before the clock starts; rolled back)."""
    engine = create_sync_engine(url)
    text = "x" * 900  # a rendered card's size
    with engine.connect() as connection:
        chat_ids = list(
            connection.execute(
                sa.text("SELECT id FROM chats ORDER BY id LIMIT :n"), {"n": count}
            ).scalars()
        )
        prepared = prepare_rows(
            connection.dialect,
            SQLModel.metadata.tables["deliveries"],
            DELIVERY_COLUMNS,
            [
                (c, "article", article_id, text, False, None, "pending", 0, NOW, NOW)
                for c in chat_ids
            ],
        )
        assert prepared is not None
        started = time.perf_counter()
        if prepared.copy_sql is None:
            connection.exec_driver_sql(prepared.sql, prepared.params)
        else:
            driver = connection.connection.driver_connection
            assert driver is not None  # psycopg's Connection
            with driver.cursor() as cursor, cursor.copy(prepared.copy_sql) as copy:
                copy.write(prepared.copy_data)
        spent = time.perf_counter() - started
        connection.rollback()
    engine.dispose()
    return spent


def route_sizes(url: str) -> int:
    """The mean size in bytes of the stored routes' bitmaps."""
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        size = connection.execute(
            sa.text(
                "SELECT avg(coalesce(length(instant), 0) + coalesce(length(digest), 0)) FROM routes"
            )
        ).scalar_one()
    engine.dispose()
    return round(size or 0)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def route(url: str, batches: Sequence[Sequence[int]]) -> list[tuple[float, float, int]]:
    from bot.routing import route_articles  # noqa: PLC0415

    engine = create_engine(url)
    sessions = session_factory(engine)
    results: list[tuple[float, float, int]] = []
    try:
        for ids in batches:
            wall, cpu = time.perf_counter(), time.process_time()
            matched = await route_articles(sessions, ids, now=NOW)
            results.append((time.perf_counter() - wall, time.process_time() - cpu, matched))
    finally:
        await engine.dispose()
    return results


async def fan_out_rows(url: str, count: int) -> tuple[float, float, int]:
    """One fan-out of ``count`` instant deliveries of the routed articles: (wall, CPU, rows)."""
    from bot.routing import fan_out  # noqa: PLC0415

    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:  # the connection opened before the clock starts
            await session.connection()
        wall, cpu = time.perf_counter(), time.process_time()
        made = await fan_out(sessions, now=NOW, limit=count)
        return time.perf_counter() - wall, time.process_time() - cpu, made
    finally:
        await engine.dispose()


async def digests(url: str) -> tuple[float, float, int]:
    """``send_due_digests`` a day later: (wall, CPU, delivery rows)."""
    from bot.routing import send_due_digests  # noqa: PLC0415

    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        made = await send_due_digests(sessions, now=NOW + timedelta(days=1, hours=1))
        return time.perf_counter() - wall, time.process_time() - cpu, made
    finally:
        await engine.dispose()


class RssPeak:
    """The highest RSS of this process seen while in the block (sampled every 5 ms)."""

    def __enter__(self) -> RssPeak:
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


async def index_figures(url: str, article_ids: Sequence[int]) -> str:
    """The index alone: its build (CPU), and finding the chats of each article."""
    try:
        from bot.subindex import build_index, matching_slots  # noqa: PLC0415
    except ImportError:
        return "no subscription index in this version"
    from sqlmodel import col, select  # noqa: PLC0415

    from db.chats import subscription_rows  # noqa: PLC0415

    engine = create_engine(url)
    async with session_factory(engine)() as session:
        rows = await subscription_rows(session)
        query = select(Article).where(col(Article.id).in_(list(article_ids)))
        articles = (await session.exec(query)).all()
    await engine.dispose()
    cpu = time.process_time()
    index = build_index(rows)
    built = time.process_time() - cpu
    cpu = time.process_time()
    found = sum(
        len(
            matching_slots(
                index, title=a.title, text=a.text, topics=a.topics or [], is_event=a.is_event
            )
        )
        for a in articles
    )
    lookup = (time.process_time() - cpu) / len(articles)
    per = found / len(articles)
    return (
        f"index alone: rebuilt (rules parsed before) in {built:.2f} s CPU; "
        f"finding an article's chats {lookup * 1000:.1f} ms CPU ({per:,.0f} chats)"
    )


def run(url: str, chats: int, seed: int, *, with_digests: bool = False, singles: int = 0) -> None:
    rng = random.Random(seed)
    upgrade(url)
    seed_chats(url, chats, rng)
    warm = seed_articles(url, 1, rng, start=0)
    routed = [seed_articles(url, n, rng, start=1000 * (k + 1)) for k, n in enumerate(BATCHES)]
    raw = [seed_articles(url, n, rng, start=100_000 + 1000 * k) for k, n in enumerate(BATCHES)]
    # Seeded last, so the articles above are the same whatever their number.
    more = seed_articles(url, singles, rng, start=200_000) if singles else []
    before = rss_mib()
    first, *results = asyncio.run(route(url, [warm, *routed, *([i] for i in more)]))
    results, one_by_one = results[: len(BATCHES)], results[len(BATCHES) :]
    print(
        f"  first article (loads and builds the index): {first[0] * 1000:,.0f} ms wall, "
        f"{first[2]:,} matches; RSS {before:,.0f} MiB before, {rss_mib():,.0f} MiB after all",
        flush=True,
    )
    size = route_sizes(url)
    for n, ids, (wall, cpu, matched) in zip(BATCHES, raw, results, strict=True):
        per = matched / n
        select_s, write_s = baseline(url, ids, size)
        raw_s = select_s + write_s
        print(
            f"  batch of {n:>3}: {wall / n * 1000:7.1f} ms/article wall "
            f"({cpu / n * 1000:6.1f} ms CPU), {per:6,.0f} matches/article | bare SELECT "
            f"{select_s / n * 1000:5.1f} ms -> {wall / select_s:5.1f}x | SELECT + INSERT "
            f"of a {size:,}-byte row {raw_s / n * 1000:5.1f} ms -> {wall / raw_s:4.2f}x",
            flush=True,
        )
    if one_by_one:
        walls = sorted(wall * 1000 for wall, _, _ in one_by_one)
        cpus = sorted(cpu * 1000 for _, cpu, _ in one_by_one)
        print(
            f"  {len(one_by_one)} more articles one at a time: {statistics.median(walls):.1f} ms"
            f" wall median ({walls[0]:.1f}-{walls[-1]:.1f}), {statistics.median(cpus):.1f} ms"
            f" CPU median ({cpus[0]:.1f}-{cpus[-1]:.1f}),"
            f" {statistics.mean(m for _, _, m in one_by_one):,.0f} matches/article",
            flush=True,
        )
    raw_fan = raw_deliveries(url, routed[-1][0], 1000)
    wall, cpu, made = asyncio.run(fan_out_rows(url, 1000))
    print(
        f"  fan-out of {made:,} deliveries: {wall * 1000:6.1f} ms wall ({cpu * 1000:.1f} ms CPU) |"
        f" driver's executemany of 1,000 rows {raw_fan * 1000:5.1f} ms -> {wall / raw_fan:4.2f}x",
        flush=True,
    )
    print("  " + asyncio.run(index_figures(url, routed[-1])), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:,.0f} MiB", flush=True)
    if with_digests:
        with RssPeak() as sampled:
            wall, cpu, made = asyncio.run(digests(url))
        print(
            f"  send_due_digests a day later: {wall:.2f} s wall ({cpu:.2f} s CPU), {made:,}"
            f" digest messages; RSS {sampled.peak:,.0f} MiB at most while it ran",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument(
        "--engines", nargs="*", default=["sqlite"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--digests", action="store_true", help="time send_due_digests too")
    parser.add_argument(
        "--singles", type=int, default=20, help="more articles routed one at a time (median)"
    )
    args = parser.parse_args()
    for engine in args.engines:
        for chats in args.chats:
            print(f"{engine}, {chats:,} chats", flush=True)
            if engine == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    run(
                        f"sqlite:///{tmp}/routing.db",
                        chats,
                        args.seed,
                        with_digests=args.digests,
                        singles=args.singles,
                    )
            else:
                from tests.pg import start_postgres  # noqa: PLC0415

                server = start_postgres()
                try:
                    run(
                        server.create_database(f"routing{chats}"),
                        chats,
                        args.seed,
                        with_digests=args.digests,
                        singles=args.singles,
                    )
                finally:
                    server.stop()


if __name__ == "__main__":
    main()
