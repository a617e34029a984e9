"""Inline keyboards and their callback data: topic picker, settings, unsubscribe, events.

Every button's callback data names an action and the TARGET chat it applies to, so a bot
admin can configure a channel from a private chat. ``encode`` writes an action as at most
64 bytes (Telegram's limit); ``parse`` reads it back and returns None for anything it did
not write — callback data can be forged by a modified client, so parsing is strict, and
handlers still check that the clicking user may change the target chat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from summaries.topics import TOPICS, Topic, topic_by_slug

MAX_CALLBACK_BYTES = 64
TOPICS_PER_PAGE = 8
MAX_SENTENCES = 5
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHECK = "✅"

Mode = Literal["instant", "daily", "weekly"]
SettingsView = Literal["main", "hour", "weekday"]

# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True, slots=True)
class ToggleTopic:
    chat_id: int
    slug: str
    page: int


@dataclass(frozen=True, slots=True)
class ShowTopics:
    chat_id: int
    page: int


@dataclass(frozen=True, slots=True)
class TopicsDone:
    chat_id: int


@dataclass(frozen=True, slots=True)
class ShowSettings:
    chat_id: int
    view: SettingsView


@dataclass(frozen=True, slots=True)
class SetMode:
    chat_id: int
    mode: Mode


@dataclass(frozen=True, slots=True)
class SetHour:
    chat_id: int
    hour: int


@dataclass(frozen=True, slots=True)
class SetWeekday:
    chat_id: int
    weekday: int


@dataclass(frozen=True, slots=True)
class SetSentences:
    chat_id: int
    sentences: int


@dataclass(frozen=True, slots=True)
class SetForumsOnly:
    chat_id: int
    on: bool


@dataclass(frozen=True, slots=True)
class SetPaused:
    chat_id: int
    on: bool


@dataclass(frozen=True, slots=True)
class TimezoneHint:
    chat_id: int


@dataclass(frozen=True, slots=True)
class RemoveTopic:
    chat_id: int
    slug: str


@dataclass(frozen=True, slots=True)
class RemoveRule:
    chat_id: int
    rule_id: int


@dataclass(frozen=True, slots=True)
class RemoveAll:
    chat_id: int


@dataclass(frozen=True, slots=True)
class EventsCalendar:
    chat_id: int


Action = (
    ToggleTopic
    | ShowTopics
    | TopicsDone
    | ShowSettings
    | SetMode
    | SetHour
    | SetWeekday
    | SetSentences
    | SetForumsOnly
    | SetPaused
    | TimezoneHint
    | RemoveTopic
    | RemoveRule
    | RemoveAll
    | EventsCalendar
)

# ------------------------------------------------------------------------------ codec

# Tag -> the action's class; the tag is the first field of the callback data.
_TAGS: Mapping[str, type[Action]] = {
    "tt": ToggleTopic,
    "tp": ShowTopics,
    "td": TopicsDone,
    "sv": ShowSettings,
    "sm": SetMode,
    "sh": SetHour,
    "sw": SetWeekday,
    "sl": SetSentences,
    "sf": SetForumsOnly,
    "sp": SetPaused,
    "sz": TimezoneHint,
    "ut": RemoveTopic,
    "ur": RemoveRule,
    "ua": RemoveAll,
    "ei": EventsCalendar,
}
_TAG_OF: Mapping[type[Action], str] = {cls: tag for tag, cls in _TAGS.items()}

_INT64_MAX = 2**63 - 1
_CHAT_ID = re.compile(r"-?[1-9][0-9]{0,18}")
_SMALL_INT = re.compile(r"0|[1-9][0-9]{0,1}")
_ROW_ID = re.compile(r"[1-9][0-9]{0,18}")


def _chat_id(raw: str) -> int | None:
    if not _CHAT_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if -_INT64_MAX <= value <= _INT64_MAX else None


def _bounded(low: int, high: int) -> Callable[[str], int | None]:
    def read(raw: str) -> int | None:
        if not _SMALL_INT.fullmatch(raw):
            return None
        value = int(raw)
        return value if low <= value <= high else None

    return read


def _slug(raw: str) -> str | None:
    return raw if topic_by_slug(raw) is not None else None


def _row_id(raw: str) -> int | None:
    if not _ROW_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if value <= _INT64_MAX else None


def _flag(raw: str) -> bool | None:
    return {"1": True, "0": False}.get(raw)


def _choice(*allowed: str) -> Callable[[str], str | None]:
    return lambda raw: raw if raw in allowed else None


def page_count() -> int:
    return -(-len(TOPICS) // TOPICS_PER_PAGE)


# How each field (after chat_id) is read back; anything not listed is refused.
_READERS: Mapping[str, Callable[[str], object | None]] = {
    "slug": _slug,
    "page": _bounded(0, page_count() - 1),
    "view": _choice("main", "hour", "weekday"),
    "mode": _choice("instant", "daily", "weekly"),
    "hour": _bounded(0, 23),
    "weekday": _bounded(0, 6),
    "sentences": _bounded(1, MAX_SENTENCES),
    "on": _flag,
    "rule_id": _row_id,
}


def encode(action: Action) -> str:
    """The callback data for an action; ValueError if it would not fit in 64 bytes."""
    parts = [_TAG_OF[type(action)]]
    for f in fields(action):
        value = getattr(action, f.name)
        parts.append(str(int(value)) if isinstance(value, bool) else str(value))
    data = ":".join(parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES or parse(data) != action:
        raise ValueError(f"cannot encode {action!r} as callback data")
    return data


def parse(data: object) -> Action | None:
    """The action a button's callback data names, or None if it is not one of ours."""
    if not isinstance(data, str) or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    tag, _, rest = data.partition(":")
    cls = _TAGS.get(tag)
    if cls is None:
        return None
    raw = rest.split(":")
    names = [f.name for f in fields(cls)]
    if len(raw) != len(names):
        return None
    chat_id = _chat_id(raw[0])
    if chat_id is None:
        return None
    values: dict[str, object] = {"chat_id": chat_id}
    for name, text in zip(names[1:], raw[1:], strict=True):
        value = _READERS[name](text)
        if value is None:
            return None
        values[name] = value
    return cls(**values)  # type: ignore[arg-type]  # fields checked one by one above


