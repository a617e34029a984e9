"""Event names: the proper name a sentence gives a forum, with its kind ("2025 International
Forum on Innovation Cooperation in Molecular Medicine", "第五届粤港澳大湾区合成生物学论坛")."""

from __future__ import annotations

import re
from functools import lru_cache

from summaries.eventsentences import Token, find_nouns, is_cap, is_month, tokens
from summaries.eventwords import (
    GENERIC_QUALIFIERS,
    KIND_OF,
    NAME_CONNECTORS,
    NAME_LEFT_STOPWORDS,
    NAME_STOPWORDS,
    ZH_KIND_OF,
)
from summaries.gazetteer import gazetteer

__all__ = ["en_names", "is_headline_case", "zh_names"]

_YEAR = re.compile(r"(?:19|20)\d\d")


def is_headline_case(text: str) -> bool:
    """Most longer words capitalised, as in "Shenzhen Symposium Highlights Global ..."."""
    words = [w for w in re.findall(r"[A-Za-z][\w'-]*", text) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.6


def _en_name_at(toks: tuple[Token, ...], i: int, sentence: str) -> str | None:
    """The capitalised name around the event-noun token ``toks[i]``, or None."""
    left = i
    while left > 0 and i - left < 12:
        tok = toks[left - 1]
        if tok.text in NAME_LEFT_STOPWORDS or tok.text.endswith(("'s", "’s")) or is_month(tok.text):
            break
        if is_cap(tok) or tok.text in ("&", "-"):
            left -= 1
            continue
        if tok.text in ("of", "and", "for", "on") and left - 2 >= 0 and is_cap(toks[left - 2]):
            if toks[left - 2].text in NAME_STOPWORDS:
                break
            left -= 1
            continue
        break
    while left < i and toks[left].text in NAME_CONNECTORS:
        left += 1
    right = i + 1
    if right < len(toks) and (_YEAR.fullmatch(toks[right].text) or toks[right].text[0] == "("):
        right += 1
    if right < len(toks) and toks[right].text in ("on", "of", "for"):
        places = gazetteer()
        j = right
        while j < len(toks) and j - i < 25:
            tok = toks[j]
            if tok.text in NAME_CONNECTORS:
                nxt = toks[j + 1] if j + 1 < len(toks) else None
                if nxt is None or not is_cap(nxt) or is_month(nxt.text):
                    break
                if tok.text in ("in", "at") and places.is_place(nxt.text):
                    break
                if nxt.text[0].isdigit():
                    break
                j += 1
                continue
            if is_cap(tok) and not is_month(tok.text) and not tok.text[0].isdigit():
                j += 1
                right = j
                continue
            break
    words = [t.text for t in toks[left:right]]
    others = [w for w in words if w != toks[i].text and w not in NAME_CONNECTORS]
    if not others or all(w in GENERIC_QUALIFIERS for w in others):
        return None
    return sentence[toks[left].start : toks[right - 1].end]


@lru_cache(maxsize=1024)
def en_names(sentence: str) -> tuple[tuple[str, str], ...]:
    """(name, kind) for every named event in an English sentence, in order."""
    toks = tokens(sentence)
    names: list[tuple[str, str]] = []
    for i, tok in enumerate(toks):
        kind = KIND_OF.get(tok.text.lower())
        if kind is None or not tok.text[0].isupper() or (tok.text == "Fair" and i == 0):
            continue
        if i > 0 and toks[i - 1].text.lower() in ("sub", "sub-"):
            continue
        name = _en_name_at(toks, i, sentence)
        if name:
            names.append((name, kind))
    return tuple(names)


_ZH_NAME_STOP_CHARS = frozenset(
    "，。；：、！？,;:!?（）()【】[]「」『』“”\"'《》 \t在于的由了将是为"
)
_ZH_NAME_STOP_PAIRS = (
    "出席",
    "参加",
    "参与",
    "举办",
    "举行",
    "召开",
    "主办",
    "承办",
    "开幕",
    "关于",
)
_ZH_NAME_PREFIX = re.compile(r"^(?:本届|本次|此次|这次|该|今年|今天|昨天|近日|日前)")
_ZH_KINDS = frozenset(ZH_KIND_OF.values())


@lru_cache(maxsize=1024)
def zh_names(sentence: str) -> tuple[tuple[str, str], ...]:
    """(name, kind) for every named event in a Chinese sentence, in order."""
    names: list[tuple[str, str]] = []
    for noun in find_nouns(sentence):
        if noun.kind not in _ZH_KINDS or sentence[noun.start].isascii():
            continue
        left = noun.start
        while left > 0 and noun.start - left < 40:
            ch = sentence[left - 1]
            if ch in _ZH_NAME_STOP_CHARS or (
                ch == "日" and sentence[left - 2 : left - 1].isdigit()
            ):
                break
            if sentence[left - 2 : left] in _ZH_NAME_STOP_PAIRS:
                break
            left -= 1
        name = _ZH_NAME_PREFIX.sub("", sentence[left : noun.end])
        core = name[: -(noun.end - noun.start)]
        if len(core) >= 2 and not core.isdigit():
            names.append((name, noun.kind))
    return tuple(names)
