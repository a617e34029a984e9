"""Inline keyboards and their callback data: topic picker, settings, unsubscribe, events,
result lists, the buttons under a card, and confirmations.

Every button's callback data names an action and the TARGET chat it applies to, so a bot
admin can configure a channel from a private chat. ``encode`` writes an action as at most
64 bytes (Telegram's limit); ``parse`` reads it back and returns None for anything it did
not write — callback data can be forged by a modified client, so parsing is strict, and
handlers still check that the clicking user may change the target chat (and that what a
button refers to — a list, a search, a confirmed state — still exists).

Keyboards stay within Telegram's limits (``MAX_BUTTONS`` in all, ``MAX_ROW`` a row) at any
number of subscriptions: long ones are paged.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import ENGLISH, LANGUAGES, Translator
from bot.timezones import COMMON_ZONES, format_offset, zone
from summaries.topics import TOPICS, Topic, hashtag, topic_by_slug

MAX_CALLBACK_BYTES = 64
# Telegram refuses an inline keyboard of more than 100 buttons, or more than 8 in a row.
MAX_BUTTONS = 100
MAX_ROW = 8
TOPICS_PER_PAGE = 8
UNSUBSCRIBE_PER_PAGE = 10
MAX_UNSUBSCRIBE_PAGES = 20
LIST_SIZE = 10  # entries on a page of /latest or /search
MAX_LIST_PAGES = 10
MAX_SENTENCES = 5
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Each language's button shows its own name, whatever the chat's language is now.
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
CHECK = "✅"

Mode = Literal["instant", "daily", "weekly"]
SettingsView = Literal["main", "hour", "weekday", "timezone"]

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
class SetTimezone:
    chat_id: int
    timezone: str  # one of COMMON_ZONES


@dataclass(frozen=True, slots=True)
class SetSilent:
    chat_id: int
    on: bool


@dataclass(frozen=True, slots=True)
class ShowUnsubscribe:
    chat_id: int
    unsub_page: int


@dataclass(frozen=True, slots=True)
class RemoveTopic:
    chat_id: int
    slug: str
    unsub_page: int = 0


@dataclass(frozen=True, slots=True)
class RemoveRule:
    chat_id: int
    rule_id: int
    unsub_page: int = 0


@dataclass(frozen=True, slots=True)
class RemoveAll:
    """Asks first: the answer is a ConfirmClear button."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class ConfirmClear:
    """Remove every topic and rule, if the chat is still as it was when asked (``token``)
    and the click is by who asked (``user_id``; 0: any admin, when an anonymous admin
    asked)."""

    chat_id: int
    user_id: int
    token: str


@dataclass(frozen=True, slots=True)
class ConfirmStop:
    """Delete the chat's data, on the same conditions as ConfirmClear."""

    chat_id: int
    user_id: int
    token: str


@dataclass(frozen=True, slots=True)
class CancelConfirm:
    chat_id: int


@dataclass(frozen=True, slots=True)
class EventsCalendar:
    chat_id: int


@dataclass(frozen=True, slots=True)
class ListPage:
    """A page of a result list: /latest (``search_id`` 0) or a saved /search, as it was
    when made (articles up to ``anchor``), ``size`` entries a page."""

    chat_id: int
    search_id: int
    list_page: int
    size: int
    anchor: int


@dataclass(frozen=True, slots=True)
class OpenCard:
    chat_id: int
    article_id: int


@dataclass(frozen=True, slots=True)
class CardCalendar:
    chat_id: int
    article_id: int


@dataclass(frozen=True, slots=True)
class MuteTopic:
    chat_id: int
    slug: str


@dataclass(frozen=True, slots=True)
class UnmuteTopic:
    chat_id: int
    slug: str


@dataclass(frozen=True, slots=True)
class SetLanguage:
    chat_id: int
    language: str  # one of bot.i18n.LANGUAGES


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
    | SetTimezone
    | SetSilent
    | ShowUnsubscribe
    | RemoveTopic
    | RemoveRule
    | RemoveAll
    | ConfirmClear
    | ConfirmStop
    | CancelConfirm
    | EventsCalendar
    | ListPage
    | OpenCard
    | CardCalendar
    | MuteTopic
    | UnmuteTopic
    | SetLanguage
)

