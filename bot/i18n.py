"""The interface languages: English (the source text) and Simplified Chinese, through gettext.

The catalogs ship with the package: ``bot/locales/<lang>/LC_MESSAGES/messages.po`` (edited)
and ``messages.mo`` (compiled; ``make i18n`` extracts, updates and compiles both). English
needs no catalog: a message id is its English text.

The API, for a handler or a renderer:

- ``translator(language)`` → ``Translator`` for "en" or "zh" (anything else: English).
  ``language_of(code)`` maps a Telegram ``language_code`` ("zh", "zh-hans", "zh-CN",
  "zh-TW", …) to "zh", everything else to "en".
- ``tr("Removed {name}", name=x)``: the message translated, then ``str.format``-ed with the
  values (placeholders are ``{name}``; a message without values is not formatted, so its
  braces stay literal). ``tr.ngettext("{n} article", "{n} articles", n)`` for counts (``n``
  is a value too). ``N_("…")`` marks a module constant for extraction without translating
  it; translate it where it is shown: ``tr(CONSTANT)``.
- ``tr.date(day)`` "24 Nov 2025" / "2025年11月24日", ``tr.month(day)``, ``tr.date_range(a, b)``,
  ``tr.weekday(0..6)``, ``tr.number(1200)``: babel.dates / babel.numbers in the language.
- ``ENGLISH``: the default renderers take (``tr: Translator = ENGLISH``), so callers and
  tests that do not care about the language get today's English output.

In a Telegram handler, the chat's translator comes from ``bot.chatlanguage``:
``tr = await translator_for(services(context), update)`` (the chat's stored language, or
the sender's ``language_code`` for a chat not seen yet), then ``await _reply(update,
tr("…"))``; with the chat's row already loaded, ``translator_of(chat, update)`` (no
read). Pushed cards and digests are rendered with ``translator(chat.language)``.
Extraction looks for ``tr(...)``, ``N_(...)``, ``_(...)`` and ``….ngettext(...)`` calls in
``bot/`` (config: ``[tool.babel.*]`` in pyproject.toml): the message must be a string
literal (never an f-string; values go in as keywords), then ``make i18n`` and a
translation in ``bot/locales/zh/LC_MESSAGES/messages.po``.

Pure: catalogs are read once, on first use, never at import.
"""

from __future__ import annotations

import gettext
from datetime import date
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Final, Literal

from babel import Locale
from babel.dates import format_date, get_day_names, get_month_names
from babel.numbers import format_decimal

# The Translator has a method called ``date``: inside the class the type goes by this name.
Day = date

__all__ = [
    "ENGLISH",
    "LANGUAGES",
    "LOCALES_DIR",
    "N_",
    "Language",
    "Translator",
    "language_of",
    "translator",
]

Language = Literal["en", "zh"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "zh")
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).parent / "locales"
# Babel locales for dates and numbers: Chinese is Simplified (zh = zh_Hans_CN).
_BABEL_LOCALES: Final[dict[Language, str]] = {"en": "en", "zh": "zh"}


def N_(message: str) -> str:  # gettext's conventional name for a marker
    """Marks ``message`` for extraction; translate it where it is shown (``tr(message)``)."""
    return message


def language_of(code: str | None) -> Language:
    """A Telegram ``language_code`` (IETF tag) as an interface language: any Chinese
    ("zh", "zh-hans", "zh-CN", "zh_TW", "ZH") is "zh", everything else English."""
    if code and code.strip().lower().replace("_", "-").split("-", 1)[0] == "zh":
        return "zh"
    return "en"


class Translator:
    """One language's messages, dates and numbers (see the module docstring)."""

    def __init__(self, language: Language, translations: gettext.NullTranslations) -> None:
        self.language: Language = language
        self._translations = translations

    @cached_property
    def _locale(self) -> Locale:
        # Parsed on first use, not at import; once per translator (about 10x faster dates).
        return Locale.parse(_BABEL_LOCALES[self.language])

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form for ``n`` (Chinese has one), formatted with ``n`` and ``values``."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **values)

    # --------------------------------------------------------------------- dates, numbers

    def date(self, day: Day) -> str:
        """ "24 Nov 2025" (no leading zero) / "2025年11月24日"."""
        return _formatted(day, "y年M月d日" if self.language == "zh" else "d MMM y", self.language)

    def month(self, day: Day) -> str:
        """ "Nov 2026" / "2026年11月", for events dated only by their month."""
        return _formatted(day, "y年M月" if self.language == "zh" else "MMM y", self.language)

    def date_range(self, start: Day, end: Day | None) -> str:
        """ "16–17 Nov 2025", "30 Nov – 2 Dec 2025", "30 Dec 2025 – 2 Jan 2026"; in Chinese
        "2025年11月16日至17日", "2025年11月30日至12月2日", "2025年12月30日至2026年1月2日"."""
        if end is None or end <= start:
            return self.date(start)
        if self.language == "zh":
            # "至" as people write spans (CLDR's interval puts thin spaces around a dash).
            if (start.year, start.month) == (end.year, end.month):
                return f"{self.date(start)}至{end.day}日"
            if start.year == end.year:
                return f"{self.date(start)}至{end.month}月{end.day}日"
            return f"{self.date(start)}至{self.date(end)}"
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}–{self.date(end)}"
        if start.year == end.year:
            return f"{start.day} {self._month_abbr(start.month)} – {self.date(end)}"
        return f"{self.date(start)} – {self.date(end)}"

    def _month_abbr(self, month: int) -> str:
        return str(get_month_names("abbreviated", locale=self._locale)[month])

    def weekday(self, index: int) -> str:
        """The weekday's full name, Monday = 0: "Wednesday" / "星期三"."""
        return str(get_day_names("wide", locale=self._locale)[index % 7])

    def number(self, value: int) -> str:
        """ "1,200" with the language's grouping."""
        return format_decimal(value, locale=self._locale)


# Cards and lists show the same few hundred days over and over: CLDR formatting (tens of
# microseconds a date) once per day and pattern.
@lru_cache(maxsize=4096)
def _formatted(day: date, pattern: str, language: Language) -> str:
    return format_date(day, pattern, locale=_BABEL_LOCALES[language])


@cache
def translator(language: str | None) -> Translator:
    """The translator for an interface language ("en", "zh"; anything else is English)."""
    chosen: Language = "zh" if language == "zh" else "en"
    if chosen == "en":
        return ENGLISH
    # fallback=False: a missing catalog is a packaging bug, not a reason to speak English.
    found = gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[chosen])
    return Translator(chosen, found)


ENGLISH: Final = Translator("en", gettext.NullTranslations())
