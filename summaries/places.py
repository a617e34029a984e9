"""Places: the city a forum meets in, its district ("Guangming District", "光明区", "Pudong New
Area") and its venue ("Guangming Life Science Park", "深圳光明科学城会议中心"), kept apart.

Cities are looked up in the gazetteer. A big city counts wherever it is named; a smaller one,
or one whose name is also a word or a first name ("Reading", "Nice", "Victoria"), only in a
place context: "in X", "city of X", "X, Country", "X's ... District", a venue or a dateline.
A city inside an organization's name ("Shenzhen Institute of ...") counts for little.
Chinese place names not in the gazetteer come from jieba's part-of-speech tags (``ns``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from summaries.eventsentences import CJK, Sentence, tokens
from summaries.eventwords import (
    AFFILIATION,
    NAME_CONNECTORS,
    NOT_DISTRICTS,
    VENUE_HEADS,
    ZH_NOT_DISTRICTS,
)
from summaries.gazetteer import Place, cjk_names, gazetteer
from summaries.organizers import org_span
from summaries.sentences import jieba_tokenizer

__all__ = [
    "EN_VENUE_LABEL",
    "ZH_VENUE_LABEL",
    "PlaceMention",
    "find_city",
    "find_district",
    "find_venue",
    "place_mentions",
]

# A city needs this many points (a mention in the event's lead sentence gives 5, in another
# event sentence 2, elsewhere 1) to be reported.
_CITY_THRESHOLD = 2.0
# A smaller city named without a place context ("Jackson said") is more often a person.
_NO_CONTEXT = 0.3

EN_VENUE_LABEL = re.compile(
    r"^\s{0,4}(?:Venue|Location|Where|Place)\s{0,3}[:：]\s{0,3}(?P<v>.{2,200})$"
)
ZH_VENUE_LABEL = re.compile(
    r"(?:会议|活动|举办|论坛|大会)?地点\s{0,2}[:：]\s{0,2}(?P<v>[^。；;\n]{2,60})"
)
_ZH_VENUE_AT = re.compile(
    r"[在于](?P<v>[^，,。；;\s在于]{2,30}?)(?:隆重|盛大|顺利|成功|正式)?"
    r"(?:举行|召开|举办|开幕|启幕|拉开帷幕|落幕|闭幕)"
)
_ZH_VENUE_SUFFIX = re.compile(
    r"(?:中心|酒店|宾馆|饭店|大厦|会堂|礼堂|大学|学院|研究院|研究所|校区|园区|科学城|园|馆|厅|广场|大楼|山庄)$"
)
_CAPITALISED_WORD = re.compile(r"[A-ZÀ-ÞŁŚŻ][\w'’.\-]{0,30}")
_TRAILING_PUNCTUATION = '.,;:!?)"”'
# What before a name makes it a place: "in Shenzhen", "the eastern coastal city of Qingdao".
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:in|at|near)|\b(?:city|town|capital|municipality) of)\s(?:the\s)?$", re.IGNORECASE
)
_REGION_AFTER = re.compile(r"^,\s{1,2}(?P<r>[A-Z][\w.'’]{0,25}(?:\s[A-Z][\w.'’]{0,25}){0,3})")
_PROVINCE_AFTER = re.compile(
    r"^,\s{1,2}[A-Z][\w'’]{1,25}\s(?:[Pp]rovince|[Ss]tate|[Rr]egion|[Cc]ounty|[Pp]refecture)\b"
)
_POSSESSIVE_AFTER = re.compile(r"^['’]s\s[A-Z]")
_NAME_AFTER = re.compile(r"^\s([A-Z][a-z]+)")
_PLACE_WORDS_AFTER = frozenset({"District", "City", "Province", "New", "Municipality", "Area"})
_ORG_BEFORE = re.compile(r"[A-Z]\w+\sof\s(?:the\s)?$")
_ZH_ORG_AFTER = re.compile(
    r"[^，,。；;\s]{0,10}?(?:大学|研究院|研究所|学院|医院|公司|集团|学会|协会|日报|报社|电视台)"
)
_EN_DISTRICT = re.compile(
    r"\b(?P<d>[A-Z][a-z]{2,20}(?:[ -][A-Z][a-z]{2,20})?)\s(?:District|New Area|New District)\b"
)
_ZH_DISTRICT_AFTER = re.compile(r"市?(?P<d>[\u4e00-\u9fff]{2,3}?(?:新区|区))")
_ZH_AT_PLACE = re.compile(
    r"在(?P<p>[\u4e00-\u9fff]{2,12}?)(?:隆重|盛大|顺利|成功|正式)?(?:举行|召开|举办|开幕)"
)


@dataclass(frozen=True, slots=True)
class PlaceMention:
    place: Place
    start: int
    end: int
    context: bool  # named as a place: "in X", "X, China", "X's ... District", 在X举行
    org: bool  # inside an organization's name: "Shenzhen Institute of ...", "深圳大学"


def _latin_context(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(place context, part of an organization's name) of a Latin place name."""
    before = text[max(0, start - 40) : start]
    after = text[end : end + 40]
    places = gazetteer()
    context = bool(_PLACE_BEFORE.search(before) or _POSSESSIVE_AFTER.match(after))
    if not context and (region := _REGION_AFTER.match(after)):
        words = region.group("r").split()
        context = any(" ".join(words[:n]) in places.regions for n in range(len(words), 0, -1))
    context = context or bool(_PROVINCE_AFTER.match(after))
    nxt = _NAME_AFTER.match(after)
    org = bool(
        (nxt and nxt.group(1) not in _PLACE_WORDS_AFTER and nxt.group(1) not in places.regions)
        or _ORG_BEFORE.search(before)
    )
    return context, org


