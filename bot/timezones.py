"""Time zones as people say them: IANA names, city names and fixed UTC offsets.

``parse_timezone`` turns what a user typed into the name stored in ``chats.timezone``;
``zone`` turns a stored name back into a tzinfo. Pure: a user's text is looked up in the tz
database's own list and never handed to ZoneInfo, which would read it as a file path.

What ``parse_timezone`` understands, case and spacing aside:

- an IANA name: ``Asia/Shanghai``, ``america/new_york``;
- a city: the last part of an IANA name (``Berlin``, ``New York``, ``new_york``,
  ``Ho Chi Minh``), or one of the major cities in ``CITIES`` whose zone is named after
  another city (``Beijing`` → Asia/Shanghai, ``San Francisco`` → America/Los_Angeles);
- a fixed offset: ``UTC+8``, ``GMT-5``, ``utc+05:30``, ``+0545``.

How they are stored:

- IANA names as the tz database spells them;
- whole-hour offsets as the tz database's ``Etc/GMT∓N`` zones. POSIX inverts the sign in
  those names: UTC+8 is ``Etc/GMT-8`` and UTC−5 is ``Etc/GMT+5``;
- other offsets (UTC+05:30, UTC−03:30, UTC+05:45), which have no tz database zone, as
  ``UTC±HH:MM``; ``zone`` reads them as a fixed offset.

A fixed offset never follows daylight saving time: ``New York`` does, ``UTC-5`` does not.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

__all__ = [
    "CITIES",
    "COMMON_ZONES",
    "canonical_timezone",
    "format_offset",
    "parse_timezone",
    "timezone_label",
    "zone",
]

# Offsets in use on Earth run from UTC−12 to UTC+14.
_MIN_OFFSET, _MAX_OFFSET = -12 * 60, 14 * 60
_MINUTES = frozenset({0, 15, 30, 45})
# "UTC+8", "GMT -5", "utc+05:30", "+0545", "UTC−3:30" (a typographic minus too).
_OFFSET = re.compile(
    r"(?:utc|gmt)?\s*(?P<sign>[+\-−])\s*(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?"
)
_STORED_OFFSET = re.compile(r"UTC(?P<sign>[+-])(?P<hours>[0-9]{2}):(?P<minutes>[0-9]{2})")
_UTC_WORDS = frozenset({"utc", "gmt", "z", "zulu", "utc+0", "utc-0", "gmt+0", "gmt-0"})
# The tz database's areas for places; other names (US/Pacific, Etc/GMT+5) are aliases.
_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)

# Major cities whose zone is named after another city. Keys are written as people do;
# lookups ignore case, spaces, hyphens and underscores alike.
CITIES: dict[str, str] = {
    # China: one zone, named after Shanghai (and Urumqi for Xinjiang time).
    "Beijing": "Asia/Shanghai",
    "Peking": "Asia/Shanghai",
    "Shenzhen": "Asia/Shanghai",
    "Guangzhou": "Asia/Shanghai",
    "Hangzhou": "Asia/Shanghai",
    "Nanjing": "Asia/Shanghai",
    "Wuhan": "Asia/Shanghai",
    "Chengdu": "Asia/Shanghai",
    "Xi'an": "Asia/Shanghai",
    "Xian": "Asia/Shanghai",
    "Tianjin": "Asia/Shanghai",
    "Suzhou": "Asia/Shanghai",
    "Hefei": "Asia/Shanghai",
    "Qingdao": "Asia/Shanghai",
    "Dalian": "Asia/Shanghai",
    "Xiamen": "Asia/Shanghai",
    "Changsha": "Asia/Shanghai",
    "Kunming": "Asia/Shanghai",
    "Harbin": "Asia/Shanghai",
    "China": "Asia/Shanghai",
    "北京": "Asia/Shanghai",
    "上海": "Asia/Shanghai",
    "深圳": "Asia/Shanghai",
    "广州": "Asia/Shanghai",
    "杭州": "Asia/Shanghai",
    "南京": "Asia/Shanghai",
    "武汉": "Asia/Shanghai",
    "成都": "Asia/Shanghai",
    "西安": "Asia/Shanghai",
    "天津": "Asia/Shanghai",
    "重庆": "Asia/Shanghai",
    "苏州": "Asia/Shanghai",
    "合肥": "Asia/Shanghai",
    "青岛": "Asia/Shanghai",
    "中国": "Asia/Shanghai",
    "香港": "Asia/Hong_Kong",
    "澳门": "Asia/Macau",
    "台北": "Asia/Taipei",
    "东京": "Asia/Tokyo",
    "首尔": "Asia/Seoul",
    "新加坡": "Asia/Singapore",
    # Elsewhere in Asia and Oceania.
    "Delhi": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Mumbai": "Asia/Kolkata",
    "Bombay": "Asia/Kolkata",
    "Bangalore": "Asia/Kolkata",
    "Bengaluru": "Asia/Kolkata",
    "Chennai": "Asia/Kolkata",
    "Hyderabad": "Asia/Kolkata",
    "India": "Asia/Kolkata",
    "Osaka": "Asia/Tokyo",
    "Kyoto": "Asia/Tokyo",
    "Japan": "Asia/Tokyo",
    "Busan": "Asia/Seoul",
    "Hanoi": "Asia/Bangkok",
    "Abu Dhabi": "Asia/Dubai",
    "Tel Aviv": "Asia/Jerusalem",
    "Canberra": "Australia/Sydney",
    "Wellington": "Pacific/Auckland",
    # Europe.
    "Munich": "Europe/Berlin",
    "Frankfurt": "Europe/Berlin",
    "Hamburg": "Europe/Berlin",
    "Cologne": "Europe/Berlin",
    "Heidelberg": "Europe/Berlin",
    "Geneva": "Europe/Zurich",
    "Basel": "Europe/Zurich",
    "Barcelona": "Europe/Madrid",
    "Milan": "Europe/Rome",
    "Cambridge": "Europe/London",
    "Oxford": "Europe/London",
    "Edinburgh": "Europe/London",
    "Manchester": "Europe/London",
    "Saint Petersburg": "Europe/Moscow",
    "St Petersburg": "Europe/Moscow",
    "Rotterdam": "Europe/Amsterdam",
    "Munchen": "Europe/Berlin",
    # The Americas.
    "NYC": "America/New_York",
    "Washington": "America/New_York",
    "Boston": "America/New_York",
    "Philadelphia": "America/New_York",
    "Atlanta": "America/New_York",
    "Miami": "America/New_York",
    "Pittsburgh": "America/New_York",
    "Baltimore": "America/New_York",
    "Houston": "America/Chicago",
    "Dallas": "America/Chicago",
    "Austin": "America/Chicago",
    "San Francisco": "America/Los_Angeles",
    "Seattle": "America/Los_Angeles",
    "San Diego": "America/Los_Angeles",
    "San Jose": "America/Los_Angeles",
    "Palo Alto": "America/Los_Angeles",
    "Portland": "America/Los_Angeles",
    "Salt Lake City": "America/Denver",
    "Montreal": "America/Toronto",
    "Ottawa": "America/Toronto",
    "Rio de Janeiro": "America/Sao_Paulo",
    "Rio": "America/Sao_Paulo",
}

# The zones /settings offers as buttons: one or two for each inhabited stretch of the globe.
COMMON_ZONES: tuple[str, ...] = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)


def _key(text: str) -> str:
    """How names are compared: case, spaces, hyphens and underscores do not matter."""
    return re.sub(r"[\s_\-]+", "_", text.strip().casefold()).strip("_")


def parse_timezone(text: str) -> str | None:
    """The zone name to store for what a user typed, or None if it names no zone.

    Tried in order: an IANA name, a fixed offset, a city in ``CITIES``, the last part of
    an IANA name.
    """
    raw = " ".join(text.split())
    if not raw or len(raw) > 64:
        return None
    if _key(raw) in _UTC_WORDS:
        return "UTC"
    exact = canonical_timezone(raw)
    if exact is not None and _STORED_OFFSET.fullmatch(exact) is None:
        return exact
    offset = _offset_minutes(raw)
    if offset is not None:
        return _offset_zone(offset)
    key = _key(raw)
    city = _cities().get(key)
    if city is not None:
        return city
    return _by_last_part().get(key)


def _offset_minutes(text: str) -> int | None:
    """Minutes east of UTC for "UTC+8", "GMT-5", "utc+05:30", "+0545"; None otherwise."""
    match = _OFFSET.fullmatch(text.strip().casefold())
    if match is None:
        return None
    hours = int(match["hours"])
    minutes = int(match["minutes"] or 0)
    if minutes not in _MINUTES:
        return None
    total = hours * 60 + minutes
    signed = -total if match["sign"] in "-−" else total
    return signed if _MIN_OFFSET <= signed <= _MAX_OFFSET else None


def _offset_zone(minutes: int) -> str:
    if minutes == 0:
        return "UTC"
    if minutes % 60 == 0:
        # POSIX: "Etc/GMT-8" is eight hours *ahead* of UTC.
        hours = minutes // 60
        return f"Etc/GMT{-hours:+d}"
    return format_offset(minutes, stored=True)


def format_offset(minutes: int, *, stored: bool = False) -> str:
    """ "UTC+8", "UTC-5", "UTC+5:30" (and "UTC" for 0) to show; ``stored=True`` gives
    "UTC+05:30"."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if minutes == 0 and not stored:
        return "UTC"
    if stored:
        return f"UTC{sign}{hours:02d}:{rest:02d}"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def canonical_timezone(name: str) -> str | None:
    """A stored zone name as the tz database spells it ("europe/berlin" -> "Europe/Berlin"),
    or a stored fixed offset ("UTC+05:30"); None for anything else."""
    stripped = name.strip()
    fixed = _STORED_OFFSET.fullmatch(stripped.upper())
    if fixed is not None:
        minutes = int(fixed["hours"]) * 60 + int(fixed["minutes"])
        signed = -minutes if fixed["sign"] == "-" else minutes
        ok = _MIN_OFFSET <= signed <= _MAX_OFFSET and int(fixed["minutes"]) in _MINUTES
        return format_offset(signed, stored=True) if ok else None
    return _zone_names().get(stripped.casefold())


