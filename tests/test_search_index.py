"""The search index on both engines: articles are indexed when stored and by the migration,
/search finds the same articles on SQLite and PostgreSQL, best first, newest among equals."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import articles
from db import search as search_db
from db.articles import ArticleDraft
from db.engine import create_sync_engine
from db.migrate import alembic_config, upgrade

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_numbers = itertools.count()

ARTICLES = [
    ("Microbes in the gut", "Gut microbes shape the immune system. Sequencing reveals them."),
    ("Microbial mats", "A microbial community studied by microbiology students."),
    ("Gene editing in crops", "CRISPR-Cas9 gene-edited crops yield more."),
    ("Editing the gene pool", "A review of population genetics."),
    ("量子计算机取得突破", "研究人员宣布量子计算的新进展。"),
    ("人工智能与医学", "人工智能模型帮助医生诊断疾病。LLMs assist doctors."),
    ("Fusion record", "The reactor sustained fusion for 30 seconds."),
    ("Galaxy survey", "Telescopes map galaxies; the survey's 100% sky coverage."),
]


def draft(title: str, text: str, published: datetime, n: int) -> ArticleDraft:
    return ArticleDraft(
        url=f"https://example.org/{n}",
        title=title,
        author=None,
        published=published,
        first_seen=published,
        language=None,
        text=text,
        text_source="feed",
        content_hash=str(n),
        simhash=None,
        announce=True,
    )


async def store(sessions: Sessions, items: list[tuple[str, str]]) -> None:
    async with sessions() as s, s.begin():
        for n, (title, text) in enumerate(items):
            # The later in the list, the newer: ties come out in reverse list order.
            published = NOW + timedelta(hours=n)
            number = next(_numbers)
            await articles.insert_article(s, draft(title, text, published, number), now=NOW)


async def found(
    sessions: Sessions, include: Sequence[str], exclude: Sequence[str] = (), **paging: int
) -> list[str]:
    async with sessions() as s:
        return [a.title for a in await search_db.search_articles(s, include, exclude, **paging)]


# (wanted terms, unwanted terms, titles found); the same on both engines. Their order is
# each engine's ranking (bm25 weighs length unlike ts_rank): the tests below pin it where
# both rankings must agree.
SEARCHES: list[tuple[list[str], list[str], list[str]]] = [
    # A word meets its inflections, not the words built on it.
    (["microbe"], [], ["Microbes in the gut"]),
    (["MICROBES"], [], ["Microbes in the gut"]),
    (["sequence"], [], ["Microbes in the gut"]),
    (["microbial"], [], ["Microbial mats"]),
    (["llm"], [], ["人工智能与医学"]),
    # Every wanted term, in the title or the text.
    (["gut", "immune"], [], ["Microbes in the gut"]),
    (["gut", "galaxy"], [], []),
    # A phrase is its words in a row; hyphens break words, so they meet phrases.
    (["gene editing"], [], ["Gene editing in crops"]),
    (["editing gene"], [], []),
    (["editing the gene"], [], ["Editing the gene pool"]),
    (["crispr-cas9"], [], ["Gene editing in crops"]),
    (["gene-edited crops"], [], ["Gene editing in crops"]),
    # Chinese words, also inside longer ones; mixed with English.
    (["量子计算"], [], ["量子计算机取得突破"]),
    (["计算机"], [], ["量子计算机取得突破"]),
    (["人工智能"], [], ["人工智能与医学"]),
    (["人工智能", "doctors"], [], ["人工智能与医学"]),
    (["医生", "LLMs"], [], ["人工智能与医学"]),
    # Exclusions.
    (["gene"], [], ["Gene editing in crops", "Editing the gene pool"]),
    (["gene"], ["crops"], ["Editing the gene pool"]),
    (["fusion"], ["record"], []),
    # Punctuation is no word; digits are.
    (["100%"], [], ["Galaxy survey"]),
    (["30"], [], ["Fusion record"]),
    (["quasar"], [], []),
    (["..."], [], []),
    (["fusion", "!!"], [], []),
]


async def test_search_finds_the_same_articles_on_both_engines(sessions: Sessions) -> None:
    await store(sessions, ARTICLES)
    for include, exclude, expected in SEARCHES:
        titles = await found(sessions, include, exclude)
        assert sorted(titles) == sorted(expected), (include, exclude)


async def test_a_title_match_outranks_a_newer_text_match_and_equals_come_newest_first(
    sessions: Sessions,
) -> None:
    await store(
        sessions,
        [
            ("Fusion record", "A long report on the reactor."),
            ("Reactor news", "Fusion was sustained."),
            ("Plasma", "Fusion again."),
            ("Plasma", "Fusion again."),
        ],
    )
    titles = await found(sessions, ["fusion"])
    assert titles[0] == "Fusion record"
    async with sessions() as s:
        ids = [a.id for a in await search_db.search_articles(s, ["plasma"])]
    assert ids == sorted(ids, key=lambda i: -(i or 0))


async def test_pages_follow_the_ranking_and_see_only_articles_up_to_the_anchor(
    sessions: Sessions,
) -> None:
    await store(sessions, [(f"Fusion {n}", "fusion") for n in range(5)])
    async with sessions() as s:
        anchor = max(a.id or 0 for a in await search_db.search_articles(s, ["fusion"]))
    await store(sessions, [("Fusion late", "fusion")])
    assert await found(sessions, ["fusion"], limit=2, offset=2, max_id=anchor) == [
        "Fusion 2",
        "Fusion 1",
    ]
    assert "Fusion late" in await found(sessions, ["fusion"])


def test_the_migration_indexes_the_articles_stored_before_it(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0009")
    engine = create_sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO articles (title, published, first_seen, text, text_source,"
                " content_hash, announce, is_event)"
                " VALUES ('Old fusion news', :now, :now, '旧的量子计算文章', 'feed', 'h', :t, :f)"
            ),
            {"now": NOW.replace(tzinfo=None), "t": True, "f": False},
        )
    engine.dispose()
    upgrade(database_url)

    from db.engine import create_engine, session_factory

    async def check() -> tuple[list[str], list[str]]:
        async_engine = create_engine(database_url)
        sessions = session_factory(async_engine)
        try:
            return await found(sessions, ["fusion"]), await found(sessions, ["量子计算"])
        finally:
            await async_engine.dispose()

    import asyncio

    assert asyncio.run(check()) == (["Old fusion news"], ["Old fusion news"])


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_index_is_no_model_and_left_out_of_schema_comparisons(engine: str) -> None:
    assert not search_db.include_in_schema_comparison(None, "article_search", "table", True, None)
    assert not search_db.include_in_schema_comparison(
        None, "article_search_docsize", "table", True, None
    )
    assert search_db.include_in_schema_comparison(None, "articles", "table", True, None)


async def test_only_the_newest_matches_are_ranked(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(
        sessions,
        [("Fusion record", "fusion fusion")] + [(f"Note {n}", "fusion") for n in range(3)],
    )
    assert (await found(sessions, ["fusion"]))[0] == "Fusion record"
    monkeypatch.setattr(search_db, "RANKED_MATCHES", 3)
    assert await found(sessions, ["fusion"]) == ["Note 2", "Note 1", "Note 0"]
