"""Search benchmark: /search's query at 100,000 stored articles on SQLite and PostgreSQL, the
index (db.search: FTS5 / tsvector + GIN) against the LIKE scan it replaced
(db.chats.search_articles) as the baseline measured in the same run.

Articles are made from real text: the abstracts of ../shared/topics (arXiv in English, CSL
in Chinese, ~28,500 with titles or none), article i being abstract i's title with its text
followed by another abstract's text (so no two articles are the same). Their index words are
those ``summaries.search`` makes for that text (made once per abstract and joined: the same
words, since abstracts are separate paragraphs). Each query is /search's first page (11
rows, under the list's anchor), run through the same async functions the bot uses.

    .venv/bin/python benchmarks/search.py                    # 100,000 articles, both engines
    .venv/bin/python benchmarks/search.py --articles 10000 --engines sqlite   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from db import chats as chats_db
from db import search as search_db
from db.engine import create_engine, create_sync_engine, session_factory
from db.migrate import upgrade
from summaries.rules import parse_rule
from summaries.search import SearchDocument, search_words

TOPICS = Path(__file__).resolve().parent.parent.parent / "shared" / "topics"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PAGE = 11  # a list page of 10 and one more to know there is a next page
GOAL_MS = 50.0

# What people would type: words, inflections, phrases, Chinese, mixed, exclusions, a word
# in most articles, a word in none.
QUERIES = [
    "graphene",
    "neural networks",
    '"dark matter"',
    "protein folding",
    "quantum entanglement",
    "climate -model",
    "model",
    "量子",
    "深度学习",
    "水稻 产量",
    "transformer 注意力",
    "zyxwvutsrq",
]


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    text: str
    title_words: str
    text_words: str


def load_sources(limit: int) -> list[Source]:
    """``limit`` abstracts (all when there are fewer), English and Chinese mixed as in the
    corpus, with their index words."""
    items = []
    for name in ("train.jsonl", "dev.jsonl"):
        with (TOPICS / name).open(encoding="utf-8") as lines:
            items.extend(json.loads(line) for line in lines)
    random.Random(7).shuffle(items)
    return [
        Source(
            item.get("title") or "",
            item["text"],
            " ".join(search_words(item.get("title") or "")),
            " ".join(search_words(item["text"])),
        )
        for item in items[:limit]
    ]


def article_rows(sources: Sequence[Source], count: int) -> list[dict[str, Any]]:
    shuffle = random.Random(11)
    rows = []
    for n in range(count):
        first = sources[n % len(sources)]
        second = sources[shuffle.randrange(len(sources))]
        title = first.title or first.text[:80]
        title_words = first.title_words or " ".join(search_words(title))
        rows.append(
            {
                "id": n + 1,
                "url": f"https://news.example.org/{n}",
                "title": title,
                "published": (NOW - timedelta(minutes=n * 7 % 500_000)).replace(tzinfo=None),
                "first_seen": NOW.replace(tzinfo=None),
                "text": f"{first.text}\n\n{second.text}",
                "text_source": "feed",
                "content_hash": str(n),
                "announce": False,
                "is_event": False,
                "document": SearchDocument(title_words, f"{first.text_words} {second.text_words}"),
            }
        )
    return rows


def fill(url: str, rows: list[dict[str, Any]]) -> float:
    """Store the articles and their index rows; returns the seconds it took."""
    started = time.perf_counter()
    engine = create_sync_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    columns = [k for k in rows[0] if k != "document"]
    names, values = ", ".join(columns), ", ".join(f":{c}" for c in columns)
    insert_article = sa.text(f"INSERT INTO articles ({names}) VALUES ({values})")
    insert_index = sa.text(
        "INSERT INTO article_search (rowid, title, body) VALUES (:id, :title, :body)"
        if sqlite
        else "INSERT INTO article_search (article_id, words) VALUES (:id, CAST(:words AS tsvector))"
    )
    for start in range(0, len(rows), 2000):
        batch = rows[start : start + 2000]
        with engine.begin() as connection:
            connection.execute(insert_article, [{c: r[c] for c in columns} for r in batch])
            connection.execute(
                insert_index,
                [
                    {
                        "id": r["id"],
                        "title": r["document"].title,
                        "body": r["document"].body,
                        "words": search_db.tsvector_literal(r["document"]),
                    }
                    for r in batch
                ],
            )
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


Search = Callable[..., Awaitable[Sequence[Any]]]


async def timings(url: str, search: Search, runs: int) -> dict[str, tuple[list[float], int]]:
    """Per query: the milliseconds of each run, and the rows of the first page."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    out: dict[str, tuple[list[float], int]] = {}
    try:
        async with sessions() as session:
            anchor = await chats_db.newest_article_id(session)
        for query in QUERIES:
            rule = parse_rule(query)
            spent: list[float] = []
            found = 0
            for _ in range(runs + 1):
                async with sessions() as session:
                    started = time.perf_counter()
                    rows = await search(
                        session,
                        rule.include_terms,
                        rule.exclude_terms,
                        limit=PAGE,
                        offset=0,
                        max_id=anchor,
                    )
                    spent.append((time.perf_counter() - started) * 1000)
                found = len(rows)
            out[query] = (spent[1:], found)  # the first run warms caches (and jieba) up
    finally:
        await engine.dispose()
    return out


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=20, help="runs of each query on the index")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs on the LIKE scan")
    args = parser.parse_args()

    started = time.perf_counter()
    sources = load_sources(args.articles)
    rows = article_rows(sources, args.articles)
    print(
        f"{len(sources):,} abstracts -> {len(rows):,} articles"
        f" ({sum(len(r['text']) for r in rows) / len(rows):,.0f} characters each on average),"
        f" words made in {time.perf_counter() - started:.0f} s"
    )
    pg: Any = None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines:
            if engine == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'search.db'}"
            else:
                from tests.pg import start_postgres  # noqa: PLC0415

                pg = start_postgres()
                url = pg.create_database("search")
            upgrade(url)
            seconds = fill(url, rows)
            print(f"{engine}: stored and indexed in {seconds:.0f} s")
            index = asyncio.run(timings(url, search_db.search_articles, args.runs))
            like = asyncio.run(timings(url, chats_db.search_articles, args.baseline_runs))
            results.append((engine, index, like))
        if pg is not None:
            pg.stop()
    report(results, args.articles)


def report(
    results: list[
        tuple[str, dict[str, tuple[list[float], int]], dict[str, tuple[list[float], int]]]
    ],
    articles: int,
) -> None:
    print(f"\n/search, first page, {articles:,} articles (ms)\n")
    print("| engine | query | rows | index p50 | index p99 | LIKE p50 | LIKE / index |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for engine, index, like in results:
        for query in QUERIES:
            spent, found = index[query]
            old, _ = like[query]
            p50, old50 = statistics.median(spent), statistics.median(old)
            print(
                f"| {engine} | `{query}` | {found} | {p50:.1f} | {percentile(spent, 0.99):.1f}"
                f" | {old50:.0f} | {old50 / p50:.0f}× |"
            )
    print("\n| engine | all queries p50 | p99 | goal | LIKE p50 | LIKE p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for engine, index, like in results:
        spent = [t for times, _ in index.values() for t in times]
        old = [t for times, _ in like.values() for t in times]
        print(
            f"| {engine} | {statistics.median(spent):.1f} | {percentile(spent, 0.99):.1f}"
            f" | ≤ {GOAL_MS:.0f} | {statistics.median(old):.0f} | {percentile(old, 0.99):.0f} |"
        )


if __name__ == "__main__":
    main()