# Actions that only read (or send what the chat may read) and change nothing: anyone in
# the chat the button is in may click them, within the throttle's limits.
READ_ONLY: tuple[type[Action], ...] = (EventsCalendar, ListPage, OpenCard, CardCalendar)
# Actions that send a new message to the chat (the throttle charges them to a group).
SENDS_MESSAGE: tuple[type[Action], ...] = (EventsCalendar, OpenCard, CardCalendar)

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
    "st": SetTimezone,
    "ss": SetSilent,
    "uu": ShowUnsubscribe,
    "ut": RemoveTopic,
    "ur": RemoveRule,
    "ua": RemoveAll,
    "xc": ConfirmClear,
    "xs": ConfirmStop,
    "xx": CancelConfirm,
    "ei": EventsCalendar,
    "lp": ListPage,
    "oc": OpenCard,
    "ci": CardCalendar,
    "mt": MuteTopic,
    "mu": UnmuteTopic,
    "lg": SetLanguage,
}
_TAG_OF: Mapping[type[Action], str] = {cls: tag for tag, cls in _TAGS.items()}

_INT64_MAX = 2**63 - 1
_CHAT_ID = re.compile(r"-?[1-9][0-9]{0,18}")
_SMALL_INT = re.compile(r"0|[1-9][0-9]{0,1}")
_ROW_ID = re.compile(r"[1-9][0-9]{0,18}")
_INT32_MAX = 2**31 - 1  # articles and searches have 32-bit ids (INTEGER on PostgreSQL)
_TOKEN = re.compile(r"[0-9a-f]{8}")


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


def _int32(raw: str) -> int | None:
    value = _row_id(raw)
    return value if value is not None and value <= _INT32_MAX else None


def _int32_or_zero(raw: str) -> int | None:
    return 0 if raw == "0" else _int32(raw)


def _user_ref(raw: str) -> int | None:
    return 0 if raw == "0" else _row_id(raw)


def _token(raw: str) -> str | None:
    return raw if _TOKEN.fullmatch(raw) else None


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
    "view": _choice("main", "hour", "weekday", "timezone"),
    "mode": _choice("instant", "daily", "weekly"),
    "hour": _bounded(0, 23),
    "weekday": _bounded(0, 6),
    "sentences": _bounded(1, MAX_SENTENCES),
    "on": _flag,
    "rule_id": _row_id,
    "timezone": _choice(*COMMON_ZONES),
    "unsub_page": _bounded(0, MAX_UNSUBSCRIBE_PAGES - 1),
    "search_id": _int32_or_zero,
    "list_page": _bounded(0, MAX_LIST_PAGES - 1),
    "size": _bounded(1, LIST_SIZE),
    "anchor": _int32,
    "article_id": _int32,
    "user_id": _user_ref,
    "token": _token,
    "language": _choice(*LANGUAGES),
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


def state_token(*parts: object) -> str:
    """Eight hex digits that change when any of ``parts`` does: a confirm button carries
    the token of the state it was made for, so a click after a change does nothing.
    (Not a secret: only who may change the chat can click it to any effect.)"""
    return f"{zlib.crc32(repr(parts).encode()):08x}"


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
    silent: bool


def _button(text: str, action: Action) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(action))


def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """The keyboard, checked against Telegram's limits (a bug here, not bad input)."""
    if sum(len(row) for row in rows) > MAX_BUTTONS or any(len(row) > MAX_ROW for row in rows):
        raise ValueError("keyboard over Telegram's button limits")
    return InlineKeyboardMarkup(rows)


def _checked(text: str, on: bool) -> str:
    return f"{CHECK} {text}" if on else text


def topic_label(topic: Topic, tr: Translator = ENGLISH) -> str:
    name = topic.label(tr.language)
    return f"{topic.emoji} {name}" if topic.emoji else name


def topic_keyboard(
    chat_id: int, chosen: Collection[str], page: int = 0, *, tr: Translator = ENGLISH
) -> InlineKeyboardMarkup:
    """The topic picker: one toggle per topic (✅ when chosen), paged, then Settings / Done."""
    pages = page_count()
    page = min(max(page, 0), pages - 1)
    shown = TOPICS[page * TOPICS_PER_PAGE : (page + 1) * TOPICS_PER_PAGE]
    rows = [
        [
            _button(
                _checked(topic_label(t, tr), t.slug in chosen), ToggleTopic(chat_id, t.slug, page)
            )
        ]
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
            _button(tr("⚙️ Settings"), ShowSettings(chat_id, "main")),
            _button(tr("✔️ Done"), TopicsDone(chat_id)),
        ]
    )
    return _markup(rows)


