"""Storage: SQLModel tables, the engine and sessions, queries and Alembic migrations.

SQLite (WAL, foreign keys on) is the embedded default; PostgreSQL is the production
engine. This package never imports ``bot``.
"""
