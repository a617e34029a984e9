"""A chat's interface language: which one it is, and where it comes from.

A chat speaks the language stored in ``chats.language`` ("en" or "zh"). A chat seen for the
first time takes its sender's Telegram ``language_code`` (any zh-* is Chinese); /language
changes it for the chat. A chat with no stored language yet (made before languages
existed, or not yet spoken to) follows whoever is writing. Pushes and digests use the
stored language (English when none is stored).

``language_for_chat`` is the pure rule; ``translator_for`` reads the row for a handler.
"""

from __future__ import annotations

from telegram import Update

from bot.i18n import Language, Translator, language_of, translator
from bot.services import Services
from db import chats as chats_db
from db.models import Chat

__all__ = ["language_for_chat", "sender_language", "translator_for", "translator_of"]


def sender_language(update: Update) -> Language:
    """The interface language of whoever sent ``update`` (their Telegram app's language)."""
    user = update.effective_user
    return language_of(user.language_code if user is not None else None)


def language_for_chat(stored: str | None, sender: Language) -> Language:
    """The chat's stored language when it has one, else the sender's."""
    if stored in ("en", "zh"):
        return "zh" if stored == "zh" else "en"
    return sender


def translator_of(chat: Chat | None, update: Update) -> Translator:
    """The translator for a chat row already loaded (None: a chat not stored yet)."""
    stored = chat.language if chat is not None else None
    return translator(language_for_chat(stored, sender_language(update)))


async def translator_for(svc: Services, update: Update) -> Translator:
    """The translator for the chat ``update`` came from: one read of its row."""
    tg_chat = update.effective_chat
    if tg_chat is None:
        return translator(sender_language(update))
    async with svc.sessions() as session:
        chat = await chats_db.get_chat(session, tg_chat.id)
    return translator_of(chat, update)