def settings_keyboard(
    chat_id: int,
    chat: ChatSettings,
    view: SettingsView = "main",
    *,
    now: datetime | None = None,
    tr: Translator = ENGLISH,
) -> InlineKeyboardMarkup:
    """The settings: delivery mode, digest hour/day, summary length, forums only, pause,
    sound, time zone (a list of common zones; ``now`` puts their offsets on the buttons)."""
    back = [_button(tr("◀ Back"), ShowSettings(chat_id, "main"))]
    if view == "hour":
        hours = [
            _button(_checked(f"{h:02d}:00", h == chat.digest_hour), SetHour(chat_id, h))
            for h in range(24)
        ]
        return _markup([*_chunks(hours, 4), back])
    if view == "weekday":
        days = [
            _button(_checked(tr.weekday(d), d == chat.digest_weekday), SetWeekday(chat_id, d))
            for d in range(len(WEEKDAYS))
        ]
        return _markup([*_chunks(days, 3), back])
    if view == "timezone":
        zones = [
            _button(
                _checked(_zone_label(name, now), name == chat.timezone), SetTimezone(chat_id, name)
            )
            for name in COMMON_ZONES
        ]
        return _markup([*_chunks(zones, 2), back])
    modes: list[tuple[Mode, str]] = [
        ("instant", tr("⚡ Instant")),
        ("daily", tr("📰 Daily")),
        ("weekly", tr("🗞 Weekly")),
    ]
    rows = [[_button(_checked(label, chat.mode == m), SetMode(chat_id, m)) for m, label in modes]]
    if chat.mode in ("daily", "weekly"):
        at = tr("🕗 At {time}", time=f"{chat.digest_hour:02d}:00")
        when = [_button(at, ShowSettings(chat_id, "hour"))]
        if chat.mode == "weekly":
            day = tr.weekday(chat.digest_weekday)
            when.append(_button(f"📆 {day}", ShowSettings(chat_id, "weekday")))
        rows.append(when)
    rows.append(
        [
            _button(_checked(f"📝{n}", n == chat.summary_sentences), SetSentences(chat_id, n))
            for n in range(1, MAX_SENTENCES + 1)
        ]
    )
    forums = tr("🏛 Forums only: on") if chat.forums_only else tr("🏛 Forums only: off")
    pause = tr("▶️ Resume") if chat.paused else tr("⏸ Pause")
    rows.append(
        [
            _button(forums, SetForumsOnly(chat_id, not chat.forums_only)),
            _button(pause, SetPaused(chat_id, not chat.paused)),
        ]
    )
    sound = tr("🔕 Silent: on") if chat.silent else tr("🔔 Silent: off")
    rows.append([_button(sound, SetSilent(chat_id, not chat.silent))])
    zone_button = tr("🌐 Time zone: {zone}", zone=chat.timezone)
    rows.append([_button(zone_button, ShowSettings(chat_id, "timezone"))])
    rows.append([_button(tr("🏷 Topics"), ShowTopics(chat_id, 0))])
    return _markup(rows)


def language_keyboard(chat_id: int, current: str) -> InlineKeyboardMarkup:
    """/language: one button per interface language, each in its own name (✅ the chat's)."""
    return _markup(
        [
            [
                _button(_checked(LANGUAGE_NAMES[code], code == current), SetLanguage(chat_id, code))
                for code in LANGUAGES
            ]
        ]
    )


