"""Bulk rows on both databases: what goes in through the driver (executemany on SQLite,
COPY on PostgreSQL) reads back as given, defaults and awkward text included."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.bulk import insert_prepared, prepare_rows
from db.models import Chat, Delivery

NOW = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
TEXTS = (
    "plain",
    "tab\there, newline\nthere, return\r, backslash \\ and a literal \\N",
    "<b>HTML</b> · 量子计算 · emoji 🔬",
    "",
)


async def test_prepared_rows_read_back_as_given_with_their_column_defaults(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        s.add(Chat(id=7, type="private", created_at=NOW))
    columns = ("chat_id", "kind", "text", "thread_id", "next_attempt_at", "created_at")
    rows = [(7, "article", text, i or None, NOW, NOW) for i, text in enumerate(TEXTS)]

    async with sessions() as s, s.begin():
        table = SQLModel.metadata.tables["deliveries"]
        prepared = prepare_rows(s.get_bind().dialect, table, columns, rows)
        await insert_prepared(s, prepared)
    async with sessions() as s:
        stored = (await s.exec(select(Delivery).order_by(col(Delivery.id)))).all()

    assert [(d.text, d.thread_id, d.next_attempt_at) for d in stored] == [
        (text, i or None, NOW) for i, text in enumerate(TEXTS)
    ]
    # Columns left out take their defaults.
    assert {(d.status, d.attempts, d.disable_preview) for d in stored} == {("pending", 0, False)}


def test_no_rows_prepare_nothing() -> None:
    from sqlalchemy.dialects import sqlite

    table = SQLModel.metadata.tables["deliveries"]
    assert prepare_rows(sqlite.dialect(), table, ("chat_id",), []) is None
