"""Organizers: the bodies that host, organize or co-host a forum, from "hosted by A, B and
the C in partnership with D", "A successfully organized a forum", "主办单位：A、B" and
"由A和B联合主办"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from summaries.eventsentences import Token, is_acronym, is_cap, is_month, tokens
from summaries.eventwords import COMPANY_TAILS, NAME_CONNECTORS, NAME_STOPWORDS, ORG_HEADS
from summaries.gazetteer import gazetteer

__all__ = [
    "EN_ORG_LABEL",
    "ZH_ORG_LABEL",
    "dedupe",
    "en_organizers",
    "org_span",
    "zh_organizers",
]

_ZH_ORG_SUFFIX = re.compile(
    r"(?:大学|学院|研究院|研究所|学会|协会|政府|委员会|中心|公司|集团|医院|实验室|科学院|部|局|厅|院|所|会|社|联盟)$"
)
_ORG_SEPARATORS: tuple[tuple[str, ...], ...] = (
    ("in", "partnership", "with"),
    ("in", "collaboration", "with"),
    ("in", "cooperation", "with"),
    ("together", "with"),
    ("jointly", "with"),
    ("along", "with"),
    (",", "and"),
    (",",),
    ("and",),
    ("&",),
)


def org_span(toks: tuple[Token, ...], i: int) -> tuple[int, int] | None:
    """The [start, end) token span of one organization name starting at or after ``i``."""
    if i < len(toks) and toks[i].text in ("the", "The"):
        i += 1
    start = j = i
    ands = 0
    while j < len(toks) and j - start < 18:
        tok = toks[j]
        nxt = toks[j + 1] if j + 1 < len(toks) else None
        if is_cap(tok) and not is_month(tok.text) and tok.text not in NAME_STOPWORDS:
            j += 1
            continue
        if j > start and tok.text == "," and nxt is not None and nxt.text in COMPANY_TAILS:
            j += 1
            continue
        if j > start and tok.text in ("of", "for", "the", "&", "-", "de", "in", "on", "and"):
            if nxt is None or not is_cap(nxt) or is_month(nxt.text):
                break
            if tok.text == "and":
                prev = toks[j - 1].text
                if nxt.text == "the" or prev in ORG_HEADS or is_acronym(prev) or ands:
                    break
                ands += 1
            if tok.text in ("in", "on") and (
                gazetteer().is_place(nxt.text) or nxt.text[0].isdigit()
            ):
                break
            j += 1
            continue
        break
    while j > start and toks[j - 1].text in NAME_CONNECTORS | {","}:
        j -= 1
    return (start, j) if j > start else None


def _org_list(toks: tuple[Token, ...], i: int, sentence: str) -> tuple[list[str], int]:
    """Organizations listed from token ``i``: "A, B and the C in partnership with D"."""
    orgs: list[str] = []
    while i < len(toks) and len(orgs) < 10:
        span = org_span(toks, i)
        if span is None:
            break
        orgs.append(sentence[toks[span[0]].start : toks[span[1] - 1].end])
        i = after = span[1]
        # ", in collaboration with" is two separators in a row.
        matched = True
        while matched:
            matched = False
            for sep in _ORG_SEPARATORS:
                if tuple(t.text for t in toks[i : i + len(sep)]) == sep:
                    i += len(sep)
                    matched = True
                    break
        if i == after:
            break
    return [o for o in orgs if o not in NAME_STOPWORDS], i


_PASSIVE_BY = re.compile(
    r"\b(?:(?:co-?|jointly\s|mainly\s)?(?:hosted|organi[sz]ed|convened|held)|co-sponsored|run)\sby\s",
    re.IGNORECASE,
)
_ACTIVE_VERB = re.compile(
    r"(?:,\s)?\b(?:successfully\s|jointly\s|recently\s|also\s)?(?:co-)?(?:hosted|organi[sz]ed"
    r"|convened|held)\s(?:a|an|the|its|this)\b"
)
EN_ORG_LABEL = re.compile(
    r"^\s{0,4}(?:Organi[sz]ers?|Organi[sz]ed by|Hosts?|Hosted by|Co-hosts?|Co-organi[sz]ers?)"
    r"\s{0,3}[:：]\s{0,3}(?P<orgs>.{2,300})$"
)


@lru_cache(maxsize=1024)
def en_organizers(sentence: str, label: bool) -> tuple[str, ...]:
    found: list[str] = []
    if label and (m := EN_ORG_LABEL.match(sentence)):
        toks = tokens(m.group("orgs"))
        return tuple(_org_list(toks, 0, m.group("orgs"))[0])
    for m in list(_PASSIVE_BY.finditer(sentence))[:3]:
        tail = sentence[m.end() : m.end() + 400]
        found += _org_list(tokens(tail), 0, tail)[0]
    verb = _ACTIVE_VERB.search(sentence)
    if verb and verb.start() > 0:
        subject = sentence[: verb.start()]
        toks = tokens(subject)
        orgs, end = _org_list(toks, 0, subject)
        rest = [t.text for t in toks[end:]]
        if orgs and not rest and any(_looks_like_org(o) for o in orgs):
            found += orgs
    return tuple(found)


def _looks_like_org(text: str) -> bool:
    words = text.split()
    return any(w.strip("().,") in ORG_HEADS or is_acronym(w) for w in words)


ZH_ORG_LABEL = re.compile(
    r"(?:联合|共同)?(?:主办|承办)(?:单位|方)\s{0,2}(?:[:：为是]|包括)\s{0,2}(?P<orgs>[^。；;\n]{2,200})"
)
_ZH_ORG_BY = re.compile(r"由(?P<orgs>[^。；;，,\n由]{2,120}?)(?:联合|共同)?(?:主办|承办|举办|发起)")
_ZH_ORG_BARE = re.compile(
    r"(?:^|[，,。；;\s、])(?P<orgs>[^，,。；;\s由的、]{2,60}?)(?:联合|共同)?(?:主办|承办)(?!单位|方)"
)
_ZH_ORG_CUT = re.compile(r"[，,](?:联合)?(?:主办|承办|协办|支持|指导)")


def _split_zh_orgs(text: str) -> list[str]:
    text = _ZH_ORG_CUT.split(text, maxsplit=1)[0]
    out: list[str] = []
    for piece in re.split(r"[、，,；;]|以及", text):
        parts = re.split(r"(?<=[\u4e00-\u9fff])(?:和|与|及)(?=[\u4e00-\u9fff])", piece)
        merged: list[str] = []
        for part in parts:
            if merged and not _ZH_ORG_SUFFIX.search(merged[-1]):
                merged[-1] += "和" + part
            else:
                merged.append(part)
        for raw in merged:
            org = re.sub(r"(?:等单位|等|联合|共同)$", "", raw.strip(" “”\"'：:"))
            if len(org) >= 2:
                out.append(org)
    return out


@lru_cache(maxsize=1024)
def zh_organizers(sentence: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in (ZH_ORG_LABEL, _ZH_ORG_BY, _ZH_ORG_BARE):
        for m in pattern.finditer(sentence):
            found += _split_zh_orgs(m.group("orgs"))
    return tuple(found)


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = re.sub(r"^the\s", "", item.strip(), flags=re.IGNORECASE).casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return tuple(out)
