"""full-text search index: article_search (SQLite FTS5, PostgreSQL tsvector + GIN)

The index holds each article's search words (``summaries.search``), made in Python so both
engines hold the same words; see ``db.search``. Existing articles are indexed here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.search import tsvector_literal
from summaries.search import search_document

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Articles read and indexed per round trip while backfilling.
_BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Contentless: the words live only in the index (articles keep the text itself).
        op.execute(
            "CREATE VIRTUAL TABLE article_search"
            " USING fts5(title, body, content='', tokenize='ascii')"
        )
        insert = sa.text(
            "INSERT INTO article_search (rowid, title, body) VALUES (:id, :title, :body)"
        )
    else:
        op.execute(
            "CREATE TABLE article_search ("
            " article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,"
            " words TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_search_words ON article_search USING gin (words)")
        insert = sa.text(
            "INSERT INTO article_search (article_id, words) VALUES (:id, CAST(:words AS tsvector))"
        )
    _backfill(bind, insert)


def _backfill(bind: sa.Connection, insert: sa.TextClause) -> None:
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, title, text FROM articles WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        values = []
        for article_id, title, text in rows:
            document = search_document(title or "", text or "")
            values.append(
                {
                    "id": article_id,
                    "title": document.title,
                    "body": document.body,
                    "words": tsvector_literal(document),
                }
            )
        bind.execute(insert, values)
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("DROP TABLE article_search")
