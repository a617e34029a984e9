"""Alembic environment: runs migrations on the sync engine derived from DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata for autogenerate)
from db.engine import create_sync_engine
from db.search import include_in_schema_comparison

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # The search index is made by its migration, not declared as models.
            include_object=include_in_schema_comparison,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
