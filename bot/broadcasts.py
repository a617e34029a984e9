"""Following an admin's broadcast: the progress message edited every few seconds, the final
report, and picking broadcasts up again after a restart.

The sending itself is the outbox's (``bot.delivery.Outbox``); the counts come from the
delivery rows (``db.outbox.broadcast_progress``), so there is nothing here to keep in sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from db import outbox
from db.errors import BroadcastNotFound
from db.outbox import BroadcastProgress

log = logging.getLogger(__name__)


def progress_text(broadcast_id: int, progress: BroadcastProgress) -> str:
    """``📣 Broadcast #N: 1,234/5,000 sent · 12 blocked · 3 failed``"""
    return (
        f"📣 Broadcast #{broadcast_id}: {progress.sent:,}/{progress.total:,} sent"
        f" · {progress.blocked:,} blocked · {progress.failed:,} failed"
    )


def report_text(broadcast_id: int, progress: BroadcastProgress, *, cancelled: bool) -> str:
    """The final report: delivered, blocked, failed (and what a cancel left unsent)."""
    head = "⏹ cancelled" if cancelled else "✅ finished"
    lines = [
        f"<b>Broadcast #{broadcast_id} {head}</b>",
        f"Delivered: {progress.sent:,} of {progress.total:,}",
        f"Blocked (chat deactivated): {progress.blocked:,}",
        f"Failed: {progress.failed:,}",
    ]
    if progress.cancelled or cancelled:
        lines.append(f"Not sent (cancelled): {progress.cancelled:,}")
    return "\n".join(lines)


async def _edit(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:
        # "message is not modified", a deleted message, a flood wait: the next tick or the
        # final report says it anyway.
        log.debug("broadcast progress edit skipped: %s", exc)


async def _send(bot: Bot, chat_id: int, text: str) -> int | None:
    try:
        message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.warning("broadcast message to admin chat %s failed: %s", chat_id, exc)
        return None
    return message.message_id


async def follow_broadcast(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    broadcast_id: int,
    *,
    clock: Callable[[], datetime],
    interval: float = 3.0,
) -> None:
    """Edit the admin's progress message until no row is pending, then mark the broadcast
    done and send the final report; stops the same way on cancel.

    Without a stored progress message, one is sent to the admin first. Database trouble is
    logged and retried at the next tick; the task ends only when the broadcast does.
    """
    shown: str | None = None
    settling = False
    while True:
        try:
            async with sessions() as session, session.begin():
                over = await outbox.finish_broadcast_if_done(session, broadcast_id, now=clock())
                broadcast = await outbox.get_broadcast(session, broadcast_id)
                progress = await outbox.broadcast_progress(session, broadcast_id)
                status, admin_id = broadcast.status, broadcast.admin_id
                target = broadcast.progress_chat_id, broadcast.progress_message_id
        except BroadcastNotFound:
            log.warning("broadcast #%s is gone; no longer following it", broadcast_id)
            return
        except Exception:
            log.exception("broadcast #%s: reading progress failed", broadcast_id)
            await asyncio.sleep(interval)
            continue
        text = progress_text(broadcast_id, progress)
        chat_id, message_id = target
        if chat_id is None or message_id is None:
            chat_id, message_id = admin_id, await _send(bot, admin_id, text)
            if message_id is not None:
                await _remember(sessions, broadcast_id, chat_id, message_id)
            shown = text
        elif text != shown:
            await _edit(bot, chat_id, message_id, text)
            shown = text
        if over and status == "cancelled" and not settling:
            # Sends already in flight when the cancel came are still being recorded.
            settling = True
            await asyncio.sleep(interval)
            continue
        if over:
            report = report_text(broadcast_id, progress, cancelled=status == "cancelled")
            await _send(bot, chat_id if chat_id is not None else admin_id, report)
            return
        await asyncio.sleep(interval)


async def _remember(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int, chat_id: int, message_id: int
) -> None:
    try:
        async with sessions() as session, session.begin():
            await outbox.set_progress_message(
                session, broadcast_id, chat_id=chat_id, message_id=message_id
            )
    except Exception:
        log.exception("broadcast #%s: storing the progress message failed", broadcast_id)


async def resume_broadcasts(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Callable[[], datetime],
    interval: float = 3.0,
) -> list[asyncio.Task[None]]:
    """Follow again every broadcast a restart interrupted (the outbox resends its rows).

    The caller keeps the tasks (and cancels them at shutdown).
    """
    async with sessions() as session:
        ids = [b.id for b in await outbox.sending_broadcasts(session) if b.id is not None]
    return [
        asyncio.create_task(
            follow_broadcast(bot, sessions, broadcast_id, clock=clock, interval=interval),
            name=f"broadcast-{broadcast_id}",
        )
        for broadcast_id in ids
    ]
