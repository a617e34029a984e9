"""Event dates: the dates an article writes, in English or Chinese, and the year each belongs to
when it does not say.

A date without a year is placed by what the text says before the publication date is asked:
a re-posted report is published a year or more after the forum it reports. In order: a year in
the forum's name ("The 2021 World ... Conference"), the report's own dateline ("Updated:
2025-12-05", "2025-11-21 09:30", "SHENZHEN, Nov. 18 (Xinhua) --"), a full date in the event's
sentences, and only then the publication date; tense ("was held", "召开了" / "will be held",
"将于") decides on which side of the report's date the forum falls.

Formats: "Nov. 16 to 17", "November 9-10, 2023", "30 November - 2 December 2025", "5-7 June",
"2025-11-18", "2025/11/18", "11/18/2025", "18.11.2025", "2025年11月18日", "11月18日至20日",
Chinese numerals ("二〇二五年十一月十八日"), a month alone with its year ("in November 2026",
"2026年11月": month precision), and days relative to the report ("Monday", "yesterday", "18日").
Every pattern is bounded, so hostile input costs linear time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

from summaries.errors import SummariesError
from summaries.eventsentences import CJK, GENERIC_EVENT, Sentence
from summaries.eventwords import MONTHS, WEEKDAYS, ZH_DIGITS

__all__ = [
    "MAX_EVENT_DAYS",
    "DateMention",
    "DatedText",
    "Dateline",
    "EventDates",
    "date_mentions",
    "event_dates",
    "find_dateline",
    "is_date_label",
    "name_year",
    "resolve_dates",
    "resolve_mention",
    "tense",
    "usable_mentions",
]

# Longest plausible event (a long expo); longer "ranges" are two unrelated dates.
MAX_EVENT_DAYS = 60
# How far a year-less date may sit from the date it is placed against.
_YEAR_WINDOW = 1

Tense = str  # "past" | "future"


# --------------------------------------------------------------------------------------------
# Date mentions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateMention:
    """One date or range as written; ``d1`` None means the month alone ("November 2026")."""

    start: int
    end: int
    m1: int
    d1: int | None
    y1: int | None
    m2: int
    d2: int | None
    y2: int | None

    @property
    def has_year(self) -> bool:
        return self.y1 is not None or self.y2 is not None

    @property
    def is_day(self) -> bool:
        return self.d1 is not None


@dataclass(frozen=True, slots=True)
class DatedText:
    """A sentence with Chinese numerals and full-width digits made ASCII (``text``, which the
    mentions' offsets refer to) and the date mentions in it, in order."""

    text: str
    mentions: tuple[DateMention, ...]


_SEP = r"\s{0,3}(?:-|–|—|~|to|through|thru|until|till|and)\s{0,3}"
_ZH_SEP = r"\s{0,2}(?:至|到|—{1,2}|–|-|~|～|－)\s{0,2}"


def _month_alternation() -> str:
    # Title case and capitals only: lower-case "may"/"march" are usually verbs, not months.
    forms: list[str] = []
    for word in sorted(MONTHS, key=len, reverse=True):
        forms += [word.capitalize(), word.upper()]
    return "|".join(forms)


@cache
def _dates() -> re.Pattern[str]:
    months = _month_alternation()

    def m(g: str) -> str:
        return rf"(?<![A-Za-z])(?P<{g}>{months})(?![A-Za-z])\.?"

    def d(g: str) -> str:
        return rf"(?<![\d.,])(?P<{g}>[0-3]?\d)(?:st|nd|rd|th)?(?![\d])"

    def y(g: str) -> str:
        return rf"(?P<{g}>(?:19|20)\d\d)(?!\d)"

    def opt_y(g: str) -> str:
        return rf"(?:,?\s{{0,2}}{y(g)})?"

    sp = r"\s{0,2}"
    zy = r"(?:(?P<{g}>(?:19|20)\d\d)\s{{0,2}}年\s{{0,2}})?"
    alternatives = {
        # "Dec. 30 - Jan. 2", "Nov 30, 2025 to Dec 2, 2025"
        "a": f"{m('a_m1')}{sp}{d('a_d1')}{opt_y('a_y1')}{_SEP}{m('a_m2')}{sp}{d('a_d2')}"
        f"{opt_y('a_y2')}",
        # "Nov. 16 to 17", "November 9-10, 2023"
        "b": f"{m('b_m1')}{sp}{d('b_d1')}{_SEP}{d('b_d2')}{opt_y('b_y2')}",
        # "on Dec 13", "Sept. 28", "Nov 24, 2025"
        "c": f"{m('c_m1')}{sp}{d('c_d1')}{opt_y('c_y1')}",
        # ISO "2025-11-18", "2025/11/18", "2025.11.18", optionally "to 2025-11-20"
        "i": rf"(?<![\d.]){y('i_y1')}(?P<i_s>[-/.])(?P<i_m1>[01]?\d)(?P=i_s)"
        rf"(?P<i_d1>[0-3]?\d)(?!\d)"
        rf"(?:{_SEP}{y('i_y2')}[-/.](?P<i_m2>[01]?\d)[-/.](?P<i_d2>[0-3]?\d)(?!\d))?",
        # "11/18/2025" (month first, as English news writes it), "18.11.2025" (day first)
        "n": rf"(?<![\d./-])(?P<n_a>[0-3]?\d)(?P<n_s>[/.])(?P<n_b>[0-3]?\d)(?P=n_s){y('n_y1')}",
        # "30 November - 2 December 2025"
        "e": f"{d('e_d1')}{sp}{m('e_m1')}{opt_y('e_y1')}{_SEP}{d('e_d2')}{sp}{m('e_m2')}"
        f"{opt_y('e_y2')}",
        # "5-7 June 2025", "from 2 to 5 February"
        "f": f"{d('f_d1')}{_SEP}{d('f_d2')}{sp}{m('f_m2')}{opt_y('f_y2')}",
        # "18 November 2025"
        "g": f"{d('g_d1')}{sp}{m('g_m1')}{opt_y('g_y1')}",
        # "2026年12月8日至9日", "12月30日至1月2日", "11月16-17日"
        "z": zy.format(g="z_y1")
        + r"(?<!\d)(?P<z_m1>[01]?\d)\s{0,2}月\s{0,2}(?P<z_d1>[0-3]?\d)\s{0,2}[日号]?"
        + _ZH_SEP
        + zy.format(g="z_y2")
        + r"(?:(?P<z_m2>[01]?\d)\s{0,2}月\s{0,2})?(?P<z_d2>[0-3]?\d)\s{0,2}[日号]",
        # "11月18日", "2025年11月18日"
        "w": zy.format(g="w_y1") + r"(?<!\d)(?P<w_m1>[01]?\d)\s{0,2}月\s{0,2}(?P<w_d1>[0-3]?\d)"
        r"\s{0,2}[日号]",
        # "November 2026", "Nov. 2026": a month, only with its year
        "o": f"{m('o_m1')}{sp},?{sp}{y('o_y1')}",
        # "2026年11月", not followed by a day
        "q": r"(?P<q_y1>(?:19|20)\d\d)\s{0,2}年\s{0,2}(?P<q_m1>[01]?\d)\s{0,2}月(?!\s{0,2}\d)",
    }
    # Longer forms come first so that, at one position, "Nov 16 to 17" beats "Nov 16".
    return re.compile("|".join(f"(?P<{k}>{v})" for k, v in alternatives.items()))


_DIGIT = re.compile(r"\d")
_DATE_HINT = re.compile(
    r"\d\s{0,2}[-/.年月日号]|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|JAN|FEB|MAR|APR"
    r"|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
)
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_ZH_NUMERAL = re.compile(
    r"(?P<year>[〇零一二三四五六七八九]{4})(?=\s{0,2}年)"
    r"|(?P<n>[一二三四五六七八九十]{1,3})(?=\s{0,2}[月日号])"
)


def _zh_small_number(text: str) -> int:
    """ "十八" -> 18, "二十" -> 20, "三十一" -> 31, "五" -> 5 (the numbers of months and days)."""
    if "十" not in text:
        return ZH_DIGITS.get(text, 0)
    tens, _, ones = text.partition("十")
    return ZH_DIGITS.get(tens, 1) * 10 + ZH_DIGITS.get(ones, 0)


def _arabic_numerals(match: re.Match[str]) -> str:
    if match.group("year"):
        return "".join(str(ZH_DIGITS[c]) for c in match.group("year"))
    return str(_zh_small_number(match.group("n")))


def _month_number(token: str) -> int:
    return int(token) if token.isdigit() else MONTHS.get(token.rstrip(".").lower(), 0)


def _int(token: str | None) -> int | None:
    return int(token) if token else None


def _mention(match: re.Match[str]) -> DateMention | None:
    key = match.lastgroup
    if key is None:
        return None
    g = match.groupdict()

    def part(name: str) -> str | None:
        return g.get(f"{key}_{name}")

    if key == "n":
        a, b = int(g["n_a"]), int(g["n_b"])
        # Dots are day-first everywhere; a slash date is month-first unless that cannot be.
        day_first = g["n_s"] == "." or (a > 12 >= b)
        month, day = (b, a) if day_first else (a, b)
        year = int(g["n_y1"])
        return DateMention(match.start(), match.end(), month, day, year, month, day, year)
    m1_text, m2_text = part("m1"), part("m2")
    m1 = _month_number(m1_text) if m1_text else 0
    m2 = _month_number(m2_text) if m2_text else 0
    sm, em = m1 or m2, m2 or m1
    if not (1 <= sm <= 12 and 1 <= em <= 12):
        return None
    month_only = key in ("o", "q")
    d1 = None if month_only else _int(part("d1"))
    d2 = None if month_only else _int(part("d2")) or d1
    return DateMention(
        match.start(), match.end(), sm, d1, _int(part("y1")), em, d2, _int(part("y2"))
    )


@lru_cache(maxsize=4096)
def date_mentions(text: str) -> DatedText:
    """The dates written in ``text``, in order (cached: every reader of a sentence asks)."""
    text = text.translate(_FULL_WIDTH_DIGITS)
    if CJK.search(text):
        text = _ZH_NUMERAL.sub(_arabic_numerals, text)
    if not _DIGIT.search(text) or not _DATE_HINT.search(text):
        # Every date form has a digit by now, and a month name or a date separator next to
        # one: most sentences have neither and skip the big regex.
        return DatedText(text, ())
    mentions = [m for match in _dates().finditer(text) if (m := _mention(match)) is not None]
    return DatedText(text, tuple(mentions))


# --------------------------------------------------------------------------------------------
# Resolving a mention to dates
# --------------------------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _fits(start: date, end: date, reference: date, tense: Tense | None) -> bool:
    """Whether an event on start..end agrees with a report dated ``reference`` in ``tense``."""
    if tense == "past":
        return start <= reference + timedelta(days=1)
    if tense == "future":
        return end >= reference - timedelta(days=1)
    return True


def _year_near(days: tuple[int, int, int, int], reference: date, tense: Tense | None) -> int | None:
    """The year for a year-less (month, day, month, day) that puts it nearest ``reference``,
    on the side of it that ``tense`` says."""
    m1, d1, m2, d2 = days
    wraps = (m2, d2) < (m1, d1)
    best: tuple[bool, int, int] | None = None
    for year in range(reference.year - _YEAR_WINDOW, reference.year + _YEAR_WINDOW + 1):
        start = _safe_date(year, m1, d1)
        end = _safe_date(year + wraps, m2, d2)
        if start is None or end is None:
            continue
        # Agreeing with the tense comes first, then nearness.
        key = (not _fits(start, end, reference, tense), abs((start - reference).days), year)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def resolve_mention(
    m: DateMention,
    *,
    year: int | None = None,
    reference: date | None = None,
    tense: Tense | None = None,
) -> tuple[date, date] | None:
    """(start, end) of a mention: its own year, else ``year``, else the year nearest
    ``reference`` that agrees with ``tense``. A month alone spans the whole month."""
    y1, y2 = m.y1, m.y2
    if y1 is None and y2 is None and year is not None:
        y1 = year
    if m.d1 is None or m.d2 is None:
        if y1 is None and y2 is None:
            return None
        y = y1 or y2 or 0
        start = _safe_date(y, m.m1, 1)
        last = calendar.monthrange(y, m.m2)[1] if 1 <= m.m2 <= 12 and y > 0 else 0
        end = _safe_date(y, m.m2, last) if last else None
        return (start, end) if start and end and start <= end else None
    wraps = (m.m2, m.d2) < (m.m1, m.d1)
    if y1 and y2:
        sy, ey = y1, y2
    elif y1:
        sy, ey = y1, y1 + wraps
    elif y2:
        sy, ey = y2 - wraps, y2
    elif reference is not None:
        near = _year_near((m.m1, m.d1, m.m2, m.d2), reference, tense)
        if near is None:
            return None
        sy, ey = near, near + wraps
    else:
        return None
    start, end = _safe_date(sy, m.m1, m.d1), _safe_date(ey, m.m2, m.d2)
    if start is None or end is None or not 0 <= (end - start).days <= MAX_EVENT_DAYS:
        return None
    return start, end


def resolve_dates(text_fragment: str, *, reference: date) -> tuple[date, date] | None:
    """The first date or date range in ``text_fragment`` as (start, end), end inclusive.

    A missing year is the one putting the start nearest to ``reference`` (so it may cross a
    year boundary); a range whose end month precedes its start month runs into the next year.
    A single day gives start == end. Day precision only: "November 2025" alone is None, as is
    anything that does not resolve to a real date.
    """
    if not isinstance(text_fragment, str):
        raise SummariesError("resolve_dates needs a string")
    for m in date_mentions(text_fragment[:100_000]).mentions:
        if m.is_day and (found := resolve_mention(m, reference=reference)):
            return found
    return None


# --------------------------------------------------------------------------------------------
# Tense
# --------------------------------------------------------------------------------------------

_STRONG_PAST = re.compile(
    r"\b(?:was|were|had been|has been|have been)\s(?:\w{1,15}\s){0,2}?(?:held|staged|convened"
    r"|inaugurated|concluded)\b|\b(?:kicked off|took place|concluded|wrapped up|came to a close"
    r"|drew to a close|closed on|ended on)\b"
    r"|举行了|举办了|召开了|闭幕|落幕|落下帷幕|圆满结束|成功举办|成功举行|顺利举行|顺利召开|胜利召开",
    re.IGNORECASE,
)
_WEAK_PAST = re.compile(
    r"\b(?:gathered|convened|converged|attended|brought together|drew|attracted|opened"
    r"|welcomed|featured|hosted|co-hosted|organi[sz]ed|witnessed|marked)\b"
    r"|开幕|拉开帷幕|隆重举行|日前|近日|出席了|参加了",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\bwill\s(?:be\s)?(?:held|hosted|organi[sz]ed|convened|staged|take place|open|kick off"
    r"|run|gather|bring together|feature|welcome|start|begin|last|attract|focus|take)\b"
    r"|\b(?:is|are)\s(?:scheduled|set|slated|due|expected|planned)\sto\b|\bto be held\b"
    r"|\bupcoming\b|\bforthcoming\b|\bregistration (?:is )?(?:now )?open\b|\bcall for (?:papers"
    r"|abstracts)\b|将于|将在|即将|拟于|定于|将举办|将举行|将召开|将开幕|敬请|诚邀|关于召开|关于举办"
    r"|关于举行",
    re.IGNORECASE,
)


def tense(text: str) -> Tense | None:
    """ "past", "future" or None (neither, or both) for one sentence."""
    strong = bool(_STRONG_PAST.search(text))
    future = bool(_FUTURE.search(text))
    if strong:
        return None if future else "past"
    if future:
        return "future"
    return "past" if _WEAK_PAST.search(text) else None


def _event_tense(
    anchor: Sentence | None, title: Sentence | None, events: Sequence[Sentence]
) -> Tense | None:
    for s in (anchor, title):
        if s is not None and (found := tense(s.text)):
            return found
    votes = [t for s in events[:10] if (t := tense(s.text))]
    if not votes:
        return None
    past = votes.count("past")
    return "past" if past > len(votes) - past else "future" if past < len(votes) - past else None


# --------------------------------------------------------------------------------------------
# The report's own date: its dateline
# --------------------------------------------------------------------------------------------

_DATE_LABEL = re.compile(
    r"(?:Updated|Published|Posted|Released|Last updated|Last modified|Date published"
    r"|Publication date|Issued|发布时间|发布日期|更新时间|发稿时间|发表时间|发布于|更新于)"
    r"\s{0,2}(?:on|at)?\s{0,2}[:：]?\s{0,3}$",
    re.IGNORECASE,
)
_LINE_TAIL = re.compile(
    r"^\s{0,4}(?:\d{1,2}:\d{2}(?::\d{2})?)?\s{0,4}(?:[|｜/·]\s{0,4})?"
    r"(?:(?:来源|Source|By|Author|Editor|作者|编辑|责任编辑)\s{0,2}[:：]?.{0,40})?$",
    re.IGNORECASE,
)
# "SHENZHEN, Nov. 18 (Xinhua) --", "San Francisco, Dec. 5, 2025 /PRNewswire/ --"
_WIRE_CITY = re.compile(
    r"^(?P<city>[A-Z][A-Za-z'’.\-]{1,20}(?:\s[A-Z][A-Za-z'’.\-]{1,20}){0,3}),\s{1,3}$"
)
_WIRE_TAIL = re.compile(
    r"^\s{0,3}(?:\([A-Z][A-Za-z ]{1,20}\)|/[A-Za-z ]{2,20}/)?\s{0,3}(?:--|—|–|-)"
)
# "新华社深圳11月18日电", "中新网北京11月18日电 (记者 ...)"
_ZH_WIRE = re.compile(
    r"^(?:新华社|中新社|中新网|人民网|央视网|央广网|新华网|光明网|科技日报|经济日报|中国日报网)"
    r"(?P<city>[\u4e00-\u9fff]{2,8}?)$"
)
# A dateline sits at the top of the page or in its last lines.
_HEAD_SENTENCES = 30
_TAIL_SENTENCES = 5


@dataclass(frozen=True, slots=True)
class Dateline:
    """The report's own date and, from a wire dateline, the city it was filed from."""

    day: date | None = None
    city: str | None = None
    sentence: int | None = None  # index of the body sentence holding it
    mention_start: int | None = None  # offset of its date in that sentence's ``DatedText``
    whole_line: bool = False  # the sentence is page furniture (no event facts in it)


def _wire(dated: DatedText, m: DateMention) -> str | None:
    before = dated.text[: m.start]
    if CJK.search(before):
        wire = _ZH_WIRE.match(before)
        return wire.group("city") if wire and dated.text.startswith("电", m.end) else None
    wire = _WIRE_CITY.match(before)
    return wire.group("city") if wire and _WIRE_TAIL.match(dated.text[m.end :]) else None


def _under_label(body: Sequence[Sentence], s: Sentence) -> bool:
    return s.index > 0 and body[s.index - 1].text.rstrip().endswith((":", "："))


def find_dateline(body: Sequence[Sentence], published: date | None) -> Dateline:
    """The first dateline in the top or the last lines of ``body`` (see the module docstring)."""
    n = len(body)
    for s in (*body[:_HEAD_SENTENCES], *body[max(_HEAD_SENTENCES, n - _TAIL_SENTENCES) :]):
        dated = date_mentions(s.text)
        for m in dated.mentions[:2]:
            if not m.is_day:
                continue
            city = _wire(dated, m) if m.start < 60 else None
            labelled = bool(_DATE_LABEL.search(dated.text[max(0, m.start - 40) : m.start]))
            alone = m.start <= 2 and m.has_year and bool(_LINE_TAIL.match(dated.text[m.end :]))
            # A range, or a date under a "Time:" label, on a line of its own is the event's.
            alone = alone and (m.m1, m.d1) == (m.m2, m.d2) and not _under_label(body, s)
            if city is None and not labelled and not alone:
                continue
            found = resolve_mention(m, reference=published)
            if found is None and city is None:
                continue
            return Dateline(
                day=found[0] if found else None,
                city=city,
                sentence=s.index,
                mention_start=m.start,
                whole_line=city is None and not s.is_event,
            )
    return Dateline()


# --------------------------------------------------------------------------------------------
# The year in a forum's name
# --------------------------------------------------------------------------------------------

_LEADING_YEAR = re.compile(r"^(?:[Tt]he\s)?(?P<y>(?:19|20)\d\d)(?:\s|年|-|–)")
_TRAILING_YEAR = re.compile(r"\s(?P<y>(?:19|20)\d\d)\)?$")


def name_year(name: str | None, report: date | None) -> int | None:
    """The year a forum's name starts or ends with ("2025 International Forum ...",
    "Expo 2022"); a year far ahead of the report ("Vision 2035 Forum") is a theme, not a date."""
    if not name:
        return None
    found = _LEADING_YEAR.match(name) or _TRAILING_YEAR.search(name)
    if found is None:
        return None
    year = int(found.group("y"))
    if report is not None and year > report.year + 1:
        return None
    return year


# --------------------------------------------------------------------------------------------
# Days relative to the report: "opened Monday", "yesterday", "18日"
# --------------------------------------------------------------------------------------------

_RELATIVE = re.compile(
    r"\b(?:on\s)?(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|\b(?P<rel>today|yesterday|tomorrow)\b"
    r"|(?P<zrel>今天|今日|昨天|昨日|明天|明日)"
    r"|(?<![\d月年])(?P<zd>[0-3]?\d)\s{0,2}日(?![\d至到])"
)
_SHIFT = {"today": 0, "yesterday": -1, "tomorrow": 1, "今天": 0, "今日": 0, "昨天": -1,
          "昨日": -1, "明天": 1, "明日": 1}  # fmt: skip


def _relative_day(text: str, report: date, when: Tense | None) -> date | None:
    found = _RELATIVE.search(text)
    if found is None:
        return None
    if found.group("wd"):
        delta = (report.weekday() - WEEKDAYS[found.group("wd").lower()]) % 7
        if when == "future":
            return report + timedelta(days=(7 - delta) % 7)
        return report - timedelta(days=delta)
    if word := (found.group("rel") or found.group("zrel")):
        return report + timedelta(days=_SHIFT[word.lower()])
    day = int(found.group("zd"))
    for months in range(0, -3, -1) if when != "future" else range(0, 3):
        y, mo = divmod(report.year * 12 + report.month - 1 + months, 12)
        candidate = _safe_date(y, mo + 1, day)
        if candidate and (candidate <= report if when != "future" else candidate >= report):
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# The event's dates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventDates:
    start: date | None = None
    end: date | None = None
    precision: str = "day"  # "day" or "month": a month-precision event spans its whole month


_LABEL = re.compile(
    r"^\s{0,4}(?:[一二三四五六七八九十]{1,3}[、.．]|\d{1,2}[.、)]|[（(][一二三四五六七八九十\d]{1,3}[）)])?"
    r"\s{0,2}(?:Dates?|When|Time|会议时间|活动时间|举办时间|时间|日期)\s{0,2}[:：]"
)
_UNTIL = re.compile(r"\b(?:until|through|till|runs? to|closes? on|ends? on)\s|(?:持续|闭幕)")
# A full date in the text is a reference for year-less ones only when it is this near the
# publication date: a report re-posted a year later still agrees, a history paragraph does not.
_REFERENCE_WINDOW_DAYS = 400


def is_date_label(text: str) -> bool:
    return bool(_LABEL.match(text))


@dataclass(frozen=True, slots=True)
class _Context:
    year: int | None  # from the forum's name
    references: tuple[date, ...]  # report date, full dates near the anchor, publication date
    report: date | None  # the date the report speaks from, for tense
    tense: Tense | None


def usable_mentions(
    s: Sentence, skip: frozenset[tuple[int, int]], dateline: Dateline
) -> Iterable[DateMention]:
    """The date mentions of ``s`` that may be the event's: not a deadline (``skip``), not the
    dateline, not on a line of page furniture."""
    if s.index == dateline.sentence:
        if dateline.whole_line:
            return ()
        skip = skip | {(s.index, dateline.mention_start or 0)}
    return (m for m in date_mentions(s.text).mentions if (s.index, m.start) not in skip)


def _resolve(m: DateMention, ctx: _Context) -> tuple[date, date] | None:
    if m.has_year or ctx.year is not None:
        return resolve_mention(m, year=ctx.year)
    for reference in ctx.references:
        found = resolve_mention(m, reference=reference, tense=ctx.tense)
        if found and (ctx.report is None or _fits(*found, ctx.report, ctx.tense)):
            return found
    return None


def _full_dates(
    sentences: Iterable[Sentence], skip: frozenset[tuple[int, int]], dateline: Dateline
) -> list[date]:
    found: list[date] = []
    for s in sentences:
        for m in usable_mentions(s, skip, dateline):
            if m.is_day and m.has_year and (dates := resolve_mention(m)):
                found.append(dates[0])
    return found


def _later_end(
    sentences: Sequence[Sentence], start: date, skip: frozenset[tuple[int, int]]
) -> date:
    """The end of a one-day-dated event that another sentence says "runs until Sept. 28"."""
    for s in sentences:
        if not (s.is_event or GENERIC_EVENT.search(s.text)):
            continue
        dated = date_mentions(s.text)
        for u in _UNTIL.finditer(dated.text):
            for m in dated.mentions:
                if not (u.end() <= m.start <= u.end() + 12) or (s.index, m.start) in skip:
                    continue
                found = resolve_mention(m, reference=start)
                if found and 0 < (found[1] - start).days <= MAX_EVENT_DAYS:
                    return found[1]
    return start


def event_dates(
    body: Sequence[Sentence],
    *,
    anchor: Sentence | None,
    title: Sentence | None,
    name: str | None,
    published: date | None,
    dateline: Dateline,
    skip: frozenset[tuple[int, int]] = frozenset(),
) -> EventDates:
    """The forum's dates: from a "Date:" line, the anchor sentence, the other event sentences,
    the sentences after the anchor, or the headline, in that order; a month alone only when no
    sentence gives a day. ``skip`` holds (sentence index, mention offset) of deadlines."""
    events = [s for s in body if s.is_event]
    report = dateline.day or published
    near: list[Sentence] = []
    if anchor is not None:
        near = [s for s in body if 0 < s.index - anchor.index <= 2]
    full = _full_dates([*([anchor] if anchor else []), *events[:20], *near], skip, dateline)
    if published is not None:
        full = [d for d in full if abs((d - published).days) <= _REFERENCE_WINDOW_DAYS]
    references = [*([dateline.day] if dateline.day else []), *full[:3]]
    references += [published] if published else []
    ctx = _Context(
        year=name_year(name, report),
        references=tuple(references),
        report=report,
        tense=_event_tense(anchor, title, events),
    )
    labels = [s for s in body if _LABEL.match(s.text)]
    # "会议时间：" may stand on its own line, its date on the next.
    labels += [
        body[s.index + 1]
        for s in labels
        if s.index + 1 < len(body) and _under_label(body, body[s.index + 1])
    ]
    sources = [*labels, *([anchor] if anchor else []), *events, *near]
    sources += [title] if title is not None and title.is_event else []
    for precision in ("day", "month"):
        for s in sources:
            for m in usable_mentions(s, skip, dateline):
                if m.is_day != (precision == "day"):
                    continue
                found = _resolve(m, ctx)
                if found is None:
                    continue
                start, end = found
                if precision == "day" and start == end and anchor is not None:
                    end = _later_end(body[anchor.index : anchor.index + 4], start, skip)
                return EventDates(start, end, precision)
        if precision == "day" and report is not None and anchor is not None and anchor.has_verb:
            # No written date: "opened Monday" under a dateline, "18日在深圳开幕".
            day = _relative_day(date_mentions(anchor.text).text, report, ctx.tense)
            if day is not None:
                return EventDates(day, day, "day")
    return EventDates()
