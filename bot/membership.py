"""Membership handlers: what Telegram tells the bot about its own place in a chat.

The bot blocked, kicked or removed → the chat is deactivated at once (rather than at the
next failed send) and its unsent rows blocked; the bot added to a group or channel → the
chat is registered; a group upgraded to a supergroup → its subscriptions move to the new id.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import BaseHandler, ChatMemberHandler, ContextTypes, MessageHandler, filters

from bot.services import services
from db import outbox
from db.chats import get_or_create_chat

log = logging.getLogger(__name__)

_GONE = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}
_PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def membership_change(change: ChatMemberUpdated) -> str | None:
    """'gone', 'joined' or None (nothing that matters) for the bot's own status change."""
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if new in _GONE and old not in _GONE:
        return "gone"
    if new in _PRESENT and old not in _PRESENT:
        return "joined"
    return None


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None:
        return
    svc = services(context)
    chat = change.chat
    what = membership_change(change)
    async with svc.sessions() as session, session.begin():
        if what == "gone":
            reason = f"bot {change.new_chat_member.status} in this chat"
            blocked = await outbox.mark_blocked_chat(session, chat.id, reason=reason)
            log.info(
                "chat %s deactivated (%s); %d unsent messages blocked", chat.id, reason, blocked
            )
        elif what == "joined":
            await get_or_create_chat(
                session,
                chat.id,
                chat_type=chat.type,
                title=chat.title or chat.username,
                now=svc.clock(),
            )
            log.info("bot added to %s %s", chat.type, chat.id)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    svc = services(context)
    async with svc.sessions() as session, session.begin():
        await outbox.migrate_chat(session, message.chat.id, message.migrate_to_chat_id)
    log.info("group %s migrated to supergroup %s", message.chat.id, message.migrate_to_chat_id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate),
    ]
