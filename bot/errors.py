"""The exception tree of the ``bot`` package."""

from __future__ import annotations


class BotError(Exception):
    """Base class for expected failures in the bot and its CLI."""


class SettingsError(BotError):
    """A setting has a wrong value; the message names the variable in one line."""


class FeedFileError(BotError):
    """A FEEDS / OPML file cannot be opened."""
