"""Logging set-up for every command: the format (LOG_FORMAT text or json), the level, and
the chatty libraries held at WARNING.

``configure_logging`` is called once by the CLI after the settings are loaded. Log calls
that concern one feed or one chat pass ``extra={"feed_id": ..., "feed_url": ...}`` or
``extra={"chat_id": ...}``; the JSON format writes them as fields of the line (the text
format leaves them out: the message already names the feed or chat).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The JSON keys, in this order; the extra fields (feed_id, chat_id, ...) follow.
JSON_FIELDS = ("asctime", "levelname", "name", "message")
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# Libraries that log at INFO on every request, migration step or index they build: at
# our INFO they would drown the one line per pass per concern.
QUIET_LOGGERS = (
    "alembic",
    "simhash",
    "httpx",
    "httpcore",
    "trafilatura",
    "htmldate",
    "courlan",
    "justext",
    "apscheduler",
    "aiosqlite",
    "jieba",
)


def log_formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter  # noqa: PLC0415

        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields=JSON_RENAMES,
            # ISO 8601 with the offset: collectors parse it without a format string.
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, fmt: LogFormat = "text") -> None:
    """Log to standard error at ``level`` in ``fmt``, replacing any earlier set-up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    quiet = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