def _zone_label(name: str, now: datetime | None) -> str:
    """ "Shanghai · UTC+8": the zone's city, and its offset at ``now`` when given."""
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    if now is None:
        return city
    offset = now.astimezone(zone(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    shown = format_offset(minutes)
    return city if city == shown else f"{city} · {shown}"


def unsubscribe_keyboard(
    chat_id: int,
    topics: Sequence[str],
    rules: Sequence[tuple[int, str]],
    page: int = 0,
    *,
    tr: Translator = ENGLISH,
) -> InlineKeyboardMarkup:
    """One ❌ button per chosen topic and per keyword rule (id, query), UNSUBSCRIBE_PER_PAGE
    a page, then "everything" (which asks first)."""
    items: list[tuple[str, str | int]] = [
        (f"❌ {topic_label(topic, tr)}", topic.slug)
        for topic in (topic_by_slug(slug) for slug in topics)
        if topic is not None
    ]
    items += [(f"❌ 🔎 {_shorten(query, 48)}", rule_id) for rule_id, query in rules]
    pages = min(max(-(-len(items) // UNSUBSCRIBE_PER_PAGE), 1), MAX_UNSUBSCRIBE_PAGES)
    page = min(max(page, 0), pages - 1)
    shown = items[page * UNSUBSCRIBE_PER_PAGE : (page + 1) * UNSUBSCRIBE_PER_PAGE]
    rows = [[_button(label, _remove(chat_id, key, page))] for label, key in shown]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(_button("◀", ShowUnsubscribe(chat_id, page - 1)))
        nav.append(_button(f"{page + 1}/{pages}", ShowUnsubscribe(chat_id, page)))
        if page < pages - 1:
            nav.append(_button("▶", ShowUnsubscribe(chat_id, page + 1)))
        rows.append(nav)
    rows.append([_button(tr("🗑 Everything"), RemoveAll(chat_id))])
    return _markup(rows)


def _remove(chat_id: int, key: str | int, page: int) -> Action:
    # A topic is named by its slug, a rule by its row id.
    if isinstance(key, str):
        return RemoveTopic(chat_id, key, page)
    return RemoveRule(chat_id, key, page)


def events_keyboard(chat_id: int, *, tr: Translator = ENGLISH) -> InlineKeyboardMarkup:
    return _markup([[_button(tr("📅 Add to calendar (.ics)"), EventsCalendar(chat_id))]])


def confirm_keyboard(
    yes: str, action: ConfirmClear | ConfirmStop, *, tr: Translator = ENGLISH
) -> InlineKeyboardMarkup:
    """The confirmation asked before something is deleted: ``yes`` or cancel."""
    cancel = _button(tr("✖ Cancel"), CancelConfirm(action.chat_id))
    return _markup([[_button(yes, action)], [cancel]])


def list_keyboard(
    page: ListPage, article_ids: Sequence[int], *, first_number: int, has_next: bool
) -> InlineKeyboardMarkup:
    """Under a result list: a numbered button per entry (opens its card), then ◀ ▶."""
    chat_id = page.chat_id
    opens = [
        _button(str(number), OpenCard(chat_id, article_id))
        for number, article_id in enumerate(article_ids, first_number)
    ]
    rows = _chunks(opens, 5)
    nav = []
    if page.list_page > 0:
        nav.append(_button("◀", _page(page, page.list_page - 1)))
    if has_next and page.list_page < MAX_LIST_PAGES - 1:
        nav.append(_button("▶", _page(page, page.list_page + 1)))
    if nav:
        rows.append(nav)
    return _markup(rows)


def _page(page: ListPage, number: int) -> ListPage:
    return ListPage(page.chat_id, page.search_id, number, page.size, page.anchor)


def card_keyboard(
    chat_id: int,
    article_id: int,
    *,
    calendar: bool,
    mute: str | None,
    tr: Translator = ENGLISH,
) -> InlineKeyboardMarkup | None:
    """Under a card: 📅 add the forum to a calendar (when it is one with dates), 🔕 mute
    the chat's topic the card came for (``mute``, a slug). None when there is neither."""
    row = []
    if calendar:
        row.append(_button(tr("📅 Add to calendar"), CardCalendar(chat_id, article_id)))
    if mute is not None and topic_by_slug(mute) is not None:
        row.append(mute_button(chat_id, mute, tr=tr))
    return _markup([row]) if row else None


def mute_button(chat_id: int, slug: str, *, tr: Translator = ENGLISH) -> InlineKeyboardButton:
    return _button(tr("🔕 Mute {topic}", topic=hashtag(slug)), MuteTopic(chat_id, slug))


def unmute_button(chat_id: int, slug: str, *, tr: Translator = ENGLISH) -> InlineKeyboardButton:
    return _button(tr("↩️ Undo: follow {topic}", topic=hashtag(slug)), UnmuteTopic(chat_id, slug))


def swap_button(
    markup: InlineKeyboardMarkup | None, old_data: str, new: InlineKeyboardButton
) -> InlineKeyboardMarkup:
    """``markup`` with the button whose data is ``old_data`` replaced by ``new`` (added in a
    row of its own if it is not there: the message may have lost its keyboard)."""
    rows = [list(row) for row in (markup.inline_keyboard if markup is not None else ())]
    for row in rows:
        for index, button in enumerate(row):
            if button.callback_data == old_data:
                row[index] = new
                return _markup(rows)
    return _markup([*rows, [new]])


def _chunks(buttons: Sequence[InlineKeyboardButton], size: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
