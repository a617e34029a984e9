"""PostgreSQL advisory locks: one sender per bot token across processes.

Telegram's flood limits are per bot, not per process: two processes sending for one bot
would each spend the whole budget. ``SenderLock`` holds a session-level advisory lock,
keyed by the bot's id (``sender_lock_key``, pure), on a connection of its own for as long
as the process sends; a second process waits for it and takes over when the first dies
(PostgreSQL releases the lock with the dead process's connection).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.errors import SenderLostError, storage_error

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Seconds between tries while another process holds the lock, and between checks that the
# held lock's connection is alive.
RETRY_EVERY = 2.0
CHECK_EVERY = 15.0
_INT64 = 1 << 63


def bot_id_of(token: str) -> int:
    """The bot's id: the digits before the token's colon (``123456:AA...``). ValueError for
    a token without one."""
    head, sep, _secret = token.partition(":")
    if not sep or not head.isdigit():
        raise ValueError("a bot token looks like 123456789:AA...")
    return int(head)


def sender_lock_key(token: str) -> int:
    """The advisory lock key (a signed 64-bit integer) for the bot of ``token``: its id,
    hashed with this project's name so no other application's lock collides with it. The
    secret part of the token is left out: a new token for the same bot keeps its lock."""
    digest = hashlib.sha256(f"sciforum-digest sender {bot_id_of(token)}".encode()).digest()
    key = int.from_bytes(digest[:8], "big")
    return key - (1 << 64) if key >= _INT64 else key


class SenderLock:
    """The advisory lock of one bot, held on a dedicated connection (``acquire``/``release``)."""

    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self._engine = engine
        self._key = key
        self._connection: AsyncConnection | None = None

    async def acquire(self, *, on_wait: Callable[[], None], retry: float = RETRY_EVERY) -> None:
        """Wait until this process holds the lock; ``on_wait`` is called once, when another
        process holds it."""
        connection = await self._engine.connect()
        try:
            # Autocommit: the lock lives with the session; no transaction stays open.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            waited = False
            query = sa.text("SELECT pg_try_advisory_lock(:key)")
            while not (await connection.execute(query, {"key": self._key})).scalar_one():
                if not waited:
                    waited = True
                    on_wait()
                await asyncio.sleep(retry)
        except BaseException as exc:
            await connection.close()
            error = storage_error(exc) if isinstance(exc, Exception) else None
            if error is not None:
                raise error from exc
            raise
        self._connection = connection

    async def watch(self, *, every: float = CHECK_EVERY) -> None:
        """Return never: raise SenderLostError when the lock's connection fails (the lock
        went with it, so this process must stop sending)."""
        connection = self._connection
        assert connection is not None, "acquire() first"
        while True:
            await asyncio.sleep(every)
            try:
                await connection.execute(sa.text("SELECT 1"))
            except Exception as exc:
                lost = SenderLostError(f"the sender lock's database connection failed: {exc}")
                raise lost from exc

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except Exception as exc:  # the connection is gone, and the lock with it
            log.debug("releasing the sender lock: %s", exc)
        finally:
            await connection.close()
