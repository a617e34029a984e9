"""Schema migrations: Alembic driven from code, so ``sciforum db upgrade`` needs no ini file.

Every command upgrades the schema on start. A database already at the newest revision is
recognised by comparing its ``alembic_version`` row with the revisions written in the
migration files, without importing Alembic (a fifth of a second and ~10 MB per start).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.engine import create_sync_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    if revision == "head" and schema_is_current(url):
        return
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(url), revision)


@cache
def script_heads() -> frozenset[str] | None:
    """The head revisions, read from the migration files' text. None when a file is not in
    the plain form Alembic writes (one string parent or none; a merge has a tuple): the
    caller then asks Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            parent = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    return frozenset(revisions - parents) or None


def schema_is_current(url: str) -> bool:
    """Whether the database already has the newest schema (False when unsure)."""
    heads = script_heads()
    if heads is None:
        return False
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return frozenset(stored.scalars()) == heads
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        # No alembic_version table yet (a new database), or the server is unreachable:
        # Alembic creates the schema, or reports the connection error itself.
        return False
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
