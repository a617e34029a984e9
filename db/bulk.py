"""Bulk rows: many plain rows written to one table with the driver's executemany.

SQLAlchemy's executemany processes every parameter of every row in Python on the calling
thread (~10 µs a row for a delivery): for the tens of thousands of rows one article can
route, that is CPU work on the event loop. ``prepare_rows`` does that processing (the
column types' bind processors, each distinct value of a column once) wherever the caller
runs it, e.g. in a worker thread, and ``insert_prepared`` hands the finished statement and
parameters to the driver (SQLite's executemany runs in aiosqlite's thread; psycopg pipelines it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """An INSERT in the driver's own SQL and its rows as driver values; on PostgreSQL, also
    the same rows as one COPY (``copy_sql`` and its text-format ``copy_data``)."""

    sql: str
    params: list[tuple[Any, ...]] | list[dict[str, Any]]
    copy_sql: str | None = None
    copy_data: str | None = None


def prepare_rows(
    dialect: sa.Dialect,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> PreparedRows | None:
    """The rows (values in the order of ``columns``) ready for ``insert_prepared``; None if
    there are none. Pure CPU: safe to run in a thread."""
    if not rows:
        return None
    given = list(columns)
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=given)
    # The statement also sets the columns with a Python-side default: their default value.
    defaults: dict[str, Any] = {}
    for name in compiled.positiontup or list(compiled.params):
        if name not in given:
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise ValueError(f"no value for column {name!r} of {table.name}")
            defaults[name] = default.arg  # type: ignore[attr-defined]  # a scalar default's value
    names = given + list(defaults)
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    tail = tuple(
        value
        if (process := processors[len(given) + i]) is None or value is None
        else process(value)
        for i, value in enumerate(defaults.values())
    )
    # Column by column (zip runs in C): each distinct value of a processed column (a time,
    # a flag) is processed once, and a column of one value is that value repeated.
    data: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i, process in enumerate(processors[: len(given)]):
        if process is not None:
            data[i] = _processed(data[i], process)
    data += [(value,) * len(rows) for value in tail]
    processed: list[tuple[Any, ...]] = list(zip(*data, strict=True))
    if compiled.positiontup is not None:
        order = [names.index(name) for name in compiled.positiontup]
        if order != list(range(len(names))):
            processed = [tuple(row[i] for i in order) for row in processed]
        return PreparedRows(compiled.string, processed)
    named = [dict(zip(names, row, strict=True)) for row in processed]
    if dialect.name != "postgresql":
        return PreparedRows(compiled.string, named)
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({quoted}) FROM STDIN"
    lines = ["\t".join(map(_copy_text, row)) + "\n" for row in processed]
    return PreparedRows(compiled.string, named, copy_sql, "".join(lines))


def _processed(values: Sequence[Any], process: Callable[[Any], Any]) -> Sequence[Any]:
    try:
        distinct = set(values)
    except TypeError:  # unhashable values (JSON): each processed
        return [None if v is None else process(v) for v in values]
    done = {v: None if v is None else process(v) for v in distinct}
    if len(done) == 1:
        return (done[values[0]],) * len(values)
    return [done[v] for v in values]


# COPY's text format: backslash escapes for the characters that delimit it.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).translate(_COPY_ESCAPES)


async def insert_prepared(session: AsyncSession, prepared: PreparedRows | None) -> None:
    """Execute a prepared INSERT in the session's transaction (a COPY on PostgreSQL: one
    round trip for all the rows, where executemany makes one statement per row)."""
    if prepared is None:
        return
    connection = await session.connection()
    if prepared.copy_sql is None or prepared.copy_data is None:
        await connection.exec_driver_sql(prepared.sql, prepared.params)
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection: psycopg's AsyncConnection
    async with driver.cursor() as cursor, cursor.copy(prepared.copy_sql) as copy:
        await copy.write(prepared.copy_data)
