"""Changes: which chats' subscriptions changed (their topics, rules or routing settings), as
written through this process's ORM sessions, so an index of subscriptions reloads only those.

``watch(engine)`` returns the engine's ``ChangeLog``. From then on every session on that
engine records, when it commits, the chats it wrote: ORM objects flushed (chats, chat_topics,
chat_rules) and UPDATE/DELETE statements run through ``Session.execute`` whose WHERE names
the chats (``chat_id == x``, ``chat_id IN (...)``). A statement whose chats cannot be told
(merging two chats, an INSERT of subscription rows by statement) records "everything".
Updates of chat columns routing does not read (titles, digest times) record nothing.

Not seen: writes on a raw connection, and other processes' writes (a process that routes
while another serves commands needs a change counter in the database instead).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import operators, visitors

from db.models import Chat, ChatRule, ChatTopic

# The chat columns routing reads: a change to any other (a title, the last digest's time)
# leaves the index as it is.
ROUTING_COLUMNS = frozenset(
    {
        "id",
        "active",
        "paused",
        "mode",
        "forums_only",
        "summary_sentences",
        "timezone",
        "thread_id",
        "language",
    }
)
# Table -> the column that names the chat.
_CHAT_KEYS = {"chats": "id", "chat_topics": "chat_id", "chat_rules": "chat_id"}
_PENDING = "db.changes.pending"


@dataclass(slots=True)
class ChangeLog:
    """Chats changed since the last ``take``; thread-safe (routing takes from a thread)."""

    _chats: set[int] = field(default_factory=set)
    _everything: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, chats: Iterable[int], *, everything: bool = False) -> None:
        with self._lock:
            self._chats.update(chats)
            self._everything |= everything

    def take(self) -> tuple[frozenset[int], bool]:
        """The chats changed since the last call, and whether anything unknown changed."""
        with self._lock:
            taken = frozenset(self._chats), self._everything
            self._chats.clear()
            self._everything = False
            return taken


@dataclass(slots=True)
class _Pending:
    chats: set[int] = field(default_factory=set)
    everything: bool = False


_state: dict[str, Any] = {}


def watch(engine: AsyncEngine | sa.Engine) -> ChangeLog:
    """The change log of ``engine`` (one per engine, made on first call)."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if not _state:
        _state["logs"] = weakref.WeakKeyDictionary()
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "after_commit", _after_commit)
    logs: weakref.WeakKeyDictionary[sa.Engine, ChangeLog] = _state["logs"]
    return logs.setdefault(sync, ChangeLog())


def _log_of(session: Session) -> ChangeLog | None:
    bind = session.bind
    if isinstance(bind, sa.Connection):
        bind = bind.engine
    logs: weakref.WeakKeyDictionary[sa.Engine, ChangeLog] = _state["logs"]
    return logs.get(bind) if isinstance(bind, sa.Engine) else None


def _pending(session: Session) -> _Pending:
    found: _Pending | None = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    if _log_of(session) is None:
        return
    pending = _pending(session)
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Chat):
            pending.chats.add(obj.id)
        elif isinstance(obj, ChatTopic | ChatRule):
            pending.chats.add(obj.chat_id)
    for obj in session.dirty:
        if isinstance(obj, Chat):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in ROUTING_COLUMNS):
                pending.chats.add(obj.id)
                pending.chats.update(state.attrs["id"].history.deleted or ())
        elif isinstance(obj, ChatTopic | ChatRule):
            pending.chats.add(obj.chat_id)
            pending.chats.update(sa.inspect(obj).attrs["chat_id"].history.deleted or ())


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    key = _CHAT_KEYS.get(getattr(table, "name", ""))
    if key is None or _log_of(state.session) is None:
        return
    pending = _pending(state.session)
    values = _set_columns(state.statement) if state.is_update else None
    if values is not None and key == "id" and not values & ROUTING_COLUMNS:
        return  # a title, the last digest's time: nothing routing reads
    chats = None if state.is_insert or (values and key in values) else _where_chats(state, key)
    if chats is None:
        pending.everything = True
    else:
        pending.chats.update(chats)


def _after_commit(session: Session) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    log = _log_of(session)
    if pending is not None and log is not None:
        log.record(pending.chats, everything=pending.everything)


def _set_columns(statement: Any) -> set[str] | None:
    """The columns an UPDATE sets; None when they cannot be told."""
    # SQLAlchemy keeps an UPDATE's SET clause in ``_values`` (no public accessor).
    values = getattr(statement, "_values", None)
    if not values:
        return None
    return {str(getattr(k, "key", k)) for k in values}


def _where_chats(state: ORMExecuteState, key: str) -> Collection[int] | None:
    """The chat ids the WHERE clause of the statement restricts ``key`` to; None if it does
    not (or not in a form told here: then any chat may have changed)."""
    where = getattr(state.statement, "whereclause", None)
    if where is None:
        return None
    found: set[int] = set()
    for element in visitors.iterate(where):
        if not isinstance(element, sa.BinaryExpression):
            continue
        left, right = element.left, element.right
        if getattr(left, "key", None) != key or not isinstance(right, sa.BindParameter):
            continue
        value = right.effective_value
        if element.operator is operators.eq and isinstance(value, int):
            found.add(value)
        elif element.operator is operators.in_op and isinstance(value, list | tuple):
            found.update(v for v in value if isinstance(v, int))
        else:
            return None
    return found or None