def _latin_mentions(text: str) -> list[PlaceMention]:
    places = gazetteer()
    found: list[PlaceMention] = []
    covered = 0  # "York" inside "New York" is no second place
    for m in _CAPITALISED_WORD.finditer(text):
        word = m.group()
        if word not in places.first_words:
            # Most capitalised words are no place: test the bare word before trimming it.
            word = word.rstrip(_TRAILING_PUNCTUATION).replace("’", "'").removesuffix("'s")
            if word not in places.first_words:
                continue
        if m.start() < covered:
            continue
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "'’-_"):
            continue
        # Longest alias first: "Washington, D.C." before "Washington", "Hong Kong" whole.
        words = text[m.start() : m.start() + 60].split(" ")[: places.longest]
        for n in range(len(words), 0, -1):
            candidate = " ".join(words[:n]).rstrip(_TRAILING_PUNCTUATION).replace("’", "'")
            candidate = candidate.removesuffix("'s")
            alias = next((a for a in (candidate, candidate + ".") if a in places.latin), None)
            if alias is None:
                continue
            end = m.start() + len(alias)
            context, org = _latin_context(text, m.start(), end)
            found.append(PlaceMention(places.latin[alias], m.start(), end, context, org))
            covered = end
            break
    return found


def _cjk_mentions(text: str) -> list[PlaceMention]:
    places = gazetteer()
    found: list[PlaceMention] = []
    for m in cjk_names().finditer(text):
        org = bool(_ZH_ORG_AFTER.match(text, m.end()))
        before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() : m.end() + 1]
        context = before in ("在", "于", "赴", "到") or m.group().endswith("市") or after == "市"
        found.append(PlaceMention(places.cjk[m.group()], m.start(), m.end(), context, org))
    return found


@lru_cache(maxsize=2048)
def place_mentions(text: str) -> tuple[PlaceMention, ...]:
    """Every place the gazetteer knows in ``text``, in order."""
    mentions = _latin_mentions(text)
    if CJK.search(text):
        mentions += _cjk_mentions(text)
    return tuple(mentions)


# --------------------------------------------------------------------------------------------
# City
# --------------------------------------------------------------------------------------------


def _weight(mention: PlaceMention, text: str, weight: float, in_venue: bool) -> float:
    place = mention.place
    if in_venue or place.kind != "city":
        # A district or science area, or any place in the venue's name, places the event.
        return weight
    if mention.org:
        return 0.5
    if place.common:
        # "Reading" opening a sentence is a verb; "in Reading, UK" is the town.
        sentence_start = not text[: mention.start].strip()
        return weight if mention.context and not sentence_start else 0.0
    if mention.context or place.major:
        return weight
    return weight * _NO_CONTEXT


def _score(text: str, weight: float, scores: dict[str, float], *, in_venue: bool = False) -> None:
    for mention in place_mentions(text):
        points = _weight(mention, text, weight, in_venue)
        if points:
            city = mention.place.city
            scores[city] = scores.get(city, 0.0) + points


def find_city(
    *,
    title: Sentence | None,
    body: Sequence[Sentence],
    anchor: Sentence | None,
    venue: str | None,
    dateline_city: str | None,
    zh: bool,
) -> str | None:
    """The city with the most evidence: the lead sentence counts most, then the venue's name,
    the headline and the dateline, then the other event sentences, then the rest."""
    scores: dict[str, float] = {}
    if title is not None:
        _score(title.text, 3.0, scores)
    for s in body:
        _score(s.text, 5.0 if s is anchor else 2.0 if s.is_event else 1.0, scores)
    if venue:
        _score(venue, 6.0, scores, in_venue=True)
    if dateline_city and (place := _dateline_place(dateline_city)) is not None:
        scores[place.city] = scores.get(place.city, 0.0) + 4.0
    if scores:
        city, points = max(scores.items(), key=lambda kv: kv[1])
        if points >= _CITY_THRESHOLD:
            return city
    if zh:
        return _tagged_city([s for s in (anchor, title) if s is not None])
    return None


