"""The exception tree of the ``bot`` package."""

from __future__ import annotations


class BotError(Exception):
    """Base class for expected failures in the bot and its CLI."""


class SettingsError(BotError):
    """A setting has a wrong value; the message names the variable in one line."""


class RoleError(BotError):
    """``sciforum run --role`` cannot run with these settings; the message says why."""


class FeedFileError(BotError):
    """A FEEDS / OPML file cannot be opened."""


class UnknownTopic(BotError, ValueError):
    """Topics typed by an admin that are not in the taxonomy; ``names`` as they were typed."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        shown = ", ".join(repr(name) for name in names)
        super().__init__(f"unknown topic{'s' if len(names) > 1 else ''}: {shown}")


class WorkerError(BotError):
    """A job in the worker pool gave no result (bot.workers)."""


class JobTimeout(WorkerError):
    """The job ran past its time limit; its worker process was replaced."""


class WorkerCrashed(WorkerError):
    """The worker process died under the job, and again when it was retried."""


class PoolStopped(WorkerError):
    """The pool was stopped (the process is shutting down): no fault of the job's."""


class HtmlError(BotError):
    """A text that Telegram's HTML parse mode would refuse; the message says why."""


class FeedRefused(BotError):
    """A feed a chat asked to follow (/sub, OPML import) that is not followed; the message
    says why, for the user."""
