"""Search index queries: storing an article's search words and finding articles for /search.

The index (migration 0010) is the table ``article_search``, one row per article:

- SQLite: an FTS5 virtual table, contentless (the words are kept only in the index), rowid =
  article id, columns ``title`` and ``body``, ``ascii`` tokenizer (it splits on ASCII
  punctuation and spaces only; the words come pre-made and space-separated, and non-ASCII
  letters are word characters to it).
- PostgreSQL: ``article_id`` and a ``tsvector`` of the same words (title words weighted A,
  body words D), GIN-indexed. The vector and the query are sent as literals, so no text
  search configuration tokenizes or stems anything.

Words come from ``summaries.search``: both engines index and look up the same words, so a
search finds the same articles on each. Of its matches, the newest ``RANKED_MATCHES`` (by
article id) are ranked (bm25 on SQLite, ts_rank on PostgreSQL; a title word counts about
ten times a body word on both), newest first among equals. Callers own the transaction.

Articles are never deleted. Were they, PostgreSQL's rows would go with them (ON DELETE
CASCADE), while SQLite's contentless index forgets a row only through FTS5's 'delete'
command given the same words: a deletion must send it, or a reused id would inherit them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from db.models import Article
from summaries.search import SearchDocument, SearchQuery, SearchTerm, search_query

INDEX_TABLE = "article_search"
# PostgreSQL keeps at most this position in a tsvector (larger ones are silently clamped).
_MAX_POSITION = 16_383
# bm25 column weights (title, body), and the matching tsvector weights: ts_rank's defaults
# value an A word at 1.0 and a D word at 0.1.
_BM25_WEIGHTS = (10.0, 1.0)
# Only the newest this many matches are ranked: ranking reads every match's words, which
# for a word in most articles would cost seconds, and a list of news is read from its top.
RANKED_MATCHES = 1000

_fts = sa.table(INDEX_TABLE, sa.column("rowid"), sa.column("title"), sa.column("body"))
_pg = sa.table(INDEX_TABLE, sa.column("article_id"), sa.column("words", TSVECTOR))


def is_index_table(name: str | None) -> bool:
    """Whether ``name`` is the search index or one of FTS5's shadow tables behind it: they
    are made by migration 0010, not declared as models (an FTS5 table cannot be, and the
    two engines' tables differ)."""
    return name is not None and (name == INDEX_TABLE or name.startswith(INDEX_TABLE + "_"))


def include_in_schema_comparison(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object``: everything but the search index (see
    ``is_index_table``)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return not is_index_table(table)


# ---------------------------------------------------------------------------- pure


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression for ``query``: every wanted term, then NOT each unwanted
    one."""
    expression = " AND ".join(f"({_fts5_term(t)})" for t in query.include)
    for term in query.exclude:
        expression = f"({expression}) NOT ({_fts5_term(term)})"
    return expression


def tsquery_literal(query: SearchQuery) -> str:
    """The tsquery literal for ``query`` (``&``, ``!``, and ``<->`` within a phrase)."""
    wanted = [f"({_tsquery_term(t)})" for t in query.include]
    unwanted = [f"!({_tsquery_term(t)})" for t in query.exclude]
    return " & ".join(wanted + unwanted)


def tsvector_literal(document: SearchDocument) -> str:
    """The tsvector literal for ``document``: title words at A weight, then body words, one
    position apart more so that no phrase runs from the title into the body."""
    positions: dict[str, list[str]] = {}
    title = document.title.split()
    _add_positions(positions, title, start=1, weight="A")
    _add_positions(positions, document.body.split(), start=len(title) + 2, weight="")
    return " ".join(f"{_quoted(word)}:{','.join(found)}" for word, found in positions.items())


def _add_positions(
    positions: dict[str, list[str]], words: Iterable[str], *, start: int, weight: str
) -> None:
    for offset, word in enumerate(words):
        found = positions.setdefault(word, [])
        # PostgreSQL keeps 256 positions a word; more would only be dropped on its side.
        if len(found) < 256:
            found.append(f"{min(start + offset, _MAX_POSITION)}{weight}")


def _fts5_term(term: SearchTerm) -> str:
    if term.phrase:
        return '"' + " ".join(_fts5_escape(w) for w in term.words) + '"'
    return " AND ".join(f'"{_fts5_escape(w)}"' for w in term.words)


def _fts5_escape(word: str) -> str:
    return word.replace('"', '""')


def _tsquery_term(term: SearchTerm) -> str:
    return (" <-> " if term.phrase else " & ").join(_quoted(w) for w in term.words)


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


# ---------------------------------------------------------------------------- queries


async def index_article(session: AsyncSession, article_id: int, document: SearchDocument) -> None:
    """Add a new article's words to the index (in the caller's transaction)."""
    await index_articles(session, [(article_id, document)])


async def index_articles(
    session: AsyncSession, documents: Sequence[tuple[int, SearchDocument]]
) -> None:
    """Add new articles' words to the index, (article id, words) each, in one statement
    (in the caller's transaction)."""
    if not documents:
        return
    connection = await session.connection()
    if _dialect(session) == "sqlite":
        rows = [{"rowid": i, "title": d.title, "body": d.body} for i, d in documents]
        await connection.execute(sa.insert(_fts), rows)
        return
    insert = sa.insert(_pg).values(
        article_id=sa.bindparam("b_id"), words=sa.cast(sa.bindparam("b_words"), TSVECTOR)
    )
    rows = [{"b_id": i, "b_words": tsvector_literal(d)} for i, d in documents]
    await connection.execute(insert, rows)


async def search_articles(
    session: AsyncSession,
    include: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    limit: int = 10,
    offset: int = 0,
    max_id: int | None = None,
) -> Sequence[Article]:
    """Articles with every ``include`` term (a word with its inflections, a phrase, a
    Chinese word) in the title or the text and no ``exclude`` term, best first and newest
    first among equals; ``offset``, ``max_id`` as for a list's later pages. No articles
    when a wanted term has no word in it."""
    # jieba loads its dictionary (a second or so) on the first Chinese query: not on the
    # event loop.
    plain = all(t.isascii() for t in (*include, *exclude))
    query = (
        search_query(include, exclude)
        if plain
        else await asyncio.to_thread(search_query, include, exclude)
    )
    if query is None:
        return []
    if _dialect(session) == "sqlite":
        statement = _sqlite_search(query, max_id)
    else:
        statement = _postgresql_search(query, max_id)
    statement = statement.order_by(col(Article.published).desc(), col(Article.id).desc())
    return (await session.exec(statement.offset(offset).limit(limit))).all()


def _sqlite_search(query: SearchQuery, max_id: int | None) -> SelectOfScalar[Article]:
    hits = sa.select(
        _fts.c.rowid.label("id"),
        sa.func.bm25(sa.literal_column(INDEX_TABLE), *_BM25_WEIGHTS).label("rank"),
    ).where(sa.literal_column(INDEX_TABLE).op("MATCH")(fts5_match(query)))
    if max_id is not None:
        hits = hits.where(_fts.c.rowid <= max_id)
    newest = hits.order_by(_fts.c.rowid.desc()).limit(RANKED_MATCHES).subquery("hits")
    return select(Article).join(newest, newest.c.id == col(Article.id)).order_by(newest.c.rank)


def _postgresql_search(query: SearchQuery, max_id: int | None) -> SelectOfScalar[Article]:
    # Inlined, not a parameter: with a parameter PostgreSQL may switch to a generic plan
    # (after five runs of a prepared statement) that cannot see how rare the words are.
    tsquery = sa.cast(
        sa.bindparam("tsquery", tsquery_literal(query), literal_execute=True), TSQUERY
    )
    hits = sa.select(_pg.c.article_id.label("id"), _pg.c.words).where(_pg.c.words.op("@@")(tsquery))
    if max_id is not None:
        hits = hits.where(_pg.c.article_id <= max_id)
    newest = hits.order_by(_pg.c.article_id.desc()).limit(RANKED_MATCHES).subquery("hits")
    return (
        select(Article)
        .join(newest, newest.c.id == col(Article.id))
        # Ranked out here, for the newest matches only: ts_rank reads each whole vector.
        .order_by(sa.func.ts_rank(newest.c.words, tsquery).desc())
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
