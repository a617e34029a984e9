"""Bulk rows: many plain rows written to one table with the driver's executemany.

SQLAlchemy's executemany processes every parameter of every row in Python on the calling
thread (~10 µs a row for a delivery): for the tens of thousands of rows one article can
route, that is CPU work on the event loop. ``prepare_rows`` does that processing (the
column types' bind processors, each distinct value once) wherever the caller runs it, e.g.
in a worker thread, and ``insert_prepared`` hands the finished statement and parameters to
the driver (SQLite's executemany runs in aiosqlite's thread; psycopg pipelines it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """An INSERT in the driver's own SQL and its rows as driver values."""

    sql: str
    params: list[tuple[Any, ...]] | list[dict[str, Any]]


def prepare_rows(
    dialect: sa.Dialect, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> PreparedRows | None:
    """The rows (all with the keys of the first) ready for ``insert_prepared``; None if
    there are none. Pure CPU: safe to run in a thread."""
    if not rows:
        return None
    columns = list(rows[0])
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=columns)
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    memo: list[dict[Any, Any]] = [{} for _ in columns]

    def value(i: int, raw: Any) -> Any:
        process = processors[i]
        if process is None or raw is None:
            return raw
        try:
            found = memo[i].get(raw, memo)
        except TypeError:  # an unhashable value (JSON): processed every time
            return process(raw)
        if found is memo:
            found = memo[i][raw] = process(raw)
        return found

    processed = [tuple(value(i, row[name]) for i, name in enumerate(columns)) for row in rows]
    if compiled.positiontup is not None:
        order = [columns.index(name) for name in compiled.positiontup]
        if order != list(range(len(columns))):
            processed = [tuple(row[i] for i in order) for row in processed]
        return PreparedRows(compiled.string, processed)
    return PreparedRows(
        compiled.string, [dict(zip(columns, row, strict=True)) for row in processed]
    )


async def insert_prepared(session: AsyncSession, prepared: PreparedRows | None) -> None:
    """Execute a prepared INSERT in the session's transaction."""
    if prepared is not None:
        connection = await session.connection()
        await connection.exec_driver_sql(prepared.sql, prepared.params)
