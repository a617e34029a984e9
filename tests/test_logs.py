"""Log lines in both LOG_FORMATs: the fields a JSON line carries, what the text line says."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from bot.logs import QUIET_LOGGERS, configure_logging, log_formatter


def _record(extra: dict[str, object]) -> logging.LogRecord:
    record = logging.LogRecord(
        "bot.delivery", logging.WARNING, __file__, 1, "chat %s: %s", (42, "日本"), None
    )
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({}, {}),
        ({"chat_id": 42}, {"chat_id": 42}),
        (
            {"feed_id": 7, "feed_url": "https://a.example/rss"},
            {"feed_id": 7, "feed_url": "https://a.example/rss"},
        ),
    ],
)
def test_a_json_line_has_time_level_logger_message_and_the_ids_it_concerns(
    extra: dict[str, object], fields: dict[str, object]
) -> None:
    line = log_formatter("json").format(_record(extra))

    assert "\n" not in line
    parsed = json.loads(line)
    assert list(parsed)[:4] == ["time", "level", "logger", "message"]
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "bot.delivery"
    assert parsed["message"] == "chat 42: 日本"
    assert {
        k: v for k, v in parsed.items() if k not in ("time", "level", "logger", "message")
    } == fields


def test_a_traceback_stays_inside_its_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "bug", (), sys.exc_info())

    parsed = json.loads(log_formatter("json").format(record))

    assert "ValueError: boom" in parsed["exc_info"]


def test_a_text_line_is_the_message_without_the_extra_fields() -> None:
    line = log_formatter("text").format(_record({"chat_id": 42}))

    assert line.endswith("WARNING bot.delivery: chat 42: 日本")


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "ERROR"])
def test_chatty_libraries_log_warnings_only_unless_the_level_is_higher(level: str) -> None:
    configure_logging(level, "text")
    try:
        expected = max(logging.WARNING, logging.getLevelNamesMapping()[level])
        for name in QUIET_LOGGERS:
            assert logging.getLogger(name).level == expected, name
        assert logging.getLogger().level == logging.getLevelNamesMapping()[level]
    finally:
        logging.basicConfig(force=True)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
