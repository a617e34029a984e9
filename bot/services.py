"""The shared services handlers and jobs use, kept in ``application.bot_data``.

Built once by the app factory (``bot.app``); handlers reach them with ``services(context)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from summaries.fetch import Fetcher

if TYPE_CHECKING:
    from bot.delivery import Outbox

SERVICES_KEY = "services"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    fetcher: Fetcher
    outbox: Outbox
    # Every "now" in handlers and jobs comes from here, so tests can move time.
    clock: Callable[[], datetime] = field(default=utc_now)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids


def services(context: Any) -> Services:
    """The Services of a handler's or job's ``context`` (``context.bot_data``)."""
    found = context.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found