def _dateline_place(name: str) -> Place | None:
    places = gazetteer()
    if CJK.search(name):
        return next((m.place for m in place_mentions(name)), None)
    return places.city_named(name)


# --------------------------------------------------------------------------------------------
# District
# --------------------------------------------------------------------------------------------


def _district_in(text: str, city: str | None) -> str | None:
    for mention in place_mentions(text):
        place = mention.place
        if city is not None and place.city != city:
            continue
        if place.kind == "district":
            return place.name
        if place.kind == "area" and place.district:
            return place.district
        if place.kind == "city" and CJK.search(text[mention.start : mention.end]):
            # "深圳市光明区": a district written after its city.
            found = _ZH_DISTRICT_AFTER.match(text, mention.end)
            if found and found.group("d") not in ZH_NOT_DISTRICTS:
                return found.group("d")
    for found in _EN_DISTRICT.finditer(text):
        if not set(found.group("d").split()) & NOT_DISTRICTS:
            return found.group()
    return None


def find_district(sources: Iterable[str], city: str | None, *, zh: bool) -> str | None:
    """The district the event is in, from its lead sentence, venue or headline, in the order
    given: a known district or science area, "X District", "深圳市光明区", a tagged place."""
    texts = list(sources)
    for text in texts:
        if found := _district_in(text, city):
            return found
    if zh:
        for text in texts:
            if "区" not in text:
                continue  # the tagger is only worth its loading where a district may be
            for word, tag in _pos_tags(text):
                if tag == "ns" and word.endswith("区") and word not in ZH_NOT_DISTRICTS:
                    return word
    return None


# --------------------------------------------------------------------------------------------
# Chinese place names from jieba's part-of-speech tags
# --------------------------------------------------------------------------------------------


@cache
def _pos_tagger() -> Any:
    tokenizer = jieba_tokenizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from jieba import posseg  # noqa: PLC0415  # only Chinese articles pay for it

    # Importing jieba.posseg reads the default dictionary's tags for its own tagger; ours
    # shares that table (jieba_tokenizer() uses the same default dictionary) rather than
    # reading the dictionary again: ~45 MB less per worker.
    tagger = posseg.POSTokenizer.__new__(posseg.POSTokenizer)
    tagger.tokenizer = tokenizer
    tagger.word_tag_tab = posseg.dt.word_tag_tab
    return tagger


@lru_cache(maxsize=256)
def _pos_tags(text: str) -> tuple[tuple[str, str], ...]:
    if not CJK.search(text):
        return ()
    return tuple((p.word, p.flag) for p in _pos_tagger().cut(text[:300]))


def _tagged_city(sentences: Sequence[Sentence]) -> str | None:
    """A place the gazetteer does not know, tagged ``ns`` where the forum is held: "在X举行"."""
    regions = gazetteer().regions
    for s in sentences:
        for m in _ZH_AT_PLACE.finditer(s.text):
            tags = _pos_tags(m.group("p"))
            # The place must end in the tagged name: "粤港澳大湾区" is a region, not 粤港澳.
            word, tag = tags[-1] if tags else ("", "")
            if tag == "ns" and word not in regions and not word.endswith(("省", "国", "区", "州")):
                return word
    return None


# --------------------------------------------------------------------------------------------
# Venue
# --------------------------------------------------------------------------------------------


def _en_venue(sentence: str) -> str | None:
    toks = tokens(sentence)
    for i, tok in enumerate(toks):
        if tok.text not in ("at", "in") or (i > 0 and toks[i - 1].text in AFFILIATION):
            continue
        span = org_span(toks, i + 1)
        if span is None:
            continue
        words = [t.text for t in toks[span[0] : span[1]]]
        heads = [k for k, w in enumerate(words) if w in VENUE_HEADS]
        if not heads:
            continue
        last = span[0] + heads[-1]
        # "Kyoto University Clock Tower Centennial Hall": keep capitalised words past the head.
        while last + 1 < span[1] and toks[last + 1].text not in NAME_CONNECTORS:
            last += 1
        return sentence[toks[span[0]].start : toks[last].end]
    return None


def _zh_venue(sentence: str) -> str | None:
    for pattern in (ZH_VENUE_LABEL, _ZH_VENUE_AT):
        for m in pattern.finditer(sentence):
            venue = m.group("v").strip()
            if _ZH_VENUE_SUFFIX.search(venue):
                return venue
    return None


def find_venue(sources: Iterable[Sentence]) -> str | None:
    """The venue a "Venue:"/"地点：" line or an event sentence names ("at the X Hall",
    "在X中心举行"); a district or city is no venue."""
    for s in sources:
        if m := EN_VENUE_LABEL.match(s.text):
            return m.group("v").strip()
        if venue := _zh_venue(s.text) or _en_venue(s.text):
            return venue
    return None