def is_action(data: object) -> bool:
    """For CallbackQueryHandler(pattern=...): only our own buttons."""
    return parse(data) is not None


# ------------------------------------------------------------------------------ keyboards


class ChatSettings(Protocol):
    """What the settings keyboard shows of a chat (db.models.Chat fits)."""

    mode: str
    digest_hour: int
    digest_weekday: int
    timezone: str
    summary_sentences: int
    forums_only: bool
    paused: bool


def _button(text: str, action: Action) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(action))


def _checked(text: str, on: bool) -> str:
    return f"{CHECK} {text}" if on else text


def topic_label(topic: Topic) -> str:
    return f"{topic.emoji} {topic.name}" if topic.emoji else topic.name


def topic_keyboard(chat_id: int, chosen: Collection[str], page: int = 0) -> InlineKeyboardMarkup:
    """The topic picker: one toggle per topic (✅ when chosen), paged, then Settings / Done."""
    pages = page_count()
    page = min(max(page, 0), pages - 1)
    shown = TOPICS[page * TOPICS_PER_PAGE : (page + 1) * TOPICS_PER_PAGE]
    rows = [
        [_button(_checked(topic_label(t), t.slug in chosen), ToggleTopic(chat_id, t.slug, page))]
        for t in shown
    ]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(_button("◀", ShowTopics(chat_id, page - 1)))
        nav.append(_button(f"{page + 1}/{pages}", ShowTopics(chat_id, page)))
        if page < pages - 1:
            nav.append(_button("▶", ShowTopics(chat_id, page + 1)))
        rows.append(nav)
    rows.append(
        [
            _button("⚙️ Settings", ShowSettings(chat_id, "main")),
            _button("✔️ Done", TopicsDone(chat_id)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def settings_keyboard(
    chat_id: int, chat: ChatSettings, view: SettingsView = "main"
) -> InlineKeyboardMarkup:
    """The settings: delivery mode, digest hour/day, summary length, forums only, pause."""
    back = [_button("◀ Back", ShowSettings(chat_id, "main"))]
    if view == "hour":
        hours = [
            _button(_checked(f"{h:02d}:00", h == chat.digest_hour), SetHour(chat_id, h))
            for h in range(24)
        ]
        return InlineKeyboardMarkup([*_chunks(hours, 4), back])
    if view == "weekday":
        days = [
            _button(_checked(name, d == chat.digest_weekday), SetWeekday(chat_id, d))
            for d, name in enumerate(WEEKDAYS)
        ]
        return InlineKeyboardMarkup([*_chunks(days, 3), back])
    modes: list[tuple[Mode, str]] = [
        ("instant", "⚡ Instant"),
        ("daily", "📰 Daily"),
        ("weekly", "🗞 Weekly"),
    ]
    rows = [[_button(_checked(label, chat.mode == m), SetMode(chat_id, m)) for m, label in modes]]
    if chat.mode in ("daily", "weekly"):
        when = [_button(f"🕗 At {chat.digest_hour:02d}:00", ShowSettings(chat_id, "hour"))]
        if chat.mode == "weekly":
            day = WEEKDAYS[chat.digest_weekday % 7]
            when.append(_button(f"📆 {day}", ShowSettings(chat_id, "weekday")))
        rows.append(when)
    rows.append(
        [
            _button(_checked(f"📝{n}", n == chat.summary_sentences), SetSentences(chat_id, n))
            for n in range(1, MAX_SENTENCES + 1)
        ]
    )
    forums = "🏛 Forums only: on" if chat.forums_only else "🏛 Forums only: off"
    pause = "▶️ Resume" if chat.paused else "⏸ Pause"
    rows.append(
        [
            _button(forums, SetForumsOnly(chat_id, not chat.forums_only)),
            _button(pause, SetPaused(chat_id, not chat.paused)),
        ]
    )
    rows.append([_button(f"🌐 Time zone: {chat.timezone}", TimezoneHint(chat_id))])
    rows.append([_button("🏷 Topics", ShowTopics(chat_id, 0))])
    return InlineKeyboardMarkup(rows)


def unsubscribe_keyboard(
    chat_id: int, topics: Sequence[str], rules: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """One ❌ button per chosen topic and per keyword rule (id, query), then "everything"."""
    rows: list[list[InlineKeyboardButton]] = []
    for slug in topics:
        topic = topic_by_slug(slug)
        if topic is not None:
            rows.append([_button(f"❌ {topic_label(topic)}", RemoveTopic(chat_id, slug))])
    for rule_id, query in rules:
        rows.append([_button(f"❌ 🔎 {_shorten(query, 48)}", RemoveRule(chat_id, rule_id))])
    rows.append([_button("🗑 Everything", RemoveAll(chat_id))])
    return InlineKeyboardMarkup(rows)


def events_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button("📅 Add to calendar (.ics)", EventsCalendar(chat_id))]])


def _chunks(buttons: Sequence[InlineKeyboardButton], size: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
