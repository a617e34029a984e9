"""The exception tree of the ``db`` package."""

from __future__ import annotations


class DatabaseError(Exception):
    """Base class for expected storage failures."""


class UnsupportedDatabaseURL(DatabaseError):
    """DATABASE_URL names a backend this project does not run on."""


class MissingDatabaseDriver(DatabaseError):
    """DATABASE_URL names a backend whose driver (an optional extra) is not installed."""


class FeedExists(DatabaseError):
    """A feed with that URL is already stored."""


class FeedNotFound(DatabaseError):
    """No stored feed matches the given URL or id."""
