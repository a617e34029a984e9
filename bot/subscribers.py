"""Subscribers: the live subscription index of a database (``bot.subindex``), built from
it on first use and kept current from ``db.changes``.

``subscribers(sessions)`` is the one ``Subscribers`` of a session factory. ``current`` first
takes the chats changed since its last call (every topic, rule, /stop and settings change
committed through a session of this process is recorded by ``db.changes``), reloads only
those chats' rows, and rebuilds the whole index when a change could not be told by chat
(or on first use). Loading is a few bulk queries of plain rows; building runs in a thread.

A built index is set aside from the garbage collector (``bot.heap.settle_heap``): at
100,000 chats it is ~400,000 objects that live until the next full build, and every full
collection traversed them all again, 100-290 ms each with the interpreter stopped
(``benchmarks/burst.py``). It holds no reference cycles, so a replaced index is still freed
(by reference counting), and its updates are collected as before.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.heap import settle_heap
from bot.subindex import SubscriptionIndex, build_index, update_index
from db import changes
from db import chats as chats_db

_all: dict[str, Any] = {}


class Subscribers:
    """The index of one database; ``lock`` is held while the index is read or changed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        # Watch before the first load, so nothing committed after it is missed.
        self._log = changes.watch(sessions.kw["bind"])
        self._index: SubscriptionIndex | None = None
        self.lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Rebuild the index at its next use (after a failure that may come from a stale
        entry, e.g. a chat deleted by a writer this process does not see)."""
        self._index = None

    async def current(self, session: AsyncSession) -> SubscriptionIndex:
        """The index, brought up to date in ``session`` (hold ``lock``)."""
        changed, everything = self._log.take()
        if self._index is None or everything:
            rows = await chats_db.subscription_rows(session)
            self._index = await asyncio.to_thread(_settled_index, rows)
        elif changed:
            rows = await chats_db.subscription_rows(session, changed)
            await asyncio.to_thread(update_index, self._index, changed, rows)
        return self._index


def _settled_index(rows: chats_db.SubscriptionRows) -> SubscriptionIndex:
    index = build_index(rows)
    settle_heap()
    return index


def subscribers(sessions: async_sessionmaker[AsyncSession]) -> Subscribers:
    """The Subscribers of ``sessions`` (made on first call, kept while ``sessions`` lives)."""
    if not _all:
        _all["by_sessions"] = weakref.WeakKeyDictionary()
    known: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], Subscribers]
    known = _all["by_sessions"]
    found = known.get(sessions)
    if found is None:
        found = known[sessions] = Subscribers(sessions)
    return found
