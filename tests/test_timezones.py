"""Time zones as people say them (bot.timezones): table-driven, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.timezones import CITIES, COMMON_ZONES, parse_timezone, timezone_label, zone

WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # IANA names, whatever the case.
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("asia/shanghai", "Asia/Shanghai"),
        ("  AMERICA/NEW_YORK ", "America/New_York"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("Etc/GMT-8", "Etc/GMT-8"),
        # Cities: the last part of an IANA name, spaces or underscores alike.
        ("shanghai", "Asia/Shanghai"),
        ("Berlin", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("new-york", "America/New_York"),
        ("los  angeles", "America/Los_Angeles"),
        ("Ho Chi Minh", "Asia/Ho_Chi_Minh"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("kolkata", "Asia/Kolkata"),
        # Cities whose zone is named after another city.
        ("Beijing", "Asia/Shanghai"),
        ("北京", "Asia/Shanghai"),
        ("Shenzhen", "Asia/Shanghai"),
        ("San Francisco", "America/Los_Angeles"),
        ("Delhi", "Asia/Kolkata"),
        ("Munich", "Europe/Berlin"),
        ("Geneva", "Europe/Zurich"),
        # Whole-hour offsets: Etc/GMT with the sign turned round (POSIX).
        ("UTC+8", "Etc/GMT-8"),
        ("utc+8", "Etc/GMT-8"),
        ("GMT-5", "Etc/GMT+5"),
        ("UTC −5", "Etc/GMT+5"),  # a typographic minus
        ("+08:00", "Etc/GMT-8"),
        ("UTC+14", "Etc/GMT-14"),
        ("UTC-12", "Etc/GMT+12"),
        ("UTC+0", "UTC"),
        ("gmt", "UTC"),
        ("Z", "UTC"),
        # Other offsets: stored as UTC±HH:MM.
        ("utc+05:30", "UTC+05:30"),
        ("UTC+0530", "UTC+05:30"),
        ("+5:45", "UTC+05:45"),
        ("GMT-03:30", "UTC-03:30"),
        ("UTC+05:30", "UTC+05:30"),
    ],
)
def test_a_zone_is_found_however_it_is_typed(typed: str, stored: str) -> None:
    assert parse_timezone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "Mars/Olympus",
        "Atlantis",
        "UTC+15",  # no place is that far ahead
        "UTC-13",
        "UTC+5:10",  # offsets come in quarter hours
        "UTC+5:60",
        "UTC8",
        "Eastern",  # US/Eastern or Canada/Eastern: not said
        "Factory",
        "localtime",
        "../../etc/passwd",
        "x" * 65,
    ],
)
def test_what_names_no_zone_is_refused(typed: str) -> None:
    assert parse_timezone(typed) is None


@pytest.mark.parametrize(
    ("stored", "moment", "offset"),
    [
        ("Asia/Shanghai", WINTER, timedelta(hours=8)),
        ("America/New_York", WINTER, timedelta(hours=-5)),
        ("America/New_York", SUMMER, timedelta(hours=-4)),  # a city follows its DST
        ("Etc/GMT+5", SUMMER, timedelta(hours=-5)),  # an offset does not
        ("Etc/GMT-8", WINTER, timedelta(hours=8)),
        ("UTC+05:30", SUMMER, timedelta(hours=5, minutes=30)),
        ("UTC-03:30", WINTER, timedelta(hours=-3, minutes=-30)),
        ("Nowhere/Special", WINTER, timedelta(0)),  # unknown stored names read as UTC
        ("UTC+25:00", WINTER, timedelta(0)),
    ],
)
def test_a_stored_zone_reads_back_with_its_offset(
    stored: str, moment: datetime, offset: timedelta
) -> None:
    assert moment.astimezone(zone(stored)).utcoffset() == offset


@pytest.mark.parametrize(
    ("stored", "moment", "label"),
    [
        ("Asia/Shanghai", WINTER, "Asia/Shanghai (UTC+8)"),
        ("America/New_York", SUMMER, "America/New_York (UTC-4)"),
        ("Asia/Kolkata", WINTER, "Asia/Kolkata (UTC+5:30)"),
        ("Etc/GMT-8", WINTER, "UTC+8"),  # not the backwards Etc name
        ("Etc/GMT+5", WINTER, "UTC-5"),
        ("UTC+05:45", WINTER, "UTC+5:45"),
        ("UTC", WINTER, "UTC"),
    ],
)
def test_a_zone_is_shown_with_its_current_offset(stored: str, moment: datetime, label: str) -> None:
    assert timezone_label(stored, moment) == label


def test_every_city_and_button_names_a_real_zone() -> None:
    for name in [*CITIES.values(), *COMMON_ZONES]:
        assert parse_timezone(name) == name, name