def zone(name: str) -> tzinfo:
    """The tzinfo for a stored zone name; UTC for anything unknown."""
    canonical = canonical_timezone(name)
    if canonical is None:
        return UTC
    fixed = _STORED_OFFSET.fullmatch(canonical)
    if fixed is not None:
        minutes = int(fixed["hours"]) * 60 + int(fixed["minutes"])
        signed = -minutes if fixed["sign"] == "-" else minutes
        return timezone(timedelta(minutes=signed), canonical)
    return ZoneInfo(canonical)


def timezone_label(name: str, now: datetime) -> str:
    """How a stored zone is shown: "Asia/Shanghai (UTC+8)", and "UTC+8" alone for fixed
    offsets, whose Etc/GMT name reads backwards."""
    offset = now.astimezone(zone(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    shown = format_offset(minutes)
    canonical = canonical_timezone(name) or "UTC"
    if canonical == "UTC" or canonical.startswith("Etc/") or _STORED_OFFSET.fullmatch(canonical):
        return shown
    return f"{canonical} ({shown})"


@cache
def _zone_names() -> dict[str, str]:
    # "Factory" and "localtime" are tzdata artefacts, not places anyone lives.
    names = zoneinfo.available_timezones() - {"Factory", "localtime"}
    return {n.casefold(): n for n in names}


@cache
def _cities() -> dict[str, str]:
    return {_key(city): name for city, name in CITIES.items()}


@cache
def _by_last_part() -> dict[str, str]:
    """The last part of every IANA name ("new_york") -> the zone; where several zones
    share it, a zone in a geographic area wins (America/Argentina/Buenos_Aires over
    nothing, Europe/Berlin over nothing), and a clash among aliases alone ("Eastern" of
    US/Eastern and Canada/Eastern) names no zone."""
    places: dict[str, list[str]] = {}
    aliases: dict[str, list[str]] = {}
    for name in _zone_names().values():
        if "/" not in name:
            continue
        area, last = name.split("/", 1)[0], name.rsplit("/", 1)[1]
        (places if area in _AREAS else aliases).setdefault(_key(last), []).append(name)
    found = {key: sorted(names)[0] for key, names in places.items()}
    for key, names in aliases.items():
        if key not in found and len(names) == 1:
            found[key] = names[0]
    return found
