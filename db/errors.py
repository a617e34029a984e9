"""The exception tree of the ``db`` package.

``StorageError`` and its kinds are what a failed database call raises out of ``db``:
``storage_error`` turns the driver's errors (SQLAlchemy's DBAPI wrappers, the pool's
timeout, a row deleted under an update) into them, so callers never import
``sqlalchemy.exc``. Errors in how the code uses SQLAlchemy (a detached instance, a bad
statement) are bugs, and are left as they are.
"""

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


class BroadcastNotFound(DatabaseError):
    """No broadcast has that id."""


class StorageError(DatabaseError):
    """A database call failed; the message is the driver's first line."""


class StorageUnavailable(StorageError):
    """The database cannot be reached or is busy (connection lost, locked, pool exhausted):
    nothing is wrong with the data, try again later."""


class StorageConflict(StorageError):
    """A concurrent writer got there first (a unique key taken, a row deleted meanwhile)."""


class StorageRefused(StorageError):
    """The database refused the data itself (a value too long, out of range, malformed)."""


class SenderLostError(StorageUnavailable):
    """The connection holding the sender lock (db.locks) failed: the lock went with it, and
    another process may be sending now."""


def storage_error(exc: BaseException) -> StorageError | None:
    """The StorageError for a driver error, or None when ``exc`` is not one (a bug)."""
    from sqlalchemy import exc as sa_exc  # noqa: PLC0415
    from sqlalchemy.orm import exc as orm_exc  # noqa: PLC0415

    kind: type[StorageError]
    if isinstance(exc, sa_exc.IntegrityError | orm_exc.StaleDataError):
        kind = StorageConflict
    elif isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        kind = StorageUnavailable
    elif isinstance(exc, sa_exc.DataError):
        kind = StorageRefused
    elif isinstance(exc, sa_exc.DBAPIError | ConnectionError):
        kind = StorageError
    else:
        return None
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    error = kind(" ".join(lines[0].split())[:300] if lines else type(original).__name__)
    error.__cause__ = exc
    return error
